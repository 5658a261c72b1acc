//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// JSON objects for the bounded-work benchmarks (docs/design.md "Contracts → Bounded work"): one whose member names
/// all collide under an unkeyed 32-bit FNV-1a (the duplicate pre-filter Keybound used before its names were hashed
/// under a per-process key), and one of random names with the same count, lengths, escapes and byte size.
public enum HostileJSON {
    /// `(colliding, random)`: two objects of `1 << stages` members named `prefix` plus `stages` six-byte blocks,
    /// each name's first character written as a `\u00XX` escape (forcing the unescaping comparison), values `0`.
    public static func objects(stages: Int = 9) -> (colliding: [UInt8], random: [UInt8]) {
        let colliding = collidingNames(prefix: Array("member-name-prefix-0123456789abc".utf8), stages: stages)
        var generator = SplitMix(state: 0x5EC0_0001)
        let random = colliding.map { name -> [UInt8] in
            var out = [alphabet[Int(generator.next() % 26)]]
            for _ in 1..<name.count { out.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            return out
        }
        return (object(colliding), object(random))
    }

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func fnv1a(_ bytes: [UInt8], from start: UInt32 = 0x811C_9DC5) -> UInt32 {
        var h = start
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Each stage is a pair of distinct six-byte blocks taking the hash state to one state (a birthday search over
    /// 2^18 candidates), so every choice of one block per stage gives the same hash.
    static func collidingNames(prefix: [UInt8], stages: Int) -> [[UInt8]] {
        func block(_ n: Int) -> [UInt8] {
            var generator = SplitMix(state: UInt64(n))
            return (0..<6).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        }
        var state = fnv1a(prefix)
        var pairs: [([UInt8], [UInt8])] = []
        var first = 0
        let candidates = 1 << 18
        for _ in 0..<stages {
            var keyed = (0..<candidates).map { k in UInt64(fnv1a(block(first + k), from: state)) << 32 | UInt64(k) }
            keyed.sort()
            var found: ([UInt8], [UInt8])? = nil
            for k in 1..<candidates where keyed[k] >> 32 == keyed[k - 1] >> 32 {
                let a = block(first + Int(keyed[k - 1] & 0xFFFF_FFFF)), b = block(first + Int(keyed[k] & 0xFFFF_FFFF))
                if a != b {
                    found = (a, b)
                    break
                }
            }
            first += candidates
            guard let found else { preconditionFailure("no colliding pair among the candidates") }
            pairs.append(found)
            state = fnv1a(found.0, from: state)
        }
        var names: [[UInt8]] = [prefix]
        for (a, b) in pairs { names = names.flatMap { [$0 + a, $0 + b] } }
        return names
    }

    static func object(_ names: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, name) in names.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("\"\\u00".utf8)
            out += Array(String(name[0], radix: 16).utf8)
            out += name.dropFirst()
            out += Array("\":0".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
