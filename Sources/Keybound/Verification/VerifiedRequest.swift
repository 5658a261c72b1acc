//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// What a successful verification established.
///
/// It refers to the verifier's cached entries instead of copying claims, so making one allocates nothing; claims
/// are read when asked for.
public struct VerifiedRequest: Sendable {
    /// `nil` for a Bearer request (migration mode): there was no proof.
    let clientKey: ClientKey?
    let token: VerifiedToken?
    let proofJTIBytes: ProofJTI?
    let nonces: NonceIssuer?
    let now: Int64

    /// The RFC 7638 thumbprint of the client's proof key (in token-endpoint mode: the value to put in the new
    /// token's `cnf.jkt`); `nil` for a Bearer request (migration mode, ``VerifierPolicy/allowBearer``), which proved
    /// no key. Never empty.
    public var jkt: String? { clientKey?.jkt }
    /// The scheme the request was verified under: ``AuthenticationScheme/bearer`` only in migration mode.
    public var scheme: AuthenticationScheme { clientKey == nil ? .bearer : .dpop }
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

    /// The proof's `jti`, as captured when the proof was checked; `nil` for a Bearer request (no proof).
    public var proofJTI: String? { proofJTIBytes?.string }

    /// The **raw** JSON text of a claim of the access token, of any JSON type, exactly as the token spells it:
    /// `"alice"` with its quotes, `"caf\u00e9"` with its escapes, `42`, `["a","b"]`; `nil` when absent or when the
    /// request has no JWT access token. Member names compare byte for byte after unescaping. For values, use the
    /// typed accessors (``string(_:)``, ``int(_:)``, ``double(_:)``, ``bool(_:)``, ``strings(_:)``).
    public func claim(_ name: String) -> String? {
        guard let token else { return nil }
        return ByteView.with(utf8: name) { wanted in token.withClaim(wanted) { $0?.decodeString() } }
    }

    // MARK: - Typed claims

    /// The claim `name` as a string, unescaped (`"caf\u00e9"` is `café`); `nil` when absent or when the request has
    /// no JWT access token.
    /// - Throws: `KeyboundError(.tokenClaims)` (310) when the claim is present with another JSON type (`null`
    ///   included).
    public func string(_ name: String) throws(KeyboundError) -> String? {
        try typedClaim(name, "a string") { $0.kind == .string ? $0.stringValue() : nil }
    }

    /// The claim `name` as an integer: a JSON number with no fractional part (`42`, `42.0`, `4.2e1`) within ±2^53,
    /// where doubles are exact; `nil` when absent or when the request has no JWT access token.
    /// - Throws: `KeyboundError(.tokenClaims)` (310) for another JSON type, a fraction, or a number beyond ±2^53.
    public func int(_ name: String) throws(KeyboundError) -> Int64? {
        try typedClaim(name, "an integer") { $0.integerValue() }
    }

    /// The claim `name` as a number within ±2^53 (as NumericDates, docs/design.md "Contracts → Time edges"); `nil`
    /// when absent or when the request has no JWT access token.
    /// - Throws: `KeyboundError(.tokenClaims)` (310) for another JSON type or a number beyond ±2^53.
    public func double(_ name: String) throws(KeyboundError) -> Double? {
        try typedClaim(name, "a number") { $0.numericDate() }
    }

    /// The claim `name` as a boolean (`true` or `false`); `nil` when absent or when the request has no JWT access
    /// token.
    /// - Throws: `KeyboundError(.tokenClaims)` (310) for another JSON type.
    public func bool(_ name: String) throws(KeyboundError) -> Bool? {
        try typedClaim(name, "a boolean") { $0.kind == .true ? true : $0.kind == .false ? false : nil }
    }

    /// The claim `name` as a JSON array of strings, each unescaped; `nil` when absent or when the request has no JWT
    /// access token. Only arrays: a single string (an `aud` of one audience) and the space-separated `scope` are not
    /// split; read those with ``string(_:)`` (or ``scope``).
    /// - Throws: `KeyboundError(.tokenClaims)` (310) when the claim is not an array, or holds a non-string.
    public func strings(_ name: String) throws(KeyboundError) -> [String]? {
        try typedClaim(name, "an array of strings") { value -> [String]? in
            guard value.kind == .array else { return nil }
            var result: [String] = []
            var allStrings = true
            value.forEachElement { element in
                if element.kind == .string { result.append(element.stringValue()) } else { allStrings = false }
            }
            return allStrings ? result : nil
        }
    }

    /// Looks `name` up and reads it with `read`, which answers `nil` for a value of the wrong type.
    private func typedClaim<T>(_ name: String, _ expected: StaticString, _ read: (JSONValue) -> T?)
        throws(KeyboundError) -> T?
    {
        guard let token else { return nil }
        return try ByteView.with(utf8: name) { (wanted) throws(KeyboundError) -> T? in
            try token.withClaimValue(wanted) { (value) throws(KeyboundError) -> T? in
                guard let value else { return nil }
                guard let typed = read(value) else { throw Self.wrongType(expected) }
                return typed
            }
        }
    }

    /// The 310 of a typed claim accessor; the reason names the expected type, never the token's bytes.
    static func wrongType(_ expected: StaticString) -> KeyboundError {
        .make(.tokenClaims, "the access token claim is not \(expected)")
    }

    /// The decoded JSON payload of the access token (the bytes the claims are read from), or `nil` when the request
    /// has no JWT access token: for `KeyboundCodable`'s `decodeClaims(as:)`.
    package var payloadBytes: [UInt8]? { token?.payload }

    /// Checks, after verification, that the token holds every one of `scopes`: the 315 `insufficient_scope` of
    /// check 7 (RFC 6750 §3.1), with `scope="…"` in its challenge, for routers that learn a route's scopes only after
    /// the request was verified. Prefer passing ``Requirements`` to `verify`: there the check runs before the proof
    /// is recorded. A request without a JWT access token holds no scope.
    public func requireScopes(_ scopes: [String]) throws(KeyboundError) {
        try Verifier.checkScopes(scopes, granted: token?.scope)
    }

    /// A fresh nonce for the response's `DPoP-Nonce` header when nonces are on (RFC 9449 §8), else `nil`.
    /// `nil` for a Bearer request, which has no proof to carry a nonce.
    public var dpopNonce: String? {
        guard let clientKey else { return nil }
        return try? nonces?.mint(now: now, jkt: clientKey.jkt)
    }
}
