//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A validated public key, built from JWK members (RFC 7517, RFC 7518 §6, RFC 8037 §2) on one ``CryptoBackend``.
///
/// Keybound's own rules (``checkECCoordinates(curve:x:y:rejectingAs:)``,
/// ``checkRSAParameters(n:e:modulusBits:rejectingAs:)``, ``checkEd25519(x:rejectingAs:)``) run before the backend sees
/// the members, so a key is accepted or refused alike on every backend, up to the backend's own checks (a point on the
/// curve).
///
/// - Note: `PublicKey` is immutable and thread-safe; the backend key it holds is too.
package final class PublicKey: Sendable {
    /// The key type and the parameter that decides which algorithms it verifies.
    package let kind: KeyKind

    /// The backend's key object; only ``SignatureVerifier`` calls it.
    package let backendKey: any BackendPublicKey

    /// The name of the backend that built the key.
    package let backendName: String

    init(kind: KeyKind, backendKey: any BackendPublicKey, backend: CryptoBackend) {
        self.kind = kind
        self.backendKey = backendKey
        self.backendName = backend.name
    }

    /// Builds an EC public key from a JWK's decoded coordinates (RFC 7518 §6.2.1).
    ///
    /// - Throws: `code` when a coordinate has the wrong length or is not below p, or the point is not on the curve;
    ///   `.internal` when the backend fails for another reason.
    static func ec(
        curve: ECCurve,
        x: ByteView,
        y: ByteView,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> PublicKey {
        try checkECCoordinates(curve: curve, x: x, y: y, rejectingAs: code)
        probeWork(.publicKeyImports)
        let key = try backend.provider.makeECKey(curve: curve, x: x, y: y, rejectingAs: code)
        return PublicKey(kind: .ec(curve), backendKey: key, backend: backend)
    }

    /// Builds an RSA public key from a JWK's decoded `n` and `e` (RFC 7518 §6.3.1).
    ///
    /// - Throws: `code` when a rule of ``checkRSAParameters(n:e:modulusBits:rejectingAs:)`` fails or the backend
    ///   refuses the key; `.internal` when the backend fails for another reason.
    static func rsa(
        n: ByteView,
        e: ByteView,
        modulusBits: ClosedRange<Int>,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> PublicKey {
        let bits = try checkRSAParameters(n: n, e: e, modulusBits: modulusBits, rejectingAs: code)
        probeWork(.publicKeyImports)
        let key = try backend.provider.makeRSAKey(n: n, e: e, rejectingAs: code)
        return PublicKey(kind: .rsa(modulusBits: bits), backendKey: key, backend: backend)
    }

    /// Builds an Ed25519 public key from a JWK's decoded `x` (RFC 8037 §2).
    ///
    /// - Throws: `code` when a rule of ``checkEd25519(x:rejectingAs:)`` fails; `.internal` when the backend fails.
    static func ed25519(
        x: ByteView,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> PublicKey {
        try checkEd25519(x: x, rejectingAs: code)
        probeWork(.publicKeyImports)
        let key = try backend.provider.makeEd25519Key(x: x, rejectingAs: code)
        return PublicKey(kind: .ed25519, backendKey: key, backend: backend)
    }
}
