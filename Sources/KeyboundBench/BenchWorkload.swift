//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CKeyboundBench
import Foundation
import Keybound
import KeyboundSigning

/// The three request shapes `keybound bench` measures.
package enum BenchScenario: String, CaseIterable {
    /// Same access token (cached), known client key, a new proof each request.
    case warm
    /// A new access token each request, known client key.
    case newToken = "new-token"
    /// A new client key and a new access token bound to it each request.
    case newClientKey = "new-client-key"
}

/// How the raw-OpenSSL baseline verifies one JWS algorithm.
struct BenchAlgorithm {
    let algorithm: JWSAlgorithm
    /// "SHA256"…, or nil for Ed25519.
    let digestName: String?
    let pss: Bool
    let ecdsa: Bool

    init(_ algorithm: JWSAlgorithm) {
        self.algorithm = algorithm
        let name = algorithm.rawValue
        if name == "EdDSA" || name == "Ed25519" {
            digestName = nil
        } else {
            digestName = "SHA" + name.dropFirst(2)
        }
        pss = name.hasPrefix("PS")
        ecdsa = name.hasPrefix("ES")
    }

    /// The process-wide fetched `EVP_MD` (fetched once per name, as any careful OpenSSL user would).
    var md: BenchMD {
        guard let digestName else { return BenchMD(pointer: nil) }
        return BenchMD(pointer: BenchDigests.shared.md(digestName))
    }
}

/// A fetched `EVP_MD` (immutable and shareable between threads once fetched), or none for Ed25519.
struct BenchMD: @unchecked Sendable {
    let pointer: UnsafeRawPointer?
}

/// Fetched digests for the baseline, by name.
final class BenchDigests: @unchecked Sendable {
    static let shared = BenchDigests()
    private let lock = NSLock()
    private var fetched: [String: UnsafeRawPointer] = [:]

    func md(_ name: String) -> UnsafeRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        if let md = fetched[name] { return md }
        guard let md = kbb_fetch_md(name) else { return nil }
        fetched[name] = md
        return md
    }
}

/// A public key's members, decoded from its JWK (EC `x`/`y`, RSA `n`/`e`, OKP `x`).
struct BenchPublicMembers: Sendable {
    var kty: String
    var group: String?
    var first: [UInt8]
    var second: [UInt8]

    init(jwk: String) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(jwk.utf8)) as? [String: Any],
            let kty = object["kty"] as? String
        else { throw BenchError("bench: cannot read a generated JWK") }
        func member(_ name: String) throws -> [UInt8] {
            guard let text = object[name] as? String, let bytes = Base64URL.decode(text) else {
                throw BenchError("bench: a generated JWK lacks \(name)")
            }
            return bytes
        }
        self.kty = kty
        switch kty {
        case "EC":
            let crv = object["crv"] as? String
            group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : "secp521r1"
            first = try member("x")
            second = try member("y")
        case "RSA":
            group = nil
            first = try member("n")
            second = try member("e")
        default:
            group = nil
            first = try member("x")
            second = []
        }
    }

    /// A new `EVP_PKEY`: EC through the curve's parameters-only template (`kbb_ec_key_new`), RSA and Ed25519 with
    /// `EVP_PKEY_fromdata` (the caller frees it with `kbb_key_free`).
    func makeKey() -> UnsafeMutableRawPointer? {
        first.withUnsafeBufferPointer { a in
            second.withUnsafeBufferPointer { b in
                switch kty {
                case "EC": kbb_ec_key_new(group ?? "prime256v1", a.baseAddress, b.baseAddress, a.count)
                case "RSA": kbb_rsa_key_fromdata(a.baseAddress, a.count, b.baseAddress, b.count)
                default: kbb_ed25519_key_fromdata(a.baseAddress, a.count)
                }
            }
        }
    }
}

/// An `EVP_PKEY` built once and kept (the baselines' "cached key").
final class BenchRawKey: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ members: BenchPublicMembers) throws {
        guard let key = members.makeKey() else { throw BenchError("bench: OpenSSL refused a key") }
        pointer = key
    }
    deinit { kbb_key_free(pointer) }
}

/// One signature prepared for the raw baseline: the signing input and the signature, in DER for ECDSA.
struct BenchSignature: Sendable {
    let tbs: [UInt8]
    let signature: [UInt8]
    /// The JWS signature as sent (raw `r || s` for ECDSA), for the raw swift-crypto baseline.
    let raw: [UInt8]

    init(compact: String, algorithm: BenchAlgorithm) throws {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let raw = Base64URL.decode(String(parts[2])) else {
            throw BenchError("bench: a generated JWS is malformed")
        }
        tbs = Array(compact.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        self.raw = raw
        if algorithm.ecdsa {
            var der = [UInt8](repeating: 0, count: raw.count + 16)
            let length = raw.withUnsafeBufferPointer { rs in
                der.withUnsafeMutableBufferPointer { out in
                    kbb_ecdsa_jws_to_der(rs.baseAddress, rs.count, out.baseAddress, out.count)
                }
            }
            guard length > 0 else { throw BenchError("bench: cannot convert an ECDSA signature to DER") }
            signature = Array(der.prefix(length))
        } else {
            signature = raw
        }
    }

    /// One raw verify: fresh `EVP_MD_CTX` + `EVP_DigestVerifyInit` + `EVP_DigestVerify`.
    @inline(__always)
    func verify(_ key: UnsafeMutableRawPointer, _ md: BenchMD, pss: Bool) -> Bool {
        signature.withUnsafeBufferPointer { sig in
            tbs.withUnsafeBufferPointer { input in
                kbb_digest_verify(key, md.pointer, pss ? 1 : 0, sig.baseAddress, sig.count, input.baseAddress, input.count)
                    == 1
            }
        }
    }
}

/// The keys, tokens and proofs of one scenario, built before anything is timed.
struct BenchPool: Sendable {
    /// The requests the verifier sees, one per timed call; every proof is unique.
    var requests: [DPoPRequest]
    /// One extra request (its own proof) sent before timing, so a warm run starts warm.
    var warmUp: DPoPRequest?
    /// The proof signatures, in request order.
    var proofs: [BenchSignature]
    /// The access-token signatures (new-token and new-client-key scenarios), in request order.
    var tokens: [BenchSignature]
    /// The client keys' members (new-client-key scenario), in request order.
    var clientKeys: [BenchPublicMembers]
    /// The one client key (warm and new-token scenarios).
    var clientKey: BenchPublicMembers?
}

/// Builds the fixtures: one issuer, the verifier factory and the pools.
final class BenchFixtures: @unchecked Sendable {
    static let issuerName = "https://issuer.example"
    static let audience = "https://api.example"
    static let method = "GET"
    static let url = "https://api.example/orders/42?expand=items"
    /// The fixed `now` given to the verifier and written in every token and proof.
    let now: Int64
    let proofAlgorithm: BenchAlgorithm, tokenAlgorithm: BenchAlgorithm
    let issuer: SigningKey
    let issuerMembers: BenchPublicMembers
    let keySetJSON: String
    /// A prefix that makes this run's `jti`s unique.
    let runID: String

    init(proofAlgorithm: JWSAlgorithm, tokenAlgorithm: JWSAlgorithm, now: Int64) throws {
        self.now = now
        self.proofAlgorithm = BenchAlgorithm(proofAlgorithm)
        self.tokenAlgorithm = BenchAlgorithm(tokenAlgorithm)
        issuer = try SigningKey.generate(tokenAlgorithm, kid: "bench-issuer")
        issuerMembers = try BenchPublicMembers(jwk: issuer.publicJWK)
        keySetJSON = "{\"keys\":[" + issuer.publicJWK(includingAlg: true) + "]}"
        runID = String(UUID().uuidString.prefix(8))
    }

    /// A verifier on the embedded defaults (``VerifierPolicy/init()``, in-process replay cache), fresh for each run
    /// so that its caches start empty and the pool's proofs are new to it.
    func makeVerifier(backend: CryptoBackend = .default) throws -> Verifier {
        let keys = try JWKSet(json: keySetJSON, backend: backend)
        return try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuerName, audiences: [Self.audience], keys: keys)],
            backend: backend
        )
    }

    func token(for client: SigningKey, jti: String) throws -> String {
        let claims = AccessTokenClaims(
            iss: Self.issuerName, aud: [Self.audience], sub: "bench-user", clientID: "bench-client", scope: "read",
            jkt: client.thumbprint, iat: now, exp: now + 3600, jti: jti, kid: issuer.kid
        )
        return try DPoPBuilder.accessToken(claims, key: issuer)
    }

    /// A request with a new proof; `authorization`, when given, is the `Authorization` value to share (it must be
    /// `"DPoP " + token`).
    func request(client: SigningKey, token: String, jti: String, authorization: String? = nil) throws
        -> (DPoPRequest, String)
    {
        let proof = try DPoPBuilder.proof(
            key: client, method: Self.method, url: Self.url, iat: now, jti: jti, accessToken: token)
        let request = DPoPRequest(
            method: Self.method, url: Self.url, authorization: authorization ?? "DPoP " + token, dpop: [proof])
        return (request, proof)
    }

    /// The pool of `count` requests for `scenario`.
    func pool(_ scenario: BenchScenario, count: Int) throws -> BenchPool {
        let prefix = "\(runID)-\(scenario.rawValue)-"
        switch scenario {
        case .warm, .newToken:
            let client = try SigningKey.generate(proofAlgorithm.algorithm)
            let fixedToken = try token(for: client, jti: prefix + "token")
            // Warm: a returning client sends the same token every time. Its requests share one `Authorization`
            // string, as a server reads identical header bytes from a receive buffer that is hot in cache; tens of
            // thousands of copies of the same 800 bytes would measure memory misses instead (the proofs stay unique).
            let fixedAuthorization = "DPoP " + fixedToken
            let built = try benchParallelMap(count) { [self] index in
                let token = scenario == .warm ? fixedToken : try self.token(for: client, jti: prefix + "t\(index)")
                let (request, proof) = try self.request(
                    client: client, token: token, jti: prefix + "p\(index)",
                    authorization: scenario == .warm ? fixedAuthorization : nil)
                let tokenSignature =
                    scenario == .newToken ? try BenchSignature(compact: token, algorithm: tokenAlgorithm) : nil
                return (request, try BenchSignature(compact: proof, algorithm: proofAlgorithm), tokenSignature)
            }
            let warmUp = try request(client: client, token: fixedToken, jti: prefix + "warm-up").0
            return BenchPool(
                requests: built.map(\.0), warmUp: scenario == .warm ? warmUp : nil, proofs: built.map(\.1),
                tokens: built.compactMap(\.2), clientKeys: [], clientKey: try BenchPublicMembers(jwk: client.publicJWK)
            )
        case .newClientKey:
            let built = try benchParallelMap(count) { [self] index in
                let client = try SigningKey.generate(proofAlgorithm.algorithm)
                let token = try self.token(for: client, jti: prefix + "t\(index)")
                let (request, proof) = try self.request(client: client, token: token, jti: prefix + "p\(index)")
                return (
                    request, try BenchSignature(compact: proof, algorithm: proofAlgorithm),
                    try BenchPublicMembers(jwk: client.publicJWK),
                    try BenchSignature(compact: token, algorithm: tokenAlgorithm)
                )
            }
            return BenchPool(
                requests: built.map(\.0), warmUp: nil, proofs: built.map(\.1), tokens: built.map(\.3),
                clientKeys: built.map(\.2), clientKey: nil
            )
        }
    }

    // MARK: - Runs

    /// The verifier over the pool: each request once, through ``Verifier/verify(_:mode:now:)`` in `.resource` mode.
    func makeRunVerifier(_ pool: BenchPool, backend: CryptoBackend = .default) throws -> Verifier {
        let verifier = try makeVerifier(backend: backend)
        if let warmUp = pool.warmUp {
            do {
                _ = try verifier.verify(warmUp, mode: .resource, now: now)
            } catch {
                throw BenchError("bench: the warm-up request was refused: \(error.code.name) (\(error.reason))")
            }
        }
        return verifier
    }

    /// One round of the verifier over the pool, going on where the previous round stopped (`cursors`).
    func runVerifier(
        _ pool: BenchPool, verifier: Verifier, cursors: BenchCursors, threads: Int, seconds: Double, limit: Int
    ) -> BenchMeasurement {
        let requests = pool.requests
        let now = now
        return benchRun(
            threads: threads, count: requests.count, seconds: seconds, cycle: false, cursors: cursors,
            limitPerThread: limit
        ) { index in
            do throws(KeyboundError) {
                _ = try verifier.verify(requests[index], mode: .resource, now: now)
                return nil
            } catch {
                return "\(error.code.name): \(error.reason)"
            }
        }
    }

    /// The raw-OpenSSL baseline of `scenario` over the same signatures, along `walk` (cycling for the warm
    /// scenario, paired with Keybound's next round for the cold ones).
    func runBaseline(_ scenario: BenchScenario, _ pool: BenchPool, threads: Int, walk: BenchWalk) throws
        -> BenchMeasurement
    {
        let proofs = pool.proofs
        let proofMD = proofAlgorithm.md
        let proofPSS = proofAlgorithm.pss
        switch scenario {
        case .warm:
            guard let members = pool.clientKey else { throw BenchError("bench: no client key") }
            let key = try BenchRawKey(members)
            return benchRun(threads: threads, count: proofs.count, walk: walk) { index in
                proofs[index].verify(key.pointer, proofMD, pss: proofPSS) ? nil : "raw verify failed"
            }
        case .newToken:
            guard let members = pool.clientKey else { throw BenchError("bench: no client key") }
            let client = try BenchRawKey(members)
            let issuerKey = try BenchRawKey(issuerMembers)
            let tokens = pool.tokens
            let tokenMD = tokenAlgorithm.md
            let tokenPSS = tokenAlgorithm.pss
            return benchRun(threads: threads, count: proofs.count, walk: walk) { index in
                guard tokens[index].verify(issuerKey.pointer, tokenMD, pss: tokenPSS),
                    proofs[index].verify(client.pointer, proofMD, pss: proofPSS)
                else { return "raw verify failed" }
                return nil
            }
        case .newClientKey:
            // Each request's new token is verified too: Keybound has never seen it either.
            let issuerKey = try BenchRawKey(issuerMembers)
            let keys = pool.clientKeys
            let tokens = pool.tokens
            let tokenMD = tokenAlgorithm.md
            let tokenPSS = tokenAlgorithm.pss
            return benchRun(threads: threads, count: proofs.count, walk: walk) { index in
                guard tokens[index].verify(issuerKey.pointer, tokenMD, pss: tokenPSS) else { return "raw verify failed" }
                guard let key = keys[index].makeKey() else { return "OpenSSL refused a client key" }
                defer { kbb_key_free(key) }
                return proofs[index].verify(key, proofMD, pss: proofPSS) ? nil : "raw verify failed"
            }
        }
    }

    /// Raw single-algorithm verify rate (fresh context per verify, cached key) over `count` signed messages.
    static func rawRate(_ algorithm: JWSAlgorithm, threads: Int, seconds: Double) throws -> BenchMeasurement {
        let key = try SigningKey.generate(algorithm)
        let bench = BenchAlgorithm(algorithm)
        let raw = try BenchRawKey(try BenchPublicMembers(jwk: key.publicJWK))
        let signatures = try benchParallelMap(64) { index in
            try BenchSignature(
                compact: JWS.compact(headerJSON: "{\"alg\":\"\(algorithm.rawValue)\"}", payloadJSON: "{\"i\":\(index)}",
                                     key: key),
                algorithm: bench)
        }
        let md = bench.md
        let pss = bench.pss
        return benchRun(threads: threads, count: signatures.count, seconds: seconds, cycle: true) { index in
            signatures[index].verify(raw.pointer, md, pss: pss) ? nil : "raw verify failed"
        }
    }
}
