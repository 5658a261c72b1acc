//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import HTTPTypes
import IntegrationsTestSupport
import Keybound
import KeyboundRedis
@testable import KeyboundServe
import Testing

/// keybound-serve's HTTP server over real TCP: the service's own endpoints, answers before a configuration is in
/// force, both ways an auth sub-request is verified (inline with the in-process store, in a task with Redis).
extension ServeRuntimeTests {
    /// Runs `body` against a server for `runtime` on a free loopback port, then stops the server.
    func serving(_ runtime: ServeRuntime, _ body: (ServeClient) async throws -> Void) async throws {
        let server = try await ServeServer.start(runtime: runtime, host: Self.peer, port: 0)
        do {
            try await body(ServeClient(port: try #require(server.port)))
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
        runtime.stop()
    }

    @Test func serverEndpointsAnswerGetAndHeadAndRefuseOtherMethods() async throws {
        let runtime = try runtime()
        try await runtime.install(configuration)
        try await serving(runtime) { client in
            for path in ["/healthz", "/readyz", "/metrics"] {
                let get = try await client.execute(uri: path)
                #expect(get.status == .ok, "\(path)")
                #expect(get.headers[.cacheControl] == "no-store")
                let head = try await client.execute(uri: path, method: .head)
                #expect(head.status == .ok && head.body.isEmpty, "\(path)")
                // HEAD announces the length GET's body has (/metrics changes between scrapes; not compared).
                if path != "/metrics" { #expect(head.headers[.contentLength] == String(get.body.utf8.count)) }
                for method in [HTTPRequest.Method.post, .put, .delete, .options] {
                    let refused = try await client.execute(uri: path, method: method, headers: try nginx("/api/a"))
                    #expect(refused.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(refused.headers[.allow] == "GET, HEAD")
                    #expect(refused.headers[HTTPField.Name("X-Keybound-Code")!] == nil, "never an auth answer")
                }
            }
            #expect(try await client.execute(uri: "/healthz?probe=1").body == "ok\n")
            // A path that only starts like an endpoint is an auth sub-request.
            let auth = try await client.execute(uri: "/healthz/x", headers: try nginx("/api/a"))
            #expect(auth.status == .ok && auth.headers[.cacheControl] == "no-store")
        }
        // Nothing above reached the verifier but the one sub-request.
        #expect(runtime.responder?.verifier.metrics.verified == 1)
    }

    @Test func serverAnswers503BeforeAConfigurationIsInForce() async throws {
        let runtime = try runtime()
        try await serving(runtime) { client in
            let early = try await client.execute(uri: "/_keybound", headers: try nginx("/api/a"))
            #expect(early.status == .serviceUnavailable)
            let readyz = try await client.execute(uri: "/readyz")
            #expect(readyz.status == .serviceUnavailable && readyz.body == "not ready: no configuration loaded\n")
            #expect(try await client.execute(uri: "/healthz").status == .ok)
        }
    }

    @Test func serverAnswersInlineWithTheInProcessStore() async throws {
        let runtime = try runtime()
        #expect(runtime.answersInline)
        try await runtime.install(configuration)
        try await serving(runtime) { client in
            let headers = try nginx("/api/a")
            let accepted = try await client.execute(uri: "/_keybound", headers: headers)
            #expect(accepted.status == .ok && accepted.body.isEmpty)
            #expect(accepted.headers[HTTPField.Name("X-Keybound-Subject")!] == "alice")
            let replayed = try await client.execute(uri: "/_keybound", headers: headers)
            // To nginx every refusal is a 401 carrying the real status.
            #expect(replayed.status == .unauthorized)
            #expect(replayed.headers[HTTPField.Name("X-Keybound-Status")!] == "401")
            #expect(replayed.headers[HTTPField.Name("X-Keybound-Code")!] == "proof_replayed")
            #expect(replayed.headers[.wwwAuthenticate]?.hasPrefix("DPoP ") == true)
            #expect(replayed.headers[.contentType] == "application/json" && replayed.body.contains("proof_replayed"))
            let untrusted = try await client.execute(uri: "/_keybound", method: .get, headers: [:])
            #expect(untrusted.status == .internalServerError)
            #expect(untrusted.headers[HTTPField.Name("X-Keybound-Error")!] == "bad_proxy_headers")
        }
        let text = runtime.metricsText()
        #expect(text.contains("keybound_serve_answers_total{status=\"200\"} 1"))
        #expect(text.contains("keybound_serve_answers_total{status=\"401\"} 1"))
    }

    #if Redis
    @Test func serverAnswersFromATaskWithRedisAndFailsClosed() async throws {
        let runtime = try runtimeWithoutRedis()
        #expect(!runtime.answersInline)
        try await runtime.install(configuration)
        try await serving(runtime) { client in
            let answer = try await client.execute(uri: "/_keybound", headers: try nginx("/api/a"))
            #expect(answer.status == .unauthorized)
            #expect(answer.headers[HTTPField.Name("X-Keybound-Status")!] == "503")
            #expect(answer.headers[HTTPField.Name("X-Keybound-Code")!] == "replay_store_unavailable")
            let readyz = try await client.execute(uri: "/readyz")
            #expect(readyz.status == .serviceUnavailable && readyz.body.hasPrefix("not ready: replay store: "))
        }
    }
    #endif
}
