//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// Per-request requirements (scope 315, step-up 314) and the policy's claim rules (310).
@Suite("Requirements and claim rules")
struct RequirementsTests {
    let world: SignedWorld
    let client: SigningKey

    init() throws { (world, client) = (try SignedWorld(), try SigningKey.generate(.es256)) }

    /// A token bound to `client`, with `scope` and extra claims (JSON text).
    func token(scope: String? = "orders:read orders:write", clientID: String? = "app-1",
               extra: [String: String] = [:]) throws -> String
    {
        try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: world.issuer, aud: [world.audience], sub: "user-7", clientID: clientID, scope: scope,
                              jkt: client.thumbprint, iat: world.now - 50, exp: world.now + 600, jti: "t-1", kid: "k1",
                              extraClaims: extra.sorted { $0.key < $1.key }.map { .init(name: $0.key, json: $0.value) }),
            key: world.issuerKey)
    }

    func refusal(_ verifier: Verifier, _ token: String, _ requirements: Requirements, jti: String = "p-1")
        throws -> KeyboundError?
    {
        do {
            _ = try verifier.verify(try world.request(client: client, token: token, jti: jti),
                                    requirements: requirements, now: world.now)
            return nil
        } catch {
            return error
        }
    }

    @Test("scope: every required scope present verifies; a missing one is 315 (403) with scope= in the challenge")
    func scope() throws {
        let verifier = try world.verifier()
        let token = try token()
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "ok"),
                                requirements: Requirements(scopes: ["orders:write", "orders:read"]), now: world.now)
        let error = try #require(try refusal(verifier, token, Requirements(scopes: ["orders:read", "admin"])))
        #expect(error.code == .insufficientScope)
        #expect(error.code.httpStatus == 403)
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP error="insufficient_scope", error_description="the access token lacks a scope this request requires", scope="orders:read admin""#)
        // A token without scope lacks every scope; scopes compare as exact tokens, not substrings.
        #expect(try refusal(verifier, try self.token(scope: nil), Requirements(scopes: ["orders"]))?.code
            == .insufficientScope)
        #expect(try refusal(verifier, token, Requirements(scopes: ["orders"]))?.code == .insufficientScope)
        // The refusal came before the replay insert: the same proof verifies when nothing is required.
        _ = try verifier.verify(try world.request(client: client, token: token, jti: "p-1"), now: world.now)
    }

    @Test("max_age: a recent auth_time verifies; an old or missing one is 314 with max_age= in the challenge")
    func maxAge() throws {
        let verifier = try world.verifier()
        let recent = try token(extra: ["auth_time": String(world.now - 100)])
        _ = try verifier.verify(try world.request(client: client, token: recent, jti: "ok"),
                                requirements: Requirements(maxAge: 300), now: world.now)
        // Edge: now − auth_time = max_age + skew is accepted, one second more is not.
        _ = try verifier.verify(try world.request(client: client, token: recent, jti: "edge"),
                                requirements: Requirements(maxAge: 95), now: world.now)
        let error = try #require(try refusal(verifier, recent, Requirements(maxAge: 94)))
        #expect(error.code == .insufficientUserAuthentication)
        #expect(error.code.httpStatus == 401)
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP error="insufficient_user_authentication", error_description="the user authentication is older than max_age", max_age="94""#)
        let none = try #require(try refusal(verifier, try token(), Requirements(maxAge: 3600)))
        #expect(none.code == .insufficientUserAuthentication)
        #expect(none.reason == "the access token has no auth_time")
        // The host may let iat stand in (weaker): iat is now − 50.
        let lenient = try world.verifier { $0.authTimeFromIAT = true }
        _ = try lenient.verify(try world.request(client: client, token: try token(), jti: "iat"),
                               requirements: Requirements(maxAge: 60), now: world.now)
        #expect(try refusal(lenient, try token(), Requirements(maxAge: 10))?.code == .insufficientUserAuthentication)
    }

    @Test("acr: one of the acceptable values verifies; another or none is 314 with acr_values= (and max_age=)")
    func acr() throws {
        let verifier = try world.verifier()
        let mfa = try token(extra: ["acr": #""urn:mfa""#, "auth_time": String(world.now - 10)])
        _ = try verifier.verify(try world.request(client: client, token: mfa, jti: "ok"),
                                requirements: Requirements(acrValues: ["urn:pwd", "urn:mfa"]), now: world.now)
        let error = try #require(try refusal(verifier, mfa, Requirements(maxAge: 300, acrValues: ["urn:hw", "urn:bio"])))
        #expect(error.code == .insufficientUserAuthentication)
        #expect(verifier.wwwAuthenticate(for: error)
            == #"DPoP error="insufficient_user_authentication", error_description="the authentication context class is not one the request accepts", acr_values="urn:hw urn:bio", max_age="300""#)
        #expect(try refusal(verifier, try token(), Requirements(acrValues: ["urn:mfa"]))?.reason
            == "the access token has no acr")
        // 314 is checked before 315.
        #expect(try refusal(verifier, mfa, Requirements(scopes: ["admin"], acrValues: ["urn:hw"]))?.code
            == .insufficientUserAuthentication)
        // Wrong JSON types are 310 whatever the request requires.
        #expect(try refusal(verifier, try token(extra: ["acr": "1"]), .none)?.code == .tokenClaims)
        #expect(try refusal(verifier, try token(extra: ["auth_time": #""yesterday""#]), .none)?.code == .tokenClaims)
    }

    @Test("requirements come after every signature check: a bad proof signature is 205, not 315")
    func afterSignatures() throws {
        let verifier = try world.verifier()
        let token = try token()
        var request = try world.request(client: client, token: token, jti: "p-1")
        let proof = request.dpop[0]
        request.dpop = [String(proof.dropLast(2)) + (proof.hasSuffix("AA") ? "BA" : "AA")]
        #expect(throws: KeyboundError(.proofSignature)) {
            try verifier.verify(request, requirements: Requirements(scopes: ["admin"]), now: world.now)
        }
    }

    @Test("requirements outside resource mode are a configuration error (902), never ignored")
    func otherModes() throws {
        let verifier = try world.verifier()
        let request = try world.request(client: client, token: try token(), jti: "p-1")
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try verifier.verify(request, mode: .tokenEndpoint, requirements: Requirements(scopes: ["a"]), now: world.now)
        }
    }

    @Test("claim rules: a required claim missing is 310 naming it; client_id outside the allowed list is 310")
    func claimRules() throws {
        let strict = try world.verifier {
            $0.requiredClaims = ["tenant"]
            $0.allowedClientIDs = ["app-1"]
        }
        let error = try #require(try refusal(strict, try token(), .none))
        #expect(error.code == .tokenClaims)
        #expect(error.reason == "access token has no tenant claim")
        _ = try strict.verify(try world.request(client: client, token: try token(extra: ["tenant": "null"]), jti: "ok"),
                              now: world.now)
        let other = try #require(try refusal(strict, try token(clientID: "app-2", extra: ["tenant": "1"]), .none))
        #expect(other.code == .tokenClaims)
        #expect(other.reason == "access token client_id claim is not an allowed client")
        let missing = try #require(try refusal(strict, try token(clientID: nil, extra: ["tenant": "1"]), .none))
        #expect(missing.reason == "access token has no client_id claim")
        #expect(throws: KeyboundError(.invalidConfiguration)) { try world.verifier { $0.requiredClaims = [""] } }
    }
}
