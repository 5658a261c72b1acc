//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// How a ``Verifier`` judges requests. The defaults are docs/design.md "Contracts → Defaults".
public struct VerifierPolicy: Sendable {
    /// Algorithms accepted for DPoP proofs (default: all eleven Keybound supports; never `none` or HMAC).
    public var proofAlgorithms: [JWSAlgorithm] = JWSAlgorithm.allSupported
    /// Algorithms accepted for access tokens (default: all eleven Keybound supports).
    public var tokenAlgorithms: [JWSAlgorithm] = JWSAlgorithm.allSupported
    /// How old a proof may be, in seconds (RFC 9449 §11.1). Default 60.
    public var proofMaxAgeSeconds: Int64 = 60
    /// Allowed clock difference, in seconds, for `iat`, `exp` and `nbf`. Default 5.
    public var clockSkewSeconds: Int64 = 5
    /// Accept only `typ` `at+jwt` or `application/at+jwt` on access tokens (RFC 9068 §4). By default `JWT` and an
    /// absent `typ` are accepted too, since many issuers still send them. `dpop+jwt` is never accepted.
    public var strictTokenType = false
    /// The largest access token, in bytes (default 8 KiB).
    public var maxTokenBytes = 8192
    /// The largest DPoP proof, in bytes (default 8 KiB).
    public var maxProofBytes = 8192
    /// The deepest JSON nesting read in any header or payload (default 16, at most 64).
    public var maxJSONDepth = 16
    /// The longest proof `jti`, in bytes after unescaping (default 256; RFC 9449 §11.1).
    public var maxJTIBytes = 256
    /// Accepted RSA modulus sizes, for proof keys and issuer keys (default 2048–4096, at most 8192).
    public var rsaModulusBits: ClosedRange<Int> = 2048...4096
    /// Nonces (RFC 9449 §8): `nil` (the default) turns them off and a proof's `nonce` claim is ignored; an issuer
    /// makes them required.
    public var nonces: NonceIssuer? = nil
    /// How many client (proof) keys to cache by their exact JWK bytes (default 65,536).
    public var proofKeyCacheSize = 65_536
    /// How many verified access tokens to cache by their SHA-256 (default 65,536).
    public var tokenCacheSize = 65_536
    /// The capacity of the in-process replay cache, when no other store is given (default 1,048,576).
    public var replayCacheCapacity = 1_048_576
    /// The most live entries one proof key (`jkt`) may hold in the in-process replay cache: past it that key's proofs
    /// are refused with `replay_quota_exceeded` (212, HTTP 429) while other keys are unaffected (docs/design.md
    /// "Per-key replay share"). `nil` (the default) is ``replayCacheCapacity`` / 8 (131,072 at the default capacity);
    /// 0 turns the share off; at most ``replayCacheCapacity``. A shared store has its own setting.
    public var replayKeyShare: Int? = nil
    /// Shares for particular proof keys, by `jkt` (each `0...replayCacheCapacity`, 0: unlimited for that key), in
    /// place of ``replayKeyShare``: a host can give a known busy client more room, or a suspect one less.
    public var replayKeyShareOverrides: [String: Int] = [:]

    /// ``replayKeyShare`` with its default applied: ``replayCacheCapacity`` / 8 when `nil`.
    public var effectiveReplayKeyShare: Int { replayKeyShare ?? replayCacheCapacity / 8 }
    /// The external base URL of this server (for servers behind proxies): the request URL is this, without its
    /// trailing slash, followed by the request's origin-form path with its own dot segments removed first, so the
    /// path never climbs above the base's (`/api/` with `/a/../../x` is `/api/x`; docs/design.md "Contracts →
    /// htu"). When `nil`, requests carry absolute URLs. Never taken from forwarded headers.
    public var externalBaseURL: String? = nil
    /// The least time, in seconds, between two key-miss notifications for one issuer (default 30).
    public var keyMissIntervalSeconds: Int64 = 30
    /// The most revocations (token `jti`s plus client keys) kept at once (default 1,000,000).
    public var maxRevocations = 1_000_000
    /// Whether challenges list the accepted proof algorithms (`algs`, RFC 9449 §7.1). Default true.
    public var advertiseAlgorithms = true
    /// The clock read when a call does not pass `now` (default: the system's wall clock). A `now` passed to a call
    /// always wins; tests inject a fixed clock here.
    public var clock: KeyboundClock = .system
    /// Claims every access token must carry (any JSON value), beyond the registered ones Keybound always checks; a
    /// token without one is refused with 310 `token_claims`, the reason naming the claim. Default none.
    public var requiredClaims: [String] = []
    /// The `client_id`s (RFC 9068 §2.2) whose tokens are accepted; `nil` (the default) accepts any client. With a
    /// list, a token without `client_id` or with another one is refused with 310 `token_claims`.
    public var allowedClientIDs: [String]? = nil
    /// Lets a token's `iat` stand in for a missing `auth_time` when a request requires a `max_age`
    /// (``Requirements/maxAge``). Default false. Weaker: a refresh mints a token with a new `iat` without the user
    /// authenticating again, so `iat` says when the token was made, not when the user last proved who they are.
    public var authTimeFromIAT = false
    /// Bearer migration mode (RFC 9449 §7.2), for a resource server moving its clients from Bearer to DPoP. Default
    /// false: `Authorization: Bearer` is 101 `unsupported_scheme`. When true, a JWT access token without `cnf` may
    /// also come as `Authorization: Bearer <token>` with no `DPoP` header: its result has no ``VerifiedRequest/jkt``
    /// and no proof, so nothing enters the replay store. A token with `cnf` sent as Bearer is 316
    /// `bound_token_as_bearer` (never downgraded), a Bearer request with a `DPoP` header is 102
    /// `malformed_authorization`, and every challenge lists both schemes. DPoP requests are verified as always.
    public var allowBearer = false

    public init() {}

    /// Checks every value; throws `KeyboundError(.invalidConfiguration)` naming the first bad one.
    func validate() throws(KeyboundError) {
        func fail(_ reason: String) -> KeyboundError { .make(.invalidConfiguration, reason) }
        guard !proofAlgorithms.isEmpty else { throw fail("proofAlgorithms is empty") }
        guard !tokenAlgorithms.isEmpty else { throw fail("tokenAlgorithms is empty") }
        guard (0...86_400).contains(proofMaxAgeSeconds) else { throw fail("proofMaxAgeSeconds must be 0...86400") }
        guard (0...3_600).contains(clockSkewSeconds) else { throw fail("clockSkewSeconds must be 0...3600") }
        guard (64...(1 << 20)).contains(maxTokenBytes) else { throw fail("maxTokenBytes must be 64...1048576") }
        guard (64...(1 << 20)).contains(maxProofBytes) else { throw fail("maxProofBytes must be 64...1048576") }
        guard (2...JSON.depthCeiling).contains(maxJSONDepth) else { throw fail("maxJSONDepth must be 2...64") }
        guard (1...4096).contains(maxJTIBytes) else { throw fail("maxJTIBytes must be 1...4096") }
        guard rsaModulusBits.lowerBound >= 2048 && rsaModulusBits.upperBound <= 8192 else {
            throw fail("rsaModulusBits must lie within 2048...8192")
        }
        guard (0...(1 << 24)).contains(proofKeyCacheSize) else { throw fail("proofKeyCacheSize must be 0...16777216") }
        guard (0...(1 << 24)).contains(tokenCacheSize) else { throw fail("tokenCacheSize must be 0...16777216") }
        guard (1...(1 << 30)).contains(replayCacheCapacity) else { throw fail("replayCacheCapacity must be 1...2^30") }
        guard (0...replayCacheCapacity).contains(effectiveReplayKeyShare) else {
            throw fail("replayKeyShare must be 0...replayCacheCapacity")
        }
        for (jkt, share) in replayKeyShareOverrides {
            guard !jkt.isEmpty else { throw fail("replayKeyShareOverrides has an empty jkt") }
            guard (0...replayCacheCapacity).contains(share) else {
                throw fail("replayKeyShareOverrides values must be 0...replayCacheCapacity")
            }
        }
        guard keyMissIntervalSeconds >= 0 else { throw fail("keyMissIntervalSeconds must not be negative") }
        guard maxRevocations >= 0 else { throw fail("maxRevocations must not be negative") }
        guard !requiredClaims.contains(where: \.isEmpty) else { throw fail("requiredClaims holds an empty name") }
    }
}
