//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport
import Synchronization
import Testing

@testable import Keybound

extension RequestScenario {
    /// The valid resource-mode cases (distinct proofs; some share a client key or a token).
    var validResourceCases: [RequestCase] { cases.filter { $0.expectOK && $0.mode == "resource" } }
}

/// A replay store whose answer the test chooses.
final class FixedReplayStore: ReplayStore, AsyncReplayStore, @unchecked Sendable {
    let answer: ReplayInsertResult
    init(_ answer: ReplayInsertResult) { self.answer = answer }
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult { answer }
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) async -> ReplayInsertResult { answer }
}

@Suite("Verifier behaviour")
struct VerifierBehaviourTests {
    let scenario = RequestScenario.shared

    func firstValid() throws -> RequestCase { try #require(scenario.validResourceCases.first) }

    @Test("resource mode: claims of the verified token are exposed, without copying the token")
    func claims() throws {
        let verifier = try scenario.makeVerifier()
        let testCase = try firstValid()
        let verified = try verifier.verify(testCase.request, now: scenario.now)
        #expect(verified.subject == testCase.expectSub)
        #expect(verified.issuer == scenario.issuer)
        #expect(verified.clientID != nil && verified.scope != nil && verified.tokenJTI != nil)
        #expect(verified.expiresAt == Double(scenario.now + 600))
        #expect(verified.claim("iss") == "\"\(scenario.issuer)\"")
        #expect(verified.claim("cnf")?.contains("jkt") == true)
        #expect(verified.claim("nope") == nil)
        #expect(verified.proofJTI?.isEmpty == false)
        #expect(verified.dpopNonce == nil)
    }

    @Test(
        "claims of a verified token are read without parsing the token again",
        .enabled(if: WorkProbe.isRecording, "WorkProbe records in debug builds only"))
    func claimsParsedOnce() throws {
        let verifier = try scenario.makeVerifier()
        let verified = try verifier.verify(try firstValid().request, now: scenario.now)
        let (claims, probe) = withWorkProbe { [verified.claim("iss"), verified.claim("cnf"), verified.claim("nope")] }
        #expect(claims[0] == "\"\(scenario.issuer)\"" && claims[1]?.contains("jkt") == true && claims[2] == nil)
        #expect(probe.count(.jsonParsedBytes) == 0)
        #expect(probe.count(.base64URLDecodedBytes) == 0)
    }

    @Test("header multiplicity: no DPoP value 103, two values 104, no Authorization 100")
    func headers() throws {
        let verifier = try scenario.makeVerifier()
        var request = try firstValid().request
        request.dpop = []
        #expect(throws: KeyboundError(.missingDPoPProof)) { try verifier.verify(request, now: scenario.now) }
        request = try firstValid().request
        request.dpop = request.dpop + request.dpop
        #expect(throws: KeyboundError(.multipleDPoPProofs)) { try verifier.verify(request, now: scenario.now) }
        request = try firstValid().request
        request.authorization = nil
        #expect(throws: KeyboundError(.missingAuthorization)) { try verifier.verify(request, now: scenario.now) }
        request.authorization = "Bearer abc"
        #expect(throws: KeyboundError(.unsupportedScheme)) { try verifier.verify(request, now: scenario.now) }
        request.authorization = "DPoP a b"
        #expect(throws: KeyboundError(.malformedAuthorization)) { try verifier.verify(request, now: scenario.now) }
    }

    @Test("scheme before proof: another scheme without a DPoP header is 101 with a bare challenge (RFC 6750 §3.1)")
    func schemeBeforeProof() throws {
        let verifier = try scenario.makeVerifier()
        var request = try firstValid().request
        request.dpop = []
        for authorization in ["Bearer abc", "Basic dXNlcjpwYXNz", "bearer abc.def.ghi", "Negotiate"] {
            request.authorization = authorization
            do {
                _ = try verifier.verify(request, now: scenario.now)
                Issue.record("\(authorization): accepted")
            } catch {
                #expect(error.code == .unsupportedScheme, "\(authorization)")
                #expect(!verifier.wwwAuthenticate(for: error).contains("error="), "a bare challenge")
            }
        }
        // The DPoP scheme without a DPoP header is still 103; a malformed DPoP value is 102.
        request.authorization = "DPoP abc.def.ghi"
        #expect(throws: KeyboundError(.missingDPoPProof)) { try verifier.verify(request, now: scenario.now) }
        request.authorization = "DPoP a b"
        #expect(throws: KeyboundError(.malformedAuthorization)) { try verifier.verify(request, now: scenario.now) }
        // The token endpoint ignores Authorization: no proof is 103 whatever the scheme.
        request.authorization = "Basic dXNlcjpwYXNz"
        #expect(throws: KeyboundError(.missingDPoPProof)) {
            try verifier.verify(request, mode: .tokenEndpoint, now: scenario.now)
        }
    }

    @Test("replay: the same proof twice is refused (211); a fresh verifier (another instance) accepts it")
    func replay() throws {
        let testCase = try firstValid()
        let verifier = try scenario.makeVerifier()
        _ = try verifier.verify(testCase.request, now: scenario.now)
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(testCase.request, now: scenario.now) }
        #expect(throws: Never.self) { try scenario.makeVerifier().verify(testCase.request, now: scenario.now) }
    }

    @Test("revocation is checked before the token cache is used, and before replay (312, 313)")
    func revocation() throws {
        let testCase = try firstValid()
        let verifier = try scenario.makeVerifier()
        let verified = try verifier.verify(testCase.request, now: scenario.now)  // token now cached
        try verifier.revokeToken(jti: try #require(verified.tokenJTI), until: scenario.now + 600, now: scenario.now)
        #expect(throws: KeyboundError(.tokenRevoked)) { try verifier.verify(testCase.request, now: scenario.now) }
        let other = try scenario.makeVerifier()
        _ = try other.verify(testCase.request, now: scenario.now)
        try other.revokeKey(jkt: try #require(verified.jkt), until: scenario.now + 60, now: scenario.now)
        #expect(throws: KeyboundError(.keyRevoked)) { try other.verify(testCase.request, now: scenario.now) }
        // Token-endpoint mode refuses a logged-out key too; an expired revocation no longer applies.
        let third = try scenario.makeVerifier()
        try third.revokeKey(jkt: try #require(verified.jkt), until: scenario.now - 1, now: scenario.now)
        #expect(throws: Never.self) { try third.verify(testCase.request, now: scenario.now) }
    }

    @Test("a bounded revocation list refuses more entries than its capacity, dropping expired ones first")
    func revocationBound() throws {
        var policy = VerifierPolicy()
        policy.maxRevocations = 2
        let verifier = try scenario.makeVerifier(policy: policy)
        try verifier.revokeToken(jti: "a", until: 10, now: 0)
        try verifier.revokeToken(jti: "b", until: 100, now: 0)
        #expect(throws: KeyboundError(.invalidConfiguration)) { try verifier.revokeToken(jti: "c", until: 100, now: 5) }
        #expect(throws: Never.self) { try verifier.revokeToken(jti: "c", until: 100, now: 11) }  // "a" expired
    }

    @Test("replay store outcomes: full 500, unavailable 501, through sync and async verify")
    func storeOutcomes() async throws {
        let testCase = try firstValid()
        let keys = try JWKSet(json: scenario.jwks, backend: .forTests)
        let issuers = [TrustedIssuer(identifier: scenario.issuer, audiences: [scenario.audience], keys: keys)]
        let full = try Verifier(issuers: issuers, replayStore: FixedReplayStore(.full), backend: .forTests)
        #expect(throws: KeyboundError(.replayCacheFull)) { try full.verify(testCase.request, now: scenario.now) }
        let down = try Verifier(issuers: issuers, replayStore: FixedReplayStore(.unavailable), backend: .forTests)
        #expect(throws: KeyboundError(.replayStoreUnavailable)) { try down.verify(testCase.request, now: scenario.now) }
        let asyncDown = try Verifier(issuers: issuers, asyncReplayStore: FixedReplayStore(.unavailable), backend: .forTests)
        await #expect(throws: KeyboundError(.replayStoreUnavailable)) {
            try await asyncDown.verify(testCase.request, now: scenario.now)
        }
        // A synchronous verify cannot wait on an asynchronous store.
        #expect(throws: KeyboundError(.invalidConfiguration)) { try asyncDown.verify(testCase.request, now: scenario.now) }
        let asyncUp = try Verifier(issuers: issuers, asyncReplayStore: FixedReplayStore(.inserted), backend: .forTests)
        let verified = try await asyncUp.verify(testCase.request, now: scenario.now)
        #expect(verified.subject == testCase.expectSub)
    }

    @Test("the in-process replay cache at capacity refuses new proofs (500) and accepts again after the window")
    func cacheFull() throws {
        var policy = VerifierPolicy()
        policy.replayCacheCapacity = 1
        let verifier = try scenario.makeVerifier(policy: policy)
        let valid = scenario.validResourceCases
        try #require(valid.count >= 2)
        _ = try verifier.verify(valid[0].request, now: scenario.now)
        #expect(throws: KeyboundError(.replayCacheFull)) { try verifier.verify(valid[1].request, now: scenario.now) }
        // The first entry expires at iat + 65; the proofs' iat is `now`, so at now + 66 there is room, but the
        // proof itself is then too old: the window closes for the proof exactly when its entry expires.
        #expect(throws: KeyboundError(.proofIAT)) { try verifier.verify(valid[1].request, now: scenario.now + 66) }
        #expect(verifier.metrics.refusals(.replayCacheFull) == 1)
    }

    @Test("the proof-key cache is keyed by the whole encoded header: a changed alg with the same jwk is checked in full")
    func cachedKeyAlgCheck() throws {
        let testCase = try #require(scenario.validResourceCases.first { $0.name.contains("ES256 proof") })
        let verifier = try scenario.makeVerifier()
        _ = try verifier.verify(testCase.request, now: scenario.now)  // the checked header is now cached
        #expect(verifier.metrics.proofKeyCacheHits == 0 && verifier.metrics.proofKeyCacheMisses == 1)
        // Same JWK bytes, header alg changed to ES384 (the signature no longer matters: the check comes first).
        let parts = testCase.dpop[0].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let header = String(decoding: try #require(Base64URL.decode(parts[0])), as: UTF8.self)
        for replacement in [#""alg":"ES384""#, #""alg":"RS256""#, #""alg":"EdDSA""#] {
            let changed = header.replacingOccurrences(of: #""alg":"ES256""#, with: replacement)
            #expect(changed != header)
            var request = testCase.request
            request.dpop = [Base64URL.encode(Array(changed.utf8)) + "." + parts[1] + "." + parts[2]]
            #expect(throws: KeyboundError(.proofJWK)) { try verifier.verify(request, now: scenario.now) }
        }
        // Each changed header missed the cache (so the jwk was checked against its alg again), and none was admitted.
        #expect(verifier.metrics.proofKeyCacheHits == 0 && verifier.metrics.proofKeyCacheMisses == 4)
        // The original header still hits: its replayed proof gets as far as the replay check.
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(testCase.request, now: scenario.now) }
        #expect(verifier.metrics.proofKeyCacheHits == 1)
    }

    @Test("a cached token is refused after its exp (308), checked at use time with skew")
    func cachedTokenTime() throws {
        let testCase = try firstValid()
        // A long proof max age, so that only the token's exp (now + 600) can fail later on.
        var policy = VerifierPolicy()
        policy.proofMaxAgeSeconds = 86_400
        let verifier = try scenario.makeVerifier(policy: policy)
        _ = try verifier.verify(testCase.request, now: scenario.now)  // verified and cached
        #expect(verifier.tokens.count == 1)
        // The token check (5) runs before the replay check (7), so the same request shows the token's state.
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(testCase.request, now: scenario.now + 604) }
        #expect(throws: KeyboundError(.tokenExpired)) { try verifier.verify(testCase.request, now: scenario.now + 605) }
    }

    @Test("the key-miss hook fires for an unknown kid, at most once per interval per issuer")
    func keyMiss() throws {
        let missCase = try #require(scenario.cases.first { $0.expectCode == 303 && $0.name.contains("unknown") })
        let calls = Locked<[KeyMiss]>([])
        let keys = try JWKSet(json: scenario.jwks, backend: .forTests)
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: scenario.issuer, audiences: [scenario.audience], keys: keys)],
            onKeyMiss: { miss in calls.withLock { $0.append(miss) } }, backend: .forTests
        )
        for offset: Int64 in [0, 1, 29] {
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try verifier.verify(missCase.request, now: scenario.now + offset) }
        }
        #expect(calls.withLock { $0.count } == 1)
        #expect(calls.withLock { $0.first?.issuer } == scenario.issuer)
        #expect(throws: KeyboundError(.tokenKidUnknown)) { try verifier.verify(missCase.request, now: scenario.now + 30) }
        #expect(calls.withLock { $0.count } == 2)
    }

    @Test("metrics count outcomes per code and cache hit rates")
    func metrics() throws {
        let verifier = try scenario.makeVerifier()
        let valid = scenario.validResourceCases
        for testCase in valid { _ = try? verifier.verify(testCase.request, now: scenario.now) }
        _ = try? verifier.verify(valid[0].request, now: scenario.now)
        let metrics = verifier.metrics
        #expect(metrics.verified == valid.count)
        #expect(metrics.refusals(.proofReplayed) == 1)
        #expect(metrics.replayCacheCount == valid.count)
        #expect(metrics.replayCacheCapacity == VerifierPolicy().replayCacheCapacity)
        #expect(metrics.tokenCacheHits >= 1)
        #expect(metrics.proofKeyCacheMisses >= 1)
    }

    @Test("configuration is validated")
    func configuration() throws {
        var policy = VerifierPolicy()
        policy.proofAlgorithms = []
        #expect(throws: KeyboundError(.invalidConfiguration)) { try scenario.makeVerifier(policy: policy) }
        policy = VerifierPolicy()
        policy.rsaModulusBits = 1024...4096
        #expect(throws: KeyboundError(.invalidConfiguration)) { try scenario.makeVerifier(policy: policy) }
        policy = VerifierPolicy()
        policy.maxJSONDepth = 1000
        #expect(throws: KeyboundError(.invalidConfiguration)) { try scenario.makeVerifier(policy: policy) }
        let keys = try JWKSet(json: scenario.jwks, backend: .forTests)
        let issuer = TrustedIssuer(identifier: scenario.issuer, audiences: [scenario.audience], keys: keys)
        #expect(throws: KeyboundError(.invalidConfiguration)) { try Verifier(issuers: [issuer, issuer], backend: .forTests) }
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try Verifier(issuers: [issuer], backend: .forTests).replaceKeys(forIssuer: "https://unknown", with: keys)
        }
    }

    @Test("strict typ mode refuses JWT and a missing typ on access tokens; the default accepts both")
    func strictType() throws {
        let testCase = try firstValid()
        var strict = VerifierPolicy()
        strict.strictTokenType = true
        #expect(throws: Never.self) { try scenario.makeVerifier(policy: strict).verify(testCase.request, now: scenario.now) }
        for name in ["D1 token typ JWT: accepted by default", "D1 token typ absent: accepted by default"] {
            let lenientCase = try #require(scenario.cases.first { $0.name == name })
            #expect(throws: Never.self) { try scenario.makeVerifier().verify(lenientCase.request, now: scenario.now) }
            #expect(throws: KeyboundError(.tokenTyp)) {
                try scenario.makeVerifier(policy: strict).verify(lenientCase.request, now: scenario.now)
            }
        }
    }

    @Test("a malleated ECDSA proof (s → n − s) verifies but is the same proof: refused as a replay (SECURITY.md B3)")
    func malleatedProofIsReplay() throws {
        let testCase = try #require(scenario.validResourceCases.first { $0.name.contains("ES256 proof") })
        let parts = testCase.dpop[0].split(separator: ".").map(String.init)
        var signature = try #require(Base64URL.decode(parts[2]))
        #expect(signature.count == 64)
        // n − s over 32-byte big-endian numbers (P-256 order from SECURITY.md §F).
        let order: [UInt8] = Array(hex: "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        var borrow = 0
        for i in stride(from: 31, through: 0, by: -1) {
            let d = Int(order[i]) - Int(signature[32 + i]) - borrow
            signature[32 + i] = UInt8((d + 256) % 256)
            borrow = d < 0 ? 1 : 0
        }
        var malleated = testCase.request
        malleated.dpop = [parts[0] + "." + parts[1] + "." + Base64URL.encode(signature)]
        // On its own, the malleated proof is valid...
        #expect(throws: Never.self) { try scenario.makeVerifier().verify(malleated, now: scenario.now) }
        // ...but after the original it is a replay: the replay key is (jkt, jti), never the proof's bytes.
        let verifier = try scenario.makeVerifier()
        _ = try verifier.verify(testCase.request, now: scenario.now)
        #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(malleated, now: scenario.now) }
    }

    @Test("refused proofs leave nothing in the replay cache (insert only after every other check, SECURITY.md D11c)")
    func refusalsDoNotFillTheCache() throws {
        let verifier = try scenario.makeVerifier()
        var refused = 0
        for testCase in scenario.cases where !testCase.expectOK {
            do { _ = try verifier.verify(testCase.request, mode: testCase.verificationMode, now: scenario.now) } catch { refused += 1 }
        }
        #expect(refused > 400)
        #expect(verifier.metrics.replayCacheCount == 0)
    }
}
