//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundTestSupport
@testable import Keybound


extension ReplayKey {
    /// A digest-like key derived from `n` (distinct `n`, distinct keys): the four words are SplitMix64 outputs.
    static func test(_ n: Int, salt: UInt64 = 0) -> ReplayKey {
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: n) &* 4 ^ salt &* 0x5851_F42D_4C95_7F2D)
        return ReplayKey(words: (rng.next(), rng.next(), rng.next(), rng.next()))
    }
}
