//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A JSON document as an owned tree, for configuration-time readers in sibling modules (private JWKs, batch lines).
///
/// It is built from the core's one strict reader (``JSON/parseObject(_:maxDepth:failingWith:)``), so every rule
/// holds here too: RFC 8259 only, UTF-8, no duplicate member names, no lone surrogates or U+0000, bounded depth.
/// The verification hot path never builds one.
package indirect enum JSONTree: Equatable, Sendable {
    case string(String)
    /// A number, as its exact text.
    case number(String)
    case bool(Bool)
    case null
    case array([JSONTree])
    case object(JSONObjectTree)

    /// The largest document read.
    package static let maximumBytes = 1 << 20

    /// Parses `bytes` as one JSON object (surrounding whitespace allowed).
    ///
    /// - Throws: `KeyboundError(code)` naming the problem; the reason never echoes the input.
    package static func parseObject(_ bytes: [UInt8], maxDepth: Int = 16, failingWith code: KeyboundError.Code)
        throws(KeyboundError) -> JSONObjectTree
    {
        guard bytes.count <= maximumBytes else { throw .make(code, "JSON text is too large") }
        return try ByteView.with(bytes) { (view) throws(KeyboundError) -> JSONObjectTree in
            let root = try JSON.parseObject(view, maxDepth: maxDepth, failingWith: code)
            guard case .object(let object) = JSONTree(root) else { throw .make(code, "JSON text is not an object") }
            return object
        }
    }

    /// Copies a validated value (the depth is bounded by the reader, so the recursion is too).
    init(_ value: JSONValue) {
        switch value.kind {
        case .string: self = .string(value.stringValue())
        case .number: self = .number(value.bytes.decodeString())
        case .true: self = .bool(true)
        case .false: self = .bool(false)
        case .null: self = .null
        case .array:
            var elements: [JSONTree] = []
            value.forEachElement { elements.append(JSONTree($0)) }
            self = .array(elements)
        case .object:
            var members: [JSONObjectTree.Member] = []
            value.forEachMember { name, member in
                members.append(JSONObjectTree.Member(name: name.stringValue(), value: JSONTree(member)))
            }
            self = .object(JSONObjectTree(members: members))
        }
    }

    /// `text` as a quoted JSON string (RFC 8259 §7): `"`, `\` and control characters escaped, the rest as is
    /// (``writeQuoted(_:to:)`` over its UTF-8).
    package static func quoted(_ text: String) -> String {
        var text = text
        return unsafe text.withUTF8 { utf8 in
            unsafe String(unsafeUninitializedCapacity: quotedCapacity(utf8.count)) { buffer in
                // Safe because the buffer has room for quotedCapacity bytes, and the UTF-8 lives for this call.
                guard let base = buffer.baseAddress else { return 0 }
                return unsafe writeQuoted(UnsafeRawBufferPointer(utf8), to: base)
            }
        }
    }
}

/// The members of a JSON object, in document order (names are unique).
package struct JSONObjectTree: Equatable, Sendable {
    package let members: [Member]

    package struct Member: Equatable, Sendable {
        package let name: String
        package let value: JSONTree
    }

    /// The value of member `name` (compared byte for byte, no Unicode normalisation), or `nil` when absent.
    package subscript(_ name: String) -> JSONTree? {
        members.first { $0.name.utf8.elementsEqual(name.utf8) }?.value
    }

    /// The string value of `name`; `nil` when absent; throws `code` when present but not a string.
    package func string(_ name: String, failingWith code: KeyboundError.Code) throws(KeyboundError) -> String? {
        guard let value = self[name] else { return nil }
        guard case .string(let text) = value else { throw .make(code, "member \(name) is not a string") }
        return text
    }

    /// Whether a member `name` is present.
    package func has(_ name: String) -> Bool { self[name] != nil }
}
