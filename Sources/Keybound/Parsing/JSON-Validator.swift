//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension JSON {
    /// The one-pass strict validator behind ``JSON/parseObject(_:maxDepth:failingWith:)``.
    ///
    /// Member names of the objects being read are kept in `names` as 16-byte entries (start, end, and a 64-bit key
    /// of the unescaped name); an object's entries are dropped when it closes. A name of at most 7 bytes (unescaped)
    /// is its own key: its bytes and length, packed, so two such names are equal exactly when their keys are, with no
    /// hashing and no further comparison. A longer name's key is a 32-bit tag and its has-escapes flag, and it is
    /// compared in full only with the names of its object whose tags equal its own. The tag is SipHash-1-3 under the
    /// process's random key (``KeyedHash``), so a client cannot choose names that collide to force those full
    /// comparisons: names chosen to collide cost what random names of the same size do (docs/design.md "Contracts →
    /// Bounded work"). Each object holds at most ``JSON/maximumMembers`` members, which bounds the key checks of one
    /// object to 512 × 511 / 2.
    struct Validator {
        let bytes: ByteView
        let code: KeyboundError.Code
        let maxDepth: Int
        var names: ScratchBuffer
        /// When set, each member of the root object as 16 bytes (name start, name end, value start, value end with
        /// its kind and escape flag in the top byte), so that its wanted members are found without another scan.
        var rootMembers: ScratchBuffer?
        var i = 0

        @inline(never)
        func fail(_ reason: String) -> KeyboundError {
            KeyboundError.make(code, reason)
        }

        mutating func parseDocument() throws(KeyboundError) -> JSONValue {
            skipWhitespace()
            guard i < bytes.count else { throw fail("JSON is empty") }
            guard bytes[i] == UInt8(ascii: "{") else { throw fail("JSON is not an object") }
            let root = try parseValue(depth: 1)
            skipWhitespace()
            guard i == bytes.count else { throw fail("JSON has trailing bytes") }
            return root
        }

        mutating func skipWhitespace() {
            while i < bytes.count, JSON.isWhitespace(bytes[i]) { i &+= 1 }
        }

        mutating func parseValue(depth: Int) throws(KeyboundError) -> JSONValue {
            guard i < bytes.count else { throw fail("JSON ends early") }
            let start = i
            switch bytes[i] {
            case UInt8(ascii: "{"):
                guard depth <= maxDepth else { throw fail("JSON nesting is too deep") }
                try parseObjectBody(depth: depth)
                return JSONValue(kind: .object, bytes: bytes[start..<i], hasEscapes: false)
            case UInt8(ascii: "["):
                guard depth <= maxDepth else { throw fail("JSON nesting is too deep") }
                try parseArrayBody(depth: depth)
                return JSONValue(kind: .array, bytes: bytes[start..<i], hasEscapes: false)
            case UInt8(ascii: "\""):
                let escaped = try parseString()
                return JSONValue(kind: .string, bytes: bytes[start..<i], hasEscapes: escaped)
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                return JSONValue(kind: .true, bytes: bytes[start..<i], hasEscapes: false)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                return JSONValue(kind: .false, bytes: bytes[start..<i], hasEscapes: false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                return JSONValue(kind: .null, bytes: bytes[start..<i], hasEscapes: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try parseNumber()
                return JSONValue(kind: .number, bytes: bytes[start..<i], hasEscapes: false)
            default:
                throw fail("JSON has an unexpected byte")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(KeyboundError) {
            let n = literal.utf8CodeUnitCount
            guard bytes.count &- i >= n, bytes[i..<(i &+ n)].elementsEqual(literal) else {
                throw fail("JSON has an invalid literal")
            }
            i &+= n
        }

        mutating func parseObjectBody(depth: Int) throws(KeyboundError) {
            i &+= 1  // {
            let base = names.count
            defer { names.removeLast(names.count &- base) }
            skipWhitespace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i &+= 1
                return
            }
            var members = 0
            while true {
                // The bound is per object: the members of an object nested in a value (`jwk`, `cnf`) count towards
                // that object only, and the nested object is one member of its parent.
                guard members < JSON.maximumMembers else { throw fail("JSON object has more than 512 members") }
                members &+= 1
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("JSON member name is not a string") }
                let nameStart = i
                let escaped = try parseString()
                let nameEnd = i
                try recordName(start: nameStart &+ 1, end: nameEnd &- 1, escaped: escaped, objectBase: base)
                skipWhitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("JSON member lacks a colon") }
                i &+= 1
                skipWhitespace()
                let valueStart = i
                let value = try parseValue(depth: depth &+ 1)
                if depth == 1 && rootMembers != nil {
                    fileRootMember(name: (nameStart &+ 1)..<(nameEnd &- 1), nameEscaped: escaped, value: value,
                                   valueStart: valueStart)
                }
                if try endsContainer(UInt8(ascii: "}"), named: "object") { return }
            }
        }

        mutating func parseArrayBody(depth: Int) throws(KeyboundError) {
            i &+= 1  // [
            skipWhitespace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i &+= 1
                return
            }
            while true {
                _ = try parseValue(depth: depth &+ 1)
                if try endsContainer(UInt8(ascii: "]"), named: "array") { return }
            }
        }

        /// After a member or element: skips white space, then reads either `close` (true: the object or array
        /// ends) or a comma and the white space after it (false: another member or element follows).
        mutating func endsContainer(_ close: UInt8, named container: StaticString) throws(KeyboundError) -> Bool {
            skipWhitespace()
            guard i < bytes.count else { throw fail("JSON \(container) is not closed") }
            let byte = bytes[i]
            i &+= 1
            if byte == close { return true }
            guard byte == UInt8(ascii: ",") else { throw fail("JSON \(container) has an unexpected byte") }
            skipWhitespace()
            return false
        }

        // MARK: Root members

        /// Files a member of the root object: its name's content and its value (offsets fit in 32 bits: documents
        /// are bounded far below 4 GiB by every caller's size limit).
        mutating func fileRootMember(name: Range<Int>, nameEscaped: Bool, value: JSONValue, valueStart: Int) {
            let flags = UInt32(value.kind.rawValue) | (value.hasEscapes ? 0x100 : 0) | (nameEscaped ? 0x200 : 0)
            rootMembers?.appendWord(UInt32(truncatingIfNeeded: name.lowerBound))
            rootMembers?.appendWord(UInt32(truncatingIfNeeded: name.upperBound))
            rootMembers?.appendWord(UInt32(truncatingIfNeeded: valueStart))
            rootMembers?.appendWord(UInt32(truncatingIfNeeded: valueStart &+ value.bytes.count))
            rootMembers?.appendWord(flags)
        }

        /// Calls `body` with each filed member of the root object (the name as its content, without quotes), in
        /// document order.
        func forEachRootMember(_ body: (_ name: ByteView, _ nameEscaped: Bool, _ value: JSONValue) -> Void) {
            guard let table = rootMembers else { return }
            var entry = 0
            while entry < table.count {
                let name = bytes[Int(table.word(at: entry))..<Int(table.word(at: entry &+ 4))]
                let value = bytes[Int(table.word(at: entry &+ 8))..<Int(table.word(at: entry &+ 12))]
                let flags = table.word(at: entry &+ 16)
                let kind = JSONKind(rawValue: UInt8(truncatingIfNeeded: flags)) ?? .null
                body(name, flags & 0x200 != 0, JSONValue(kind: kind, bytes: value, hasEscapes: flags & 0x100 != 0))
                entry &+= 20
            }
        }

        // MARK: Duplicate names

        /// The key of a name (see ``Validator``), from its unescaped bytes: for at most 7 bytes, the bytes
        /// little-endian with `0x80 | length` in the top byte; otherwise the low 32 bits of its keyed hash
        /// (``KeyedHash``), with bit 32 set when the name has escapes. Only short keys have the top bit set.
        func nameKey(_ content: ByteView, escaped: Bool) -> UInt64 {
            if !escaped { return Self.key(of: content, escaped: false) }
            return withScratch(capacity: content.count) { scratch in
                JSON.unescape(content, into: &scratch)
                return Self.key(of: scratch.view, escaped: true)
            }
        }

        static func key(of name: ByteView, escaped: Bool) -> UInt64 {
            let count = name.count
            guard count > 7 else {
                var packed = UInt64(0x80 | count) &<< 56
                for k in 0..<count { packed |= UInt64(name[k]) &<< (8 &* k) }
                return packed
            }
            return UInt64(UInt32(truncatingIfNeeded: KeyedHash.hash(name))) | (escaped ? 1 &<< 32 : 0)
        }

        func namesEqual(_ a: ByteView, _ aEscaped: Bool, _ b: ByteView, _ bEscaped: Bool) -> Bool {
            probeWork(.jsonNameComparisons)
            probeWork(.jsonNameComparedBytes, a.count &+ b.count)
            if !aEscaped && !bEscaped { return a.elementsEqual(b) }
            return withScratch(capacity: a.count &+ b.count) { scratch in
                JSON.unescape(a, into: &scratch)
                let split = scratch.count
                JSON.unescape(b, into: &scratch)
                let all = scratch.view
                return all[0..<split].elementsEqual(all[split..<all.count])
            }
        }

        mutating func recordName(start: Int, end: Int, escaped: Bool, objectBase: Int) throws(KeyboundError) {
            let content = bytes[start..<end]
            let key = nameKey(content, escaped: escaped)
            let isShort = key &>> 63 != 0
            var entry = objectBase
            probeWork(.jsonNameTagChecks, (names.count &- objectBase) / 16)
            while entry < names.count {
                let other = UInt64(names.word(at: entry &+ 8)) | UInt64(names.word(at: entry &+ 12)) &<< 32
                if isShort {
                    // Short keys are the names themselves.
                    if other == key { throw fail("JSON has a duplicate member name") }
                } else if other &>> 63 == 0 && UInt32(truncatingIfNeeded: other) == UInt32(truncatingIfNeeded: key) {
                    let s = Int(names.word(at: entry)), e = Int(names.word(at: entry &+ 4))
                    if namesEqual(bytes[s..<e], other & (1 &<< 32) != 0, content, escaped) {
                        throw fail("JSON has a duplicate member name")
                    }
                }
                entry &+= 16
            }
            // Offsets fit in 32 bits: documents are bounded far below 4 GiB by every caller's size limit.
            names.appendWord(UInt32(truncatingIfNeeded: start))
            names.appendWord(UInt32(truncatingIfNeeded: end))
            names.appendWord(UInt32(truncatingIfNeeded: key))
            names.appendWord(UInt32(truncatingIfNeeded: key &>> 32))
        }

        // MARK: Strings

        /// Validates a string starting at its opening quote; returns whether it has escapes.
        mutating func parseString() throws(KeyboundError) -> Bool {
            i &+= 1  // opening quote
            var escaped = false
            while true {
                i &+= bytes[i..<bytes.count].prefixCount(inClass: .plainJSONString)
                guard i < bytes.count else { throw fail("JSON string is not closed") }
                let b = bytes[i]
                switch b {
                case UInt8(ascii: "\""):
                    i &+= 1
                    return escaped
                case UInt8(ascii: "\\"):
                    escaped = true
                    try parseEscape()
                case 0x00..<0x20:
                    throw fail("JSON string has a raw control character")
                case 0x20..<0x80:
                    i &+= 1
                default:
                    try parseUTF8Sequence()
                }
            }
        }

        mutating func parseEscape() throws(KeyboundError) {
            guard i &+ 1 < bytes.count else { throw fail("JSON string ends in an escape") }
            let e = bytes[i &+ 1]
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                i &+= 2
            case UInt8(ascii: "u"):
                i &+= 2
                let unit = try readHex4()
                if unit == 0 { throw fail("JSON string contains U+0000") }
                if unit >= 0xDC00 && unit < 0xE000 { throw fail("JSON string has a lone low surrogate") }
                if unit >= 0xD800 && unit < 0xDC00 {
                    guard bytes.count &- i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i &+ 1] == UInt8(ascii: "u")
                    else { throw fail("JSON string has a lone high surrogate") }
                    i &+= 2
                    let low = try readHex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("JSON string has a lone high surrogate") }
                }
            default:
                throw fail("JSON string has an invalid escape")
            }
        }

        mutating func readHex4() throws(KeyboundError) -> UInt32 {
            guard bytes.count &- i >= 4 else { throw fail("JSON \\u escape is short") }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let h = bytes[i &+ k].hexDigitValue else { throw fail("JSON \\u escape is not hex") }
                v = v << 4 | UInt32(h)
            }
            i &+= 4
            return v
        }

        /// Validates one multi-byte UTF-8 sequence (Unicode Table 3-7: no overlongs, no surrogates, ≤ U+10FFFF).
        mutating func parseUTF8Sequence() throws(KeyboundError) {
            let bytes = self.bytes
            let start = i
            let length = UTF8Validation.multiByteSequenceLength(available: bytes.count &- start) { bytes[start &+ $0] }
            guard let length else { throw fail("JSON string is not valid UTF-8") }
            i &+= length
        }

        // MARK: Numbers

        /// Validates `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?` (RFC 8259 §6).
        mutating func parseNumber() throws(KeyboundError) {
            if bytes[i] == UInt8(ascii: "-") { i &+= 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("JSON number has no digits") }
            if bytes[i] == UInt8(ascii: "0") {
                i &+= 1
                if i < bytes.count, isDigit(bytes[i]) { throw fail("JSON number has a leading zero") }
            } else {
                skipDigits()
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i &+= 1
                guard i < bytes.count, isDigit(bytes[i]) else { throw fail("JSON number has an empty fraction") }
                skipDigits()
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i &+= 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i &+= 1 }
                guard i < bytes.count, isDigit(bytes[i]) else { throw fail("JSON number has an empty exponent") }
                skipDigits()
            }
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

        mutating func skipDigits() {
            while i < bytes.count, isDigit(bytes[i]) { i &+= 1 }
        }
    }
}
