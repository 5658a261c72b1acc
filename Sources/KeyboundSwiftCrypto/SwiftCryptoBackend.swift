//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The swift-crypto backend (issue 10): BoringSSL, as carried by apple/swift-crypto's `Crypto` and `_CryptoExtras`.
// Compiled only with the package trait "SwiftCrypto"; without it this module is empty.
#if SwiftCrypto
public import Keybound
import Crypto
import _CryptoExtras
// BoringSSL's one-shot SHA-256 and HMAC: swift-crypto's `SHA256.hash` allocates a digest context per call, which
// would put heap allocations of ours on the warm path (AllocationTests). The module is swift-crypto's own vendored
// BoringSSL (every symbol prefixed CCryptoBoringSSL_), reached through the Crypto product's dependency.
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

/// The swift-crypto provider: keys are swift-crypto public key values, digests `SHA256.hash(data:)`.
struct SwiftCryptoProvider: CryptoProvider {
    func makeECKey(curve: ECCurve, x: ByteView, y: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        // The X9.62 uncompressed point 04 || x || y (each exactly the field size: checked by
        // PublicKey.checkECCoordinates), decoded by BoringSSL, which refuses a point that is not on the curve.
        var point = [UInt8](repeating: 4, count: 1)
        point.reserveCapacity(1 + x.count + y.count)
        point.append(contentsOf: x.copyToArray())
        point.append(contentsOf: y.copyToArray())
        guard let key = BoringSSLECKey(curve: curve, uncompressedPoint: point) else {
            throw KeyboundError(code, reason: "EC point is not on the curve")
        }
        return SwiftCryptoKey(.ec(key))
    }

    func makeRSAKey(n: ByteView, e: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        do {
            let key = try _RSA.Signing.PublicKey(n: n.copyToArray(), e: e.copyToArray())
            return SwiftCryptoKey(.rsa(key))
        } catch {
            throw KeyboundError(code, reason: "swift-crypto refused the RSA key")
        }
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
        case rsa(_RSA.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    let storage: Storage

    init(_ storage: Storage) {
        self.storage = storage
    }

    /// Runs the primitive of `scheme` (the caller checked the signature's shape, and for ECDSA r, s ∈ 1 ..< n).
    ///
    /// ECDSA hashes into a stack buffer and verifies the raw `r || s` with BoringSSL's `ECDSA_verify_p1363`; RSA
    /// hashes with the scheme's hash and verifies the digest, PKCS #1 v1.5 or PSS with MGF1 over the same hash and a
    /// salt of the hash's length (swift-crypto's `.PSS`, RFC 7518 §3.5); Ed25519 is pure EdDSA over the message
    /// (RFC 8032 §5.1.7).
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
        case (.ec(let key), .ecdsa(.p256, .sha256)) where key.curve == .p256,
            (.ec(let key), .ecdsa(.p384, .sha384)) where key.curve == .p384,
            (.ec(let key), .ecdsa(.p521, .sha512)) where key.curve == .p521:
            return key.verify(message: message, signature: signature)
        case (.rsa(let key), .rsaPKCS1v15(let hash)):
            return verifyRSA(key, hash, padding: .insecurePKCS1v1_5, message: message, signature: signature)
        case (.rsa(let key), .rsaPSS(let hash)):
            return verifyRSA(key, hash, padding: .PSS, message: message, signature: signature)
        case (.ed25519(let key), .ed25519):
            return key.isValidSignature(signature, for: message)
        default:
            // A scheme this key cannot verify (the caller refuses these first): never valid.
            return false
        }
    }

    private static func verifyRSA(
        _ key: _RSA.Signing.PublicKey,
        _ hash: Keybound.HashFunction,
        padding: _RSA.Signing.Padding,
        message: UnsafeRawBufferPointer,
        signature: UnsafeRawBufferPointer
    ) -> Bool {
        let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
        switch hash {
        case .sha256: return key.isValidSignature(sig, for: SHA256.hash(data: message), padding: padding)
        case .sha384: return key.isValidSignature(sig, for: SHA384.hash(data: message), padding: padding)
        case .sha512: return key.isValidSignature(sig, for: SHA512.hash(data: message), padding: padding)
        }
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

    init?(curve: ECCurve, uncompressedPoint point: [UInt8]) {
        let nid: Int32
        switch curve {
        case .p256: nid = NID_X9_62_prime256v1
        case .p384: nid = NID_secp384r1
        case .p521: nid = NID_secp521r1
        }
        guard let key = CCryptoBoringSSL_EC_KEY_new_by_curve_name(nid) else { return nil }
        let decoded = point.withUnsafeBufferPointer { bytes in
            CCryptoBoringSSL_EC_KEY_oct2key(key, bytes.baseAddress, bytes.count, nil)
        }
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

    /// Hashes `message` with the curve's JWS hash (ES256: SHA-256, ES384: SHA-384, ES512: SHA-512) and verifies
    /// the raw `r || s` (RFC 7518 §3.4) over the digest.
    func verify(message: UnsafeRawBufferPointer, signature: UnsafeRawBufferPointer) -> Bool {
        // Room for the longest digest (SHA-512), on the stack.
        var digest: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &digest) { out in
            let input = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
            let target = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
            let length: Int
            switch curve {
            case .p256:
                _ = CCryptoBoringSSL_SHA256(input, message.count, target)
                length = 32
            case .p384:
                _ = CCryptoBoringSSL_SHA384(input, message.count, target)
                length = 48
            case .p521:
                _ = CCryptoBoringSSL_SHA512(input, message.count, target)
                length = 64
            }
            let valid = CCryptoBoringSSL_ECDSA_verify_p1363(
                target, length, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count, key) == 1
            if !valid { CCryptoBoringSSL_ERR_clear_error() }
            return valid
        }
    }
}
#endif
