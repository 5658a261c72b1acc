//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundTestSupport
import Testing

@testable import Keybound

extension ReplayKey {
    /// A digest-like key derived from `n` (distinct `n`, distinct keys): the four words are SplitMix64 outputs.
    static func test(_ n: Int, salt: UInt64 = 0) -> ReplayKey {
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: n) &* 4 ^ salt &* 0x5851_F42D_4C95_7F2D)
        return ReplayKey(words: (rng.next(), rng.next(), rng.next(), rng.next()))
    }
}

/// Inserts `key` once per row, in order, and expects each row's answer: rows are (expiresAt, now, answer).
func expectInserts(
    _ cache: ReplayCache, _ key: ReplayKey, _ rows: [(Int64, Int64, ReplayInsertResult)],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for (index, (expiresAt, now, answer)) in rows.enumerated() {
        let got = cache.insert(key, expiresAt: expiresAt, now: now)
        #expect(got == answer, "row \(index): expiresAt \(expiresAt), now \(now)", sourceLocation: sourceLocation)
    }
}

/// Inserts `.test(n)` for every `n` in `keys`, as `owner`, and expects each insert to answer `answer`.
func expectEach(
    _ cache: ReplayCache, _ keys: Range<Int>, owner: ReplayOwner, expiresAt: Int64, now: Int64,
    _ answer: ReplayInsertResult, sourceLocation: SourceLocation = #_sourceLocation
) {
    for n in keys {
        let got = cache.insert(.test(n), owner: owner, expiresAt: expiresAt, now: now)
        #expect(got == answer, "key \(n)", sourceLocation: sourceLocation)
    }
}
