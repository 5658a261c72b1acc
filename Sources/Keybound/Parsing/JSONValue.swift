//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The JSON type of a value (RFC 8259 §3).
enum JSONKind: UInt8, Sendable, Hashable {
    case object, array, string, number, `true`, `false`, null
}

/// One value inside a validated JSON document: its kind and the exact bytes of its text, borrowed.
///
/// Values come only from ``JSON/parseObject(_:maxDepth:failingWith:)``, which has validated the whole
/// document, so the accessors here can scan without re-checking the grammar.
struct JSONValue {
    let kind: JSONKind
    /// The value's text: for a string, including its quotes.
    let bytes: ByteView
    /// For strings: whether the text contains a backslash escape.
    let hasEscapes: Bool
}

// MARK: - Strings

extension JSONValue {
    /// The raw bytes between the quotes of a string (escapes not decoded).
    var rawStringContent: ByteView {
        precondition(kind == .string)
        return bytes[1..<(bytes.count &- 1)]
    }

    /// True when this is a string whose unescaped content equals `literal` byte for byte (no normalisation).
    func stringEquals(_ literal: StaticString) -> Bool {
        guard kind == .string else { return false }
        if !hasEscapes { return rawStringContent.elementsEqual(literal) }
        return withUnescapedString { $0.elementsEqual(literal) }
    }

    /// True when this is a string whose unescaped content equals `other` byte for byte.
    func stringEquals(_ other: ByteView) -> Bool {
        guard kind == .string else { return false }
        if !hasEscapes { return rawStringContent.elementsEqual(other) }
        return withUnescapedString { $0.elementsEqual(other) }
    }

    /// Calls `body` with the unescaped UTF-8 content of a string (no copy when it has no escapes).
    func withUnescapedString<R, E: Error>(_ body: (ByteView) throws(E) -> R) throws(E) -> R {
        precondition(kind == .string)
        if !hasEscapes { return try body(rawStringContent) }
        return try withScratch(capacity: rawStringContent.count) { (scratch) throws(E) -> R in
            JSON.unescape(rawStringContent, into: &scratch)
            return try body(scratch.view)
        }
    }

    /// The unescaped content of a string as a new `String` (allocates: cold paths and results only).
    func stringValue() -> String {
        withUnescapedString { $0.decodeString() }
    }

    /// The unescaped UTF-8 length of a string.
    var unescapedStringCount: Int {
        if !hasEscapes { return rawStringContent.count }
        return withUnescapedString { $0.count }
    }
}

// MARK: - Numbers

extension JSONValue {
    /// The largest magnitude Keybound reads from a number: 2^53, beyond which doubles stop being exact integers.
    static let maxExactInteger: Double = 9_007_199_254_740_992

    /// A NumericDate (RFC 7519 §2): an integer or fractional number of seconds, within ±2^53.
    ///
    /// - Returns: `nil` for non-numbers and for numbers beyond ±2^53 (including exponents that overflow).
    func numericDate() -> Double? {
        guard kind == .number else { return nil }
        return JSON.decimalValue(bytes)
    }

    /// An integer within ±2^53, or `nil` (non-numbers, fractions, out of range).
    func integerValue() -> Int64? {
        guard let value = numericDate(), value.rounded(.towardZero) == value else { return nil }
        return Int64(value)  // Safe: |value| <= 2^53 was checked by decimalValue.
    }
}

// MARK: - Objects and arrays

extension JSONValue {
    /// Calls `body` with each member of an object, in document order.
    func forEachMember<E: Error>(_ body: (_ name: JSONValue, _ value: JSONValue) throws(E) -> Void) throws(E) {
        precondition(kind == .object)
        var i = JSON.skipWhitespace(bytes, 1)
        guard bytes[i] != UInt8(ascii: "}") else { return }
        while true {
            let name = JSON.scanValue(bytes, i)
            i = JSON.skipWhitespace(bytes, name.bytes.count &+ i)
            i = JSON.skipWhitespace(bytes, i &+ 1)  // the colon
            let value = JSON.scanValue(bytes, i)
            try body(name, value)
            i = JSON.skipWhitespace(bytes, i &+ value.bytes.count)
            if bytes[i] == UInt8(ascii: "}") { return }
            i = JSON.skipWhitespace(bytes, i &+ 1)  // the comma
        }
    }

    /// Calls `body` with each element of an array, in order.
    func forEachElement<E: Error>(_ body: (JSONValue) throws(E) -> Void) throws(E) {
        precondition(kind == .array)
        var i = JSON.skipWhitespace(bytes, 1)
        guard bytes[i] != UInt8(ascii: "]") else { return }
        while true {
            let value = JSON.scanValue(bytes, i)
            try body(value)
            i = JSON.skipWhitespace(bytes, i &+ value.bytes.count)
            if bytes[i] == UInt8(ascii: "]") { return }
            i = JSON.skipWhitespace(bytes, i &+ 1)
        }
    }

    /// The value of the member named `name` (compared after unescaping), or `nil`.
    ///
    /// Stops at the first match: the validator refuses duplicate member names (RFC 8259 §4, SECURITY.md), so the first
    /// is the only one, and the members after it are not scanned.
    func member(_ name: StaticString) -> JSONValue? {
        precondition(kind == .object)
        var i = JSON.skipWhitespace(bytes, 1)
        guard bytes[i] != UInt8(ascii: "}") else { return nil }
        while true {
            let key = JSON.scanValue(bytes, i)
            i = JSON.skipWhitespace(bytes, key.bytes.count &+ i)
            i = JSON.skipWhitespace(bytes, i &+ 1)  // the colon
            let value = JSON.scanValue(bytes, i)
            if key.stringEquals(name) { return value }
            i = JSON.skipWhitespace(bytes, i &+ value.bytes.count)
            if bytes[i] == UInt8(ascii: "}") { return nil }
            i = JSON.skipWhitespace(bytes, i &+ 1)  // the comma
        }
    }

    /// The number of elements of an array or members of an object.
    var elementCount: Int {
        var n = 0
        if kind == .array {
            forEachElement { _ in n &+= 1 }
        } else if kind == .object {
            forEachMember { _, _ in n &+= 1 }
        }
        return n
    }
}
