//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// JSON objects for the bounded-work tests and benchmarks (docs/design.md "Contracts → Bounded work"; SECURITY.md
/// C3, C6): member names that all collide under an unkeyed 32-bit FNV-1a (the duplicate pre-filter Keybound used
/// before its names were hashed under a per-process key), and random names of the same count, lengths, escapes and
/// byte size.
public enum HostileJSON {
    /// The name prefix of ``names``.
    public static let prefix = Array("member-name-prefix-0123456789abc".utf8)

    /// The 512 colliding names (86 bytes each) the tests and the benchmarks use, built once.
    public static let names = collidingNames(prefix: prefix, stages: 9)

    /// `(colliding, random)`: the objects of ``names`` and of random names like them (seed `0x5EC0_0001`).
    public static func objects() -> (colliding: [UInt8], random: [UInt8]) {
        (object(names), object(randomNames(like: names, seed: 0x5EC0_0001)))
    }

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// The duplicate pre-filter Keybound used before its names were hashed under a per-process key: 32-bit FNV-1a
    /// over the unescaped name. Kept only to build names that collide under it.
    public static func unkeyedNameHash(_ bytes: [UInt8], from start: UInt32 = 0x811C_9DC5) -> UInt32 {
        var h = start
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    /// `1 << stages` distinct names, all `prefix.count + 6 × stages` bytes long, with one unkeyed hash: each stage is
    /// a pair of 6-byte blocks that take the same hash state to the same state (a birthday search over 32 bits), so
    /// any choice of one block per stage gives the same hash. Empty when a stage finds no pair (never seen).
    public static func collidingNames(prefix: [UInt8], stages: Int) -> [[UInt8]] {
        // Block n: six characters drawn from a generator seeded with n (short or low-entropy blocks such as a
        // counter's digits map almost injectively under FNV-1a, so they do not collide).
        func block(_ n: Int) -> [UInt8] {
            var generator = SplitMix64(seed: UInt64(n))
            return (0..<6).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        }
        var state = unkeyedNameHash(prefix)
        var pairs: [([UInt8], [UInt8])] = []
        var first = 0
        // 2^18 candidate blocks a stage: about eight colliding pairs expected; sorting finds them.
        let candidates = 1 << 18
        for _ in 0..<stages {
            var keyed = (0..<candidates).map { k in
                UInt64(unkeyedNameHash(block(first + k), from: state)) << 32 | UInt64(k)
            }
            keyed.sort()
            var found: ([UInt8], [UInt8])? = nil
            for k in 1..<candidates where keyed[k] >> 32 == keyed[k - 1] >> 32 {
                let a = block(first + Int(keyed[k - 1] & 0xFFFF_FFFF)), b = block(first + Int(keyed[k] & 0xFFFF_FFFF))
                // Two seeds can draw the same six characters: that is no collision.
                if a != b {
                    found = (a, b)
                    break
                }
            }
            first += candidates
            guard let found else { return [] }
            pairs.append(found)
            state = unkeyedNameHash(found.0, from: state)
        }
        var names: [[UInt8]] = [prefix]
        for (a, b) in pairs { names = names.flatMap { [$0 + a, $0 + b] } }
        return names
    }

    /// Random names of the same count and lengths, from the same alphabet, first character a letter (so it escapes
    /// with two hex digits like the colliding ones).
    public static func randomNames(like names: [[UInt8]], seed: UInt64) -> [[UInt8]] {
        var generator = SplitMix64(seed: seed)
        return names.map { name in
            var out = [alphabet[Int(generator.next() % 26)]]
            for _ in 1..<name.count { out.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            return out
        }
    }

    /// A JSON object whose member names are `names`, each with its first character written as a `\u00XX` escape
    /// (equal after unescaping, but it forces the reader's unescaping compare), and each value `0`.
    public static func object(_ names: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, name) in names.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("\"\\u00".utf8)
            out += Array(String(name[0], radix: 16, uppercase: false).utf8)
            out += name.dropFirst()
            out += Array("\":0".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
