//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import KeyboundTestSupport
import Testing

/// A fixed clock: no test reads the wall clock.
private let now: Int64 = 1_760_000_000
private let issuerName = "https://issuer.example"
private let audience = "https://api.example"

/// One key per algorithm, made once (RSA generation is the slow part).
private let keys: [String: SigningKey] = {
    var made: [String: SigningKey] = [:]
    for alg in JWSAlgorithm.allSupported {
        made[alg.rawValue] = try? SigningKey.generate(alg, kid: "k-\(alg.rawValue)")
    }
    return made
}()

private func key(_ alg: JWSAlgorithm) throws -> SigningKey {
    try #require(keys[alg.rawValue], "no key for \(alg)")
}

private func verifier(issuerKey: SigningKey) throws -> Verifier {
    let jwks = "{\"keys\":[" + issuerKey.publicJWK(includingAlg: true) + "]}"
    return try Verifier(
        issuers: [TrustedIssuer(identifier: issuerName, audiences: [audience], keys: JWKSet(json: jwks))]
    )
}

private func claims(jkt: String?, kid: String?, sub: String = "alice", jti: String = "token-1") -> AccessTokenClaims {
    AccessTokenClaims(
        iss: issuerName, aud: [audience], sub: sub, clientID: "client-7", scope: "read write", jkt: jkt,
        iat: now - 10, exp: now + 300, jti: jti, kid: kid
    )
}

/// The end-to-end scenario of `alg`: an issuer key and a client key, a verifier that trusts the issuer, and an
/// access token from the issuer bound to the client key (sub `alice`, jti `token-1`).
private func boundToken(_ alg: JWSAlgorithm) throws -> (client: SigningKey, verifier: Verifier, token: String) {
    let issuer = try key(alg)
    let client = try key(alg)
    let token = try DPoPBuilder.accessToken(claims(jkt: client.thumbprint, kid: issuer.kid), key: issuer)
    return (client, try verifier(issuerKey: issuer), token)
}

@Suite("Signing: keys, JWKs, JWS")
struct SigningKeyTests {
    @Test("generate → private JWK round trip → same key", arguments: JWSAlgorithm.allSupported)
    func privateJWKRoundTrip(_ alg: JWSAlgorithm) throws {
        let original = try key(alg)
        #expect(original.algorithm == alg)
        let again = try SigningKey(privateJWK: original.privateJWK)
        #expect(again.algorithm == alg)
        #expect(again.kid == "k-\(alg.rawValue)")
        #expect(again.privateJWK == original.privateJWK)
        #expect(again.publicJWK == original.publicJWK)
        #expect(again.thumbprint == original.thumbprint)
        // The private JWK parses as JSON and carries alg.
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(original.privateJWK.utf8)) as? [String: Any]
        )
        #expect(object["alg"] as? String == alg.rawValue)
        #expect(object["d"] is String)
    }

    @Test("thumbprint equals Thumbprint.jkt(ofJWK: publicJWK)", arguments: JWSAlgorithm.allSupported)
    func thumbprint(_ alg: JWSAlgorithm) throws {
        let k = try key(alg)
        #expect(k.thumbprint == (try Thumbprint.jkt(ofJWK: k.publicJWK)))
        #expect(k.thumbprint == (try Thumbprint.jkt(ofJWK: k.publicJWK(includingAlg: true))))
        #expect(k.thumbprint.utf8.count == 43)
    }

    @Test("the public JWK has no private member", arguments: JWSAlgorithm.allSupported)
    func publicJWKIsPublic(_ alg: JWSAlgorithm) throws {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(try key(alg).publicJWK.utf8)) as? [String: Any]
        )
        for name in ["d", "p", "q", "dp", "dq", "qi", "alg"] { #expect(object[name] == nil, "\(name) present") }
        #expect((try key(alg).publicJWK(includingAlg: true)).contains("\"alg\":\"\(alg.rawValue)\""))
    }

    @Test("signature lengths are the JWS ones")
    func signatureLengths() throws {
        let expected: [JWSAlgorithm: Int] = [
            .es256: 64, .es384: 96, .es512: 132, .rs256: 256, .rs384: 256, .rs512: 256, .ps256: 256, .ps384: 256,
            .ps512: 256, .edDSA: 64, .ed25519: 64,
        ]
        for alg in JWSAlgorithm.allSupported {
            #expect(try key(alg).sign(Array("abc".utf8)).count == expected[alg], "\(alg)")
            #expect(try key(alg).sign([]).count == expected[alg], "\(alg) empty input")
        }
    }

    @Test("a 3072-bit RSA key verifies end to end")
    func rsa3072() throws {
        let issuer = try SigningKey.generate(.rs384, rsaBits: 3072)
        let client = try SigningKey.generate(.ps256, rsaBits: 3072)
        #expect(try issuer.sign([1, 2, 3]).count == 384)
        let token = try DPoPBuilder.accessToken(claims(jkt: client.thumbprint, kid: nil), key: issuer)
        let proof = try DPoPBuilder.proof(
            key: client, method: "GET", url: "https://api.example/r", iat: now, jti: "j", accessToken: token
        )
        let verified = try verifier(issuerKey: issuer).verify(
            DPoPRequest(method: "GET", url: "https://api.example/r", authorization: "DPoP " + token, dpop: [proof]),
            now: now
        )
        #expect(verified.jkt == client.thumbprint)
    }

    @Test("RSA sizes outside 2048...8192 are refused")
    func rsaSizes() {
        #expect(throws: KeyboundError(.invalidConfiguration)) { try SigningKey.generate(.rs256, rsaBits: 1024) }
        #expect(throws: KeyboundError(.invalidConfiguration)) { try SigningKey.generate(.rs256, rsaBits: 2049) }
        #expect(throws: KeyboundError(.invalidConfiguration)) { try SigningKey.generate(.ps256, rsaBits: 16384) }
    }

    @Test("the algorithm comes from the JWK, the parameter, or the key type")
    func algorithmChoice() throws {
        let ec = try key(.es384)
        var members = try #require(
            try JSONSerialization.jsonObject(with: Data(ec.privateJWK.utf8)) as? [String: Any]
        )
        members["alg"] = nil
        let withoutAlg = String(decoding: try JSONSerialization.data(withJSONObject: members), as: UTF8.self)
        #expect(try SigningKey(privateJWK: withoutAlg).algorithm == .es384)
        #expect(try SigningKey(privateJWK: withoutAlg, algorithm: .es384).algorithm == .es384)
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try SigningKey(privateJWK: withoutAlg, algorithm: .es256)
        }
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try SigningKey(privateJWK: ec.privateJWK, algorithm: .es512)
        }

        let ed = try key(.ed25519)
        #expect(try SigningKey(privateJWK: ed.privateJWK).algorithm == .ed25519)
        #expect(
            try SigningKey(privateJWK: ed.privateJWK.replacingOccurrences(of: "\"alg\":\"Ed25519\",", with: ""))
                .algorithm == .edDSA)

        let rsa = try key(.rs256)
        let rsaWithoutAlg = rsa.privateJWK.replacingOccurrences(of: "\"alg\":\"RS256\",", with: "")
        #expect(throws: KeyboundError(.invalidConfiguration)) { try SigningKey(privateJWK: rsaWithoutAlg) }
        #expect(try SigningKey(privateJWK: rsaWithoutAlg, algorithm: .ps512).algorithm == .ps512)
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try SigningKey(privateJWK: rsa.privateJWK, algorithm: .es256)
        }
    }

    @Test("bad private JWKs are refused with invalid_configuration")
    func badPrivateJWKs() throws {
        let ec = try key(.es256)
        let other = try SigningKey.generate(.es256)
        let ed = try key(.edDSA)
        let otherEd = try SigningKey.generate(.edDSA)
        let rsa = try key(.rs256)
        func replacing(_ jwk: String, _ name: String, with value: String?) throws -> String {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(jwk.utf8)) as? [String: Any])
            object[name] = value
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        func value(_ jwk: String, _ name: String) throws -> String {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(jwk.utf8)) as? [String: Any])
            return try #require(object[name] as? String)
        }
        let bad: [(String, String)] = [
            ("public only", ec.publicJWK),
            ("no d", try replacing(ec.privateJWK, "d", with: nil)),
            ("d of another key", try replacing(ec.privateJWK, "d", with: try value(other.privateJWK, "d"))),
            ("x of another key", try replacing(ec.privateJWK, "x", with: try value(other.privateJWK, "x"))),
            ("short d", try replacing(ec.privateJWK, "d", with: "AQAB")),
            ("padded d", try replacing(ec.privateJWK, "d", with: try value(ec.privateJWK, "d") + "=")),
            ("unknown crv", try replacing(ec.privateJWK, "crv", with: "P-192")),
            ("unknown kty", try replacing(ec.privateJWK, "kty", with: "oct")),
            ("no kty", try replacing(ec.privateJWK, "kty", with: nil)),
            ("unknown alg", try replacing(ec.privateJWK, "alg", with: "HS256")),
            ("alg none", try replacing(ec.privateJWK, "alg", with: "none")),
            ("Ed25519 d of another key", try replacing(ed.privateJWK, "d", with: try value(otherEd.privateJWK, "d"))),
            ("Ed25519 as X25519", try replacing(ed.privateJWK, "crv", with: "X25519")),
            ("RSA without qi", try replacing(rsa.privateJWK, "qi", with: nil)),
            ("RSA wrong d", try replacing(rsa.privateJWK, "d", with: try value(rsa.privateJWK, "dp"))),
            ("RSA with oth", try replacing(rsa.privateJWK, "oth", with: "x")),
            ("not JSON", "kty=EC"),
            ("array", "[]"),
            ("trailing bytes", ec.privateJWK + "x"),
            ("duplicate member", ec.privateJWK.replacingOccurrences(of: "{", with: "{\"kty\":\"EC\",")),
            ("non-string member", ec.privateJWK.replacingOccurrences(of: "\"kty\":\"EC\"", with: "\"kty\":1")),
            ("lone surrogate", ec.privateJWK.replacingOccurrences(of: "{", with: "{\"z\":\"\\ud800\",")),
            ("too deep", String(repeating: "{\"a\":", count: 20) + "1" + String(repeating: "}", count: 20)),
            ("empty", ""),
        ]
        for (name, jwk) in bad {
            #expect(throws: KeyboundError(.invalidConfiguration), "\(name)") { try SigningKey(privateJWK: jwk) }
        }
        // Extra members of any JSON type are ignored.
        let extra = ec.privateJWK.replacingOccurrences(
            of: "{", with: "{\"key_ops\":[\"sign\"],\"ext\":true,\"n\":null,\"x5c\":[{\"a\":[1.5e3,-0]}],"
        )
        #expect(try SigningKey(privateJWK: extra).thumbprint == ec.thumbprint)
    }

    @Test("ECDSA and PSS signatures are randomised; PKCS#1 and Ed25519 are deterministic")
    func randomisation() throws {
        let input = Array("signing input".utf8)
        for alg in [JWSAlgorithm.es256, .ps256] { #expect(try key(alg).sign(input) != key(alg).sign(input)) }
        for alg in [JWSAlgorithm.rs256, .edDSA] { #expect(try key(alg).sign(input) == key(alg).sign(input)) }
    }

    @Test("keys sign concurrently")
    func concurrentSigning() async throws {
        let k = try key(.es256)
        let issuer = try key(.es256)
        let v = try verifier(issuerKey: issuer)
        let token = try DPoPBuilder.accessToken(claims(jkt: k.thumbprint, kid: issuer.kid), key: issuer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for n in 0..<50 {
                        let proof = try DPoPBuilder.proof(
                            key: k, method: "GET", url: "https://api.example/x", iat: now, jti: "c-\(task)-\(n)",
                            accessToken: token
                        )
                        _ = try v.verify(
                            DPoPRequest(
                                method: "GET", url: "https://api.example/x", authorization: "DPoP " + token,
                                dpop: [proof]),
                            now: now
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(v.metrics.verified == 200)
    }
}

@Suite("Signing: DPoP proofs and access tokens verify end to end")
struct DPoPBuilderTests {
    @Test("resource mode: token + proof verify", arguments: JWSAlgorithm.allSupported)
    func resource(_ alg: JWSAlgorithm) throws {
        let (client, v, token) = try boundToken(alg)
        let url = "https://api.example/orders/7?x=1#frag"
        let proof = try DPoPBuilder.proof(
            key: client, method: "POST", url: url, iat: now, jti: "p-\(alg)", accessToken: token
        )
        let request = DPoPRequest(method: "POST", url: url, authorization: "DPoP " + token, dpop: [proof])
        let verified = try v.verify(request, now: now)
        #expect(verified.jkt == client.thumbprint)
        #expect(verified.subject == "alice")
        #expect(verified.clientID == "client-7")
        #expect(verified.scope == "read write")
        #expect(verified.tokenJTI == "token-1")
        #expect(verified.expiresAt == Double(now + 300))
        #expect(verified.proofJTI == "p-\(alg)")
        #expect(throws: KeyboundError(.proofReplayed)) { try v.verify(request, now: now) }
    }

    @Test("token-endpoint mode: a proof alone verifies", arguments: JWSAlgorithm.allSupported)
    func tokenEndpoint(_ alg: JWSAlgorithm) throws {
        let client = try key(alg)
        let v = try verifier(issuerKey: try key(.es256))
        let proof = try DPoPBuilder.proof(
            key: client, method: "POST", url: "https://issuer.example/token", iat: now,
            jti: "te-\(alg)")
        let request = DPoPRequest(
            method: "POST", url: "https://issuer.example/token", authorization: nil,
            dpop: [proof])
        let verified = try v.verify(request, mode: .tokenEndpoint, now: now)
        #expect(verified.jkt == client.thumbprint)
        #expect(verified.subject == nil)
    }

    @Test("one-byte changes to a signature or a payload are refused", arguments: JWSAlgorithm.allSupported)
    func oneByteChanges(_ alg: JWSAlgorithm) throws {
        let (client, v, token) = try boundToken(alg)
        let url = "https://api.example/r"
        func proof(_ jti: String, _ t: String = token) throws -> String {
            try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: now, jti: jti, accessToken: t)
        }
        func verify(_ token: String, _ proof: String) throws {
            _ = try v.verify(
                DPoPRequest(method: "GET", url: url, authorization: "DPoP " + token, dpop: [proof]),
                now: now)
        }
        for index in [0, 17, 31] {
            // Proof signature and proof payload (the jti byte changes, the signature no longer covers it).
            #expect(throws: KeyboundError(.proofSignature)) {
                try verify(token, try flipByte(ofSegment: 2, in: try proof("a\(index)"), at: index))
            }
            // Byte 8 of the payload is the jti's first letter: `c` becomes `b`, still valid JSON.
            #expect(throws: KeyboundError(.proofSignature)) {
                try verify(token, try flipByte(ofSegment: 1, in: try proof("c\(index)"), at: 8, mask: 0x01))
            }
            // Token signature and token payload: the proof is made for the changed token, so only the token fails.
            let badSignature = try flipByte(ofSegment: 2, in: token, at: index)
            #expect(throws: KeyboundError(.tokenSignature)) {
                try verify(badSignature, try proof("d\(index)", badSignature))
            }
        }
        // A payload byte inside the sub claim's value: still valid JSON, so the signature check is what refuses it.
        let tampered = try tamperSub(token)
        #expect(throws: KeyboundError(.tokenSignature)) { try verify(tampered, try proof("e", tampered)) }
        // The untouched pair still verifies.
        try verify(token, try proof("ok"))
    }

    /// Changes the first letter of `"sub":"alice"` to `b` inside the token's payload.
    private func tamperSub(_ token: String) throws -> String {
        var parts = token.split(separator: ".").map(String.init)
        var payload = try #require(base64URLDecode(parts[1]))
        let needle = Array("\"sub\":\"a".utf8)
        let start = try #require(
            (0...(payload.count - needle.count)).first { Array(payload[$0..<($0 + needle.count)]) == needle }
        )
        payload[start + needle.count - 1] = UInt8(ascii: "b")
        parts[1] = base64URLEncode(payload)
        return parts.joined(separator: ".")
    }

    @Test("claims with characters that need escaping round trip")
    func escaping() throws {
        let issuer = try key(.es256)
        let client = try key(.edDSA)
        let v = try verifier(issuerKey: issuer)
        let sub = "a\"b\\c\n\t\u{1}é😀/"
        let token = try DPoPBuilder.accessToken(claims(jkt: client.thumbprint, kid: issuer.kid, sub: sub), key: issuer)
        let jti = "j\"\\\u{7f}\u{1f}"
        let proof = try DPoPBuilder.proof(
            key: client, method: "GET", url: "https://api.example/", iat: now, jti: jti,
            accessToken: token, nonce: "n\"1")
        let verified = try v.verify(
            DPoPRequest(method: "GET", url: "https://api.example/", authorization: "DPoP " + token, dpop: [proof]),
            now: now
        )
        #expect(verified.subject == sub)
        #expect(verified.proofJTI == jti)
    }

    @Test("htu drops the query and the fragment")
    func htu() {
        #expect(DPoPBuilder.htu(of: "https://a.example/p?q=1#f") == "https://a.example/p")
        #expect(DPoPBuilder.htu(of: "https://a.example/p#f?q") == "https://a.example/p")
        #expect(DPoPBuilder.htu(of: "https://a.example/p") == "https://a.example/p")
        let payload = DPoPBuilder.proofPayload(method: "GET", url: "https://a.example/p?q", iat: 5, jti: "j")
        #expect(payload == "{\"jti\":\"j\",\"htm\":\"GET\",\"htu\":\"https://a.example/p\",\"iat\":5}")
    }

    @Test("the proof header carries typ, alg and the public JWK")
    func proofHeader() throws {
        let k = try key(.es256)
        #expect(DPoPBuilder.proofHeader(key: k) == "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":\(k.publicJWK)}")
    }

    @Test("JWS.compact signs the exact texts")
    func compact() throws {
        let k = try key(.es256)
        let jws = try JWS.compact(headerJSON: "{\"alg\":\"ES256\"}", payloadJSON: " {} ", key: k)
        let parts = jws.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        #expect(base64URLDecode(parts[0]) == Array("{\"alg\":\"ES256\"}".utf8))
        #expect(base64URLDecode(parts[1]) == Array(" {} ".utf8))
        #expect(base64URLDecode(parts[2])?.count == 64)
    }

    @Test("token options: several audiences, nbf, no typ, extra claims")
    func tokenOptions() throws {
        let issuer = try key(.ps384)
        let client = try key(.es512)
        let v = try verifier(issuerKey: issuer)
        var c = claims(jkt: client.thumbprint, kid: issuer.kid)
        c.aud = ["https://other.example", audience]
        c.nbf = now - 1
        c.extraClaims = [.init(name: "roles", json: "[\"admin\"]")]
        let token = try DPoPBuilder.accessToken(c, key: issuer, typ: nil)
        let proof = try DPoPBuilder.proof(
            key: client, method: "GET", url: "https://api.example/", iat: now, jti: "o",
            accessToken: token)
        let verified = try v.verify(
            DPoPRequest(method: "GET", url: "https://api.example/", authorization: "DPoP " + token, dpop: [proof]),
            now: now
        )
        #expect(verified.claim("roles") == "[\"admin\"]")
        // Without cnf the token is not bound.
        let unbound = try DPoPBuilder.accessToken(claims(jkt: nil, kid: issuer.kid), key: issuer)
        let proof2 = try DPoPBuilder.proof(
            key: client, method: "GET", url: "https://api.example/", iat: now, jti: "u",
            accessToken: unbound)
        #expect(throws: KeyboundError(.tokenBinding)) {
            try v.verify(
                DPoPRequest(
                    method: "GET", url: "https://api.example/", authorization: "DPoP " + unbound, dpop: [proof2]),
                now: now
            )
        }
    }
}
