//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The type of a verified public key, with the parameter that decides which algorithms it may verify.
package enum KeyKind: Sendable, Hashable {
    /// An EC key on a NIST curve (JWK `kty` `EC`, RFC 7518 §6.2).
    case ec(ECCurve)
    /// An RSA key whose modulus has exactly `modulusBits` bits (JWK `kty` `RSA`, RFC 7518 §6.3).
    case rsa(modulusBits: Int)
    /// An Ed25519 key (JWK `kty` `OKP`, `crv` `Ed25519`, RFC 8037 §2).
    case ed25519
}
