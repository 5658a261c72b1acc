//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

/// Parses `text` as a JSON object and hands the root to `body`.
func withJSON<R>(
    _ text: String,
    maxDepth: Int = 16,
    _ body: (JSONValue) throws -> R
) throws -> R {
    try ByteView.with(Array(text.utf8)) { view in
        let root = try JSON.parseObject(view, maxDepth: maxDepth, failingWith: .tokenMalformed)
        return try body(root)
    }
}

func jsonRejects(_ text: String, maxDepth: Int = 16) -> Bool {
    do {
        try ByteView.with(Array(text.utf8)) { (view) throws(KeyboundError) in
            _ = try JSON.parseObject(view, maxDepth: maxDepth, failingWith: .tokenMalformed)
        }
        return false
    } catch {
        return error.code == .tokenMalformed
    }
}

@Suite("JSON reader")
struct JSONTests {
    @Test("reads members, kinds and values without copying")
    func readsMembers() throws {
        let text = #" { "a" : "x\"y" , "b":[1, {"c":null}], "d":true, "e":false, "f":-12.5e1, "g":{} } "#
        try withJSON(text) { root in
            #expect(root.kind == .object)
            var names: [String] = []
            var kinds: [JSONKind] = []
            root.forEachMember { name, value in
                names.append(name.stringValue())
                kinds.append(value.kind)
            }
            #expect(names == ["a", "b", "c", "d", "e", "f", "g"].filter { $0 != "c" })
            #expect(kinds == [.string, .array, .true, .false, .number, .object])
            #expect(root.member("a")?.stringValue() == "x\"y")
            #expect(root.member("a")?.hasEscapes == true)
            #expect(root.member("f")?.numericDate() == -125)
            #expect(root.member("b")?.elementCount == 2)
            #expect(root.member("g")?.elementCount == 0)
            #expect(root.member("zz") == nil)
        }
    }

    @Test("parseObject(capturing:) files each wanted root member at its name's index in the same pass; absent ones are nil")
    func capturingMembers() throws {
        let text = #" { "z" :1,"c\u0072it": ["x"] ,"typ":"dpop+jwt","other":{"typ":"inner","alg":1},"alg" : "E\u0053256" , "n":-1.5e3,"t":true} "#
        let (root, found) = try ByteView.with(utf8: text) { (view) throws(KeyboundError) in
            let (root, found) = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofMalformed,
                                                     capturing: ["typ", "alg", "crit", "jwk", "n", "t", "other"])
            // Each captured value is exactly what a lookup on the root finds (kind, bytes, escape flag).
            for (index, name) in ["typ", "alg", "crit", "jwk", "n", "t", "other"].enumerated() {
                let expected = ByteView.with(utf8: name) { wanted in
                    var value: JSONValue? = nil
                    root.forEachMember { key, v in if key.stringEquals(wanted) { value = v } }
                    return value
                }
                #expect(found[index]?.kind == expected?.kind, "\(name)")
                #expect(found[index]?.bytes.decodeString() == expected?.bytes.decodeString(), "\(name)")
                #expect(found[index]?.hasEscapes == expected?.hasEscapes, "\(name)")
            }
            return (root.bytes.decodeString(), found.indices.map { found[$0]?.bytes.decodeString() })
        }
        #expect(root.hasPrefix("{") && root.hasSuffix("}"))
        #expect(found == [#""dpop+jwt""#, #""E\u0053256""#, #"["x"]"#, nil, "-1.5e3", "true",
                          #"{"typ":"inner","alg":1}"#])
        let empty = try ByteView.with(utf8: "{}") { (view) throws(KeyboundError) in
            try JSON.parseObject(view, maxDepth: 16, failingWith: .proofMalformed, capturing: ["jti", "htm"]).members
        }
        #expect(empty[0] == nil && empty[1] == nil)
        // A refusal is the same with or without captures.
        #expect(throws: KeyboundError(.proofMalformed)) {
            try ByteView.with(utf8: #"{"typ":1,"t\u0079p":2}"#) { (view) throws(KeyboundError) in
                _ = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofMalformed, capturing: ["typ"])
            }
        }
    }

    @Test("unescapes \\u escapes and surrogate pairs; compares after unescaping")
    func unescaping() throws {
        try withJSON(#"{"typ":"dpop\u002bjwt","s":"\ud83d\ude00\n\/\\\u00e9"}"#) { root in
            #expect(root.member("typ")?.stringEquals("dpop+jwt") == true)
            #expect(root.member("typ")?.unescapedStringCount == 8)
            #expect(root.member("s")?.stringValue() == "\u{1F600}\n/\\\u{e9}")
        }
        // No Unicode normalisation: é (U+00E9) and e + U+0301 are different names and values.
        try withJSON(#"{"sub":"caf\u00e9","cafe\u0301":1,"café":2}"#) { root in
            #expect(root.member("sub")?.stringEquals("café") == true)
            #expect(root.member("sub")?.stringEquals("cafe\u{301}") == false)
        }
    }

    @Test(
        "rejects duplicate member names at every level, escaped or not (SECURITY.md C3)",
        arguments: [
            #"{"alg":"ES256","alg":"none"}"#, #"{"alg":"ES256","\u0061lg":"none"}"#,
            #"{"cnf":{"jkt":"A","jkt":"B"}}"#, #"{"a":[{"x":1,"x":2}]}"#, #"{"\u0078":1,"x":2}"#,
            #"{"a":1,"b":2,"c":3,"a":4}"#,
            // Around the 7-byte bound where a name stops being its own key: short, long, escaped into either.
            #"{"abcdefg":1,"abcdefg":2}"#, #"{"abcdefgh":1,"abcdefgh":2}"#, #"{"abcdefg":1,"abcdefg":2}"#,
            #"{"abcdefgh":1,"abcdefgh":2}"#, #"{"été":1,"été":2}"#, #"{"":1,"":2}"#,
        ]
    )
    func duplicates(text: String) {
        #expect(jsonRejects(text))
    }

    @Test(
        "names that differ only in length, in one byte, or across the 7-byte bound are not duplicates",
        arguments: [
            #"{"a":1,"aa":2,"aaa":3,"aaaaaaa":4,"aaaaaaaa":5,"":6}"#, #"{"abcdefg":1,"abcdefh":2,"bbcdefg":3}"#,
            #"{"abcdefgh":1,"abcdefgi":2}"#, #"{"abcdefg":1,"abcdefgh":2}"#, #"{"é":1,"e":2,"è":3}"#,
        ]
    )
    func distinctNames(text: String) throws {
        try withJSON(text) { root in
            var count = 0
            root.forEachMember { _, _ in count += 1 }
            #expect(count >= 2)
        }
    }

    @Test("the same name in sibling or nested objects is not a duplicate")
    func siblingsAreIndependent() throws {
        try withJSON(#"{"a":{"a":{"a":1}},"b":{"a":2},"c":[{"a":1},{"a":2}]}"#) { root in
            #expect(root.member("b")?.member("a")?.integerValue() == 2)
        }
    }

    @Test(
        "rejects what RFC 8259 does not allow (SECURITY.md C4)",
        arguments: [
            "", " ", "[]", "\"s\"", "null", "1", "{", "}", #"{"a":1,}"#, #"{"a":1}//"#, "{'a':1}", #"{"a":NaN}"#,
            #"{"a":Infinity}"#, #"{"a":+1}"#, #"{"a":01}"#, #"{"a":.5}"#, #"{"a":1.}"#, #"{"a":1e}"#, #"{"a":-}"#,
            #"{"a":1}x"#, #"{"a":1}{"b":2}"#, "\u{FEFF}{}", #"{"a":tru}"#, #"{"a":nul}"#, #"{a:1}"#, #"{"a" 1}"#,
            #"{"a":1 "b":2}"#, #"{"a":[1 2]}"#, #"{"a":[1,]}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":"\u12G4"}"#,
            #"{"a":"\ud800"}"#, #"{"a":"\udc00\ud800"}"#, #"{"a":"\ud800\u0041"}"#, #"{"a":"\u0000"}"#,
            "{\"a\":\"\u{1}\"}", "{\"a\":\"tab\there\"}", #"{"a":"unterminated}"#, #"{"a":"x\"#,
        ]
    )
    func grammar(text: String) {
        #expect(jsonRejects(text))
    }

    @Test("rejects invalid UTF-8: overlong, CESU surrogates, truncated, stray bytes")
    func invalidUTF8() throws {
        let bad: [[UInt8]] = [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF], [0x80], [0xF4, 0x90, 0x80, 0x80],
                              [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE0, 0x80, 0xAF]]
        for sequence in bad {
            let document = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
            let rejected: Bool
            do {
                try ByteView.with(document) { (view) throws(KeyboundError) in
                    _ = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofMalformed)
                }
                rejected = false
            } catch {
                rejected = error.code == .proofMalformed
            }
            #expect(rejected, "\(sequence) must be refused")
        }
        try withJSON(#"{"a":"é€😀"}"#) { root in #expect(root.member("a")?.stringValue() == "é€😀") }
    }

    @Test("accepts RFC-legal whitespace everywhere (Wycheproof tcId 376-377 are valid)")
    func legalWhitespace() throws {
        try withJSON("\r\n\t {\n\"a\"\t:\r[ 1 ,\n2 ] , \"b\" :{ } }\n ") { root in
            #expect(root.member("a")?.elementCount == 2)
        }
    }

    @Test("depth is bounded before descending (SECURITY.md C6)")
    func depth() throws {
        let nested16 = String(repeating: #"{"a":"#, count: 15) + "1" + String(repeating: "}", count: 15)
        #expect(!jsonRejects("{\"x\":" + String(repeating: "[", count: 15) + String(repeating: "]", count: 15) + "}"))
        #expect(!jsonRejects(nested16))
        #expect(jsonRejects("{\"x\":" + String(repeating: "[", count: 16) + String(repeating: "]", count: 16) + "}"))
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(jsonRejects(deep))
        #expect(jsonRejects(deep, maxDepth: 1_000_000))  // the ceiling of 64 holds whatever the caller asks
    }

    @Test(
        "NumericDate: integers, fractions and exponents within ±2^53 (SECURITY.md C7)",
        arguments: [
            ("1700000000", 1_700_000_000.0), ("1700000000.5", 1_700_000_000.5), ("1.7e9", 1_700_000_000),
            ("17E8", 1_700_000_000), ("-1", -1), ("0", 0), ("-0", 0), ("9007199254740992", 9_007_199_254_740_992),
            ("0.000001", 0.000001), ("1700000000.000000000000000000001", 1_700_000_000),
            ("170000000000000000000e-11", 1_700_000_000), ("1e-400", 0.0),
        ]
    )
    func numericDates(text: String, expected: Double) throws {
        try withJSON("{\"v\":\(text)}") { root in
            #expect(root.member("v")?.numericDate() == expected)
        }
    }

    @Test(
        "NumericDate: out of range or not a number",
        arguments: ["1e19", "9223372036854775808", "1e308", "1e400", "9007199254740993", "-1e16", "\"1700000000\"",
                    "true", "null", "[]", "{}", "1e99999999999999999999"]
    )
    func numericDateRejects(text: String) throws {
        try withJSON("{\"v\":\(text)}") { root in
            #expect(root.member("v")?.numericDate() == nil)
        }
    }

    @Test("integers: fractions refused")
    func integers() throws {
        try withJSON(#"{"a":42,"b":4.5,"c":-7,"d":1e2}"#) { root in
            #expect(root.member("a")?.integerValue() == 42)
            #expect(root.member("b")?.integerValue() == nil)
            #expect(root.member("c")?.integerValue() == -7)
            #expect(root.member("d")?.integerValue() == 100)
        }
    }

    @Test("objects with many members detect a late duplicate; more than 512 members are refused")
    func manyMembers() {
        var text = "{"
        for k in 0..<511 { text += "\"m\(k)\":\(k)," }
        #expect(!jsonRejects(text + "\"end\":0}"))
        #expect(jsonRejects(text + "\"m7\":0}"))
        // docs/design.md "Contracts → Bounded work": at most 512 members per object.
        #expect(jsonRejects(text + "\"end\":0,\"one-more\":0}"))
    }
}
