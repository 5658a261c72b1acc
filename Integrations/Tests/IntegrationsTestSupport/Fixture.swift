//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import Keybound
public import KeyboundSigning
import Synchronization

/// Keys, tokens and proofs for one issuer and one client, at a fixed time (no test reads the wall clock).
/// A suite that signs with one `Fixture`: `api` is the public origin its proofs name, the tokens' audience.
public protocol FixtureSuite {
    var fixture: Fixture { get }
}

extension FixtureSuite {
    public var api: String { Fixture.audience }
}

public struct Fixture: Sendable {
    public static let issuer = "https://issuer.example"
    public static let audience = "https://api.example"
    public static let now: Int64 = 1_760_000_000

    /// The issuer's signing key (`kid` issuer-1), the client's proof key, and another client's.
    public let issuerKey, clientKey, otherClientKey: SigningKey

    public init() throws {
        issuerKey = try SigningKey.generate(.es256, kid: "issuer-1")
        clientKey = try SigningKey.generate(.es256)
        otherClientKey = try SigningKey.generate(.es256)
    }

    public static func jwks(_ keys: [SigningKey]) -> String {
        "{\"keys\":[" + keys.map { $0.publicJWK(includingAlg: true) }.joined(separator: ",") + "]}"
    }

    public func verifier(
        issuer: String = Self.issuer,
        keys: [SigningKey]? = nil,
        configure: (inout VerifierPolicy) throws -> Void = { _ in },
        onKeyMiss: (@Sendable (KeyMiss) -> Void)? = nil
    ) throws -> Verifier {
        var policy = VerifierPolicy()
        try configure(&policy)
        let set = try JWKSet(json: Array(Self.jwks(keys ?? [issuerKey]).utf8))
        return try Verifier(
            issuers: [TrustedIssuer(identifier: issuer, audiences: [Self.audience], keys: set)], policy: policy,
            onKeyMiss: onKeyMiss)
    }

    public func token(
        issuer: String = Self.issuer,
        scope: String? = "orders:read profile",
        signedBy key: SigningKey? = nil,
        jkt: String? = nil,
        authTime: Int64? = nil
    ) throws -> String {
        let signer = key ?? issuerKey
        let claims = AccessTokenClaims(
            iss: issuer, aud: [Self.audience], sub: "alice", scope: scope, jkt: jkt ?? clientKey.thumbprint,
            iat: Self.now - 10, exp: Self.now + 600, jti: UUID().uuidString, kid: signer.kid,
            extraClaims: authTime.map { [.init(name: "auth_time", json: String($0))] } ?? [])
        return try DPoPBuilder.accessToken(claims, key: signer)
    }

    public func proof(
        _ method: String,
        _ url: String,
        token: String?,
        nonce: String? = nil,
        key: SigningKey? = nil
    ) throws -> String {
        try DPoPBuilder.proof(
            key: key ?? clientKey, method: method, url: url, iat: Self.now, jti: UUID().uuidString,
            accessToken: token, nonce: nonce)
    }

    /// Two proofs for `GET /api/raw/a%2Fb` at the audience's origin: one naming the target as sent, one naming its
    /// percent-decoded path `/api/raw/a/b`, which must not match (`%2F` is not `/`: docs/design.md, htu rule 6).
    public func percentEncodedProofs(token: String) throws -> (encoded: String, decoded: String) {
        (try proof("GET", Self.audience + "/api/raw/a%2Fb", token: token),
         try proof("GET", Self.audience + "/api/raw/a/b", token: token))
    }

    /// Verifies `GET https://api.example/orders` with a token from `issuer` signed by `key`.
    public func verify(
        _ verifier: Verifier,
        issuer: String = Self.issuer,
        tokenSignedBy key: SigningKey
    ) throws(KeyboundError) -> VerifiedRequest {
        let token = (try? self.token(issuer: issuer, signedBy: key)) ?? ""
        let proof = (try? self.proof("GET", "https://api.example/orders", token: token)) ?? ""
        return try verifier.verify(
            DPoPRequest(
                method: "GET", url: "https://api.example/orders", authorization: "DPoP \(token)", dpop: [proof]),
            now: Self.now)
    }
}

/// A clock the test moves by hand.
public final class ManualClock: Sendable {
    private let value: Mutex<Int64>
    public init(_ start: Int64) { value = Mutex(start) }
    public func now() -> Int64 { value.withLock { $0 } }
    public func advance(by seconds: Int64) { value.withLock { $0 += seconds } }
}
