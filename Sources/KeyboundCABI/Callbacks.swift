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

    private let insertFunction: Insert
    private let destroyFunction: Destroy?
    private let context: UnsafeMutableRawPointer?

    @unsafe
    init(insert: Insert, destroy: Destroy?, context: UnsafeMutableRawPointer?) {
        unsafe self.insertFunction = insert
        unsafe self.destroyFunction = destroy
        unsafe self.context = context
    }

    deinit {
        if let destroyFunction = unsafe destroyFunction { unsafe destroyFunction(context) }
    }

    /// Passes the 32 key bytes (on the stack, valid for the call) and maps the answer; anything unknown fails closed.
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        let words = key.words
        var bytes: (UInt64, UInt64, UInt64, UInt64) = (
            words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian
        )
        let answer = unsafe withUnsafeBytes(of: &bytes) { raw in
            unsafe insertFunction(context, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), expiresAt, now)
        }
        switch answer {
        case Int32(KB_REPLAY_INSERTED): return .inserted
        case Int32(KB_REPLAY_REPLAYED): return .replayed
        case Int32(KB_REPLAY_FULL): return .full
        case Int32(KB_REPLAY_RESTARTED): return .restarted
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
