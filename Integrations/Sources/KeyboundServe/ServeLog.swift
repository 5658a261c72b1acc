//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundServerSupport
public import Logging
import Synchronization

/// `[log] format = "json"`: one JSON object per line on standard error, for log shippers. Members: `ts` (RFC 3339,
/// UTC, milliseconds), `level`, `logger`, `msg`, then the metadata (a nested value as its text). No request header
/// is ever in the metadata keybound-serve logs (docs/sidecar.md, "Logs").
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - label: the logger's label.
    ///   - write: where each line goes (standard error unless a test collects them).
    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        var line = "{\"ts\":" + Refusal.jsonString(Self.timestamp(Date())) + ",\"level\":"
            + Refusal.jsonString(event.level.rawValue) + ",\"logger\":" + Refusal.jsonString(label) + ",\"msg\":"
            + Refusal.jsonString(event.message.description)
        for key in all.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            line += "," + Refusal.jsonString(key) + ":" + Refusal.jsonString(all[key].map { "\($0)" } ?? "")
        }
        write(line + "}\n")
    }

    static let lock = Mutex(())

    /// Writes whole lines to standard error, one at a time.
    public static let standardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in
            let bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
                if written > 0 { offset += written } else if errno != EINTR { return }
            }
        }
    }

    static func timestamp(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        let millis = Int((date.timeIntervalSince1970 - Double(time)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), min(max(millis, 0), 999))
    }
}
