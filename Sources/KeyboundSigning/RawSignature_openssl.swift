//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

internal import COpenSSL
import Keybound

// libcrypto calls the tests need beside signing tokens and proofs. They live here, not in the test module, so that no
// test module imports COpenSSL itself: a release build with the trait SwiftCrypto also loads swift-crypto's BoringSSL
// headers into the test module, and clang refuses the two libraries' definitions of the same C struct.

extension SigningKey {
    /// A raw RSA signature of `message` over `hash`: PKCS #1 v1.5, or with `pssSalt` PSS with MGF1 over the same hash
    /// and that salt length (any length OpenSSL takes, so tests can make signatures a verifier must refuse).
    /// - Throws: `KeyboundError(.internal)` for a key that is not RSA or a failing OpenSSL call.
    package func rsaSignature(of message: [UInt8], hash: HashFunction, pssSalt: Int?) throws(KeyboundError)
        -> [UInt8]
    {
        guard material.keyType == .rsa else { throw KeyboundError(.internal, reason: "not an RSA key") }
        let md: OpaquePointer? =
            switch hash {
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        guard let ctx = EVP_MD_CTX_new() else { throw KeyboundError(.internal, reason: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestSignInit(ctx, &pctx, md, nil, material.pkey) == 1 else {
            throw KeyboundError(.internal, reason: "EVP_DigestSignInit")
        }
        if let pssSalt {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(pssSalt)) == 1,
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1
            else { throw KeyboundError(.internal, reason: "PSS parameters") }
        }
        var length = 0
        guard EVP_DigestSign(ctx, nil, &length, message, message.count) == 1 else {
            throw KeyboundError(.internal, reason: "EVP_DigestSign length")
        }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(ctx, &out, &length, message, message.count) == 1 else {
            throw KeyboundError(.internal, reason: "EVP_DigestSign")
        }
        return Array(out.prefix(length))
    }
}

/// OpenSSL's per-thread error queue, for tests that check a verification leaves it empty (SECURITY.md E3).
package enum OpenSSLErrorQueue {
    /// Empties the calling thread's queue.
    package static func clear() { ERR_clear_error() }

    /// Whether the calling thread's queue is empty.
    package static var isEmpty: Bool { ERR_peek_error() == 0 }
}
