//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The backend differential test: the same valid and single-fault inputs, fed to the OpenSSL and the
// swift-crypto backends in one process, must get identical verdicts and error codes. Compiled only when both are in:
//   swift test --traits default,SwiftCrypto --filter BackendDifferential
#if SwiftCrypto && OpenSSL
import Crypto
import Foundation
import KeyboundSwiftCrypto
import KeyboundTestSupport
import Testing
import _CryptoExtras

@testable import Keybound
@testable import KeyboundSigning

@Suite("Crypto: backend differential (OpenSSL vs swift-crypto)")
struct BackendDifferentialTests {
    /// What one backend made of one input: the key refused (with its code), or the signature's verdict.
    enum Outcome: Hashable, CustomStringConvertible {
        case keyRefused(KeyboundError.Code)
        case verified(Bool)
        case verifyThrew(KeyboundError.Code)

        var description: String {
            switch self {
            case .keyRefused(let code): "key refused (\(code))"
            case .verified(let ok): ok ? "valid" : "invalid"
            case .verifyThrew(let code): "verify threw (\(code))"
            }
        }
    }

    /// The public members of a JWK.
    enum Members {
        case ec(ECCurve, x: [UInt8], y: [UInt8])
        case rsa(n: [UInt8], e: [UInt8])
        case ed25519(x: [UInt8])
    }

    /// One signed base message.
    struct Base {
        let alg: JWSAlgorithm
        let members: Members
        let message: [UInt8]
        let signature: [UInt8]
        /// The OpenSSL key for RSA bases (to sign PSS with other salt lengths).
        let rsaSigner: RSASigner?
    }

    /// One input: key members, alg, message, signature, and the fault class that produced it.
    struct Input {
        let fault: String
        let alg: JWSAlgorithm
        let members: Members
        let message: [UInt8]
        let signature: [UInt8]
    }

    static let caseCount: Int = {
        if let text = ProcessInfo.processInfo.environment["KEYBOUND_DIFFERENTIAL_CASES"], let n = Int(text), n > 0 {
            return n
        }
        return 100_000
    }()

    /// How often each family of bases is drawn, in percent: ES256 and RSA (the usual proof and token algorithms)
    /// most; Ed25519, P-384 and P-521 less, since swift-crypto's BoringSSL, built unoptimised in a debug build, is
    /// slow on those curves and the whole run should take seconds.
    static let familyWeights: [(family: String, percent: UInt64)] = [
        ("ES256", 46), ("RSA", 40), ("Ed25519", 6), ("ES384", 4), ("ES512", 4),
    ]

    static func family(_ alg: JWSAlgorithm) -> String {
        switch alg.scheme {
        case .ecdsa(.p256, _): "ES256"
        case .ecdsa(.p384, _): "ES384"
        case .ecdsa(.p521, _): "ES512"
        case .ecdsa: "ES256"
        case .rsaPKCS1v15, .rsaPSS: "RSA"
        case .ed25519: "Ed25519"
        }
    }

    /// It runs both backends itself, whatever `KEYBOUND_TEST_BACKEND` says (CI runs it in its swift-crypto pass).
    @Test("100,000 valid and single-fault inputs: identical verdicts and error codes on both backends")
    func differential() throws {
        var rng = SplitMix64(seed: 0x6b65_7962_6f75_6e64)
        let bases = try Self.makeBases()
        var byFamily: [String: [Int]] = [:]
        for (index, base) in bases.enumerated() { byFamily[Self.family(base.alg), default: []].append(index) }
        var drawn: [String: Int] = [:]
        // Keys are built once per distinct member set and backend: faults on the key rebuild it.
        var histogram: [String: Int] = [:]
        var outcomes: [String: [Outcome: Int]] = [:]
        var mismatches: [String] = []
        let openSSLKeys = KeyCache(backend: .openSSL)
        let swiftCryptoKeys = KeyCache(backend: .swiftCrypto)
        for index in 0..<Self.caseCount {
            var roll = rng.next() % 100
            var family = Self.familyWeights[0].family
            for (name, percent) in Self.familyWeights {
                if roll < percent { family = name; break }
                roll -= percent
            }
            let members = byFamily[family] ?? []
            let baseIndex = members[drawn[family, default: 0] % members.count]
            drawn[family, default: 0] += 1
            let base = bases[baseIndex]
            let input = try Self.makeInput(base, others: bases, rng: &rng)
            let reused = input.fault.hasPrefix("key ") ? nil : baseIndex
            let a = Self.run(input, keys: openSSLKeys, reuse: reused)
            let b = Self.run(input, keys: swiftCryptoKeys, reuse: reused)
            histogram[input.fault, default: 0] += 1
            outcomes[input.fault, default: [:]][a, default: 0] += 1
            if a != b && mismatches.count < 20 {
                mismatches.append("case \(index) \(input.fault) \(input.alg): openssl \(a), swift-crypto \(b)")
            }
        }
        let families = drawn.sorted(by: { $0.key < $1.key }).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("backend differential: \(Self.caseCount) inputs over \(bases.count) signed bases (\(families))")
        for (fault, count) in histogram.sorted(by: { $0.key < $1.key }) {
            let verdicts = (outcomes[fault] ?? [:]).map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")
            print("  \(fault.padding(toLength: 34, withPad: " ", startingAt: 0)) \(count)  [\(verdicts)]")
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // Every valid input verifies; every class that must fail fails.
        #expect(outcomes["valid"]?.keys.allSatisfy { $0 == .verified(true) } == true)
        #expect(outcomes["ecdsa high s (n - s)"]?.keys.allSatisfy { $0 == .verified(true) } == true)
        for (fault, verdicts) in outcomes where fault != "valid" && fault != "ecdsa high s (n - s)" {
            #expect(verdicts[.verified(true)] == nil, "\(fault) verified")
        }
    }

    // MARK: - Running one input

    final class KeyCache {
        let backend: CryptoBackend
        var keys: [Int: Result<PublicKey, KeyboundError>] = [:]
        init(backend: CryptoBackend) { self.backend = backend }
    }

    static func run(_ input: Input, keys: KeyCache, reuse: Int?) -> Outcome {
        let built: Result<PublicKey, KeyboundError>
        if let reuse, let cached = keys.keys[reuse] {
            built = cached
        } else {
            built = Result { () throws(KeyboundError) -> PublicKey in try buildKey(input.members, keys.backend) }
            if let reuse { keys.keys[reuse] = built }
        }
        let key: PublicKey
        switch built {
        case .success(let k): key = k
        case .failure(let error): return .keyRefused(error.code)
        }
        do {
            let ok = try ByteView.with(input.message) { (m) throws(KeyboundError) -> Bool in
                try ByteView.with(input.signature) { (s) throws(KeyboundError) -> Bool in
                    try SignatureVerifier.verify(input.alg, key: key, signingInput: m, signature: s)
                }
            }
            return .verified(ok)
        } catch {
            return .verifyThrew(error.code)
        }
    }

    static func buildKey(_ members: Members, _ backend: CryptoBackend) throws(KeyboundError) -> PublicKey {
        switch members {
        case .ec(let curve, let x, let y):
            // The JWK reader refuses other lengths first; the differential covers what reaches PublicKey.
            return try ByteView.with(x) { (xv) throws(KeyboundError) -> PublicKey in
                try ByteView.with(y) { (yv) throws(KeyboundError) -> PublicKey in
                    try PublicKey.ec(curve: curve, x: xv, y: yv, rejectingAs: .proofJWK, backend: backend)
                }
            }
        case .rsa(let n, let e):
            return try ByteView.with(n) { (nv) throws(KeyboundError) -> PublicKey in
                try ByteView.with(e) { (ev) throws(KeyboundError) -> PublicKey in
                    try PublicKey.rsa(n: nv, e: ev, modulusBits: 2048...4096, rejectingAs: .proofJWK, backend: backend)
                }
            }
        case .ed25519(let x):
            return try ByteView.with(x) { (xv) throws(KeyboundError) -> PublicKey in
                try PublicKey.ed25519(x: xv, rejectingAs: .proofJWK, backend: backend)
            }
        }
    }

    // MARK: - Bases

    /// A few hundred signed messages over 3 keys per EC curve, 3 RSA keys (2048, 2048, 3072) and 3 Ed25519 keys.
    static func makeBases() throws -> [Base] {
        var bases: [Base] = []
        var counter = 0
        func message() -> [UInt8] {
            counter += 1
            return Array("eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ\(counter)-\(UInt64.random(in: 0...UInt64.max))In0".utf8)
        }
        for _ in 0..<3 {
            let p256 = P256.Signing.PrivateKey()
            let p384 = P384.Signing.PrivateKey()
            let p521 = P521.Signing.PrivateKey()
            let ed = Curve25519.Signing.PrivateKey()
            func ec(_ curve: ECCurve, _ raw: Data) -> Members {
                let size = curve.coordinateByteCount
                return .ec(curve, x: Array(raw.prefix(size)), y: Array(raw.suffix(size)))
            }
            for _ in 0..<24 {
                let m = message()
                bases.append(Base(alg: .es256, members: ec(.p256, p256.publicKey.rawRepresentation), message: m,
                                  signature: Array(try p256.signature(for: m).rawRepresentation), rsaSigner: nil))
                bases.append(Base(alg: Bool.random() ? .edDSA : .ed25519,
                                  members: .ed25519(x: Array(ed.publicKey.rawRepresentation)), message: m,
                                  signature: Array(try ed.signature(for: m)), rsaSigner: nil))
            }
            for _ in 0..<10 {
                let m = message()
                bases.append(Base(alg: .es384, members: ec(.p384, p384.publicKey.rawRepresentation), message: m,
                                  signature: Array(try p384.signature(for: m).rawRepresentation), rsaSigner: nil))
                bases.append(Base(alg: .es512, members: ec(.p521, p521.publicKey.rawRepresentation), message: m,
                                  signature: Array(try p521.signature(for: m).rawRepresentation), rsaSigner: nil))
            }
        }
        // RSA keys come from OpenSSL (KeyboundSigning): fast to generate even in a debug build.
        for bits in [2048, 2048, 3072] {
            let key = try SigningKey.generate(.rs256, rsaBits: bits)
            let jwk = try JSONSerialization.jsonObject(with: Data(key.publicJWK.utf8)) as? [String: Any] ?? [:]
            let n = CryptoTestSupport.base64URL(jwk["n"] as? String ?? "") ?? []
            let e = CryptoTestSupport.base64URL(jwk["e"] as? String ?? "") ?? []
            let members = Members.rsa(n: n, e: e)
            let signer = RSASigner(key)
            for alg in [JWSAlgorithm.rs256, .rs384, .rs512, .ps256, .ps384, .ps512] {
                for _ in 0..<6 {
                    let m = message()
                    let signature = try signer.sign(m, hash: alg.scheme.jwsHash, pssSalt: alg.isPSS ? alg.scheme.jwsHash.byteCount : nil)
                    bases.append(Base(alg: alg, members: members, message: m, signature: signature, rsaSigner: signer))
                }
            }
        }
        return bases
    }

    // MARK: - Faults

    static func makeInput(_ base: Base, others: [Base], rng: inout SplitMix64) throws -> Input {
        var classes = ["valid", "signature bit flip", "message bit flip", "signature length", "wrong alg for key",
                       "signature of another message"]
        switch base.members {
        case .ec:
            classes += ["ecdsa DER signature", "ecdsa r = 0", "ecdsa s = 0", "ecdsa r >= n", "ecdsa s >= n",
                        "ecdsa high s (n - s)", "ecdsa other curve alg", "key ec point off curve",
                        "key ec coordinate >= p", "key ec point (0, 0)"]
        case .rsa:
            classes += ["rsa signature >= n", "rsa signature = 0", "rsa pkcs1 <-> pss", "rsa other hash",
                        "rsa wrong modulus length", "rsa pss other salt", "key rsa e = 1", "key rsa e even",
                        "key rsa e >= 2^32", "key rsa n even", "key rsa n leading zero", "key rsa n 1024 bits"]
        case .ed25519:
            classes += ["ed25519 S + L", "ed25519 S = 0", "key ed25519 small order", "key ed25519 non-canonical",
                        "key ed25519 random bytes"]
        }
        let fault = classes[Int(rng.next() % UInt64(classes.count))]
        var alg = base.alg
        var members = base.members
        var message = base.message
        var signature = base.signature
        switch fault {
        case "valid":
            break
        case "signature bit flip":
            let bit = Int(rng.next() % UInt64(signature.count * 8))
            signature[bit / 8] ^= 1 << UInt8(bit % 8)
        case "message bit flip":
            let bit = Int(rng.next() % UInt64(message.count * 8))
            message[bit / 8] ^= 1 << UInt8(bit % 8)
        case "signature length":
            switch rng.next() % 4 {
            case 0: signature.removeLast(Int(1 + rng.next() % 3))
            case 1: signature += [UInt8](repeating: 0, count: Int(1 + rng.next() % 3))
            case 2: signature.insert(0, at: 0)
            default: signature = Array(signature.prefix(Int(rng.next() % UInt64(signature.count))))
            }
        case "wrong alg for key":
            let wrong: [JWSAlgorithm] = JWSAlgorithm.allSupported.filter { candidate in
                switch (candidate.scheme, base.alg.scheme) {
                case (.ecdsa, .ecdsa), (.rsaPKCS1v15, .rsaPKCS1v15), (.rsaPSS, .rsaPSS), (.rsaPSS, .rsaPKCS1v15),
                    (.rsaPKCS1v15, .rsaPSS), (.ed25519, .ed25519):
                    false
                default: true
                }
            }
            alg = wrong[Int(rng.next() % UInt64(wrong.count))]
        case "signature of another message":
            let same = others.filter { $0.alg == base.alg && $0.signature.count == base.signature.count
                && $0.message != base.message }
            if let other = same.isEmpty ? nil : same[Int(rng.next() % UInt64(same.count))] {
                signature = other.signature
            }
        case "ecdsa DER signature":
            signature = CryptoTestSupport.derECDSA(signature)
        case "ecdsa r = 0", "ecdsa s = 0":
            let half = signature.count / 2
            let range = fault == "ecdsa r = 0" ? 0..<half : half..<signature.count
            for i in range { signature[i] = 0 }
        case "ecdsa r >= n", "ecdsa s >= n":
            guard case .ec(let curve, _, _) = base.members else { break }
            let half = signature.count / 2
            let offset = fault == "ecdsa r >= n" ? 0 : half
            var value = curve.order
            switch rng.next() % 3 {
            case 0: break  // n itself
            case 1: value = addSmall(value, UInt8(1 + rng.next() % 200))  // n + k (fits: the top bits of n are not all set)
            default: value = [UInt8](repeating: 0xff, count: half)  // 2^k - 1
            }
            if value.count == half { signature.replaceSubrange(offset..<(offset + half), with: value) }
        case "ecdsa high s (n - s)":
            guard case .ec(let curve, _, _) = base.members else { break }
            let half = signature.count / 2
            let s = Array(signature[half...])
            signature.replaceSubrange(half..<signature.count, with: CryptoTestSupport.subtract(curve.order, s))
        case "ecdsa other curve alg":
            let others: [JWSAlgorithm] = [.es256, .es384, .es512].filter { $0 != base.alg }
            alg = others[Int(rng.next() % 2)]
        case "key ec point off curve":
            guard case .ec(let curve, let x, var y) = base.members else { break }
            y[y.count - 1] ^= UInt8(1 + rng.next() % 255)
            members = .ec(curve, x: x, y: y)
        case "key ec coordinate >= p":
            guard case .ec(let curve, let x, let y) = base.members else { break }
            let p = curve.fieldPrime
            members = rng.next() % 2 == 0 ? .ec(curve, x: p, y: y) : .ec(curve, x: x, y: [UInt8](repeating: 0xff, count: p.count))
        case "key ec point (0, 0)":
            guard case .ec(let curve, _, _) = base.members else { break }
            let zero = [UInt8](repeating: 0, count: curve.coordinateByteCount)
            members = .ec(curve, x: zero, y: zero)
        case "rsa signature >= n":
            guard case .rsa(let n, _) = base.members else { break }
            signature = rng.next() % 2 == 0 ? n : [UInt8](repeating: 0xff, count: n.count)
        case "rsa signature = 0":
            signature = [UInt8](repeating: 0, count: signature.count)
            if rng.next() % 2 == 0 { signature[signature.count - 1] = 1 }
        case "rsa pkcs1 <-> pss":
            alg = switch base.alg {
            case .rs256: .ps256
            case .rs384: .ps384
            case .rs512: .ps512
            case .ps256: .rs256
            case .ps384: .rs384
            default: .rs512
            }
        case "rsa other hash":
            let family: [JWSAlgorithm] = base.alg.isPSS ? [.ps256, .ps384, .ps512] : [.rs256, .rs384, .rs512]
            let others = family.filter { $0 != base.alg }
            alg = others[Int(rng.next() % 2)]
        case "rsa wrong modulus length":
            let other = others.filter {
                if case .rsa(let n, _) = $0.members, case .rsa(let m, _) = base.members { return n.count != m.count }
                return false
            }
            if let pick = other.isEmpty ? nil : other[Int(rng.next() % UInt64(other.count))] {
                signature = pick.signature
            }
        case "rsa pss other salt":
            guard let signer = base.rsaSigner else { break }
            let hash = base.alg.scheme.jwsHash
            let salts = [0, 20, 32, 48, 64].filter { $0 != hash.byteCount }
            signature = try signer.sign(message, hash: hash, pssSalt: salts[Int(rng.next() % UInt64(salts.count))])
            alg = switch hash {
            case .sha256: .ps256
            case .sha384: .ps384
            case .sha512: .ps512
            }
        case "key rsa e = 1", "key rsa e even", "key rsa e >= 2^32":
            guard case .rsa(let n, _) = base.members else { break }
            let e: [UInt8] = switch fault {
            case "key rsa e = 1": [1]
            case "key rsa e even": [0x01, 0x00, 0x00]
            default: [0x01, 0x00, 0x00, 0x00, 0x01]
            }
            members = .rsa(n: n, e: e)
        case "key rsa n even":
            guard case .rsa(var n, let e) = base.members else { break }
            n[n.count - 1] &= 0xfe
            members = .rsa(n: n, e: e)
        case "key rsa n leading zero":
            guard case .rsa(let n, let e) = base.members else { break }
            members = .rsa(n: [0] + n, e: e)
        case "key rsa n 1024 bits":
            guard case .rsa(let n, let e) = base.members else { break }
            var short = Array(n.prefix(128))
            short[short.count - 1] |= 1
            members = .rsa(n: short, e: e)
        case "ed25519 S + L":
            let s = Array(signature[32...])
            signature.replaceSubrange(32..<64, with: addLittleEndian(s, ed25519Order))
        case "ed25519 S = 0":
            for i in 32..<64 { signature[i] = 0 }
        case "key ed25519 small order":
            let list = ed25519SmallOrder
            members = .ed25519(x: list[Int(rng.next() % UInt64(list.count))])
        case "key ed25519 non-canonical":
            var x = [UInt8](repeating: 0xff, count: 32)
            x[0] = 0xed &+ UInt8(rng.next() % 0x13)
            x[31] = rng.next() % 2 == 0 ? 0x7f : 0xff
            members = .ed25519(x: x)
        case "key ed25519 random bytes":
            members = .ed25519(x: (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        default:
            Issue.record("unknown fault class \(fault)")
        }
        return Input(fault: fault, alg: alg, members: members, message: message, signature: signature)
    }

    // MARK: - Byte arithmetic

    /// a + k for big-endian a (the carry out of the top byte is dropped: never reached for a group order here).
    static func addSmall(_ a: [UInt8], _ k: UInt8) -> [UInt8] {
        var out = a
        var carry = Int(k)
        for i in stride(from: a.count - 1, through: 0, by: -1) where carry > 0 {
            let sum = Int(out[i]) + carry
            out[i] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return out
    }

    /// a + b for little-endian 32-byte a and b, modulo 2^256.
    static func addLittleEndian(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = a
        var carry = 0
        for i in 0..<32 {
            let sum = Int(a[i]) + Int(b[i]) + carry
            out[i] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return out
    }

    /// The Ed25519 group order L, little-endian (RFC 8032 §5.1).
    static let ed25519Order: [UInt8] = CryptoTestSupport.hex(
        "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"
    )

    /// Encodings of small-order Ed25519 points (SECURITY.md B5 (d)).
    static let ed25519SmallOrder: [[UInt8]] = [
        CryptoTestSupport.hex("0100000000000000000000000000000000000000000000000000000000000000"),
        CryptoTestSupport.hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        CryptoTestSupport.hex("0000000000000000000000000000000000000000000000000000000000000000"),
        CryptoTestSupport.hex("0000000000000000000000000000000000000000000000000000000000000080"),
        CryptoTestSupport.hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        CryptoTestSupport.hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    ]
}

extension JWSAlgorithm {
    var isPSS: Bool { if case .rsaPSS = scheme { true } else { false } }
}

extension SignatureScheme {
    var jwsHash: Keybound.HashFunction {
        switch self {
        case .ecdsa(_, let h), .rsaPKCS1v15(let h), .rsaPSS(let h): h
        case .ed25519: .sha512
        }
    }
}


/// An RSA private key in OpenSSL (a KeyboundSigning key), to sign PKCS #1 v1.5 and PSS with any salt length.
final class RSASigner: @unchecked Sendable {
    let key: SigningKey

    init(_ key: SigningKey) {
        self.key = key
    }

    func sign(_ message: [UInt8], hash: Keybound.HashFunction, pssSalt: Int?) throws -> [UInt8] {
        try key.rsaSignature(of: message, hash: hash, pssSalt: pssSalt)
    }
}
#endif
