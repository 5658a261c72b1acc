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
}

/// Where a verifier records the `jti` of each accepted proof, once per client key (RFC 9449 §4.3, §11.1).
///
/// `insert` is an atomic insert-if-absent. Times are Unix seconds. `expiresAt` is the absolute time
/// `iat + maxAge + skew`, the last instant at which the proof could still be accepted, so an entry is **live while
/// `now <= expiresAt`** (inclusive) and may be forgotten once `now > expiresAt`. A store may keep an entry longer than
/// that (it then reports `.replayed` longer), never shorter. An entry whose `expiresAt` is already before `now` need
/// not be stored: the answer is then `.inserted` unless a live entry for the key exists.
///
/// The verifier calls it only after every other check passed (docs/design.md "The checks", step 7). Implementations must be
/// thread-safe and must not trap on any key or time, including negative times, `Int64.min` and `Int64.max`.
public protocol ReplayStore: Sendable {
    /// Records `key` unless a live entry for it exists.
    /// - Parameters:
    ///   - key: the proof's replay key.
    ///   - expiresAt: the last Unix second at which the proof could be accepted (`iat + maxAge + skew`).
    ///   - now: the current Unix second, as the verifier sees it.
    /// - Returns: `.inserted`, `.replayed`, `.full`, `.unavailable` or `.restarted`.
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult
}

/// A ``ReplayStore`` that does network I/O (a shared store such as Redis `SET key NX PXAT`), so that event-loop
/// hosts never block a thread while it answers. Same contract as ``ReplayStore``; a timeout is `.unavailable`.
public protocol AsyncReplayStore: Sendable {
    /// Records `key` unless a live entry for it exists; see ``ReplayStore/insert(_:expiresAt:now:)``.
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) async -> ReplayInsertResult
}
