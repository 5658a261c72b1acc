//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Strict, canonical base64url (RFC 4648 §5, as RFC 7515 §2 uses it).
///
/// Decoding accepts exactly one spelling of each byte string: the alphabet `A–Z a–z 0–9 - _` only (no padding,
/// no `+` or `/`, no whitespace), no length ≡ 1 (mod 4), and zero unused trailing bits (RFC 4648 §3.5). Anything
/// else is refused, even where a lax decoder would produce the same bytes (SECURITY.md C1).
package enum Base64URL {
    /// The decoded length of `encodedCount` characters, or `nil` when no canonical encoding has that length.
    @inlinable
    static func decodedCount(ofEncodedCount encodedCount: Int) -> Int? {
        guard encodedCount >= 0 else { return nil }
        let (quads, rest) = encodedCount.quotientAndRemainder(dividingBy: 4)
        switch rest {
        case 0: return quads &* 3
        case 2: return quads &* 3 &+ 1
        case 3: return quads &* 3 &+ 2
        default: return nil
        }
    }

    /// The encoded length of `byteCount` bytes (unpadded).
    @inlinable
    static func encodedCount(ofDecodedCount byteCount: Int) -> Int {
        let (triples, rest) = byteCount.quotientAndRemainder(dividingBy: 3)
        return triples &* 4 &+ (rest == 0 ? 0 : rest &+ 1)
    }

    /// The 6-bit value of an alphabet character, or 0xFF for any other byte (``placedSextets`` holds them, placed).
    @inlinable
    static func sextet(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c &- 65
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c &- 71
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &+ 4
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return 0xFF
        }
    }

    /// Decodes `input` and appends the bytes to `out`.
    ///
    /// - Throws: `KeyboundError(code)` for a length ≡ 1 (mod 4), a byte outside the alphabet, non-zero unused
    ///   trailing bits, or output that does not fit in `out`.
    @inlinable
    static func decode(
        _ input: ByteView,
        into out: inout ScratchBuffer,
        failingWith code: KeyboundError.Code
    ) throws(KeyboundError) {
        guard let decoded = decodedCount(ofEncodedCount: input.count) else {
            throw .make(code, "base64url length is not canonical")
        }
        guard decoded <= out.remaining else { throw .make(code, "base64url value too long") }
        probeWork(.base64URLDecodedBytes, input.count)
        guard decodeQuads(input, into: &out) else {
            throw .make(code, "base64url has a character outside its alphabet")
        }
        let i = input.count / 4 * 4
        switch input.count &- i {
        case 2:
            let a = sextet(input[i]), b = sextet(input[i &+ 1])
            guard (a | b) & 0xC0 == 0 else { throw .make(code, "base64url has a character outside its alphabet") }
            guard b & 0x0F == 0 else { throw .make(code, "base64url has non-zero unused bits") }
            out.append(a << 2 | b >> 4)
        case 3:
            let a = sextet(input[i]), b = sextet(input[i &+ 1]), c = sextet(input[i &+ 2])
            guard (a | b | c) & 0xC0 == 0 else { throw .make(code, "base64url has a character outside its alphabet") }
            guard c & 0x03 == 0 else { throw .make(code, "base64url has non-zero unused bits") }
            out.append(a << 2 | b >> 4)
            out.append(b << 4 | c >> 2)
        default:
            break
        }
    }

    /// Decodes `input` into a scratch buffer and calls `body` with a view of the bytes; no heap allocation.
    @inlinable
    static func withDecoded<R>(
        _ input: ByteView,
        failingWith code: KeyboundError.Code,
        _ body: (ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        guard let decoded = decodedCount(ofEncodedCount: input.count) else {
            throw .make(code, "base64url length is not canonical")
        }
        return try withScratch(capacity: decoded) { (scratch) throws(KeyboundError) -> R in
            try decode(input, into: &scratch, failingWith: code)
            return try body(scratch.view)
        }
    }

    /// Decodes `input` into a new array (for configuration-time values such as JWKS members).
    static func decodeToArray(_ input: ByteView, failingWith code: KeyboundError.Code) throws(KeyboundError) -> [UInt8] {
        try withDecoded(input, failingWith: code) { $0.copyToArray() }
    }

    @usableFromInline
    static func character(_ sextet: UInt8) -> UInt8 {
        switch sextet {
        case 0..<26: return sextet &+ 65
        case 26..<52: return sextet &+ 71
        case 52..<62: return sextet &- 4
        case 62: return UInt8(ascii: "-")
        default: return UInt8(ascii: "_")
        }
    }

    /// Appends the unpadded base64url encoding of `bytes` to `out`, which must have room for it.
    @inlinable
    static func encode(_ bytes: ByteView, into out: inout ScratchBuffer) {
        precondition(encodedCount(ofDecodedCount: bytes.count) <= out.remaining, "base64url output too small")
        encodeTriples(bytes, into: &out)
        let i = bytes.count / 3 * 3
        switch bytes.count &- i {
        case 1:
            let a = bytes[i]
            out.append(character(a >> 2))
            out.append(character((a & 0x03) << 4))
        case 2:
            let a = bytes[i], b = bytes[i &+ 1]
            out.append(character(a >> 2))
            out.append(character((a & 0x03) << 4 | b >> 4))
            out.append(character((b & 0x0F) << 2))
        default:
            break
        }
    }

    /// The unpadded base64url encoding of `bytes`, as a new string.
    static func encode(_ bytes: ByteView) -> String {
        withScratch(capacity: encodedCount(ofDecodedCount: bytes.count)) { scratch in
            encode(bytes, into: &scratch)
            return scratch.view.decodeString()
        }
    }

    /// The unpadded base64url encoding of `bytes`, as a new string.
    package static func encode(_ bytes: [UInt8]) -> String {
        ByteView.with(bytes) { encode($0) }
    }
}

// MARK: - For other modules of the package

extension Base64URL {
    /// Strictly decodes base64url text, or `nil` when it is not canonical base64url.
    package static func decode(_ text: String) -> [UInt8]? {
        try? ByteView.with(utf8: text) { (view) throws(KeyboundError) -> [UInt8] in
            try decodeToArray(view, failingWith: .proofMalformed)
        }
    }
}
