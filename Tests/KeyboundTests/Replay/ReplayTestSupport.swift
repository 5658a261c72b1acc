//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

@testable import Keybound

/// A deterministic PRNG for tests (SplitMix64): no wall clock, no global randomness.
struct ReplayTestRNG: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ReplayKey {
    /// A digest-like key derived from `n` (distinct `n`, distinct keys): the four words are SplitMix64 outputs.
    static func test(_ n: Int, salt: UInt64 = 0) -> ReplayKey {
        var rng = ReplayTestRNG(seed: UInt64(truncatingIfNeeded: n) &* 4 ^ salt &* 0x5851_F42D_4C95_7F2D)
        return ReplayKey(words: (rng.next(), rng.next(), rng.next(), rng.next()))
    }
}
