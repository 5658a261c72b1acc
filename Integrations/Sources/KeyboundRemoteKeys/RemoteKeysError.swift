//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Why a configuration was refused or a fetch failed. A failed fetch never removes keys: the last good set stays.
public struct RemoteKeysError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; ``name`` is its snake_case spelling for logs and the tool (`issuer_mismatch`).
    public enum Code: Sendable, Hashable {
        /// A bound or interval of the configuration is out of range, or the trust-roots file does not load.
        case invalidConfiguration
        /// Not an absolute URL with a host (or one with credentials), or an issuer with a query or fragment.
        case invalidURL
        /// Not `https` (and not `http` to a loopback host the configuration allows).
        case insecureURL
        /// The metadata's `issuer` differs from the configured issuer (RFC 8414 §3.3).
        case issuerMismatch
        /// The metadata is not a JSON object with string `issuer` and `jwks_uri` members.
        case invalidMetadata
        /// The server answered another status than 200 (redirects are not followed).
        case httpStatus
        /// The exchange took longer than ``RemoteKeys/Configuration/timeoutSeconds``.
        case timeout
        /// The body is larger than ``RemoteKeys/Configuration/maximumBodyBytes``.
        case bodyTooLarge
        /// The JWK Set does not load (`KeyboundError.invalidJWKS`), or the verifier refused it.
        case invalidJWKS
        /// Connection, DNS or TLS failure.
        case transport
        /// A fetch finished before ``RemoteKeys/attach(_:nextRefreshAt:)`` gave it a verifier.
        case noVerifier

        /// The case's name in snake_case, an acronym as one word: `issuerMismatch` is `issuer_mismatch`,
        /// `invalidJWKS` is `invalid_jwks`.
        public var name: String {
            var name = ""
            var previousWasLowercase = false
            for character in String(describing: self) {
                if character.isUppercase && previousWasLowercase { name += "_" }
                previousWasLowercase = character.isLowercase
                name += character.lowercased()
            }
            return name
        }
    }

    public var code: Code
    /// A one-line explanation for logs.
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { code.name + ": " + reason }
}
