//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// Borrowed reading of a small JSON object for sibling modules that read one object per request (the CLI's batch
// lines): the same strict reader as ``JSONTree``, without building a tree or a `String`. Nothing here keeps a pointer
// past the call.

/// One value of a document validated by ``JSONTree/withRootMembers(of:named:maxDepth:failingWith:_:)``, borrowed for
/// the duration of that call.
package struct JSONBorrowedValue {
    let value: JSONValue

    package var isString: Bool { value.kind == .string }
    package var isNull: Bool { value.kind == .null }
    package var isArray: Bool { value.kind == .array }

    /// Calls `body` with the unescaped UTF-8 content of a string value: the document's own bytes when the string has
    /// no escapes, a scratch copy otherwise.
    ///
    /// - Warning: Do not escape the buffer from the closure.
    @unsafe
    package func withUnescapedBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        value.withUnescapedString { text in unsafe text.withUnsafeBytes(body) }
    }

    /// Calls `body` with each element of an array value, in order.
    package func forEachElement(_ body: (JSONBorrowedValue) -> Void) {
        value.forEachElement { body(JSONBorrowedValue(value: $0)) }
    }
}

/// Up to ``capacity`` member names to read from a root object with
/// ``JSONTree/withRootMembers(of:named:maxDepth:failingWith:_:)``: made once, read for every document.
package struct JSONMemberNames: Sendable {
    /// The most names one call reads.
    package static let capacity = 8

    let names: InlineArray<8, StaticString>
    package let count: Int

    /// - Precondition: at most ``capacity`` names.
    package init(_ names: [StaticString]) {
        precondition(names.count <= Self.capacity, "too many member names")
        // Unused slots repeat the first name: a member matches the first slot of its name, so they stay empty.
        var slots = InlineArray<8, StaticString>(repeating: names.first ?? "")
        for index in names.indices { slots[index] = names[index] }
        self.names = slots
        self.count = names.count
    }
}

/// The root members ``JSONTree/withRootMembers(of:named:maxDepth:failingWith:_:)`` was asked for, by the index of
/// their names.
package struct JSONRootMembers {
    let values: InlineArray<8, JSONValue?>
    package let count: Int

    /// The member named by name number `index`, `nil` when the object has none.
    package subscript(index: Int) -> JSONBorrowedValue? {
        precondition(index >= 0 && index < count, "JSONRootMembers index out of range")
        return values[index].map(JSONBorrowedValue.init(value:))
    }
}

extension JSONTree {
    /// Validates `bytes` as one JSON object under exactly the rules and with exactly the errors of
    /// ``parseObject(_:maxDepth:failingWith:)``, then calls `body` with the root's members named `names` (compared
    /// byte for byte after unescaping), borrowed from `bytes`. Not generic, so that a caller in another module runs it
    /// specialised.
    ///
    /// - Throws: `KeyboundError(code)` when `bytes` is not such an object; `body` is then not called.
    /// - Warning: `bytes` must stay valid for the duration of the call; do not escape the values from `body`.
    @unsafe
    package static func withRootMembers(
        of bytes: UnsafeRawBufferPointer,
        named names: JSONMemberNames,
        maxDepth: Int = 16,
        failingWith code: KeyboundError.Code,
        _ body: (JSONRootMembers) -> Void
    ) throws(KeyboundError) {
        guard bytes.count <= maximumBytes else { throw .make(code, "JSON text is too large") }
        // Safe because the view and the values read from it live only for this call, during which the caller keeps
        // the buffer alive.
        let view = unsafe ByteView(_unsafeBytes: bytes)
        let found = try JSON.parseObject(view, maxDepth: maxDepth, failingWith: code, capturing: names.names).members
        body(JSONRootMembers(values: found, count: names.count))
    }
}

extension JSONTree {
    /// The most bytes ``writeQuoted(_:to:)`` writes for `count` bytes of text: each may become `\u00XX`, plus the
    /// quotes.
    package static func quotedCapacity(_ count: Int) -> Int { count &* 6 &+ 2 }

    /// Writes `bytes`, valid UTF-8, at `out` as a quoted JSON string (RFC 8259 §7): `"`, `\` and control characters
    /// escaped (`\b \f \n \r \t`, else `\u00XX` in lower-case hex), every other byte as is. Returns the bytes
    /// written. ``quoted(_:)`` is this over a `String`'s UTF-8.
    ///
    /// - Warning: `bytes` must stay valid for the call, and `out` must have room for
    ///   ``quotedCapacity(_:)`` bytes.
    @unsafe
    package static func writeQuoted(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // Safe because the view lives only for this call, during which the caller keeps the buffer alive.
        let text = unsafe ByteView(_unsafeBytes: bytes)
        var written = 0
        // Safe, as every write below: the caller gave room for 6 bytes per input byte plus 2.
        func put(_ byte: UInt8) {
            unsafe out[written] = byte
            written &+= 1
        }
        func copy(_ run: ByteView) {
            unsafe run.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                unsafe UnsafeMutableRawPointer(out + written).copyMemory(from: base, byteCount: raw.count)
            }
            written &+= run.count
        }
        put(0x22)
        var start = 0
        var index = 0
        while true {
            index &+= text[index..<text.count].prefixCount(inClass: .plainJSONString)
            guard index < text.count else { break }
            let byte = text[index]
            index &+= 1
            if byte >= 0x80 { continue }  // UTF-8 beyond ASCII stands for itself
            copy(text[start..<(index &- 1)])
            start = index
            put(0x5C)
            switch byte {
            case 0x22, 0x5C: put(byte)
            case 0x08: put(UInt8(ascii: "b"))
            case 0x0C: put(UInt8(ascii: "f"))
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                put(UInt8(ascii: "u"))
                put(UInt8(ascii: "0"))
                put(UInt8(ascii: "0"))
                put(unsafe hex.utf8Start[Int(byte >> 4)])
                put(unsafe hex.utf8Start[Int(byte & 0x0F)])
            }
        }
        copy(text[start..<text.count])
        put(0x22)
        return written
    }
}
