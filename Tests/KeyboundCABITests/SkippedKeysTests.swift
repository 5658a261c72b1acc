//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CKeybound
import Foundation
import Keybound
import KeyboundCABI
import Testing

@Suite("C ABI: skipped key set entries (kb_verifier_skipped_key)")
struct SkippedKeysTests {
    static let issuer = "https://issuer.example"
    static let signing = #"{"kty":"EC","crv":"P-256","kid":"sig-1","use":"sig","alg":"ES256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#
    static let encryption = #"{"kty":"OKP","crv":"X25519","use":"enc","kid":"enc-1","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}"#
    static let oaep = #"{"kty":"RSA","kid":"oaep","alg":"RSA-OAEP","e":"AQAB","n":"AQAB"}"#

    func makeVerifier(jwks: String) throws -> OpaquePointer {
        var cfg: OpaquePointer? = nil
        try #require(kb_config_new(&cfg) == KB_OK)
        defer { kb_config_free(cfg) }
        let added = withBytes(Self.issuer) { i, il in withBytes(jwks) { j, jl in kb_config_add_issuer(cfg, i, il, j, jl) } }
        try #require(added == KB_OK)
        let audience = withBytes(Self.issuer) { i, il in withBytes("aud") { a, al in kb_config_add_audience(cfg, i, il, a, al) } }
        try #require(audience == KB_OK)
        var verifier: OpaquePointer? = nil
        try #require(kb_verifier_new(cfg, &verifier, nil, 0) == KB_OK)
        return try #require(verifier)
    }

    /// One call: its status, the count it reports and the line it writes for `index`.
    func line(_ verifier: OpaquePointer, _ index: Int) -> (status: kb_status, count: Int, text: String) {
        var count = -1
        var text = [CChar](repeating: 1, count: 128)
        let status = withBytes(Self.issuer) { i, il in
            kb_verifier_skipped_key(verifier, i, il, index, &count, &text, text.count)
        }
        return (status, count, String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The count and the lines for every index up to and including the count (one past the end).
    func report(_ verifier: OpaquePointer) -> (kb_status, Int, [String]) {
        let first = line(verifier, 0)
        guard first.status == KB_OK else { return (first.status, first.count, []) }
        var lines = [first.text]
        if first.count > 0 { for index in 1...first.count { lines.append(line(verifier, index).text) } }
        return (first.status, first.count, lines)
    }

    @Test("each skipped entry's line, then \"\" past the end; rotation replaces the report")
    func lines() throws {
        let verifier = try makeVerifier(jwks: #"{"keys":["# + Self.encryption + "," + Self.signing + "," + Self.oaep + "]}")
        defer { kb_verifier_free(verifier) }
        let (status, count, lines) = report(verifier)
        #expect(status == KB_OK)
        #expect(count == 2)
        #expect(lines == [
            #"key 0 (kid "enc-1"): use is not sig"#,
            #"key 2 (kid "oaep"): alg is not a supported JWS signature algorithm"#,
            "",
        ])
        let replaced = withBytes(Self.issuer) { i, il in
            withBytes(#"{"keys":["# + Self.signing + "]}") { j, jl in kb_verifier_replace_jwks(verifier, i, il, j, jl, nil, 0) }
        }
        #expect(replaced == KB_OK)
        let (after, afterCount, afterLines) = report(verifier)
        #expect(after == KB_OK && afterCount == 0 && afterLines == [""])
    }

    @Test("misuse: NULL verifier or count, an unknown issuer, a bad buffer")
    func misuse() throws {
        let verifier = try makeVerifier(jwks: #"{"keys":["# + Self.signing + "]}")
        defer { kb_verifier_free(verifier) }
        var count = 0
        var text = [CChar](repeating: 0, count: 16)
        #expect(withBytes(Self.issuer) { i, il in kb_verifier_skipped_key(nil, i, il, 0, &count, &text, text.count) }
            == KB_ERR_INVALID_ARGUMENT)
        #expect(withBytes(Self.issuer) { i, il in kb_verifier_skipped_key(verifier, i, il, 0, nil, &text, text.count) }
            == KB_ERR_INVALID_ARGUMENT)
        #expect(withBytes("https://other.example") { i, il in kb_verifier_skipped_key(verifier, i, il, 0, &count, &text, text.count) }
            == KB_ERR_INVALID_CONFIG)
        #expect(kb_verifier_skipped_key(verifier, nil, 5, 0, &count, &text, text.count) == KB_ERR_INVALID_ARGUMENT)
        #expect(withBytes(Self.issuer) { i, il in kb_verifier_skipped_key(verifier, i, il, 0, &count, nil, 0) } == KB_OK)
        #expect(count == 0)
    }
}
