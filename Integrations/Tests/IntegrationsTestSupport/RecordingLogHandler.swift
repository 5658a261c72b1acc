//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Logging
import Synchronization

/// A log handler that keeps every entry, to check what the integrations log and what they never log.
public struct RecordingLogHandler: LogHandler {
    /// One logged entry: its level, message and metadata, rendered as text.
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]

        /// The message and every metadata key and value, for checks that a value appears nowhere.
        public var text: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    /// The entries, shared by every copy of the handler.
    public final class Store: Sendable {
        private let entries = Mutex<[Entry]>([])
        public init() {}
        public var all: [Entry] { entries.withLock { $0 } }
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

        /// A logger at `level` that records here.
        public func logger(level: Logger.Level = .debug) -> Logger {
            var logger = Logger(label: "keybound.test") { _ in RecordingLogHandler(store: self) }
            logger.logLevel = level
            return logger
        }
    }

    let store: Store
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let more = event.metadata { merged.merge(more) { $1 } }
        store.append(
            Entry(
                level: event.level, message: event.message.description,
                metadata: merged.mapValues { $0.description }))
    }
}
