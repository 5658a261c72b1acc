//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntegrationFixtures
import Keybound
import KeyboundSigning
import Synchronization
import Testing

@testable import KeyboundHummingbird

/// What the local JWKS server answers, and how often it was asked.
final class JWKSServer: Sendable {
    struct Answer: Sendable {
        var status: HTTPResponse.Status = .ok
        var body: String
        var cacheControl: String? = nil
        var age: String? = nil
    }

    let answer: Mutex<Answer>
    let hits = Mutex(0)
    /// While set, requests wait until ``release()``.
    let gate: Mutex<[CheckedContinuation<Void, Never>]?> = Mutex(nil)

    init(_ answer: Answer) { self.answer = Mutex(answer) }

    func set(_ answer: Answer) { self.answer.withLock { $0 = answer } }
    func close() { gate.withLock { $0 = [] } }
    func release() {
        let waiting = gate.withLock { gate -> [CheckedContinuation<Void, Never>] in
            defer { gate = nil }
            return gate ?? []
        }
        for continuation in waiting { continuation.resume() }
    }

    func handle() async -> Response {
        hits.withLock { $0 += 1 }
        await withCheckedContinuation { continuation in
            let waits = gate.withLock { gate -> Bool in
                guard gate != nil else { return false }
                gate?.append(continuation)
                return true
            }
            if !waits { continuation.resume() }
        }
        let answer = self.answer.withLock { $0 }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let cacheControl = answer.cacheControl { headers[.cacheControl] = cacheControl }
        if let age = answer.age { headers[HTTPField.Name("Age")!] = age }
        return Response(
            status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// Runs `body` with the server listening on a loopback port, passing the JWKS URL.
    func serve(_ body: @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("jwks.json") { _, _ in await self.handle() }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)/jwks.json")
        }
    }
}

@Suite("JWKSRefresher")
struct JWKSRefresherTests {
    let fixture: Fixture
    let newKey: SigningKey

    init() throws {
        fixture = try Fixture()
        newKey = try SigningKey.generate(.es256, kid: "issuer-2")
    }

    func refresher(_ url: String, clock: ManualClock, timeout: Int64 = 10) throws -> JWKSRefresher {
        var configuration = JWKSRefresher.Configuration(issuer: Fixture.issuer, jwksURL: url)
        configuration.allowPlainHTTP = true
        configuration.timeoutSeconds = timeout
        return try JWKSRefresher(configuration, now: clock.now)
    }

    /// Verifies a request carrying a token signed by `key`.
    func verify(_ verifier: Verifier, tokenSignedBy key: SigningKey) throws(KeyboundError) -> VerifiedRequest {
        let token = (try? fixture.token(signedBy: key)) ?? ""
        let proof = (try? fixture.proof("GET", "https://api.example/orders", token: token)) ?? ""
        return try verifier.verify(
            DPoPRequest(
                method: "GET", url: "https://api.example/orders", authorization: "DPoP \(token)", dpop: [proof]),
            now: Fixture.now)
    }

    @Test func installsAFetchedSetAndHonoursMaxAge() async throws {
        let server = JWKSServer(
            .init(body: Fixture.jwks([fixture.issuerKey, newKey]), cacheControl: "public, max-age=120"))
        try await server.serve { url in
            let clock = ManualClock(Fixture.now)
            let refresher = try refresher(url, clock: clock)
            let verifier = try fixture.verifier()
            refresher.attach(verifier)
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try verify(verifier, tokenSignedBy: newKey) }

            let outcome = await refresher.refresh()
            #expect(outcome == .installed(keyCount: 2, nextRefreshAt: Fixture.now + 120))
            #expect(refresher.nextRefreshAt == Fixture.now + 120)
            #expect(try verify(verifier, tokenSignedBy: newKey).subject == "alice")
            #expect(server.hits.withLock { $0 } == 1)
        }
    }

    @Test func fetchKeysReturnsTheSetForTheFirstVerifier() async throws {
        let server = JWKSServer(.init(body: Fixture.jwks([fixture.issuerKey]), cacheControl: "max-age=600", age: "100"))
        try await server.serve { url in
            let refresher = try refresher(url, clock: ManualClock(Fixture.now))
            let fetched = try await refresher.fetchKeys()
            #expect(fetched.keys.keyIDs == ["issuer-1"])
            #expect(fetched.expiresAt == Fixture.now + 500)
        }
    }

    @Test func aFailedFetchKeepsTheOldKeys() async throws {
        let server = JWKSServer(.init(status: .internalServerError, body: "oops"))
        try await server.serve { url in
            let clock = ManualClock(Fixture.now)
            let refresher = try refresher(url, clock: clock)
            let verifier = try fixture.verifier()
            refresher.attach(verifier)

            let first = await refresher.refresh()
            guard case .failed(let reason, let next) = first else {
                Issue.record("expected a failure, got \(first)")
                return
            }
            #expect(reason.contains("500"))
            #expect(next == Fixture.now + 30)
            #expect(try verify(verifier, tokenSignedBy: fixture.issuerKey).subject == "alice")

            // Not JSON, then a set without a usable key: still failures, with a doubling wait.
            server.set(.init(body: "{\"keys\":"))
            #expect(await refresher.refresh().nextRefreshAt == Fixture.now + 60)
            server.set(.init(body: "{\"keys\":[]}"))
            let third = await refresher.refresh()
            #expect(third.nextRefreshAt == Fixture.now + 120)
            if case .failed(let reason, _) = third {
                #expect(reason.hasPrefix("invalid_jwks"))
            } else {
                Issue.record("expected a failure, got \(third)")
            }
            #expect(try verify(verifier, tokenSignedBy: fixture.issuerKey).subject == "alice")

            // A good answer resets the backoff.
            server.set(.init(body: Fixture.jwks([newKey])))
            #expect(await refresher.refresh() == .installed(keyCount: 1, nextRefreshAt: Fixture.now + 300))
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try verify(verifier, tokenSignedBy: fixture.issuerKey) }
        }
    }

    @Test func anUnreachableServerKeepsTheOldKeys() async throws {
        let clock = ManualClock(Fixture.now)
        // Port 9 on loopback (discard) has no listener here: the connection is refused.
        // The client retries refused connections until its deadline: keep that short.
        let refresher = try refresher("http://127.0.0.1:9/jwks.json", clock: clock, timeout: 1)
        let verifier = try fixture.verifier()
        refresher.attach(verifier)
        let outcome = await refresher.refresh()
        guard case .failed = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(try verify(verifier, tokenSignedBy: fixture.issuerKey).subject == "alice")
    }

    @Test func aKeyMissFetchesAgainOncePerCooldown() async throws {
        let server = JWKSServer(.init(body: Fixture.jwks([fixture.issuerKey, newKey])))
        try await server.serve { url in
            let clock = ManualClock(Fixture.now)
            let refresher = try refresher(url, clock: clock)
            // The verifier reports every miss; the refresher's cooldown is what limits fetches.
            let verifier = try fixture.verifier(
                configure: { $0.keyMissIntervalSeconds = 0 }, onKeyMiss: refresher.onKeyMiss)
            refresher.attach(verifier)

            #expect(throws: KeyboundError(.tokenKidUnknown)) { try verify(verifier, tokenSignedBy: newKey) }
            let outcome = await refresher.settle()
            #expect(outcome == .installed(keyCount: 2, nextRefreshAt: Fixture.now + 300))
            #expect(try verify(verifier, tokenSignedBy: newKey).subject == "alice")
            #expect(server.hits.withLock { $0 } == 1)

            // Another unknown key within the cooldown: no fetch.
            let stranger = try SigningKey.generate(.es256, kid: "issuer-3")
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try verify(verifier, tokenSignedBy: stranger) }
            #expect(await refresher.settle() == nil)
            #expect(refresher.keyMissed(issuer: Fixture.issuer) == nil)
            #expect(server.hits.withLock { $0 } == 1)

            // After the cooldown, the next miss fetches again.
            clock.advance(by: 30)
            server.set(.init(body: Fixture.jwks([fixture.issuerKey, newKey, stranger])))
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try verify(verifier, tokenSignedBy: stranger) }
            #expect(await refresher.settle() == .installed(keyCount: 3, nextRefreshAt: Fixture.now + 330))
            #expect(server.hits.withLock { $0 } == 2)
            #expect(try verify(verifier, tokenSignedBy: stranger).subject == "alice")
        }
    }

    @Test func aMissForAnotherIssuerIsIgnored() throws {
        let refresher = try refresher("http://127.0.0.1:9/jwks.json", clock: ManualClock(Fixture.now))
        #expect(refresher.keyMissed(issuer: "https://other.example") == nil)
        #expect(refresher.fetchCount == 0)
    }

    @Test func oneFetchIsInFlightAtATime() async throws {
        let server = JWKSServer(.init(body: Fixture.jwks([fixture.issuerKey, newKey]), cacheControl: "max-age=900"))
        server.close()
        try await server.serve { url in
            let refresher = try refresher(url, clock: ManualClock(Fixture.now))
            refresher.attach(try fixture.verifier())
            // Started while the server holds the first request: all join it.
            let tasks = (0..<5).map { _ in refresher.startRefresh() }
            let joined = refresher.keyMissed(issuer: Fixture.issuer)
            #expect(joined != nil)
            server.release()
            for task in tasks { #expect(await task.value == .installed(keyCount: 2, nextRefreshAt: Fixture.now + 900)) }
            #expect(refresher.fetchCount == 1)
            #expect(server.hits.withLock { $0 } == 1)
        }
    }

    @Test func runFetchesWhenDueAndStopsWhenCancelled() async throws {
        let server = JWKSServer(.init(body: Fixture.jwks([fixture.issuerKey, newKey]), cacheControl: "max-age=900"))
        try await server.serve { url in
            let refresher = try refresher(url, clock: ManualClock(Fixture.now))
            refresher.attach(try fixture.verifier())  // no expiry given: the first fetch is due at once
            let service = Task { try await refresher.run() }
            // Bounded wait for the service's first fetch (no timing assertion: only that it happens).
            for _ in 0..<1_000 where refresher.nextRefreshAt == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(refresher.nextRefreshAt == Fixture.now + 900)
            // The clock does not move: the service waits for max-age instead of fetching again.
            service.cancel()
            try await service.value
            #expect(server.hits.withLock { $0 } == 1)
        }
    }

    @Test func plainHTTPIsRefusedUnlessAllowed() {
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try JWKSRefresher(.init(issuer: Fixture.issuer, jwksURL: "http://issuer.example/jwks.json"))
        }
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            var configuration = JWKSRefresher.Configuration(issuer: Fixture.issuer, jwksURL: "https://issuer.example/j")
            configuration.retrySeconds = 0
            return try JWKSRefresher(configuration)
        }
    }

    @Test func cacheControlIsReadAndClamped() throws {
        let refresher = try JWKSRefresher(.init(issuer: Fixture.issuer, jwksURL: "https://issuer.example/jwks.json"))
        #expect(refresher.maxAge(cacheControl: "max-age=120", age: nil) == 120)
        #expect(refresher.maxAge(cacheControl: "public, MAX-AGE=\"7200\"", age: nil) == 7200)
        #expect(refresher.maxAge(cacheControl: "max-age=10", age: nil) == 60)
        #expect(refresher.maxAge(cacheControl: "max-age=9999999", age: nil) == 86_400)
        #expect(refresher.maxAge(cacheControl: "max-age=600", age: "100") == 500)
        #expect(refresher.maxAge(cacheControl: "max-age=600", age: "9000") == 60)
        #expect(refresher.maxAge(cacheControl: "no-store", age: nil) == 60)
        #expect(refresher.maxAge(cacheControl: "max-age=600, no-cache", age: nil) == 60)
        #expect(refresher.maxAge(cacheControl: "", age: nil) == 300)
        #expect(refresher.maxAge(cacheControl: "max-age=-5", age: nil) == 300)
        #expect(refresher.maxAge(cacheControl: "max-age=abc", age: nil) == 300)
    }

    @Test func retriesBackOffUpToTheCap() throws {
        let refresher = try JWKSRefresher(.init(issuer: Fixture.issuer, jwksURL: "https://issuer.example/jwks.json"))
        #expect((0..<7).map(refresher.retryDelay(afterFailures:)) == [30, 60, 120, 240, 480, 600, 600])
        #expect(refresher.retryDelay(afterFailures: Int.max) == 600)
    }
}
