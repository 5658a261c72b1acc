//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if OpenSSL
internal import COpenSSL

/// The OpenSSL half of ``SignatureVerifier``: `EVP_DigestVerify` with the parameters pinned.
///
/// The callers in `SignatureVerifier.swift` have already checked the algorithm/key agreement and the signature's
/// length and range. Each call uses a fresh `EVP_MD_CTX`, or a copy of the thread's template context for a key it
/// has verified with before (``VerifyTemplates``). Only a return of 1 from `EVP_DigestVerify` is a valid
/// signature (0 is invalid, < 0 an error: SECURITY.md E3); failures of the context setup are `.internal`.
extension OpenSSLKey {
    /// Runs the primitive of `scheme` (``BackendPublicKey/verify(_:signingInput:signature:)``; the caller checked the
    /// signature's shape and, for ECDSA, that r and s lie in 1 ..< n).
    func verify(_ scheme: SignatureScheme, signingInput: ByteView, signature: ByteView) throws(KeyboundError) -> Bool {
        switch scheme {
        case .ecdsa(let curve, let hash):
            let size = curve.coordinateByteCount
            guard signature.count == 2 &* size else { return false }
            return try Self.verifyECDSA(
                hash: hash,
                key: self,
                r: signature[0..<size],
                s: signature[size..<(2 &* size)],
                signingInput: signingInput
            )
        case .rsaPKCS1v15(let hash):
            return try Self.verifyRSA(
                hash: hash, pss: false, key: self, signingInput: signingInput, signature: signature)
        case .rsaPSS(let hash):
            return try Self.verifyRSA(
                hash: hash, pss: true, key: self, signingInput: signingInput, signature: signature)
        case .ed25519:
            return try Self.verifyEd25519(key: self, signingInput: signingInput, signature: signature)
        }
    }

    /// Verifies raw ECDSA scalars `r` and `s` (each in 1 ..< n) by re-encoding them as the DER `ECDSA-Sig-Value`
    /// OpenSSL expects (SEC 1 §C.8, X.690 §8.3).
    static func verifyECDSA(
        hash: HashFunction,
        key: OpenSSLKey,
        r: ByteView,
        s: ByteView,
        signingInput: ByteView
    ) throws(KeyboundError) -> Bool {
        // SEQUENCE header (≤ 3) + two INTEGERs of ≤ 2 + 1 + 66 bytes each.
        try withScratch(capacity: 3 &+ 2 &* 69) { (der: inout ScratchBuffer) throws(KeyboundError) -> Bool in
            let rLength = derIntegerLength(r)
            let sLength = derIntegerLength(s)
            let contentLength = rLength &+ sLength
            der.append(0x30)
            if contentLength >= 0x80 {
                der.append(0x81)  // at most 2 * 69 = 138 < 256
            }
            der.append(UInt8(truncatingIfNeeded: contentLength))
            appendDERInteger(r, to: &der)
            appendDERInteger(s, to: &der)
            return try digestVerify(
                md: hash.fetched,
                key: key,
                pssHash: nil,
                signingInput: signingInput,
                signature: der.view
            )
        }
    }

    /// Verifies an RSASSA-PKCS1-v1_5 or RSASSA-PSS signature whose length is the modulus length.
    static func verifyRSA(
        hash: HashFunction,
        pss: Bool,
        key: OpenSSLKey,
        signingInput: ByteView,
        signature: ByteView
    ) throws(KeyboundError) -> Bool {
        try digestVerify(
            md: hash.fetched,
            key: key,
            pssHash: pss ? hash : nil,
            signingInput: signingInput,
            signature: signature
        )
    }

    /// Verifies a 64-byte Ed25519 signature (pure EdDSA: no pre-hash, one-shot, RFC 8032 §5.1.7).
    static func verifyEd25519(
        key: OpenSSLKey,
        signingInput: ByteView,
        signature: ByteView
    ) throws(KeyboundError) -> Bool {
        try digestVerify(md: nil, key: key, pssHash: nil, signingInput: signingInput, signature: signature)
    }

    // MARK: - EVP_DigestVerify

    /// One `EVP_DigestVerify` with a fresh context. `md` is `.none` for Ed25519; `pssHash` selects PSS padding
    /// with MGF1 over that hash and a salt of the hash's length (`RSA_PSS_SALTLEN_DIGEST`, SECURITY.md A7).
    private static func digestVerify(
        md: FetchedDigest?,
        key: OpenSSLKey,
        pssHash: HashFunction?,
        signingInput: ByteView,
        signature: ByteView
    ) throws(KeyboundError) -> Bool {
        var digest: OpaquePointer? = nil
        if let md {
            guard let fetched = unsafe md.md else {
                throw KeyboundError.make(.internal, "EVP_MD_fetch failed")
            }
            unsafe digest = fetched
        }
        // A key verified before on this thread: copy the thread's template context (VerifyTemplates_openssl.swift).
        if let digest = unsafe digest,
            let work = unsafe VerifyTemplates.copiedContext(key: key.pkey, md: digest, pss: pssHash != nil)
        {
            return unsafe finishVerify(work, signingInput: signingInput, signature: signature)
        }
        guard let mctx = unsafe EVP_MD_CTX_new() else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_MD_CTX_new failed")
        }
        defer { unsafe EVP_MD_CTX_free(mctx) }
        var pctx: OpaquePointer? = nil
        guard unsafe EVP_DigestVerifyInit(mctx, &pctx, digest, nil, key.pkey) == 1 else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "EVP_DigestVerifyInit failed")
        }
        if pssHash != nil {
            guard let pctx = unsafe pctx,
                unsafe EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                unsafe EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1,
                unsafe EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest) == 1
            else {
                ERR_clear_error()
                throw KeyboundError.make(.internal, "setting the RSASSA-PSS parameters failed")
            }
        }
        // The context is used once: let the final step finalise it in place instead of duplicating it first.
        unsafe EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE)
        return unsafe finishVerify(mctx, signingInput: signingInput, signature: signature)
    }

    /// `EVP_DigestVerify` on an initialised context; true only for a return of 1 (SECURITY.md E3).
    @unsafe
    private static func finishVerify(_ mctx: OpaquePointer, signingInput: ByteView, signature: ByteView) -> Bool {
        let result = unsafe signature.withUnsafeBytes { sig in
            unsafe signingInput.withUnsafeBytes { tbs in
                unsafe COpenSSL_EVP_DigestVerify(mctx, sig.baseAddress, sig.count, tbs.baseAddress, tbs.count)
            }
        }
        guard result == 1 else {
            // 0 is an invalid signature, < 0 a malformed one: both the input's fault.
            ERR_clear_error()
            return false
        }
        return true
    }

    // MARK: - DER

    /// The DER length of an INTEGER holding a positive big-endian value (leading zeros stripped, one zero octet
    /// added when the top bit is set: X.690 §8.3.2).
    private static func derIntegerLength(_ value: ByteView) -> Int {
        let start = firstSignificantIndex(value)
        let body = value.count &- start
        let pad = value[start] & 0x80 != 0 ? 1 : 0
        return 2 &+ pad &+ body
    }

    /// Appends a positive big-endian value as a minimal DER INTEGER.
    private static func appendDERInteger(_ value: ByteView, to der: inout ScratchBuffer) {
        let start = firstSignificantIndex(value)
        let body = value[start..<value.count]
        let pad = body[0] & 0x80 != 0
        der.append(0x02)
        der.append(UInt8(truncatingIfNeeded: body.count &+ (pad ? 1 : 0)))
        if pad { der.append(0x00) }
        der.append(body)
    }

    /// The index of the first non-zero byte (the value is non-zero, checked by the caller), capped at the last byte.
    private static func firstSignificantIndex(_ value: ByteView) -> Int {
        var start = 0
        while start < value.count &- 1 && value[start] == 0 { start &+= 1 }
        return start
    }
}

// MARK: - Fetched digests

/// An `EVP_MD` fetched once for the process (`EVP_MD_fetch`), never freed, never fetched per call.
///
/// - Note: Thread-safe: immutable, and OpenSSL allows a fetched `EVP_MD` to be shared between threads.
@safe
final class FetchedDigest: @unchecked Sendable {
    /// The fetched `EVP_MD *`, or `nil` when the fetch failed (then every verify with it throws `.internal`).
    let md: OpaquePointer?

    init(_ name: StaticString) {
        let md = unsafe EVP_MD_fetch(nil, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), nil)
        if unsafe md == nil { ERR_clear_error() }
        unsafe self.md = md
    }

    static let sha256 = FetchedDigest("SHA256")
    static let sha384 = FetchedDigest("SHA384")
    static let sha512 = FetchedDigest("SHA512")
}

extension HashFunction {
    /// The process-wide fetched `EVP_MD` for this hash.
    fileprivate var fetched: FetchedDigest {
        switch self {
        case .sha256: FetchedDigest.sha256
        case .sha384: FetchedDigest.sha384
        case .sha512: FetchedDigest.sha512
        }
    }
}
#endif
