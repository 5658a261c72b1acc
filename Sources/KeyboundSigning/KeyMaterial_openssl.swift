//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

internal import COpenSSL
import Keybound

/// One OpenSSL `EVP_PKEY` private key with its JWK members (base64url values), read once when the key is made.
///
/// Keys are generated with `EVP_PKEY_generate` and imported with `OSSL_PARAM_BLD` + `EVP_PKEY_fromdata`; imported
/// EC and RSA keys pass `EVP_PKEY_pairwise_check`, imported Ed25519 keys must derive the given public key.
final class KeyMaterial: @unchecked Sendable {
    let pkey: OpaquePointer
    let keyType: KeyType
    /// The public members in JWK order (`kty`, `crv`/`n`, …).
    let publicMembers: [(String, String)]
    /// The private members (`d`, and for RSA `p`, `q`, `dp`, `dq`, `qi`).
    let privateMembers: [(String, String)]

    private init(taking pkey: OpaquePointer, keyType: KeyType) throws(KeyboundError) {
        self.pkey = pkey
        self.keyType = keyType
        switch keyType {
        case .ec(let curve):
            let x = try Self.bnParam(pkey, "qx", padTo: curve.coordinateByteCount)
            let y = try Self.bnParam(pkey, "qy", padTo: curve.coordinateByteCount)
            let d = try Self.bnParam(pkey, "priv", padTo: curve.coordinateByteCount)
            publicMembers = [("kty", "EC"), ("crv", curve.jwkName), ("x", enc(x)), ("y", enc(y))]
            privateMembers = [("d", enc(d))]
        case .rsa:
            publicMembers = [
                ("kty", "RSA"), ("n", enc(try Self.bnParam(pkey, "n"))), ("e", enc(try Self.bnParam(pkey, "e"))),
            ]
            privateMembers = [
                ("d", enc(try Self.bnParam(pkey, "d"))),
                ("p", enc(try Self.bnParam(pkey, "rsa-factor1"))),
                ("q", enc(try Self.bnParam(pkey, "rsa-factor2"))),
                ("dp", enc(try Self.bnParam(pkey, "rsa-exponent1"))),
                ("dq", enc(try Self.bnParam(pkey, "rsa-exponent2"))),
                ("qi", enc(try Self.bnParam(pkey, "rsa-coefficient1"))),
            ]
        case .okp:
            publicMembers = [("kty", "OKP"), ("crv", "Ed25519"), ("x", enc(try Self.rawEd25519(pkey, private: false)))]
            privateMembers = [("d", enc(try Self.rawEd25519(pkey, private: true)))]
        }
    }

    deinit { EVP_PKEY_free(pkey) }

    // MARK: - Generating

    static func generateEC(_ curve: ECCurve) throws(KeyboundError) -> KeyMaterial {
        try generate("EC", keyType: .ec(curve)) { ctx in EVP_PKEY_CTX_set_group_name(ctx, cString(curve.openSSLGroupName)) == 1 }
    }

    static func generateRSA(bits: Int) throws(KeyboundError) -> KeyMaterial {
        try generate("RSA", keyType: .rsa) { ctx in EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 }
    }

    static func generateEd25519() throws(KeyboundError) -> KeyMaterial {
        try generate("ED25519", keyType: .okp) { _ in true }
    }

    private static func generate(
        _ name: String,
        keyType: KeyType,
        _ configure: (OpaquePointer) -> Bool
    ) throws(KeyboundError) -> KeyMaterial {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, name, nil) else {
            throw openSSLFailure("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(ctx) == 1, configure(ctx), EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else {
            throw openSSLFailure("generating a \(name) key")
        }
        return try KeyMaterial(taking: pkey, keyType: keyType)
    }

    // MARK: - Importing

    static func importEC(_ curve: ECCurve, x: [UInt8], y: [UInt8], d: [UInt8]) throws(KeyboundError) -> KeyMaterial
    {
        let n = curve.coordinateByteCount
        guard x.count == n, y.count == n, d.count == n else {
            throw KeyboundError(
                .invalidConfiguration, reason: "the private JWK x, y or d has the wrong length for \(curve.jwkName)")
        }
        let point = [0x04] + x + y
        let pkey = try fromData("EC", bignums: [d]) { bld, bignums in
            OSSL_PARAM_BLD_push_utf8_string(bld, cString("group"), cString(curve.openSSLGroupName), 0) == 1
                && point.withUnsafeBytes {
                    OSSL_PARAM_BLD_push_octet_string(bld, cString("pub"), $0.baseAddress, $0.count)
                } == 1
                && OSSL_PARAM_BLD_push_BN(bld, cString("priv"), bignums[0]) == 1
        }
        return try checked(KeyMaterial(taking: pkey, keyType: .ec(curve)))
    }

    static func importRSA(_ values: [[UInt8]]) throws(KeyboundError) -> KeyMaterial {
        let names: [StaticString] = [
            "n", "e", "d", "rsa-factor1", "rsa-factor2", "rsa-exponent1", "rsa-exponent2", "rsa-coefficient1",
        ]
        let pkey = try fromData("RSA", bignums: values) { bld, bignums in
            zip(names, bignums).allSatisfy { name, bn in OSSL_PARAM_BLD_push_BN(bld, cString(name), bn) == 1 }
        }
        let material = try KeyMaterial(taking: pkey, keyType: .rsa)
        guard EVP_PKEY_get_bits(pkey) >= 2048, EVP_PKEY_get_bits(pkey) <= 8192 else {
            throw KeyboundError(.invalidConfiguration, reason: "the RSA private JWK modulus is not 2048...8192 bits")
        }
        return try checked(material)
    }

    static func importEd25519(x: [UInt8], d: [UInt8]) throws(KeyboundError) -> KeyMaterial {
        guard x.count == 32, d.count == 32 else {
            throw KeyboundError(.invalidConfiguration, reason: "the Ed25519 private JWK x or d is not 32 bytes")
        }
        let made = d.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_private_key_ex(nil, "ED25519", nil, $0.baseAddress, 32)
        }
        guard let pkey = made else { throw openSSLFailure("EVP_PKEY_new_raw_private_key_ex") }
        let material = try KeyMaterial(taking: pkey, keyType: .okp)
        guard Base64URL.decode(material.publicMembers[2].1) == x else {
            throw KeyboundError(.invalidConfiguration, reason: "the Ed25519 private JWK x does not match d")
        }
        return material
    }

    /// Runs `EVP_PKEY_fromdata` for a key pair of type `name`; `bignums` are converted to BIGNUMs that live until
    /// the parameters are built (the builder copies them only then).
    private static func fromData(
        _ name: String,
        bignums values: [[UInt8]],
        _ push: (OpaquePointer, [OpaquePointer]) -> Bool
    ) throws(KeyboundError) -> OpaquePointer {
        var bignums: [OpaquePointer] = []
        defer { for bn in bignums { BN_clear_free(bn) } }
        for value in values {
            guard let bn = bignum(value) else { throw openSSLFailure("BN_bin2bn") }
            bignums.append(bn)
        }
        guard let bld = OSSL_PARAM_BLD_new() else { throw openSSLFailure("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(bld) }
        guard push(bld, bignums), let params = OSSL_PARAM_BLD_to_param(bld) else {
            throw openSSLFailure("building the key parameters")
        }
        defer { OSSL_PARAM_free(params) }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, name, nil) else {
            throw openSSLFailure("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer? = nil
        let keypair = COpenSSL_EVP_PKEY_PUBLIC_KEY() | Int32(OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        guard EVP_PKEY_fromdata_init(ctx) == 1, EVP_PKEY_fromdata(ctx, &pkey, keypair, params) == 1, let pkey else {
            ERR_clear_error()
            throw KeyboundError(.invalidConfiguration, reason: "OpenSSL refused the \(name) private key")
        }
        return pkey
    }

    /// Refuses an imported key whose public half does not belong to its private half.
    private static func checked(_ material: KeyMaterial) throws(KeyboundError) -> KeyMaterial {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, material.pkey, nil) else {
            throw openSSLFailure("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_pairwise_check(ctx) == 1 else {
            ERR_clear_error()
            throw KeyboundError(
                .invalidConfiguration, reason: "the private JWK's public and private members do not match")
        }
        return material
    }

    private static func bignum(_ bytes: [UInt8]) -> OpaquePointer? {
        bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
    }

    // MARK: - Reading parameters

    /// A BIGNUM parameter as big-endian bytes: minimal, or left-padded to `padTo` bytes.
    private static func bnParam(_ pkey: OpaquePointer, _ name: String, padTo: Int? = nil) throws(KeyboundError)
        -> [UInt8]
    {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else {
            throw openSSLFailure("reading key parameter \(name)")
        }
        defer { BN_clear_free(bn) }
        let minimal = Int((BN_num_bits(bn) + 7) / 8)
        let count = padTo ?? max(minimal, 1)
        guard minimal <= count else { throw openSSLFailure("key parameter \(name) is too long") }
        var out = [UInt8](repeating: 0, count: count)
        let written = out.withUnsafeMutableBufferPointer { BN_bn2binpad(bn, $0.baseAddress, Int32(count)) }
        guard written == Int32(count) else { throw openSSLFailure("BN_bn2binpad") }
        return out
    }

    /// The 32-byte raw public key or private seed of an Ed25519 key (RFC 8032 §5.1.5).
    private static func rawEd25519(_ pkey: OpaquePointer, private isPrivate: Bool) throws(KeyboundError) -> [UInt8] {
        let get = isPrivate ? EVP_PKEY_get_raw_private_key : EVP_PKEY_get_raw_public_key
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard out.withUnsafeMutableBufferPointer({ get(pkey, $0.baseAddress, &length) }) == 1, length == 32 else {
            throw openSSLFailure(isPrivate ? "EVP_PKEY_get_raw_private_key" : "EVP_PKEY_get_raw_public_key")
        }
        return out
    }

    // MARK: - Signing

    func sign(_ input: [UInt8], algorithm: JWSAlgorithm) throws(KeyboundError) -> [UInt8] {
        let md: OpaquePointer?
        var pss = false
        switch algorithm {
        case .es256, .rs256: md = EVP_sha256()
        case .es384, .rs384: md = EVP_sha384()
        case .es512, .rs512: md = EVP_sha512()
        case .ps256: (md, pss) = (EVP_sha256(), true)
        case .ps384: (md, pss) = (EVP_sha384(), true)
        case .ps512: (md, pss) = (EVP_sha512(), true)
        default: md = nil  // Ed25519 signs the message itself.
        }
        guard let mctx = EVP_MD_CTX_new() else { throw Self.openSSLFailure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(mctx) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit(mctx, &pctx, md, nil, pkey) == 1 else {
            throw Self.openSSLFailure("EVP_DigestSignInit")
        }
        if pss {
            guard let pctx, EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1,
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1
            else { throw Self.openSSLFailure("setting the RSASSA-PSS parameters") }
        }
        // A real pointer even for an empty input.
        let message = input.isEmpty ? [0] : input
        var length = 0
        let sizing = message.withUnsafeBufferPointer { EVP_DigestSign(mctx, nil, &length, $0.baseAddress, input.count) }
        guard sizing == 1, length > 0 else { throw Self.openSSLFailure("EVP_DigestSign (length)") }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer {
                EVP_DigestSign(mctx, out.baseAddress, &length, $0.baseAddress, input.count)
            }
        }
        guard signed == 1 else { throw Self.openSSLFailure("EVP_DigestSign") }
        signature.removeSubrange(length...)
        if case .ec(let curve) = keyType {
            return try Self.rawECDSA(der: signature, byteCount: curve.coordinateByteCount)
        }
        return signature
    }

    /// Converts a DER `ECDSA-Sig-Value` (SEC 1 §C.8) to the fixed-length `r||s` of RFC 7518 §3.4.
    private static func rawECDSA(der: [UInt8], byteCount: Int) throws(KeyboundError) -> [UInt8] {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let sig = parsed else { throw openSSLFailure("d2i_ECDSA_SIG") }
        defer { ECDSA_SIG_free(sig) }
        var out = [UInt8](repeating: 0, count: 2 * byteCount)
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return BN_bn2binpad(ECDSA_SIG_get0_r(sig), base, Int32(byteCount)) == Int32(byteCount)
                && BN_bn2binpad(ECDSA_SIG_get0_s(sig), base + byteCount, Int32(byteCount)) == Int32(byteCount)
        }
        guard ok else { throw openSSLFailure("BN_bn2binpad") }
        return out
    }

    // MARK: - Errors

    private static func openSSLFailure(_ what: String) -> KeyboundError {
        ERR_clear_error()
        return KeyboundError(.internal, reason: "OpenSSL failed: \(what)")
    }
}

private func enc(_ bytes: [UInt8]) -> String { Base64URL.encode(bytes) }

/// A string literal as a C string. `OSSL_PARAM_BLD` keeps the parameter-name pointers it is given until the
/// parameters are built, so names must outlive the builder: literals are NUL-terminated and immortal.
private func cString(_ literal: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(literal.utf8Start).assumingMemoryBound(to: CChar.self)
}
