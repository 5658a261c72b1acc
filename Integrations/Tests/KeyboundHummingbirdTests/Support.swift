//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Keybound
import KeyboundSigning
import Synchronization

/// Keys, tokens and proofs for one issuer and one client, at a fixed time (no test reads the wall clock).
struct Fixture: Sendable {
    static let issuer = "https://issuer.example"
    static let audience = "https://api.example"
    static let now: Int64 = 1_760_000_000

    let issuerKey: SigningKey
    let clientKey: SigningKey
    let otherClientKey: SigningKey

    init() throws {
        issuerKey = try SigningKey.generate(.es256, kid: "issuer-1")
        clientKey = try SigningKey.generate(.es256)
        otherClientKey = try SigningKey.generate(.es256)
    }

    static func jwks(_ keys: [SigningKey]) -> String {
        "{\"keys\":[" + keys.map { $0.publicJWK(includingAlg: true) }.joined(separator: ",") + "]}"
    }

    func verifier(
        keys: [SigningKey]? = nil,
        configure: (inout VerifierPolicy) throws -> Void = { _ in },
        onKeyMiss: (@Sendable (KeyMiss) -> Void)? = nil
    ) throws -> Verifier {
        var policy = VerifierPolicy()
        try configure(&policy)
        let set = try JWKSet(json: Array(Self.jwks(keys ?? [issuerKey]).utf8))
        return try Verifier(
            issuers: [TrustedIssuer(identifier: Self.issuer, audiences: [Self.audience], keys: set)], policy: policy,
            onKeyMiss: onKeyMiss)
    }

    func token(scope: String? = "orders:read profile", signedBy key: SigningKey? = nil, jkt: String? = nil) throws
        -> String
    {
        let signer = key ?? issuerKey
        let claims = AccessTokenClaims(
            iss: Self.issuer, aud: [Self.audience], sub: "alice", scope: scope, jkt: jkt ?? clientKey.thumbprint,
            iat: Self.now - 10, exp: Self.now + 600, jti: UUID().uuidString, kid: signer.kid)
        return try DPoPBuilder.accessToken(claims, key: signer)
    }

    func proof(
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

    /// `Authorization: DPoP …` and `DPoP: …` header fields.
    static func headers(token: String?, proofs: [String], scheme: String = "DPoP") -> HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "\(scheme) \(token)" }
        for proof in proofs { fields.append(HTTPField(name: HTTPField.Name("DPoP")!, value: proof)) }
        return fields
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    func now() -> Int64 { value.withLock { $0 } }
    func advance(by seconds: Int64) { value.withLock { $0 += seconds } }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The refusal's `code` member, from the middleware's JSON body.
    var code: String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return nil
        }
        return object["code"] as? String
    }
}
