//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import IntegrationsTestSupport
import Keybound
@testable import KeyboundServe
import Logging
import Testing

/// A replay store that always answers the same.
struct FixedReplayStore: ReplayStore {
    let result: ReplayInsertResult
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult { result }
}

@Suite("keybound-serve answers")
struct AuthResponderTests {
    let fixture: Fixture
    let configuration: ServeConfiguration
    static let nginxPeer = "127.0.0.1"
    static let traefikPeer = "10.0.0.2"

    init() throws {
        fixture = try Fixture()
        configuration = try ConfigFolder.configuration(
            fixture: fixture,
            """
            routes = [{ prefix = "/api/" }, { prefix = "/api/admin", scopes = ["admin"] }, { prefix = "/api/recent", max_age = 60 }]
            proxies = [
              { style = "nginx", addresses = ["\(Self.nginxPeer)"], origin = "https://api.example" },
              { style = "traefik", addresses = ["\(Self.traefikPeer)"], external_base_url = "https://api.example/public", strip_prefix = "/internal" },
            ]
            identity_headers = { claims = { sub = "X-Sub-Claim" } }
            """)
    }

    func responder(replay: (any ReplayStore)? = nil, nonces: Bool = false) throws -> AuthResponder {
        var policy = configuration.policy
        if nonces { policy.nonces = try NonceIssuer(secrets: [Array(repeating: 7, count: 32)]) }
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: Fixture.issuer, audiences: [Fixture.audience],
                                    keys: try #require(configuration.issuers[0].localKeys))],
            policy: policy, replayStore: replay)
        return AuthResponder(configuration: configuration, verifier: verifier)
    }

    /// The headers nginx sends for `method uri`, with a token and a proof for `htu` (`nil`: no proof).
    func nginx(_ method: String, _ uri: String, htu: String?, scope: String = "orders:read profile",
               nonce: String? = nil) throws -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Original-Method")!] = method
        headers[HTTPField.Name("X-Original-URI")!] = uri
        let token = try fixture.token(scope: scope)
        headers[.authorization] = "DPoP " + token
        if let htu { headers[HTTPField.Name("DPoP")!] = try fixture.proof(method, htu, token: token, nonce: nonce) }
        return headers
    }

    func traefik(_ uri: String, htu: String) throws -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Forwarded-Method")!] = "GET"
        headers[HTTPField.Name("X-Forwarded-Uri")!] = uri
        let token = try fixture.token()
        headers[.authorization] = "DPoP " + token
        headers[HTTPField.Name("DPoP")!] = try fixture.proof("GET", htu, token: token)
        return headers
    }

    func header(_ answer: AuthAnswer, _ name: String) -> String? { answer.headers[HTTPField.Name(name)!] }

    /// A fresh responder's answer to nginx's sub-request for `GET uri`, with a proof for `https://api.example` + `uri`.
    func askOnce(_ uri: String) async throws -> AuthAnswer {
        try await responder().answer(
            peer: Self.nginxPeer, headers: nginx("GET", uri, htu: "https://api.example" + uri), now: Fixture.now)
    }

    @Test func acceptsAndSendsIdentityHeaders() async throws {
        let answer = try await askOnce("/api/orders?x=1")
        #expect(answer.status == 200)
        #expect(header(answer, "X-Keybound-Subject") == "alice")
        #expect(header(answer, "X-Keybound-Scope") == "orders:read profile")
        #expect(header(answer, "X-Keybound-Jkt") == fixture.clientKey.thumbprint)
        #expect(header(answer, "X-Sub-Claim") == "alice")
        #expect(header(answer, "Cache-Control") == "no-store")
        #expect(header(answer, "X-Keybound-Status") == nil)
    }

    @Test func aReplayIsRefused401WithTheRealStatus() async throws {
        let responder = try responder()
        let headers = try nginx("GET", "/api/a", htu: "https://api.example/api/a")
        #expect(await responder.answer(peer: Self.nginxPeer, headers: headers, now: Fixture.now).status == 200)
        let answer = await responder.answer(peer: Self.nginxPeer, headers: headers, now: Fixture.now)
        #expect(answer.status == 401)
        #expect(header(answer, "X-Keybound-Status") == "401")
        #expect(header(answer, "X-Keybound-Code") == "proof_replayed")
        #expect(header(answer, "X-Keybound-Error") == "invalid_dpop_proof")
        #expect(header(answer, "WWW-Authenticate")?.hasPrefix("DPoP ") == true)
        // The body every integration sends (KeyboundServerSupport's Refusal): error, description, code.
        let body = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: String])
        #expect(body["error"] == "invalid_dpop_proof" && body["code"] == "proof_replayed")
        #expect(body["error_description"]?.isEmpty == false)
    }

    @Test func wrongURLAndMissingProofAre401() async throws {
        let responder = try responder()
        let wrong = await responder.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/b"), now: Fixture.now)
        #expect(wrong.status == 401 && header(wrong, "X-Keybound-Code") == "proof_htu")
        let missing = await responder.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: nil), now: Fixture.now)
        #expect(missing.status == 401 && header(missing, "X-Keybound-Code") == "missing_dpop_proof")
    }

    @Test func a400TravelsAs401ToNginxAndAs400ToTraefik() async throws {
        let responder = try responder()
        var headers = try nginx("GET", "/api/a", htu: "https://api.example/api/a")
        headers.append(HTTPField(name: HTTPField.Name("DPoP")!, value: "second"))
        let toNginx = await responder.answer(peer: Self.nginxPeer, headers: headers, now: Fixture.now)
        #expect(toNginx.status == 401 && header(toNginx, "X-Keybound-Status") == "400")
        #expect(header(toNginx, "X-Keybound-Code") == "multiple_dpop_proofs")
        var twice = try traefik("/internal/api/a", htu: "https://api.example/public/api/a")
        twice.append(HTTPField(name: HTTPField.Name("DPoP")!, value: "second"))
        let toTraefik = await responder.answer(peer: Self.traefikPeer, headers: twice, now: Fixture.now)
        #expect(toTraefik.status == 400 && header(toTraefik, "X-Keybound-Status") == "400")
    }

    @Test func aMissingScopeIs403() async throws {
        let answer = try await askOnce("/api/admin/users")
        // To nginx as 401, so that auth_request copies the challenge; the real status travels beside it.
        #expect(answer.status == 401 && header(answer, "X-Keybound-Status") == "403")
        #expect(header(answer, "X-Keybound-Code") == "insufficient_scope")
        #expect(header(answer, "WWW-Authenticate")?.contains("scope=\"admin\"") == true)
    }

    @Test func stepUpIsRequiredOnItsRoute() async throws {
        let answer = try await askOnce("/api/recent")
        #expect(answer.status == 401)
        #expect(header(answer, "X-Keybound-Code") == "insufficient_user_authentication")
    }

    @Test func replayStoreFailuresAre503() async throws {
        for (result, code) in [(ReplayInsertResult.unavailable, "replay_store_unavailable"), (.full, "replay_cache_full")] {
            let responder = try responder(replay: FixedReplayStore(result: result))
            let toNginx = await responder.answer(
                peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/a"),
                now: Fixture.now)
            #expect(toNginx.status == 401 && header(toNginx, "X-Keybound-Status") == "503")
            #expect(header(toNginx, "X-Keybound-Code") == code)
            let toTraefik = await responder.answer(
                peer: Self.traefikPeer, headers: try traefik("/internal/api/a", htu: "https://api.example/public/api/a"),
                now: Fixture.now)
            #expect(toTraefik.status == 503)
        }
    }

    @Test func aKeyPastItsReplayShareIs429WithRetryAfter() async throws {
        let limited = try responder(replay: FixedReplayStore(result: .quota(retryAfter: 42)))
        let toNginx = await limited.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/a"), now: Fixture.now)
        #expect(toNginx.status == 401 && header(toNginx, "X-Keybound-Status") == "429")
        #expect(header(toNginx, "X-Keybound-Code") == "replay_quota_exceeded")
        #expect(header(toNginx, "Retry-After") == "42")
        let toTraefik = await limited.answer(
            peer: Self.traefikPeer, headers: try traefik("/internal/api/a", htu: "https://api.example/public/api/a"),
            now: Fixture.now)
        #expect(toTraefik.status == 429 && header(toTraefik, "Retry-After") == "42")
        // Any other refusal carries none.
        let replayed = try responder(replay: FixedReplayStore(result: .replayed))
        let other = await replayed.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/a"), now: Fixture.now)
        #expect(header(other, "X-Keybound-Code") == "proof_replayed" && header(other, "Retry-After") == nil)
    }

    @Test func nonceChallengeThenAccepted() async throws {
        let responder = try responder(nonces: true)
        let challenge = await responder.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/a"), now: Fixture.now)
        #expect(challenge.status == 401 && header(challenge, "X-Keybound-Code") == "nonce_required")
        let nonce = try #require(header(challenge, "DPoP-Nonce"))
        let accepted = await responder.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/a", nonce: nonce),
            now: Fixture.now)
        #expect(accepted.status == 200)
        #expect(header(accepted, "DPoP-Nonce") != nil)
    }

    @Test func traefikBaseURLRuleAndRoutesAfterTheStrip() async throws {
        let responder = try responder()
        let ok = await responder.answer(
            peer: Self.traefikPeer, headers: try traefik("/internal/api/a", htu: "https://api.example/public/api/a"),
            now: Fixture.now)
        #expect(ok.status == 200)
        let doubled = await responder.answer(
            peer: Self.traefikPeer,
            headers: try traefik("/internal/api/a", htu: "https://api.example/public/internal/api/a"), now: Fixture.now)
        #expect(doubled.status == 401 && header(doubled, "X-Keybound-Code") == "proof_htu")
    }

    @Test func serviceRefusals() async throws {
        let responder = try responder()
        let headers = try nginx("GET", "/api/a", htu: "https://api.example/api/a")
        for peer in [nil, "10.9.9.9"] {
            let untrusted = await responder.answer(peer: peer, headers: headers, now: Fixture.now)
            #expect(untrusted.status == 403 && header(untrusted, "X-Keybound-Error") == "untrusted_peer")
        }
        // nginx headers from Traefik's address: Traefik's headers are missing.
        let wrongStyle = await responder.answer(peer: Self.traefikPeer, headers: headers, now: Fixture.now)
        #expect(wrongStyle.status == 500 && header(wrongStyle, "X-Keybound-Error") == "bad_proxy_headers")
        var twoMethods = headers
        twoMethods.append(HTTPField(name: HTTPField.Name("X-Original-Method")!, value: "POST"))
        let repeated = await responder.answer(peer: Self.nginxPeer, headers: twoMethods, now: Fixture.now)
        #expect(repeated.status == 500 && header(repeated, "X-Keybound-Error") == "bad_proxy_headers")
        let noRoute = await responder.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/other", htu: "https://api.example/other"), now: Fixture.now)
        #expect(noRoute.status == 401 && header(noRoute, "X-Keybound-Status") == "403")
        #expect(header(noRoute, "X-Keybound-Error") == "no_route")
        let dotted = await responder.answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/../admin", htu: "https://api.example/admin"),
            now: Fixture.now)
        #expect(dotted.status == 401 && header(dotted, "X-Keybound-Status") == "400")
        #expect(header(dotted, "X-Keybound-Error") == "invalid_request")
        var twoAuthorizations = headers
        twoAuthorizations.append(HTTPField(name: .authorization, value: "DPoP x"))
        let malformed = await responder.answer(peer: Self.nginxPeer, headers: twoAuthorizations, now: Fixture.now)
        #expect(header(malformed, "X-Keybound-Code") == "malformed_authorization")
        #expect(header(malformed, "X-Keybound-Status") == "400")
    }

    @Test func claimHeaderValues() {
        #expect(AuthResponder.headerValue(ofClaim: "\"a@b.example\"") == "a@b.example")
        #expect(AuthResponder.headerValue(ofClaim: "42") == "42")
        #expect(AuthResponder.headerValue(ofClaim: "true") == "true")
        #expect(AuthResponder.headerValue(ofClaim: "\"a\\nb\"") == nil)
        #expect(AuthResponder.headerValue(ofClaim: "{\"a\":1}") == nil)
        #expect(AuthResponder.headerValue(ofClaim: "[1]") == nil)
        #expect(AuthResponder.headerValue(ofClaim: "null") == nil)
    }

    @Test func anIPv4MappedPeerIsItsIPv4Address() async throws {
        let answer = try await responder().answer(
            peer: "::ffff:127.0.0.1", headers: nginx("GET", "/api/a", htu: "https://api.example/api/a"), now: Fixture.now)
        #expect(answer.status == 200)
    }

    @Test func aReloadKeepsTheReplayEntries() async throws {
        let runtime = try ServeRuntime(replayCapacity: 4096, logger: Logger(label: "test"))
        try await runtime.install(configuration)
        let headers = try nginx("GET", "/api/a", htu: "https://api.example/api/a")
        let first = try #require(runtime.responder)
        #expect(await first.answer(peer: Self.nginxPeer, headers: headers, now: Fixture.now).status == 200)
        try await runtime.install(configuration)
        let second = try #require(runtime.responder)
        #expect(second.verifier !== first.verifier)
        let replay = await second.answer(peer: Self.nginxPeer, headers: headers, now: Fixture.now)
        #expect(header(replay, "X-Keybound-Code") == "proof_replayed")
        runtime.stop()
    }
}
