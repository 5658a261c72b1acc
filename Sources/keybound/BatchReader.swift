//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning

/// Reads JSON Lines from a file descriptor with a bound on each line, without ever holding more than one line
/// (plus one read buffer) in memory.
///
/// Lines end with LF; one CR before it is removed (CRLF endings). A last line without LF still counts. A line whose
/// content is longer than `limit` bytes is reported as ``Line/tooLong`` and its bytes are dropped as they arrive.
/// Blank lines (empty, or only spaces and tabs) are skipped.
struct LineReader {
    enum Line {
        case text([UInt8])
        case tooLong
    }

    /// The longest line content accepted: 64 KiB.
    static let defaultLimit = 1 << 16

    let fd: Int32
    let limit: Int

    init(fd: Int32, limit: Int = LineReader.defaultLimit) {
        self.fd = fd
        self.limit = limit
    }

    /// Calls `body` for each non-blank line, in order, as soon as the line is complete.
    ///
    /// - Throws: `ToolError` when reading fails.
    func forEachLine(_ body: (Line) -> Void) throws(ToolError) {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var pending: [UInt8] = []
        var overflowed = false

        func finish() {
            defer {
                pending.removeAll(keepingCapacity: true)
                overflowed = false
            }
            if !overflowed, pending.last == 0x0D { pending.removeLast() }
            if overflowed || pending.count > limit {
                body(.tooLong)
                return
            }
            guard pending.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }  // blank
            body(.text(pending))
        }

        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ToolError("reading the batch failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            var start = 0
            while start < count {
                let newline = chunk[start..<count].firstIndex(of: 0x0A)
                let end = newline ?? count
                if !overflowed {
                    // Keep at most limit + 1 bytes: the extra one may be the CR of a CRLF ending.
                    if pending.count + (end - start) > limit + 1 {
                        overflowed = true
                        pending.removeAll(keepingCapacity: true)
                    } else {
                        pending.append(contentsOf: chunk[start..<end])
                    }
                }
                if let newline {
                    finish()
                    start = newline + 1
                } else {
                    start = count
                }
            }
        }
        if overflowed || !pending.isEmpty { finish() }
    }
}

/// One batch input line, read as a request.
///
/// `{"method": …, "url": …, "authorization": …, "dpop": …, "jkt": …}`: `method` and `url` are required
/// strings;
/// `authorization` is a string, `null` or absent; `dpop` is a string (one header value, even empty), an array of
/// strings, `null` or absent (`[]`, `null` and absent all mean no `DPoP` header); `jkt` (opaque-token mode) is a
/// string, `null` or absent. Other members are ignored. The JSON is read strictly (RFC 8259, UTF-8, no duplicate
/// member names, nesting at most 16 deep).
struct BatchLine {
    let request: DPoPRequest
    let jkt: String?

    /// The request on `line`, or the reason it is not one (the tool's own words: never the input's bytes).
    static func parse(_ line: [UInt8]) -> Result<BatchLine, ToolError> {
        let value: JSONText.Value
        do {
            value = try JSONText.parse(line, failingWith: .invalidConfiguration)
        } catch {
            return .failure(ToolError("line is not valid JSON: \(error.reason)"))
        }
        guard case .object(let object) = value else { return .failure(ToolError("line is not a JSON object")) }
        guard case .string(let method)? = object["method"] else {
            return .failure(ToolError("method is missing or not a string"))
        }
        guard case .string(let url)? = object["url"] else {
            return .failure(ToolError("url is missing or not a string"))
        }
        let authorization: String?
        switch object["authorization"] {
        case nil, .null?: authorization = nil
        case .string(let text)?: authorization = text
        default: return .failure(ToolError("authorization is not a string or null"))
        }
        var dpop: [String] = []
        switch object["dpop"] {
        case nil, .null?: break
        case .string(let text)?: dpop = [text]
        case .array(let elements)?:
            for element in elements {
                guard case .string(let text) = element else {
                    return .failure(ToolError("dpop is not a string, an array of strings or null"))
                }
                dpop.append(text)
            }
        default: return .failure(ToolError("dpop is not a string, an array of strings or null"))
        }
        let jkt: String?
        switch object["jkt"] {
        case nil, .null?: jkt = nil
        case .string(let text)?: jkt = text
        default: return .failure(ToolError("jkt is not a string or null"))
        }
        return .success(
            BatchLine(
                request: DPoPRequest(method: method, url: url, authorization: authorization, dpop: dpop), jkt: jkt)
        )
    }
}
