//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// Bearer migration mode (RFC 9449 §7.2; docs/design.md "Contracts → Bearer migration mode").
@Suite("Bearer migration mode")
struct BearerMigrationTests {
    let (world, client): (SignedWorld, SigningKey)

    init() throws { (world, client) = try SignedWorld.withClient() }

    /// A verifier proofs of ES256 only, so that challenges are short; `allowBearer` as given.
    func verifier(allowBearer: Bool = true) throws -> Verifier {
        try world.verifier {
            $0.allowBearer = allowBearer
            $0.proofAlgorithms = [.es256]
        }
    }

    /// A token bound to `client` when `bound`, else without `cnf`.
    func token(bound: Bool, scope: String? = "orders:read", exp: Int64? = nil, jti: String = "t-1") throws -> String {
        try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: world.issuer, aud: [world.audience], sub: "user-7", scope: scope,
                              jkt: bound ? client.thumbprint : nil, iat: world.now, exp: exp ?? world.now + 600,
                              jti: jti, kid: "k1"),
            key: world.issuerKey)
    }

    func bearer(_ token: String, dpop: [String] = []) -> DPoPRequest {
        DPoPRequest(method: "GET", url: world.url, authorization: "Bearer \(token)", dpop: dpop)
    }

    func refusal(_ verifier: Verifier, _ request: DPoPRequest, mode: VerificationMode = .resource,
                 requirements: Requirements = .none) -> KeyboundError?
    {
        do {
            _ = try verifier.verify(request, mode: mode, requirements: requirements, now: world.now)
            return nil
        } catch {
            return error
        }
    }

    @Test("a token without cnf as Bearer verifies: no jkt (nil, not empty), no proof jti, scheme bearer, claims read")
    func unboundBearerVerifies() throws {
        let verifier = try verifier()
        let verified = try verifier.verify(bearer(try token(bound: false)), now: world.now)
        #expect(verified.jkt == nil)
        #expect(verified.proofJTI == nil)
        #expect(verified.scheme == .bearer)
        #expect(verified.subject == "user-7")
        #expect(verified.scope == "orders:read")
        #expect(verified.dpopNonce == nil)
        // The scheme is case-insensitive (RFC 9110 §11.1).
        #expect(try verifier.verify(
            DPoPRequest(method: "GET", url: world.url, authorization: "bEaReR \(try token(bound: false))", dpop: []),
            now: world.now).jkt == nil)
    }

    @Test("Bearer requests make no replay entry: the same Bearer request verifies again and the cache stays empty")
    func noReplayInsert() throws {
        let verifier = try verifier()
        let request = bearer(try token(bound: false))
        _ = try verifier.verify(request, now: world.now)
        _ = try verifier.verify(request, now: world.now)
        #expect(verifier.metrics.replayCacheCount == 0)
        #expect(verifier.metrics.verified == 2)
    }

    @Test("a token with cnf as Bearer is 316 bound_token_as_bearer (401 invalid_token), challenge on the Bearer scheme")
    func boundTokenAsBearer() throws {
        let verifier = try verifier()
        let error = try #require(refusal(verifier, bearer(try token(bound: true))))
        #expect(error.code == .boundTokenAsBearer)
        #expect(error.code.rawValue == 316)
        #expect(error.code.httpStatus == 401)
        #expect(error.code.rfcError == "invalid_token")
        #expect(error.scheme == .bearer)
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP algs="ES256", Bearer error="invalid_token", error_description="a DPoP-bound access token was sent with the Bearer scheme""#)
        // Also once the token sits in the token cache after a DPoP use: the cache keeps `cnf`.
        let bound = try token(bound: true, jti: "t-2")
        _ = try verifier.verify(try world.request(client: client, token: bound, jti: "p-1"), now: world.now)
        #expect(refusal(verifier, bearer(bound))?.code == .boundTokenAsBearer)
        // Any confirmation method counts: an mTLS-style `cnf` without `jkt` is 316 as well.
        let mtls = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: world.issuer, aud: [world.audience], sub: "user-7", jkt: nil, iat: world.now,
                              exp: world.now + 600, jti: "t-3", kid: "k1",
                              extraClaims: [.init(name: "cnf", json: #"{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}"#)]),
            key: world.issuerKey)
        #expect(refusal(verifier, bearer(mtls))?.code == .boundTokenAsBearer)
    }

    @Test("opaque-token mode: the host says the token is bound, so Bearer there is 316")
    func opaqueBearer() throws {
        let verifier = try verifier()
        let error = try #require(refusal(verifier, bearer("opaque-token-value"),
                                         mode: .opaqueToken(boundJKT: client.thumbprint)))
        #expect(error.code == .boundTokenAsBearer)
        #expect(error.scheme == .bearer)
    }

    @Test("Bearer with a DPoP header is 102 malformed_authorization (400 invalid_request), on the Bearer scheme")
    func bearerWithDPoP() throws {
        let verifier = try verifier()
        let token = try token(bound: false)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: world.url, iat: world.now, jti: "p-9",
                                          accessToken: token)
        let error = try #require(refusal(verifier, bearer(token, dpop: [proof])))
        #expect(error.code == .malformedAuthorization)
        #expect(error.code.httpStatus == 400)
        #expect(error.reason == "a Bearer request carries a DPoP header")
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP algs="ES256", Bearer error="invalid_request", error_description="a Bearer request carries a DPoP header""#)
        // An empty DPoP header counts as one too.
        #expect(refusal(verifier, bearer(token, dpop: [""]))?.code == .malformedAuthorization)
    }

    @Test("mode off (the default): Bearer is 101 unsupported_scheme with a bare DPoP challenge, with or without DPoP")
    func modeOff() throws {
        #expect(VerifierPolicy().allowBearer == false)
        let verifier = try verifier(allowBearer: false)
        let token = try token(bound: false)
        let error = try #require(refusal(verifier, bearer(token)))
        #expect(error.code == .unsupportedScheme)
        #expect(error.scheme == .dpop)
        #expect(verifier.wwwAuthenticate(for: error) == #"DPoP algs="ES256""#)
        #expect(refusal(verifier, bearer(try self.token(bound: true)))?.code == .unsupportedScheme)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: world.url, iat: world.now, jti: "p-9",
                                          accessToken: token)
        #expect(refusal(verifier, bearer(token, dpop: [proof]))?.code == .unsupportedScheme)
    }

    @Test("malformed Bearer credentials are 102; an oversized token is 300; each challenged on the Bearer scheme")
    func malformedBearer() throws {
        let verifier = try verifier()
        for value in ["Bearer", "Bearer ", "Bearer  x", "Bearer x y", "Bearer x,y"] {
            let error = try #require(refusal(
                verifier, DPoPRequest(method: "GET", url: world.url, authorization: value, dpop: [])), "\(value)")
            #expect(error.code == .malformedAuthorization, "\(value)")
            #expect(error.scheme == .bearer)
        }
        let huge = String(repeating: "a", count: 9000)
        #expect(refusal(verifier, bearer(huge))?.code == .tokenMalformed)
        #expect(refusal(verifier, bearer("not-a-jws"))?.code == .tokenMalformed)
        // "Bearerx" is another scheme: 101 as always.
        #expect(refusal(verifier, DPoPRequest(method: "GET", url: world.url, authorization: "Bearerx y", dpop: []))?
            .code == .unsupportedScheme)
    }

    @Test("an expired or revoked token as Bearer keeps its code, challenged on the Bearer scheme")
    func bearerTokenChecks() throws {
        let verifier = try verifier()
        let expired = try token(bound: false, exp: world.now - 100)
        let error = try #require(refusal(verifier, bearer(expired)))
        #expect(error.code == .tokenExpired)
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP algs="ES256", Bearer error="invalid_token", error_description="access token has expired""#)
        try verifier.revokeToken(jti: "t-9", until: world.now + 1000, now: world.now)
        #expect(refusal(verifier, bearer(try token(bound: false, jti: "t-9")))?.code == .tokenRevoked)
    }

    @Test("step-up and scope requirements apply to Bearer results: 315 with scope= on the Bearer scheme")
    func bearerRequirements() throws {
        let verifier = try verifier()
        let token = try token(bound: false)
        _ = try verifier.verify(bearer(token), requirements: Requirements(scopes: ["orders:read"]), now: world.now)
        let error = try #require(refusal(verifier, bearer(token), requirements: Requirements(scopes: ["admin"])))
        #expect(error.code == .insufficientScope)
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP algs="ES256", Bearer error="insufficient_scope", error_description="the access token lacks a scope this request requires", scope="admin""#)
        #expect(refusal(verifier, bearer(token), requirements: Requirements(maxAge: 60))?.code
            == .insufficientUserAuthentication)
    }

    @Test("migration mode leaves DPoP requests as they were, and their challenges name both schemes")
    func dpopUnchanged() throws {
        let verifier = try verifier()
        let bound = try token(bound: true)
        let verified = try verifier.verify(try world.request(client: client, token: bound, jti: "p-1"), now: world.now)
        #expect(verified.jkt == client.thumbprint)
        #expect(verified.scheme == .dpop)
        #expect(verified.proofJTI == "p-1")
        let replay = try #require(refusal(verifier, try world.request(client: client, token: bound, jti: "p-1")))
        #expect(replay.code == .proofReplayed)
        #expect(verifier.wwwAuthenticate(for: replay)
            == #"DPoP error="invalid_dpop_proof", error_description="this proof was already used", algs="ES256", Bearer"#)
        // A token without cnf on a DPoP request is still 311.
        let unbound = try token(bound: false, jti: "t-3")
        #expect(refusal(verifier, try world.request(client: client, token: unbound, jti: "p-2"))?.code
            == .tokenBinding)
        // No credentials: a bare challenge for both schemes (RFC 6750 §3.1).
        let missing = try #require(refusal(verifier, DPoPRequest(method: "GET", url: world.url, authorization: nil,
                                                                 dpop: [])))
        #expect(missing.code == .missingAuthorization)
        #expect(verifier.wwwAuthenticate(for: missing) == #"DPoP algs="ES256", Bearer"#)
        #expect(verifier.wwwAuthenticate(for: nil) == #"DPoP algs="ES256", Bearer"#)
        // Without advertised algorithms: the two bare schemes.
        let quiet = try world.verifier {
            $0.allowBearer = true
            $0.advertiseAlgorithms = false
        }
        #expect(quiet.wwwAuthenticate(for: nil) == "DPoP, Bearer")
    }
}
