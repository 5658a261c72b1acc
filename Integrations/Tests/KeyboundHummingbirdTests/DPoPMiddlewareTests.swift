//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import Synchronization
import Testing

@testable import KeyboundHummingbird

@Suite("DPoPMiddleware")
struct DPoPMiddlewareTests: FixtureSuite {
    let fixture: Fixture

    init() throws { fixture = try Fixture() }

    /// `/api/orders` (scope orders:read), `/api/admin` (scope admin), `/api/checked` (scope checked in the handler)
    /// and `/token` (token-endpoint mode), all verified against `requestURL`.
    func app(
        _ verifier: Verifier,
        requestURL: RequestURLSource = .externalBaseURL("https://api.example/")
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicDPoPRequestContext.self)
        let now: @Sendable () -> Int64 = { Fixture.now }
        let api = router.group("api").add(
            middleware: DPoPMiddleware(verifier: verifier, requestURL: requestURL, now: now))
        api.requireScope("orders:read").get("orders") { _, context in
            "sub=\(context.dpop?.subject ?? "-") jkt=\(context.dpop?.jkt ?? "-")"
        }
        api.requireScope("admin").get("admin") { _, _ in "admin" }
        api.get("checked") { _, context in
            try context.requireScope("orders:write")
            return "checked"
        }
        router.group("token")
            .add(middleware: DPoPMiddleware(verifier: verifier, requestURL: requestURL, mode: .tokenEndpoint, now: now))
            .post { _, context in "jkt=\(context.dpop?.jkt ?? "-")" }
        router.group("unguarded").requireScope("orders:read").get { _, _ in "unguarded" }
        return Application(router: router)
    }

    // MARK: - Success

    @Test func verifiedRequestReachesTheHandler() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        // The query is not part of htu (RFC 9449 §4.2); the request's is ignored in the comparison.
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            let response = try await client.send(.get, "/api/orders?page=2", token: token, proofs: [proof])
            #expect(response.status == .ok)
            #expect(response.text == "sub=alice jkt=\(fixture.clientKey.thumbprint)")
            #expect(response.headers[HTTPField.Name("DPoP-Nonce")!] == nil)
        }
    }

    @Test func hostAndForwardedHeadersAreIgnoredByDefault() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        // A proof minted for another origin, with headers claiming that origin: refused.
        let foreign = try fixture.proof("GET", "https://evil.example/api/orders", token: token)
        let good = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            var headers = Fixture.headers(token: token, proofs: [foreign])
            headers[HTTPField.Name("X-Forwarded-Host")!] = "evil.example"
            headers[HTTPField.Name("X-Forwarded-Proto")!] = "https"
            let refused = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            refused.expectRefusal(.unauthorized, "proof_htu")
            #expect(refused.headers[.wwwAuthenticate]?.hasPrefix("DPoP error=\"invalid_dpop_proof\"") == true)

            var goodHeaders = Fixture.headers(token: token, proofs: [good])
            goodHeaders[HTTPField.Name("X-Forwarded-Host")!] = "evil.example"
            let accepted = try await client.execute(uri: "/api/orders", method: .get, headers: goodHeaders)
            #expect(accepted.status == .ok)
        }
    }

    @Test func forwardedHeadersCountOnlyWhenTrusted() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let source = RequestURLSource.trustedForwardedHeaders(defaultScheme: "http")
        try await app(verifier, requestURL: source).test(.router) { client in
            var headers = Fixture.headers(
                token: token, proofs: [try fixture.proof("GET", "\(api)/api/orders", token: token)])
            headers[HTTPField.Name("X-Forwarded-Host")!] = "api.example"
            headers[HTTPField.Name("X-Forwarded-Proto")!] = "https"
            let accepted = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            #expect(accepted.status == .ok)

            // Without the proxy's headers there is no host to build a URL from: refused, not guessed.
            let bare = Fixture.headers(
                token: token, proofs: [try fixture.proof("GET", "\(api)/api/orders", token: token)])
            let refused = try await client.execute(uri: "/api/orders", method: .get, headers: bare)
            refused.expectRefusal(.unauthorized, "proof_htu")
        }
    }

    @Test func originFormLeavesTheBaseToTheVerifier() async throws {
        let verifier = try fixture.verifier { $0.externalBaseURL = "https://api.example" }
        let token = try fixture.token()
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier, requestURL: .originForm).test(.router) { client in
            let response = try await client.send(.get, "/api/orders", token: token, proofs: [proof])
            #expect(response.status == .ok)
        }
    }

    // MARK: - Refusals

    @Test func missingCredentialsGetABareChallenge() async throws {
        let verifier = try fixture.verifier()
        try await app(verifier).test(.router) { client in
            let response = try await client.execute(uri: "/api/orders", method: .get)
            response.expectRefusal(.unauthorized, "missing_authorization")
            let challenge = try #require(response.headers[.wwwAuthenticate])
            #expect(challenge.hasPrefix("DPoP algs=\""))
            #expect(!challenge.contains("error="))
            #expect(response.headers[.contentType] == "application/json")
            #expect(!response.text.contains("\"error\":"))
        }
    }

    @Test func aBearerTokenIsRefused() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            // Alone, as a stolen bearer token would be sent: no proof. The scheme is decided first (RFC 6750 §3.1):
            // unsupported_scheme with a bare challenge, not missing_dpop_proof.
            let alone = try await client.send(.get, "/api/orders", token: token, proofs: [], scheme: "Bearer")
            alone.expectRefusal(.unauthorized, "unsupported_scheme")
            #expect(alone.headers[.wwwAuthenticate]?.contains("error=") == false)
            // With a valid proof but the Bearer scheme (RFC 9449 §7.1: DPoP-bound tokens use the DPoP scheme).
            let withProof = try await client.send(.get, "/api/orders", token: token, proofs: [proof], scheme: "Bearer")
            withProof.expectRefusal(.unauthorized, "unsupported_scheme")
            #expect(withProof.headers[.wwwAuthenticate]?.hasPrefix("DPoP algs=") == true)
        }
    }

    @Test func aProofFromAnotherKeyIsRefused() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token, key: fixture.otherClientKey)
        try await app(verifier).test(.router) { client in
            let response = try await client.send(.get, "/api/orders", token: token, proofs: [proof])
            response.expectRefusal(.unauthorized, "token_binding")
            #expect(response.headers[.wwwAuthenticate]?.contains("error=\"invalid_token\"") == true)
        }
    }

    @Test func twoProofsAreABadRequest() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let first = try fixture.proof("GET", "\(api)/api/orders", token: token)
        let second = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            let response = try await client.send(.get, "/api/orders", token: token, proofs: [first, second])
            response.expectRefusal(.badRequest, "multiple_dpop_proofs")
            #expect(response.headers[.wwwAuthenticate]?.contains("error=\"invalid_request\"") == true)
        }
    }

    @Test func twoAuthorizationValuesAreABadRequest() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            var headers = Fixture.headers(token: token, proofs: [proof])
            headers.append(HTTPField(name: .authorization, value: "DPoP \(token)"))
            let response = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            response.expectRefusal(.badRequest, "malformed_authorization")
        }
    }

    @Test func aReplayedProofIsRefused() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            let headers = Fixture.headers(token: token, proofs: [proof])
            let first = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            #expect(first.status == .ok)
            let second = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            second.expectRefusal(.unauthorized, "proof_replayed")
        }
    }

    @Test func aKeyPastItsReplayShareGets429WithRetryAfter() async throws {
        let verifier = try fixture.verifier { $0.replayKeyShare = 1 }
        let token = try fixture.token()
        try await app(verifier).test(.router) { client in
            #expect(try await client.sendProved(.get, "/api/orders", token: token, fixture: fixture).status == .ok)
            // A second proof (a new jti) of the same key: past its share of one live entry.
            let refused = try await client.sendProved(.get, "/api/orders", token: token, fixture: fixture)
            refused.expectRefusal(.tooManyRequests, "replay_quota_exceeded")
            #expect(refused.headers[.retryAfter] == "70")
            #expect(refused.headers[.wwwAuthenticate]?.contains("error=") == false)
            // The token endpoint answers 429 too.
            let third = try fixture.proof("POST", "\(api)/token", token: nil)
            let tokenEndpoint = try await client.send(.post, "/token", token: nil, proofs: [third])
            #expect(tokenEndpoint.status == .tooManyRequests)
            #expect(tokenEndpoint.headers[.retryAfter] == "70")
        }
    }

    @Test func aRevokedKeyIsRefused() async throws {
        let verifier = try fixture.verifier()
        try verifier.revokeKey(jkt: fixture.clientKey.thumbprint, until: Fixture.now + 600, now: Fixture.now)
        let token = try fixture.token()
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            let response = try await client.send(.get, "/api/orders", token: token, proofs: [proof])
            response.expectRefusal(.unauthorized, "key_revoked")
        }
    }

    // MARK: - Nonces

    @Test func nonceIsAskedForThenAcceptedAndRenewed() async throws {
        let nonces = try NonceIssuer(secrets: [[UInt8](repeating: 7, count: 32)])
        let verifier = try fixture.verifier { $0.nonces = nonces }
        let token = try fixture.token()
        try await app(verifier).test(.router) { client in
            let first = try await client.sendProved(.get, "/api/orders", token: token, fixture: fixture)
            first.expectRefusal(.unauthorized, "nonce_required")
            #expect(first.headers[.wwwAuthenticate]?.hasPrefix("DPoP error=\"use_dpop_nonce\"") == true)
            let nonce = try #require(first.headers[.dpopNonce])

            let retry = try fixture.proof("GET", "\(api)/api/orders", token: token, nonce: nonce)
            let second = try await client.send(.get, "/api/orders", token: token, proofs: [retry])
            #expect(second.status == .ok)
            #expect(second.headers[.dpopNonce]?.count == NonceIssuer.encodedCount)

            let stale = try fixture.proof("GET", "\(api)/api/orders", token: token, nonce: "not-a-nonce")
            let third = try await client.send(.get, "/api/orders", token: token, proofs: [stale])
            third.expectRefusal(.unauthorized, "nonce_invalid")
            #expect(third.headers[.dpopNonce] != nil)
        }
    }

    // MARK: - Scopes

    @Test func scopesAreCheckedPerRoute() async throws {
        let verifier = try fixture.verifier()
        let token = try fixture.token(scope: "orders:read profile")
        try await app(verifier).test(.router) { client in
            let allowed = try await client.sendProved(.get, "/api/orders", token: token, fixture: fixture)
            #expect(allowed.status == .ok)

            let denied = try await client.sendProved(.get, "/api/admin", token: token, fixture: fixture)
            denied.expectRefusal(.forbidden, "insufficient_scope")
            let challenge = try #require(denied.headers[.wwwAuthenticate])
            #expect(challenge == "DPoP error=\"insufficient_scope\", error_description=\"the access token lacks a scope "
                + "this request requires\", scope=\"admin\"")

            let inHandler = try await client.sendProved(.get, "/api/checked", token: token, fixture: fixture)
            inHandler.expectRefusal(.forbidden, "insufficient_scope")
        }
    }

    @Test func aTokenWithoutScopeHasNone() async throws {
        let verifier = try fixture.verifier()
        let token = try fixture.token(scope: nil)
        try await app(verifier).test(.router) { client in
            let response = try await client.sendProved(.get, "/api/orders", token: token, fixture: fixture)
            response.expectRefusal(.forbidden, "insufficient_scope")
        }
    }

    @Test func aScopeCheckWithoutVerificationFailsClosed() async throws {
        let verifier = try fixture.verifier()
        try await app(verifier).test(.router) { client in
            let response = try await client.execute(uri: "/unguarded", method: .get)
            response.expectRefusal(.unauthorized, "missing_authorization")
        }
    }

    // MARK: - Token endpoint

    @Test func tokenEndpointModeChecksTheProofAlone() async throws {
        let verifier = try fixture.verifier()
        try await app(verifier).test(.router) { client in
            let proof = try fixture.proof("POST", "\(api)/token", token: nil)
            let accepted = try await client.send(.post, "/token", token: nil, proofs: [proof])
            #expect(accepted.status == .ok)
            #expect(accepted.text == "jkt=\(fixture.clientKey.thumbprint)")

            let wrongMethod = try fixture.proof("GET", "\(api)/token", token: nil)
            let refused = try await client.send(.post, "/token", token: nil, proofs: [wrongMethod])
            refused.expectRefusal(.badRequest, "proof_htm")
            #expect(refused.headers[.wwwAuthenticate] == nil)
            #expect(refused.text.hasPrefix("{\"error\":\"invalid_dpop_proof\""))
        }
    }

    @Test func tokenEndpointAsksForANonceWith400() async throws {
        let nonces = try NonceIssuer(secrets: [[UInt8](repeating: 9, count: 32)])
        let verifier = try fixture.verifier { $0.nonces = nonces }
        try await app(verifier).test(.router) { client in
            let proof = try fixture.proof("POST", "\(api)/token", token: nil)
            let response = try await client.send(.post, "/token", token: nil, proofs: [proof])
            response.expectRefusal(.badRequest, "nonce_required")
            #expect(response.text.hasPrefix("{\"error\":\"use_dpop_nonce\""))
            #expect(response.headers[.dpopNonce] != nil)
        }
    }

    // MARK: - Asynchronous replay stores

    /// A replay store that suspends, as a network store would.
    actor SuspendingStore: AsyncReplayStore {
        var seen: Set<ReplayKey> = []
        var inserts = 0
        let answer: ReplayInsertResult?

        init(answer: ReplayInsertResult? = nil) { self.answer = answer }

        func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) async -> ReplayInsertResult {
            await Task.yield()
            inserts += 1
            if let answer { return answer }
            return seen.insert(key).inserted ? .inserted : .replayed
        }
    }

    @Test func anAsynchronousReplayStoreIsAwaited() async throws {
        let store = SuspendingStore()
        let set = try JWKSet(json: Array(Fixture.jwks([fixture.issuerKey]).utf8))
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: Fixture.issuer, audiences: [Fixture.audience], keys: set)],
            asyncReplayStore: store)
        let token = try fixture.token()
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            let headers = Fixture.headers(token: token, proofs: [proof])
            #expect(try await client.execute(uri: "/api/orders", method: .get, headers: headers).status == .ok)
            let replay = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            #expect(replay.code == "proof_replayed")
        }
        #expect(await store.inserts == 2)
    }

    @Test func anUnavailableReplayStoreIs503() async throws {
        let set = try JWKSet(json: Array(Fixture.jwks([fixture.issuerKey]).utf8))
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: Fixture.issuer, audiences: [Fixture.audience], keys: set)],
            asyncReplayStore: SuspendingStore(answer: .unavailable))
        let token = try fixture.token()
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await app(verifier).test(.router) { client in
            let response = try await client.send(.get, "/api/orders", token: token, proofs: [proof])
            response.expectRefusal(.serviceUnavailable, "replay_store_unavailable")
        }
    }

    // MARK: - Pieces

    @Test func jsonStringsAreEscaped() {
        #expect(Refusal.jsonString("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
    }
}
