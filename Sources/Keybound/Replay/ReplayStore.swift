//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The outcome of recording a proof's ``ReplayKey`` (docs/design.md "Contracts → Replay store").
public enum ReplayInsertResult: Sendable, Hashable {
    /// The key was absent (or only held expired) and is now recorded: the proof is accepted.
    case inserted
    /// The key is recorded and still live: the proof was used before (`proof_replayed`, 211; RFC 9449 §11.1).
    case replayed
    /// The store holds as many live entries as it may and evicts none: fail closed (`replay_cache_full`, 500).
    case full
    /// A shared store did not answer (in time): fail closed (`replay_store_unavailable`, 501).
    case unavailable
    /// A shared store lost its data after the proof was made (it restarted without persistence), so it cannot tell
    /// whether the proof was used before: fail closed (`replay_store_restarted`, 503). A fresh proof succeeds.
    case restarted
    /// The entry's owner (the proof key) already holds its share of live entries, and nothing was recorded
    /// (`replay_quota_exceeded`, 212, HTTP 429; docs/design.md "Per-key replay share"). `retryAfter` is the number of
    /// seconds until the owner's oldest entry expires when the store knows it; `nil` lets the verifier answer with
    /// the proof window (`maxAge + 2 × skew`).
    case quota(retryAfter: Int64?)
}

/// Whose entry a replay key is: SHA-256 of the ASCII `jkt` of the proof key (32 bytes), the same on every instance
/// (docs/design.md "Contracts → Replay store"). A store counts the live entries of each owner to enforce the per-key
/// share. Every key of one proof key has the same owner, so a store sees one owner per key, always.
public struct ReplayOwner: Hashable, Sendable {
    /// The 32 bytes, held like a ``ReplayKey``.
    package let digest: ReplayKey
    /// The owner's 64-bit tag in the in-process cache (docs/design.md "Per-key replay share"): SipHash-1-3 of the
    /// 32 bytes under the process's random key, never 0. Computed once, when the owner is made: a verifier keeps a
    /// proof key's owner with the cached key, so a warm request's insert hashes only its own replay key.
    let tag: UInt64

    /// Wraps a 32-byte owner; `nil` unless `bytes` holds exactly 32 bytes.
    public init?(bytes: [UInt8]) {
        guard let digest = ReplayKey(bytes: bytes) else { return nil }
        self.init(digest: digest)
    }

    /// The owner of a proof key's entries: SHA-256 of its `jkt` (the RFC 7638 thumbprint, base64url, ASCII).
    /// - Throws: `KeyboundError(.internal)` when the crypto backend fails.
    public init(jkt: String, backend: CryptoBackend = .default) throws(KeyboundError) {
        let digest = try ByteView.with(utf8: jkt) { (bytes) throws(KeyboundError) in try backend.sha256(bytes) }
        self.init(digest: ReplayKey(digest: digest))
    }

    package init(digest: ReplayKey) {
        self.digest = digest
        self.tag = Self.tag(of: digest)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { digest.bytes }

    /// The unpadded base64url of the 32 bytes: 43 characters, for a shared store's key names.
    public var base64URL: String { digest.base64URL }

    /// Owners are equal when their 32 bytes are (the tag follows from them).
    public static func == (lhs: ReplayOwner, rhs: ReplayOwner) -> Bool { lhs.digest == rhs.digest }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    /// SipHash-1-3 of the four words (32 bytes, in the order of ``ReplayKey``'s words) under `KeyedHash`'s process
    /// key; 0, which marks an empty owner record, becomes a fixed non-zero constant.
    static func tag(of digest: ReplayKey) -> UInt64 {
        var state = KeyedHash.State(key: KeyedHash.processKey)
        state.compress(digest.w0, rounds: 1)
        state.compress(digest.w1, rounds: 1)
        state.compress(digest.w2, rounds: 1)
        state.compress(digest.w3, rounds: 1)
        state.compress(32 &<< 56, rounds: 1)
        let tag = state.finalize(rounds: 3)
        return tag == 0 ? 0x9E37_79B9_7F4A_7C15 : tag
    }
}

/// Where a verifier records the `jti` of each accepted proof, once per client key (RFC 9449 §4.3, §11.1).
///
/// `insert` is an atomic insert-if-absent. Times are Unix seconds. `expiresAt` is the absolute time
/// `iat + maxAge + skew`, the last instant at which the proof could still be accepted, so an entry is **live while
/// `now <= expiresAt`** (inclusive) and may be forgotten once `now > expiresAt`. A store may keep an entry longer than
/// that (it then reports `.replayed` longer), never shorter. An entry whose `expiresAt` is already before `now` need
/// not be stored: the answer is then `.inserted` unless a live entry for the key exists.
///
/// The verifier calls it only after every other check passed (docs/design.md "The checks", step 8). Implementations must be
/// thread-safe and must not trap on any key or time, including negative times, `Int64.min` and `Int64.max`.
///
/// **Owners.** The verifier calls ``insert(_:owner:expiresAt:now:)``, which carries the entry's ``ReplayOwner`` so a
/// store can hold each proof key to its share of live entries and answer `.quota` past it. Its default
/// implementation calls ``insert(_:expiresAt:now:)`` and ignores the owner, so a store written before owners existed
/// keeps compiling and working, without shares. A store that enforces shares implements both.
public protocol ReplayStore: Sendable {
    /// Records `key` unless a live entry for it exists.
    /// - Parameters:
    ///   - key: the proof's replay key.
    ///   - expiresAt: the last Unix second at which the proof could be accepted (`iat + maxAge + skew`).
    ///   - now: the current Unix second, as the verifier sees it.
    /// - Returns: `.inserted`, `.replayed`, `.full`, `.unavailable` or `.restarted`.
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult

    /// Records `key`, owned by `owner`, unless a live entry for it exists or `owner` already holds its share of live
    /// entries (then `.quota`, and nothing is recorded). A replay is `.replayed` whatever the owner's count.
    /// The default implementation ignores `owner` (no share).
    func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult
}

extension ReplayStore {
    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        insert(key, expiresAt: expiresAt, now: now)
    }
}

/// A ``ReplayStore`` that does network I/O (a shared store such as Redis `SET key NX PXAT`), so that event-loop
/// hosts never block a thread while it answers. Same contract as ``ReplayStore``; a timeout is `.unavailable`.
public protocol AsyncReplayStore: Sendable {
    /// Records `key` unless a live entry for it exists; see ``ReplayStore/insert(_:expiresAt:now:)``.
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) async -> ReplayInsertResult

    /// Records `key` for `owner`; see ``ReplayStore/insert(_:owner:expiresAt:now:)``. The default implementation
    /// ignores `owner`.
    func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) async -> ReplayInsertResult
}

extension AsyncReplayStore {
    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) async -> ReplayInsertResult {
        await insert(key, expiresAt: expiresAt, now: now)
    }
}
