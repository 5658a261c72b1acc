//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension RemoteKeys {
    /// Where the keys come from, and the bounds that every fetch keeps (docs/remote-keys.md).
    public struct Configuration: Sendable {
        /// How the JWK Set is found.
        public enum Source: Sendable, Hashable {
            /// OpenID Connect Discovery 1.0 §4: `GET {issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
            case openIDConnectDiscovery
            /// RFC 8414 §3.1: `/.well-known/oauth-authorization-server` inserted between the issuer's host and path,
            /// then its `jwks_uri`.
            case authorizationServerMetadata
            /// The JWK Set's URL, given directly (no discovery).
            case jwksURL(String)
        }

        /// The issuer whose keys these are: the verifier's ``TrustedIssuer/identifier`` and, with discovery, the
        /// value the metadata's `issuer` must equal exactly (RFC 8414 §3.3).
        public var issuer: String
        /// How the JWK Set is found.
        public var source: Source
        /// `max-age` values are clamped to this range (default 5 minutes to 24 hours); `no-store` and `no-cache`
        /// count as its lower end.
        public var maxAgeRange: ClosedRange<Int64> = 300...86_400
        /// The lifetime of a set whose response has no usable `max-age` (default 1 hour; clamped to ``maxAgeRange``).
        public var defaultMaxAgeSeconds: Int64 = 3_600
        /// The least time between two fetches started by unknown `kid`s (default 30 s).
        public var cooldownSeconds: Int64 = 30
        /// The first wait after a failed fetch (default 30 s), doubled after each further failure up to
        /// ``maximumRetrySeconds``.
        public var retrySeconds: Int64 = 30
        /// The longest wait between retries (default 600 s).
        public var maximumRetrySeconds: Int64 = 600
        /// How long one HTTP exchange (connect, TLS, head and body) may take (default 10 s).
        public var timeoutSeconds: Int64 = 10
        /// The largest response body read (default 1 MiB, which is also the JWK Set reader's bound); a larger one
        /// fails the fetch.
        public var maximumBodyBytes: Int = 1 << 20
        /// A PEM file of trust roots added to the system's (for a private or test CA); `nil` for the system's only.
        public var extraTrustRootsPEMFile: String? = nil
        /// Allow `http` to a loopback host (`127.0.0.1`, `::1`, `localhost`), for tests against a local server. Any
        /// other `http` URL is refused whatever this says.
        public var allowLoopbackHTTP = false
        /// Accepted RSA modulus sizes for the issuer's keys.
        public var rsaModulusBits: ClosedRange<Int> = 2048...4096

        public init(issuer: String, source: Source = .openIDConnectDiscovery) {
            self.issuer = issuer
            self.source = source
        }

        /// Discovery from the issuer's URL (OpenID Connect by default).
        public static func discovery(issuer: String, using source: Source = .openIDConnectDiscovery) -> Self {
            Self(issuer: issuer, source: source)
        }

        /// The keys from a JWK Set URL, for `issuer`.
        public static func jwks(issuer: String, url: String) -> Self {
            Self(issuer: issuer, source: .jwksURL(url))
        }

        /// Checks the URLs and the bounds.
        func validate() throws(RemoteKeysError) {
            guard cooldownSeconds >= 0, maxAgeRange.lowerBound > 0, retrySeconds > 0,
                maximumRetrySeconds >= retrySeconds, timeoutSeconds > 0, maximumBodyBytes > 0
            else {
                throw RemoteKeysError(.invalidConfiguration, "intervals, timeout and body bound must be positive")
            }
            switch source {
            case .jwksURL(let url):
                _ = try RemoteURL(url, allowLoopbackHTTP: allowLoopbackHTTP)
            case .openIDConnectDiscovery, .authorizationServerMetadata:
                _ = try metadataURL()
            }
        }

        /// The metadata document's URL for a discovery source, `nil` for a JWKS URL.
        func metadataURL() throws(RemoteKeysError) -> String? {
            let wellKnown: String
            switch source {
            case .jwksURL: return nil
            case .openIDConnectDiscovery: wellKnown = "openid-configuration"
            case .authorizationServerMetadata: wellKnown = "oauth-authorization-server"
            }
            let issuerURL = try RemoteURL(issuer, allowLoopbackHTTP: allowLoopbackHTTP)
            guard !issuerURL.hasQueryOrFragment else {
                throw RemoteKeysError(.invalidURL, "an issuer identifier has no query or fragment (RFC 8414 §2)")
            }
            var path = issuerURL.path
            while path.hasSuffix("/") { path.removeLast() }
            if case .authorizationServerMetadata = source {
                // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
                return issuerURL.origin + "/.well-known/" + wellKnown + path
            }
            // OpenID Connect Discovery §4: appended to the issuer, without its trailing slash.
            return issuerURL.origin + path + "/.well-known/" + wellKnown
        }
    }
}
