//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

private typealias T = CryptoTestSupport
private let F = CryptoFixtures.values

@Suite("Crypto: PublicKey")
struct CryptoPublicKeyTests {
    // MARK: - EC (RFC 7518 §6.2.1; SECURITY.md D3)

    static let ecFixtures: [(ECCurve, [UInt8], [UInt8])] = [
        (.p256, F.p256X, F.p256Y), (.p384, F.p384X, F.p384Y), (.p521, F.p521X, F.p521Y),
    ]

    @Test("valid EC keys import on their curve")
    func ecValid() throws {
        for (curve, x, y) in Self.ecFixtures {
            let key = try T.ecKey(curve, x: x, y: y)
            #expect(key.kind == .ec(curve))
        }
    }

    @Test("EC coordinates of the wrong length are rejected (RFC 7518 §6.2.1.2-§6.2.1.3)")
    func ecLength() {
        for (curve, x, y) in Self.ecFixtures {
            let short = Array(x.dropFirst())
            let long = [0] + x
            for (bx, by) in [(short, y), (long, y), (x, Array(y.dropFirst())), (x, [0] + y), ([], y), (x, [])] {
                #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(curve, x: bx, y: by) }
            }
        }
    }

    @Test("EC coordinates ≥ p are rejected, including x + p aliasing a valid point")
    func ecNotBelowPrime() {
        for (curve, x, y) in Self.ecFixtures {
            let p = curve.fieldPrime
            let ones = [UInt8](repeating: 0xff, count: curve.coordinateByteCount)
            for (bx, by) in [(p, y), (x, p), (ones, y), (x, ones), (addOne(p), y)] {
                #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(curve, x: bx, y: by) }
            }
        }
        // For P-521, x + p and y + p still fit in 66 bytes: the same point in a non-reduced encoding.
        let (x, y) = (F.p521X, F.p521Y)
        let p = ECCurve.p521.fieldPrime
        #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(.p521, x: add(x, p), y: y) }
        #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(.p521, x: x, y: add(y, p)) }
    }

    @Test("EC points off the curve, (0,0) and keys on another curve are rejected (SECURITY.md D3)")
    func ecOffCurve() {
        for (curve, x, y) in Self.ecFixtures {
            var flipped = y
            flipped[flipped.count - 1] ^= 1
            let zero = [UInt8](repeating: 0, count: curve.coordinateByteCount)
            var pMinus1 = curve.fieldPrime
            pMinus1[pMinus1.count - 1] -= 1
            for (bx, by) in [(x, flipped), (zero, zero), (zero, y), (x, zero), (pMinus1, y), (pMinus1, pMinus1)] {
                #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(curve, x: bx, y: by) }
            }
        }
        // A valid P-256 point given as P-384 has the wrong length; the P-384 point's x and y as P-521: too.
        #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(.p384, x: F.p256X, y: F.p256Y) }
        // The same coordinates left-padded to the other curve's size are not on that curve.
        let padded = (T.fixedWidth(F.p256X, 48) ?? [], T.fixedWidth(F.p256Y, 48) ?? [])
        #expect(throws: KeyboundError(.proofJWK)) { try T.ecKey(.p384, x: padded.0, y: padded.1) }
    }

    #if OpenSSL
    @Test("OpenSSL: every curve's parameters template is built, and a key built through it refuses points off the curve")
    func openSSLGroupTemplates() throws {
        for (curve, x, y) in Self.ecFixtures {
            // The template route is the one in use (nil would mean the EVP_PKEY_fromdata fallback).
            #expect(ECGroupTemplate.forCurve(curve).pkey != nil)
            let key = try ByteView.with(x) { (xv) throws(KeyboundError) -> OpenSSLKey in
                try ByteView.with(y) { (yv) throws(KeyboundError) -> OpenSSLKey in
                    try OpenSSLKey.ec(curve: curve, x: xv, y: yv, rejectingAs: .invalidJWKS)
                }
            }
            _ = key
            // Straight to the backend, past PublicKey's own range checks: OpenSSL's decoder must refuse these.
            var flipped = y
            flipped[flipped.count - 1] ^= 1
            let zero = [UInt8](repeating: 0, count: curve.coordinateByteCount)
            for (bx, by) in [(x, flipped), (zero, zero), (x, zero), (curve.fieldPrime, y)] {
                #expect(throws: KeyboundError(.invalidJWKS)) {
                    try ByteView.with(bx) { (xv) throws(KeyboundError) in
                        try ByteView.with(by) { (yv) throws(KeyboundError) in
                            _ = try OpenSSLKey.ec(curve: curve, x: xv, y: yv, rejectingAs: .invalidJWKS)
                        }
                    }
                }
            }
        }
    }
    #endif

    @Test("the rejection code is the caller's")
    func rejectionCode() {
        #expect(throws: KeyboundError(.invalidJWKS)) {
            try ByteView.with(F.p256X) { (x) throws(KeyboundError) in
                _ = try PublicKey.ec(curve: .p256, x: x, y: x, rejectingAs: .invalidJWKS, backend: .forTests)
            }
        }
        #expect(throws: KeyboundError(.tokenKeyMismatch)) {
            try ByteView.with([UInt8](repeating: 0, count: 32)) { (x) throws(KeyboundError) in
                _ = try PublicKey.ed25519(x: x, rejectingAs: .tokenKeyMismatch, backend: .forTests)
            }
        }
    }

    // MARK: - RSA (RFC 7518 §6.3.1; docs/design.md "Contracts"; SECURITY.md A8)

    /// An odd number of exactly `bits` bits (construction never needs a real modulus: OpenSSL does not factor).
    static func oddNumber(bits: Int) -> [UInt8] {
        let bytes = (bits + 7) / 8
        var n = [UInt8](repeating: 0xa5, count: bytes)
        let topBits = bits - (bytes - 1) * 8
        n[0] = UInt8(truncatingIfNeeded: (1 << topBits) - 1) & 0xff | UInt8(truncatingIfNeeded: 1 << (topBits - 1))
        n[bytes - 1] |= 1
        return n
    }

    @Test("a valid RSA key imports with its modulus size")
    func rsaValid() throws {
        let key = try T.rsaKey(n: F.rsaN, e: F.rsaE)
        #expect(key.kind == .rsa(modulusBits: 2048))
        #expect(try T.rsaKey(n: Self.oddNumber(bits: 4096), e: [1, 0, 1]).kind == .rsa(modulusBits: 4096))
        #expect(try T.rsaKey(n: Self.oddNumber(bits: 3000), e: [3]).kind == .rsa(modulusBits: 3000))
        // e = 3 and e = 2^32 - 1 are inside 3 ≤ e < 2^32.
        #expect(throws: Never.self) { try T.rsaKey(n: F.rsaN, e: [3]) }
        #expect(throws: Never.self) { try T.rsaKey(n: F.rsaN, e: [0xff, 0xff, 0xff, 0xff]) }
    }

    @Test("RSA modulus size: 2048...4096 by default, up to 8192 by configuration, never outside 2048...8192")
    func rsaModulusSize() throws {
        let e: [UInt8] = [1, 0, 1]
        for bits in [512, 1024, 2047, 4097, 8192] {
            #expect(throws: KeyboundError(.proofJWK), "\(bits)") { try T.rsaKey(n: Self.oddNumber(bits: bits), e: e) }
        }
        #expect(
            try T.rsaKey(n: Self.oddNumber(bits: 8192), e: e, modulusBits: 2048...8192).kind == .rsa(modulusBits: 8192)
        )
        #expect(throws: KeyboundError(.proofJWK)) {
            try T.rsaKey(n: Self.oddNumber(bits: 8193), e: e, modulusBits: 2048...16384)
        }
        #expect(throws: KeyboundError(.proofJWK)) {
            try T.rsaKey(n: Self.oddNumber(bits: 16385), e: e, modulusBits: 2048...100_000)
        }
        #expect(throws: KeyboundError(.proofJWK)) {
            try T.rsaKey(n: Self.oddNumber(bits: 1024), e: e, modulusBits: 512...4096)
        }
        #expect(throws: KeyboundError(.proofJWK)) {
            try T.rsaKey(n: F.rsaN, e: e, modulusBits: 3072...4096)
        }
    }

    @Test("RSA modulus: empty, leading zero octet, even are rejected")
    func rsaModulusEncoding() {
        let e: [UInt8] = [1, 0, 1]
        var even = F.rsaN
        even[even.count - 1] &= 0xfe
        for n in [[], [0] + F.rsaN, even, [0]] {
            #expect(throws: KeyboundError(.proofJWK)) { try T.rsaKey(n: n, e: e) }
        }
    }

    @Test(
        "RSA exponent: empty, leading zero, 0, 1, 2, even, ≥ 2^32 are rejected",
        arguments: [
            [], [0], [1], [2], [4], [0, 1, 0, 1], [1, 0, 0], [0x01, 0x00, 0x00, 0x00, 0x01],
            [0xff, 0xff, 0xff, 0xff, 0xff], [0x01, 0x00, 0x01, 0x00], [0x00, 0x03],
        ] as [[UInt8]]
    )
    func rsaExponent(e: [UInt8]) {
        #expect(throws: KeyboundError(.proofJWK)) { try T.rsaKey(n: F.rsaN, e: e) }
    }

    // MARK: - Ed25519 (RFC 8037 §2; SECURITY.md B5)

    @Test("a valid Ed25519 key imports")
    func ed25519Valid() throws {
        #expect(try T.ed25519Key(x: F.ed25519X).kind == .ed25519)
        // RFC 8032 §7.1 TEST 1 public key.
        let rfc = T.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        #expect(try T.ed25519Key(x: rfc).kind == .ed25519)
    }

    @Test("Ed25519 x of the wrong length is rejected")
    func ed25519Length() {
        for x in [[], Array(F.ed25519X.dropFirst()), F.ed25519X + [0], [UInt8](repeating: 1, count: 64)] {
            #expect(throws: KeyboundError(.proofJWK)) { try T.ed25519Key(x: x) }
        }
    }

    @Test(
        "non-canonical Ed25519 encodings (y ≥ p) are rejected, with either sign bit",
        arguments: [
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p + 1 (≡ 1: the identity)
            "feffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = 2^255 - 1
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  // y = p, sign bit set
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ]
    )
    func ed25519NonCanonical(hex: String) {
        #expect(throws: KeyboundError(.proofJWK)) { try T.ed25519Key(x: T.hex(hex)) }
    }

    @Test(
        "every small-order Ed25519 point is rejected, the identity among them (SECURITY.md B5 (d))",
        arguments: [
            "0100000000000000000000000000000000000000000000000000000000000000",  // identity ("AQAAAA…")
            "0100000000000000000000000000000000000000000000000000000000000080",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        ]
    )
    func ed25519SmallOrder(hex: String) {
        #expect(throws: KeyboundError(.proofJWK)) { try T.ed25519Key(x: T.hex(hex)) }
    }

    @Test("the identity-key forgery of SECURITY.md B5 (d) never reaches a signature check")
    func ed25519IdentityForgery() {
        // JWK x "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; OpenSSL would accept R = 01‖0^31, S = 0 for it.
        let x = T.base64URL("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") ?? []
        #expect(x.count == 32)
        #expect(throws: KeyboundError(.proofJWK)) { try T.ed25519Key(x: x) }
    }

    // MARK: - Algorithm agreement (RFC 7518 §3.1, §3.4; RFC 8037 §3.1; RFC 9864; SECURITY.md A3)

    @Test("supports(): ES256⇔P-256, ES384⇔P-384, ES512⇔P-521, RS*/PS*⇔RSA, EdDSA/Ed25519⇔Ed25519")
    func agreementTable() throws {
        let keys: [(String, PublicKey)] = [
            ("P-256", try T.ecKey(.p256, x: F.p256X, y: F.p256Y)),
            ("P-384", try T.ecKey(.p384, x: F.p384X, y: F.p384Y)),
            ("P-521", try T.ecKey(.p521, x: F.p521X, y: F.p521Y)),
            ("RSA", try T.rsaKey(n: F.rsaN, e: F.rsaE)),
            ("Ed25519", try T.ed25519Key(x: F.ed25519X)),
        ]
        let expected: [String: Set<String>] = [
            "P-256": ["ES256"], "P-384": ["ES384"], "P-521": ["ES512"],
            "RSA": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"], "Ed25519": ["EdDSA", "Ed25519"],
        ]
        for (name, key) in keys {
            let supported = Set(JWSAlgorithm.allSupported.filter { key.supports($0) }.map(\.rawValue))
            #expect(supported == expected[name], "\(name)")
        }
    }

    // MARK: - Helpers

    /// Big-endian a + b, same width as `a` (the tests only add where the sum fits).
    private func add(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = a
        var carry = 0
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            let s = Int(a[i]) + Int(b[i]) + carry
            out[i] = UInt8(s & 0xff)
            carry = s >> 8
        }
        return out
    }

    private func addOne(_ a: [UInt8]) -> [UInt8] {
        var one = [UInt8](repeating: 0, count: a.count)
        one[a.count - 1] = 1
        return add(a, one)
    }
}

@Suite("Crypto: ByteView comparisons")
struct ByteViewComparisonTests {
    @Test(
        "isBigEndianLess compares as unsigned big-endian integers of one length",
        arguments: [
            ([0x00, 0x01], [0x00, 0x02], true), ([0x00, 0x02], [0x00, 0x01], false), ([0x01, 0xFF], [0x02, 0x00], true),
            ([0x7F, 0x00], [0x7F, 0x00], false), ([], [], false), ([0x01], [0x00, 0x02], false),
        ] as [([UInt8], [UInt8], Bool)])
    func bigEndianLess(bytes: [UInt8], bound: [UInt8], less: Bool) {
        #expect(ByteView.with(bytes) { $0.isBigEndianLess(than: bound) } == less)
    }

    @Test(
        "isAllZero and elementsEqual",
        arguments: [
            ([], [], true, true), ([0, 0, 0], [0, 0, 0], true, true), ([0, 0, 1], [0, 0, 1], false, true),
            ([1, 0], [1, 1], false, false), ([0, 0], [0], true, false),
        ] as [([UInt8], [UInt8], Bool, Bool)])
    func zeroAndEquality(bytes: [UInt8], other: [UInt8], allZero: Bool, equal: Bool) {
        #expect(ByteView.with(bytes) { $0.isAllZero } == allZero)
        #expect(ByteView.with(bytes) { $0.elementsEqual(other) } == equal)
    }
}
