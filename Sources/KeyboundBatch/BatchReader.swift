//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound

// The `keybound verify --batch` input format, as a library so that the batch-line fuzz target (Fuzz/Targets/
// batch-line) reaches the same code as the tool. Not a stable API: `@_spi(Batch)`, for the CLI and the fuzzer.

/// Why a batch could not be read, or a line is not a request: the tool's own words, never the input's bytes.
@_spi(Batch)
public struct BatchError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// One line as the batch reader delivers it.
@_spi(Batch)
public enum BatchInputLine: Equatable {
    /// The line's content: no LF, no final CR, at most the limit, not blank.
    case text([UInt8])
    /// The content was longer than the limit; its bytes were dropped as they arrived.
    case tooLong
}

/// Cuts a byte stream, delivered in chunks of any size, into JSON Lines with a bound on each line, holding at most
/// `limit + 1` bytes of one line at a time.
///
/// Lines end with LF; one CR before it is removed (CRLF endings). A last line without LF still counts (``finish(_:)``).
/// A line whose content is longer than `limit` bytes is reported as ``BatchInputLine/tooLong``. Blank lines (empty,
/// or only spaces and tabs) are skipped. The lines delivered do not depend on where the chunks are cut.
@_spi(Batch)
public struct BatchLineSplitter {
    public let limit: Int
    private var pending: [UInt8] = []
    private var overflowed = false

    /// - Parameter limit: the longest line content accepted, at least 0.
    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Calls `body` for each line that `chunk` completes, in order.
    public mutating func feed(_ chunk: ArraySlice<UInt8>, _ body: (BatchInputLine) -> Void) {
        var start = chunk.startIndex
        let count = chunk.endIndex
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
                complete(body)
                start = newline + 1
            } else {
                start = count
            }
        }
    }

    /// The end of the stream: delivers a last line left without LF.
    public mutating func finish(_ body: (BatchInputLine) -> Void) {
        if overflowed || !pending.isEmpty { complete(body) }
    }

    /// The lines of a whole stream, fed `chunkSize` bytes at a time (the lines do not depend on where the chunks are
    /// cut): how the tool's tests and the fuzzer drive the splitter.
    public static func lines(of stream: [UInt8], limit: Int, chunkSize: Int) -> [BatchInputLine] {
        var splitter = BatchLineSplitter(limit: limit)
        var lines: [BatchInputLine] = []
        var start = 0
        while start < stream.count {
            let end = min(stream.count, start + max(1, chunkSize))
            splitter.feed(stream[start..<end]) { lines.append($0) }
            start = end
        }
        splitter.finish { lines.append($0) }
        return lines
    }

    /// The splitter's rules written the plain way, on a whole stream: cut on LF, drop one final CR,
    /// ``BatchInputLine/tooLong`` past `limit`, skip blank lines; an empty segment after the last LF is not a line. The
    /// reference model the tests and the fuzz target (`Fuzz/Targets/batch-line`) hold
    /// ``lines(of:limit:chunkSize:)`` to.
    public static func referenceLines(of stream: [UInt8], limit: Int) -> [BatchInputLine] {
        var segments = stream.split(separator: 0x0A, omittingEmptySubsequences: false)
        if segments.last?.isEmpty == true { segments.removeLast() }
        var lines: [BatchInputLine] = []
        for var segment in segments {
            if segment.last == 0x0D { segment.removeLast() }
            if segment.count > limit {
                lines.append(.tooLong)
            } else if segment.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                lines.append(.text(Array(segment)))
            }
        }
        return lines
    }

    private mutating func complete(_ body: (BatchInputLine) -> Void) {
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
}

/// Reads JSON Lines from a file descriptor with a bound on each line, without ever holding more than one line
/// (plus one read buffer) in memory: a ``BatchLineSplitter`` fed by `read(2)`.
@_spi(Batch)
public struct LineReader {
    /// The longest line content accepted: 64 KiB.
    public static let defaultLimit = 1 << 16

    public let fd: Int32
    public let limit: Int

    public init(fd: Int32, limit: Int = LineReader.defaultLimit) {
        self.fd = fd
        self.limit = limit
    }

    /// Calls `body` for each non-blank line, in order, as soon as the line is complete.
    ///
    /// - Throws: ``BatchError`` when reading fails.
    public func forEachLine(_ body: (BatchInputLine) -> Void) throws(BatchError) {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var splitter = BatchLineSplitter(limit: limit)
        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw BatchError("reading the batch failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            splitter.feed(chunk[0..<count], body)
        }
        splitter.finish(body)
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
@_spi(Batch)
public struct BatchLine {
    public let request: DPoPRequest
    public let jkt: String?

    /// The line as the tool reads it: one compact JSON object (`dpop` always an array, `authorization` and `jkt`
    /// only when present), strings escaped per RFC 8259 §7.
    public var jsonText: String {
        var members = ["\"method\":" + JSONTree.quoted(request.method), "\"url\":" + JSONTree.quoted(request.url)]
        if let authorization = request.authorization {
            members.append("\"authorization\":" + JSONTree.quoted(authorization))
        }
        members.append("\"dpop\":[" + request.dpop.map(JSONTree.quoted).joined(separator: ",") + "]")
        if let jkt { members.append("\"jkt\":" + JSONTree.quoted(jkt)) }
        return "{" + members.joined(separator: ",") + "}"
    }

    public init(request: DPoPRequest, jkt: String?) {
        self.request = request
        self.jkt = jkt
    }

    /// The request on `line`, or the reason it is not one (the tool's own words: never the input's bytes).
    public static func parse(_ line: [UInt8]) -> Result<BatchLine, BatchError> {
        let object: JSONObjectTree
        do {
            object = try JSONTree.parseObject(line, failingWith: .invalidConfiguration)
        } catch {
            return .failure(BatchError("line is not valid JSON: \(error.reason)"))
        }
        guard case .string(let method)? = object["method"] else {
            return .failure(BatchError("method is missing or not a string"))
        }
        guard case .string(let url)? = object["url"] else {
            return .failure(BatchError("url is missing or not a string"))
        }
        let authorization: String?
        switch object["authorization"] {
        case nil, .null?: authorization = nil
        case .string(let text)?: authorization = text
        default: return .failure(BatchError("authorization is not a string or null"))
        }
        var dpop: [String] = []
        switch object["dpop"] {
        case nil, .null?: break
        case .string(let text)?: dpop = [text]
        case .array(let elements)?:
            for element in elements {
                guard case .string(let text) = element else {
                    return .failure(BatchError("dpop is not a string, an array of strings or null"))
                }
                dpop.append(text)
            }
        default: return .failure(BatchError("dpop is not a string, an array of strings or null"))
        }
        let jkt: String?
        switch object["jkt"] {
        case nil, .null?: jkt = nil
        case .string(let text)?: jkt = text
        default: return .failure(BatchError("jkt is not a string or null"))
        }
        return .success(
            BatchLine(
                request: DPoPRequest(method: method, url: url, authorization: authorization, dpop: dpop), jkt: jkt)
        )
    }
}
