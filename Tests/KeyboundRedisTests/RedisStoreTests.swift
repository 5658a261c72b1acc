//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if Redis
import Foundation
import Keybound
@testable import KeyboundRedis
import KeyboundSigning
import KeyboundTestSupport
import Testing

/// Against a real redis-server at KEYBOUND_REDIS_URL (scripts/ci/redis.sh starts one). Each test uses its own key
/// prefix. Times are parameters: the tests run at a fixed `now`, and first touch the store at an earlier time so
/// that the restart guard's epoch precedes their proofs.
@Suite(.serialized) struct RedisStoreTests {
    static let now: Int64 = 1_700_000_000
    static let (issuerID, audience) = ("https://issuer.example", "https://api.example")

    let url: String
    let issuerKey: SigningKey, client: SigningKey
    let token: String
    let jwks: JWKSet

    init() throws {
        guard let url = ProcessInfo.processInfo.environment["KEYBOUND_REDIS_URL"] else {
            Issue.record("KEYBOUND_REDIS_URL is not set: run scripts/ci/redis.sh, or start redis-server and set it")
            throw KeyboundError(.invalidConfiguration, reason: "no KEYBOUND_REDIS_URL")
        }
        self.url = url
        issuerKey = try SigningKey.generate(.es256, kid: "k1")
        client = try SigningKey.generate(.es256)
        let claims = AccessTokenClaims(
            iss: Self.issuerID, aud: [Self.audience], sub: "alice", jkt: client.thumbprint, iat: Self.now - 10,
            exp: Self.now + 3600, jti: "token-1", kid: "k1")
        token = try DPoPBuilder.accessToken(claims, key: issuerKey)
        jwks = try JWKSet(json: Array(("{\"keys\":[" + issuerKey.publicJWK(includingAlg: true) + "]}").utf8))
    }

    func configuration(prefix: String, timeout: Int = 200) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.keyPrefix = prefix
        configuration.commandTimeoutMilliseconds = timeout
        configuration.poolSize = 2
        return configuration
    }

    /// A store under a fresh prefix whose epoch is set well before `now`.
    func store(_ prefix: String = "test:\(UUID().uuidString):") throws -> RedisReplayStore {
        let store = try RedisReplayStore(configuration: configuration(prefix: prefix))
        #expect(store.ping(now: Self.now - 1000))
        return store
    }

    func verifier(_ store: (any ReplayStore)?) throws -> Verifier {
        try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuerID, audiences: [Self.audience], keys: jwks)],
            replayStore: store)
    }

    func request(jti: String, iat: Int64 = now) throws -> DPoPRequest {
        let url = Self.audience + "/orders"
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: iat, jti: jti, accessToken: token)
        return DPoPRequest(method: "GET", url: url, authorization: "DPoP " + token, dpop: [proof])
    }

    /// A raw connection for inspecting Redis.
    func raw() throws -> RedisConnection {
        try RedisConnection.open(configuration(prefix: "raw:")).get()
    }

    /// The fleet-wide key of docs/design.md "Contracts → Replay store", computed here independently (openssl dgst).
    func expectedKey(jkt: String, jti: String) throws -> String {
        try #require(ReplayKey(bytes: independentReplayKeyBytes(jkt: jkt, jti: jti))).base64URL
    }

    @Test func twoVerifiersSharingRedisAgreeOnTheKey() throws {
        let prefix = "test:\(UUID().uuidString):"
        let a = try verifier(LayeredReplayStore(shared: store(prefix)))
        let b = try verifier(LayeredReplayStore(shared: store(prefix)))
        let first = try request(jti: "shared-1")
        _ = try a.verify(first, now: Self.now)
        #expect(throws: KeyboundError(.proofReplayed)) { try b.verify(first, now: Self.now) }
        #expect(throws: KeyboundError(.proofReplayed)) { try a.verify(first, now: Self.now) }
        // The key both wrote is prefix + base64url(SHA-256(u16be(len jkt) ‖ jkt ‖ u16be(len jti) ‖ jti)).
        let name = try prefix + expectedKey(jkt: client.thumbprint, jti: "shared-1")
        #expect(try raw().command([Array("EXISTS".utf8), Array(name.utf8)]).get() == .integer(1))
    }

    /// A store with a fleet-wide per-key share (docs/design.md "Per-key replay share").
    func sharedStore(_ prefix: String, share: Int, overrides: [String: Int] = [:]) throws -> RedisReplayStore {
        var configuration = try configuration(prefix: prefix)
        configuration.keyShare = share
        configuration.keyShareOverrides = overrides
        let store = try RedisReplayStore(configuration: configuration)
        #expect(store.ping(now: Self.now - 1000))
        return store
    }

    @Test func aKeyPastItsShareIsRefusedFleetWideAndOtherKeysAreNot() throws {
        let prefix = "test:\(UUID().uuidString):"
        let a = try sharedStore(prefix, share: 3)
        let b = try sharedStore(prefix, share: 3)
        let flooder = try ReplayOwner(jkt: "flooder")
        // Three entries through two stores: the count is Redis's, shared by both.
        for (n, store) in [a, b, a].enumerated() {
            let key = try #require(ReplayKey(bytes: [UInt8](repeating: UInt8(n), count: 32)))
            #expect(store.insert(key, owner: flooder, expiresAt: Self.now + 10, now: Self.now) == .inserted)
        }
        let fourth = try #require(ReplayKey(bytes: [UInt8](repeating: 9, count: 32)))
        // Retry-After: the oldest entry expires at now + 10, so 11 seconds from now.
        #expect(b.insert(fourth, owner: flooder, expiresAt: Self.now + 10, now: Self.now) == .quota(retryAfter: 11))
        #expect(b.statistics.quota == 1)
        // A replay is still a replay.
        let first = try #require(ReplayKey(bytes: [UInt8](repeating: 0, count: 32)))
        #expect(a.insert(first, owner: flooder, expiresAt: Self.now + 10, now: Self.now) == .replayed)
        // Another key's first entry goes through.
        #expect(a.insert(fourth, owner: try ReplayOwner(jkt: "other"), expiresAt: Self.now + 10, now: Self.now) == .inserted)
        // Once the flooder's entries have expired (on the verifier's clock), it may record again.
        let later = try #require(ReplayKey(bytes: [UInt8](repeating: 10, count: 32)))
        #expect(a.insert(later, owner: flooder, expiresAt: Self.now + 80, now: Self.now + 11) == .inserted)
        let counts = try raw().command([Array("HGETALL".utf8), Array(a.redisKey(for: flooder).utf8)]).get()
        #expect(counts == .array([.string(Array(String(Self.now + 80).utf8)), .string(Array("1".utf8))]))
    }

    @Test func overridesAndTheVerifierAnswer212() throws {
        let prefix = "test:\(UUID().uuidString):"
        let store = try sharedStore(prefix, share: 0, overrides: [client.thumbprint: 1])
        let verifier = try verifier(LayeredReplayStore(shared: store))
        _ = try verifier.verify(request(jti: "s-1"), now: Self.now)
        let error = try #require(throws: KeyboundError(.replayQuotaExceeded)) {
            try verifier.verify(request(jti: "s-2"), now: Self.now)
        }
        #expect(error.retryAfter == 66, "the first entry lives through now + 65")
        // Without a share (the default) the insert is the plain SET NX: no owner hash is written.
        let plain = try self.store(prefix)
        let owner = try ReplayOwner(jkt: "plain")
        let key = try #require(ReplayKey(bytes: [UInt8](repeating: 3, count: 32)))
        #expect(plain.insert(key, owner: owner, expiresAt: Self.now + 10, now: Self.now) == .inserted)
        #expect(try raw().command([Array("EXISTS".utf8), Array(plain.redisKey(for: owner).utf8)]).get() == .integer(0))
        var bad = try configuration(prefix: prefix)
        bad.keyShare = -1
        #expect(throws: KeyboundError(.invalidConfiguration)) { try RedisReplayStore(configuration: bad) }
    }

    @Test func theEntryLivesForTheAcceptanceWindow() throws {
        let prefix = "test:\(UUID().uuidString):"
        let shared = try store(prefix)
        _ = try verifier(shared).verify(request(jti: "ttl-1"), now: Self.now)
        let name = try prefix + expectedKey(jkt: client.thumbprint, jti: "ttl-1")
        // iat = now: expiresAt = now + 60 + 5, live through that whole second: 66 s.
        guard case .integer(let ttl) = try raw().command([Array("PTTL".utf8), Array(name.utf8)]).get() else {
            Issue.record("PTTL did not answer an integer")
            return
        }
        #expect(ttl > 64_000 && ttl <= 66_000)
    }

    @Test func aReplaySeenLocallyIsRefusedWithoutARoundTrip() throws {
        let shared = try store()
        let layered = LayeredReplayStore(shared: shared)
        let v = try verifier(layered)
        let proof = try request(jti: "local-1")
        _ = try v.verify(proof, now: Self.now)
        let before = shared.statistics
        #expect(throws: KeyboundError(.proofReplayed)) { try v.verify(proof, now: Self.now) }
        #expect(shared.statistics == before)
        #expect(layered.localReplayCount == 1)
    }

    @Test func theAsyncVerifyUsesTheStoreOffTheCallersExecutor() async throws {
        let prefix = "test:\(UUID().uuidString):"
        let a = try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuerID, audiences: [Self.audience], keys: jwks)],
            asyncReplayStore: LayeredReplayStore(shared: store(prefix)))
        let b = try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuerID, audiences: [Self.audience], keys: jwks)],
            asyncReplayStore: store(prefix))
        let proof = try request(jti: "async-1")
        _ = try await a.verify(proof, now: Self.now)
        await #expect(throws: KeyboundError(.proofReplayed)) { try await b.verify(proof, now: Self.now) }
    }

    @Test func anUnreachableRedisFailsClosed() throws {
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        configuration.connectTimeoutMilliseconds = 100
        let dead = try RedisReplayStore(configuration: configuration)
        let v = try verifier(dead)
        let error = #expect(throws: KeyboundError(.replayStoreUnavailable)) { try v.verify(request(jti: "dead-1"), now: Self.now) }
        #expect(error?.code.httpStatus == 503)
        #expect(error?.code.rawValue == 501)
        // Within the backoff, the same store answers at once, still closed.
        #expect(dead.insert(try #require(ReplayKey(bytes: [UInt8](repeating: 7, count: 32))), expiresAt: Self.now + 65,
                            now: Self.now) == .unavailable)
        #expect(dead.statistics.connectFailures >= 1)
    }

    @Test func aProofIssuedBeforeTheRedisEpochIsRefused() throws {
        let prefix = "test:\(UUID().uuidString):"
        // A Redis whose data set began at `now` (as after a restart without persistence).
        _ = try raw().command([Array("SET".utf8), Array((prefix + "epoch").utf8), Array(String(Self.now).utf8)]).get()
        let v = try verifier(RedisReplayStore(configuration: configuration(prefix: prefix)))
        #expect(throws: KeyboundError(.replayStoreRestarted)) { try v.verify(request(jti: "old", iat: Self.now - 5), now: Self.now) }
        #expect(throws: KeyboundError(.replayStoreRestarted)) { try v.verify(request(jti: "same", iat: Self.now), now: Self.now) }
        do {
            _ = try v.verify(request(jti: "reason", iat: Self.now), now: Self.now)
            Issue.record("a proof made before the epoch was accepted")
        } catch let error as KeyboundError {
            #expect(error.reason.contains("lost its data"), "the reason says what happened: \(error.reason)")
            #expect(error.code.httpStatus == 503)
        }
        _ = try v.verify(request(jti: "fresh", iat: Self.now + 1), now: Self.now + 1)
    }

    @Test func aPausedRedisHitsTheCommandTimeout() throws {
        let shared = try store()
        let connection = try raw()
        _ = try connection.command([Array("CLIENT".utf8), Array("PAUSE".utf8), Array("1500".utf8), Array("ALL".utf8)]).get()
        let key = try #require(ReplayKey(bytes: [UInt8](repeating: 9, count: 32)))
        #expect(shared.insert(key, expiresAt: Self.now + 65, now: Self.now) == .unavailable)
        #expect(shared.statistics.timeouts == 1)
        // The pause holds every client, this one included: let it run out before the next test.
        usleep(1_600_000)
    }

    @Test func aRedisThatMayEvictIsRefused() throws {
        // scripts/ci/redis.sh starts a second redis-server with maxmemory-policy allkeys-lru for this test.
        guard let evicting = ProcessInfo.processInfo.environment["KEYBOUND_REDIS_EVICTING_URL"] else {
            Issue.record("KEYBOUND_REDIS_EVICTING_URL is not set: run scripts/ci/redis.sh")
            return
        }
        var configuration = try RedisConfiguration(url: evicting)
        configuration.keyPrefix = "test:\(UUID().uuidString):"
        let store = try RedisReplayStore(configuration: configuration)
        let key = try #require(ReplayKey(bytes: [UInt8](repeating: 7, count: 32)))
        #expect(store.insert(key, expiresAt: Self.now + 65, now: Self.now) == .unavailable)
        #expect(store.statistics.evictionPolicyRefusals == 1)
        #expect(store.statistics.inserted == 0)
        #expect(store.lastConnectionProblem?.contains("maxmemory-policy is allkeys-lru") == true)
        #expect(throws: KeyboundError(.replayStoreUnavailable)) {
            try verifier(store).verify(request(jti: "evicting-1"), now: Self.now)
        }
        // The noeviction server is served as before.
        let good = try self.store()
        #expect(good.insert(key, expiresAt: Self.now + 65, now: Self.now) == .inserted)
        #expect(good.statistics.evictionPolicyRefusals == 0)
        #expect(good.lastConnectionProblem == nil)
    }

    @Test func aRevocationReachesAnotherInstance() throws {
        let stream = "test:\(UUID().uuidString):revocations"
        let a = try verifier(store())
        let b = try verifier(store())
        let feedA = try RedisRevocationFeed(
            configuration: configuration(prefix: "x"), verifier: a, streamKey: stream, clock: { Self.now })
        let feedB = try RedisRevocationFeed(
            configuration: configuration(prefix: "x"), verifier: b, streamKey: stream, clock: { Self.now })
        _ = try b.verify(request(jti: "before"), now: Self.now)
        try feedA.publish(Revocation(kind: .key, id: client.thumbprint, until: Self.now + 3600), now: Self.now)
        #expect(feedB.pollOnce() == 1)
        #expect(feedB.pollOnce() == 0)
        #expect(throws: KeyboundError(.keyRevoked)) { try b.verify(request(jti: "after"), now: Self.now) }
        try feedA.publish(Revocation(kind: .token, id: "token-1", until: Self.now + 3600), now: Self.now)
        try feedA.publish(Revocation(kind: .token, id: "long-gone", until: Self.now - 1), now: Self.now)
        #expect(feedB.pollOnce() == 1)  // the expired one is not applied
        // A new instance reads the whole stream: both live revocations (token checks run first).
        #expect(feedA.pollOnce() == 2)
        #expect(throws: KeyboundError(.tokenRevoked)) { try a.verify(request(jti: "after-a"), now: Self.now) }
    }
}
#endif
