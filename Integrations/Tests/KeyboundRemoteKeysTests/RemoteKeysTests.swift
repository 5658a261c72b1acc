//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import Synchronization
import Testing

@testable import KeyboundRemoteKeys

/// The events a remote key set reported, in order.
final class EventLog: Sendable {
    let list = Mutex<[RemoteKeys.Event]>([])
    func append(_ event: RemoteKeys.Event) { list.withLock { $0.append(event) } }
    var all: [RemoteKeys.Event] { list.withLock { $0 } }
}

/// What every test against the HTTPS key server shares: the fixture, a second issuer key, a manual clock.
struct Scenario: Sendable {
    let fixture: Fixture
    let newKey: SigningKey
    let server: KeyServer
    let clock = ManualClock(Fixture.now)
    let events = EventLog()

    init(_ server: KeyServer) throws {
        fixture = try Fixture()
        newKey = try SigningKey.generate(.es256, kid: "issuer-2")
        self.server = server
    }

    /// The issuer as the server's HTTPS origin (what discovery tests configure).
    var issuer: String { server.httpsBase }

    func configuration(_ source: RemoteKeys.Configuration.Source, issuer: String? = nil) -> RemoteKeys.Configuration {
        var configuration = RemoteKeys.Configuration(issuer: issuer ?? Fixture.issuer, source: source)
        configuration.extraTrustRootsPEMFile = server.caFile
        return configuration
    }

    func remote(_ configuration: RemoteKeys.Configuration) throws -> RemoteKeys {
        try RemoteKeys(
            configuration, onEvent: { [events] event in events.append(event) }, now: clock.now)
    }

    /// A JWKS answer at `/jwks`, `delay` seconds late, with `pad` spaces after the document.
    func jwks(
        _ keys: [SigningKey],
        cacheControl: String? = nil,
        delay: Double = 0,
        pad: Int = 0
    ) -> KeyServer.Answer {
        var answer = KeyServer.Answer(
            "/jwks", body: Fixture.jwks(keys), headers: cacheControl.map { ["Cache-Control": $0] } ?? [:])
        answer.delay = delay
        answer.pad = pad
        return answer
    }

    /// Runs `body` with a key server started for it.
    static func run(_ body: (Scenario) async throws -> Void) async throws {
        try await KeyServer.with { server in try await body(Scenario(server)) }
    }

    /// An RFC 8414 / OpenID Connect metadata document naming `issuer` and the server's `/jwks`.
    func metadata(_ path: String, issuer: String, jwksURI: String? = nil) -> KeyServer.Answer {
        server.metadata(path, issuer: issuer, jwksURI: jwksURI)
    }

    /// A remote key set for `/jwks` installed into a verifier holding the fixture's first key, as after start-up.
    func installed(
        _ configure: (inout RemoteKeys.Configuration) -> Void = { _ in },
        policy: (inout VerifierPolicy) -> Void = { _ in }
    ) async throws -> (RemoteKeys, Verifier) {
        var configuration = configuration(.jwksURL(server.httpsBase + "/jwks"))
        configure(&configuration)
        let remote = try remote(configuration)
        let verifier = try fixture.verifier(configure: policy, onKeyMiss: remote.onKeyMiss)
        remote.attach(verifier)
        return (remote, verifier)
    }

    /// Still verifies with the fixture's first key (the last good set is kept).
    func expectOldKeysKept(_ verifier: Verifier) throws {
        #expect(try fixture.verify(verifier, tokenSignedBy: fixture.issuerKey).subject == "alice")
    }

    /// Serves `answer`, refreshes, and expects a failure with `code` that keeps the last good set and is reported.
    @discardableResult
    func expectRefusal(
        _ answer: KeyServer.Answer,
        _ code: RemoteKeysError.Code,
        _ remote: RemoteKeys,
        _ verifier: Verifier
    ) async throws -> RemoteKeys.Event {
        try await server.set(answer)
        let event = await remote.refresh()
        #expect(event.errorCode == code)
        #expect(remote.status.lastError?.code == code)
        #expect(events.all.last == event)
        try expectOldKeysKept(verifier)
        return event
    }
}

extension RemoteKeys.Event {
    var errorCode: RemoteKeysError.Code? {
        if case .failed(let error, _) = self { return error.code }
        return nil
    }
}

@Suite("RemoteKeys over HTTPS")
struct RemoteKeysHTTPSTests {
    @Test func openIDConnectDiscovery() async throws {
        try await Scenario.run { s in
            let server = s.server
            try await server.set(s.metadata("/.well-known/openid-configuration", issuer: s.issuer))
            try await server.set(s.jwks([s.fixture.issuerKey], cacheControl: "public, max-age=600"))
            let remote = try s.remote(s.configuration(.openIDConnectDiscovery, issuer: s.issuer))
            let fetched = try await remote.fetchKeys()
            #expect(fetched.keys.keyIDs == ["issuer-1"])
            #expect(fetched.jwksURL == server.httpsBase + "/jwks")
            #expect(fetched.expiresAt == Fixture.now + 600)

            // The verifier starts with the fetched set and verifies a token from that issuer.
            let verifier = try Verifier(
                issuers: [TrustedIssuer(identifier: s.issuer, audiences: [Fixture.audience], keys: fetched.keys)])
            let verified = try s.fixture.verify(verifier, issuer: s.issuer, tokenSignedBy: s.fixture.issuerKey)
            #expect(verified.subject == "alice")
        }
    }

    @Test func authorizationServerMetadataWithAPath() async throws {
        try await Scenario.run { s in
            let server = s.server
            let issuer = s.issuer + "/tenant/a"
            // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
            try await server.set(s.metadata("/.well-known/oauth-authorization-server/tenant/a", issuer: issuer))
            try await server.set(s.jwks([s.fixture.issuerKey, s.newKey]))
            let remote = try s.remote(s.configuration(.authorizationServerMetadata, issuer: issuer))
            let verifier = try s.fixture.verifier(issuer: issuer)
            remote.attach(verifier)
            #expect(await remote.refresh() == .installed(keyCount: 2, nextRefreshAt: Fixture.now + 3_600))
            #expect(try s.fixture.verify(verifier, issuer: issuer, tokenSignedBy: s.newKey).subject == "alice")
            #expect(remote.status.keyCount == 2)
            #expect(remote.status.lastSuccessAt == Fixture.now)
        }
    }

    @Test func anIssuerMismatchIsRefused() async throws {
        try await Scenario.run { s in
            let server = s.server
            // One character off (a trailing slash): RFC 8414 §3.3 asks for an exact match.
            try await server.set(s.metadata("/.well-known/openid-configuration", issuer: s.issuer + "/"))
            try await server.set(s.jwks([s.fixture.issuerKey]))
            let remote = try s.remote(s.configuration(.openIDConnectDiscovery, issuer: s.issuer))
            #expect(await s.failure(remote) == .issuerMismatch)
            #expect(try await server.count("/jwks") == 0)
        }
    }

    @Test func badMetadataIsRefused() async throws {
        try await Scenario.run { s in
            let server = s.server
            let remote = try s.remote(s.configuration(.openIDConnectDiscovery, issuer: s.issuer))
            // No document at all: 404.
            #expect(await s.failure(remote) == .httpStatus)
            // No jwks_uri.
            try await server.set(.init("/.well-known/openid-configuration", body: #"{"issuer":"\#(s.issuer)"}"#))
            #expect(await s.failure(remote) == .invalidMetadata)
            // Not JSON.
            try await server.set(.init("/.well-known/openid-configuration", body: "<html>"))
            #expect(await s.failure(remote) == .invalidMetadata)
            // A jwks_uri in the clear, off loopback.
            try await server.set(
                s.metadata("/.well-known/openid-configuration", issuer: s.issuer, jwksURI: "http://id.example/jwks"))
            #expect(await s.failure(remote) == .insecureURL)
            #expect(try await server.count("/jwks") == 0)
        }
    }

    @Test func plainHTTPIsRefusedOffLoopbackAndUnlessAllowed() async throws {
        try await Scenario.run { s in
            let server = s.server
            try await server.set(s.jwks([s.fixture.issuerKey]))
            let plain = server.httpBase + "/jwks"
            var configuration = s.configuration(.jwksURL("http://id.example/jwks"))
            #expect(throws: RemoteKeysError(.insecureURL, "keys are fetched over https only: http://id.example/jwks")) {
                try RemoteKeys(configuration)
            }
            configuration.allowLoopbackHTTP = true
            let offLoopback = "http is allowed to a loopback host only: http://id.example/jwks"
            #expect(throws: RemoteKeysError(.insecureURL, offLoopback)) { try RemoteKeys(configuration) }
            configuration.source = .jwksURL(plain)
            configuration.allowLoopbackHTTP = false
            #expect(throws: RemoteKeysError(.insecureURL, "keys are fetched over https only: \(plain)")) {
                try RemoteKeys(configuration)
            }
            // Loopback in the clear, once the host allows it: fetched.
            configuration.allowLoopbackHTTP = true
            let fetched = try await RemoteKeys(configuration, now: s.clock.now).fetchKeys()
            #expect(fetched.keys.count == 1)
            #expect(try await server.count("/jwks") == 1)
        }
    }

    @Test func theTestCAIsTrustedOnlyWhenConfigured() async throws {
        try await Scenario.run { s in
            let server = s.server
            try await server.set(s.jwks([s.fixture.issuerKey]))
            var configuration = s.configuration(.jwksURL(server.httpsBase + "/jwks"))
            configuration.extraTrustRootsPEMFile = nil
            // The system trust store does not know the test CA: the handshake fails.
            #expect(await s.failure(try RemoteKeys(configuration)) == .transport)
            configuration.extraTrustRootsPEMFile = server.caFile
            #expect(try await RemoteKeys(configuration).fetchKeys().keys.count == 1)
            // A trust-roots file that is not PEM is a configuration error.
            configuration.extraTrustRootsPEMFile = KeyServer.supportFolder.appendingPathComponent("server.py").path
            #expect(throws: RemoteKeysError.self) { try RemoteKeys(configuration) }
            do throws(RemoteKeysError) {
                _ = try RemoteKeys(configuration)
            } catch {
                #expect(error.code == .invalidConfiguration)
            }
        }
    }

    @Test func aNewKidIsFetchedOnceAndThenVerifies() async throws {
        try await Scenario.run { s in
            let server = s.server
            let (remote, verifier) = try await s.installed()
            try await server.set(s.jwks([s.fixture.issuerKey, s.newKey]))
            #expect(throws: KeyboundError(.tokenKidUnknown)) {
                try s.fixture.verify(verifier, tokenSignedBy: s.newKey)
            }
            #expect(await remote.settle() == .installed(keyCount: 2, nextRefreshAt: Fixture.now + 3_600))
            #expect(try s.fixture.verify(verifier, tokenSignedBy: s.newKey).subject == "alice")
            #expect(try await server.count("/jwks") == 1)
            #expect(s.events.all == [.installed(keyCount: 2, nextRefreshAt: Fixture.now + 3_600)])
        }
    }

    @Test func concurrentMissesShareOneFetchAndTheCooldownHolds() async throws {
        try await Scenario.run { s in
            let server = s.server
            // The verifier reports every miss (interval 0): the single flight and the cooldown limit the fetches.
            let (remote, verifier) = try await s.installed(policy: { $0.keyMissIntervalSeconds = 0 })
            try await server.set(s.jwks([s.fixture.issuerKey, s.newKey], delay: 0.3))
            let stranger = try SigningKey.generate(.es256, kid: "issuer-3")
            let refusals = await withTaskGroup(of: KeyboundError.Code?.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        do throws(KeyboundError) {
                            _ = try s.fixture.verify(verifier, tokenSignedBy: stranger)
                            return nil
                        } catch { return error.code }
                    }
                }
                return await group.reduce(into: [KeyboundError.Code?]()) { $0.append($1) }
            }
            #expect(refusals.count == 32)
            #expect(refusals.allSatisfy { $0 == .tokenKidUnknown })
            _ = await remote.settle()
            #expect(try await server.count("/jwks") == 1)
            #expect(remote.status.fetchCount == 1)

            // Within the cooldown, another miss does not fetch; after it, one does.
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try s.fixture.verify(verifier, tokenSignedBy: stranger) }
            #expect(remote.keyMissed(issuer: Fixture.issuer) == nil)
            s.clock.advance(by: 30)
            try await server.set(s.jwks([s.fixture.issuerKey, s.newKey, stranger]))
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try s.fixture.verify(verifier, tokenSignedBy: stranger) }
            #expect(await remote.settle() == .installed(keyCount: 3, nextRefreshAt: Fixture.now + 30 + 3_600))
            #expect(try await server.count("/jwks") == 2)
            #expect(try s.fixture.verify(verifier, tokenSignedBy: stranger).subject == "alice")
            // A miss for another issuer is not this set's business.
            #expect(remote.keyMissed(issuer: "https://other.example") == nil)
        }
    }

    @Test func aServerErrorKeepsTheLastGoodSet() async throws {
        try await Scenario.run { s in
            let server = s.server
            let (remote, verifier) = try await s.installed()
            try await server.set(.init("/jwks", status: 500, body: "oops"))
            let event = await remote.refresh()
            let status = RemoteKeysError(.httpStatus, "\(server.httpsBase)/jwks answered 500")
            #expect(event == .failed(status, nextRefreshAt: Fixture.now + 30))
            #expect(remote.status.lastError?.code == .httpStatus)
            #expect(remote.status.consecutiveFailures == 1)
            #expect(s.events.all == [event])
            try s.expectOldKeysKept(verifier)

            // A redirect is not followed: a status like any other.
            let redirect = KeyServer.Answer(
                "/jwks", status: 302, body: "", headers: ["Location": server.httpBase + "/jwks"])
            try await s.expectRefusal(redirect, .httpStatus, remote, verifier)
        }
    }

    @Test func aSlowAnswerTimesOutAndKeepsTheLastGoodSet() async throws {
        try await Scenario.run { s in
            let (remote, verifier) = try await s.installed { $0.timeoutSeconds = 1 }
            try await s.expectRefusal(s.jwks([s.newKey], delay: 4), .timeout, remote, verifier)
        }
    }

    @Test func anOversizedBodyIsRefusedAndTheLastGoodSetKept() async throws {
        try await Scenario.run { s in
            let server = s.server
            let (remote, verifier) = try await s.installed { $0.maximumBodyBytes = 4_096 }
            // Announced by Content-Length…
            var answer = s.jwks([s.newKey], pad: 8_192)
            try await s.expectRefusal(answer, .bodyTooLarge, remote, verifier)
            // …and without it: the bound holds while reading.
            answer.noLength = true
            try await s.expectRefusal(answer, .bodyTooLarge, remote, verifier)
            // Just under the bound: fine.
            answer.pad = 4_096 - Fixture.jwks([s.newKey]).utf8.count
            try await server.set(answer)
            let fits = await remote.refresh()
            #expect(fits == .installed(keyCount: 1, nextRefreshAt: Fixture.now + 3_600))
        }
    }

    @Test func anInvalidSetKeepsTheLastGoodSetAndBacksOff() async throws {
        try await Scenario.run { s in
            let server = s.server
            let (remote, verifier) = try await s.installed()
            let first = try await s.expectRefusal(.init("/jwks", body: "{\"keys\":"), .invalidJWKS, remote, verifier)
            #expect(first.nextRefreshAt == Fixture.now + 30)
            let empty = KeyServer.Answer("/jwks", body: "{\"keys\":[]}")
            let second = try await s.expectRefusal(empty, .invalidJWKS, remote, verifier)
            #expect(second.nextRefreshAt == Fixture.now + 60)
            // Private key material: the whole set is refused.
            let privateSet = KeyServer.Answer("/jwks", body: "{\"keys\":[\(s.newKey.privateJWK)]}")
            let third = try await s.expectRefusal(privateSet, .invalidJWKS, remote, verifier)
            #expect(third.nextRefreshAt == Fixture.now + 120)
            // A good answer resets the backoff.
            try await server.set(s.jwks([s.newKey]))
            #expect(await remote.refresh() == .installed(keyCount: 1, nextRefreshAt: Fixture.now + 3_600))
            #expect(remote.status.consecutiveFailures == 0)
            #expect(remote.status.lastError == nil)
            #expect(throws: KeyboundError(.tokenKidUnknown)) {
                try s.fixture.verify(verifier, tokenSignedBy: s.fixture.issuerKey)
            }
        }
    }

    @Test func maxAgeIsHonouredAndClamped() async throws {
        try await Scenario.run { s in
            let server = s.server
            let (remote, _) = try await s.installed()
            let cases: [(String?, Int64)] = [
                ("max-age=900", 900), ("public, max-age=10", 300), ("max-age=99999999", 86_400), (nil, 3_600),
                ("no-store", 300),
            ]
            for (cacheControl, lifetime) in cases {
                try await server.set(s.jwks([s.fixture.issuerKey], cacheControl: cacheControl))
                #expect(
                    await remote.refresh() == .installed(keyCount: 1, nextRefreshAt: Fixture.now + lifetime),
                    "Cache-Control: \(cacheControl ?? "(none)")")
                #expect(remote.status.nextRefreshAt == Fixture.now + lifetime)
            }
        }
    }

    @Test func noVerifierIsAFailedFetch() async throws {
        try await Scenario.run { s in
            let server = s.server
            try await server.set(s.jwks([s.fixture.issuerKey]))
            let remote = try s.remote(s.configuration(.jwksURL(server.httpsBase + "/jwks")))
            #expect(await remote.refresh().errorCode == .noVerifier)
        }
    }

    @Test func runFetchesWhenDueAndStopsWhenCancelled() async throws {
        try await Scenario.run { s in
            let server = s.server
            try await server.set(s.jwks([s.fixture.issuerKey, s.newKey], cacheControl: "max-age=900"))
            let (remote, _) = try await s.installed()  // no expiry given: the first fetch is due at once
            let service = Task { await remote.run() }
            // Bounded wait for the first fetch (no timing assertion: only that it happens).
            for _ in 0..<1_000 where remote.status.keyCount == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(remote.status.nextRefreshAt == Fixture.now + 900)
            // The clock does not move: it waits for max-age instead of fetching again.
            service.cancel()
            await service.value
            #expect(try await server.count("/jwks") == 1)
        }
    }
}

extension Scenario {
    /// The error code of one fetch that must fail.
    func failure(_ remote: RemoteKeys) async -> RemoteKeysError.Code? {
        do throws(RemoteKeysError) {
            _ = try await remote.fetchKeys()
            return nil
        } catch {
            return error.code
        }
    }
}
