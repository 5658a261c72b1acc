//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundSigning
import Testing

@testable import Keybound

/// `now` is optional on every call: left out, the verifier reads its policy's clock (the system's by default).
@Suite("Default clock")
struct DefaultClockTests {
    /// The wall clock as the test reads it (Foundation), independent of Keybound's own reading.
    static func realNow() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }

    /// A request whose token and proof were made at `iat` (the token valid for an hour from `iat`).
    func request(_ world: SignedWorld, client: SigningKey, iat: Int64, jti: String) throws -> DPoPRequest {
        let token = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: world.issuer, aud: [world.audience], sub: "user-7", jkt: client.thumbprint,
                              iat: iat, exp: iat + 3600, jti: "t-\(jti)", kid: "k1"),
            key: world.issuerKey)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: world.url, iat: iat, jti: jti,
                                          accessToken: token)
        return DPoPRequest(method: "GET", url: world.url, authorization: "DPoP \(token)", dpop: [proof])
    }

    @Test("the system clock: a proof made now verifies without `now`; one made an hour ago is stale (209)")
    func systemClock() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let client = try SigningKey.generate(.es256)
        let verified = try verifier.verify(try request(world, client: client, iat: Self.realNow(), jti: "fresh"))
        #expect(verified.jkt == client.thumbprint)
        #expect(throws: KeyboundError(.proofIAT)) {
            try verifier.verify(try request(world, client: client, iat: Self.realNow() - 3600, jti: "stale"))
        }
        // The async entry point reads the same clock.
        #expect(KeyboundClock.system.now() >= Self.realNow() - 1)
    }

    @Test("an injected clock is read when `now` is left out, and a given `now` wins over it")
    func injectedClock() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.clock = .fixed(world.now) }
        let client = try SigningKey.generate(.es256)
        _ = try verifier.verify(try request(world, client: client, iat: world.now, jti: "a"))
        #expect(throws: KeyboundError(.proofIAT)) {
            try verifier.verify(try request(world, client: client, iat: world.now, jti: "b"), now: world.now + 3000)
        }
        let reads = Counter()
        let counting = try world.verifier { $0.clock = KeyboundClock { reads.increment(); return world.now } }
        _ = try counting.verify(try request(world, client: client, iat: world.now, jti: "c"))
        #expect(reads.value == 1)  // read once per call
        _ = try counting.verify(try request(world, client: client, iat: world.now, jti: "d"), now: world.now)
        #expect(reads.value == 1)  // not read when `now` is given
    }

    @Test("revocation and nonces read the clock too when `now` is left out")
    func revocationAndNonces() throws {
        let world = try SignedWorld()
        let issuer = try NonceIssuer(secrets: [[UInt8](repeating: 9, count: 32)], boundToKey: false, backend: .forTests)
        let verifier = try world.verifier {
            $0.clock = .fixed(world.now)
            $0.nonces = issuer
        }
        let nonce = try #require(try verifier.mintNonce())
        #expect(nonce == (try issuer.mint(now: world.now, jkt: nil)))
        let client = try SigningKey.generate(.es256)
        try verifier.revokeKey(jkt: client.thumbprint, until: world.now + 10)
        let token = try world.token(for: client)
        #expect(throws: KeyboundError(.keyRevoked)) {
            try verifier.verify(try world.request(client: client, token: token, jti: "p-1", nonce: nonce))
        }
    }

    @Test("async verify without `now` reads the clock")
    func asyncClock() async throws {
        let world = try SignedWorld()
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: world.issuer, audiences: [world.audience], keys: try world.jwks)],
            policy: { var p = VerifierPolicy(); p.clock = .fixed(world.now); return p }(),
            asyncReplayStore: FixedReplayStore(.inserted), backend: .forTests)
        let client = try SigningKey.generate(.es256)
        let verified = try await verifier.verify(try request(world, client: client, iat: world.now, jti: "async"))
        #expect(verified.jkt == client.thumbprint)
    }
}

/// A thread-safe counter for clock reads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
