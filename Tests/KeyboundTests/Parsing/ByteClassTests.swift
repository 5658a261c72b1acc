//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

/// The table-driven scans of the hot path (``ByteView/prefixCount(inClass:)``, ``Base64URL/decodeQuads(_:into:)``)
/// against the plain definitions they replace: every byte value, at every position of an 8-byte block and of a run
/// of 4-character groups, inside and past the unrolled part.
@Suite("Byte classes and table-driven scans")
struct ByteClassTests {
    /// token68 before its padding, written out from RFC 9110 §11.2.
    static func isToken68(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || [UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"),
                UInt8(ascii: "/")].contains(b)
    }

    static func isPlainJSONString(_ b: UInt8) -> Bool {
        b >= 0x20 && b < 0x80 && b != 0x22 && b != 0x5C
    }

    @Test("the tables hold exactly the members of their classes")
    func tables() {
        for value in 0...255 {
            let b = UInt8(value)
            #expect((ByteClass.token68.members[value] != 0) == Self.isToken68(b), "token68 \(value)")
            #expect((ByteClass.plainJSONString.members[value] != 0) == Self.isPlainJSONString(b), "json \(value)")
        }
        #expect(ByteClass.token68.members.count == 256 && ByteClass.plainJSONString.members.count == 256)
    }

    @Test("prefixCount stops at the first non-member, wherever it falls, for every byte value")
    func prefixCountStops() {
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 31, 64] {
            #expect(ByteView.with([UInt8](repeating: UInt8(ascii: "a"), count: length)) {
                $0.prefixCount(inClass: .token68)
            } == length)
            for position in 0..<length {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = UInt8(value)
                    let expected = Self.isToken68(UInt8(value)) ? length : position
                    let got = ByteView.with(bytes) { $0.prefixCount(inClass: .token68) }
                    #expect(got == expected, "length \(length) position \(position) byte \(value)")
                }
            }
        }
    }

    @Test("encodeTriples encodes like the per-sextet encoder: every byte value in every position of a group")
    func encodeTriplesMatchesReference() {
        for position in 0..<6 {
            for value in 0...255 {
                var input: [UInt8] = [0x00, 0xFF, 0x5A, 0xA5, 0x3C, 0xC3]
                input[position] = UInt8(value)
                let encoded: [UInt8] = ByteView.with(input) { view in
                    withScratch(capacity: 8) { out in
                        Base64URL.encodeTriples(view, into: &out)
                        return out.view.copyToArray()
                    }
                }
                var expected: [UInt8] = []
                for t in stride(from: 0, to: 6, by: 3) {
                    let word = UInt32(input[t]) << 16 | UInt32(input[t + 1]) << 8 | UInt32(input[t + 2])
                    expected += [18, 12, 6, 0].map { Base64URL.character(UInt8(word >> UInt32($0) & 0x3F)) }
                }
                #expect(encoded == expected, "position \(position) byte \(value)")
            }
        }
    }

    @Test("decodeQuads decodes like the per-character decoder and refuses any byte outside the alphabet")
    func decodeQuadsMatchesReference() throws {
        // Every byte value in every position of three 4-character groups.
        let valid = Array("QUJDRGVm".utf8) + Array("Z2hp".utf8)  // "ABCDefghi"
        for position in 0..<valid.count {
            for value in 0...255 {
                var input = valid
                input[position] = UInt8(value)
                let inAlphabet = Base64URL.sextet(UInt8(value)) != 0xFF
                let decoded: [UInt8]? = ByteView.with(input) { view in
                    withScratch(capacity: 9) { out in
                        Base64URL.decodeQuads(view, into: &out) ? out.view.copyToArray() : nil
                    }
                }
                #expect((decoded != nil) == inAlphabet, "position \(position) byte \(value)")
                if let decoded {
                    // The reference: the 24-bit groups of the per-character sextets.
                    var expected: [UInt8] = []
                    for q in stride(from: 0, to: input.count, by: 4) {
                        let s = input[q..<(q + 4)].map { UInt32(Base64URL.sextet($0)) }
                        let word = s[0] << 18 | s[1] << 12 | s[2] << 6 | s[3]
                        expected += [UInt8(word >> 16), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
                    }
                    #expect(decoded == expected, "position \(position) byte \(value)")
                }
            }
        }
    }

    @Test("a string with every plain byte then a quote, backslash, control or non-ASCII byte is validated as before")
    func jsonStringsAroundTheFastPath() throws {
        // Plain runs of every length up to 17 before each kind of byte that leaves the fast path.
        for run in 0...17 {
            let plain = String(repeating: "x", count: run)
            let accepted = ["\"\(plain)\"", "\"\(plain)\\n\"", "\"\(plain)é\"", "\"\(plain)\\u00e9\(plain)\""]
            for text in accepted {
                let document = "{\"a\":\(text)}"
                let ok = try ByteView.with(utf8: document) { (view) throws(KeyboundError) -> Bool in
                    try JSON.parseObject(view, maxDepth: 4, failingWith: .proofMalformed).member("a") != nil
                }
                #expect(ok, "\(document)")
            }
            for bad in ["\"\(plain)\u{01}\"", "\"\(plain)\\x\"", "\"\(plain)", "\"\(plain)\u{7F}"] {
                let document = "{\"a\":\(bad)}"
                #expect(throws: KeyboundError(.proofMalformed), "\(document)") {
                    try ByteView.with(utf8: document) { (view) throws(KeyboundError) in
                        _ = try JSON.parseObject(view, maxDepth: 4, failingWith: .proofMalformed)
                    }
                }
            }
        }
    }
}
