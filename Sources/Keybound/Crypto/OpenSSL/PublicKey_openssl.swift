//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if OpenSSL
internal import COpenSSL

extension CryptoBackend {
    /// The OpenSSL 3 backend: the system's libcrypto (`name` `"openssl"`). Compiled in by the package trait `OpenSSL`
    /// (on by default); the one to use where a FIPS-validated OpenSSL provider is required.
    public static let openSSL = CryptoBackend(name: "openssl", provider: OpenSSLProvider())
}

/// The OpenSSL provider: keys are `EVP_PKEY`s, signatures `EVP_DigestVerify`, digests the one-shot `SHA256()`/`HMAC()`.
struct OpenSSLProvider: CryptoProvider {
    func makeECKey(curve: ECCurve, x: ByteView, y: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        try OpenSSLKey.ec(curve: curve, x: x, y: y, rejectingAs: code)
    }

    func makeRSAKey(n: ByteView, e: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        try OpenSSLKey.rsa(n: n, e: e, rejectingAs: code)
    }

    func makeEd25519Key(x: ByteView, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> any BackendPublicKey
    {
        try OpenSSLKey.ed25519(x: x, rejectingAs: code)
    }

    func sha256(_ data: ByteView) throws(KeyboundError) -> SHA256Digest {
        Digest.sha256OpenSSL(data)
    }

    func hmacSHA256(key: ByteView, message: ByteView) throws(KeyboundError) -> SHA256Digest {
        try Digest.hmacSHA256OpenSSL(key: key, message: message)
    }
}

/// A public key of the OpenSSL backend: owns one `EVP_PKEY`, built from JWK members that Keybound's rules accepted.
///
/// EC keys are built from a per-curve parameters-only template (`EVP_PKEY_copy_parameters` +
/// `EVP_PKEY_set1_encoded_public_key`), RSA keys with `OSSL_PARAM_BLD` + `EVP_PKEY_fromdata`, Ed25519 keys with the
/// raw constructor; never with the DER/PEM decoders, which take global locks in OpenSSL 3.0 (docs/design.md,
/// measured facts).
///
/// - Note: Thread-safe: immutable after construction, and OpenSSL allows concurrent verifications with one
///   `EVP_PKEY` (each builds or copies its own context).
@safe
final class OpenSSLKey: BackendPublicKey, @unchecked Sendable {
    /// The owned `EVP_PKEY *`, freed in `deinit`.
    let pkey: OpaquePointer

    private init(takingOwnershipOf pkey: OpaquePointer) {
        unsafe self.pkey = pkey
    }

    deinit {
        unsafe EVP_PKEY_free(pkey)
    }

    // MARK: - EC

    /// Builds an EC public key from checked coordinates (RFC 7518 §6.2.1;
    /// ``PublicKey/ec(curve:x:y:rejectingAs:backend:)``).
    ///
    /// - Throws: `code` when the point is not on the curve; `.internal` when OpenSSL fails for another reason.
    static func ec(
        curve: ECCurve,
        x: ByteView,
        y: ByteView,
        rejectingAs code: KeyboundError.Code
    ) throws(KeyboundError) -> OpenSSLKey {
        // The uncompressed SEC 1 point 04 || x || y; OpenSSL's point decoder (EC_POINT_oct2point, under both routes
        // below) refuses a point that is not on the curve.
        let pkey = try unsafe withScratch(capacity: 1 &+ 2 &* curve.coordinateByteCount) {
            (point: inout ScratchBuffer) throws(KeyboundError) -> OpaquePointer in
            point.append(0x04)
            point.append(x)
            point.append(y)
            return try unsafe point.view.withUnsafeBytes { (bytes) throws(KeyboundError) -> OpaquePointer in
                if let group = unsafe ECGroupTemplate.forCurve(curve).pkey {
                    return try unsafe fromGroupTemplate(group, point: bytes, rejectingAs: code)
                }
                // No template (OpenSSL could not build one at first use): the general route.
                let groupName = curve.openSSLGroupName
                return try unsafe fromData(keyType: "EC", rejectingAs: code, "EC point is not on the curve") { bld in
                    unsafe OSSL_PARAM_BLD_push_utf8_string(bld, ParamName.group.cString, groupName.cString, 0) == 1
                        && OSSL_PARAM_BLD_push_octet_string(
                            bld,
                            ParamName.publicKey.cString,
                            bytes.baseAddress,
                            bytes.count
                        ) == 1
                }
            }
        }
        return unsafe OpenSSLKey(takingOwnershipOf: pkey)
    }

    /// Builds an EC public key by copying the curve's parameters from `group` (a parameters-only key) into a new
    /// `EVP_PKEY` and setting the encoded point (docs/design.md "Performance model": about a quarter of the cost
    /// of `EVP_PKEY_fromdata`, which builds the curve's group from its name on every call).
    ///
    /// - Throws: `code` when OpenSSL refuses the point (not on the curve); `.internal` for any other failure.
    @unsafe
    private static func fromGroupTemplate(
        _ group: OpaquePointer,
        point: UnsafeRawBufferPointer,
        rejectingAs code: KeyboundError.Code
    ) throws(KeyboundError) -> OpaquePointer {
        guard let pkey = unsafe EVP_PKEY_new() else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_PKEY_new failed")
        }
        guard unsafe EVP_PKEY_copy_parameters(pkey, group) == 1 else {
            unsafe EVP_PKEY_free(pkey)
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_PKEY_copy_parameters failed")
        }
        guard unsafe COpenSSL_EVP_PKEY_set1_encoded_public_key(pkey, point.baseAddress, point.count) == 1 else {
            unsafe EVP_PKEY_free(pkey)
            ERR_clear_error()
            throw KeyboundError.make(code, "EC point is not on the curve")
        }
        return unsafe pkey
    }

    // MARK: - RSA

    /// Builds an RSA public key from checked `n` and `e` (RFC 7518 §6.3.1;
    /// ``PublicKey/rsa(n:e:modulusBits:rejectingAs:backend:)``).
    ///
    /// - Throws: `code` when OpenSSL refuses the key; `.internal` when OpenSSL fails for another reason.
    static func rsa(
        n: ByteView,
        e: ByteView,
        rejectingAs code: KeyboundError.Code
    ) throws(KeyboundError) -> OpenSSLKey {
        let modulus = unsafe n.withUnsafeBytes { unsafe COpenSSL_BN_bin2bn($0.baseAddress, $0.count) }
        let exponent = unsafe e.withUnsafeBytes { unsafe COpenSSL_BN_bin2bn($0.baseAddress, $0.count) }
        defer {
            unsafe BN_free(modulus)
            unsafe BN_free(exponent)
        }
        guard let modulus = unsafe modulus, let exponent = unsafe exponent else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "BN_bin2bn failed")
        }
        let pkey = try unsafe fromData(keyType: "RSA", rejectingAs: code, "OpenSSL refused the RSA key") { bld in
            unsafe OSSL_PARAM_BLD_push_BN(bld, ParamName.rsaN.cString, modulus) == 1
                && OSSL_PARAM_BLD_push_BN(bld, ParamName.rsaE.cString, exponent) == 1
        }
        return unsafe OpenSSLKey(takingOwnershipOf: pkey)
    }

    // MARK: - Ed25519

    /// Builds an Ed25519 public key from checked `x` (RFC 8037 §2; ``PublicKey/ed25519(x:rejectingAs:backend:)``).
    ///
    /// - Throws: `.internal` when OpenSSL fails.
    static func ed25519(x: ByteView, rejectingAs code: KeyboundError.Code) throws(KeyboundError) -> OpenSSLKey {
        let pkey = unsafe x.withUnsafeBytes { bytes in
            unsafe COpenSSL_EVP_PKEY_new_raw_public_key_ex("ED25519", bytes.baseAddress, bytes.count)
        }
        guard let pkey = unsafe pkey else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_PKEY_new_raw_public_key_ex failed")
        }
        return unsafe OpenSSLKey(takingOwnershipOf: pkey)
    }

    // MARK: - Backend

    /// Runs `EVP_PKEY_fromdata` for a key of `keyType` (a public key, or the parts `selection` names) with the
    /// parameters `push` adds.
    ///
    /// Allocation and setup failures throw `.internal`; a refusal by `EVP_PKEY_fromdata` itself (the key's
    /// fault) throws `code` with `reason`. The error queue is cleared on every failure path.
    @unsafe
    fileprivate static func fromData(
        keyType: StaticString,
        selection: Int32 = COpenSSL_EVP_PKEY_PUBLIC_KEY(),
        rejectingAs code: KeyboundError.Code,
        _ reason: String,
        _ push: (OpaquePointer) -> Bool
    ) throws(KeyboundError) -> OpaquePointer {
        guard let bld = unsafe OSSL_PARAM_BLD_new() else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "OSSL_PARAM_BLD_new failed")
        }
        defer { unsafe OSSL_PARAM_BLD_free(bld) }
        guard unsafe push(bld), let params = unsafe OSSL_PARAM_BLD_to_param(bld) else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "building OSSL_PARAMs failed")
        }
        defer { unsafe OSSL_PARAM_free(params) }
        guard let ctx = unsafe EVP_PKEY_CTX_new_from_name(nil, keyType.cString, nil) else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_PKEY_CTX_new_from_name failed")
        }
        defer { unsafe EVP_PKEY_CTX_free(ctx) }
        guard unsafe EVP_PKEY_fromdata_init(ctx) == 1 else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_PKEY_fromdata_init failed")
        }
        var pkey: OpaquePointer? = nil
        guard unsafe EVP_PKEY_fromdata(ctx, &pkey, selection, params) == 1, let pkey = unsafe pkey
        else {
            ERR_clear_error()
            throw KeyboundError.make(code, reason)
        }
        return unsafe pkey
    }
}

/// A curve's parameters as a parameters-only `EVP_PKEY` (`EVP_PKEY_fromdata` with `EVP_PKEY_KEY_PARAMETERS`), built
/// once per process at the curve's first key and never freed; ``OpenSSLKey/ec(curve:x:y:rejectingAs:)`` copies its
/// parameters into each new key.
///
/// - Note: Thread-safe: immutable after construction; `EVP_PKEY_copy_parameters` only reads its source.
@safe
final class ECGroupTemplate: @unchecked Sendable {
    /// The parameters-only key, or nil when OpenSSL could not build it (keys are then built with `EVP_PKEY_fromdata`).
    let pkey: OpaquePointer?

    private init(_ curve: ECCurve) {
        let groupName = curve.openSSLGroupName
        unsafe pkey = try? unsafe OpenSSLKey.fromData(
            keyType: "EC",
            selection: COpenSSL_EVP_PKEY_KEY_PARAMETERS(),
            rejectingAs: .internal,
            "OpenSSL refused the curve's parameters"
        ) { bld in
            unsafe OSSL_PARAM_BLD_push_utf8_string(bld, ParamName.group.cString, groupName.cString, 0) == 1
        }
    }

    private static let p256 = ECGroupTemplate(.p256)
    private static let p384 = ECGroupTemplate(.p384)
    private static let p521 = ECGroupTemplate(.p521)

    /// The process-wide template of `curve`.
    static func forCurve(_ curve: ECCurve) -> ECGroupTemplate {
        switch curve {
        case .p256: p256
        case .p384: p384
        case .p521: p521
        }
    }
}

/// OpenSSL parameter names as immortal C strings: `OSSL_PARAM_BLD` keeps the name pointer until
/// `OSSL_PARAM_BLD_to_param`, so a temporary bridged from a Swift `String` would dangle.
private enum ParamName {
    static let group: StaticString = "group"  // OSSL_PKEY_PARAM_GROUP_NAME
    static let publicKey: StaticString = "pub"  // OSSL_PKEY_PARAM_PUB_KEY
    static let rsaN: StaticString = "n"  // OSSL_PKEY_PARAM_RSA_N
    static let rsaE: StaticString = "e"  // OSSL_PKEY_PARAM_RSA_E
}

extension StaticString {
    /// The literal as a C string (string literals are NUL-terminated and immortal).
    @unsafe
    fileprivate var cString: UnsafePointer<CChar> {
        unsafe UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
#endif
