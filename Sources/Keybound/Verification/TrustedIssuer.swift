//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// An issuer whose access tokens the verifier accepts: its `iss`, its keys and the audiences this server answers to.
public struct TrustedIssuer: Sendable {
    /// The exact `iss` value (compared byte for byte, no normalisation).
    public var identifier: String
    /// The `aud` values this server accepts from this issuer (a token must name at least one).
    public var audiences: [String]
    /// The issuer's signing keys.
    public var keys: JWKSet

    public init(identifier: String, audiences: [String], keys: JWKSet) {
        self.identifier = identifier
        self.audiences = audiences
        self.keys = keys
    }
}
