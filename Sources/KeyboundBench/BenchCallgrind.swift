//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CKeyboundBench
import Foundation
import Keybound
import KeyboundSigning

/// The instruction-count driver of `scripts/ci/callgrind.sh` (BENCHMARKS.md "The instruction gate").
///
/// Two steps, so that no signature is made under valgrind:
/// 1. ``writeInputs()`` (run natively) makes a scenario's requests from fixed inputs: the committed issuer key, client
///    keys derived from a seed, a fixed clock and fixed `jti`s. Only the ECDSA proof signatures differ between runs
///    (OpenSSL signs with a random nonce); they change the crypto library's count, which is subtracted, not
///    Keybound's.
/// 2. ``run()`` (under callgrind) verifies every request once in ``kbb_region_keybound``, then does the crypto
///    library's work of the same requests, the way Keybound's backend does it, in ``kbb_region_crypto`` (the same
///    signatures verified through the same backend key type, template contexts included; for a new client key the
///    key built from its coordinates first), and the SHA-256 of each request's access token in
///    ``kbb_region_digest``. Keybound's own instructions per request are (keybound − crypto − digest) / N.
package struct CallgrindDriver {
    package static let method = "GET"
    package static let url = "https://api.example/orders/42?expand=items"
    package static let issuerName = "https://issuer.example"
    package static let audience = "https://api.example"
    /// The clock of every token and proof, and the `now` given to the verifier.
    package static let now: Int64 = 1_800_000_000

    package init() {}

    // MARK: - Inputs

    /// The inputs of `scenario`: a header line, the warm-up request, then `count` requests, as JSON lines.
    package func writeInputs(scenario: BenchScenario, count: Int, seed: String, issuerJWK: String) throws -> String {
        let issuer = try SigningKey(privateJWK: issuerJWK)
        let jwks = "{\"keys\":[" + issuer.publicJWK(includingAlg: true) + "]}"
        var lines = [
            try Self.jsonLine(["scenario": scenario.rawValue, "jwks": jwks, "issuer": issuer.publicJWK(includingAlg: true)])
        ]
        let prefix = "cg-\(scenario.rawValue)-"
        let client = try Self.clientKey(seed: seed, index: 0)
        let fixedToken = try token(issuer: issuer, client: client, jti: prefix + "token")
        // The warm-up: a request on the first client key, so that the issuer's key and (warm, new token) the client
        // key are known and every template context exists before anything is counted.
        lines.append(try requestLine(client: client, token: fixedToken, jti: prefix + "warm-up"))
        for index in 0..<count {
            switch scenario {
            case .warm:
                lines.append(try requestLine(client: client, token: fixedToken, jti: prefix + "p\(index)"))
            case .newToken:
                let token = try token(issuer: issuer, client: client, jti: prefix + "t\(index)")
                lines.append(try requestLine(client: client, token: token, jti: prefix + "p\(index)"))
            case .newClientKey:
                let key = try Self.clientKey(seed: seed, index: index + 1)
                let token = try token(issuer: issuer, client: key, jti: prefix + "t\(index)")
                lines.append(try requestLine(client: key, token: token, jti: prefix + "p\(index)"))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The P-256 client key number `index` of `seed`: d = SHA-256(seed ":" index), which is below the group order
    /// for the committed seed (refused loudly otherwise).
    static func clientKey(seed: String, index: Int) throws -> SigningKey {
        let d = Self.sha256(Array("\(seed):\(index)".utf8))
        var x = [UInt8](repeating: 0, count: 32)
        var y = [UInt8](repeating: 0, count: 32)
        let ok = d.withUnsafeBufferPointer { dp in
            x.withUnsafeMutableBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    kbb_p256_public_from_scalar(dp.baseAddress, xp.baseAddress, yp.baseAddress)
                }
            }
        }
        guard ok == 1 else { throw BenchError("bench: seed \(seed) gives no P-256 key at \(index); choose another") }
        let jwk =
            "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\(Base64URL.encode(x))\",\"y\":\"\(Base64URL.encode(y))\","
            + "\"d\":\"\(Base64URL.encode(d))\"}"
        return try SigningKey(privateJWK: jwk, algorithm: .es256)
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        (try? ByteView.with(bytes) { (view) throws(KeyboundError) -> [UInt8] in
            try CryptoBackend.default.provider.sha256(view).bytes
        }) ?? []
    }

    func token(issuer: SigningKey, client: SigningKey, jti: String) throws -> String {
        let claims = AccessTokenClaims(
            iss: Self.issuerName, aud: [Self.audience], sub: "bench-user", clientID: "bench-client", scope: "read",
            jkt: client.thumbprint, iat: Self.now, exp: Self.now + 3600, jti: jti, kid: issuer.kid
        )
        return try DPoPBuilder.accessToken(claims, key: issuer)
    }

    func requestLine(client: SigningKey, token: String, jti: String) throws -> String {
        let proof = try DPoPBuilder.proof(
            key: client, method: Self.method, url: Self.url, iat: Self.now, jti: jti, accessToken: token)
        return try Self.jsonLine(["token": token, "dpop": proof])
    }

    static func jsonLine(_ object: [String: String]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - The counted run

    /// One request as read from the inputs, with what the crypto region needs.
    struct Request {
        let request: DPoPRequest
        let token: [UInt8]
        let tokenSigningInput: [UInt8]
        let tokenSignature: [UInt8]
        let proofSigningInput: [UInt8]
        let proofSignature: [UInt8]
        let clientX: [UInt8]
        let clientY: [UInt8]
    }

    /// Runs the three regions over the inputs in `text` on `backend`; returns a one-line summary (JSON).
    package func run(inputs text: String, backend: CryptoBackend) throws -> String {
        var lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 3,
            let header = try JSONSerialization.jsonObject(with: Data(lines.removeFirst().utf8)) as? [String: String],
            let scenario = header["scenario"].flatMap(BenchScenario.init(rawValue:)), let jwks = header["jwks"],
            let issuerJWK = header["issuer"]
        else { throw BenchError("bench: the callgrind inputs lack their header line") }
        let warmUp = try Self.read(lines.removeFirst())
        let requests = try lines.map(Self.read)

        let keys = try JWKSet(json: jwks, backend: backend)
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuerName, audiences: [Self.audience], keys: keys)],
            backend: backend)
        do {
            _ = try verifier.verify(warmUp.request, mode: .resource, now: Self.now)
        } catch {
            throw BenchError("bench: the warm-up request was refused: \(error.code.name) (\(error.reason))")
        }
        // The crypto region's keys, each used once before counting, as Keybound's are by the warm-up.
        let issuerMembers = try BenchPublicMembers(jwk: issuerJWK)
        let issuerKey = try Self.rsaKey(issuerMembers, backend: backend)
        let clientKey = try Self.ecKey(x: warmUp.clientX, y: warmUp.clientY, backend: backend)
        _ = try Self.verify(.rs256, issuerKey, warmUp.tokenSigningInput, warmUp.tokenSignature)
        _ = try Self.verify(.es256, clientKey, warmUp.proofSigningInput, warmUp.proofSignature)

        var accepted = 0
        var cryptoValid = 0
        var digests = 0
        var failure: String?
        Self.region(kbb_region_keybound) {
            for request in requests {
                do throws(KeyboundError) {
                    _ = try verifier.verify(request.request, mode: .resource, now: Self.now)
                    accepted += 1
                } catch {
                    failure = failure ?? "\(error.code.name): \(error.reason)"
                }
            }
        }
        // Keybound keeps every new client key in its cache (400 < its 1,024 slots): the crypto region keeps its keys
        // too, so that neither region frees a key while it is counted.
        var builtKeys: [any BackendPublicKey] = []
        builtKeys.reserveCapacity(scenario == .newClientKey ? requests.count : 0)
        Self.region(kbb_region_crypto) {
            do {
                for request in requests {
                    var valid = true
                    if scenario != .warm {
                        valid = try Self.verify(.rs256, issuerKey, request.tokenSigningInput, request.tokenSignature)
                    }
                    var key = clientKey
                    if scenario == .newClientKey {
                        key = try Self.ecKey(x: request.clientX, y: request.clientY, backend: backend)
                        builtKeys.append(key)
                    }
                    if valid, try Self.verify(.es256, key, request.proofSigningInput, request.proofSignature) {
                        cryptoValid += 1
                    }
                }
            } catch {
                failure = failure ?? "crypto region: \(error)"
            }
        }
        Self.region(kbb_region_digest) {
            for request in requests {
                let digest = try? ByteView.with(request.token) { (view) throws(KeyboundError) -> SHA256Digest in
                    try backend.provider.sha256(view)
                }
                if digest != nil { digests += 1 }
            }
        }
        withExtendedLifetime(builtKeys) {}
        guard failure == nil, accepted == requests.count, cryptoValid == requests.count,
            digests == requests.count
        else {
            throw BenchError(
                "bench: callgrind run: \(accepted) accepted, \(cryptoValid) verified by the crypto library of "
                    + "\(requests.count) (\(failure ?? "no error"))")
        }
        return try Self.jsonLine([
            "scenario": scenario.rawValue, "backend": backend.name, "requests": String(requests.count),
            "accepted": String(accepted),
        ])
    }

    static func read(_ line: String) throws -> Request {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            let token = object["token"], let proof = object["dpop"]
        else { throw BenchError("bench: a callgrind input line is malformed") }
        let tokenSignature = try BenchSignature(compact: token, algorithm: BenchAlgorithm(.rs256))
        let proofSignature = try BenchSignature(compact: proof, algorithm: BenchAlgorithm(.es256))
        guard let headerText = proof.split(separator: ".").first,
            let headerBytes = Base64URL.decode(String(headerText)),
            let proofHeader = try JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            let jwk = proofHeader["jwk"] as? [String: Any],
            let jwkData = try? JSONSerialization.data(withJSONObject: jwk)
        else { throw BenchError("bench: a callgrind proof has no jwk") }
        let members = try BenchPublicMembers(jwk: String(decoding: jwkData, as: UTF8.self))
        return Request(
            request: DPoPRequest(method: method, url: url, authorization: "DPoP " + token, dpop: [proof]),
            token: Array(token.utf8), tokenSigningInput: tokenSignature.tbs, tokenSignature: tokenSignature.raw,
            proofSigningInput: proofSignature.tbs, proofSignature: proofSignature.raw, clientX: members.first,
            clientY: members.second)
    }

    static func ecKey(x: [UInt8], y: [UInt8], backend: CryptoBackend) throws(KeyboundError) -> any BackendPublicKey {
        try ByteView.with(x) { (xv) throws(KeyboundError) -> any BackendPublicKey in
            try ByteView.with(y) { (yv) throws(KeyboundError) -> any BackendPublicKey in
                try backend.provider.makeECKey(curve: .p256, x: xv, y: yv, rejectingAs: .proofJWK)
            }
        }
    }

    static func rsaKey(_ members: BenchPublicMembers, backend: CryptoBackend) throws(KeyboundError)
        -> any BackendPublicKey
    {
        try ByteView.with(members.first) { (n) throws(KeyboundError) -> any BackendPublicKey in
            try ByteView.with(members.second) { (e) throws(KeyboundError) -> any BackendPublicKey in
                try backend.provider.makeRSAKey(n: n, e: e, rejectingAs: .tokenMalformed)
            }
        }
    }

    static func verify(_ alg: JWSAlgorithm, _ key: any BackendPublicKey, _ input: [UInt8], _ signature: [UInt8])
        throws(KeyboundError) -> Bool
    {
        try ByteView.with(input) { (iv) throws(KeyboundError) -> Bool in
            try ByteView.with(signature) { (sv) throws(KeyboundError) -> Bool in
                try key.verify(alg.scheme, signingInput: iv, signature: sv)
            }
        }
    }

    /// Runs `body` inside one of the C region functions callgrind toggles on.
    static func region(_ marker: (kbb_region_body?, UnsafeMutableRawPointer?) -> Void, _ body: () -> Void) {
        withoutActuallyEscaping(body) { body in
            let box = RegionBody(body)
            withExtendedLifetime(box) {
                marker({ context in
                    guard let context else { return }
                    Unmanaged<RegionBody>.fromOpaque(context).takeUnretainedValue().body()
                }, Unmanaged.passUnretained(box).toOpaque())
            }
        }
    }
}

private final class RegionBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
