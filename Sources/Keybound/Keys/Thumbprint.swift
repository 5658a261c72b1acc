//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// RFC 7638 thumbprints of JWKs, as the `jkt` values RFC 9449 binds tokens to.
public enum Thumbprint {
    /// The base64url SHA-256 thumbprint of a public JWK given as JSON text (only the required members count).
    ///
    /// - Parameter json: the public JWK, as JSON text.
    /// - Parameter backend: the crypto backend that checks the key and hashes (``CryptoBackend/default`` unless given).
    /// - Throws: `KeyboundError(.proofJWK)` when the text is not a public EC, RSA or OKP JWK Keybound accepts;
    ///   `.internal` when the backend fails.
    public static func jkt(ofJWK json: String, backend: CryptoBackend = .default) throws(KeyboundError) -> String {
        try ByteView.with(utf8: json) { (bytes) throws(KeyboundError) -> String in
            let jwk = try JSON.parseObject(bytes, maxDepth: 16, failingWith: .proofJWK)
            _ = try JWK.publicKey(jwk, modulusBits: 2048...8192, rejectingAs: .proofJWK, backend: backend)
            return try JWKThumbprint.string(of: jwk, rejectingAs: .proofJWK, backend: backend)
        }
    }

    /// The `ath` value for an access token: base64url(SHA-256(token)) (RFC 9449 §4.2), hashed with
    /// ``CryptoBackend/default``.
    ///
    /// In a build without the OpenSSL backend, use ``accessTokenHash(_:backend:)``: this one then returns an empty
    /// string, which matches no proof's `ath`.
    public static func accessTokenHash(_ token: String) -> String {
        (try? accessTokenHash(token, backend: .default)) ?? ""
    }

    /// The `ath` value for an access token, hashed on `backend` (RFC 9449 §4.2).
    ///
    /// - Throws: `.internal` only when the backend fails (the fail-closed default of a build without OpenSSL).
    public static func accessTokenHash(_ token: String, backend: CryptoBackend) throws(KeyboundError) -> String {
        try ByteView.with(utf8: token) { (bytes) throws(KeyboundError) -> String in
            try backend.sha256(bytes).withByteView { Base64URL.encode($0) }
        }
    }
}
