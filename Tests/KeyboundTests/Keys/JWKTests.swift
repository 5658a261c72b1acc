//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

let rfc9449PublicJWK =
    #"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#
let rfc7638JWK =
    #"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#

func thumbprint(_ jwk: String) throws(KeyboundError) -> String {
    try ByteView.with(utf8: jwk) { (view) throws(KeyboundError) -> String in
        let value = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofJWK)
        return try JWKThumbprint.string(of: value, rejectingAs: .proofJWK, backend: .forTests)
    }
}

func importJWK(_ jwk: String, bits: ClosedRange<Int> = 2048...4096) throws(KeyboundError) -> PublicKey {
    try ByteView.with(utf8: jwk) { (view) throws(KeyboundError) -> PublicKey in
        let value = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofJWK)
        return try JWK.publicKey(value, modulusBits: bits, rejectingAs: .proofJWK, backend: .forTests)
    }
}

@Suite("JWK and thumbprints")
struct JWKTests {
    @Test("RFC 7638 §3.1 example thumbprint")
    func rfc7638() throws {
        #expect(try thumbprint(rfc7638JWK) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        let key = try importJWK(rfc7638JWK)
        #expect(key.kind == .rsa(modulusBits: 2048))
    }

    @Test("RFC 9449 example key: thumbprint is the cnf.jkt of Figures 8/9")
    func rfc9449() throws {
        #expect(try thumbprint(rfc9449PublicJWK) == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        #expect(try importJWK(rfc9449PublicJWK).kind == .ec(.p256))
    }

    @Test("member order, whitespace, escapes and extra members do not change the thumbprint (SECURITY.md D4c)")
    func canonicalisation() throws {
        let variant = #"{ "crv" : "P-256", "y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "kid":"x", "alg":"ES256", "use":"sig","kt\u0079":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"}"#
        #expect(try thumbprint(variant) == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    }

    @Test(
        "refuses private, symmetric, malformed and unsupported JWKs (SECURITY.md D2, D3)",
        arguments: [
            #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","d":"AA"}"#,
            #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","d":""}"#,
            #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","d":null}"#,
            #"{"kty":"oct","k":"c2VjcmV0"}"#,
            #"{"kty":"ec","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
            #"{"kty":"EC","crv":"p-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
            #"{"kty":"EC","crv":"secp256k1","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
            #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"}"#,
            #"{"kty":"EC","crv":"P-256","x":"AAl8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
            #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDB"}"#,
            #"{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
            #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":1}"#,
            #"{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
            #"{"kty":"OKP","crv":"Ed448","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
            #"{"kty":"OKP","crv":"X25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
            #"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
            #"{"crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
            #"{"kty":1}"#, #"{"kty":"XYZ"}"#,
        ]
    )
    func refusals(jwk: String) {
        #expect(throws: KeyboundError(.proofJWK)) { try importJWK(jwk) }
    }

    @Test("RSA key bounds: 1024-bit refused by default, e = 1 refused (SECURITY.md A8)")
    func rsaBounds() throws {
        let withE1 = rfc7638JWK.replacingOccurrences(of: #""e":"AQAB""#, with: #""e":"AQ""#)
        #expect(throws: KeyboundError(.proofJWK)) { try importJWK(withE1) }
        let withLeadingZero = rfc7638JWK.replacingOccurrences(of: #""e":"AQAB""#, with: #""e":"AAEAAQ""#)
        #expect(throws: KeyboundError(.proofJWK)) { try importJWK(withLeadingZero) }
        #expect(throws: KeyboundError(.proofJWK)) { try importJWK(rfc7638JWK, bits: 3072...4096) }
    }
}

@Suite("JWKS")
struct JWKSetTests {
    let ecKey = #"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA""#

    @Test("keys by kid; skipped entries reported; one keyless key usable without kid")
    func lookup() throws {
        let doc = #"{"keys":["# + ecKey + #","kid":"a","use":"sig"},"# + rfc7638JWK + #",{"kty":"XYZ"},"#
            + ecKey + #","kid":"enc","use":"enc"},"# + ecKey + #","kid":"ops","key_ops":["encrypt"]},"# + ecKey
            + #","kid":"rsa15","alg":"RSA1_5"}]}"#
        let set = try JWKSet(json: doc, backend: .forTests)
        #expect(set.count == 2)
        #expect(set.keyIDs == ["a", "2011-04-29"])
        #expect(set.skipped.count == 4)
        #expect(ByteView.with(utf8: "a") { set.entry(forKid: $0) }?.key.kind == .ec(.p256))
        #expect(ByteView.with(utf8: "2011-04-29") { set.entry(forKid: $0) }?.algorithm == .rs256)
        #expect(ByteView.with(utf8: "A") { set.entry(forKid: $0) } == nil)
        #expect(set.entry(forKid: nil) == nil)  // two keys: a kid is required
        let single = try JWKSet(json: #"{"keys":["# + ecKey + "}]}", backend: .forTests)
        #expect(single.entry(forKid: nil) != nil)
    }

    @Test(
        "a set fails when it is not a JWK Set, leaks private material, or has no usable key",
        arguments: [
            #"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#, #"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#,
            #"{"keys":[{"kty":"XYZ","d":"AA"}]}"#, #"{"keys":{}}"#, #"{"key":[]}"#, #"{"keys":[1]}"#, "[]",
        ]
    )
    func failsWhole(doc: String) {
        #expect(throws: KeyboundError(.invalidJWKS)) { try JWKSet(json: doc, backend: .forTests) }
    }

    @Test("an entry that cannot be used is skipped with its reason while a usable key remains")
    func unusableEntriesSkipped() throws {
        let usable = ecKey + #","kid":"ok"}"#
        let cases: [(entry: String, reason: String)] = [
            (ecKey + #","kid":"p384","alg":"ES384"}"#, "alg disagrees with the key"),
            (ecKey + #","kid":"rs","alg":"RS256"}"#, "alg disagrees with the key"),
            (ecKey + #","kid":7}"#, "kid is not a string"),
            (#"{"kty":"EC","crv":"P-256","kid":"short","x":"AA","y":"AA"}"#, "jwk EC coordinates do not have the curve's length"),
            (#"{"kty":"EC","crv":"P-256K","kid":"k1","x":"AA","y":"AA"}"#, "jwk EC curve is not supported"),
            (#"{"kty":"oct","kid":"hmac"}"#, "kty oct (a symmetric key) is not a verification key"),
            (#"{"kid":"nokty"}"#, "kty is missing"),
            (ecKey + #","kid":"use","use":1}"#, "use is not sig"),
            (ecKey + #","kid":"ops","key_ops":"verify"}"#, "key_ops is not an array"),
            (ecKey + #","kid":"alg","alg":5}"#, "alg is not a string"),
            ("[]", "entry is not a JSON object"),
        ]
        for (entry, reason) in cases {
            let set = try JWKSet(json: #"{"keys":["# + entry + "," + usable + "]}", backend: .forTests)
            #expect(set.keyIDs == ["ok"], "\(entry)")
            #expect(set.skippedKeys.count == 1 && set.skippedKeys[0].index == 0, "\(entry)")
            #expect(set.skippedKeys.first?.reason == reason, "\(entry)")
        }
    }

    @Test("a duplicate kid among usable keys and private members fail the set")
    func misconfigurations() {
        #expect(throws: KeyboundError(.invalidJWKS)) {
            try JWKSet(json: #"{"keys":["# + ecKey + #","kid":"k"},"# + ecKey + #","kid":"k"}]}"#, backend: .forTests)
        }
        #expect(throws: KeyboundError(.invalidJWKS)) { try JWKSet(json: #"{"keys":["# + ecKey + #","d":"AA"}]}"#, backend: .forTests) }
        #expect(throws: KeyboundError(.invalidJWKS)) {
            try JWKSet(json: #"{"keys":["# + ecKey + #","kid":"ok"},"# + ecKey + #","kid":"bad","d":""}]}"#, backend: .forTests)
        }
    }

    @Test("size and count bounds")
    func bounds() {
        let many = #"{"keys":["# + Array(repeating: #"{"kty":"XYZ"}"#, count: 1025).joined(separator: ",") + "]}"
        #expect(throws: KeyboundError(.invalidJWKS)) { try JWKSet(json: many, backend: .forTests) }
        let huge = #"{"keys":[],"pad":""# + String(repeating: "a", count: 1 << 20) + #""}"#
        #expect(throws: KeyboundError(.invalidJWKS)) { try JWKSet(json: huge, backend: .forTests) }
    }
}
