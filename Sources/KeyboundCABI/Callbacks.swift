//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CKeybound
import Keybound

/// An external replay store given as C function pointers plus a context (docs/design.md "Contracts → Replay store").
///
/// Held by the config and by every verifier made from it; `destroy(ctx)` runs once, when the last holder lets go.
///
/// - Note: `@unchecked Sendable` because the context pointer is the host's: the header requires `insert` to be
///   thread-safe, and the box itself is immutable.
@safe
final class CReplayStore: ReplayStore, @unsafe @unchecked Sendable {
    typealias Insert = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int64, Int64) -> Int32
    typealias Destroy = @convention(c) (UnsafeMutableRawPointer?) -> Void
    typealias InsertOwned = @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UnsafePointer<UInt8>?, Int64, Int64,
        UnsafeMutablePointer<Int64>?
    ) -> Int32

    private let insertFunction: Insert
    private let insertOwnedFunction: InsertOwned?
    private let destroyFunction: Destroy?
    private let context: UnsafeMutableRawPointer?

    @unsafe
    init(insert: Insert, insertOwned: InsertOwned?, destroy: Destroy?, context: UnsafeMutableRawPointer?) {
        unsafe self.insertFunction = insert
        unsafe self.insertOwnedFunction = insertOwned
        unsafe self.destroyFunction = destroy
        unsafe self.context = context
    }

    deinit {
        if let destroyFunction = unsafe destroyFunction { unsafe destroyFunction(context) }
    }

    /// Passes the 32 key bytes (on the stack, valid for the call) and maps the answer; anything unknown fails closed.
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        var bytes = Self.bytes(key)
        let answer = unsafe withUnsafeBytes(of: &bytes) { raw in
            unsafe insertFunction(context, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), expiresAt, now)
        }
        return Self.result(answer, retryAfter: -1)
    }

    /// With `insert_owned` set, passes the owner's 32 bytes too (both on the stack, valid for the call).
    func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        guard let insertOwned = unsafe insertOwnedFunction else { return insert(key, expiresAt: expiresAt, now: now) }
        var keyBytes = Self.bytes(key)
        var ownerBytes = Self.bytes(owner.digest)
        var retryAfter: Int64 = -1
        let answer = unsafe withUnsafeBytes(of: &keyBytes) { keyRaw in
            unsafe withUnsafeBytes(of: &ownerBytes) { ownerRaw in
                unsafe insertOwned(
                    context, keyRaw.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    ownerRaw.baseAddress?.assumingMemoryBound(to: UInt8.self), expiresAt, now, &retryAfter)
            }
        }
        return Self.result(answer, retryAfter: retryAfter)
    }

    /// The 32 bytes of a digest-shaped value, in order, as four big-endian words.
    private static func bytes(_ value: ReplayKey) -> (UInt64, UInt64, UInt64, UInt64) {
        let words = value.words
        return (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian)
    }

    /// Maps a `KB_REPLAY_*` answer; anything unknown fails closed. A negative Retry-After means "not given".
    private static func result(_ answer: Int32, retryAfter: Int64) -> ReplayInsertResult {
        switch answer {
        case Int32(KB_REPLAY_INSERTED): return .inserted
        case Int32(KB_REPLAY_REPLAYED): return .replayed
        case Int32(KB_REPLAY_FULL): return .full
        case Int32(KB_REPLAY_RESTARTED): return .restarted
        case Int32(KB_REPLAY_QUOTA): return .quota(retryAfter: retryAfter >= 0 ? retryAfter : nil)
        default: return .unavailable
        }
    }
}

/// The key-miss hook as a C function pointer plus a context the host keeps alive.
///
/// - Note: `@unchecked Sendable` for the same reason as ``CReplayStore``: the header requires the callback to be
///   thread-safe.
@safe
final class KeyMissCallback: @unsafe @unchecked Sendable {
    private let function: kb_key_miss_fn
    private let context: UnsafeMutableRawPointer?

    @unsafe
    init(function: kb_key_miss_fn, context: UnsafeMutableRawPointer?) {
        unsafe self.function = function
        unsafe self.context = context
    }

    func call(_ miss: KeyMiss) {
        var issuer = miss.issuer
        issuer.withUTF8 { issuerBytes in
            if var kid = miss.kid {
                kid.withUTF8 { kidBytes in
                    unsafe function(context, issuerBytes.baseAddress, issuerBytes.count, kidBytes.baseAddress,
                                    kidBytes.count)
                }
            } else {
                unsafe function(context, issuerBytes.baseAddress, issuerBytes.count, nil, 0)
            }
        }
    }
}
