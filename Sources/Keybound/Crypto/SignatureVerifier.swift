//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The one signature entry point: `verify(alg, key, signingInput, signature)` (docs/design.md "Signatures").
///
/// Every rule Keybound enforces on a signature (the algorithm/key agreement, lengths, ECDSA scalar ranges) is
/// checked here, before the backend sees the bytes; the key's backend (``BackendPublicKey``, e.g.
/// `SignatureVerifier_openssl.swift`) only runs the primitive with its parameters pinned.
package enum SignatureVerifier {
    /// True iff `signature` is a valid JWS signature by `key` over `signingInput` with `alg` (RFC 7515 §5.2 step 8).
    ///
    /// False, without calling the backend, when `key` cannot verify `alg` (RFC 7518 §3.1, ``PublicKey/supports(_:)``);
    /// for ECDSA, when the signature is not raw `r || s` of exactly 64/96/132 bytes or r or s is 0 or ≥ n
    /// (RFC 7518 §3.4; DER is refused by construction); for RSA, when its length is not the modulus length
    /// (RFC 8017 §8.2.2 step 1, §8.1.2 step 1); for Ed25519, when it is not 64 bytes (RFC 8032 §5.1.7).
    /// False when the backend finds the signature invalid; RSASSA-PSS is verified with MGF1 over the alg's hash
    /// and a salt exactly as long as that hash (RFC 7518 §3.5).
    ///
    /// - Throws: `.internal` only for a backend failure that is not the input's fault (allocation, setup).
    static func verify(
        _ alg: JWSAlgorithm,
        key: PublicKey,
        signingInput: ByteView,
        signature: ByteView
    ) throws(KeyboundError) -> Bool {
        guard key.supports(alg) else { return false }
        probeWork(.signatureVerifications)
        switch alg.scheme {
        case .ecdsa(let curve, _):
            let size = curve.coordinateByteCount
            guard signature.count == 2 &* size else { return false }
            let r = signature[0..<size]
            let s = signature[size..<(2 &* size)]
            guard isScalar(r, belowOrderOf: curve), isScalar(s, belowOrderOf: curve) else { return false }
        case .rsaPKCS1v15, .rsaPSS:
            guard hasModulusLength(signature, key: key) else { return false }
        case .ed25519:
            guard signature.count == 64 else { return false }
        }
        return try key.backendKey.verify(alg.scheme, signingInput: signingInput, signature: signature)
    }

    /// True when a big-endian ECDSA scalar (one half of `r || s`) lies in 1 ..< n (SEC 1 §4.1.4 step 1).
    static func isScalar(_ scalar: ByteView, belowOrderOf curve: ECCurve) -> Bool {
        !scalar.isAllZero && scalar.isBigEndianLess(than: curve.order)
    }

    /// True when an RSA signature has exactly k = ⌈bits(n) / 8⌉ bytes (RFC 8017 §8.2.2 step 1).
    private static func hasModulusLength(_ signature: ByteView, key: PublicKey) -> Bool {
        guard case .rsa(let bits) = key.kind else { return false }
        return signature.count == (bits &+ 7) / 8
    }
}
