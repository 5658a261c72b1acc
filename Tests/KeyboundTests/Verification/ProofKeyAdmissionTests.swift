//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// A client key enters the proof-key cache only after a whole request with it has verified, in resource or
/// opaque-token mode; keys seen at the token endpoint are never cached (docs/design.md, "Contracts → Defaults").
@Suite("Proof-key cache admission")
struct ProofKeyAdmissionTests {
    /// A proof signed with `key` whose `jwk` carries an extra `kid` member: the same key in distinct bytes.
    static func proof(_ world: SignedWorld, key: SigningKey, kid: String, jti: String, token: String) throws -> String {
        var jwk = key.publicJWK
        jwk.removeLast()
        let header = #"{"typ":"dpop+jwt","alg":"ES256","jwk":"# + jwk + #","kid":"\#(kid)"}}"#
        let payload = DPoPBuilder.proofPayload(method: "POST", url: world.url, iat: world.now, jti: jti, accessToken: token)
        return try JWS.compact(headerJSON: header, payloadJSON: payload, key: key)
    }

    @Test("a flood of unauthenticated requests with distinct JWKs leaves a legitimate client's cached key in place")
    func flood() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.proofKeyCacheSize = 8 }
        let client = try SigningKey.generate(.es256)
        let token = try world.token(for: client)
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "legit-0"), now: world.now)
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "legit-1"), now: world.now)
        #expect(verifier.metrics.proofKeyCacheHits == 1)

        // 2,000 requests from another key, each spelling its JWK differently, each refused (the stolen token is bound
        // to the legitimate client): every one builds its key, none may take a cache slot.
        let attacker = try SigningKey.generate(.es256)
        for i in 0..<2_000 {
            let proof = try Self.proof(world, key: attacker, kid: "flood-\(i)", jti: "f-\(i)", token: token)
            let request = DPoPRequest(method: "POST", url: world.url, authorization: "DPoP \(token)", dpop: [proof])
            #expect(throws: KeyboundError(.tokenBinding)) { try verifier.verify(request, now: world.now) }
        }
        let afterFlood = verifier.metrics
        #expect(afterFlood.proofKeyCacheMisses == 1 + 2_000)
        for i in 2..<12 {
            _ = try verifier.verify(try world.request(client: client, token: token, jti: "legit-\(i)"), now: world.now)
        }
        #expect(verifier.metrics.proofKeyCacheHits == afterFlood.proofKeyCacheHits + 10, "every legitimate request hits")
        #expect(verifier.metrics.proofKeyCacheMisses == afterFlood.proofKeyCacheMisses)
    }

    @Test("keys seen at the token endpoint are never cached; a resource request admits its key once it verifies")
    func tokenEndpoint() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let client = try SigningKey.generate(.es256)
        for jti in ["te-1", "te-2"] {
            let proof = try DPoPBuilder.proof(key: client, method: "POST", url: world.url, iat: world.now, jti: jti)
            let request = DPoPRequest(method: "POST", url: world.url, authorization: nil, dpop: [proof])
            _ = try verifier.verify(request, mode: .tokenEndpoint, now: world.now)
        }
        #expect(verifier.metrics.proofKeyCacheHits == 0)
        #expect(verifier.metrics.proofKeyCacheMisses == 2)
        let token = try world.token(for: client)
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "r-1"), now: world.now)
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "r-2"), now: world.now)
        #expect(verifier.metrics.proofKeyCacheMisses == 3)
        #expect(verifier.metrics.proofKeyCacheHits == 1)
    }

    @Test("a refused request does not admit its key, even when only the replay check refused it")
    func refusedRequestNotAdmitted() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let (client, token) = try world.newClient()
        let first = try world.request(client: client, token: token, jti: "once")
        _ = try verifier.verify(first, now: world.now)  // admitted: miss 1
        // A second verifier whose replay store refuses everything: the request fails at the last step.
        let other = try Verifier(
            issuers: [TrustedIssuer(identifier: world.issuer, audiences: [world.audience], keys: try world.jwks)],
            replayStore: AlwaysFull(), backend: .forTests)
        #expect(throws: KeyboundError(.replayCacheFull)) { try other.verify(first, now: world.now) }
        #expect(throws: KeyboundError(.replayCacheFull)) { try other.verify(first, now: world.now) }
        #expect(other.metrics.proofKeyCacheHits == 0, "refused at the replay insert: never admitted")
        #expect(other.metrics.proofKeyCacheMisses == 2)
    }
}

/// A replay store that is always full.
struct AlwaysFull: ReplayStore {
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult { .full }
}
