//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A NIST prime curve usable with JWS ECDSA (RFC 7518 §3.4, §6.2.1.1).
package enum ECCurve: Sendable, Hashable {
    case p256
    case p384
    case p521

    /// The curve whose JWK `crv` name is exactly `bytes` (`P-256`, `P-384`, `P-521`; case-sensitive), or `nil`.
    ///
    /// Other curves (`secp256k1`, `P-256K`, `P-224`, `p-256`) are unsupported (RFC 7518 §6.2.1.1).
    static func named(_ bytes: ByteView) -> ECCurve? {
        if bytes.elementsEqual("P-256") { return .p256 }
        if bytes.elementsEqual("P-384") { return .p384 }
        if bytes.elementsEqual("P-521") { return .p521 }
        return nil
    }

    /// The length of one field element: a JWK coordinate (RFC 7518 §6.2.1.2) and each half of a JWS ECDSA
    /// signature (RFC 7518 §3.4).
    package var coordinateByteCount: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }

    /// The JWK `crv` name (RFC 7518 §6.2.1.1).
    package var jwkName: String {
        switch self {
        case .p256: "P-256"
        case .p384: "P-384"
        case .p521: "P-521"
        }
    }

    /// The group's name in OpenSSL (ANSI X9.62 / SEC 2 names), as an immortal NUL-terminated literal.
    package var openSSLGroupName: StaticString {
        switch self {
        case .p256: "prime256v1"
        case .p384: "secp384r1"
        case .p521: "secp521r1"
        }
    }

    /// The JWS algorithm that pins this curve (RFC 7518 §3.4: ES256 ⇔ P-256, ES384 ⇔ P-384, ES512 ⇔ P-521).
    package var algorithm: JWSAlgorithm {
        switch self {
        case .p256: .es256
        case .p384: .es384
        case .p521: .es512
        }
    }

    /// The field prime p, big-endian, ``coordinateByteCount`` bytes (FIPS 186-5 / SEC 2).
    var fieldPrime: [UInt8] {
        switch self {
        case .p256: Self.p256Prime
        case .p384: Self.p384Prime
        case .p521: Self.p521Prime
        }
    }

    /// The group order n, big-endian, ``coordinateByteCount`` bytes (FIPS 186-5 / SEC 2).
    var order: [UInt8] {
        switch self {
        case .p256: Self.p256Order
        case .p384: Self.p384Order
        case .p521: Self.p521Order
        }
    }

    // MARK: - Constants

    // p = 2^256 - 2^224 + 2^192 + 2^96 - 1
    private static let p256Prime: [UInt8] = bytes(
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
    )
    private static let p256Order: [UInt8] = bytes(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
    )
    // p = 2^384 - 2^128 - 2^96 + 2^32 - 1
    private static let p384Prime: [UInt8] = bytes(
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff"
    )
    private static let p384Order: [UInt8] = bytes(
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"
    )
    // p = 2^521 - 1
    private static let p521Prime: [UInt8] = bytes(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            + "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    )
    private static let p521Order: [UInt8] = bytes(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            + "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
    )

    /// Decodes a constant hex string (only ever a literal above; runs once per constant).
    private static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let nibble: UInt8 = c <= UInt8(ascii: "9") ? c &- UInt8(ascii: "0") : c &- UInt8(ascii: "a") &+ 10
            if let h = high {
                result.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return result
    }
}
