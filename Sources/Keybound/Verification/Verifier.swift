//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// What kind of request is being verified.
public enum VerificationMode: Sendable, Hashable {
    /// A resource request: `Authorization: DPoP <JWT access token>` plus a proof (RFC 9449 §7).
    case resource
    /// A token-endpoint request: a proof alone, as at login or refresh (RFC 9449 §5). The result's ``VerifiedRequest/jkt``
    /// is the thumbprint to bind the new token to.
    case tokenEndpoint
    /// A resource request with an opaque access token that the host has introspected: the host supplies the `jkt`
    /// the token is bound to, and Keybound checks the proof, `ath` and the binding.
    case opaqueToken(boundJKT: String)
}

/// Verifies DPoP requests (RFC 9449) with DPoP-bound JWT access tokens (RFC 9068): the product.
///
/// Configure one verifier per server with the trusted issuers and a ``VerifierPolicy``, then call
/// `verify(_:mode:now:)` for every request, from any thread. The verifier is immutable apart from its caches,
/// its key sets (``replaceKeys(forIssuer:with:)``) and its revocation list, all internally synchronised; there is
/// no actor hop on the hot path. Every call takes an optional `now` (Unix seconds); when it is left out, the verifier
/// reads its ``VerifierPolicy/clock`` (the system's wall clock by default) once, at the start of the call.
///
/// The checks run cheap-first in the order of docs/design.md "The checks"; the replay store records the proof only after
/// every other check has passed.
///
/// - Note: `Verifier` is thread-safe.
public final class Verifier: Sendable {
    let policy: VerifierPolicy
    let issuers: [IssuerState]
    let replayStore: ReplayBackend
    /// Checked proof headers by their encoded bytes (the proof-key cache).
    let proofKeys: BoundedCache<CheckedProofHeader>
    let tokens: BoundedCache<VerifiedToken>
    let revocations: RevocationList
    let counters = OutcomeCounters()
    let onKeyMiss: (@Sendable (KeyMiss) -> Void)?
    let externalBaseURL: [UInt8]?
    let challengeAlgorithms: [String]
    /// The crypto backend this verifier builds proof keys and hashes on; its issuers' key sets must use it too.
    public let backend: CryptoBackend

    enum ReplayBackend: Sendable {
        case inProcess(ReplayCache)
        case sync(any ReplayStore)
        case async(any AsyncReplayStore)
    }

    /// The longest encoded proof header that is still cached (an RSA-8192 JWK's header is about 1.9 KiB encoded).
    static let maximumCachedHeaderBytes = 2048

    /// Creates a verifier.
    ///
    /// - Parameters:
    ///   - issuers: the issuers whose tokens are accepted (at least one, unless only token-endpoint or opaque-token
    ///     modes are used).
    ///   - policy: the rules; ``VerifierPolicy/init()`` gives docs/design.md's defaults.
    ///   - backend: the crypto backend (``CryptoBackend/default`` unless given); every issuer's ``JWKSet`` must have
    ///     been built on it.
    ///   - replayStore: a shared store; `nil` (the default) uses an in-process ``ReplayCache`` of
    ///     ``VerifierPolicy/replayCacheCapacity`` entries.
    ///   - onKeyMiss: called (at most once per ``VerifierPolicy/keyMissIntervalSeconds`` per issuer) when a token
    ///     names a key the issuer's set lacks, so the host can fetch the JWKS again. Keybound does no network I/O.
    /// - Throws: `KeyboundError(.invalidConfiguration)` for an invalid policy, duplicate issuers, a bad base URL or
    ///   an issuer key set built on another backend.
    public convenience init(
        issuers: [TrustedIssuer],
        policy: VerifierPolicy = VerifierPolicy(),
        replayStore: (any ReplayStore)? = nil,
        onKeyMiss: (@Sendable (KeyMiss) -> Void)? = nil,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        let replay: ReplayBackend
        if let replayStore {
            replay = .sync(replayStore)
        } else {
            replay = .inProcess(try ReplayCache(policy: policy, backend: backend))
        }
        try self.init(issuers: issuers, policy: policy, replay: replay, onKeyMiss: onKeyMiss, crypto: backend)
    }

    /// Creates a verifier whose replay store does network I/O: use the `async` `verify(_:mode:now:)` with it, so
    /// that no event-loop thread waits on the store.
    public convenience init(
        issuers: [TrustedIssuer],
        policy: VerifierPolicy = VerifierPolicy(),
        asyncReplayStore: any AsyncReplayStore,
        onKeyMiss: (@Sendable (KeyMiss) -> Void)? = nil,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        try self.init(
            issuers: issuers,
            policy: policy,
            replay: .async(asyncReplayStore),
            onKeyMiss: onKeyMiss,
            crypto: backend
        )
    }

    init(
        issuers: [TrustedIssuer],
        policy: VerifierPolicy,
        replay: ReplayBackend,
        onKeyMiss: (@Sendable (KeyMiss) -> Void)?,
        crypto: CryptoBackend
    ) throws(KeyboundError) {
        try policy.validate()
        for issuer in issuers where issuer.keys.backend != crypto {
            throw .make(.invalidConfiguration, "an issuer's key set was built on another crypto backend")
        }
        var seen = Set<[UInt8]>()
        for issuer in issuers {
            guard !issuer.identifier.isEmpty else { throw .make(.invalidConfiguration, "an issuer identifier is empty") }
            guard seen.insert(Array(issuer.identifier.utf8)).inserted else {
                throw .make(.invalidConfiguration, "an issuer is configured twice")
            }
        }
        if let base = policy.externalBaseURL {
            // The base URL must itself be a valid absolute http(s) URL without query or fragment.
            try ByteView.with(utf8: base) { (bytes) throws(KeyboundError) in
                try ByteView.with(utf8: "/") { (slash) throws(KeyboundError) in
                    try withScratch(capacity: HTU.canonicalCapacity(base: bytes, originFormPath: slash)) {
                        (out) throws(KeyboundError) in
                        try HTU.normalize(base: bytes, originFormPath: slash, into: &out, failingWith: .invalidConfiguration)
                    }
                }
            }
            self.externalBaseURL = Array(base.utf8)
        } else {
            self.externalBaseURL = nil
        }
        self.policy = policy
        self.issuers = issuers.map(IssuerState.init)
        self.replayStore = replay
        self.backend = crypto
        self.proofKeys = BoundedCache(capacity: policy.proofKeyCacheSize, maximumKeyBytes: Self.maximumCachedHeaderBytes)
        self.tokens = BoundedCache(capacity: policy.tokenCacheSize, maximumKeyBytes: 32)
        self.revocations = RevocationList(capacity: policy.maxRevocations)
        self.onKeyMiss = onKeyMiss
        self.challengeAlgorithms = policy.advertiseAlgorithms ? policy.proofAlgorithms.map(\.rawValue) : []
    }

    // MARK: - Verifying

    /// Verifies one request.
    ///
    /// - Parameters:
    ///   - request: the method, URL and header values as received.
    ///   - mode: resource (default), token-endpoint or opaque-token.
    ///   - requirements: what this request needs from the token: scopes (315), step-up `max_age` / `acr` (314).
    ///     Resource mode only (another mode with requirements is `.invalidConfiguration`); ``Requirements/none`` by
    ///     default.
    ///   - now: the current time, Unix seconds; `nil` (the default) reads ``VerifierPolicy/clock``.
    /// - Returns: what was verified: the client key's `jkt` and, for JWT access tokens, the token's claims.
    /// - Throws: `KeyboundError` with the code of the first failed check. With an ``AsyncReplayStore``, call the
    ///   `async` overload instead: this one throws `.invalidConfiguration`.
    public func verify(
        _ request: DPoPRequest,
        mode: VerificationMode = .resource,
        requirements: Requirements = .none,
        now: Int64? = nil
    ) throws(KeyboundError) -> VerifiedRequest {
        let now = currentTime(now)
        return try verifying({ () throws(KeyboundError) -> Checked in
            try check(request, mode: mode, requirements: requirements, now: now)
        }, now: now)
    }

    /// Verifies one request, awaiting the replay store when it does network I/O (nothing else suspends).
    public func verify(
        _ request: DPoPRequest,
        mode: VerificationMode = .resource,
        requirements: Requirements = .none,
        now: Int64? = nil
    ) async throws(KeyboundError) -> VerifiedRequest {
        let now = currentTime(now)
        return try await verifying({ () throws(KeyboundError) -> Checked in
            try check(request, mode: mode, requirements: requirements, now: now)
        }, now: now)
    }

    /// `now` when given, else the policy's clock (read once per call).
    func currentTime(_ now: Int64?) -> Int64 { now ?? policy.clock.now() }

    // MARK: - The skeleton of every entry point

    /// Checks 1–6 (`check`), the replay insert (check 7), then the result; a refusal is counted once, by its code.
    /// The synchronous entry points (a ``DPoPRequest``, borrowed bytes) share it.
    func verifying(_ check: () throws(KeyboundError) -> Checked, now: Int64) throws(KeyboundError) -> VerifiedRequest {
        try counted { () throws(KeyboundError) in
            let checked = try check()
            return try finish(checked, try recordSynchronously(checked, now: now), now: now)
        }
    }

    /// The same skeleton for the `async` entry point: only the replay insert may suspend.
    func verifying(_ check: () throws(KeyboundError) -> Checked, now: Int64) async throws(KeyboundError)
        -> VerifiedRequest
    {
        let checked = try counted(check)
        let recorded = await record(checked, now: now)
        return try counted { () throws(KeyboundError) in try finish(checked, recorded, now: now) }
    }

    /// Runs `body`; a refusal is counted by its code on its way out (each entry point counts a refusal once).
    @inline(__always)
    func counted<R>(_ body: () throws(KeyboundError) -> R) throws(KeyboundError) -> R {
        do throws(KeyboundError) {
            return try body()
        } catch {
            counters.record(error.code)
            throw error
        }
    }

    /// Check 8, awaiting a store that does network I/O; `nil` for a Bearer request, which has no proof to record.
    func record(_ checked: Checked, now: Int64) async -> ReplayInsertResult? {
        guard let key = checked.replayKey, let owner = checked.clientKey?.owner else { return nil }
        switch replayStore {
        case .inProcess(let cache): return cache.insert(key, owner: owner, expiresAt: checked.replayExpiresAt, now: now)
        case .sync(let store): return store.insert(key, owner: owner, expiresAt: checked.replayExpiresAt, now: now)
        case .async(let store):
            return await store.insert(key, owner: owner, expiresAt: checked.replayExpiresAt, now: now)
        }
    }

    /// Check 8 with a store that answers synchronously (the in-process cache, or a host's `ReplayStore`); `nil` for a
    /// Bearer request.
    func recordSynchronously(_ checked: Checked, now: Int64) throws(KeyboundError) -> ReplayInsertResult? {
        guard let key = checked.replayKey, let owner = checked.clientKey?.owner else { return nil }
        switch replayStore {
        case .inProcess(let cache): return cache.insert(key, owner: owner, expiresAt: checked.replayExpiresAt, now: now)
        case .sync(let store): return store.insert(key, owner: owner, expiresAt: checked.replayExpiresAt, now: now)
        case .async: throw .make(.invalidConfiguration, "the replay store is asynchronous: use await verify")
        }
    }

    /// The result after the replay insert's `outcome` (`nil`: a Bearer request, nothing was recorded).
    func finish(_ checked: Checked, _ outcome: ReplayInsertResult?, now: Int64) throws(KeyboundError) -> VerifiedRequest {
        switch outcome ?? .inserted {
        case .inserted:
            if let (encoded, header) = checked.admissibleHeader {
                proofKeys.insert(header, for: encoded)
            }
            counters.recordSuccess()
            return VerifiedRequest(clientKey: checked.clientKey, token: checked.token, proofJTIBytes: checked.proofJTI,
                                   nonces: policy.nonces, now: now)
        case .replayed: throw .make(.proofReplayed, "this proof was already used")
        case .full: throw .make(.replayCacheFull, "the replay cache is at capacity")
        case .unavailable: throw .make(.replayStoreUnavailable, "the replay store did not answer")
        case .restarted:
            throw .make(.replayStoreRestarted, "the replay store lost its data after this proof was made; send a new proof")
        case .quota(let retryAfter):
            throw KeyboundError.make(.replayQuotaExceeded, "the proof key holds its share of replay entries")
                .withRetryAfter(max(retryAfter ?? proofWindowSeconds, 1))
        }
    }

    /// The longest a replay entry made now can live, `maxAge + 2 × skew` seconds (a proof's `iat` may be up to `skew`
    /// ahead): the `Retry-After` of a 212 when the store does not know when the key's oldest entry expires.
    var proofWindowSeconds: Int64 { policy.proofMaxAgeSeconds + 2 * policy.clockSkewSeconds }

    // MARK: - Keys, revocation, nonces, challenges

    /// Installs a new key set for an issuer (JWKS rotation). Requests verifying at the same moment use either the old
    /// or the new set, never neither; cached tokens verified under the old set are verified again.
    ///
    /// - Throws: `KeyboundError(.invalidConfiguration)` for an issuer this verifier does not trust.
    public func replaceKeys(forIssuer identifier: String, with keys: JWKSet) throws(KeyboundError) {
        let bytes = Array(identifier.utf8)
        guard let issuer = issuers.first(where: { $0.identifierBytes == bytes }) else {
            throw .make(.invalidConfiguration, "no such issuer")
        }
        guard keys.backend == backend else {
            throw .make(.invalidConfiguration, "the key set was built on another crypto backend")
        }
        issuer.replaceKeys(keys)
    }

    /// The key set in force for a trusted issuer (the one given at start-up or the last ``replaceKeys(forIssuer:with:)``),
    /// or `nil` for an issuer this verifier does not trust. Its ``JWKSet/skippedKeys`` say what the set left out.
    public func keys(forIssuer identifier: String) -> JWKSet? {
        let bytes = Array(identifier.utf8)
        return issuers.first(where: { $0.identifierBytes == bytes })?.keys
    }

    /// Revokes an access token by its `jti` until `until` (Unix seconds, usually the token's `exp`). `now` defaults to
    /// the policy's clock.
    public func revokeToken(jti: String, until: Int64, now: Int64? = nil) throws(KeyboundError) {
        try revocations.revoke(.token, jti, until: until, now: currentTime(now))
    }

    /// Revokes a client key by its `jkt` until `until`: every token bound to it is refused ("log out this device").
    /// `now` defaults to the policy's clock.
    public func revokeKey(jkt: String, until: Int64, now: Int64? = nil) throws(KeyboundError) {
        try revocations.revoke(.key, jkt, until: until, now: currentTime(now))
    }

    /// A fresh nonce for the `DPoP-Nonce` response header, or `nil` when nonces are off. `now` defaults to the
    /// policy's clock.
    public func mintNonce(now: Int64? = nil, jkt: String? = nil) throws(KeyboundError) -> String? {
        guard let nonces = policy.nonces else { return nil }
        return try nonces.mint(now: currentTime(now), jkt: jkt)
    }

    /// The `WWW-Authenticate` value for a refusal (RFC 9449 §7.1), or for a bare challenge when `error` is `nil`.
    /// Lists the accepted proof algorithms unless the policy turns that off, or the error asks for a nonce.
    /// The step-up and scope refusals (314, 315) list no `algs` either: the proof was fine, and RFC 9470 §3 and
    /// RFC 6750 §3.1 give their challenges as `error`, `error_description` and the requirement.
    ///
    /// In Bearer migration mode (``VerifierPolicy/allowBearer``) the value lists both schemes, DPoP first
    /// (RFC 9449 §7.2, RFC 9110 §11.6.1), with the error attributes on the scheme the failed request used
    /// (``KeyboundError/scheme``): `DPoP error="…", error_description="…", algs="…", Bearer` for a DPoP request (or
    /// one without credentials), `DPoP algs="…", Bearer error="…", error_description="…"` for a Bearer request.
    public func wwwAuthenticate(for error: KeyboundError?) -> String {
        let code = error?.code
        let quiet = error?.scheme != .bearer
            && (code == .nonceRequired || code == .nonceInvalid || code == .insufficientUserAuthentication
                || code == .insufficientScope)
        return Challenge.wwwAuthenticate(for: error, algs: quiet ? [] : challengeAlgorithms,
                                         offeringBearer: policy.allowBearer)
    }

    /// The counters since this verifier was made.
    public var metrics: VerifierMetrics {
        let proofStats = proofKeys.statistics
        let tokenStats = tokens.statistics
        var replayCount: Int? = nil
        var replayCapacity: Int? = nil
        if case .inProcess(let cache) = replayStore {
            replayCount = cache.count
            replayCapacity = cache.capacity
        }
        return VerifierMetrics(
            verified: counters.successes, refused: counters.refusals, replayCacheCount: replayCount,
            replayCacheCapacity: replayCapacity, proofKeyCacheHits: proofStats.hits,
            proofKeyCacheMisses: proofStats.misses, tokenCacheHits: tokenStats.hits, tokenCacheMisses: tokenStats.misses
        )
    }
}
