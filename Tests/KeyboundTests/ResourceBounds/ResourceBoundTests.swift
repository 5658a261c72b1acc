//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundSigning
import KeyboundTestSupport
import Testing

@testable import Keybound

/// Resource bounds under attack (SECURITY.md C6, D11, D13): each test states its bound and asserts it.
/// The work counts come from ``WorkProbe``, which records in debug builds only (the suite's default build); the
/// byte bounds from ``GuardedBytes``, whose unreadable tail the MMU enforces.
@Suite("Resource bounds under attack", .serialized)
struct ResourceBoundTests {
    static let probing = Testing.ConditionTrait.enabled(
        if: WorkProbe.isRecording, "WorkProbe records in debug builds only: swift test --filter ResourceBoundTests")

    // MARK: - Replay cache (SECURITY.md D11)

    /// Bound: a ``ReplayCache`` sized for 1,048,576 entries holds exactly that many live entries and 48 MiB of table
    /// (50,331,648 bytes, read from the stripes' storage) after 10,000,000 unique keys; the 8,951,424 keys beyond
    /// capacity are answered `.full` (the verifier's `replay_cache_full`); no live entry is evicted: every
    /// 1,000th key that was inserted is still a replay at the end.
    @Test("10,000,000 unique keys into a cache sized for 1,048,576: memory at its cap, .full beyond, no eviction")
    func replayCacheTenMillion() {
        whileHeapIsQuiet {
            let capacity = 1_048_576
            let total = 10_000_000
            let cache = ReplayCache(capacity: capacity)
            let storage = cache.storageBytes
            #expect(cache.allocatedBytes == 50_331_648)
            // The arrays' capacities: the computed size, plus at most malloc's rounding per stripe.
            #expect(storage >= cache.allocatedBytes && storage <= cache.allocatedBytes + cache.stripeCount * 64)
            var inserted = 0
            var full = 0
            var other = 0
            var sample: [Int] = []
            for n in 0..<total {
                switch cache.insert(.test(n, salt: 9), expiresAt: 2_000, now: 1_000) {
                case .inserted:
                    inserted += 1
                    if inserted % 1_000 == 0 { sample.append(n) }
                case .full: full += 1
                case .replayed, .unavailable, .restarted, .quota: other += 1
                }
            }
            #expect(inserted == capacity)
            #expect(full == total - capacity)
            #expect(other == 0)
            #expect(cache.count == capacity)
            #expect(cache.storageBytes == storage, "the table's storage changed size")
            #expect(cache.allocatedBytes == 50_331_648)
            #expect(sample.count == capacity / 1_000)
            let stillLive = sample.filter { cache.insert(.test($0, salt: 9), expiresAt: 2_000, now: 1_500) == .replayed }
            #expect(stillLive.count == sample.count, "live entries were evicted")
            // Still full for new keys at a later time within the entries' life.
            #expect(cache.insert(.test(total, salt: 9), expiresAt: 2_000, now: 1_999) == .full)
        }
    }

    /// Bound: 20,000 valid, unique proofs against a verifier whose replay capacity is 1,000: the first 1,000 are
    /// verified, the other 19,000 refused with `replay_cache_full` (code 600), the cache holds 1,000 entries and
    /// 48,000 bytes of table throughout, and every admitted proof is still a replay (`proof_replayed`) at the end.
    @Test("end to end: 20,000 valid proofs against a replay capacity of 1,000")
    func verifierReplayCapacity() throws {
        try whileHeapIsQuiet {
            let world = try SignedWorld()
            // One client fills the whole cache: the per-key share is off here, so the capacity bound itself is what
            // refuses (ReplayQuotaVerifierTests covers the share).
            let verifier = try world.verifier {
                $0.replayCacheCapacity = 1_000
                $0.replayKeyShare = 0
            }
            guard case .inProcess(let cache) = verifier.replayStore else {
                Issue.record("the verifier has no in-process replay cache")
                return
            }
            let storage = cache.storageBytes
            #expect(cache.allocatedBytes == 48_000)
            #expect(storage >= 48_000 && storage <= 48_000 + 64)
            let client = try SigningKey.generate(.edDSA)
            let token = try world.token(for: client)
            var admitted: [DPoPRequest] = []
            var full = 0
            for n in 0..<20_000 {
                let request = try world.request(client: client, token: token, jti: "flood-\(n)")
                switch keyboundError({ _ = try verifier.verify(request, now: world.now) }) {
                case nil: admitted.append(request)
                case let error?:
                    #expect(error.code == .replayCacheFull, "proof \(n): \(error.code)")
                    if error.code == .replayCacheFull { full += 1 }
                }
                if n % 5_000 == 4_999 {
                    #expect(cache.count <= 1_000)
                    #expect(cache.storageBytes == storage)
                }
            }
            #expect(admitted.count == 1_000)
            #expect(full == 19_000)
            #expect(verifier.metrics.verified == 1_000)
            #expect(verifier.metrics.refusals(.replayCacheFull) == 19_000)
            #expect(verifier.metrics.replayCacheCount == 1_000)
            #expect(cache.storageBytes == storage)
            for request in admitted {
                #expect(throws: KeyboundError(.proofReplayed)) { try verifier.verify(request, now: world.now + 30) }
            }
        }
    }

    // MARK: - Proof-key cache (SECURITY.md D11)

    /// Bound: with `proofKeyCacheSize` 1,024, a flood of 8,192 distinct client keys (each with a valid proof, in
    /// token-endpoint mode) leaves at most 1,024 cached keys, each at most 2,048 bytes of encoded proof header, at every point of the
    /// flood; every request is still verified (a miss only costs a key import).
    @Test("a flood of 8,192 distinct client keys keeps the proof-key cache at its 1,024 slots")
    func proofKeyCacheFlood() throws {
        try whileHeapIsQuiet {
            let world = try SignedWorld()
            let verifier = try world.verifier { $0.proofKeyCacheSize = 1_024 }
            let slots = verifier.proofKeys.capacity
            #expect(slots == 1_024)
            var verified = 0
            for n in 0..<8_192 {
                let client = try SigningKey.generate(.edDSA)
                let proof = try DPoPBuilder.proof(key: client, method: "POST", url: world.url, iat: world.now,
                                                  jti: "k-\(n)")
                let request = DPoPRequest(method: "POST", url: world.url, authorization: nil, dpop: [proof])
                if (try? verifier.verify(request, mode: .tokenEndpoint, now: world.now)) != nil { verified += 1 }
                if n % 1_024 == 1_023 {
                    #expect(verifier.proofKeys.count <= slots)
                    #expect(verifier.proofKeys.storedKeyBytes <= slots * Verifier.maximumCachedHeaderBytes)
                }
            }
            #expect(verified == 8_192)
            #expect(verifier.proofKeys.capacity == slots)
            #expect(verifier.metrics.proofKeyCacheMisses == 8_192)
        }
    }

    // MARK: - Oversized headers and tokens (SECURITY.md C6)

    /// A verifier for the fixture scenario and one valid resource request of it.
    static func scenarioRequest() throws -> (Verifier, RequestCase, Int64) {
        let scenario = RequestScenario.shared
        let testCase = try #require(scenario.validResourceCases.first)
        return (try scenario.makeVerifier(), testCase, scenario.now)
    }

    /// Verifies over raw bytes (the C skin's path), so that the guarded buffers are what the verifier reads.
    static func verifyRaw(
        _ verifier: Verifier, method: String, url: String, authorization: UnsafeRawBufferPointer?,
        proof: UnsafeRawBufferPointer?, mode: VerificationMode = .resource, now: Int64
    ) -> KeyboundError? {
        Array(method.utf8).withUnsafeBytes { methodBytes in
            Array(url.utf8).withUnsafeBytes { urlBytes in
                keyboundError {
                    _ = try verifier.verify(method: methodBytes, url: urlBytes, authorization: authorization,
                                            dpopCount: proof == nil ? 0 : 1, firstProof: proof, mode: mode, now: now)
                }
            }
        }
    }

    /// Bound: a 10 MiB `DPoP` value is refused as `proof_malformed` (200) from its length alone: only the first page
    /// of it is readable (the rest faults), and no base64url, JSON, hash, key import or signature work happens.
    @Test("a 10 MiB DPoP proof: proof_malformed from its length, first page only, no decoding or crypto",
          probing)
    func oversizedProof() throws {
        let (verifier, testCase, now) = try Self.scenarioRequest()
        let proof = GuardedBytes(prefix: Array(testCase.dpop[0].utf8), count: 10 << 20, readable: 0)
        let authorization = Array((testCase.authorization ?? "").utf8)
        let (error, probe) = withWorkProbe {
            authorization.withUnsafeBytes { auth in
                Self.verifyRaw(verifier, method: testCase.method, url: testCase.url, authorization: auth,
                               proof: proof.buffer, now: now)
            }
        }
        #expect(error?.code == .proofMalformed)
        for event in decodingAndCryptoEvents { #expect(probe.count(event) == 0, "\(event)") }
    }

    /// Bound: `Authorization: DPoP <10 MiB>` is refused as `token_malformed` (300) in resource and opaque-token
    /// modes, from its length alone: the scheme costs at most 5 bytes, the token none (only the first page is
    /// readable), and nothing is decoded or hashed — not even the opaque token's `ath` hash.
    @Test("a 10 MiB access token: token_malformed from its length, in resource and opaque modes", probing)
    func oversizedToken() throws {
        let (verifier, testCase, now) = try Self.scenarioRequest()
        let token = GuardedBytes(prefix: Array(("DPoP " + String(repeating: "A", count: 4_000)).utf8),
                                 count: 10 << 20, readable: 0)
        let proof = Array(testCase.dpop[0].utf8)
        for mode in [VerificationMode.resource, .opaqueToken(boundJKT: "w4ZumGmd1PcewA9ap18EJ2jooVqa2mKSwosxeU8TKCA")] {
            let (error, probe) = withWorkProbe {
                proof.withUnsafeBytes { proofBytes in
                    Self.verifyRaw(verifier, method: testCase.method, url: testCase.url,
                                   authorization: token.buffer, proof: proofBytes, mode: mode, now: now)
                }
            }
            #expect(error?.code == .tokenMalformed, "\(mode)")
            for event in decodingAndCryptoEvents { #expect(probe.count(event) == 0, "\(mode) \(event)") }
        }
        // One byte over the limit is enough; exactly the limit reaches the token's own checks.
        let limit = VerifierPolicy().maxTokenBytes
        for (length, code) in [(limit + 1, KeyboundError.Code.tokenMalformed), (limit, .tokenMalformed)] {
            var request = testCase.request
            request.authorization = "DPoP " + String(repeating: "A", count: length)
            let (error, probe) = withWorkProbe { keyboundError { _ = try verifier.verify(request, now: now) } }
            #expect(error?.code == code)
            // Over the limit nothing is read; at the limit the token is split (no dots: malformed before decoding).
            #expect(probe.count(.base64URLDecodedBytes) == 0 && probe.count(.signatureVerifications) == 0)
        }
    }

    /// Bound: a 10 MiB `Authorization` value with another scheme, or no scheme at all, is `unsupported_scheme`
    /// (101) after reading at most its first 5 bytes.
    @Test("a 10 MiB Authorization value with another scheme: unsupported_scheme after 5 bytes", probing)
    func oversizedOtherScheme() throws {
        let (verifier, testCase, now) = try Self.scenarioRequest()
        let proof = Array(testCase.dpop[0].utf8)
        for prefix in ["Bearer ", "DPoPx", "AAAAAAAA", "dpopdpop"] {
            let value = GuardedBytes(prefix: Array(prefix.utf8), count: 10 << 20, readable: 0)
            let (error, probe) = withWorkProbe {
                proof.withUnsafeBytes { proofBytes in
                    Self.verifyRaw(verifier, method: testCase.method, url: testCase.url,
                                   authorization: value.buffer, proof: proofBytes, now: now)
                }
            }
            #expect(error?.code == .unsupportedScheme, "\(prefix)")
            for event in decodingAndCryptoEvents { #expect(probe.count(event) == 0, "\(prefix) \(event)") }
        }
        // The bounded scheme scan gives the same answers as a full one on short values.
        for (value, code) in [("DPoP", KeyboundError.Code.malformedAuthorization), ("DPoPx y", .unsupportedScheme),
                              ("dPoP  x", .malformedAuthorization), ("DPoP\tx", .malformedAuthorization),
                              ("Bearer x", .unsupportedScheme), (" DPoP x", .unsupportedScheme)] {
            #expect(throws: KeyboundError(code), "\(value)") {
                try ByteView.with(utf8: value) { (bytes) throws(KeyboundError) in
                    _ = try AuthorizationHeader.dpopToken(in: bytes, maxTokenBytes: 8192)
                }
            }
        }
    }

    /// Bound: the same 10 MiB values through the public `String` API: the same codes, and no decoding or crypto.
    @Test("10 MiB header values through verify(DPoPRequest): the same codes, no decoding or crypto", probing)
    func oversizedThroughStrings() throws {
        try whileHeapIsQuiet {
            let (verifier, testCase, now) = try Self.scenarioRequest()
            let huge = String(repeating: "A", count: 10 << 20)
            var bigProof = testCase.request
            bigProof.dpop = [huge]
            var bigToken = testCase.request
            bigToken.authorization = "DPoP " + huge
            var both = bigToken
            both.dpop = [huge]
            for (request, code) in [(bigProof, KeyboundError.Code.proofMalformed), (bigToken, .tokenMalformed),
                                    (both, .tokenMalformed)] {
                let (error, probe) = withWorkProbe { keyboundError { _ = try verifier.verify(request, now: now) } }
                #expect(error?.code == code)
                for event in decodingAndCryptoEvents { #expect(probe.count(event) == 0, "\(code) \(event)") }
            }
        }
    }

    // MARK: - RSA key size (SECURITY.md A8, C6)

    /// Bound: a proof whose `jwk` is a 16384-bit RSA key (within the 8 KiB proof limit, so the key is reached) is
    /// refused as `proof_jwk` (202) from the modulus length, before OpenSSL sees the key and before any signature
    /// work; even with the widest policy (2048–8192 bits).
    @Test("an RSA proof key of 16384 bits: proof_jwk before any key import or signature work", probing)
    func rsa16384() throws {
        var generator = SplitMix64(seed: 16_384)
        var modulus = (0..<2_048).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        modulus[0] |= 0x80
        modulus[2_047] |= 1
        let jwk = #"{"kty":"RSA","n":""# + Base64URL.encode(modulus) + #"","e":"AQAB"}"#
        let header = #"{"typ":"dpop+jwt","alg":"RS256","jwk":"# + jwk + "}"
        let world = try SignedWorld()
        let payload = DPoPBuilder.proofPayload(method: "POST", url: world.url, iat: world.now, jti: "rsa-16384")
        let signature = (0..<2_048).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let proof = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
            + Base64URL.encode(signature)
        #expect(proof.utf8.count <= VerifierPolicy().maxProofBytes)
        let request = DPoPRequest(method: "POST", url: world.url, authorization: nil, dpop: [proof])
        for bits in [2048...4096, 2048...8192] {
            let verifier = try world.verifier { $0.rsaModulusBits = bits }
            let (error, probe) = withWorkProbe {
                keyboundError { _ = try verifier.verify(request, mode: .tokenEndpoint, now: world.now) }
            }
            #expect(error?.code == .proofJWK)
            #expect(error?.reason.contains("too large") == true, "\(error?.reason ?? "")")
            #expect(probe.count(.publicKeyImports) == 0)
            #expect(probe.count(.signatureVerifications) == 0)
            #expect(probe.count(.jsonParsedBytes) > 0)  // the proof was read up to its key: the check is reached
        }
    }

    // MARK: - Deep nesting (SECURITY.md C6)

    /// Bound: JSON nested 100,000 levels deep (`[`, and `{"a":`) is refused as malformed at the depth bound (16 by
    /// default, 64 at most whatever the caller asks), on a thread whose whole stack is 256 KiB (a debug build's
    /// frames included). The validator descends one frame pair per level but refuses the level past the bound before
    /// descending, so its stack use is fixed by the bound (at most 64 levels), not by the input: following the
    /// input's 100,000 levels would need megabytes and crash the process.
    @Test("100,000 levels of [ and { refused at the depth bound on a 256 KiB stack")
    func deepNesting() {
        let results = onSmallStack(stackBytes: 256 << 10) { () -> [String] in
            var reasons: [String] = []
            let documents = [
                "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
                String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000),
                "{\"a\":" + String(repeating: "[", count: 100_000),  // never closed
            ]
            for document in documents {
                for maxDepth in [16, 1_000_000] {
                    do throws(KeyboundError) {
                        try ByteView.with(utf8: document) { (bytes) throws(KeyboundError) in
                            _ = try JSON.parseObject(bytes, maxDepth: maxDepth, failingWith: .proofMalformed)
                        }
                        reasons.append("accepted")
                    } catch {
                        reasons.append(error.code == .proofMalformed ? error.reason : "code \(error.code)")
                    }
                }
            }
            return reasons
        }
        #expect(results.count == 6)
        for reason in results { #expect(reason.lowercased().contains("deep"), "\(reason)") }
    }

    /// Bound: a whole request whose proof `jwk` carries a member nested 2,800 deep (inside the 8 KiB proof limit) is
    /// refused as `proof_malformed` (200) on a 256 KiB stack, before any key import or signature work.
    @Test("a proof jwk nested 2,800 deep through the verifier on a 256 KiB stack: proof_malformed", probing)
    func deepProofOnSmallStack() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let client = try SigningKey.generate(.edDSA)
        let deep = String(repeating: "[", count: 2_800) + String(repeating: "]", count: 2_800)
        let jwk = String(client.publicJWK.dropLast()) + #","x-deep":"# + deep + "}"
        let header = #"{"typ":"dpop+jwt","alg":"EdDSA","jwk":"# + jwk + "}"
        let payload = DPoPBuilder.proofPayload(method: "POST", url: world.url, iat: world.now, jti: "deep")
        let proof = try JWS.compact(headerJSON: header, payloadJSON: payload, key: client)
        #expect(proof.utf8.count <= VerifierPolicy().maxProofBytes)
        let request = DPoPRequest(method: "POST", url: world.url, authorization: nil, dpop: [proof])
        let outcome = onSmallStack(stackBytes: 256 << 10) { () -> (KeyboundError.Code?, Int, Int) in
            let (error, probe) = withWorkProbe {
                keyboundError { _ = try verifier.verify(request, mode: .tokenEndpoint, now: world.now) }
            }
            return (error?.code, probe.count(.publicKeyImports), probe.count(.signatureVerifications))
        }
        #expect(outcome.0 == .proofMalformed)
        #expect(outcome.1 == 0 && outcome.2 == 0)
    }

    // MARK: - Constant-time comparisons (SECURITY.md D13)

    /// `ath`, the token's `cnf.jkt` against the proof key's thumbprint, and the opaque-token mode's bound `jkt` are
    /// compared by ``constantTimeEquals(_:_:)`` (`CRYPTO_memcmp`), on success and on failure alike: the probe sees
    /// exactly those operands go through it.
    @Test("ath and jkt comparisons go through the constant-time compare, equal or not", probing)
    func constantTimeATHAndJKT() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let client = try SigningKey.generate(.edDSA)
        let token = try world.token(for: client)
        let ath = Array(Thumbprint.accessTokenHash(token).utf8)
        let jkt = Array(client.thumbprint.utf8)
        func compared(_ probe: WorkProbe, _ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
            probe.constantTimeComparisons.contains { $0.lhs == lhs && $0.rhs == rhs }
        }

        // A valid request: ath and jkt both compared in constant time.
        let (_, ok) = try withWorkProbe {
            try verifier.verify(try world.request(client: client, token: token, jti: "ct-1"), now: world.now)
        }
        #expect(compared(ok, ath, ath))
        #expect(compared(ok, jkt, jkt))

        // A wrong ath: the claim and the expected hash go through the compare; 209.
        let payload = DPoPBuilder.proofPayload(method: "POST", url: world.url, iat: world.now, jti: "ct-2",
                                               accessToken: token + "x")
        let wrongATH = try JWS.compact(headerJSON: DPoPBuilder.proofHeader(key: client), payloadJSON: payload,
                                       key: client)
        let (athError, athProbe) = withWorkProbe {
            keyboundError {
                _ = try verifier.verify(
                    DPoPRequest(method: "POST", url: world.url, authorization: "DPoP \(token)", dpop: [wrongATH]),
                    now: world.now)
            }
        }
        #expect(athError?.code == .proofATH)
        #expect(compared(athProbe, Array(Thumbprint.accessTokenHash(token + "x").utf8), ath))

        // A token bound to another key: its cnf.jkt against the proof key's thumbprint; 311.
        let other = try SigningKey.generate(.edDSA)
        let stolen = try world.token(for: other, jti: "t-2")
        let (bindError, bindProbe) = withWorkProbe {
            keyboundError { _ = try verifier.verify(try world.request(client: client, token: stolen, jti: "ct-3"),
                                                    now: world.now) }
        }
        #expect(bindError?.code == .tokenBinding)
        #expect(compared(bindProbe, Array(other.thumbprint.utf8), jkt))

        // Opaque-token mode: the host's bound jkt against the proof key's thumbprint, equal and not.
        let opaque = "opaque-token-value"
        for (bound, code) in [(client.thumbprint, nil as KeyboundError.Code?), (other.thumbprint, .tokenBinding)] {
            let request = try world.request(client: client, token: opaque, jti: "ct-opaque-\(bound.prefix(4))")
            let (error, probe) = withWorkProbe {
                keyboundError { _ = try verifier.verify(request, mode: .opaqueToken(boundJKT: bound), now: world.now) }
            }
            #expect(error?.code == code)
            #expect(compared(probe, Array(bound.utf8), jkt))
            #expect(compared(probe, Array(Thumbprint.accessTokenHash(opaque).utf8),
                             Array(Thumbprint.accessTokenHash(opaque).utf8)))
        }
    }

    /// The nonce's HMAC tag (20 bytes) is compared by ``constantTimeEquals(_:_:)``, once per configured secret, for
    /// a valid and for a tampered nonce (SECURITY.md D12, D13).
    @Test("nonce tags go through the constant-time compare, once per secret", probing)
    func constantTimeNonce() throws {
        let world = try SignedWorld()
        let issuer = try NonceIssuer(secrets: [Array(repeating: 7, count: 32), Array(repeating: 9, count: 32)])
        let verifier = try world.verifier { $0.nonces = issuer }
        let client = try SigningKey.generate(.edDSA)
        let token = try world.token(for: client)
        let nonce = try issuer.mint(now: world.now)
        let (_, ok) = try withWorkProbe {
            try verifier.verify(try world.request(client: client, token: token, jti: "n-1", nonce: nonce),
                                now: world.now)
        }
        let okTags = ok.constantTimeComparisons.filter { $0.lhs.count == 20 && $0.rhs.count == 20 }
        #expect(okTags.count == 2)
        #expect(okTags.contains { $0.lhs == $0.rhs })
        // The last character changed (still canonical base64url: 'A' and 'Q' differ in the first of its 6 bits).
        var tampered = Array(nonce.utf8)
        tampered[tampered.count - 1] = tampered.last == UInt8(ascii: "A") ? UInt8(ascii: "Q") : UInt8(ascii: "A")
        let (error, bad) = withWorkProbe {
            keyboundError {
                _ = try verifier.verify(
                    try world.request(client: client, token: token, jti: "n-2",
                                      nonce: String(decoding: tampered, as: UTF8.self)), now: world.now)
            }
        }
        #expect(error?.code == .nonceInvalid)
        let badTags = bad.constantTimeComparisons.filter { $0.lhs.count == 20 && $0.rhs.count == 20 }
        #expect(badTags.count == 2)
        #expect(!badTags.contains { $0.lhs == $0.rhs })
    }
}
