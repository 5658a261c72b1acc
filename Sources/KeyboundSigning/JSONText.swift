//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound

/// Writing and reading the small JSON texts signing and the command-line tool need, without Foundation (RFC 8259).
///
/// The writer escapes strings per RFC 8259 §7. Reading goes through the core's strict reader (``JSONTree``).
package enum JSONText {
    // MARK: - Writing

    /// `text` as a quoted JSON string (RFC 8259 §7).
    package static func quoted(_ text: String) -> String { JSONTree.quoted(text) }

    /// Builds a compact JSON object from members whose values are already JSON texts, in the given order.
    package struct ObjectWriter {
        package private(set) var text = "{"
        private var first = true

        package init() {}

        package mutating func raw(_ name: String, _ jsonValue: String) {
            if !first { text += "," }
            first = false
            text += JSONText.quoted(name)
            text += ":"
            text += jsonValue
        }

        package mutating func string(_ name: String, _ value: String) { raw(name, JSONText.quoted(value)) }
        package mutating func string(_ name: String, _ value: String?) { if let value { string(name, value) } }
        package mutating func integer(_ name: String, _ value: Int64) { raw(name, String(value)) }
        package mutating func integer(_ name: String, _ value: Int64?) { if let value { integer(name, value) } }

        package func finished() -> String { text + "}" }
    }

    // MARK: - Reading (the core's strict reader)

    /// A parsed JSON value. Numbers keep their exact text.
    package typealias Value = JSONTree
    /// The members of a parsed JSON object, in document order.
    package typealias Object = JSONObjectTree

    /// The largest text read.
    package static let maximumBytes = JSONTree.maximumBytes
    /// The deepest nesting accepted by default.
    package static let defaultMaximumDepth = 16

    /// Parses `text` as exactly one JSON object (surrounding whitespace allowed).
    static func parseObject(_ text: String, failingWith code: KeyboundError.Code) throws(KeyboundError) -> Object {
        try JSONTree.parseObject(Array(text.utf8), failingWith: code)
    }

    /// Parses `bytes` strictly as one JSON object (RFC 8259, through the core's reader): UTF-8 only, no duplicate
    /// member names, no lone surrogates, at most `maxDepth` levels and ``maximumBytes`` bytes.
    package static func parse(
        _ bytes: [UInt8],
        maxDepth: Int = defaultMaximumDepth,
        failingWith code: KeyboundError.Code
    ) throws(KeyboundError) -> Value {
        .object(try JSONTree.parseObject(bytes, maxDepth: maxDepth, failingWith: code))
    }
}
