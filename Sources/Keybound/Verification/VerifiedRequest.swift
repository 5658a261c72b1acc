//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// What a successful verification established.
///
/// It refers to the verifier's cached entries instead of copying claims, so making one allocates nothing; claims
/// are read when asked for.
public struct VerifiedRequest: Sendable {
    let clientKey: ClientKey
    let token: VerifiedToken?
    let proofJTIBytes: ProofJTI
    let nonces: NonceIssuer?
    let now: Int64

    /// The RFC 7638 thumbprint of the client's proof key (in token-endpoint mode: the value to put in the new
    /// token's `cnf.jkt`).
    public var jkt: String { clientKey.jkt }
    /// The token's `sub`, when it is a JWT that has one.
    public var subject: String? { token?.subject }
    /// The token's `client_id` (RFC 9068 §2.2).
    public var clientID: String? { token?.clientID }
    /// The token's `scope` (RFC 9068 §2.2.3), space-separated.
    public var scope: String? { token?.scope }
    /// The token's `jti`.
    public var tokenJTI: String? { token?.tokenID }
    /// The token's `exp`, Unix seconds.
    public var expiresAt: Double? { token?.expiresAt }
    /// The token's issuer.
    public var issuer: String? { token?.issuer.identifier }

    /// The proof's `jti`, as captured when the proof was checked.
    public var proofJTI: String { proofJTIBytes.string }

    /// The raw JSON text of a claim of the access token (any JSON type), or `nil` when absent or not a JWT.
    /// Member names compare byte for byte after unescaping.
    public func claim(_ name: String) -> String? {
        guard let token else { return nil }
        return ByteView.with(utf8: name) { wanted in token.withClaim(wanted) { $0?.decodeString() } }
    }

    /// Checks, after verification, that the token holds every one of `scopes`: the 315 `insufficient_scope` of
    /// check 7 (RFC 6750 §3.1), with `scope="…"` in its challenge, for routers that learn a route's scopes only after
    /// the request was verified. Prefer passing ``Requirements`` to `verify`: there the check runs before the proof
    /// is recorded. A request without a JWT access token holds no scope.
    public func requireScopes(_ scopes: [String]) throws(KeyboundError) {
        try Verifier.checkScopes(scopes, granted: token?.scope)
    }

    /// A fresh nonce for the response's `DPoP-Nonce` header when nonces are on (RFC 9449 §8), else `nil`.
    public var dpopNonce: String? {
        try? nonces?.mint(now: now, jkt: clientKey.jkt)
    }
}
