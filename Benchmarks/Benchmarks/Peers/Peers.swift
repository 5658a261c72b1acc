//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import Crypto
import Foundation
import JWTKit
import Keybound

/// vapor/jwt-kit doing the equivalent DPoP checks (RFC 9449 §4.3, §7) by hand on the same tokens and proofs as the
/// Verify suite: the access token's signature and claims, the proof key from its jwk header, the proof signature,
/// htm, htu, iat, ath and the cnf.jkt binding (RFC 7638 thumbprint). jwt-kit has no replay cache; a Set of jti
/// stands in for one. Compare with Verify.ES256.warm / newToken / newClientKey.
let benchmarks: @Sendable () -> Void = {
    let iterations = 4000
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3), maxIterations: iterations)
    let fixtures = try! Fixtures()
    let warm = try! fixtures.warmRequests(iterations, tag: "peer-warm")
    let cold = try! fixtures.newClientRequests(500, algorithm: .es256, tag: "peer-cold")

    Benchmark("Peers.jwtkit.ES256.warm") { benchmark in
        let peer = try await JWTKitDPoP(jwksJSON: fixtures.keySetJSON)
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await peer.verify(warm[index]))
            index += 1
        }
    }
    Benchmark("Peers.jwtkit.ES256.newClientKey", configuration: .init(maxIterations: cold.count)) { benchmark in
        let peer = try await JWTKitDPoP(jwksJSON: fixtures.keySetJSON)
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await peer.verify(cold[index]))
            index += 1
        }
    }
}

struct AccessToken: JWTPayload {
    struct Confirmation: Codable { let jkt: String }
    let iss: IssuerClaim
    let aud: AudienceClaim
    let sub: SubjectClaim
    let exp: ExpirationClaim
    let cnf: Confirmation

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired(currentDate: Date(timeIntervalSince1970: Double(Fixtures.now)))
        try aud.verifyIntendedAudience(includes: Fixtures.audience)
        guard iss.value == Fixtures.issuerName else { throw DPoPFailure.claims }
    }
}

struct Proof: JWTPayload {
    let jti: String
    let htm: String
    let htu: String
    let iat: Int64
    let ath: String?
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

enum DPoPFailure: Error { case header, claims, binding, replay }

/// A DPoP check written against jwt-kit, as an application would without Keybound.
actor JWTKitDPoP {
    let issuerKeys: JWTKeyCollection
    var seen = Set<String>()

    init(jwksJSON: String) async throws {
        issuerKeys = try await JWTKeyCollection().add(jwksJSON: jwksJSON)
    }

    func verify(_ request: DPoPRequest) async throws -> String {
        guard let authorization = request.authorization, authorization.hasPrefix("DPoP "),
            request.dpop.count == 1
        else { throw DPoPFailure.header }
        let token = String(authorization.dropFirst(5))
        let proof = request.dpop[0]
        // The proof header: typ and the jwk (RFC 9449 §4.3 checks 4-7).
        let headerPart = proof.split(separator: ".")[0]
        let headerJSON = try JSONSerialization.jsonObject(with: Self.base64URL(String(headerPart))) as? [String: Any]
        guard headerJSON?["typ"] as? String == "dpop+jwt", let jwkObject = headerJSON?["jwk"] as? [String: Any],
            let crv = jwkObject["crv"] as? String, let x = jwkObject["x"] as? String, let y = jwkObject["y"] as? String
        else { throw DPoPFailure.header }
        let proofKeys = await JWTKeyCollection().add(ecdsa: try ES256PublicKey(parameters: (x: x, y: y)))
        let claims = try await proofKeys.verify(proof, as: Proof.self)
        guard claims.htm == request.method, claims.htu == request.url,
            abs(claims.iat - Fixtures.now) <= 60
        else { throw DPoPFailure.claims }
        // ath: base64url(SHA-256(token)).
        let ath = Data(SHA256.hash(data: Data(token.utf8))).base64URL
        guard claims.ath == ath else { throw DPoPFailure.claims }
        let access = try await issuerKeys.verify(token, as: AccessToken.self)
        // cnf.jkt: the RFC 7638 thumbprint of the proof key.
        let canonical = "{\"crv\":\"\(crv)\",\"kty\":\"EC\",\"x\":\"\(x)\",\"y\":\"\(y)\"}"
        let jkt = Data(SHA256.hash(data: Data(canonical.utf8))).base64URL
        guard access.cnf.jkt == jkt else { throw DPoPFailure.binding }
        guard seen.insert(claims.jti).inserted else { throw DPoPFailure.replay }
        return jkt
    }

    static func base64URL(_ text: String) -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64) ?? Data()
    }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
