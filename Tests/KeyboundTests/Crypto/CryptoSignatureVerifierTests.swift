//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound
#if OpenSSL
import KeyboundSigning
#endif

private typealias T = CryptoTestSupport
private let F = CryptoFixtures.values

@Suite("Crypto: SignatureVerifier")
struct CryptoSignatureVerifierTests {
    let p256: PublicKey, p384: PublicKey, p521: PublicKey
    let rsa: PublicKey, ed: PublicKey

    init() throws {
        p256 = try T.ecKey(.p256, x: F.p256X, y: F.p256Y)
        p384 = try T.ecKey(.p384, x: F.p384X, y: F.p384Y)
        p521 = try T.ecKey(.p521, x: F.p521X, y: F.p521Y)
        rsa = try T.rsaKey(n: F.rsaN, e: F.rsaE)
        ed = try T.ed25519Key(x: F.ed25519X)
    }

    /// Verifies and checks that OpenSSL's error queue is empty afterwards (SECURITY.md E3).
    private func verify(_ alg: JWSAlgorithm, _ key: PublicKey, _ signature: [UInt8], message: [UInt8] = F.message)
        throws -> Bool
    {
        #if OpenSSL
        OpenSSLErrorQueue.clear()
        #endif
        let result = try T.verify(alg, key, message: message, signature: signature)
        #if OpenSSL
        #expect(OpenSSLErrorQueue.isEmpty, "OpenSSL error queue left non-empty")
        #endif
        return result
    }

    private func tampered(_ bytes: [UInt8]) -> [UInt8] {
        var m = bytes
        m[m.count / 2] ^= 0x01
        return m
    }

    // MARK: - Valid signatures from an independent implementation

    @Test("signatures made by Python cryptography verify, and fail on another message")
    func valid() throws {
        let cases: [(JWSAlgorithm, PublicKey, [UInt8])] = [
            (.es256, p256, F.es256Signature), (.es384, p384, F.es384Signature), (.es512, p521, F.es512Signature),
            (.rs256, rsa, F.rs256Signature), (.rs512, rsa, F.rs512Signature),
            (.ps256, rsa, F.ps256Signature), (.ps384, rsa, F.ps384Signature),
            (.edDSA, ed, F.ed25519Signature), (.ed25519, ed, F.ed25519Signature),
        ]
        for (alg, key, signature) in cases {
            #expect(try verify(alg, key, signature), "\(alg)")
            #expect(try !verify(alg, key, signature, message: tampered(F.message)), "\(alg) tampered message")
            #expect(try !verify(alg, key, tampered(signature)), "\(alg) tampered signature")
            #expect(try !verify(alg, key, signature, message: []), "\(alg) empty message")
        }
    }

    @Test("RFC 8032 §7.1 TEST 1 (empty message) verifies as EdDSA and Ed25519")
    func rfc8032() throws {
        let key = try T.ed25519Key(x: T.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let signature = T.hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b",
            "d25bf5f0595bbe24655141438e7a100b"
        )
        #expect(try verify(.edDSA, key, signature, message: []))
        #expect(try verify(.ed25519, key, signature, message: []))
        #expect(try !verify(.ed25519, key, signature, message: [0]))
    }

    // MARK: - Algorithm / key agreement (SECURITY.md A3)

    @Test("a signature under a key of the wrong type or curve is false, even when it is valid ECDSA")
    func disagreement() throws {
        // (a) ES256 header with a P-384 key, signed with SHA-256 on P-384: valid ECDSA, refused by the pinning.
        #expect(try !verify(.es256, p384, F.p384WithSHA256Signature))
        #expect(try !verify(.es384, p384, F.p384WithSHA256Signature))
        #expect(try !verify(.es384, p256, F.es256Signature))
        #expect(try !verify(.es512, p256, F.es256Signature))
        // (b) RS256 with an EC key, ES256 with an RSA key, EdDSA with EC/RSA keys, ES256 with an Ed25519 key.
        #expect(try !verify(.rs256, p256, F.rs256Signature))
        #expect(try !verify(.es256, rsa, F.es256Signature))
        #expect(try !verify(.edDSA, p256, F.ed25519Signature))
        #expect(try !verify(.ed25519, rsa, F.ed25519Signature))
        #expect(try !verify(.es256, ed, F.es256Signature))
        #expect(try !verify(.ps256, ed, F.ps256Signature))
        // (f) PS256 vs RS256 with the same RSA key, with the other padding.
        #expect(try !verify(.ps256, rsa, F.rs256Signature))
        #expect(try !verify(.rs256, rsa, F.ps256Signature))
        // Another hash with the right padding.
        #expect(try !verify(.rs384, rsa, F.rs256Signature))
        #expect(try !verify(.ps512, rsa, F.ps384Signature))
    }

    // MARK: - ECDSA (RFC 7518 §3.4; SECURITY.md B1, B2, B3)

    @Test("ECDSA signatures of the wrong length are false (exactly 64/96/132; DER refused)")
    func ecdsaLength() throws {
        let cases: [(JWSAlgorithm, PublicKey, [UInt8])] = [
            (.es256, p256, F.es256Signature), (.es384, p384, F.es384Signature), (.es512, p521, F.es512Signature),
        ]
        for (alg, key, sig) in cases {
            let half = sig.count / 2
            for bad in [
                [], Array(sig.dropLast()), sig + [0], [0] + sig, sig + sig, Array(sig.prefix(half)),
                T.derECDSA(sig),
            ] {
                #expect(try !verify(alg, key, bad), "\(alg) \(bad.count)")
            }
        }
        // ES512 with 130, 131 and 133 bytes (P-521 halves are 66 bytes).
        let sig = F.es512Signature
        for count in [128, 130, 131, 133] {
            let bad =
                count < sig.count ? Array(sig.prefix(count)) : sig + [UInt8](repeating: 0, count: count - sig.count)
            #expect(try !verify(.es512, p521, bad))
        }
    }

    /// The ECDSA algorithm on `curve`, this suite's key on it, and the halves `r` and `s` of a valid signature of
    /// `F.message` by that key.
    private func ecdsa(on curve: ECCurve) -> (alg: JWSAlgorithm, key: PublicKey, r: [UInt8], s: [UInt8]) {
        let (alg, key, signature): (JWSAlgorithm, PublicKey, [UInt8]) =
            switch curve {
            case .p256: (.es256, p256, F.es256Signature)
            case .p384: (.es384, p384, F.es384Signature)
            case .p521: (.es512, p521, F.es512Signature)
            }
        let size = curve.coordinateByteCount
        return (alg, key, Array(signature[..<size]), Array(signature[size...]))
    }

    @Test(
        "ECDSA r or s equal to 0, n, above n, or all ones are false (SECURITY.md B1)",
        arguments: [ECCurve.p256, .p384, .p521])
    func ecdsaRange(curve: ECCurve) throws {
        let (alg, key, r, s) = ecdsa(on: curve)
        let size = r.count
        let zero = [UInt8](repeating: 0, count: size)
        var one = zero
        one[size - 1] = 1
        let n = curve.order
        var nMinus1 = n
        nMinus1[size - 1] -= 1
        var nPlus1 = n
        nPlus1[size - 1] += 1
        let ones = [UInt8](repeating: 0xff, count: size)
        for (br, bs) in [
            (zero, zero), (zero, s), (r, zero), (zero, one), (one, zero), (n, s), (r, n), (n, n), (nPlus1, s),
            (r, nPlus1), (ones, ones), (ones, s), (r, ones), (nMinus1, nMinus1), (one, one),
        ] {
            #expect(try !verify(alg, key, br + bs), "\(alg)")
        }
        // The range check itself: 1 ≤ x < n.
        for (value, inRange) in [
            (zero, false), (one, true), (nMinus1, true), (n, false), (nPlus1, false), (ones, false),
        ] {
            #expect(ByteView.with(value) { SignatureVerifier.isScalar($0, belowOrderOf: curve) } == inRange)
        }
    }

    @Test(
        "a high-s (malleated) ECDSA signature still verifies; replay is caught by jti, not here (SECURITY.md B3)",
        arguments: [ECCurve.p256, .p384, .p521])
    func ecdsaMalleability(curve: ECCurve) throws {
        let (alg, key, r, s) = ecdsa(on: curve)
        let malleated = r + T.subtract(curve.order, s)
        #expect(malleated != r + s)
        #expect(try verify(alg, key, malleated), "\(alg)")
    }

    // MARK: - RSA (RFC 8017 §8.1.2, §8.2.2; RFC 7518 §3.3, §3.5; SECURITY.md A7, B4)

    @Test("RSA signatures not exactly the modulus length are false (SECURITY.md B4)")
    func rsaLength() throws {
        for (alg, sig) in [(JWSAlgorithm.rs256, F.rs256Signature), (.ps256, F.ps256Signature)] {
            for bad in [[], [0] + sig, Array(sig.dropFirst()), Array(sig.dropLast()), sig + [0], sig + sig, [0]] {
                #expect(try !verify(alg, rsa, bad), "\(alg) \(bad.count)")
            }
        }
    }

    @Test("RSA signature values 0, 1, n - 1, n, all ones are false (SECURITY.md B4)")
    func rsaRange() throws {
        let k = F.rsaN.count
        var zero = [UInt8](repeating: 0, count: k)
        let ones = [UInt8](repeating: 0xff, count: k)
        var nMinus1 = F.rsaN
        nMinus1[k - 1] -= 1
        for alg in [JWSAlgorithm.rs256, .ps256] {
            #expect(try !verify(alg, rsa, zero))
            zero[k - 1] = 1
            #expect(try !verify(alg, rsa, zero))
            zero[k - 1] = 0
            #expect(try !verify(alg, rsa, nMinus1))
            #expect(try !verify(alg, rsa, F.rsaN))
            #expect(try !verify(alg, rsa, ones))
        }
    }

    @Test("PSS with a salt length other than the hash length, or another MGF1 hash, is false (SECURITY.md A7)")
    func pssParameters() throws {
        #expect(try verify(.ps256, rsa, F.ps256Signature))
        #expect(try !verify(.ps256, rsa, F.ps256Salt0Signature))
        #expect(try !verify(.ps256, rsa, F.ps256Salt20Signature))
        #expect(try !verify(.ps256, rsa, F.ps256Salt64Signature))
        #expect(try !verify(.ps256, rsa, F.ps256MGF1SHA1Signature))
        #expect(try !verify(.ps256, rsa, F.ps256MGF1SHA512Signature))
    }

    // MARK: - Ed25519 (RFC 8032 §5.1.7; SECURITY.md B5)

    @Test("Ed25519 signatures that are not 64 bytes are false; S + L is false")
    func ed25519() throws {
        let sig = F.ed25519Signature
        for bad in [[], Array(sig.dropLast()), sig + [0], [0] + sig, sig + sig] {
            #expect(try !verify(.ed25519, ed, bad), "\(bad.count)")
        }
        // S + L (S is little-endian in bytes 32..63): non-canonical, RFC 8032 §5.1.7 rejects it.
        let l = Array(T.hex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed").reversed())
        var s = Array(sig[32...])
        var carry = 0
        for i in 0..<32 {
            let v = Int(s[i]) + Int(l[i]) + carry
            s[i] = UInt8(v & 0xff)
            carry = v >> 8
        }
        if carry == 0 {
            #expect(try !verify(.ed25519, ed, Array(sig[..<32]) + s))
        }
        // R = 0 and an all-zero signature.
        #expect(try !verify(.ed25519, ed, [UInt8](repeating: 0, count: 32) + Array(sig[32...])))
        #expect(try !verify(.ed25519, ed, [UInt8](repeating: 0, count: 64)))
    }

    // MARK: - Sharing

    @Test("one key verifies from many tasks at once (PublicKey is Sendable and immutable)")
    func concurrentUse() async throws {
        let cases: [(JWSAlgorithm, PublicKey, [UInt8])] = [
            (.es256, p256, F.es256Signature), (.rs256, rsa, F.rs256Signature), (.ps256, rsa, F.ps256Signature),
            (.ed25519, ed, F.ed25519Signature),
        ]
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                let (alg, key, signature) = cases[index % cases.count]
                group.addTask {
                    var ok = true
                    for _ in 0..<20 {
                        ok = ok && ((try? T.verify(alg, key, message: F.message, signature: signature)) ?? false)
                    }
                    return ok
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }
}
