//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The fleet-wide replay key of a DPoP proof (RFC 9449 §11.1; docs/design.md "Contracts → Replay store").
///
/// `k = SHA-256(u16be(len jkt) ‖ jkt ‖ u16be(len jti) ‖ jti)`, computed by the verifier, so every instance (and a
/// shared store) sees the same key for the same proof. The 32 bytes are held inline, without allocation, as four
/// 64-bit words: word `i` is the big-endian reading of bytes `8·i ..< 8·i + 8`, so `bytes[0]` is the most significant
/// byte of word 0 and `bytes[31]` the least significant byte of word 3.
public struct ReplayKey: Hashable, Sendable {
    /// Bytes 0..<8, big-endian.
    let w0: UInt64
    /// Bytes 8..<16, big-endian.
    let w1: UInt64
    /// Bytes 16..<24, big-endian.
    let w2: UInt64
    /// Bytes 24..<32, big-endian.
    let w3: UInt64

    /// The number of bytes in a key (a SHA-256 digest).
    package static let byteCount = 32

    /// Wraps a 32-byte key; `nil` unless `bytes` holds exactly 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.init(words: (Self.word(bytes, 0), Self.word(bytes, 8), Self.word(bytes, 16), Self.word(bytes, 24)))
    }

    /// Wraps four words, each the big-endian packing of 8 consecutive key bytes (see ``ReplayKey``).
    package init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.w0 = words.0
        self.w1 = words.1
        self.w2 = words.2
        self.w3 = words.3
    }

    /// Wraps a SHA-256 digest (its bytes in order).
    package init(digest: SHA256Digest) {
        let words = digest.withByteView { bytes -> (UInt64, UInt64, UInt64, UInt64) in
            func word(_ offset: Int) -> UInt64 {
                var w: UInt64 = 0
                for k in 0..<8 { w = w << 8 | UInt64(bytes[offset &+ k]) }
                return w
            }
            return (word(0), word(8), word(16), word(24))
        }
        self.init(words: words)
    }

    /// The four words, each the big-endian packing of 8 consecutive key bytes.
    package var words: (UInt64, UInt64, UInt64, UInt64) { (w0, w1, w2, w3) }

    /// The 32 key bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.byteCount)
        for word in [w0, w1, w2, w3] {
            var shift: UInt64 = 56
            while true {
                out.append(UInt8(truncatingIfNeeded: word >> shift))
                if shift == 0 { break }
                shift -= 8
            }
        }
        return out
    }

    /// The unpadded base64url (RFC 4648 §5) of the 32 bytes: 43 characters, for a shared store's key names.
    public var base64URL: String { Base64URL.encode(bytes) }

    // MARK: - Helpers

    /// The big-endian word at `bytes[offset ..< offset + 8]` (the caller checked the count).
    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in offset..<(offset + 8) {
            value = value << 8 | UInt64(bytes[i])
        }
        return value
    }
}
