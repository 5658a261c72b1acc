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

/// One line as the batch reader delivers it, borrowed: the bytes are valid only inside the call that delivers them.
@_spi(Batch)
public enum BatchLineBytes {
    /// The line's content: no LF, no final CR, at most the limit, not blank.
    case text(UnsafeRawBufferPointer)
    /// The content was longer than the limit; its bytes were dropped as they arrived.
    case tooLong
}

/// Cuts a byte stream, delivered in chunks of any size, into JSON Lines with a bound on each line, holding at most
/// `limit + 1` bytes of one line at a time.
///
/// Lines end with LF; one CR before it is removed (CRLF endings). A last line without LF still counts (``finish(_:)``).
/// A line whose content is longer than `limit` bytes is reported as ``BatchInputLine/tooLong``. Blank lines (empty,
/// or only spaces and tabs) are skipped. The lines delivered do not depend on where the chunks are cut.
///
/// A line that lies whole inside one chunk is delivered from the chunk itself, without a copy
/// (``feed(borrowing:_:)``); only a line cut by a chunk boundary is gathered in the splitter's own buffer.
@_spi(Batch)
public struct BatchLineSplitter {
    public let limit: Int
    private var pending: [UInt8] = []
    private var overflowed = false

    /// - Parameter limit: the longest line content accepted, at least 0.
    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Calls `body` for each line that `chunk` completes, in order, with the line's bytes borrowed for the call.
    public mutating func feed(borrowing chunk: UnsafeRawBufferPointer, _ body: (BatchLineBytes) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        let count = chunk.count
        while start < count {
            guard let found = memchr(base + start, 0x0A, count - start) else {
                gather(UnsafeRawBufferPointer(rebasing: chunk[start..<count]))
                return
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            let segment = UnsafeRawBufferPointer(rebasing: chunk[start..<newline])
            if pending.isEmpty && !overflowed {
                Self.deliver(segment, limit: limit, body)
            } else {
                gather(segment)
                complete(body)
            }
            start = newline + 1
        }
    }

    /// The end of the stream: delivers a last line left without LF, borrowed for the call.
    public mutating func finish(borrowing body: (BatchLineBytes) -> Void) {
        if overflowed || !pending.isEmpty { complete(body) }
    }

    /// Calls `body` for each line that `chunk` completes, in order (``feed(borrowing:_:)`` with each line copied).
    public mutating func feed(_ chunk: ArraySlice<UInt8>, _ body: (BatchInputLine) -> Void) {
        chunk.withUnsafeBytes { bytes in feed(borrowing: bytes) { body(Self.owned($0)) } }
    }

    /// The end of the stream: delivers a last line left without LF.
    public mutating func finish(_ body: (BatchInputLine) -> Void) {
        finish(borrowing: { body(Self.owned($0)) })
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

    private static func owned(_ line: BatchLineBytes) -> BatchInputLine {
        switch line {
        case .text(let bytes): .text(Array(bytes))
        case .tooLong: .tooLong
        }
    }

    /// Adds part of a line to the pending one, keeping at most limit + 1 bytes (the extra one may be the CR of a CRLF
    /// ending); past that the line is too long and its bytes are dropped.
    private mutating func gather(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed else { return }
        if pending.count + bytes.count > limit + 1 {
            overflowed = true
            pending.removeAll(keepingCapacity: true)
        } else {
            pending.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        }
    }

    private mutating func complete(_ body: (BatchLineBytes) -> Void) {
        defer {
            pending.removeAll(keepingCapacity: true)
            overflowed = false
        }
        if overflowed {
            body(.tooLong)
            return
        }
        let limit = limit
        pending.withUnsafeBytes { Self.deliver($0, limit: limit, body) }
    }

    /// Delivers one whole line (its LF removed): without a final CR, too long past `limit`, nothing when blank.
    private static func deliver(_ segment: UnsafeRawBufferPointer, limit: Int, _ body: (BatchLineBytes) -> Void) {
        var count = segment.count
        if count > 0 && segment[count - 1] == 0x0D { count -= 1 }
        if count > limit {
            body(.tooLong)
            return
        }
        var index = 0
        while index < count, segment[index] == 0x20 || segment[index] == 0x09 { index += 1 }
        guard index < count else { return }  // blank
        body(.text(UnsafeRawBufferPointer(rebasing: segment[0..<count])))
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
        try forEachLine(borrowing: { line in
            switch line {
            case .text(let bytes): body(.text(Array(bytes)))
            case .tooLong: body(.tooLong)
            }
        }, afterChunk: {})
    }

    /// Calls `body` for each non-blank line, in order, as soon as the line is complete, with its bytes borrowed for
    /// the call (from the read buffer when the line lies whole inside one read); calls `afterChunk` after the lines
    /// each `read(2)` completed, so that the caller can flush its answers before the next read may block.
    ///
    /// - Throws: ``BatchError`` when reading fails.
    public func forEachLine(borrowing body: (BatchLineBytes) -> Void, afterChunk: () -> Void) throws(BatchError) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { chunk.deallocate() }
        var splitter = BatchLineSplitter(limit: limit)
        while true {
            let count = Foundation.read(fd, chunk.baseAddress, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw BatchError("reading the batch failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            splitter.feed(borrowing: UnsafeRawBufferPointer(rebasing: chunk[0..<count]), body)
            afterChunk()
        }
        splitter.finish(borrowing: body)
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
        var result: Result<BatchLine, BatchError> = .failure(BatchError("line is not valid JSON"))
        line.withUnsafeBytes { bytes in
            BatchRequestBytes.read(bytes) { parsed in
                result = parsed.map { request in
                    var dpop: [String] = []
                    request.forEachProof { dpop.append(String(decoding: $0, as: UTF8.self)) }
                    return BatchLine(
                        request: DPoPRequest(
                            method: String(decoding: request.method, as: UTF8.self),
                            url: String(decoding: request.url, as: UTF8.self),
                            authorization: request.authorization.map { String(decoding: $0, as: UTF8.self) },
                            dpop: dpop),
                        jkt: request.jkt.map { String(decoding: $0, as: UTF8.self) })
                }
            }
        }
        return result
    }
}

/// One batch input line read as a request, borrowed: the line's own bytes where a string has no escapes, a scratch
/// copy where it has; valid only inside the ``read(_:_:)`` call that delivers it, and read by the rules of
/// ``BatchLine`` (the same requests, the same refusals).
@_spi(Batch)
public struct BatchRequestBytes {
    public let method: UnsafeRawBufferPointer
    public let url: UnsafeRawBufferPointer
    /// `nil` when absent or `null`.
    public let authorization: UnsafeRawBufferPointer?
    /// How many `DPoP` values the line gives: 0 (absent, `null`, `[]`), 1 (a string), or the array's length.
    public let dpopCount: Int
    /// The first `DPoP` value, `nil` when there is none.
    public let firstProof: UnsafeRawBufferPointer?
    /// `nil` when absent or `null`.
    public let jkt: UnsafeRawBufferPointer?
    private let dpop: JSONBorrowedValue?

    /// Calls `body` with each `DPoP` value, in order.
    public func forEachProof(_ body: (UnsafeRawBufferPointer) -> Void) {
        guard let dpop else { return }
        if dpop.isArray {
            dpop.forEachElement { element in element.withUnescapedBytes(body) }
        } else {
            dpop.withUnescapedBytes(body)
        }
    }

    /// The members a request line is read for, in the order they are checked.
    private static let names = JSONMemberNames(["method", "url", "authorization", "dpop", "jkt"])

    /// Reads `line` (strict JSON: RFC 8259, UTF-8, no duplicate member names, nesting at most 16 deep) and calls
    /// `body` once, with the request or with the reason the line is not one (the tool's own words: never the input's
    /// bytes). Allocates nothing when no string of the line has escapes. Not generic, so that the tool runs it
    /// specialised.
    public static func read(_ line: UnsafeRawBufferPointer, _ body: (Result<BatchRequestBytes, BatchError>) -> Void) {
        do {
            try JSONTree.withRootMembers(of: line, named: names, failingWith: .invalidConfiguration) { members in
                decode(members, body)
            }
        } catch {
            body(.failure(BatchError("line is not valid JSON: \(error.reason)")))
        }
    }

    private static func decode(_ members: JSONRootMembers, _ body: (Result<BatchRequestBytes, BatchError>) -> Void) {
        guard let method = members[0], method.isString else {
            return body(.failure(BatchError("method is missing or not a string")))
        }
        guard let url = members[1], url.isString else {
            return body(.failure(BatchError("url is missing or not a string")))
        }
        let authorization = members[2].flatMap { $0.isNull ? nil : $0 }
        if let authorization, !authorization.isString {
            return body(.failure(BatchError("authorization is not a string or null")))
        }
        let dpop = members[3].flatMap { $0.isNull ? nil : $0 }
        var dpopCount = 0
        var firstProof: JSONBorrowedValue?
        if let dpop {
            if dpop.isString {
                dpopCount = 1
                firstProof = dpop
            } else if dpop.isArray {
                var allStrings = true
                dpop.forEachElement { element in
                    allStrings = allStrings && element.isString
                    if dpopCount == 0 { firstProof = element }
                    dpopCount += 1
                }
                guard allStrings else { return body(.failure(Self.notProofs)) }
            } else {
                return body(.failure(Self.notProofs))
            }
        }
        let jkt = members[4].flatMap { $0.isNull ? nil : $0 }
        if let jkt, !jkt.isString {
            return body(.failure(BatchError("jkt is not a string or null")))
        }
        method.withUnescapedBytes { method in
            url.withUnescapedBytes { url in
                withOptional(authorization) { authorization in
                    withOptional(firstProof) { firstProof in
                        withOptional(jkt) { jkt in
                            body(.success(BatchRequestBytes(
                                method: method, url: url, authorization: authorization, dpopCount: dpopCount,
                                firstProof: firstProof, jkt: jkt, dpop: dpop)))
                        }
                    }
                }
            }
        }
    }

    private static let notProofs = BatchError("dpop is not a string, an array of strings or null")

    private static func withOptional(_ value: JSONBorrowedValue?, _ body: (UnsafeRawBufferPointer?) -> Void) {
        guard let value else { return body(nil) }
        value.withUnescapedBytes { body($0) }
    }
}
