//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A strict RFC 8259 JSON reader over borrowed bytes.
///
/// ``parseObject(_:maxDepth:failingWith:)`` validates a whole document in one pass and returns a view of its
/// root object; nothing is copied and no dictionary is built. Strict means (RFC 8259; RFC 7515 §4, RFC 7519 §4,
/// RFC 8725 §3.7; SECURITY.md C3–C6):
/// - the grammar exactly: no comments, trailing commas, single quotes, `NaN`, leading `+` or zeros, `.5` or `1.`;
/// - UTF-8 only: no byte-order mark, no overlong, surrogate or truncated sequences;
/// - strings without raw control characters, with valid escapes, surrogate pairs paired, and no U+0000
///   (escaped or not), so C hosts never see a truncated value;
/// - no duplicate member names in any object at any depth, compared after unescaping, byte for byte, with a
///   pre-filter keyed per process so that no choice of names makes the check costlier than random names do;
/// - at most ``maximumMembers`` members in each object (docs/design.md "Contracts → Bounded work");
/// - nesting at most `maxDepth` deep, checked before descending (the recursion is bounded by it);
/// - nothing but whitespace after the root value.
enum JSON {
    /// The deepest nesting Keybound ever accepts, whatever the configuration asks for.
    static let depthCeiling = 64

    /// The most members one object may have (docs/design.md "Contracts → Bounded work"): each object counts its own
    /// members, so a `jwk` or `cnf` object nested in a header or payload has its own 512, and is one member of its
    /// parent. A JOSE header or claims set needs a few dozen at most.
    static let maximumMembers = 512

    /// Validates `document` and returns its root, which must be an object.
    ///
    /// - Throws: `KeyboundError(code)` naming the first violation (an object of more than ``maximumMembers``
    ///   members included).
    static func parseObject(
        _ document: ByteView,
        maxDepth: Int,
        failingWith code: KeyboundError.Code
    ) throws(KeyboundError) -> JSONValue {
        try parseObject(document, maxDepth: maxDepth, failingWith: code, capturing: [] as InlineArray<0, StaticString>)
            .root
    }

    /// Validates `document` like ``parseObject(_:maxDepth:failingWith:)`` and, in the same pass, files the root
    /// object's members named `names`: each at its name's index (`nil` where the root has no such member), compared
    /// byte for byte after unescaping. The validator refuses duplicate names, so each name has at most one value.
    static func parseObject<let count: Int>(
        _ document: ByteView,
        maxDepth: Int,
        failingWith code: KeyboundError.Code,
        capturing names: InlineArray<count, StaticString>
    ) throws(KeyboundError) -> (root: JSONValue, members: InlineArray<count, JSONValue?>) {
        // Each member name of an open object needs one 16-byte entry in the duplicate table, and each member of the
        // root one more 20-byte entry in the capture table. A member takes at least 4 bytes (`"":0`), so a
        // quarter of the document's length bounds both; so does the member bound for the capture table, and the
        // member bound times the depth for the duplicate table (it holds the names of the objects still open).
        probeWork(.jsonParsedBytes, document.count)
        let members = document.count / 4 &+ 1
        let depth = min(maxDepth, depthCeiling)
        let entries = min(members, maximumMembers &* max(depth, 1))
        return try withScratch(capacity: entries &* 16) {
            (table) throws(KeyboundError) -> (root: JSONValue, members: InlineArray<count, JSONValue?>) in
            try withScratch(capacity: count == 0 ? 0 : min(members, maximumMembers) &* 20) {
                (rootMembers) throws(KeyboundError) -> (root: JSONValue, members: InlineArray<count, JSONValue?>) in
                var parser = Validator(bytes: document, code: code, maxDepth: depth, names: table,
                                       rootMembers: count == 0 ? nil : rootMembers)
                let root = try parser.parseDocument()
                table = parser.names
                var found = InlineArray<count, JSONValue?>(repeating: nil)
                if let filed = parser.rootMembers {
                    rootMembers = filed
                    parser.forEachRootMember { name, escaped, value in
                        for index in names.indices where JSON.nameEquals(name, escaped: escaped, names[index]) {
                            found[index] = value
                            return
                        }
                    }
                }
                return (root, found)
            }
        }
    }

    /// True when a member name's content (escapes not decoded) equals `literal` after unescaping.
    @inline(__always)
    static func nameEquals(_ name: ByteView, escaped: Bool, _ literal: StaticString) -> Bool {
        if !escaped { return name.elementsEqual(literal) }
        return withScratch(capacity: name.count) { scratch in
            unescape(name, into: &scratch)
            return scratch.view.elementsEqual(literal)
        }
    }

    // MARK: - Scanning validated text

    @inlinable
    static func isWhitespace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
    }

    /// The index of the first non-whitespace byte at or after `i` (or `bytes.count`).
    static func skipWhitespace(_ bytes: ByteView, _ i: Int) -> Int {
        var i = i
        while i < bytes.count, isWhitespace(bytes[i]) { i &+= 1 }
        return i
    }

    /// The value starting at `start` in already-validated text.
    static func scanValue(_ bytes: ByteView, _ start: Int) -> JSONValue {
        let c = bytes[start]
        switch c {
        case UInt8(ascii: "\""):
            var i = start &+ 1
            var escaped = false
            while true {
                i &+= bytes[i..<bytes.count].prefixCount(inClass: .plainJSONString)
                let b = bytes[i]
                if b == UInt8(ascii: "\"") { break }
                if b == UInt8(ascii: "\\") {
                    escaped = true
                    i &+= 1
                }
                i &+= 1
            }
            return JSONValue(kind: .string, bytes: bytes[start..<(i &+ 1)], hasEscapes: escaped)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            repeat {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i &+= 1
                    while bytes[i] != UInt8(ascii: "\"") {
                        if bytes[i] == UInt8(ascii: "\\") { i &+= 1 }
                        i &+= 1
                    }
                } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                    depth &+= 1
                } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                    depth &-= 1
                }
                i &+= 1
            } while depth > 0
            return JSONValue(kind: c == UInt8(ascii: "{") ? .object : .array, bytes: bytes[start..<i], hasEscapes: false)
        case UInt8(ascii: "t"):
            return JSONValue(kind: .true, bytes: bytes[start..<(start &+ 4)], hasEscapes: false)
        case UInt8(ascii: "f"):
            return JSONValue(kind: .false, bytes: bytes[start..<(start &+ 5)], hasEscapes: false)
        case UInt8(ascii: "n"):
            return JSONValue(kind: .null, bytes: bytes[start..<(start &+ 4)], hasEscapes: false)
        default:
            var i = start &+ 1
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") || isWhitespace(b) {
                    break
                }
                i &+= 1
            }
            return JSONValue(kind: .number, bytes: bytes[start..<i], hasEscapes: false)
        }
    }

    // MARK: - Unescaping

    /// Reads the 4 hex digits at `i` of validated text.
    static func hex4(_ bytes: ByteView, _ i: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | UInt32(bytes[i &+ k].hexDigitValue ?? 0) }
        return v
    }

    /// Appends the UTF-8 encoding of a scalar.
    static func appendUTF8(_ scalar: UInt32, to out: inout ScratchBuffer) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Appends the unescaped UTF-8 of validated string content (between the quotes) to `out`, which needs at
    /// most `content.count` bytes (an escape is never shorter than what it stands for).
    static func unescape(_ content: ByteView, into out: inout ScratchBuffer) {
        var i = 0
        while i < content.count {
            let b = content[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i &+= 1
                continue
            }
            let e = content[i &+ 1]
            i &+= 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(content, i)
                i &+= 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    let low = hex4(content, i &+ 2)
                    i &+= 6
                    scalar = 0x10000 &+ ((scalar &- 0xD800) << 10 | (low &- 0xDC00))
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // " \ /
            }
        }
    }

    // MARK: - Numbers

    /// The value of a validated JSON number, or `nil` when its magnitude exceeds 2^53.
    ///
    /// Integers up to 2^53 are exact; fractions are the correctly rounded quotient of an exact significand by an
    /// exact power of ten where possible, which is all time comparisons need.
    static func decimalValue(_ text: ByteView) -> Double? {
        var i = 0
        var negative = false
        if text[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        var significand: UInt64 = 0
        var digits = 0  // significant digits kept in `significand`
        var scale = 0  // value = significand × 10^scale (before the exponent)
        var sawNonZero = false
        // Integer part.
        while i < text.count, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
            let d = UInt64(text[i] &- 48)
            if sawNonZero || d != 0 {
                sawNonZero = true
                if digits < 18 {
                    significand = significand &* 10 &+ d
                    digits &+= 1
                } else {
                    scale &+= 1  // dropped integer digit: still counts for magnitude
                }
            }
            i &+= 1
        }
        // Fraction.
        if i < text.count, text[i] == UInt8(ascii: ".") {
            i &+= 1
            while i < text.count, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
                let d = UInt64(text[i] &- 48)
                if (sawNonZero || d != 0) && digits < 18 {
                    sawNonZero = true
                    significand = significand &* 10 &+ d
                    digits &+= 1
                    scale &-= 1
                } else if !sawNonZero {
                    scale &-= 1  // leading zeros after the point
                }
                i &+= 1
            }
        }
        // Exponent (bounded so that adding it to `scale` cannot overflow).
        if i < text.count, text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") {
            i &+= 1
            var expNegative = false
            if text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
                expNegative = text[i] == UInt8(ascii: "-")
                i &+= 1
            }
            var exponent = 0
            while i < text.count, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
                if exponent < 100_000 { exponent = exponent &* 10 &+ Int(text[i] &- 48) }
                i &+= 1
            }
            scale &+= expNegative ? -exponent : exponent
        }
        if significand == 0 { return 0 }
        var value: Double
        if scale >= 0 {
            // Integral: exact while it stays within 2^53.
            guard scale <= 16 else { return nil }
            var v = significand
            for _ in 0..<scale {
                let (m, overflow) = v.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                v = m
            }
            guard v <= 9_007_199_254_740_992 else { return nil }
            value = Double(v)
        } else {
            value = Double(significand)
            var down = -scale
            while down > 22 {
                value /= 1e22
                down &-= 22
            }
            value /= powersOfTen[down]
            guard value <= maxMagnitude else { return nil }
        }
        return negative ? -value : value
    }

    static let maxMagnitude: Double = 9_007_199_254_740_992
    static let powersOfTen: [Double] = [
        1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ]
}
