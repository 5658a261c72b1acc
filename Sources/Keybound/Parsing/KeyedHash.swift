//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// SipHash-1-3 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) under a 128-bit key drawn once per
/// process from the system's random number generator.
///
/// Used wherever request bytes choose a place in a table or decide which pairs get compared in full (JSON member
/// names), so that no client can aim collisions without knowing the key (docs/design.md "Contracts → Bounded work";
/// Crosby and Wallach, "Denial of Service via Algorithmic Complexity Attacks", USENIX Security 2003). Unlike the
/// standard library's `Hasher`, the key does not depend on the `SWIFT_DETERMINISTIC_HASHING` environment variable.
///
/// Computing a hash reads the bytes once and allocates nothing.
enum KeyedHash {
    /// The process's key, drawn on first use (thread-safe: a `static let` is initialised once).
    static let processKey: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()

    /// SipHash-1-3 of `bytes` under the process key.
    @inline(__always)
    static func hash(_ bytes: ByteView) -> UInt64 {
        siphash(bytes, key: processKey, compressionRounds: 1, finalizationRounds: 3)
    }

    /// SipHash-c-d of `bytes` under `key` (the key's first word holds key bytes 0..<8, little-endian).
    static func siphash(
        _ bytes: ByteView,
        key: (UInt64, UInt64),
        compressionRounds: Int,
        finalizationRounds: Int
    ) -> UInt64 {
        var state = State(key: key)
        let count = bytes.count
        var index = 0
        while count &- index >= 8 {
            state.compress(bytes.littleEndianWord(at: index), rounds: compressionRounds)
            index &+= 8
        }
        // The last word: the remaining bytes, and the length's low byte on top.
        var last = UInt64(truncatingIfNeeded: count) &<< 56
        var shift: UInt64 = 0
        while index < count {
            last |= UInt64(bytes[index]) &<< shift
            shift &+= 8
            index &+= 1
        }
        state.compress(last, rounds: compressionRounds)
        return state.finalize(rounds: finalizationRounds)
    }

    struct State {
        var v0: UInt64
        var v1: UInt64
        var v2: UInt64
        var v3: UInt64

        @inline(__always)
        init(key: (UInt64, UInt64)) {
            v0 = key.0 ^ 0x736F_6D65_7073_6575
            v1 = key.1 ^ 0x646F_7261_6E64_6F6D
            v2 = key.0 ^ 0x6C79_6765_6E65_7261
            v3 = key.1 ^ 0x7465_6462_7974_6573
        }

        @inline(__always)
        mutating func round() {
            v0 = v0 &+ v1
            v1 = v1.rotatedLeft(13) ^ v0
            v0 = v0.rotatedLeft(32)
            v2 = v2 &+ v3
            v3 = v3.rotatedLeft(16) ^ v2
            v0 = v0 &+ v3
            v3 = v3.rotatedLeft(21) ^ v0
            v2 = v2 &+ v1
            v1 = v1.rotatedLeft(17) ^ v2
            v2 = v2.rotatedLeft(32)
        }

        @inline(__always)
        mutating func compress(_ word: UInt64, rounds: Int) {
            v3 ^= word
            for _ in 0..<rounds { round() }
            v0 ^= word
        }

        @inline(__always)
        mutating func finalize(rounds: Int) -> UInt64 {
            v2 ^= 0xFF
            for _ in 0..<rounds { round() }
            return v0 ^ v1 ^ v2 ^ v3
        }
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self &<< count) | (self &>> (64 &- count))
    }
}
