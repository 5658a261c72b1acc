//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound
import KeyboundSigning
import Testing

/// Nonces across instances need no shared store (RFC 9449 §8; docs/design.md "Contracts → Nonces"): a nonce is an HMAC of
/// its time window, so any instance holding the secret accepts another's nonce, for the current and previous window.
@Suite struct NonceFleetTests {
    static let t0: Int64 = 1_700_000_100  // window 5,666,667 at W = 300
    let client: SigningKey

    init() throws {
        client = try SigningKey.generate(.es256)
    }

    static func secret(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }

    /// An instance requiring nonces: token-endpoint mode (a proof alone), minting with `secrets[0]`.
    static func instance(_ secrets: [[UInt8]]) throws -> Verifier {
        var policy = VerifierPolicy()
        policy.nonces = try NonceIssuer(secrets: secrets, windowSeconds: 300)
        return try Verifier(issuers: [], policy: policy)
    }

    func offer(_ verifier: Verifier, nonce: String?, now: Int64, jti: String) throws(KeyboundError) {
        let url = "https://api.example/token"
        let proof = try DPoPBuilder.proof(key: client, method: "POST", url: url, iat: now, jti: jti, nonce: nonce)
        _ = try verifier.verify(DPoPRequest(method: "POST", url: url, authorization: nil, dpop: [proof]),
                                mode: .tokenEndpoint, now: now)
    }

    @Test func instancesWithTheSameSecretAcceptEachOthersNonces() throws {
        let a = try Self.instance([Self.secret(1)])
        let b = try Self.instance([Self.secret(1)])
        let fromA = try #require(try a.mintNonce(now: Self.t0))
        let fromB = try #require(try b.mintNonce(now: Self.t0))
        #expect(fromA == fromB)
        try offer(b, nonce: fromA, now: Self.t0 + 1, jti: "a1")
        try offer(a, nonce: fromB, now: Self.t0 + 2, jti: "b1")
        // The next window still accepts it (the previous window is valid too).
        try offer(b, nonce: fromA, now: Self.t0 + 300, jti: "a2")
    }

    @Test func aNonceIsRefusedEverywhereAfterTheWindow() throws {
        let a = try Self.instance([Self.secret(1)])
        let b = try Self.instance([Self.secret(1)])
        let nonce = try #require(try a.mintNonce(now: Self.t0))
        #expect(throws: KeyboundError(.nonceInvalid)) { try offer(b, nonce: nonce, now: Self.t0 + 600, jti: "late-b") }
        #expect(throws: KeyboundError(.nonceInvalid)) { try offer(a, nonce: nonce, now: Self.t0 + 600, jti: "late-a") }
        #expect(throws: KeyboundError(.nonceRequired)) { try offer(b, nonce: nil, now: Self.t0, jti: "none") }
    }

    @Test func anInstanceWithAnotherSecretRefusesTheNonce() throws {
        let a = try Self.instance([Self.secret(1)])
        let c = try Self.instance([Self.secret(2)])
        let nonce = try #require(try a.mintNonce(now: Self.t0))
        #expect(throws: KeyboundError(.nonceInvalid)) { try offer(c, nonce: nonce, now: Self.t0, jti: "other") }
    }

    /// Rotation without a gap: (1) every instance adds the new secret after the old, (2) every instance puts it first
    /// (now minting with it), (3) two windows later, every instance drops the old one. Instances one step apart at any
    /// moment accept each other's nonces.
    @Test func secretRotationAcrossInstancesHasNoGap() throws {
        let old = Self.secret(1)
        let new = Self.secret(2)
        let phases: [[[UInt8]]] = [[old], [old, new], [new, old], [new]]
        for step in 0..<(phases.count - 1) {
            let behind = try Self.instance(phases[step])
            let ahead = try Self.instance(phases[step + 1])
            // Step 3 (dropping the old secret) happens two windows after step 2: no old-secret nonce is still live.
            let now = Self.t0 + Int64(step) * 1000
            let fromBehind = try #require(try behind.mintNonce(now: now))
            let fromAhead = try #require(try ahead.mintNonce(now: now))
            try offer(ahead, nonce: fromBehind, now: now, jti: "behind-\(step)")
            try offer(behind, nonce: fromAhead, now: now, jti: "ahead-\(step)")
        }
        // Dropping the old secret too early (someone still mints with it) would refuse: why step 3 waits.
        let early = try Self.instance([new])
        let stillOld = try #require(try Self.instance([old, new]).mintNonce(now: Self.t0))
        #expect(throws: KeyboundError(.nonceInvalid)) { try offer(early, nonce: stillOld, now: Self.t0, jti: "early") }
    }
}
