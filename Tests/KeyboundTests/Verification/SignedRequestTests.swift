//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// A small issuer, API and clients built in-process with KeyboundSigning, for checks that need fresh proofs.
struct SignedWorld {
    let now: Int64 = 1_700_000_000
    let issuerKey: SigningKey
    let issuer = "https://issuer.example"
    let audience = "https://api.example.com"
    let url = "https://api.example.com/orders?page=2"

    init() throws(KeyboundError) {
        issuerKey = try SigningKey.generate(.es256, kid: "k1")
    }

    var jwks: JWKSet { get throws(KeyboundError) { try JWKSet(json: #"{"keys":["# + issuerKey.publicJWK(includingAlg: true) + "]}", backend: .forTests) } }

    func verifier(_ configure: (inout VerifierPolicy) -> Void = { _ in }) throws(KeyboundError) -> Verifier {
        var policy = VerifierPolicy()
        configure(&policy)
        return try Verifier(issuers: [TrustedIssuer(identifier: issuer, audiences: [audience], keys: try jwks)],
                            policy: policy, backend: .forTests)
    }

    func token(for client: SigningKey, jti: String = "t-1", exp: Int64? = nil) throws(KeyboundError) -> String {
        try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: issuer, aud: [audience], sub: "user-7", scope: "orders:read", jkt: client.thumbprint,
                              iat: now, exp: exp ?? now + 600, jti: jti, kid: "k1"),
            key: issuerKey)
    }

    /// A world and a new ES256 client, the state of the suites about one client's requests.
    static func withClient() throws(KeyboundError) -> (SignedWorld, SigningKey) {
        (try SignedWorld(), try SigningKey.generate(.es256))
    }

    /// A new ES256 client and an access token bound to it.
    func newClient() throws(KeyboundError) -> (key: SigningKey, token: String) {
        let client = try SigningKey.generate(.es256)
        return (client, try token(for: client))
    }

    /// A verifier with default policy that has accepted one request (proof `jti`) of a new client, and that client.
    func verifierAfterOneRequest(jti: String) throws(KeyboundError)
        -> (verifier: Verifier, client: SigningKey, token: String)
    {
        let verifier = try verifier()
        let (client, token) = try newClient()
        _ = try verifier.verify(try request(client: client, token: token, jti: jti), now: now)
        return (verifier, client, token)
    }

    func request(client: SigningKey, token: String, jti: String, iat: Int64? = nil, nonce: String? = nil)
        throws(KeyboundError) -> DPoPRequest
    {
        let proof = try DPoPBuilder.proof(key: client, method: "POST", url: url, iat: iat ?? now, jti: jti,
                                          accessToken: token, nonce: nonce)
        return DPoPRequest(method: "POST", url: url, authorization: "DPoP \(token)", dpop: [proof])
    }
}

@Suite("Signed requests")
struct SignedRequestTests {
    @Test("the world is consistent: a fresh request verifies")
    func baseline() throws {
        let world = try SignedWorld()
        let client = try SigningKey.generate(.es256)
        let verified = try world.verifier().verify(
            try world.request(client: client, token: try world.token(for: client), jti: "p-1"), now: world.now)
        #expect(verified.jkt == client.thumbprint)
        #expect(verified.scope == "orders:read")
    }

    @Test("a cached token presented with a proof from another key is refused (311), stolen-token scenario")
    func cachedTokenOtherKey() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let owner = try SigningKey.generate(.es256)
        let thief = try SigningKey.generate(.es256)
        let token = try world.token(for: owner)
        _ = try verifier.verify(try world.request(client: owner, token: token, jti: "p-1"), now: world.now)
        #expect(verifier.metrics.tokenCacheMisses == 1)
        #expect(throws: KeyboundError(.tokenBinding)) {
            try verifier.verify(try world.request(client: thief, token: token, jti: "p-2"), now: world.now)
        }
        #expect(verifier.metrics.tokenCacheHits == 1)  // the refusal came from the cached entry's binding
    }

    /// docs/design.md "Token cache key": the exact bytes of a cached token skip the token68 scan and the split,
    /// which they passed before; bytes that differ in any way miss and get both, with the codes of checks 1 and 2.
    @Test("a cached token's exact bytes skip the token68 and split checks; other bytes get them (104, 301)")
    func cachedTokenSkipsOnlyForItsOwnBytes() throws {
        let world = try SignedWorld()
        let (verifier, client, token) = try world.verifierAfterOneRequest(jti: "p-1")
        #expect(verifier.metrics.tokenCacheMisses == 1)
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "p-2"), now: world.now)
        #expect(verifier.metrics.tokenCacheHits == 1)
        for (suffix, code) in [("!", KeyboundError.Code.malformedAuthorization), (" ", .malformedAuthorization),
                               ("=x", .malformedAuthorization), (".x", .tokenMalformed)] {
            #expect(throws: KeyboundError(code), "\(suffix)") {
                try verifier.verify(try world.request(client: client, token: token + suffix, jti: "p-3" + suffix),
                                    now: world.now)
            }
        }
        #expect(verifier.metrics.tokenCacheHits == 1)
        #expect(verifier.metrics.tokenCacheMisses == 5)
        // A stale entry (the issuer's keys replaced) is verified again in full from the same bytes, split here.
        try verifier.replaceKeys(forIssuer: world.issuer, with: try world.jwks)
        let verified = try verifier.verify(try world.request(client: client, token: token, jti: "p-4"), now: world.now)
        #expect(verified.jkt == client.thumbprint)
        #expect(verifier.metrics.tokenCacheHits == 2)
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "p-5"), now: world.now)
        #expect(verifier.metrics.tokenCacheHits == 3)
    }

    @Test("the same jti spelled with an escape is the same jti: a replay (SECURITY.md C5e)")
    func escapedJTIIsReplay() throws {
        let world = try SignedWorld()
        let (verifier, client, token) = try world.verifierAfterOneRequest(jti: "abc")
        // Build a proof whose payload spells the jti as "\u0061bc".
        let payload = DPoPBuilder.proofPayload(method: "POST", url: world.url, iat: world.now, jti: "abc",
                                               accessToken: token)
            .replacingOccurrences(of: #""jti":"abc""#, with: #""jti":"\u0061bc""#)
        #expect(payload.contains(#"\u0061bc"#))
        let proof = try JWS.compact(headerJSON: DPoPBuilder.proofHeader(key: client), payloadJSON: payload, key: client)
        let request = DPoPRequest(method: "POST", url: world.url, authorization: "DPoP \(token)", dpop: [proof])
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(request, now: world.now) }
    }

    @Test("member names spelt with escapes are read after unescaping, in every header and payload, in any order")
    func escapedMemberNames() throws {
        let world = try SignedWorld()
        let client = try SigningKey.generate(.es256)
        // The token: escaped names in its header (typ, alg, kid) and payload (iss, sub, scope, cnf, exp).
        let tokenHeader = #"{"\u0074yp":"at+jwt","kid":"k1","\u0061lg":"ES256"}"#
        let claims = AccessTokenClaims(iss: world.issuer, aud: [world.audience], sub: "user-7", scope: "orders:read",
                                       jkt: client.thumbprint, iat: world.now, exp: world.now + 600, jti: "t-9",
                                       kid: "k1").json
        let escapedClaims = claims.replacingOccurrences(of: #""iss":"#, with: #""\u0069ss":"#)
            .replacingOccurrences(of: #""sub":"#, with: #""s\u0075b":"#)
            .replacingOccurrences(of: #""scope":"#, with: #""sc\u006fpe":"#)
            .replacingOccurrences(of: #""cnf":"#, with: #""\u0063nf":"#)
            .replacingOccurrences(of: #""exp":"#, with: #""ex\u0070":"#)
        #expect(escapedClaims.components(separatedBy: "\\u00").count == 6)
        let token = try JWS.compact(headerJSON: tokenHeader, payloadJSON: escapedClaims, key: world.issuerKey)
        // The proof: its header members in reverse order with escapes, its claims reordered with escapes.
        let proofHeader = #"{"j\u0077k":"# + client.publicJWK + #","\u0061lg":"ES256","typ":"dpop\u002bjwt"}"#
        let payload = #"{"\u0069at":\#(world.now),"ath":"\#(Thumbprint.accessTokenHash(token))","#
            + #""ht\u0075":"\#(DPoPBuilder.htu(of: world.url))","\u0068tm":"POST","\u006ati":"p-1"}"#
        let proof = try JWS.compact(headerJSON: proofHeader, payloadJSON: payload, key: client)
        let request = DPoPRequest(method: "POST", url: world.url, authorization: "DPoP \(token)", dpop: [proof])
        let verified = try world.verifier().verify(request, now: world.now)
        #expect(verified.jkt == client.thumbprint)
        #expect(verified.subject == "user-7")
        #expect(verified.scope == "orders:read")
        #expect(verified.proofJTI == "p-1")

        // An escaped `crit` is still a `crit`: refused in the proof header and in the token header.
        let critProof = try JWS.compact(
            headerJSON: #"{"typ":"dpop+jwt","alg":"ES256","\u0063rit":["x"],"x":1,"jwk":"# + client.publicJWK + "}",
            payloadJSON: payload.replacingOccurrences(of: "p-1", with: "p-2"), key: client)
        #expect(throws: KeyboundError(.proofCrit)) {
            try world.verifier().verify(
                DPoPRequest(method: "POST", url: world.url, authorization: "DPoP \(token)", dpop: [critProof]),
                now: world.now)
        }
        let critHeader = #"{"typ":"at+jwt","kid":"k1","alg":"ES256","cr\u0069t":["x"],"x":1}"#
        let critToken = try JWS.compact(headerJSON: critHeader, payloadJSON: claims, key: world.issuerKey)
        #expect(throws: KeyboundError(.tokenMalformed)) {
            try world.verifier().verify(try world.request(client: client, token: critToken, jti: "p-3"), now: world.now)
        }
    }

    @Test("nonces end to end: missing → 220 with a fresh nonce, retried → accepted, stale → 221 with a fresh one")
    func nonces() throws {
        let world = try SignedWorld()
        let issuer = try NonceIssuer(secrets: [[UInt8](repeating: 7, count: 32)], boundToKey: true, backend: .forTests)
        let verifier = try world.verifier { $0.nonces = issuer }
        let client = try SigningKey.generate(.es256)
        let token = try world.token(for: client)
        var fresh: String? = nil
        do {
            _ = try verifier.verify(try world.request(client: client, token: token, jti: "p-1"), now: world.now)
            Issue.record("a proof without a nonce was accepted")
        } catch {
            #expect(error.code == .nonceRequired)
            #expect(error.code.rfcError == "use_dpop_nonce")
            #expect(verifier.wwwAuthenticate(for: error)
                == #"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#)
            fresh = error.dpopNonce
        }
        let nonce = try #require(fresh)
        let verified = try verifier.verify(try world.request(client: client, token: token, jti: "p-2", nonce: nonce),
                                           now: world.now)
        #expect(verified.dpopNonce != nil)
        // The same nonce two windows later is stale; another key cannot use this key's nonce.
        do {
            _ = try verifier.verify(
                try world.request(client: client, token: token, jti: "p-3", iat: world.now + 600, nonce: nonce),
                now: world.now + 600)
            Issue.record("a stale nonce was accepted")
        } catch {
            #expect(error.code == .nonceInvalid)
            #expect(error.dpopNonce != nil && error.dpopNonce != nonce)
        }
        let other = try SigningKey.generate(.es256)
        #expect(throws: KeyboundError(.nonceInvalid)) {
            try verifier.verify(try world.request(client: other, token: try world.token(for: other), jti: "p-4",
                                                  nonce: nonce), now: world.now)
        }
    }

    @Test("the replay cache at capacity refuses (500) and accepts again once the earlier proofs' window has passed")
    func cacheRecovers() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.replayCacheCapacity = 4 }
        let client = try SigningKey.generate(.es256)
        let token = try world.token(for: client, exp: world.now + 3600)
        var accepted = 0
        var full = 0
        for i in 0..<16 {
            do {
                _ = try verifier.verify(try world.request(client: client, token: token, jti: "a-\(i)"), now: world.now)
                accepted += 1
            } catch {
                if error.code == .replayCacheFull { full += 1 }
            }
        }
        #expect(accepted >= 1 && accepted <= 4)
        #expect(accepted + full == 16)
        // After iat + 60 + 5 the entries have expired: new proofs are accepted again.
        let later = world.now + 66
        #expect(throws: Never.self) {
            try verifier.verify(try world.request(client: client, token: token, jti: "b-1", iat: later), now: later)
        }
    }

    @Test("a cached token is refused once its jkt is revoked, whatever the proof")
    func revokedKeyWithCachedToken() throws {
        let world = try SignedWorld()
        let (verifier, client, token) = try world.verifierAfterOneRequest(jti: "p-1")
        try verifier.revokeKey(jkt: client.thumbprint, until: world.now + 3600, now: world.now)
        #expect(throws: KeyboundError(.keyRevoked)) {
            try verifier.verify(try world.request(client: client, token: token, jti: "p-2"), now: world.now)
        }
    }
}
