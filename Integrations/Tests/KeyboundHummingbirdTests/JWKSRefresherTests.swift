//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import ServiceLifecycleTestKit
import Testing

@testable import KeyboundHummingbird

/// The service wrapper only: fetching, caching and the key-miss refetch are tested in KeyboundRemoteKeysTests.
@Suite("JWKSRefresher")
struct JWKSRefresherTests {
    @Test func startsFromAFetchedSetAndRefetchesOnAKeyMiss() async throws {
        try await KeyServer.with { server in
            let fixture = try Fixture()
            let newKey = try SigningKey.generate(.es256, kid: "issuer-2")
            try await server.set(.init("/jwks", body: Fixture.jwks([fixture.issuerKey])))
            var configuration = RemoteKeys.Configuration.jwks(issuer: Fixture.issuer, url: server.httpsBase + "/jwks")
            configuration.extraTrustRootsPEMFile = server.caFile
            let refresher = try JWKSRefresher(configuration)
            let first = try await refresher.fetchKeys()
            let verifier = try Verifier(
                issuers: [TrustedIssuer(identifier: Fixture.issuer, audiences: [Fixture.audience], keys: first.keys)],
                onKeyMiss: refresher.onKeyMiss)
            refresher.attach(verifier, nextRefreshAt: first.expiresAt)
            #expect(try fixture.verify(verifier, tokenSignedBy: fixture.issuerKey).subject == "alice")

            try await server.set(.init("/jwks", body: Fixture.jwks([fixture.issuerKey, newKey])))
            #expect(throws: KeyboundError(.tokenKidUnknown)) { try fixture.verify(verifier, tokenSignedBy: newKey) }
            _ = await refresher.remoteKeys.settle()
            #expect(try fixture.verify(verifier, tokenSignedBy: newKey).subject == "alice")
            #expect(try await server.count("/jwks") == 2)
        }
    }

    @Test func stopsOnGracefulShutdown() async throws {
        let refresher = try JWKSRefresher(.jwks(issuer: Fixture.issuer, url: "https://127.0.0.1:9/jwks"))
        // Attached with keys good for an hour: the service only waits, and a graceful shutdown ends it.
        refresher.attach(try Fixture().verifier(), nextRefreshAt: Int64.max)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await refresher.run() }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(refresher.remoteKeys.status.fetchCount == 0)
    }
}
