//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport

@testable import Keybound

/// Small helpers for the Crypto tests (namespaced so they cannot clash with other areas' helpers).
enum CryptoTestSupport {
    /// Decodes lower- or upper-case hex (the concatenation of `parts`); nil on a malformed string.
    static func hexOrNil(_ parts: [String]) -> [UInt8]? {
        [UInt8](hexDigits: parts.joined())
    }

    /// Decodes hex that the test itself wrote (a malformed literal is a test bug: it records an issue).
    static func hex(_ parts: String...) -> [UInt8] {
        hexOrNil(parts) ?? []
    }

    /// Decodes unpadded base64url (RFC 4648 §5) with Foundation; nil on malformed input.
    static func base64URL(_ text: String) -> [UInt8]? {
        base64URLDecode(text)
    }

    /// Strips leading zero octets (Wycheproof writes big integers with a sign octet), keeping one byte.
    static func minimal(_ bytes: [UInt8]) -> [UInt8] {
        var start = 0
        while start < bytes.count - 1 && bytes[start] == 0 { start += 1 }
        return Array(bytes[start...])
    }

    /// Big-endian a - b for a ≥ b of the same width.
    static func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = a
        var borrow = 0
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            var d = Int(a[i]) - Int(b[i]) - borrow
            borrow = d < 0 ? 1 : 0
            if d < 0 { d += 256 }
            out[i] = UInt8(d)
        }
        return out
    }

    /// The DER `ECDSA-Sig-Value` of a raw `r || s` (what a confused signer, or a library that emits DER, would
    /// send; SECURITY.md B2).
    static func derECDSA(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var body = bytes.isEmpty ? [0] : minimal(Array(bytes))
            if body[0] & 0x80 != 0 { body.insert(0, at: 0) }
            return [0x02, UInt8(body.count)] + body
        }
        let half = raw.count / 2
        let content = integer(raw[..<half]) + integer(raw[half...])
        let length: [UInt8] = content.count < 0x80 ? [UInt8(content.count)] : [0x81, UInt8(content.count)]
        return [0x30] + length + content
    }

    /// Left-pads or strips leading zeros to exactly `size` bytes; nil when the value does not fit.
    static func fixedWidth(_ bytes: [UInt8], _ size: Int) -> [UInt8]? {
        let m = minimal(bytes)
        if m.count > size { return nil }
        return [UInt8](repeating: 0, count: size - m.count) + m
    }

    // MARK: - Building keys and verifying from arrays

    static func ecKey(_ curve: ECCurve, x: [UInt8], y: [UInt8]) throws(KeyboundError) -> PublicKey {
        try ByteView.with(x) { (xv) throws(KeyboundError) -> PublicKey in
            try ByteView.with(y) { (yv) throws(KeyboundError) -> PublicKey in
                try PublicKey.ec(curve: curve, x: xv, y: yv, rejectingAs: .proofJWK, backend: .forTests)
            }
        }
    }

    static func rsaKey(
        n: [UInt8],
        e: [UInt8],
        modulusBits: ClosedRange<Int> = PublicKey.defaultRSAModulusBits
    ) throws(KeyboundError) -> PublicKey {
        try ByteView.with(n) { (nv) throws(KeyboundError) -> PublicKey in
            try ByteView.with(e) { (ev) throws(KeyboundError) -> PublicKey in
                try PublicKey.rsa(n: nv, e: ev, modulusBits: modulusBits, rejectingAs: .proofJWK, backend: .forTests)
            }
        }
    }

    static func ed25519Key(x: [UInt8]) throws(KeyboundError) -> PublicKey {
        try ByteView.with(x) { (xv) throws(KeyboundError) -> PublicKey in
            try PublicKey.ed25519(x: xv, rejectingAs: .proofJWK, backend: .forTests)
        }
    }

    static func verify(
        _ alg: JWSAlgorithm,
        _ key: PublicKey,
        message: [UInt8],
        signature: [UInt8]
    ) throws(KeyboundError) -> Bool {
        try ByteView.with(message) { (m) throws(KeyboundError) -> Bool in
            try ByteView.with(signature) { (s) throws(KeyboundError) -> Bool in
                try SignatureVerifier.verify(alg, key: key, signingInput: m, signature: s)
            }
        }
    }
}
