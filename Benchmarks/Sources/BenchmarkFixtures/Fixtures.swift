//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound
import KeyboundSigning

/// Keys, tokens and unique proofs for the suites, made before any measurement ("inputs are built outside
/// the measured region; every proof is unique, as in real traffic").
public final class Fixtures: @unchecked Sendable {
    public static let issuerName = "https://issuer.example"
    public static let audience = "https://api.example"
    public static let method = "GET"
    public static let url = "https://api.example/orders/42"
    /// The fixed verification time written in every token and proof.
    public static let now: Int64 = 1_760_000_000

    public let issuer: SigningKey
    public let client: SigningKey
    public let keySetJSON: String
    /// The client's access token (cached after the first request).
    public let token: String

    public init(proofAlgorithm: JWSAlgorithm = .es256, tokenAlgorithm: JWSAlgorithm = .rs256) throws {
        issuer = try SigningKey.generate(tokenAlgorithm, kid: "bench-issuer")
        client = try SigningKey.generate(proofAlgorithm)
        keySetJSON = "{\"keys\":[" + issuer.publicJWK(includingAlg: true) + "]}"
        token = try Self.token(issuer: issuer, client: client, jti: "token-0")
    }

    public static func token(issuer: SigningKey, client: SigningKey, jti: String) throws -> String {
        let claims = AccessTokenClaims(
            iss: issuerName, aud: [audience], sub: "bench-user", clientID: "bench-client", scope: "read",
            jkt: client.thumbprint, iat: now, exp: now + 3600, jti: jti, kid: issuer.kid
        )
        return try DPoPBuilder.accessToken(claims, key: issuer)
    }

    /// A verifier on the default policy (in-process replay cache), trusting `issuer`, on `backend` (its key set too).
    public func verifier(policy: VerifierPolicy = VerifierPolicy(), backend: CryptoBackend = .default) throws
        -> Verifier
    {
        try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuerName, audiences: [Self.audience],
                                    keys: try JWKSet(json: keySetJSON, backend: backend))],
            policy: policy,
            backend: backend
        )
    }

    /// `count` requests with the same token and unique proofs by `client` (warm traffic).
    public func warmRequests(_ count: Int, tag: String) throws -> [DPoPRequest] {
        try (0..<count).map { index in try request(client: client, token: token, jti: "\(tag)-\(index)") }
    }

    /// `count` requests, each with a new access token for `client`.
    public func newTokenRequests(_ count: Int, tag: String) throws -> [DPoPRequest] {
        try (0..<count).map { index in
            let token = try Self.token(issuer: issuer, client: client, jti: "\(tag)-t\(index)")
            return try request(client: client, token: token, jti: "\(tag)-\(index)")
        }
    }

    /// `count` requests, each from a new client key with its own token.
    public func newClientRequests(_ count: Int, algorithm: JWSAlgorithm, tag: String) throws -> [DPoPRequest] {
        try (0..<count).map { index in
            let client = try SigningKey.generate(algorithm)
            let token = try Self.token(issuer: issuer, client: client, jti: "\(tag)-t\(index)")
            return try request(client: client, token: token, jti: "\(tag)-\(index)")
        }
    }

    /// `count` token-endpoint requests (a proof alone).
    public func tokenEndpointRequests(_ count: Int, tag: String) throws -> [DPoPRequest] {
        try (0..<count).map { index in
            let proof = try DPoPBuilder.proof(
                key: client, method: "POST", url: "https://issuer.example/token", iat: Self.now, jti: "\(tag)-\(index)")
            return DPoPRequest(method: "POST", url: "https://issuer.example/token", authorization: nil, dpop: [proof])
        }
    }

    public func request(client: SigningKey, token: String, jti: String) throws -> DPoPRequest {
        let proof = try DPoPBuilder.proof(
            key: client, method: Self.method, url: Self.url, iat: Self.now, jti: jti, accessToken: token)
        return DPoPRequest(method: Self.method, url: Self.url, authorization: "DPoP " + token, dpop: [proof])
    }
}

/// What one benchmark builds in its `setup` hook and its closure then reads.
///
/// ordo-one/benchmark runs every benchmark of a suite in its own process, and each of those processes (and one more
/// that only lists the benchmarks) runs the suite's registration closure. Inputs built there are built once per
/// benchmark of the suite, for all of them; inputs built in a benchmark's `setup` hook are built only in the process
/// that measures that benchmark, once, before its first sample. Each sample (one call of the closure) then takes the
/// next input, so a verifier lives across the samples and no proof is verified twice.
public final class Prepared<Value>: @unchecked Sendable {
    private var stored: Value?
    public init() {}

    /// Stores the value (from the setup hook).
    public func set(_ value: Value) { stored = value }

    /// The stored value; only read after the setup hook ran.
    public var value: Value {
        guard let stored else { preconditionFailure("benchmark read its inputs before its setup hook ran") }
        return stored
    }
}

/// A verifier and the pool of unique requests it walks, one request per benchmark sample.
public final class RequestStream: @unchecked Sendable {
    public let verifier: Verifier
    private var cursor: Cursor<DPoPRequest>

    public init(verifier: Verifier, requests: [DPoPRequest]) {
        self.verifier = verifier
        cursor = Cursor(requests)
    }

    /// The next request of the pool (pools are sized so that a run never wraps around).
    public func next() -> DPoPRequest { cursor.next() }
}

/// Walks a pool of unique inputs; each benchmark iteration takes the next one.
public struct Cursor<Element> {
    public let items: [Element]
    public var index = 0
    public init(_ items: [Element]) { self.items = items }
    public mutating func next() -> Element {
        let item = items[index]
        index = index + 1 == items.count ? 0 : index + 1
        return item
    }
}
