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
import NIOCore
import Testing

/// Envoy `ext_authz` (HTTP service): the check request's own method and path describe the original request.
@Suite("keybound-serve for Envoy")
struct EnvoyTests {
    let fixture: Fixture
    static let peer = "127.0.0.1"
    static let forwardedPeer = "10.0.0.7"
    static let basePeer = "10.0.0.8"

    init() throws {
        fixture = try Fixture()
    }

    func configuration(replayCapacity: Int = 4096) throws -> ServeConfiguration {
        try ConfigFolder.configuration(
            fixture: fixture,
            """
            routes = [{ prefix = "/api/" }, { prefix = "/ext_authz/" }]
            proxies = [
              { style = "envoy", addresses = ["\(Self.peer)"], path_prefix = "/ext_authz", origin = "https://api.example" },
              { style = "envoy", addresses = ["\(Self.forwardedPeer)"], path_prefix = "/check/v1", origin = "forwarded" },
              { style = "envoy", addresses = ["\(Self.basePeer)"], path_prefix = "/ext_authz", external_base_url = "https://api.example/public", strip_prefix = "/internal" },
            ]
            replay = { capacity = \(replayCapacity) }
            """)
    }

    func proxy(_ index: Int) throws -> ServeConfiguration.Proxy { try configuration().proxies[index] }

    /// The check request's credentials: a token, and a proof for `method htu`.
    func credentials(_ method: String = "GET", htu: String) throws -> HTTPFields {
        var headers = HTTPFields()
        let token = try fixture.token()
        headers[.authorization] = "DPoP " + token
        headers[HTTPField.Name("DPoP")!] = try fixture.proof(method, htu, token: token)
        return headers
    }

    func header(_ answer: AuthAnswer, _ name: String) -> String? { answer.headers[HTTPField.Name(name)!] }

    // MARK: - Configuration

    @Test func pathPrefixIsRequiredAndChecked() throws {
        let proxy = try proxy(0)
        #expect(proxy.style == .envoy && proxy.pathPrefix == "/ext_authz" && proxy.url == .origin("https://api.example"))
        #expect(try self.proxy(1).pathPrefix == "/check/v1")
        let envoy = "style = \"envoy\", addresses = [\"127.0.0.1\"], origin = \"https://api.example\""
        let cases: [(String, String)] = [
            (envoy, "proxies[0].path_prefix: is required"),
            (envoy + ", path_prefix = \"\"", "proxies[0].path_prefix: must not be empty"),
            (envoy + ", path_prefix = 7", "proxies[0].path_prefix: must be a string"),
            (envoy + ", path_prefix = \"ext_authz\"", "proxies[0].path_prefix: must start with / and not end with /"),
            (envoy + ", path_prefix = \"/ext_authz/\"", "proxies[0].path_prefix: must start with / and not end with /"),
            (envoy + ", path_prefix = \"/\"", "proxies[0].path_prefix: must start with / and not end with /"),
            (envoy + ", path_prefix = \"/a//b\"",
             "proxies[0].path_prefix: each segment must be letters, digits, -, ., _ or ~ (not empty, . or ..)"),
            (envoy + ", path_prefix = \"/a/../b\"",
             "proxies[0].path_prefix: each segment must be letters, digits, -, ., _ or ~ (not empty, . or ..)"),
            (envoy + ", path_prefix = \"/a?b\"",
             "proxies[0].path_prefix: each segment must be letters, digits, -, ., _ or ~ (not empty, . or ..)"),
            (envoy + ", path_prefix = \"/a%2Fb\"",
             "proxies[0].path_prefix: each segment must be letters, digits, -, ., _ or ~ (not empty, . or ..)"),
            (envoy + ", path_prefix = \"/healthz\"", "proxies[0].path_prefix: must not lie under /healthz, /readyz or /metrics"),
            (envoy + ", path_prefix = \"/Metrics/x\"", "proxies[0].path_prefix: must not lie under /healthz, /readyz or /metrics"),
            ("style = \"nginx\", addresses = [\"127.0.0.1\"], origin = \"https://api.example\", path_prefix = \"/x\"",
             "proxies[0].path_prefix: applies only to style = \"envoy\""),
            ("style = \"haproxy\", addresses = [\"127.0.0.1\"], origin = \"https://api.example\"",
             "proxies[0].style: must be \"nginx\", \"traefik\" or \"envoy\""),
        ]
        for (proxy, message) in cases {
            do {
                _ = try ConfigFolder.configuration(
                    fixture: fixture, "routes = [{ prefix = \"/\" }]\nproxies = [{ \(proxy) }]")
                Issue.record("accepted: \(proxy)")
            } catch let error as ServeConfigurationError {
                #expect(error.description == message, "\(proxy)")
            }
        }
        // A prefix that merely starts like a reserved path is fine.
        let fine = try ConfigFolder.configuration(
            fixture: fixture, "routes = [{ prefix = \"/\" }]\nproxies = [{ \(envoy), path_prefix = \"/healthzcheck\" }]")
        #expect(fine.proxies[0].pathPrefix == "/healthzcheck")
    }

    // MARK: - The original request

    /// What proxy `index` makes of the check request `method target` (no headers).
    func original(_ index: Int, _ target: String, method: String = "GET") throws -> AuthResponder.Original? {
        AuthResponder.original(HTTPFields(), proxy: try proxy(index), request: .init(method: method, target: target))
    }

    @Test func originalStripsThePrefixOnceAndKeepsTheQuery() throws {
        let query = "/api/orders?x=1&y=%20"
        #expect(try original(0, "/ext_authz" + query, method: "PATCH") == AuthResponder.Original(
            method: "PATCH", uri: query, routeURI: query, url: "https://api.example" + query))
        // An original path that itself starts with the prefix keeps it: the prefix comes off once.
        #expect(try original(0, "/ext_authz/ext_authz/a") == AuthResponder.Original(
            method: "GET", uri: "/ext_authz/a", routeURI: "/ext_authz/a", url: "https://api.example/ext_authz/a"))
        #expect(try original(0, "/ext_authz/")?.url == "https://api.example/")
    }

    @Test func originalRefusesATargetOutsideThePrefix() throws {
        let proxy = try proxy(0)
        for target in ["/api/orders", "/ext_authzx/api", "/ext_authz", "/ext_authz?x=1", "/EXT_AUTHZ/api", "", "*"] {
            #expect(try original(0, target) == nil, "\(target)")
        }
        // No check request at all (the headers alone describe nothing for Envoy), or a method that is not a token.
        #expect(AuthResponder.original(HTTPFields(), proxy: proxy) == nil)
        #expect(try original(0, "/ext_authz/a", method: "") == nil)
        #expect(try original(0, "/ext_authz/a", method: "GE T") == nil)
        // nginx's and Traefik's headers are not read.
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Original-Method")!] = "GET"
        headers[HTTPField.Name("X-Original-URI")!] = "/api/a"
        #expect(AuthResponder.original(headers, proxy: proxy) == nil)
    }

    @Test func forwardedOriginIsTheProtoAndTheCheckRequestsHost() throws {
        let proxy = try proxy(1)
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Forwarded-Proto")!] = "https"
        let request = AuthResponder.SubRequest(method: "GET", target: "/check/v1/api/a?q", authority: "api.example:8443")
        let original = try #require(AuthResponder.original(headers, proxy: proxy, request: request))
        #expect(original.url == "https://api.example:8443/api/a?q")
        // X-Forwarded-Host is not Envoy's: the authority of the check request is.
        headers[HTTPField.Name("X-Forwarded-Host")!] = "evil.example"
        #expect(AuthResponder.original(headers, proxy: proxy, request: request)?.url == "https://api.example:8443/api/a?q")
        // Without an authority, a single Host header; two are refused, as is a missing proto or host.
        var hosted = headers
        hosted[HTTPField.Name("Host")!] = "api.example"
        let noAuthority = AuthResponder.SubRequest(method: "GET", target: "/check/v1/api/a")
        #expect(AuthResponder.original(hosted, proxy: proxy, request: noAuthority)?.url == "https://api.example/api/a")
        hosted.append(HTTPField(name: HTTPField.Name("Host")!, value: "other.example"))
        #expect(AuthResponder.original(hosted, proxy: proxy, request: noAuthority) == nil)
        #expect(AuthResponder.original(headers, proxy: proxy, request: noAuthority) == nil)
        #expect(AuthResponder.original(HTTPFields(), proxy: proxy, request: request) == nil)
    }

    @Test func baseURLRuleAppliesAfterThePathPrefix() throws {
        #expect(try original(2, "/ext_authz/internal/api/a?x=1") == AuthResponder.Original(
            method: "GET", uri: "/internal/api/a?x=1", routeURI: "/api/a?x=1",
            url: "https://api.example/public/api/a?x=1"))
        #expect(try original(2, "/ext_authz/api/a") == nil)
    }

    // MARK: - Answers

    func responder() throws -> AuthResponder {
        let configuration = try configuration()
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: Fixture.issuer, audiences: [Fixture.audience],
                                    keys: try #require(configuration.issuers[0].localKeys))],
            policy: configuration.policy)
        return AuthResponder(configuration: configuration, verifier: verifier)
    }

    @Test func refusalsGoAsTheyAre() async throws {
        let responder = try responder()
        let check = AuthResponder.SubRequest(method: "GET", target: "/ext_authz/api/orders?x=1")
        // The proof names the check request's URL, prefix and all: the wrong htu.
        let doubled = try credentials(htu: "https://api.example/ext_authz/api/orders?x=1")
        let wrong = await responder.answer(peer: Self.peer, headers: doubled, request: check, now: Fixture.now)
        #expect(wrong.status == 401 && header(wrong, "X-Keybound-Code") == "proof_htu")
        // A 400 stays 400 (nginx would get 401).
        var twice = try credentials(htu: "https://api.example/api/orders?x=1")
        twice.append(HTTPField(name: HTTPField.Name("DPoP")!, value: "second"))
        let badRequest = await responder.answer(peer: Self.peer, headers: twice, request: check, now: Fixture.now)
        #expect(badRequest.status == 400 && header(badRequest, "X-Keybound-Code") == "multiple_dpop_proofs")
        // The service's own refusals: outside the prefix, no route, a dotted path, an untrusted peer.
        let headers = try credentials(htu: "https://api.example/api/orders?x=1")
        let outside = await responder.answer(
            peer: Self.peer, headers: headers, request: .init(method: "GET", target: "/api/orders?x=1"), now: Fixture.now)
        #expect(outside.status == 500 && header(outside, "X-Keybound-Error") == "bad_proxy_headers")
        let noRequest = await responder.answer(peer: Self.peer, headers: headers, now: Fixture.now)
        #expect(noRequest.status == 500 && header(noRequest, "X-Keybound-Error") == "bad_proxy_headers")
        let noRoute = await responder.answer(
            peer: Self.peer, headers: headers, request: .init(method: "GET", target: "/ext_authz/other"), now: Fixture.now)
        #expect(noRoute.status == 403 && header(noRoute, "X-Keybound-Error") == "no_route")
        let dotted = await responder.answer(
            peer: Self.peer, headers: headers, request: .init(method: "GET", target: "/ext_authz/api/../admin"),
            now: Fixture.now)
        #expect(dotted.status == 400 && header(dotted, "X-Keybound-Error") == "invalid_request")
        let untrusted = await responder.answer(peer: "10.9.9.9", headers: headers, request: check, now: Fixture.now)
        #expect(untrusted.status == 403 && header(untrusted, "X-Keybound-Error") == "untrusted_peer")
        // The method is the check request's.
        let post = await responder.answer(
            peer: Self.peer, headers: try credentials("POST", htu: "https://api.example/api/orders?x=1"),
            request: .init(method: "POST", target: "/ext_authz/api/orders?x=1"), now: Fixture.now)
        #expect(post.status == 200)
        let mismatch = await responder.answer(
            peer: Self.peer, headers: try credentials("POST", htu: "https://api.example/api/orders?x=1"),
            request: check, now: Fixture.now)
        #expect(mismatch.status == 401 && header(mismatch, "X-Keybound-Code") == "proof_htm")
    }

    // MARK: - Through the HTTP server

    /// A check request as Envoy sends it: the original method, path_prefix + original path, the allowed headers.
    func check(
        _ client: ServeClient, _ uri: String, method: HTTPRequest.Method = .get, headers: HTTPFields
    ) async throws -> ServeClient.Reply {
        try await client.execute(uri: "/ext_authz" + uri, method: method, headers: headers)
    }

    @Test func checkRequestsThroughTheServer() async throws {
        let configuration = try configuration(replayCapacity: 1024)
        let runtime = try ServeRuntime(for: configuration, logger: AuthResponder.quiet, now: { Fixture.now })
        try await runtime.install(configuration)
        // One proof key may hold capacity / 8 live replay entries (docs/design.md, "Per-key replay share").
        let share = configuration.policy.effectiveReplayKeyShare
        #expect(share == 128)
        let server = try await ServeServer.start(runtime: runtime, host: Self.peer, port: 0)
        let client = ServeClient(port: try #require(server.port))
        do {
            let headers = try credentials(htu: "https://api.example/api/orders?x=1")
            let accepted = try await check(client, "/api/orders?x=1", headers: headers)
            #expect(accepted.status == .ok)
            #expect(accepted.headers[HTTPField.Name("X-Keybound-Subject")!] == "alice")
            #expect(accepted.headers[HTTPField.Name("X-Keybound-Scope")!] == "orders:read profile")
            #expect(accepted.headers[HTTPField.Name("X-Keybound-Jkt")!] == fixture.clientKey.thumbprint)

            let replayed = try await check(client, "/api/orders?x=1", headers: headers)
            #expect(replayed.status == .unauthorized)
            #expect(replayed.headers[.wwwAuthenticate]?.hasPrefix("DPoP ") == true)
            #expect(replayed.headers[.wwwAuthenticate]?.contains("invalid_dpop_proof") == true)
            #expect(replayed.headers[HTTPField.Name("X-Keybound-Code")!] == "proof_replayed")
            let body = try #require(
                try JSONSerialization.jsonObject(with: Data(replayed.body.utf8)) as? [String: String])
            #expect(body["code"] == "proof_replayed")

            // Any method reaches the auth endpoint, and the proof's htm must be it.
            let deleted = try await check(
                client, "/api/orders/7", method: .delete, headers: try credentials("DELETE", htu: "https://api.example/api/orders/7"))
            #expect(deleted.status == .ok)
            let custom = HTTPRequest.Method("PROPFIND")!
            let propfind = try await check(
                client, "/api/dav", method: custom, headers: try credentials("PROPFIND", htu: "https://api.example/api/dav"))
            #expect(propfind.status == .ok)

            // The key's share fills up (three proofs above, 124 here, one more over HTTP), then: 429 with
            // Retry-After (the replayed proof took no entry).
            for index in 0..<(share - 4) {
                let uri = "/api/fill/\(index)"
                let answer = await runtime.serve(
                    peer: Self.peer, headers: try credentials(htu: "https://api.example" + uri),
                    request: .init(method: "GET", target: "/ext_authz" + uri))
                #expect(answer?.status == 200)
            }
            #expect(try await check(
                client, "/api/last", headers: try credentials(htu: "https://api.example/api/last")).status == .ok)
            let limited = try await check(
                client, "/api/over", headers: try credentials(htu: "https://api.example/api/over"))
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter].flatMap { Int($0) }.map { $0 > 0 } == true)
            #expect(limited.headers[HTTPField.Name("X-Keybound-Code")!] == "replay_quota_exceeded")

            // Outside the prefix: refused, never verified.
            let outside = try await client.execute(uri: "/api/orders", method: .get, headers: headers)
            #expect(outside.status == .internalServerError)
            #expect(outside.headers[HTTPField.Name("X-Keybound-Error")!] == "bad_proxy_headers")

            // The service's own endpoints stay theirs (ServeServerTests.swift has their methods).
            let healthz = try await client.execute(uri: "/healthz", method: .get)
            #expect(healthz.status == .ok && healthz.body == "ok\n")
            let readyz = try await client.execute(uri: "/readyz", method: .get)
            #expect(readyz.status == .ok && readyz.body == "ready\n")
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok && metrics.body.contains("keybound_serve_answers_total"))
        }
        try await server.shutdown()
        runtime.stop()
    }
}
