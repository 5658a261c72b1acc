//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound

/// The in-process ``ReplayCache`` in front of a shared store (docs/design.md "Beyond one machine"; RFC 9449 §11.1).
///
/// `insert` first records the key in the local cache: a key this instance has already seen is `.replayed` at once,
/// without a round trip. Otherwise (the local answer is `.inserted`, or `.full`: the local cache is only advisory
/// and may be full) the shared store decides, and its answer is returned as is: it is the authority for first use.
///
/// A proof refused because the shared store was `.unavailable` stays recorded locally, so the same proof presented
/// again to this instance is refused as a replay (fail closed); clients send a fresh proof per request anyway.
///
/// - Note: LayeredReplayStore is thread-safe when the shared store is.
public final class LayeredReplayStore: ReplayStore, AsyncReplayStore, Sendable {
    /// The local, advisory cache.
    public let local: ReplayCache
    /// The authority.
    public let shared: any ReplayStore & AsyncReplayStore
    private let localReplays = AtomicCounter()

    /// - Parameters:
    ///   - local: the in-process cache (default 65,536 entries, 3 MiB).
    ///   - shared: the store every instance shares (a ``RedisReplayStore``).
    public init(local: ReplayCache = ReplayCache(capacity: 65_536), shared: any ReplayStore & AsyncReplayStore) {
        self.local = local
        self.shared = shared
    }

    /// Replays refused by the local cache alone (no round trip).
    public var localReplayCount: Int { localReplays.value }

    public func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        if local.insert(key, expiresAt: expiresAt, now: now) == .replayed {
            localReplays.increment()
            return .replayed
        }
        return shared.insert(key, expiresAt: expiresAt, now: now)
    }

    public func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) async -> ReplayInsertResult {
        if local.insert(key, expiresAt: expiresAt, now: now) == .replayed {
            localReplays.increment()
            return .replayed
        }
        return await shared.insert(key, expiresAt: expiresAt, now: now)
    }

    /// With an owner: the local cache sees it too (a local `.quota` or `.full` only sends the insert on), and the
    /// shared store, which counts each owner fleet-wide, decides.
    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        if local.insert(key, owner: owner, expiresAt: expiresAt, now: now) == .replayed {
            localReplays.increment()
            return .replayed
        }
        return shared.insert(key, owner: owner, expiresAt: expiresAt, now: now)
    }

    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) async -> ReplayInsertResult {
        if local.insert(key, owner: owner, expiresAt: expiresAt, now: now) == .replayed {
            localReplays.increment()
            return .replayed
        }
        return await shared.insert(key, owner: owner, expiresAt: expiresAt, now: now)
    }
}
