//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The signature primitive behind a ``JWSAlgorithm``, with everything that pins its parameters.
package enum SignatureScheme: Sendable, Hashable {
    /// ECDSA over `curve` with `hash`; the JWS signature is raw `r || s` (RFC 7518 §3.4).
    case ecdsa(ECCurve, HashFunction)
    /// RSASSA-PKCS1-v1_5 with `hash` (RFC 7518 §3.3, RFC 8017 §8.2).
    case rsaPKCS1v15(HashFunction)
    /// RSASSA-PSS with `hash`, MGF1 with the same hash, and a salt as long as the hash (RFC 7518 §3.5).
    case rsaPSS(HashFunction)
    /// Pure Ed25519 (RFC 8037 §3.1, RFC 8032 §5.1).
    case ed25519
}
