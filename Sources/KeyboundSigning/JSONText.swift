//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound

/// Writing and reading the small JSON texts signing and the command-line tool need, without Foundation (RFC 8259).
///
/// The writer escapes strings per RFC 8259 §7. The reader is strict and bounded: UTF-8 only, no duplicate member
/// names, no lone surrogates, bounded nesting and size; its error reasons name a byte offset, never the input.
package enum JSONText {
    // MARK: - Writing

    /// `text` as a quoted JSON string (RFC 8259 §7): `"`, `\` and control characters escaped, the rest as is.
    package static func quoted(_ text: String) -> String {
        var result = "\""
        result.unicodeScalars.reserveCapacity(text.utf8.count &+ 2)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: result += "\\\""
            case 0x5C: result += "\\\\"
            case 0x08: result += "\\b"
            case 0x0C: result += "\\f"
            case 0x0A: result += "\\n"
            case 0x0D: result += "\\r"
            case 0x09: result += "\\t"
            case 0x00...0x1F:
                let hex = Array("0123456789abcdef".unicodeScalars)
                result += "\\u00"
                result.unicodeScalars.append(hex[Int(scalar.value >> 4)])
                result.unicodeScalars.append(hex[Int(scalar.value & 0x0F)])
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        result += "\""
        return result
    }

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

    // MARK: - Reading

    /// A parsed JSON value. Numbers keep their exact text.
    package indirect enum Value: Equatable, Sendable {
        case string(String)
        case number(String)
        case bool(Bool)
        case null
        case array([Value])
        case object(Object)
    }

    /// The members of a parsed JSON object, in document order (names are unique).
    package struct Object: Equatable, Sendable {
        package let members: [Member]

        package struct Member: Equatable, Sendable {
            package let name: String
            package let value: Value
        }

        /// The value of member `name`, or `nil` when absent.
        package subscript(_ name: String) -> Value? { members.first { $0.name == name }?.value }

        /// The string value of `name`; `nil` when absent; throws `code` when present but not a string.
        func string(_ name: String, failingWith code: KeyboundError.Code) throws(KeyboundError) -> String? {
            guard let value = self[name] else { return nil }
            guard case .string(let text) = value else {
                throw KeyboundError(code, reason: "JWK member \(name) is not a string")
            }
            return text
        }

        func has(_ name: String) -> Bool { self[name] != nil }
    }

    /// The largest text read.
    package static let maximumBytes = 1 << 20
    /// The deepest nesting accepted by default.
    package static let defaultMaximumDepth = 16

    /// Parses `text` as exactly one JSON object (surrounding whitespace allowed).
    static func parseObject(_ text: String, failingWith code: KeyboundError.Code) throws(KeyboundError) -> Object {
        guard case .object(let object) = try parse(Array(text.utf8), failingWith: code) else {
            throw KeyboundError(code, reason: "JSON text is not an object")
        }
        return object
    }

    /// Parses `bytes` strictly as one JSON value (RFC 8259): UTF-8 only, no duplicate member names, no lone
    /// surrogates, at most `maxDepth` levels of arrays and objects and ``maximumBytes`` bytes.
    ///
    /// - Throws: `code`, with a reason that names the problem and its byte offset but never echoes the input.
    package static func parse(
        _ bytes: [UInt8],
        maxDepth: Int = defaultMaximumDepth,
        failingWith code: KeyboundError.Code
    ) throws(KeyboundError) -> Value {
        guard bytes.count <= maximumBytes else { throw KeyboundError(code, reason: "JSON text is too large") }
        var reader = Reader(bytes: bytes, code: code, maxDepth: maxDepth)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.atEnd else {
            throw KeyboundError(code, reason: "JSON text has trailing bytes at byte \(reader.index)")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        let code: KeyboundError.Code
        let maxDepth: Int
        var index = 0

        init(bytes: [UInt8], code: KeyboundError.Code, maxDepth: Int) {
            self.bytes = bytes
            self.code = code
            self.maxDepth = maxDepth
        }

        var atEnd: Bool { index >= bytes.count }

        func fail(_ reason: String) -> KeyboundError { KeyboundError(code, reason: reason) }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(KeyboundError) {
            guard peek() == byte else { throw fail("JSON syntax error at byte \(index)") }
            index += 1
        }

        /// One value; `depth` counts the arrays and objects around it.
        mutating func value(depth: Int) throws(KeyboundError) -> Value {
            guard let byte = peek() else { throw fail("JSON text ends early") }
            switch byte {
            case UInt8(ascii: "{"): return .object(try object(depth: depth &+ 1))
            case UInt8(ascii: "["): return .array(try array(depth: depth &+ 1))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default:
                let start = index
                try number()
                return .number(String(decoding: bytes[start..<index], as: UTF8.self))
            }
        }

        mutating func object(depth: Int) throws(KeyboundError) -> Object {
            guard depth <= maxDepth else { throw fail("JSON nesting is deeper than \(maxDepth)") }
            try expect(UInt8(ascii: "{"))
            var members: [Object.Member] = []
            var names = Set<String>()
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return Object(members: members)
            }
            while true {
                skipWhitespace()
                let name = try string()
                guard names.insert(name).inserted else { throw fail("JSON object has a duplicate member name") }
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                members.append(Object.Member(name: name, value: try value(depth: depth)))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return Object(members: members)
            }
        }

        mutating func array(depth: Int) throws(KeyboundError) -> [Value] {
            guard depth <= maxDepth else { throw fail("JSON nesting is deeper than \(maxDepth)") }
            try expect(UInt8(ascii: "["))
            var elements: [Value] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return elements
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return elements
            }
        }

        mutating func literal(_ word: StaticString) throws(KeyboundError) {
            let count = word.utf8CodeUnitCount
            guard index <= bytes.count &- count else { throw fail("JSON syntax error at byte \(index)") }
            for k in 0..<count where bytes[index &+ k] != word.utf8Start[k] {
                throw fail("JSON syntax error at byte \(index)")
            }
            index &+= count
        }

        /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        mutating func number() throws(KeyboundError) {
            func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard isDigit(peek()) else { throw fail("JSON syntax error at byte \(index)") }
            if peek() == UInt8(ascii: "0") {
                index += 1
            } else {
                while isDigit(peek()) { index += 1 }
            }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard isDigit(peek()) else { throw fail("JSON number has no fraction digits") }
                while isDigit(peek()) { index += 1 }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard isDigit(peek()) else { throw fail("JSON number has no exponent digits") }
                while isDigit(peek()) { index += 1 }
            }
        }

        /// A JSON string (RFC 8259 §7), unescaped; invalid UTF-8 and lone surrogates are refused.
        mutating func string() throws(KeyboundError) -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while true {
                guard let byte = peek() else { throw fail("JSON string is not terminated") }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else {
                        throw fail("JSON string is not valid UTF-8")
                    }
                    return text
                case UInt8(ascii: "\\"):
                    guard let escape = peek() else { throw fail("JSON string is not terminated") }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard peek() == UInt8(ascii: "\\") else { throw fail("JSON string has a lone surrogate") }
                            index += 1
                            try expect(UInt8(ascii: "u"))
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else {
                                throw fail("JSON string has a lone surrogate")
                            }
                            scalar = 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw fail("JSON string has a lone surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw fail("JSON string has a bad escape") }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        throw fail("JSON string has a bad escape")
                    }
                case 0x00...0x1F:
                    throw fail("JSON string has a control character")
                default:
                    out.append(byte)
                }
            }
        }

        mutating func hex4() throws(KeyboundError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek() else { throw fail("JSON string is not terminated") }
                index += 1
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte &- 0x30
                case 0x41...0x46: digit = byte &- 0x41 &+ 10
                case 0x61...0x66: digit = byte &- 0x61 &+ 10
                default: throw fail("JSON string has a bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}

/// Unpadded base64url encoding (RFC 4648 §5, RFC 7515 §2) for the texts signing writes.
package enum B64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    package static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count &+ 2) / 3 &* 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count &- index
            let b0 = UInt32(bytes[index])
            let b1 = remaining > 1 ? UInt32(bytes[index &+ 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[index &+ 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            if remaining > 1 { out.append(alphabet[Int(group >> 6 & 63)]) }
            if remaining > 2 { out.append(alphabet[Int(group & 63)]) }
            index &+= 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func encode(_ text: String) -> String { encode(Array(text.utf8)) }
}
