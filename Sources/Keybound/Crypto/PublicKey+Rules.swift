//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The rules a public key must satisfy before any backend sees it, and which algorithms it may verify.
///
/// These live above the crypto backend so every backend enforces the same policy (docs/design.md "Signatures").
extension PublicKey {
    /// The RSA modulus sizes accepted by default (docs/design.md "Contracts", RFC 7518 §3.3: at least 2048 bits).
    package static let defaultRSAModulusBits: ClosedRange<Int> = 2048...4096

    /// The widest RSA modulus range any configuration may ask for; a wider request is narrowed to it.
    package static let rsaModulusBitsLimit: ClosedRange<Int> = 2048...8192

    /// True when this key may verify `alg` (RFC 7518 §3.1, §3.4: one curve per ES alg; RFC 8037 §3.1;
    /// RFC 9864 §2.2). ES256 ⇔ P-256, ES384 ⇔ P-384, ES512 ⇔ P-521, RS*/PS* ⇔ RSA, EdDSA/Ed25519 ⇔ Ed25519.
    package func supports(_ alg: JWSAlgorithm) -> Bool {
        switch (alg.scheme, kind) {
        case (.ecdsa(let curve, _), .ec(let keyCurve)): curve == keyCurve
        case (.rsaPKCS1v15, .rsa), (.rsaPSS, .rsa): true
        case (.ed25519, .ed25519): true
        default: false
        }
    }

    // MARK: - EC (RFC 7518 §6.2.1)

    /// Checks the JWK coordinates: each exactly the field size (RFC 7518 §6.2.1.2-§6.2.1.3) and below p.
    ///
    /// Whether the point lies on the curve is the backend's check. (OpenSSL 3.0.19's `EVP_PKEY_fromdata` also
    /// refuses x + p and y + p for a valid P-521 point, checked by hand; the rule lives here so every backend
    /// enforces it.)
    static func checkECCoordinates(
        curve: ECCurve,
        x: ByteView,
        y: ByteView,
        rejectingAs code: KeyboundError.Code
    ) throws(KeyboundError) {
        let size = curve.coordinateByteCount
        guard x.count == size, y.count == size else {
            throw KeyboundError.make(code, "EC coordinate is not exactly the field size")
        }
        let p = curve.fieldPrime
        guard x.isBigEndianLess(than: p), y.isBigEndianLess(than: p) else {
            throw KeyboundError.make(code, "EC coordinate is not below the field prime")
        }
    }

    // MARK: - RSA (RFC 7518 §6.3.1, RFC 8017 §3.1)

    /// Checks `n` and `e` (decoded Base64urlUInt, RFC 7518 §2) and returns the modulus size in bits.
    ///
    /// Both are minimal (non-empty, no leading zero octet). `n` is odd, with a bit length inside `modulusBits`
    /// intersected with ``rsaModulusBitsLimit`` (an empty intersection accepts nothing). `e` is odd with
    /// 3 ≤ e < 2^32 (docs/design.md "Contracts", RFC 8017 §3.1, SECURITY.md A8).
    static func checkRSAParameters(
        n: ByteView,
        e: ByteView,
        modulusBits: ClosedRange<Int>,
        rejectingAs code: KeyboundError.Code
    ) throws(KeyboundError) -> Int {
        guard !n.isEmpty, n[0] != 0 else {
            throw KeyboundError.make(code, "RSA modulus is empty or not minimally encoded")
        }
        guard !e.isEmpty, e[0] != 0 else {
            throw KeyboundError.make(code, "RSA exponent is empty or not minimally encoded")
        }
        // The byte count is bounded first, so the bit count below cannot overflow.
        let lower = max(modulusBits.lowerBound, rsaModulusBitsLimit.lowerBound)
        let upper = min(modulusBits.upperBound, rsaModulusBitsLimit.upperBound)
        guard n.count <= (rsaModulusBitsLimit.upperBound + 7) / 8 else {
            throw KeyboundError.make(code, "RSA modulus is too large")
        }
        let bits = (n.count &- 1) &* 8 &+ (8 &- n[0].leadingZeroBitCount)
        guard lower <= bits, bits <= upper else {
            throw KeyboundError.make(code, "RSA modulus size is outside the allowed range")
        }
        guard n[n.count &- 1] & 1 == 1 else {
            throw KeyboundError.make(code, "RSA modulus is even")
        }
        guard e.count <= 4 else {
            throw KeyboundError.make(code, "RSA exponent is 2^32 or more")
        }
        guard e[e.count &- 1] & 1 == 1 else {
            throw KeyboundError.make(code, "RSA exponent is even")
        }
        guard e.count > 1 || e[0] >= 3 else {
            throw KeyboundError.make(code, "RSA exponent is below 3")
        }
        guard !hasROCAFingerprint(n) else {
            throw KeyboundError.make(code, "RSA modulus has the ROCA (CVE-2017-15361) fingerprint")
        }
        return bits
    }

    /// The small primes of the ROCA test: every vulnerable key's modulus is `k·M + (65537^a mod M)` for a primorial
    /// `M` that contains all of them, whatever the key size.
    static let rocaPrimes: [UInt32] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109,
        113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ]

    /// Whether `n` carries the fingerprint of keys made by the vulnerable Infineon generator (Nemec et al., "The
    /// Return of Coppersmith's Attack", CCS 2017; CVE-2017-15361): `n mod p` is a power of 65537 modulo every prime
    /// `p` in ``rocaPrimes``. A sound modulus passes this by chance with probability about 2^-154.
    static func hasROCAFingerprint(_ n: ByteView) -> Bool {
        for p in rocaPrimes {
            var remainder: UInt32 = 0
            for i in 0..<n.count { remainder = (remainder &* 256 &+ UInt32(n[i])) % p }
            // Walk the powers of 65537 mod p until they cycle back to 1.
            let generator = 65537 % p
            var power: UInt32 = 1
            var found = false
            repeat {
                if power == remainder { found = true; break }
                power = power &* generator % p
            } while power != 1
            if !found { return false }
        }
        return true
    }

    // MARK: - Ed25519 (RFC 8037 §2, RFC 8032 §5.1.3)

    /// Checks an Ed25519 `x`: exactly 32 bytes, a canonical encoding (y < p), and not a small-order point.
    ///
    /// A small-order key verifies forged signatures for every message (SECURITY.md B5 (d)), and OpenSSL accepts it.
    static func checkEd25519(x: ByteView, rejectingAs code: KeyboundError.Code) throws(KeyboundError) {
        guard x.count == 32 else {
            throw KeyboundError.make(code, "Ed25519 public key is not 32 bytes")
        }
        // y is the little-endian value of the bytes with bit 255 (the sign of x) cleared; p = 2^255 - 19,
        // so y ≥ p exactly when y is 2^255 - 19 ... 2^255 - 1: ed ff … ff 7f up to ff ff … ff 7f.
        var highAllOnes = x[31] & 0x7f == 0x7f
        var i = 1
        while highAllOnes && i < 31 {
            highAllOnes = x[i] == 0xff
            i &+= 1
        }
        guard !(highAllOnes && x[0] >= 0xed) else {
            throw KeyboundError.make(code, "Ed25519 public key is not canonically encoded")
        }
        for blocked in ed25519SmallOrderEncodings where x.elementsEqual(blocked) {
            throw KeyboundError.make(code, "Ed25519 public key is a small-order point")
        }
    }

    /// Every encoding of a point of order 1, 2, 4 or 8 that passes the canonical check above.
    ///
    /// Derived with a short Python computation on edwards25519 (p = 2^255 - 19, d = -121665/121666): take a
    /// point P on the curve, T = L·P (L the prime group order) lies in the 8-torsion; the eight multiples of a
    /// T of order 8 are the whole torsion subgroup, each encoded as y little-endian with x's low bit in bit 255.
    /// The two points with x = 0 (order 1 and 2) also have an encoding with the sign bit set ("negative zero"),
    /// which RFC 8032 §5.1.3 rejects but some decoders accept; both are listed too. Non-canonical encodings
    /// (y ≥ p) of these points are refused by the canonical check before this list is consulted.
    private static let ed25519SmallOrderEncodings: [[UInt8]] = [
        // order 1: the identity (0, 1), and its negative-zero encoding
        hex32("0100000000000000000000000000000000000000000000000000000000000000"),
        hex32("0100000000000000000000000000000000000000000000000000000000000080"),
        // order 2: (0, -1), and its negative-zero encoding
        hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        // order 4: (±sqrt(-1), 0)
        hex32("0000000000000000000000000000000000000000000000000000000000000000"),
        hex32("0000000000000000000000000000000000000000000000000000000000000080"),
        // order 8
        hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
        hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    ]

    /// Decodes a constant 64-digit lower-case hex literal (runs once, for the table above).
    private static func hex32(_ hex: StaticString) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(32)
        var high: UInt8 = 0
        var odd = false
        for c in hex.description.utf8 {
            let nibble: UInt8 = c <= UInt8(ascii: "9") ? c &- UInt8(ascii: "0") : c &- UInt8(ascii: "a") &+ 10
            if odd { result.append(high << 4 | nibble) } else { high = nibble }
            odd.toggle()
        }
        return result
    }
}
