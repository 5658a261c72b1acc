//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

internal import COpenSSL

extension SHA256Digest {
    /// Calls `body` with a view of the 32 digest bytes.
    ///
    /// - Warning: Do not escape the view from the closure.
    func withByteView<R, E: Error>(_ body: (ByteView) throws(E) -> R) throws(E) -> R {
        try unsafe withUnsafeBytes(of: _storage) { (raw) throws(E) -> R in
            // Safe because the view lives only inside this closure, over a copy of the inline storage.
            try body(unsafe ByteView(_unsafeBytes: raw))
        }
    }
}

extension Digest {
    /// SHA-256 of `data` (FIPS 180-4 §6.2), with OpenSSL's one-shot `SHA256()` (no fetch, no allocation).
    static func sha256(_ data: ByteView) -> SHA256Digest {
        probeWork(.digestedBytes, data.count)
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
    /// Used for stateless nonces (DESIGN "Nonces"). The key and message live in the caller's memory and the tag
    /// is written inline: nothing of ours is allocated (OpenSSL allocates its own context).
    ///
    /// - Throws: `.internal` when OpenSSL fails (never because of the input); its error queue is cleared.
    static func hmacSHA256(key: ByteView, message: ByteView) throws(KeyboundError) -> SHA256Digest {
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

/// Constant-time equality for secrets and secret-derived values: HMAC tags, `ath`, `jkt` (RFC 9449 §4.3,
/// DESIGN "Nonces"). The lengths are compared first (they are public); the bytes with `CRYPTO_memcmp`.
func constantTimeEquals(_ a: ByteView, _ b: ByteView) -> Bool {
    probeConstantTimeComparison(a, b)
    guard a.count == b.count else { return false }
    guard a.count > 0 else { return true }
    return unsafe a.withUnsafeBytes { x in
        unsafe b.withUnsafeBytes { y in
            unsafe COpenSSL_CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0
        }
    }
}
