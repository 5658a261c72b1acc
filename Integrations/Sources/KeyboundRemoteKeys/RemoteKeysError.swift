//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Why a configuration was refused or a fetch failed. A failed fetch never removes keys: the last good set stays.
public struct RemoteKeysError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A bound or interval of the configuration is out of range, or the trust-roots file does not load.
        case invalidConfiguration = "invalid_configuration"
        /// Not an absolute URL with a host (or one with credentials), or an issuer with a query or fragment.
        case invalidURL = "invalid_url"
        /// Not `https` (and not `http` to a loopback host the configuration allows).
        case insecureURL = "insecure_url"
        /// The metadata's `issuer` differs from the configured issuer (RFC 8414 §3.3).
        case issuerMismatch = "issuer_mismatch"
        /// The metadata is not a JSON object with string `issuer` and `jwks_uri` members.
        case invalidMetadata = "invalid_metadata"
        /// The server answered another status than 200 (redirects are not followed).
        case httpStatus = "http_status"
        /// The exchange took longer than ``RemoteKeys/Configuration/timeoutSeconds``.
        case timeout
        /// The body is larger than ``RemoteKeys/Configuration/maximumBodyBytes``.
        case bodyTooLarge = "body_too_large"
        /// The JWK Set does not load (`KeyboundError.invalidJWKS`), or the verifier refused it.
        case invalidJWKS = "invalid_jwks"
        /// Connection, DNS or TLS failure.
        case transport
        /// A fetch finished before ``RemoteKeys/attach(_:nextRefreshAt:)`` gave it a verifier.
        case noVerifier = "no_verifier"
    }

    public var code: Code
    /// A one-line explanation for logs.
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { code.rawValue + ": " + reason }
}
