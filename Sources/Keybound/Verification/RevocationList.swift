//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Synchronization

/// Revoked access tokens (by `jti`) and client keys (by `jkt`), each until a given time.
///
/// Bounded by a configured size; expired entries are dropped when room is needed. Lookups are skipped entirely
/// while nothing is revoked, and compare exact bytes (no Unicode normalisation).
///
/// - Note: Thread-safe.
final class RevocationList: Sendable {
    struct Entry {
        let bytes: [UInt8]
        let until: Int64
    }

    struct State {
        var tokens: [Int: [Entry]] = [:]
        var keys: [Int: [Entry]] = [:]
        var count = 0
    }

    private let state = Locked(State())
    private let isEmpty = Atomic<Bool>(true)
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    enum Kind { case token, key }

    func revoke(_ kind: Kind, _ value: String, until: Int64, now: Int64) throws(KeyboundError) {
        let bytes = Array(value.utf8)
        let hash = ByteView.with(bytes) { $0.seededHash() }
        try state.withLock { (state) throws(KeyboundError) in
            if state.count >= capacity { Self.prune(&state, now: now) }
            guard state.count < capacity else { throw .make(.invalidConfiguration, "revocation list is full") }
            let entry = Entry(bytes: bytes, until: until)
            switch kind {
            case .token: state.tokens[hash, default: []].append(entry)
            case .key: state.keys[hash, default: []].append(entry)
            }
            state.count &+= 1
            isEmpty.store(false, ordering: .releasing)
        }
    }

    static func prune(_ state: inout State, now: Int64) {
        func keepLive(_ map: inout [Int: [Entry]]) -> Int {
            var n = 0
            for (hash, entries) in map {
                let live = entries.filter { $0.until >= now }
                n &+= live.count
                map[hash] = live.isEmpty ? nil : live
            }
            return n
        }
        state.count = keepLive(&state.tokens) &+ keepLive(&state.keys)
    }

    /// True when `value` is revoked at `now`.
    func isRevoked(_ kind: Kind, _ value: ByteView, now: Int64) -> Bool {
        if isEmpty.load(ordering: .acquiring) { return false }
        let hash = value.seededHash()
        return state.withLock { state in
            let entries = (kind == .token ? state.tokens[hash] : state.keys[hash]) ?? []
            for entry in entries where entry.until >= now {
                if ByteView.with(entry.bytes, { $0.elementsEqual(value) }) { return true }
            }
            return false
        }
    }

    var count: Int { state.withLock { $0.count } }
}
