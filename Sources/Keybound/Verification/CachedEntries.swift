//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Synchronization

/// A client (proof) key with its thumbprint, built from a proof's `jwk` member; cached inside a
/// ``CheckedProofHeader``.
///
/// - Note: Immutable and thread-safe.
final class ClientKey: Sendable {
    let key: PublicKey
    /// The RFC 7638 thumbprint, base64url (the `jkt`).
    let jkt: String
    /// The ASCII bytes of ``jkt``.
    let jktBytes: [UInt8]
    /// The JWK's own `alg` member, when it has one: the proof's `alg` must then be the same.
    let declaredAlgorithm: JWSAlgorithm?
    /// The owner of this key's replay entries: SHA-256 of ``jkt``, computed once, when the key is built.
    let owner: ReplayOwner

    init(key: PublicKey, jkt: String, declaredAlgorithm: JWSAlgorithm?, owner: ReplayOwner) {
        self.key = key
        self.jkt = jkt
        self.jktBytes = Array(jkt.utf8)
        self.declaredAlgorithm = declaredAlgorithm
        self.owner = owner
    }
}

/// A proof header that passed check 3 (`typ`, `alg`, `crit`, the `jwk` and its agreement with `alg`), cached by the
/// exact bytes of its base64url segment: a returning client's proofs carry the same header, so they cost neither a
/// header decode nor a JWK parse, key construction or thumbprint. The checks depend only on those bytes and the
/// verifier's policy, which never changes, so a cached result stands for every later header with the same bytes.
///
/// - Note: Immutable and thread-safe.
final class CheckedProofHeader: Sendable {
    /// The proof key the header's `jwk` carries.
    let clientKey: ClientKey
    /// The header's `alg`, allowed by the policy and supported by the key.
    let alg: JWSAlgorithm

    init(clientKey: ClientKey, alg: JWSAlgorithm) {
        self.clientKey = clientKey
        self.alg = alg
    }
}

/// An access token whose signature and issuer-level claims were verified, cached by the SHA-256 of the token (which
/// `ath` needs anyway). Time claims, binding and revocation are checked again on every request.
///
/// - Note: Immutable and thread-safe.
final class VerifiedToken: Sendable {
    let issuer: IssuerState
    /// The issuer's key generation when this token was verified; a rotation makes the entry stale.
    let keyGeneration: UInt64
    /// The decoded payload, validated once when the token was verified: claim lookups read it without parsing it
    /// again (``withClaim(_:_:)``).
    let payload: [UInt8]
    let subject: String?
    let clientID: String?
    let scope: String?
    let tokenID: String?
    let tokenIDBytes: [UInt8]?
    let expiresAt: Double
    let notBefore: Double?
    /// The token's `iat`, when present.
    let issuedAt: Double?
    /// The token's `auth_time` (RFC 9068 §2.2.1, RFC 9470), when present.
    let authTime: Double?
    /// The token's `acr` (RFC 9068 §2.2.1, RFC 9470), when present.
    let acr: String?
    /// Whether the token has a `cnf` claim at all (a Bearer request with one is 316 in migration mode).
    let hasConfirmation: Bool
    /// The `cnf.jkt` the token is bound to, as ASCII bytes; `nil` when the token has no `cnf.jkt` (refused with 311 on
    /// every DPoP request).
    let boundJKT: [UInt8]?

    struct Claims {
        var subject: String? = nil
        var clientID: String? = nil
        var scope: String? = nil
        var tokenID: String? = nil
        var expiresAt: Double = 0
        var notBefore: Double? = nil
        var issuedAt: Double? = nil
        var authTime: Double? = nil
        var acr: String? = nil
        var hasConfirmation = false
        var boundJKT: [UInt8]? = nil
    }

    init(issuer: IssuerState, keyGeneration: UInt64, payload: [UInt8], claims: Claims) {
        self.issuer = issuer
        self.keyGeneration = keyGeneration
        self.payload = payload
        self.subject = claims.subject
        self.clientID = claims.clientID
        self.scope = claims.scope
        self.tokenID = claims.tokenID
        self.tokenIDBytes = claims.tokenID.map { Array($0.utf8) }
        self.expiresAt = claims.expiresAt
        self.notBefore = claims.notBefore
        self.issuedAt = claims.issuedAt
        self.authTime = claims.authTime
        self.acr = claims.acr
        self.hasConfirmation = claims.hasConfirmation
        self.boundJKT = claims.boundJKT
    }
}

extension VerifiedToken {
    /// Calls `body` with the JSON text of the claim `name` (member names compare after unescaping), or with `nil`
    /// when the payload has no such member. The payload is not validated again: it was, when the token was
    /// verified, so its members are only scanned. Allocates nothing.
    func withClaim<R>(_ name: ByteView, _ body: (ByteView?) -> R) -> R {
        withClaimValue(name) { body($0?.bytes) }
    }

    /// As ``withClaim(_:_:)``, with the claim as a scanned ``JSONValue`` (its kind and escapes known).
    func withClaimValue<R, E: Error>(_ name: ByteView, _ body: (JSONValue?) throws(E) -> R) throws(E) -> R {
        try ByteView.with(payload) { (bytes) throws(E) -> R in
            let object = JSONValue(kind: .object, bytes: bytes, hasEscapes: false)
            var found: JSONValue? = nil
            object.forEachMember { key, value in
                if found == nil, key.stringEquals(name) { found = value }
            }
            return try body(found)
        }
    }
}

/// A trusted issuer and its current keys, replaceable at run time.
///
/// - Note: Thread-safe. Readers take the key set's lock only long enough to retain the current set, so a rotation
///   never leaves a window where neither the old nor the new set is in force.
final class IssuerState: Sendable {
    let identifier: String
    let identifierBytes: [UInt8]
    let audiences: [[UInt8]]
    private let keySet: Locked<JWKSet>
    /// Bumped on every rotation; cached tokens verified under an older generation are verified again.
    let generation = Atomic<UInt64>(0)
    /// The `now` of the last key-miss notification, for rate limiting.
    let lastKeyMiss = Atomic<Int64>(Int64.min)

    init(_ issuer: TrustedIssuer) {
        identifier = issuer.identifier
        identifierBytes = Array(issuer.identifier.utf8)
        audiences = issuer.audiences.map { Array($0.utf8) }
        keySet = Locked(issuer.keys)
    }

    var keys: JWKSet { keySet.withLock { $0 } }

    func replaceKeys(_ keys: JWKSet) {
        keySet.withLock { current in
            current = keys
            generation.add(1, ordering: .sequentiallyConsistent)
        }
    }

    /// True when a key-miss notification may fire at `now` (at most one per `interval` seconds), and records it.
    func claimKeyMissSlot(now: Int64, interval: Int64) -> Bool {
        let last = lastKeyMiss.load(ordering: .relaxed)
        if last != Int64.min {
            let (next, overflow) = last.addingReportingOverflow(interval)
            if !overflow && now < next { return false }
        }
        return lastKeyMiss.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
    }
}
