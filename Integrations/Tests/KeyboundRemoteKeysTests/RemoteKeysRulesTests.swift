//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import KeyboundRemoteKeys

/// The rules that need no server: URLs, the well-known locations, `Cache-Control`, backoff.
@Suite("RemoteKeys rules")
struct RemoteKeysRulesTests {
    func metadataURL(_ issuer: String, _ source: RemoteKeys.Configuration.Source) throws(RemoteKeysError) -> String? {
        try RemoteKeys.Configuration(issuer: issuer, source: source).metadataURL()
    }

    @Test func wellKnownLocations() throws {
        // OpenID Connect Discovery §4: appended to the issuer, without its trailing slash.
        #expect(try metadataURL("https://id.example", .openIDConnectDiscovery)
            == "https://id.example/.well-known/openid-configuration")
        #expect(try metadataURL("https://id.example/tenant/", .openIDConnectDiscovery)
            == "https://id.example/tenant/.well-known/openid-configuration")
        // RFC 8414 §3.1: inserted between the host and the path.
        #expect(try metadataURL("https://id.example", .authorizationServerMetadata)
            == "https://id.example/.well-known/oauth-authorization-server")
        #expect(try metadataURL("https://id.example:8443/tenant/a/", .authorizationServerMetadata)
            == "https://id.example:8443/.well-known/oauth-authorization-server/tenant/a")
        #expect(try metadataURL("https://[::1]:8443/t", .authorizationServerMetadata)
            == "https://[::1]:8443/.well-known/oauth-authorization-server/t")
        #expect(try metadataURL("https://id.example", .jwksURL("https://id.example/jwks")) == nil)
    }

    @Test func urlsKeyboundWillNotFetch() {
        let cases: [(String, RemoteKeysError.Code)] = [
            ("https://id.example/?tenant=a", .invalidURL),  // an issuer has no query (RFC 8414 §2)
            ("https://id.example/#x", .invalidURL),
            ("https://user:pw@id.example", .invalidURL),
            ("id.example", .invalidURL),
            ("https://", .invalidURL),
            ("ftp://id.example", .insecureURL),
            ("http://id.example", .insecureURL),
            ("http://127.0.0.1:8080", .insecureURL),  // loopback, but not allowed
        ]
        for (issuer, code) in cases {
            #expect(throws: RemoteKeysError.self, "\(issuer)") {
                try RemoteKeys(.discovery(issuer: issuer))
            }
            do throws(RemoteKeysError) {
                _ = try RemoteKeys(.discovery(issuer: issuer))
            } catch {
                #expect(error.code == code, "\(issuer)")
            }
        }
    }

    @Test func loopbackHostsInTheClearWhenAllowed() throws {
        for host in ["127.0.0.1:8080", "[::1]:8080", "localhost", "LOCALHOST:1"] {
            var configuration = RemoteKeys.Configuration.jwks(issuer: "i", url: "http://\(host)/jwks")
            configuration.allowLoopbackHTTP = true
            _ = try RemoteKeys(configuration)
        }
        for host in ["127.0.0.2", "localhost.example", "[::2]", "10.0.0.1"] {
            var configuration = RemoteKeys.Configuration.jwks(issuer: "i", url: "http://\(host)/jwks")
            configuration.allowLoopbackHTTP = true
            let refusal = RemoteKeysError(.insecureURL, "http is allowed to a loopback host only: http://\(host)/jwks")
            #expect(throws: refusal) { try RemoteKeys(configuration) }
        }
    }

    @Test func boundsMustBePositive() {
        var configuration = RemoteKeys.Configuration.jwks(issuer: "i", url: "https://id.example/jwks")
        configuration.maximumBodyBytes = 0
        #expect(throws: RemoteKeysError(.invalidConfiguration, "intervals, timeout and body bound must be positive")) {
            try RemoteKeys(configuration)
        }
        configuration.maximumBodyBytes = 1
        configuration.retrySeconds = 0
        #expect(throws: RemoteKeysError(.invalidConfiguration, "intervals, timeout and body bound must be positive")) {
            try RemoteKeys(configuration)
        }
    }

    @Test func cacheControlIsReadAndClamped() throws {
        let remote = try RemoteKeys(.jwks(issuer: "i", url: "https://id.example/jwks"))
        #expect(remote.maxAge(cacheControl: "max-age=1200", age: nil) == 1_200)
        #expect(remote.maxAge(cacheControl: "public, MAX-AGE=\"7200\"", age: nil) == 7_200)
        #expect(remote.maxAge(cacheControl: "max-age=10", age: nil) == 300)
        #expect(remote.maxAge(cacheControl: "max-age=9999999", age: nil) == 86_400)
        #expect(remote.maxAge(cacheControl: "max-age=1000", age: "100") == 900)
        #expect(remote.maxAge(cacheControl: "max-age=600", age: "9000") == 300)
        #expect(remote.maxAge(cacheControl: "no-store", age: nil) == 300)
        #expect(remote.maxAge(cacheControl: "max-age=600, no-cache", age: nil) == 300)
        #expect(remote.maxAge(cacheControl: "", age: nil) == 3_600)
        #expect(remote.maxAge(cacheControl: "=,,max-age", age: nil) == 3_600)
        #expect(remote.maxAge(cacheControl: "max-age=-5", age: nil) == 3_600)
        #expect(remote.maxAge(cacheControl: "max-age=abc", age: nil) == 3_600)
    }

    @Test func retriesBackOffUpToTheCap() throws {
        let remote = try RemoteKeys(.jwks(issuer: "i", url: "https://id.example/jwks"))
        #expect((0..<7).map(remote.retryDelay(afterFailures:)) == [30, 60, 120, 240, 480, 600, 600])
        #expect(remote.retryDelay(afterFailures: Int.max) == 600)
    }
}

extension RemoteKeysRulesTests {
    @Test func codeNames() {
        let codes: [RemoteKeysError.Code] = [
            .invalidConfiguration, .invalidURL, .insecureURL, .issuerMismatch, .invalidMetadata, .httpStatus, .timeout,
            .bodyTooLarge, .invalidJWKS, .transport, .noVerifier,
        ]
        #expect(codes.map(\.name) == [
            "invalid_configuration", "invalid_url", "insecure_url", "issuer_mismatch", "invalid_metadata",
            "http_status", "timeout", "body_too_large", "invalid_jwks", "transport", "no_verifier",
        ])
    }
}
