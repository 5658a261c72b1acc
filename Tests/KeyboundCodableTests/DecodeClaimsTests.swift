//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundCodable
import KeyboundSigning
import Testing

@Suite("Decodable claims")
struct DecodeClaimsTests {
    struct Claims: Decodable, Equatable {
        let sub: String
        let tenant: String
        let roles: [String]
        let level: Int
    }

    let now: Int64 = 1_700_000_000
    let url = "https://api.example.com/orders"

    func verifiedRequest(extra: [(String, String)]) throws -> VerifiedRequest {
        let issuerKey = try SigningKey.generate(.es256, kid: "k1")
        let client = try SigningKey.generate(.es256)
        let jwks = try JWKSet(json: #"{"keys":["# + issuerKey.publicJWK(includingAlg: true) + "]}")
        let verifier = try Verifier(issuers: [TrustedIssuer(identifier: "https://issuer.example",
                                                            audiences: ["https://api.example.com"], keys: jwks)])
        let token = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: "https://issuer.example", aud: ["https://api.example.com"], sub: "user-7",
                              jkt: client.thumbprint, iat: now, exp: now + 600, jti: "t-1", kid: "k1",
                              extraClaims: extra.map { .init(name: $0.0, json: $0.1) }),
            key: issuerKey)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: now, jti: "p-1",
                                          accessToken: token)
        return try verifier.verify(DPoPRequest(method: "GET", url: url, authorization: "DPoP \(token)", dpop: [proof]),
                                   now: now)
    }

    @Test("the token's claims decode into a caller's type, strings unescaped")
    func decodes() throws {
        let request = try verifiedRequest(extra: [("tenant", #""acme\u002Deu""#), ("roles", #"["a","b"]"#),
                                                  ("level", "3")])
        #expect(try request.decodeClaims(as: Claims.self)
            == Claims(sub: "user-7", tenant: "acme-eu", roles: ["a", "b"], level: 3))
    }

    @Test("claims that do not fit the type throw DecodingError")
    func mismatch() throws {
        let request = try verifiedRequest(extra: [("tenant", "7"), ("roles", "[]"), ("level", "3")])
        #expect(throws: DecodingError.self) { try request.decodeClaims(as: Claims.self) }
    }
}
