//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension Base64URL {
    /// Each byte's 6-bit value in the base64url alphabet, or 0xFF for a byte outside it (RFC 4648 §5, table 2).
    @usableFromInline
    static let sextetTable: [UInt8] = (0..<256).map { sextet(UInt8(truncatingIfNeeded: $0)) }

    /// Four tables of 256 entries, one per position in a 4-character group: a character's 6-bit value already
    /// shifted to its place in the group's 24 bits (18, 12, 6, 0), or bit 31 for a byte outside the alphabet.
    @usableFromInline
    static let placedSextets: [UInt32] = (0..<1024).map { index in
        let value = sextet(UInt8(truncatingIfNeeded: index & 0xFF))
        return value == 0xFF ? 0x8000_0000 : UInt32(value) &<< (18 &- 6 &* UInt32(index >> 8))
    }

    /// Decodes the whole 4-character groups of `input` (the first `input.count / 4 * 4` characters) and appends
    /// their 3 bytes each to `out`: four table lookups OR-ed into the group's 24 bits, and one validity test for all
    /// of them.
    ///
    /// Every proof carries three base64url segments, so this loop runs on every request; the checked per-byte reads
    /// of ``Base64URL/decode(_:into:failingWith:)`` cost three times as much.
    ///
    /// - Returns: `false` when a character is outside the alphabet; what was appended is then meaningless.
    /// - Precondition: `out` has room for `input.count / 4 * 3` bytes.
    @inlinable
    static func decodeQuads(_ input: ByteView, into out: inout ScratchBuffer) -> Bool {
        let quads = input.count / 4
        precondition(quads &* 3 <= out.remaining, "ScratchBuffer overflow")
        var invalid: UInt32 = 0
        unsafe placedSextets.withUnsafeBufferPointer { table in
            precondition(table.count == 1024, "four tables of 256 entries")
            unsafe input.withUnsafeBytes { source in
                unsafe out.withUnsafeUninitializedTail { target in
                    // Safe because source holds 4 × quads bytes, target has room for 3 × quads (checked above),
                    // and a byte plus 256 × its position indexes the 1024-entry table.
                    var i = 0
                    var o = 0
                    for _ in 0..<quads {
                        let word = unsafe table[Int(source[i])] | table[256 &+ Int(source[i &+ 1])]
                            | table[512 &+ Int(source[i &+ 2])] | table[768 &+ Int(source[i &+ 3])]
                        invalid |= word
                        unsafe target[o] = UInt8(truncatingIfNeeded: word &>> 16)
                        unsafe target[o &+ 1] = UInt8(truncatingIfNeeded: word &>> 8)
                        unsafe target[o &+ 2] = UInt8(truncatingIfNeeded: word)
                        i &+= 4
                        o &+= 3
                    }
                    return o
                }
            }
        }
        return invalid & 0x8000_0000 == 0
    }

    /// The alphabet (RFC 4648 §5, table 2): each 6-bit value's character.
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes the whole 3-byte groups of `input` (the first `input.count / 3 * 3` bytes) and appends their 4
    /// characters each to `out`, a table lookup per character (`ath` is encoded this way on every request).
    ///
    /// - Precondition: `out` has room for `input.count / 3 * 4` bytes.
    @inlinable
    static func encodeTriples(_ input: ByteView, into out: inout ScratchBuffer) {
        let triples = input.count / 3
        precondition(triples &* 4 <= out.remaining, "ScratchBuffer overflow")
        unsafe alphabet.withUnsafeBufferPointer { table in
            precondition(table.count == 64, "the base64url alphabet has 64 characters")
            unsafe input.withUnsafeBytes { source in
                unsafe out.withUnsafeUninitializedTail { target in
                    // Safe because source holds 3 × triples bytes, target has room for 4 × triples (checked above),
                    // and every index into the table is masked to 6 bits.
                    var i = 0
                    var o = 0
                    for _ in 0..<triples {
                        let word = UInt32(unsafe source[i]) << 16 | UInt32(unsafe source[i &+ 1]) << 8
                            | UInt32(unsafe source[i &+ 2])
                        unsafe target[o] = table[Int(word >> 18)]
                        unsafe target[o &+ 1] = table[Int(word >> 12 & 0x3F)]
                        unsafe target[o &+ 2] = table[Int(word >> 6 & 0x3F)]
                        unsafe target[o &+ 3] = table[Int(word & 0x3F)]
                        i &+= 3
                        o &+= 4
                    }
                    return o
                }
            }
        }
    }
}
