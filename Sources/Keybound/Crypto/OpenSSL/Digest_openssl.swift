//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if OpenSSL
internal import COpenSSL

extension Digest {
    /// SHA-256 of `data` (FIPS 180-4 §6.2), with OpenSSL's one-shot `SHA256()` (no fetch, no allocation).
    static func sha256OpenSSL(_ data: ByteView) -> SHA256Digest {
        var digest = SHA256Digest()
        unsafe withUnsafeMutableBytes(of: &digest._storage) { out in
            unsafe data.withUnsafeBytes { input in
                // SHA256() cannot fail for in-memory input; it writes exactly 32 bytes into `out`.
                _ = unsafe COpenSSL_SHA256(input.baseAddress, input.count, out.baseAddress)
            }
        }
        return digest
    }

    /// HMAC-SHA-256 of `message` under `key` (RFC 2104), with OpenSSL's one-shot `HMAC()`.
    ///
    /// Used for stateless nonces (docs/design.md "Nonces"). The key and message live in the caller's memory and the tag
    /// is written inline: nothing of ours is allocated (OpenSSL allocates its own context).
    ///
    /// - Throws: `.internal` when OpenSSL fails (never because of the input); its error queue is cleared.
    static func hmacSHA256OpenSSL(key: ByteView, message: ByteView) throws(KeyboundError) -> SHA256Digest {
        var digest = SHA256Digest()
        let ok = unsafe withUnsafeMutableBytes(of: &digest._storage) { out in
            unsafe key.withUnsafeBytes { k in
                unsafe message.withUnsafeBytes { m in
                    unsafe COpenSSL_HMAC_SHA256(k.baseAddress, k.count, m.baseAddress, m.count, out.baseAddress)
                }
            }
        }
        guard ok == 1 else {
            ERR_clear_error()
            throw KeyboundError.make(.internal, "HMAC-SHA-256 failed")
        }
        return digest
    }
}
#endif
