//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Well-formed UTF-8 (Unicode §3.9, Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF. Shared by
/// the JSON reader (RFC 8259 §8.1) and the `htu` normalisation of raw non-ASCII characters.
enum UTF8Validation {
    /// The length of the well-formed multi-byte sequence that starts at `byte(0)`, where `available` bytes (the lead
    /// included) may be read, or `nil` when the bytes are not one.
    @inline(__always)
    static func multiByteSequenceLength(available: Int, _ byte: (Int) -> UInt8) -> Int? {
        var need = 0
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch byte(0) {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; high = 0x9F
        case 0xF0: need = 3; low = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; high = 0x8F
        default: return nil
        }
        guard available > need else { return nil }
        let second = byte(1)
        guard second >= low && second <= high else { return nil }
        var k = 2
        while k <= need {
            guard byte(k) & 0xC0 == 0x80 else { return nil }
            k &+= 1
        }
        return need &+ 1
    }
}
