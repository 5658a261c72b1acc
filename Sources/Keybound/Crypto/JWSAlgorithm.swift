//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A JWS signature algorithm Keybound can verify (the JOSE `alg` header parameter, RFC 7515 §4.1.1).
///
/// The spellings are the registered names: `ES256`…`PS512` from RFC 7518 §3.1, `EdDSA` from RFC 8037 §3.1, and
/// the fully-specified `Ed25519` from RFC 9864 §2.2. `none` and the HMAC algorithms (`HS256`…) are deliberately
/// absent (RFC 8725 §3.1): they cannot be spelled as a `JWSAlgorithm`.
public struct JWSAlgorithm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    private enum Backing: String, Sendable {
        case es256 = "ES256"
        case es384 = "ES384"
        case es512 = "ES512"
        case rs256 = "RS256"
        case rs384 = "RS384"
        case rs512 = "RS512"
        case ps256 = "PS256"
        case ps384 = "PS384"
        case ps512 = "PS512"
        case edDSA = "EdDSA"
        case ed25519 = "Ed25519"
    }

    private let backing: Backing

    /// The registered name, e.g. `"ES256"`.
    public var rawValue: String { backing.rawValue }

    private init(_ backing: Backing) { self.backing = backing }

    /// The algorithm registered under `rawValue` (case-sensitive, RFC 7515 §4.1.1), or `nil`.
    public init?(rawValue: String) {
        guard let backing = Backing(rawValue: rawValue) else { return nil }
        self.init(backing)
    }

    public var description: String { backing.rawValue }

    /// ECDSA using P-256 and SHA-256 (RFC 7518 §3.4).
    public static let es256 = JWSAlgorithm(.es256)
    /// ECDSA using P-384 and SHA-384 (RFC 7518 §3.4).
    public static let es384 = JWSAlgorithm(.es384)
    /// ECDSA using P-521 and SHA-512 (RFC 7518 §3.4).
    public static let es512 = JWSAlgorithm(.es512)
    /// RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 §3.3).
    public static let rs256 = JWSAlgorithm(.rs256)
    /// RSASSA-PKCS1-v1_5 using SHA-384 (RFC 7518 §3.3).
    public static let rs384 = JWSAlgorithm(.rs384)
    /// RSASSA-PKCS1-v1_5 using SHA-512 (RFC 7518 §3.3).
    public static let rs512 = JWSAlgorithm(.rs512)
    /// RSASSA-PSS using SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 7518 §3.5).
    public static let ps256 = JWSAlgorithm(.ps256)
    /// RSASSA-PSS using SHA-384, MGF1 with SHA-384 and a 48-byte salt (RFC 7518 §3.5).
    public static let ps384 = JWSAlgorithm(.ps384)
    /// RSASSA-PSS using SHA-512, MGF1 with SHA-512 and a 64-byte salt (RFC 7518 §3.5).
    public static let ps512 = JWSAlgorithm(.ps512)
    /// The polymorphic EdDSA name (RFC 8037 §3.1); Keybound verifies it with Ed25519 keys only.
    public static let edDSA = JWSAlgorithm(.edDSA)
    /// EdDSA using the Ed25519 parameter set (RFC 9864 §2.2).
    public static let ed25519 = JWSAlgorithm(.ed25519)

    /// Every algorithm Keybound verifies, in a fixed order.
    public static let allSupported: [JWSAlgorithm] = [
        .es256, .es384, .es512, .rs256, .rs384, .rs512, .ps256, .ps384, .ps512, .edDSA, .ed25519,
    ]

    /// The algorithm whose registered name is exactly `bytes` (case-sensitive, no allocation), or `nil`.
    ///
    /// `none`, `HS256` and every other unregistered or unsupported name give `nil` (RFC 8725 §3.1).
    static func named(_ bytes: ByteView) -> JWSAlgorithm? {
        switch bytes.count {
        case 5:
            switch bytes[0] {
            case UInt8(ascii: "E"):
                if bytes.elementsEqual("ES256") { return .es256 }
                if bytes.elementsEqual("ES384") { return .es384 }
                if bytes.elementsEqual("ES512") { return .es512 }
                if bytes.elementsEqual("EdDSA") { return .edDSA }
            case UInt8(ascii: "R"):
                if bytes.elementsEqual("RS256") { return .rs256 }
                if bytes.elementsEqual("RS384") { return .rs384 }
                if bytes.elementsEqual("RS512") { return .rs512 }
            case UInt8(ascii: "P"):
                if bytes.elementsEqual("PS256") { return .ps256 }
                if bytes.elementsEqual("PS384") { return .ps384 }
                if bytes.elementsEqual("PS512") { return .ps512 }
            default:
                break
            }
            return nil
        case 7:
            return bytes.elementsEqual("Ed25519") ? .ed25519 : nil
        default:
            return nil
        }
    }

    /// How signatures under this algorithm are made: the primitive, curve and hash (RFC 7518 §3.1, RFC 8037 §3.1).
    var scheme: SignatureScheme {
        switch backing {
        case .es256: .ecdsa(.p256, .sha256)
        case .es384: .ecdsa(.p384, .sha384)
        case .es512: .ecdsa(.p521, .sha512)
        case .rs256: .rsaPKCS1v15(.sha256)
        case .rs384: .rsaPKCS1v15(.sha384)
        case .rs512: .rsaPKCS1v15(.sha512)
        case .ps256: .rsaPSS(.sha256)
        case .ps384: .rsaPSS(.sha384)
        case .ps512: .rsaPSS(.sha512)
        case .edDSA, .ed25519: .ed25519
        }
    }
}
