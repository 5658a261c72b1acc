//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundSigning
import Testing

@testable import Keybound

/// Key sets shaped like the ones large issuers publish (RFC 7517 §5): signing keys beside encryption keys,
/// certificate chains (`x5c`, `x5t`, `x5t#S256`), algorithms Keybound does not verify with, curves it does not
/// support. Each set loads, reports exactly the entries it skipped, and verifies a token signed with its signing key.
///
/// The shapes are written for these tests (members, order and kinds of entries as those issuers document them); the
/// signing key is generated per run and the other entries reuse its public material or carry unusable members.
@Suite("JWKS as issuers publish them")
struct JWKSetIssuerTests {
    /// A base64 string standing in for a DER certificate: Keybound never reads `x5c`.
    static let certificate = "MIIC" + String(repeating: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", count: 8) + "="
    static let thumbprint = "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"

    /// The generated issuer key's public JWK with `extra` members appended (each `"name":value`), and `kid`.
    static func entry(_ key: SigningKey, kid: String, alg: Bool = true, _ extra: [String] = []) -> String {
        var members = key.publicJWK(includingAlg: alg)
        members.removeLast()  // "}"
        // publicJWK carries the key's own kid; replace it by the one this entry publishes.
        if let range = members.range(of: #","kid":"#) { members = String(members[..<range.lowerBound]) }
        return members + #","kid":"# + JSONTree.quoted(kid) + extra.map { "," + $0 }.joined() + "}"
    }

    /// An RSA entry of the same modulus, for encryption (`use` enc, RSA-OAEP): skipped.
    static func encryptionEntry(_ key: SigningKey, kid: String, alg: String = "RSA-OAEP") -> String {
        var members = key.publicJWK(includingAlg: false)
        members.removeLast()
        if let range = members.range(of: #","kid":"#) { members = String(members[..<range.lowerBound]) }
        return members + #","kid":"\#(kid)","use":"enc","alg":"\#(alg)"}"#
    }

    struct Shape: CustomTestStringConvertible, Sendable {
        let name: String
        /// The set's document, given the issuer's signing key (kid "sign").
        let document: @Sendable (SigningKey) -> String
        /// The reasons of the skipped entries, in document order (key index and reason).
        let skipped: [(Int, String)]
        var testDescription: String { name }
    }

    static let shapes: [Shape] = [
        Shape(
            name: "Keycloak realm: RS256 signing key with its certificate, RSA-OAEP encryption key, HS512 never public",
            document: { key in
                #"{"keys":["#
                    + encryptionEntry(key, kid: "enc") + ","
                    + entry(key, kid: "sign", [#""use":"sig""#, #""x5c":["\#(certificate)"]"#,
                                               #""x5t":"\#(thumbprint)""#, #""x5t#S256":"\#(thumbprint)""#])
                    + "]}"
            },
            skipped: [(0, "use is not sig")]
        ),
        Shape(
            name: "Auth0 tenant: current and next RS256 keys with x5c and x5t",
            document: { key in
                #"{"keys":["#
                    + entry(key, kid: "sign", [#""use":"sig""#, #""x5t":"\#(thumbprint)""#,
                                               #""x5c":["\#(certificate)"]"#]) + ","
                    + entry(key, kid: "next", [#""use":"sig""#, #""x5t":"\#(thumbprint)""#,
                                               #""x5c":["\#(certificate)"]"#])
                    + "]}"
            },
            skipped: []
        ),
        Shape(
            name: "Okta authorization server: RS256 keys, an encryption key and a key for an algorithm not used for JWS",
            document: { key in
                #"{"keys":["#
                    + entry(key, kid: "sign", [#""use":"sig""#]) + ","
                    + encryptionEntry(key, kid: "enc-oaep256", alg: "RSA-OAEP-256") + ","
                    + entry(key, kid: "rsa15", alg: false, [#""alg":"RSA1_5""#])
                    + "]}"
            },
            skipped: [(1, "use is not sig"), (2, "alg is not a supported JWS signature algorithm")]
        ),
        Shape(
            name: "Microsoft Entra: no alg, x5t and x5c, an issuer member per key",
            document: { key in
                #"{"keys":["#
                    + entry(key, kid: "sign", alg: false, [#""use":"sig""#, #""x5t":"\#(thumbprint)""#,
                                                           #""x5c":["\#(certificate)"]"#,
                                                           #""issuer":"https://login.example/tenant/v2.0""#]) + ","
                    + entry(key, kid: "cert-only", alg: false, [#""use":"sig""#, #""x5c":[]"#])
                    + "]}"
            },
            skipped: []
        ),
        Shape(
            name: "Google: two RS256 keys, then curves and key types Keybound does not verify with",
            document: { key in
                #"{"keys":["#
                    + entry(key, kid: "sign", [#""use":"sig""#]) + ","
                    + #"{"kty":"OKP","crv":"X25519","use":"enc","kid":"x25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"},"#
                    + #"{"kty":"OKP","crv":"Ed448","kid":"ed448","x":"X9dEm1m0Yf0s54fLYWrSUq4oN1e8wXdJDcx5b8QbDN6ybyljXrBOC40ZZuEaYJSWQlvS7rAUv50A"},"#
                    + #"{"kty":"EC","crv":"secp256k1","kid":"k1","x":"gRyoP3cfhYpzIiEctf3j2MWq8ftSCU6zJ5Mv7OUGvNA","y":"iACEZtFvTuDKSuwcOb2IwhN4hF09TQ8AuFqh9kMvyL0"},"#
                    + #"{"kty":"RSA","kid":"small","alg":"RS256","e":"AQAB","n":"\#(String(repeating: "w", count: 170))w"},"#
                    + entry(key, kid: "sign-2", [#""use":"sig""#])
                    + "]}"
            },
            skipped: [
                (1, "use is not sig"), (2, "jwk OKP curve is not Ed25519"), (3, "jwk EC curve is not supported"),
                (4, "RSA modulus size is outside the allowed range"),
            ]
        ),
    ]

    @Test("the set loads, reports each skipped entry, and a token signed with its key verifies", arguments: shapes)
    func issuerShape(_ shape: Shape) throws {
        let world = try IssuerWorld()
        let set = try JWKSet(json: shape.document(world.issuerKey), backend: .forTests)
        #expect(set.skippedKeys.map(\.index) == shape.skipped.map(\.0))
        for (skipped, expected) in zip(set.skippedKeys, shape.skipped) {
            #expect(skipped.reason.hasPrefix(expected.1), "\(skipped)")
        }
        #expect(set.keyIDs.contains("sign"))
        let verified = try world.verify(with: set)
        #expect(verified.subject == "user-7")
    }

    @Test("each skipped entry's report names its index, kid and reason")
    func reportText() throws {
        let world = try IssuerWorld()
        let set = try JWKSet(json: Self.shapes[2].document(world.issuerKey), backend: .forTests)
        #expect(set.skipped == [
            #"key 1 (kid "enc-oaep256"): use is not sig"#,
            #"key 2 (kid "rsa15"): alg is not a supported JWS signature algorithm"#,
        ])
    }

    @Test(
        "the set fails only when it is not a JWK Set, leaks private material, has an ambiguous kid or no usable key",
        arguments: [
            ("not a JWK Set", #"{"key":[]}"#),
            ("keys not an array", #"{"keys":{}}"#),
            ("private key of an unsupported kty", #"{"keys":[SIGN,{"kty":"XYZ","d":"AA"}]}"#),
            ("a symmetric key's material", #"{"keys":[SIGN,{"kty":"oct","k":"c2VjcmV0"}]}"#),
            ("private RSA member on an encryption key", #"{"keys":[SIGN,{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB","p":"AA"}]}"#),
            ("two usable keys with one kid", #"{"keys":[SIGN,SIGN]}"#),
            ("no usable key", #"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}"#),
            ("no key at all", #"{"keys":[]}"#),
        ]
    )
    func failsWhole(_ label: String, _ template: String) throws {
        let world = try IssuerWorld()
        let document = template.replacingOccurrences(of: "SIGN", with: Self.entry(world.issuerKey, kid: "sign"))
        #expect(throws: KeyboundError(.invalidJWKS), "\(label)") { try JWKSet(json: document, backend: .forTests) }
    }

    @Test("a duplicate kid on a skipped entry does not make the lookup ambiguous")
    func duplicateKidOfSkippedEntry() throws {
        let world = try IssuerWorld()
        let set = try JWKSet(
            json: #"{"keys":["# + Self.encryptionEntry(world.issuerKey, kid: "sign") + ","
                + Self.entry(world.issuerKey, kid: "sign") + "]}",
            backend: .forTests)
        #expect(set.count == 1)
        #expect(set.skippedKeys == [JWKSet.SkippedKey(index: 0, kid: "sign", reason: "use is not sig")])
        _ = try world.verify(with: set)
    }
}

/// An RS256 issuer (kid "sign") and one ES256 client.
struct IssuerWorld {
    let now: Int64 = 1_700_000_000
    let issuer = "https://issuer.example"
    let audience = "https://api.example.com"
    let url = "https://api.example.com/orders"
    let issuerKey: SigningKey
    let client: SigningKey

    init() throws {
        issuerKey = try IssuerWorld.sharedIssuerKey
        client = try SigningKey.generate(.es256)
    }

    /// One RSA key for every test of the suite (a 2048-bit key takes tens of milliseconds to make).
    static let sharedIssuerKeyResult: Result<SigningKey, KeyboundError> = Result {
        () throws(KeyboundError) -> SigningKey in try SigningKey.generate(.rs256, kid: "sign")
    }
    static var sharedIssuerKey: SigningKey { get throws(KeyboundError) { try sharedIssuerKeyResult.get() } }

    func verify(with set: JWKSet) throws -> VerifiedRequest {
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: issuer, audiences: [audience], keys: set)], backend: .forTests)
        let token = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: issuer, aud: [audience], sub: "user-7", scope: "orders:read",
                              jkt: client.thumbprint, iat: now, exp: now + 600, jti: "t-1", kid: "sign"),
            key: issuerKey)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: now, jti: "p-1", accessToken: token)
        return try verifier.verify(
            DPoPRequest(method: "GET", url: url, authorization: "DPoP \(token)", dpop: [proof]), now: now)
    }
}
