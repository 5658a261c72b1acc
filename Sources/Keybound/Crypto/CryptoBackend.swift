//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The seam between Keybound's rules and a crypto library (docs/design.md "Signatures").
///
/// A provider only runs primitives: it builds public keys from JWK members that Keybound has already checked
/// (``PublicKey/checkECCoordinates(curve:x:y:rejectingAs:)``,
/// ``PublicKey/checkRSAParameters(n:e:modulusBits:rejectingAs:)``, ``PublicKey/checkEd25519(x:rejectingAs:)``), verifies signatures whose length, form and scalar ranges
/// ``SignatureVerifier`` has already checked, and computes SHA-256 and HMAC-SHA-256. Every rule lives above it, so all
/// providers enforce the same policy; a provider may refuse more (a point off the curve), never less.
package protocol CryptoProvider: Sendable {
    /// Builds a P-256/P-384/P-521 key from its coordinates, each exactly the field size and below p (RFC 7518
    /// §6.2.1). Throws `code` when the point is not on the curve, `.internal` for any other failure.
    func makeECKey(curve: ECCurve, x: ByteView, y: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey

    /// Builds an RSA key from minimal big-endian `n` (odd, inside the allowed size) and `e` (odd, 3 ≤ e < 2^32)
    /// (RFC 7518 §6.3.1). Throws `code` when the library refuses the key, `.internal` for any other failure.
    func makeRSAKey(n: ByteView, e: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey

    /// Builds an Ed25519 key from its 32 canonical, not-small-order bytes (RFC 8037 §2).
    func makeEd25519Key(x: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey

    /// Decodes a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) with the library's own decoder and returns the key's
    /// components, or `nil` when the library refuses the bytes (trailing bytes included) or the key is not an EC
    /// P-256/384/521, RSA or Ed25519 key. Keybound compares them with its own reading before it builds the key
    /// (``SubjectPublicKeyInfo``); `.internal` only for a failure that is not the input's fault.
    func decodeSubjectPublicKeyInfo(_ der: [UInt8]) throws(KeyboundError) -> SPKIKey?

    /// SHA-256 (FIPS 180-4 §6.2).
    func sha256(_ data: ByteView) throws(KeyboundError) -> SHA256Digest

    /// HMAC-SHA-256 (RFC 2104), for stateless nonces.
    func hmacSHA256(key: ByteView, message: ByteView) throws(KeyboundError) -> SHA256Digest
}

/// A public key held by a provider. Immutable and usable from any thread.
package protocol BackendPublicKey: AnyObject, Sendable {
    /// True iff `signature` is valid over `signingInput` under `scheme` (RFC 7515 §5.2 step 8).
    ///
    /// The caller has checked that the key supports the scheme and the signature's shape: for ECDSA it is raw
    /// `r || s` of exactly twice the coordinate size with r and s in 1 ..< n (RFC 7518 §3.4); for RSA exactly the
    /// modulus length; for Ed25519 exactly 64 bytes. RSASSA-PSS uses MGF1 over the scheme's hash and a salt as long as
    /// that hash (RFC 7518 §3.5). An invalid signature is `false`; only a failure that is not the input's fault
    /// throws (`.internal`).
    func verify(_ scheme: SignatureScheme, signingInput: ByteView, signature: ByteView) throws(KeyboundError) -> Bool
}

/// The crypto library a ``Verifier``, a ``JWKSet`` or a thumbprint helper runs on.
///
/// - ``openSSL`` (`name` `"openssl"`): the system's OpenSSL 3 libcrypto. The default, compiled in by the default
///   package trait `OpenSSL`; the one to use where a FIPS-validated OpenSSL provider or the distribution's security
///   updates are required.
/// - `swiftCrypto` (`name` `"swift-crypto"`): swift-crypto's BoringSSL, from the `KeyboundSwiftCrypto` module when
///   the package trait `SwiftCrypto` is on. Faster, and needs no system libcrypto.
///
/// Both can be used side by side in one process; every rule Keybound enforces holds identically on each. In a
/// build without the `OpenSSL` trait, ``default`` is a backend whose every operation throws `.internal`: pass
/// `CryptoBackend.swiftCrypto` explicitly.
///
/// Two values are equal when they name the same backend.
public struct CryptoBackend: Sendable, Hashable, CustomStringConvertible {
    /// The backend's name: `"openssl"`, `"swift-crypto"` (or `"none"` for the fail-closed default of a build without
    /// OpenSSL).
    public let name: String

    /// The provider that runs the primitives.
    package let provider: any CryptoProvider

    /// Wraps a provider (for backend modules of this package).
    package init(name: String, provider: any CryptoProvider) {
        self.name = name
        self.provider = provider
    }

    public var description: String { name }

    public static func == (lhs: CryptoBackend, rhs: CryptoBackend) -> Bool { lhs.name == rhs.name }

    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// The backend used when none is passed: ``openSSL`` when compiled in, otherwise a backend that fails closed
    /// (every key build, verification and digest throws `.internal`, naming the backend to pass instead).
    public static var `default`: CryptoBackend {
        #if OpenSSL
        openSSL
        #else
        failClosed
        #endif
    }

    /// Whether the OpenSSL backend is compiled into this build (the package trait `OpenSSL`, on by default).
    public static var isOpenSSLAvailable: Bool {
        #if OpenSSL
        true
        #else
        false
        #endif
    }

    /// The fail-closed backend of a build without OpenSSL.
    static let failClosed = CryptoBackend(name: "none", provider: FailClosedProvider())

    // MARK: - Digests over this backend

    /// SHA-256 of `data` (FIPS 180-4 §6.2).
    @inline(__always)
    func sha256(_ data: ByteView) throws(KeyboundError) -> SHA256Digest {
        probeWork(.digestedBytes, data.count)
        return try provider.sha256(data)
    }

    /// HMAC-SHA-256 of `message` under `key` (RFC 2104).
    @inline(__always)
    func hmacSHA256(key: ByteView, message: ByteView) throws(KeyboundError) -> SHA256Digest {
        try provider.hmacSHA256(key: key, message: message)
    }
}

/// The backend of a build without OpenSSL when the caller passed none: refuses everything, loudly.
struct FailClosedProvider: CryptoProvider {
    static let reason =
        "no crypto backend: this build has no OpenSSL (trait OpenSSL off); pass backend: CryptoBackend.swiftCrypto"
        + " (import KeyboundSwiftCrypto, trait SwiftCrypto)"

    func makeECKey(curve: ECCurve, x: ByteView, y: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        throw .make(.internal, Self.reason)
    }

    func makeRSAKey(n: ByteView, e: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        throw .make(.internal, Self.reason)
    }

    func makeEd25519Key(x: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        throw .make(.internal, Self.reason)
    }

    func decodeSubjectPublicKeyInfo(_ der: [UInt8]) throws(KeyboundError) -> SPKIKey? {
        throw .make(.internal, Self.reason)
    }

    func sha256(_ data: ByteView) throws(KeyboundError) -> SHA256Digest {
        throw .make(.internal, Self.reason)
    }

    func hmacSHA256(key: ByteView, message: ByteView) throws(KeyboundError) -> SHA256Digest {
        throw .make(.internal, Self.reason)
    }
}
