//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import IntegrationsTestSupport
import Keybound
import KeyboundRedis
@testable import KeyboundServe
import Logging
import Synchronization
import Testing

/// The running service: metrics, readiness, the log lines.
@Suite("keybound-serve runtime")
struct ServeRuntimeTests {
    let fixture: Fixture
    let configuration: ServeConfiguration
    static let peer = "127.0.0.1"

    init() throws {
        fixture = try Fixture()
        configuration = try ConfigFolder.configuration(
            fixture: fixture,
            """
            routes = [{ prefix = "/api/" }, { prefix = "/api/admin", scopes = ["admin"] }]
            proxies = [{ style = "nginx", addresses = ["\(Self.peer)"], origin = "https://api.example" }]
            """)
    }

    func runtime(logger: Logger = AuthResponder.quiet) throws -> ServeRuntime {
        try ServeRuntime(for: configuration, logger: logger, now: { Fixture.now })
    }

    /// nginx's sub-request for `GET uri` with a token and a proof for `https://api.example` + `uri`.
    func nginx(_ uri: String) throws -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Original-Method")!] = "GET"
        headers[HTTPField.Name("X-Original-URI")!] = uri
        let token = try fixture.token()
        headers[.authorization] = "DPoP " + token
        headers[HTTPField.Name("DPoP")!] = try fixture.proof("GET", "https://api.example" + uri, token: token)
        return headers
    }

    /// The value of the sample `series` (name and labels as exposed), or `nil` when it is not exposed.
    func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func metricsCountAnswersRefusalsCacheAndReplayFill() async throws {
        let runtime = try runtime()
        try await runtime.install(configuration)
        let accepted = try nginx("/api/a")
        #expect(await runtime.serve(peer: Self.peer, headers: accepted)?.status == 200)
        let replayed = await runtime.serve(peer: Self.peer, headers: accepted)
        #expect(replayed?.status == 401 && replayed?.meantStatus == 401)
        #expect(await runtime.serve(peer: Self.peer, headers: try nginx("/api/admin"))?.meantStatus == 403)
        #expect(await runtime.serve(peer: "10.9.9.9", headers: accepted)?.meantStatus == 403)
        var text = runtime.metricsText()
        #expect(sample(text, "keybound_serve_answers_total{status=\"200\"}") == 1)
        #expect(sample(text, "keybound_serve_answers_total{status=\"401\"}") == 1)
        #expect(sample(text, "keybound_serve_answers_total{status=\"403\"}") == 2)
        #expect(sample(text, "keybound_serve_answers_total{status=\"503\"}") == 0)
        #expect(sample(text, "keybound_serve_answer_duration_seconds_count") == 4)
        #expect(sample(text, "keybound_serve_refusals_total{code=\"proof_replayed\"}") == 1)
        #expect(sample(text, "keybound_serve_refusals_total{code=\"insufficient_scope\"}") == 1)
        // The same client key three times: one miss, then hits.
        #expect(sample(text, "keybound_serve_proof_key_cache_total{result=\"misses\"}") == 1)
        #expect(sample(text, "keybound_serve_proof_key_cache_total{result=\"hits\"}") == 2)
        #expect(sample(text, "keybound_serve_proof_key_cache_hit_ratio").map { abs($0 - 2.0 / 3.0) < 1e-9 } == true)
        #expect(sample(text, "keybound_serve_replay_entries") == 1)
        #expect(sample(text, "keybound_serve_replay_capacity") == Double(configuration.replayCapacity))
        #expect(text.contains("# TYPE keybound_serve_answer_duration_seconds histogram"))

        // A reload replaces the verifier: the counters go on from where they were.
        try await runtime.install(configuration)
        #expect(await runtime.serve(peer: Self.peer, headers: accepted)?.meantStatus == 401)
        text = runtime.metricsText()
        #expect(sample(text, "keybound_serve_refusals_total{code=\"proof_replayed\"}") == 2)
        #expect(sample(text, "keybound_serve_proof_key_cache_total{result=\"misses\"}") == 2)
        #expect(sample(text, "keybound_serve_answers_total{status=\"401\"}") == 2)
        // Scraping again adds nothing.
        #expect(sample(runtime.metricsText(), "keybound_serve_refusals_total{code=\"proof_replayed\"}") == 2)
    }

    @Test func answerDurationsAreACumulativeHistogram() {
        let durations = AnswerDurations()
        durations.record(.microseconds(40))
        durations.record(.microseconds(50))
        durations.record(.microseconds(60))
        durations.record(.seconds(2))
        let text = durations.exposition()
        let name = "keybound_serve_answer_duration_seconds"
        #expect(text.contains("# TYPE \(name) histogram\n"))
        #expect(sample(text, "\(name)_bucket{le=\"5e-05\"}") == 2, "a bound is inclusive")
        #expect(sample(text, "\(name)_bucket{le=\"0.0001\"}") == 3)
        #expect(sample(text, "\(name)_bucket{le=\"1.0\"}") == 3)
        #expect(sample(text, "\(name)_bucket{le=\"+Inf\"}") == 4)
        #expect(sample(text, "\(name)_count") == 4)
        #expect(sample(text, "\(name)_sum").map { abs($0 - 2.00015) < 1e-9 } == true)
    }

    @Test func keyRefreshesAndReloadsAreCounted() async throws {
        let runtime = try runtime()
        try await runtime.install(configuration)
        runtime.metrics.recordKeyFetch(issuer: Fixture.issuer, installed: true)
        runtime.metrics.recordKeyFetch(issuer: Fixture.issuer, installed: true)
        runtime.metrics.recordKeyFetch(issuer: Fixture.issuer, installed: false)
        await runtime.reload(path: "/nonexistent/keybound-serve.toml")
        let text = runtime.metricsText()
        let series = "keybound_serve_key_refreshes_total{issuer=\"\(Fixture.issuer)\",result="
        #expect(sample(text, series + "\"installed\"}") == 2)
        #expect(sample(text, series + "\"failed\"}") == 1)
        #expect(sample(text, "keybound_serve_reloads_total{result=\"failed\"}") == 1)
        #expect(sample(text, "keybound_serve_reloads_total{result=\"ok\"}") == 0)
        // The failed reload left the configuration in force.
        #expect(await runtime.notReadyReason() == nil)
    }

    @Test func readyOnlyOnceAConfigurationIsInForce() async throws {
        let runtime = try runtime()
        #expect(await runtime.notReadyReason() == "no configuration loaded")
        #expect(await runtime.serve(peer: Self.peer, headers: try nginx("/api/a")) == nil)
        try await runtime.install(configuration)
        #expect(await runtime.notReadyReason() == nil)
    }

    #if Redis
    /// A runtime whose Redis store is at a port nothing listens on: every connection is refused at once.
    func runtimeWithoutRedis() throws -> ServeRuntime {
        var redis = try RedisConfiguration(url: "redis://127.0.0.1:1/0")
        redis.connectTimeoutMilliseconds = 100
        return try ServeRuntime(replayCapacity: 4096, redis: redis, logger: AuthResponder.quiet, now: { Fixture.now })
    }

    @Test func notReadyWhileRedisDoesNotAnswer() async throws {
        let runtime = try runtimeWithoutRedis()
        try await runtime.install(configuration)
        let reason = try #require(await runtime.notReadyReason())
        #expect(reason.hasPrefix("replay store: "))
        // And verification fails closed: 503 replay_store_unavailable, sent to nginx as 401.
        let answer = try #require(await runtime.serve(peer: Self.peer, headers: try nginx("/api/a")))
        #expect(answer.meantStatus == 503 && answer.status == 401)
        #expect(answer.headers[HTTPField.Name("X-Keybound-Code")!] == "replay_store_unavailable")
        #expect(sample(runtime.metricsText(), "keybound_serve_answers_total{status=\"503\"}") == 1)
    }
    #endif

    @Test func logLinesNameTheRequestButNeverItsCredentials() async throws {
        let store = RecordingLogHandler.Store()
        let runtime = try runtime(logger: store.logger(level: .debug))
        try await runtime.install(configuration)
        let headers = try nginx("/api/a?secret=query")
        #expect(await runtime.serve(peer: Self.peer, headers: headers)?.status == 200)
        #expect(await runtime.serve(peer: Self.peer, headers: headers)?.meantStatus == 401)
        let lines = store.all.filter { $0.message == "auth" }
        #expect(lines.count == 2)
        #expect(lines.first?.metadata["method"] == "GET")
        #expect(lines.first?.metadata["path"] == "/api/a")
        #expect(lines.first?.metadata["outcome"] == "ok")
        #expect(lines.last?.metadata["outcome"] == "proof_replayed")
        #expect(lines.last?.metadata["status"] == "401")
        let everything = store.all.map(\.text).joined(separator: "\n")
        let token = try #require(headers[.authorization]).dropFirst("DPoP ".count)
        let proof = try #require(headers[HTTPField.Name("DPoP")!])
        var secrets: [String] = [String(token), proof]
        secrets += token.split(separator: ".").map { String($0) }
        secrets += proof.split(separator: ".").map { String($0) }
        for secret in secrets { #expect(!everything.contains(secret)) }
        #expect(!everything.contains("secret=query"))
    }

    @Test func noLinePerRequestAtTheDefaultLevel() async throws {
        let store = RecordingLogHandler.Store()
        #expect(configuration.logLevel == .info)
        let runtime = try runtime(logger: store.logger(level: configuration.logLevel))
        try await runtime.install(configuration)
        let headers = try nginx("/api/a")
        #expect(runtime.serveSynchronously(peer: Self.peer, headers: headers)?.status == 200)
        #expect(await runtime.serve(peer: Self.peer, headers: headers)?.meantStatus == 401)
        #expect(store.all.filter { $0.message == "auth" }.isEmpty)
    }

    @Test func jsonLogLinesAreOneObjectEach() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "keybound-serve") { label in
            JSONLogHandler(label: label, write: { line in lines.withLock { $0.append(line) } })
        }
        logger.logLevel = .info
        logger.info("auth", metadata: ["path": "/a\"b\n", "status": "200"])
        logger.debug("not at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["msg"] == "auth" && object["level"] == "info" && object["logger"] == "keybound-serve")
        #expect(object["path"] == "/a\"b\n" && object["status"] == "200")
        #expect(object["ts"]?.hasSuffix("Z") == true && object["ts"]?.count == 24)
    }
}
