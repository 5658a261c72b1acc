//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The swift-crypto backend: BoringSSL, as carried by apple/swift-crypto's `Crypto` product.
// Compiled only with the package trait "SwiftCrypto"; without it this module is empty.
#if SwiftCrypto
public import Keybound
import Crypto
// BoringSSL's one-shot hashes, HMAC, ECDSA and RSA: swift-crypto's public API allocates per call (a digest context,
// `Data`, BIGNUMs), which would put heap allocations of ours on the warm path (AllocationTests). The module is
// swift-crypto's own vendored BoringSSL (every symbol prefixed CCryptoBoringSSL_), reached through the Crypto
// product's dependency; Ed25519 goes through swift-crypto's `Curve25519` API.
internal import CCryptoBoringSSL

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension CryptoBackend {
    /// The swift-crypto backend (`name` `"swift-crypto"`): swift-crypto's BoringSSL, no system libcrypto.
    ///
    /// Pass it where a Keybound API takes `backend:` (``Verifier``, ``JWKSet``, ``NonceIssuer``, ``Thumbprint``).
    /// Keybound's own key and signature rules run before it, exactly as for ``CryptoBackend/openSSL``.
    public static let swiftCrypto = CryptoBackend(name: "swift-crypto", provider: SwiftCryptoProvider())
}

/// The swift-crypto provider: EC and RSA keys are BoringSSL's own `EC_KEY` and `RSA`, Ed25519 keys swift-crypto's
/// `Curve25519.Signing.PublicKey`; digests and MACs BoringSSL's one-shot functions.
struct SwiftCryptoProvider: CryptoProvider {
    func makeECKey(curve: ECCurve, x: ByteView, y: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        // The X9.62 uncompressed point 04 || x || y (each exactly the field size: checked by
        // PublicKey.checkECCoordinates), decoded by BoringSSL, which refuses a point that is not on the curve.
        // Assembled on the stack: a new client key costs no array of ours.
        let count = 1 + x.count + y.count
        let key = withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { point -> BoringSSLECKey? in
            point[0] = 4
            x.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: point[1..<(1 + x.count)]).copyMemory(from: $0) }
            y.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: point[(1 + x.count)...]).copyMemory(from: $0) }
            return BoringSSLECKey(curve: curve, uncompressedPoint: UnsafeRawBufferPointer(point))
        }
        guard let key else {
            throw KeyboundError(code, reason: "EC point is not on the curve")
        }
        return SwiftCryptoKey(.ec(key))
    }

    func makeRSAKey(n: ByteView, e: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        // n and e were bounded by PublicKey.checkRSAMembers; BoringSSL checks the key again.
        guard let key = BoringSSLRSAKey(n: n, e: e) else {
            throw KeyboundError(code, reason: "swift-crypto refused the RSA key")
        }
        return SwiftCryptoKey(.rsa(key))
    }

    func makeEd25519Key(x: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        do {
            return SwiftCryptoKey(.ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: x.copyToArray())))
        } catch {
            throw KeyboundError(.internal, reason: "swift-crypto refused a checked Ed25519 key")
        }
    }

    func decodeSubjectPublicKeyInfo(_ der: [UInt8]) throws(KeyboundError) -> SPKIKey? {
        // BoringSSL's own SubjectPublicKeyInfo decoder (the one under swift-crypto's key types), over the whole buffer.
        defer { CCryptoBoringSSL_ERR_clear_error() }
        return der.withUnsafeBufferPointer { bytes -> SPKIKey? in
            var cbs = CBS(data: bytes.baseAddress, len: bytes.count)
            guard let pkey = CCryptoBoringSSL_EVP_parse_public_key(&cbs) else { return nil }
            defer { CCryptoBoringSSL_EVP_PKEY_free(pkey) }
            guard cbs.len == 0 else { return nil }
            func bytesOf(_ bn: UnsafePointer<BIGNUM>?) -> [UInt8]? {
                guard let bn, CCryptoBoringSSL_BN_is_negative(bn) == 0 else { return nil }
                var out = [UInt8](repeating: 0, count: Int(CCryptoBoringSSL_BN_num_bytes(bn)))
                let written = out.withUnsafeMutableBufferPointer { CCryptoBoringSSL_BN_bn2bin(bn, $0.baseAddress) }
                return written == out.count ? out : nil
            }
            switch CCryptoBoringSSL_EVP_PKEY_id(pkey) {
            case EVP_PKEY_RSA:
                guard let rsa = CCryptoBoringSSL_EVP_PKEY_get0_RSA(pkey),
                    let n = bytesOf(CCryptoBoringSSL_RSA_get0_n(rsa)), let e = bytesOf(CCryptoBoringSSL_RSA_get0_e(rsa))
                else { return nil }
                return .rsa(n: n, e: e)
            case EVP_PKEY_EC:
                guard let ec = CCryptoBoringSSL_EVP_PKEY_get0_EC_KEY(pkey), let group = CCryptoBoringSSL_EC_KEY_get0_group(ec),
                    let point = CCryptoBoringSSL_EC_KEY_get0_public_key(ec)
                else { return nil }
                let curve: ECCurve
                switch CCryptoBoringSSL_EC_GROUP_get_curve_name(group) {
                case NID_X9_62_prime256v1: curve = .p256
                case NID_secp384r1: curve = .p384
                case NID_secp521r1: curve = .p521
                default: return nil
                }
                let size = curve.coordinateByteCount
                var encoded = [UInt8](repeating: 0, count: 1 + 2 * size)
                let written = encoded.withUnsafeMutableBufferPointer {
                    CCryptoBoringSSL_EC_POINT_point2oct(
                        group, point, POINT_CONVERSION_UNCOMPRESSED, $0.baseAddress, $0.count, nil)
                }
                guard written == encoded.count else { return nil }
                return .ec(curve, x: Array(encoded[1...size]), y: Array(encoded[(1 + size)...]))
            case EVP_PKEY_ED25519:
                var raw = [UInt8](repeating: 0, count: 32)
                var length = raw.count
                let ok = raw.withUnsafeMutableBufferPointer {
                    CCryptoBoringSSL_EVP_PKEY_get_raw_public_key(pkey, $0.baseAddress, &length)
                }
                return ok == 1 && length == 32 ? .ed25519(x: raw) : nil
            default:
                return nil
            }
        }
    }

    func sha256(_ data: ByteView) throws(KeyboundError) -> Keybound.SHA256Digest {
        // 32 bytes on the stack; BoringSSL's one-shot SHA256() cannot fail for in-memory input.
        var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &out) { digest in
            data.withUnsafeBytes { input in
                _ = CCryptoBoringSSL_SHA256(
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                    digest.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
        }
        return withUnsafeBytes(of: out) { Keybound.SHA256Digest(_unsafeDigestBytes: $0) }
    }

    func hmacSHA256(key: ByteView, message: ByteView) throws(KeyboundError) -> Keybound.SHA256Digest {
        var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var length: UInt32 = 0
        let ok = withUnsafeMutableBytes(of: &out) { tag in
            key.withUnsafeBytes { k in
                message.withUnsafeBytes { m in
                    CCryptoBoringSSL_HMAC(
                        CCryptoBoringSSL_EVP_sha256(), k.baseAddress, k.count,
                        m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                        tag.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) != nil
                }
            }
        }
        guard ok, length == 32 else { throw KeyboundError(.internal, reason: "HMAC-SHA-256 failed") }
        return withUnsafeBytes(of: out) { Keybound.SHA256Digest(_unsafeDigestBytes: $0) }
    }
}

/// A public key of the swift-crypto backend. Immutable; swift-crypto's key values are `Sendable`.
final class SwiftCryptoKey: BackendPublicKey {
    enum Storage: Sendable {
        case ec(BoringSSLECKey)
        case rsa(BoringSSLRSAKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    let storage: Storage

    init(_ storage: Storage) {
        self.storage = storage
    }

    /// Runs the primitive of `scheme` (the caller checked the signature's shape, and for ECDSA r, s ∈ 1 ..< n).
    ///
    /// ECDSA hashes into a stack buffer and verifies the raw `r || s` with BoringSSL's `ECDSA_verify_p1363`; RSA
    /// hashes into a stack buffer with the scheme's hash and verifies the digest with BoringSSL's `RSA_verify`
    /// (PKCS #1 v1.5) or `RSA_verify_pss_mgf1` (MGF1 over the same hash, a salt of the hash's length: RFC 7518 §3.5);
    /// Ed25519 is pure EdDSA over the message (RFC 8032 §5.1.7).
    func verify(_ scheme: SignatureScheme, signingInput: ByteView, signature: ByteView) throws(KeyboundError) -> Bool {
        signature.withUnsafeBytes { sig in
            signingInput.withUnsafeBytes { message in
                Self.verify(storage, scheme, message: message, signature: sig)
            }
        }
    }

    private static func verify(
        _ storage: Storage,
        _ scheme: SignatureScheme,
        message: UnsafeRawBufferPointer,
        signature: UnsafeRawBufferPointer
    ) -> Bool {
        switch (storage, scheme) {
        case (.ec(let key), .ecdsa(let curve, let hash)) where key.curve == curve:
            return key.verify(hash, message: message, signature: signature)
        case (.rsa(let key), .rsaPKCS1v15(let hash)):
            return key.verify(hash, pss: false, message: message, signature: signature)
        case (.rsa(let key), .rsaPSS(let hash)):
            return key.verify(hash, pss: true, message: message, signature: signature)
        case (.ed25519(let key), .ed25519):
            return key.isValidSignature(signature, for: message)
        default:
            // A scheme this key cannot verify (the caller refuses these first): never valid.
            return false
        }
    }
}

/// Hashes `message` with `hash` into a stack buffer and passes the digest to `body`.
private func withDigest<R>(
    _ hash: Keybound.HashFunction,
    of message: UnsafeRawBufferPointer,
    _ body: (UnsafePointer<UInt8>?, Int) -> R
) -> R {
    // Room for the longest digest (SHA-512). BoringSSL's one-shot hashes cannot fail for in-memory input.
    var digest: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    return withUnsafeMutableBytes(of: &digest) { out in
        let input = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let target = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
        switch hash {
        case .sha256: _ = CCryptoBoringSSL_SHA256(input, message.count, target)
        case .sha384: _ = CCryptoBoringSSL_SHA384(input, message.count, target)
        case .sha512: _ = CCryptoBoringSSL_SHA512(input, message.count, target)
        }
        return body(target, hash.byteCount)
    }
}

/// An EC public key as BoringSSL's own `EC_KEY` (swift-crypto's vendored BoringSSL).
///
/// swift-crypto's `P256.Signing.PublicKey.isValidSignature` copies the signature into `Data`, converts r and s to
/// `BIGNUM`s and hashes through a heap-allocated digest context: about 15 allocations per verify. BoringSSL's
/// `ECDSA_verify_p1363` takes the fixed-width `r || s` and the digest as they are, so a warm ECDSA verify here
/// allocates nothing (AllocationTests) and costs what the arithmetic costs.
///
/// - Note: Immutable after init (BoringSSL documents `EC_KEY` verification as safe from many threads at once).
final class BoringSSLECKey: @unchecked Sendable {
    let curve: ECCurve
    private let key: OpaquePointer

    init?(curve: ECCurve, uncompressedPoint point: UnsafeRawBufferPointer) {
        let nid: Int32
        switch curve {
        case .p256: nid = NID_X9_62_prime256v1
        case .p384: nid = NID_secp384r1
        case .p521: nid = NID_secp521r1
        }
        guard let key = CCryptoBoringSSL_EC_KEY_new_by_curve_name(nid) else { return nil }
        let decoded = CCryptoBoringSSL_EC_KEY_oct2key(
            key, point.baseAddress?.assumingMemoryBound(to: UInt8.self), point.count, nil)
        guard decoded == 1 else {
            // BoringSSL's per-thread error queue is a bounded ring; cleared so a refusal leaves nothing behind.
            CCryptoBoringSSL_ERR_clear_error()
            CCryptoBoringSSL_EC_KEY_free(key)
            return nil
        }
        self.curve = curve
        self.key = key
    }

    deinit { CCryptoBoringSSL_EC_KEY_free(key) }

    /// Hashes `message` with `hash` (the scheme's: SHA-256, SHA-384, SHA-512 for ES256, ES384, ES512) and verifies
    /// the raw `r || s` (RFC 7518 §3.4) over the digest.
    func verify(_ hash: Keybound.HashFunction, message: UnsafeRawBufferPointer, signature: UnsafeRawBufferPointer)
        -> Bool
    {
        withDigest(hash, of: message) { digest, length in
            let valid = CCryptoBoringSSL_ECDSA_verify_p1363(
                digest, length, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count, key) == 1
            if !valid { CCryptoBoringSSL_ERR_clear_error() }
            return valid
        }
    }
}

/// An RSA public key as BoringSSL's own `RSA` (swift-crypto's vendored BoringSSL).
///
/// swift-crypto's `_RSA.Signing.PublicKey.isValidSignature` hashes through a heap-allocated digest context and wraps
/// the signature in `Data`; here the digest lives on the stack and the signature is passed as it lies in the request.
///
/// - Note: Immutable after init (BoringSSL documents public-key operations on one `RSA` as safe from many threads).
final class BoringSSLRSAKey: @unchecked Sendable {
    private let key: OpaquePointer

    init?(n: ByteView, e: ByteView) {
        func bignum(_ bytes: ByteView) -> UnsafeMutablePointer<BIGNUM>? {
            bytes.withUnsafeBytes {
                CCryptoBoringSSL_BN_bin2bn($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, nil)
            }
        }
        let modulus = bignum(n)
        let exponent = bignum(e)
        defer {
            CCryptoBoringSSL_BN_free(modulus)
            CCryptoBoringSSL_BN_free(exponent)
        }
        guard let modulus, let exponent, let key = CCryptoBoringSSL_RSA_new_public_key(modulus, exponent) else {
            CCryptoBoringSSL_ERR_clear_error()
            return nil
        }
        self.key = key
    }

    deinit { CCryptoBoringSSL_RSA_free(key) }

    /// Verifies `signature` over `message` hashed with `hash`: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2, the DigestInfo
    /// compared whole) or, with `pss`, RSASSA-PSS with MGF1 over `hash` and a salt exactly the digest's length.
    func verify(
        _ hash: Keybound.HashFunction,
        pss: Bool,
        message: UnsafeRawBufferPointer,
        signature: UnsafeRawBufferPointer
    ) -> Bool {
        let sig = signature.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let valid = withDigest(hash, of: message) { digest, length in
            if pss {
                let md: OpaquePointer?
                switch hash {
                case .sha256: md = CCryptoBoringSSL_EVP_sha256()
                case .sha384: md = CCryptoBoringSSL_EVP_sha384()
                case .sha512: md = CCryptoBoringSSL_EVP_sha512()
                }
                return CCryptoBoringSSL_RSA_verify_pss_mgf1(
                    key, digest, length, md, md, RSA_PSS_SALTLEN_DIGEST, sig, signature.count) == 1
            }
            let nid: Int32
            switch hash {
            case .sha256: nid = NID_sha256
            case .sha384: nid = NID_sha384
            case .sha512: nid = NID_sha512
            }
            return CCryptoBoringSSL_RSA_verify(nid, digest, length, sig, signature.count, key) == 1
        }
        if !valid { CCryptoBoringSSL_ERR_clear_error() }
        return valid
    }
}
#endif
