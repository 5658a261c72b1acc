//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// A replay store that answers `.quota` with a known Retry-After, and records the owners it is given.
final class QuotaStore: ReplayStore, @unchecked Sendable {
    let retryAfter: Int64?
    init(retryAfter: Int64?) { self.retryAfter = retryAfter }
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult { .inserted }
    func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        .quota(retryAfter: retryAfter)
    }
}

/// A store written before owners existed: only the owner-less insert.
struct LegacyStore: ReplayStore {
    let cache = ReplayCache(capacity: 64)
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        cache.insert(key, expiresAt: expiresAt, now: now)
    }
}

extension SignedWorld {
    /// A verifier with a 64-entry replay cache and the given per-key share (0: off).
    func shareVerifier(_ share: Int, overrides: [String: Int] = [:]) throws(KeyboundError) -> Verifier {
        try verifier {
            $0.replayCacheCapacity = 64
            $0.replayKeyShare = share
            $0.replayKeyShareOverrides = overrides
        }
    }
}

/// 212 `replay_quota_exceeded` from the verifier (docs/design.md "Per-key replay share", "Status codes").
@Suite("Replay quota (212)")
struct ReplayQuotaVerifierTests {
    @Test("a key flooding its share gets 212 with Retry-After; another key's first proof verifies")
    func floodThenOtherKey() throws {
        let world = try SignedWorld()
        let verifier = try world.shareVerifier(4)
        let (flooder, floodToken) = try world.newClient()
        for i in 0..<4 {
            _ = try verifier.verify(try world.request(client: flooder, token: floodToken, jti: "f-\(i)"), now: world.now)
        }
        for i in 4..<10 {
            let request = try world.request(client: flooder, token: floodToken, jti: "f-\(i)")
            let error = try #require(throws: KeyboundError(.replayQuotaExceeded)) {
                try verifier.verify(request, now: world.now)
            }
            #expect(error.retryAfter == 70, "the proof window: maxAge 60 + 2 × skew 5")
            #expect(error.code.httpStatus == 429)
            #expect(error.code.rfcError == nil)
            #expect(!verifier.wwwAuthenticate(for: error).contains("error="), "no error attribute (RFC 6750 §3.1)")
        }
        // A replay of an accepted proof is still 211.
        let replay = try world.request(client: flooder, token: floodToken, jti: "f-0")
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(replay, now: world.now) }
        let (other, otherToken) = try world.newClient()
        let verified = try verifier.verify(try world.request(client: other, token: otherToken, jti: "o-0"), now: world.now)
        #expect(verified.jkt == other.thumbprint)
        #expect(verifier.metrics.refused[.replayQuotaExceeded] == 6)
    }

    @Test("the token endpoint answers 212 too, with HTTP 429")
    func tokenEndpoint() throws {
        let world = try SignedWorld()
        let verifier = try world.shareVerifier(1)
        let client = try SigningKey.generate(.es256)
        let first = try Self.tokenEndpointProof(world, client, jti: "a")
        let second = try Self.tokenEndpointProof(world, client, jti: "b")
        _ = try verifier.verify(first, mode: .tokenEndpoint, now: world.now)
        let error = try #require(throws: KeyboundError(.replayQuotaExceeded)) {
            try verifier.verify(second, mode: .tokenEndpoint, now: world.now)
        }
        #expect(error.code.tokenEndpointHTTPStatus == 429)
        #expect(error.retryAfter == 70)
    }

    @Test("per-key overrides by jkt; 0 turns the share off")
    func overridesAndOff() throws {
        let world = try SignedWorld()
        let (busy, busyToken) = try world.newClient()
        let (plain, plainToken) = try world.newClient()
        let verifier = try world.shareVerifier(2, overrides: [busy.thumbprint: 5])
        let busyAccepted = try Self.accepted(verifier, world, busy, busyToken, prefix: "b")
        let plainAccepted = try Self.accepted(verifier, world, plain, plainToken, prefix: "p")
        #expect(busyAccepted == 5)
        #expect(plainAccepted == 2)

        let off = try world.shareVerifier(0)
        for i in 0..<20 {
            _ = try off.verify(try world.request(client: plain, token: plainToken, jti: "off-\(i)"), now: world.now)
        }
    }

    @Test("the default share is capacity / 8")
    func defaultShare() {
        var policy = VerifierPolicy()
        #expect(policy.effectiveReplayKeyShare == 131_072)
        policy.replayCacheCapacity = 800
        #expect(policy.effectiveReplayKeyShare == 100)
    }

    @Test("invalid shares are configuration errors")
    func invalid() throws {
        let world = try SignedWorld()
        for case_ in 0..<5 {
            var policy = VerifierPolicy()
            policy.replayCacheCapacity = 100
            switch case_ {
            case 0: policy.replayKeyShare = -1
            case 1: policy.replayKeyShare = 101
            case 2: policy.replayKeyShareOverrides = ["": 3]
            case 3: policy.replayKeyShareOverrides = ["abc": -2]
            default: policy.replayKeyShareOverrides = ["abc": 101]
            }
            let configured = policy
            #expect(throws: KeyboundError(.invalidConfiguration), "case \(case_)") {
                try world.verifier { $0 = configured }
            }
        }
    }

    @Test("a host store's .quota becomes 212 with the store's Retry-After, or the window when it has none")
    func hostStore() throws {
        let world = try SignedWorld()
        let (client, token) = try world.newClient()
        for (store, expected) in [(QuotaStore(retryAfter: 17), Int64(17)), (QuotaStore(retryAfter: nil), 70)] {
            let verifier = try Verifier(
                issuers: [TrustedIssuer(identifier: world.issuer, audiences: [world.audience], keys: try world.jwks)],
                replayStore: store, backend: .forTests)
            let error = try #require(throws: KeyboundError(.replayQuotaExceeded)) {
                try verifier.verify(try world.request(client: client, token: token, jti: "q"), now: world.now)
            }
            #expect(error.retryAfter == expected)
        }
    }

    @Test("a store that implements only the owner-less insert keeps working, without a share")
    func legacyStore() throws {
        let world = try SignedWorld()
        let (client, token) = try world.newClient()
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: world.issuer, audiences: [world.audience], keys: try world.jwks)],
            replayStore: LegacyStore(), backend: .forTests)
        let request = try world.request(client: client, token: token, jti: "l")
        _ = try verifier.verify(request, now: world.now)
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(request, now: world.now) }
    }

    @Test("the owner is SHA-256 of the ASCII jkt")
    func ownerDigest() throws {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let owner = try ReplayOwner(jkt: "abc", backend: .forTests)
        #expect(owner.bytes.map { String($0, radix: 16) }.joined().hasPrefix("ba7816bf"))
        #expect(ReplayOwner(bytes: owner.bytes) == owner)
        #expect(ReplayOwner(bytes: [1, 2, 3]) == nil)
    }

    /// A token-endpoint request: a proof and no token.
    static func tokenEndpointProof(_ world: SignedWorld, _ client: SigningKey, jti: String) throws -> DPoPRequest {
        let proof = try DPoPBuilder.proof(key: client, method: "POST", url: world.url, iat: world.now, jti: jti)
        return DPoPRequest(method: "POST", url: world.url, authorization: nil, dpop: [proof])
    }

    /// How many of eight fresh proofs from `key` the verifier accepts; the others must be 212.
    static func accepted(
        _ verifier: Verifier, _ world: SignedWorld, _ key: SigningKey, _ token: String, prefix: String
    ) throws -> Int {
        var count = 0
        for i in 0..<8 {
            let request = try world.request(client: key, token: token, jti: "\(prefix)-\(i)")
            do throws(KeyboundError) {
                _ = try verifier.verify(request, now: world.now)
                count += 1
            } catch {
                guard error.code == .replayQuotaExceeded else { throw error }
            }
        }
        return count
    }
}
