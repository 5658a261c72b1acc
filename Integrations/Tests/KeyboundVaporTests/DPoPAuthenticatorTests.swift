//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import Logging
import Testing
import Vapor
import VaporTesting

@testable import KeyboundVapor

/// The Vapor authenticator in a real application, served on a loopback port for every request (VaporTesting's
/// `.running` tester), behind Vapor's default `ErrorMiddleware`.
@Suite("Vapor DPoPAuthenticator")
struct DPoPAuthenticatorTests: FixtureSuite {
    let fixture: Fixture

    init() throws { fixture = try Fixture() }

    /// An application's own user, logged in from the DPoP identity or from Basic credentials.
    struct User: Authenticatable { let name: String }

    /// The application's authenticator after DPoP: maps the verified subject to a `User`.
    struct SubjectAuthenticator: AsyncRequestAuthenticator {
        func authenticate(request: Request) async throws {
            if let subject = request.dpop?.subject { request.auth.login(User(name: subject)) }
        }
    }

    struct PasswordAuthenticator: AsyncBasicAuthenticator {
        func authenticate(basic: BasicAuthorization, for request: Request) async throws {
            if basic.username == "ops", basic.password == "secret" { request.auth.login(User(name: "ops")) }
        }
    }

    /// `/api/orders`, `/api/raw/**`, `/api/user` (DPoP, then the subject as a `User`), `/basic/user` (Basic alone)
    /// and `/token` (token-endpoint mode), all verified against `requestURL`.
    func withDPoPApp(
        _ verifier: Verifier,
        requestURL: RequestURLSource = .externalBaseURL("https://api.example/"),
        logs: RecordingLogHandler.Store? = nil,
        _ test: (any TestingApplicationTester) async throws -> Void
    ) async throws {
        try await withApp(configure: { app in
            if let logs { app.logger = logs.logger() }
            let now: @Sendable () -> Int64 = { Fixture.now }
            let dpop = DPoPAuthenticator(verifier: verifier, requestURL: requestURL, now: now)
            let api = app.grouped("api").grouped(dpop)
            api.get("orders") { req in "sub=\(req.dpop?.subject ?? "-") jkt=\(req.dpop?.jkt ?? "-")" }
            api.get("raw", "**") { _ in "raw" }
            api.grouped(SubjectAuthenticator(), User.guardMiddleware()).get("user") { req in
                "user=\(try req.auth.require(User.self).name) dpop=\(req.auth.has(DPoPIdentity.self))"
            }
            app.grouped("basic").grouped(PasswordAuthenticator(), User.guardMiddleware()).get("user") { req in
                "user=\(try req.auth.require(User.self).name) dpop=\(req.auth.has(DPoPIdentity.self))"
            }
            app.grouped(DPoPAuthenticator(verifier: verifier, requestURL: requestURL, mode: .tokenEndpoint, now: now))
                .post("token") { req in "jkt=\(req.dpop?.jkt ?? "-")" }
        }) { app in
            try await test(app.testing(method: .running(hostname: "127.0.0.1", port: 0)))
        }
    }

    /// `Authorization: DPoP …` and `DPoP: …` headers.
    static func headers(token: String?, proofs: [String], scheme: String = "DPoP") -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let token { headers.add(name: .authorization, value: "\(scheme) \(token)") }
        for proof in proofs { headers.add(name: "DPoP", value: proof) }
        return headers
    }

    // MARK: - Success

    @Test func aVerifiedRequestReachesTheHandler() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await withDPoPApp(verifier) { app in
            let response = try await app.send(.GET, "/api/orders?page=2", token: token, proofs: [proof])
            #expect(response.status == .ok)
            #expect(response.body.string == "sub=alice jkt=\(fixture.clientKey.thumbprint)")
            #expect(response.headers.first(name: "DPoP-Nonce") == nil)
        }
    }

    @Test func theTargetIsComparedPercentEncoded() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let (encoded, decoded) = try fixture.percentEncodedProofs(token: token)
        try await withDPoPApp(verifier) { app in
            #expect(try await app.send(.GET, "/api/raw/a%2Fb", token: token, proofs: [encoded]).status == .ok)
            try await app.send(.GET, "/api/raw/a%2Fb", token: token, proofs: [decoded]).expectRefusal(.unauthorized, "proof_htu")
        }
    }

    @Test func theExternalBaseURLKeepsItsPathPrefix() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "https://gateway.example/v1/api/orders", token: token)
        try await withDPoPApp(verifier, requestURL: .externalBaseURL("https://gateway.example/v1")) { app in
            var headers = Self.headers(token: token, proofs: [proof])
            headers.replaceOrAdd(name: "X-Forwarded-Host", value: "evil.example")
            let response = try await app.sendRequest(.GET, "/api/orders", headers: headers)
            #expect(response.status == .ok)
        }
    }

    @Test func forwardedHeadersCountOnlyWhenTrusted() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let source = RequestURLSource.trustedForwardedHeaders(defaultScheme: "http")
        try await withDPoPApp(verifier, requestURL: source) { app in
            var headers = Self.headers(
                token: token, proofs: [try fixture.proof("GET", "\(api)/api/orders", token: token)])
            headers.replaceOrAdd(name: "X-Forwarded-Host", value: "api.example")
            headers.replaceOrAdd(name: "X-Forwarded-Proto", value: "https")
            #expect(try await app.sendRequest(.GET, "/api/orders", headers: headers).status == .ok)
        }
    }

    @Test func anotherAuthenticatorBuildsOnTheIdentity() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        try await withDPoPApp(verifier) { app in
            let proof = try fixture.proof("GET", "\(api)/api/user", token: token)
            let dpop = try await app.send(.GET, "/api/user", token: token, proofs: [proof])
            #expect((dpop.status, dpop.body.string) == (.ok, "user=alice dpop=true"))

            var basic = HTTPHeaders()
            basic.basicAuthorization = BasicAuthorization(username: "ops", password: "secret")
            let other = try await app.sendRequest(.GET, "/basic/user", headers: basic)
            #expect(other.status == .ok)
            #expect(other.body.string == "user=ops dpop=false")
        }
    }

    // MARK: - Refusals

    @Test func aMissingProofIsRefusedWithAChallenge() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        try await withDPoPApp(verifier) { app in
            let noProof = try await app.send(.GET, "/api/orders", token: token, proofs: [])
            noProof.expectRefusal(.unauthorized, "missing_dpop_proof")
            let challenge = noProof.headers.first(name: .wwwAuthenticate)
            #expect(challenge?.hasPrefix("DPoP error=\"invalid_dpop_proof\"") == true)
            #expect(noProof.headers.first(name: .cacheControl) == "no-store")

            let nothing = try await app.sendRequest(.GET, "/api/orders")
            nothing.expectRefusal(.unauthorized, "missing_authorization")
            let bare = try #require(nothing.headers.first(name: .wwwAuthenticate))
            #expect(bare.hasPrefix("DPoP algs=\""))
        }
    }

    @Test func aProofForAnotherURLIsRefused() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let foreign = try fixture.proof("GET", "https://evil.example/api/orders", token: token)
        try await withDPoPApp(verifier) { app in
            var headers = Self.headers(token: token, proofs: [foreign])
            headers.replaceOrAdd(name: "X-Forwarded-Host", value: "evil.example")
            headers.replaceOrAdd(name: "X-Forwarded-Proto", value: "https")
            let response = try await app.sendRequest(.GET, "/api/orders", headers: headers)
            response.expectRefusal(.unauthorized, "proof_htu")
            #expect(response.headers.first(name: .wwwAuthenticate)?.contains("error=\"invalid_dpop_proof\"") == true)
        }
    }

    @Test func aReplayedProofIsRefusedAndLoggedWithoutRequestBytes() async throws {
        let logs = RecordingLogHandler.Store()
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await withDPoPApp(verifier, logs: logs) { app in
            let headers = Self.headers(token: token, proofs: [proof])
            #expect(try await app.sendRequest(.GET, "/api/orders", headers: headers).status == .ok)
            let replay = try await app.sendRequest(.GET, "/api/orders", headers: headers)
            replay.expectRefusal(.unauthorized, "proof_replayed")
            #expect(replay.headers.first(name: .wwwAuthenticate)?.contains("error=\"invalid_dpop_proof\"") == true)
        }
        let refusals = logs.all.filter { $0.message == "DPoP request refused" }
        #expect(refusals.count == 1)
        let entry = try #require(refusals.first)
        #expect(entry.level == .debug)
        #expect(entry.metadata["keybound.code"] == "proof_replayed")
        #expect(entry.metadata["keybound.status"] == "211")
        #expect(entry.metadata["http.status"] == "401")
        // Neither the token, the proof nor any part of them is logged, by the authenticator or by Vapor.
        let signature = String(proof.split(separator: ".").last ?? "")
        for logged in logs.all {
            #expect(!logged.text.contains(token))
            #expect(!logged.text.contains(signature))
        }
        // Vapor's ErrorMiddleware reports the refusal at debug level too, not as a warning.
        let reports = logs.all.filter { $0.message.contains("proof_replayed") && $0.message != "DPoP request refused" }
        #expect(!reports.isEmpty)
        #expect(reports.allSatisfy { $0.level == .debug })
    }

    @Test func twoProofsAreABadRequest() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let first = try fixture.proof("GET", "\(api)/api/orders", token: token)
        let second = try fixture.proof("GET", "\(api)/api/orders", token: token)
        try await withDPoPApp(verifier) { app in
            let response = try await app.send(.GET, "/api/orders", token: token, proofs: [first, second])
            response.expectRefusal(.badRequest, "multiple_dpop_proofs")
        }
    }

    @Test func aKeyPastItsReplayShareGets429WithRetryAfter() async throws {
        let verifier = try fixture.verifier { policy in
            policy.replayCacheCapacity = 64
            policy.replayKeyShare = 1
        }
        let token = try fixture.token()
        try await withDPoPApp(verifier) { app in
            let first = try fixture.proof("GET", "\(api)/api/orders", token: token)
            let ok = try await app.send(.GET, "/api/orders", token: token, proofs: [first])
            #expect(ok.status == .ok)
            let second = try fixture.proof("GET", "\(api)/api/orders", token: token)
            let refused = try await app.send(.GET, "/api/orders", token: token, proofs: [second])
            refused.expectRefusal(.tooManyRequests, "replay_quota_exceeded")
            #expect(refused.headers.first(name: "Retry-After") == "70")
            // The token endpoint answers 429 too (RFC 9449 §5 leaves rate limits to the server).
            let third = try fixture.proof("POST", "\(api)/token", token: nil)
            let tokenEndpoint = try await app.send(.POST, "/token", token: nil, proofs: [third])
            #expect(tokenEndpoint.status == .tooManyRequests)
            #expect(tokenEndpoint.headers.first(name: "Retry-After") == "70")
        }
    }

    @Test func aBearerTokenIsRefused() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        try await withDPoPApp(verifier) { app in
            let response = try await app.send(.GET, "/api/orders", token: token, proofs: [], scheme: "Bearer")
            response.expectRefusal(.unauthorized, "unsupported_scheme")
            #expect(response.headers.first(name: .wwwAuthenticate)?.contains("error=") == false)
        }
    }

    // MARK: - Step-up (RFC 9470)

    @Test func aRouteCanDemandARecentLogin() async throws {
        let verifier = try fixture.verifier()
        let now: @Sendable () -> Int64 = { Fixture.now }
        try await withApp(configure: { app in
            let recent = DPoPAuthenticator(
                verifier: verifier, requestURL: .externalBaseURL(api), requirements: Requirements(maxAge: 300),
                now: now)
            app.grouped(recent).post("delete") { _ in "deleted" }
        }) { app in
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            let old = try fixture.token(authTime: Fixture.now - 3_600)
            let refused = try await tester.sendRequest(
                .POST, "/delete",
                headers: Self.headers(token: old, proofs: [try fixture.proof("POST", "\(api)/delete", token: old)]))
            refused.expectRefusal(.unauthorized, "insufficient_user_authentication")
            let challenge = try #require(refused.headers.first(name: .wwwAuthenticate))
            #expect(challenge.hasPrefix("DPoP error=\"insufficient_user_authentication\""))
            #expect(challenge.contains("max_age=\"300\"") || challenge.contains("max_age=300"))

            let fresh = try fixture.token(authTime: Fixture.now - 60)
            let accepted = try await tester.sendRequest(
                .POST, "/delete",
                headers: Self.headers(token: fresh, proofs: [try fixture.proof("POST", "\(api)/delete", token: fresh)]))
            #expect(accepted.status == .ok)
        }
    }

    // MARK: - Nonces

    @Test func aNonceIsAskedForThenAcceptedAndRenewed() async throws {
        let nonces = try NonceIssuer(secrets: [[UInt8](repeating: 7, count: 32)])
        let verifier = try fixture.verifier { $0.nonces = nonces }
        let token = try fixture.token()
        try await withDPoPApp(verifier) { app in
            let first = try await app.sendRequest(
                .GET, "/api/orders",
                headers: Self.headers(
                    token: token, proofs: [try fixture.proof("GET", "\(api)/api/orders", token: token)]))
            first.expectRefusal(.unauthorized, "nonce_required")
            #expect(first.headers.first(name: .wwwAuthenticate)?.hasPrefix("DPoP error=\"use_dpop_nonce\"") == true)
            let nonce = try #require(first.headers.first(name: "DPoP-Nonce"))

            let retry = try fixture.proof("GET", "\(api)/api/orders", token: token, nonce: nonce)
            let second = try await app.send(.GET, "/api/orders", token: token, proofs: [retry])
            #expect(second.status == .ok)
            #expect(second.headers.first(name: "DPoP-Nonce")?.count == NonceIssuer.encodedCount)
        }
    }

    // MARK: - Token endpoint

    @Test func theTokenEndpointChecksTheProofAloneAndAnswers400() async throws {
        let verifier = try fixture.verifier()
        try await withDPoPApp(verifier) { app in
            let proof = try fixture.proof("POST", "\(api)/token", token: nil)
            let accepted = try await app.send(.POST, "/token", token: nil, proofs: [proof])
            #expect(accepted.status == .ok)
            #expect(accepted.body.string == "jkt=\(fixture.clientKey.thumbprint)")

            let wrongMethod = try fixture.proof("GET", "\(api)/token", token: nil)
            let refused = try await app.send(.POST, "/token", token: nil, proofs: [wrongMethod])
            refused.expectRefusal(.badRequest, "proof_htm")
            #expect(refused.headers.first(name: .wwwAuthenticate) == nil)
        }
    }

    // MARK: - Pieces

    @Test func theAbortCarriesTheRefusal() throws {
        let verifier = try fixture.verifier()
        let refusal = Refusal(
            KeyboundError(.nonceRequired, reason: "a nonce is required").withDPoPNonce("n-1"), verifier: verifier,
            tokenEndpoint: false)
        let abort = DPoPAbort(refusal)
        #expect(abort.status == .unauthorized)
        #expect(abort.reason == "nonce_required: a nonce is required")
        #expect(abort.headers.first(name: "DPoP-Nonce") == "n-1")
        #expect(abort.logLevel == .debug)
        #expect(refusal.body.contains("\"code\":\"nonce_required\""))
    }
}

extension TestingApplicationTester {
    /// Sends `method path` with `Authorization: <scheme> token` (when given) and one `DPoP` field per proof.
    func send(
        _ method: HTTPMethod, _ path: String, token: String?, proofs: [String], scheme: String = "DPoP"
    ) async throws -> TestingHTTPResponse {
        let headers = DPoPAuthenticatorTests.headers(token: token, proofs: proofs, scheme: scheme)
        return try await sendRequest(method, path, headers: headers)
    }
}

extension TestingHTTPResponse {
    /// Expects a refusal: the HTTP status and the code that starts Vapor's error `reason`.
    func expectRefusal(
        _ status: HTTPResponseStatus, _ code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(self.status == status, sourceLocation: sourceLocation)
        #expect(self.code == code, sourceLocation: sourceLocation)
    }

    /// The refusal's code: the start of the `reason` in Vapor's `ErrorMiddleware` body (`"<code>: <reason>"`).
    var code: String? {
        struct Body: Decodable {
            let reason: String
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(self.body.string.utf8)) else { return nil }
        return body.reason.split(separator: ":", maxSplits: 1).first.map(String.init)
    }
}
