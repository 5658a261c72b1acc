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

/// The root members ``JSONTree/withRootMembers(of:named:maxDepth:failingWith:_:)`` was asked for, by the index of
/// their names.
package struct JSONRootMembers {
    /// The most names one call reads.
    package static let capacity = 8

    let values: InlineArray<8, JSONValue?>
    package let count: Int

    /// The member named by `names[index]`, `nil` when the object has none.
    package subscript(index: Int) -> JSONBorrowedValue? {
        precondition(index >= 0 && index < count, "JSONRootMembers index out of range")
        return values[index].map(JSONBorrowedValue.init(value:))
    }
}

extension JSONTree {
    /// Validates `bytes` as one JSON object under exactly the rules and with exactly the errors of
    /// ``parseObject(_:maxDepth:failingWith:)``, then calls `body` with the root's members named `names` (at most
    /// ``JSONRootMembers/capacity``; names compared byte for byte after unescaping), borrowed from `bytes`. Not
    /// generic, so that a caller in another module runs it specialised.
    ///
    /// - Throws: `KeyboundError(code)` when `bytes` is not such an object; `body` is then not called.
    /// - Warning: `bytes` must stay valid for the duration of the call; do not escape the values from `body`.
    @unsafe
    package static func withRootMembers(
        of bytes: UnsafeRawBufferPointer,
        named names: [StaticString],
        maxDepth: Int = 16,
        failingWith code: KeyboundError.Code,
        _ body: (JSONRootMembers) -> Void
    ) throws(KeyboundError) {
        precondition(names.count <= JSONRootMembers.capacity, "too many member names")
        guard bytes.count <= maximumBytes else { throw .make(code, "JSON text is too large") }
        // Unused slots repeat the first name: a member matches the first slot of its name, so they stay empty.
        var wanted = InlineArray<8, StaticString>(repeating: names.first ?? "")
        for index in names.indices { wanted[index] = names[index] }
        // Safe because the view and the values read from it live only for this call, during which the caller keeps
        // the buffer alive.
        let view = unsafe ByteView(_unsafeBytes: bytes)
        let found = try JSON.parseObject(view, maxDepth: maxDepth, failingWith: code, capturing: wanted).members
        body(JSONRootMembers(values: found, count: names.count))
    }
}

extension JSONTree {
    /// Appends `bytes`, valid UTF-8, to `out` as a quoted JSON string (RFC 8259 §7): `"`, `\` and control characters
    /// escaped (`\b \f \n \r \t`, else `\u00XX` in lower-case hex), every other byte as is. ``quoted(_:)`` is this over
    /// a `String`'s UTF-8.
    ///
    /// - Warning: `bytes` must stay valid for the duration of the call.
    @unsafe
    package static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // Safe because the view lives only for this call, during which the caller keeps the buffer alive.
        let text = unsafe ByteView(_unsafeBytes: bytes)
        out.append(0x22)
        var start = 0
        var index = 0
        while true {
            index &+= text[index..<text.count].prefixCount(inClass: .plainJSONString)
            guard index < text.count else { break }
            let byte = text[index]
            index &+= 1
            if byte >= 0x80 { continue }  // UTF-8 beyond ASCII stands for itself
            unsafe text[start..<(index &- 1)].withUnsafeBytes { run in
                unsafe out.append(contentsOf: run.assumingMemoryBound(to: UInt8.self))
            }
            start = index
            out.append(0x5C)
            switch byte {
            case 0x22, 0x5C: out.append(byte)
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                unsafe out.append(hex.utf8Start[Int(byte >> 4)])
                unsafe out.append(hex.utf8Start[Int(byte & 0x0F)])
            }
        }
        unsafe text[start..<text.count].withUnsafeBytes { run in
            unsafe out.append(contentsOf: run.assumingMemoryBound(to: UInt8.self))
        }
        out.append(0x22)
    }

    /// Appends `text` to `out` as a quoted JSON string, escaped as the byte `appendQuoted(_:to:)`
    /// does.
    package static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in unsafe appendQuoted(UnsafeRawBufferPointer(utf8), to: &out) }
    }
}
