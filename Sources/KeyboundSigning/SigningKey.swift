//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound

/// A private signing key for one JWS algorithm: for test keys, access tokens and DPoP proofs (RFC 9449 §4).
///
/// Keybound is a verifier; this module exists for its tests, its benchmarks and the `keybound` command-line tool.
/// Keys are EC P-256/P-384/P-521 for `ES256`/`ES384`/`ES512` (RFC 7518 §3.4), RSA for `RS*`/`PS*` (RFC 7518 §3.3,
/// §3.5) and Ed25519 for `EdDSA`/`Ed25519` (RFC 8037 §3.1, RFC 9864 §2.2).
///
/// - Note: `SigningKey` is immutable and thread-safe: each signature uses its own OpenSSL context.
/// - Warning: private key material is held in ordinary memory and is not wiped; do not use this type for
///   production issuer keys.
public final class SigningKey: @unchecked Sendable {
    /// The algorithm every signature of this key uses.
    public let algorithm: JWSAlgorithm
    /// The JWK `kid`, when the key has one; written in both JWKs.
    public let kid: String?
    /// The RFC 7638 thumbprint of the public key (the `jkt` tokens are bound to, RFC 9449 §6.1).
    public let thumbprint: String

    /// The OpenSSL key and its JWK members.
    let material: KeyMaterial

    init(material: KeyMaterial, algorithm: JWSAlgorithm, kid: String?) throws(KeyboundError) {
        self.material = material
        self.algorithm = algorithm
        self.kid = kid
        guard Self.keyType(for: algorithm) == material.keyType else {
            throw KeyboundError(.invalidConfiguration, reason: "the key type does not fit alg \(algorithm)")
        }
        let publicText = Self.jwk(material.publicMembers, alg: nil, kid: nil)
        self.thumbprint = try Thumbprint.jkt(ofJWK: publicText)
    }

    // MARK: - Making keys

    /// Generates a new key for `alg`: an EC key on the algorithm's curve, an RSA key of `rsaBits` bits
    /// (2048–8192, multiple of 8), or an Ed25519 key.
    ///
    /// - Throws: `.invalidConfiguration` for an RSA size outside 2048...8192; `.internal` when OpenSSL fails.
    public static func generate(
        _ alg: JWSAlgorithm,
        rsaBits: Int = 2048,
        kid: String? = nil
    ) throws(KeyboundError) -> SigningKey {
        let material: KeyMaterial
        switch keyType(for: alg) {
        case .ec(let curve): material = try KeyMaterial.generateEC(curve)
        case .rsa:
            guard (2048...8192).contains(rsaBits), rsaBits % 8 == 0 else {
                throw KeyboundError(
                    .invalidConfiguration, reason: "RSA keys must have 2048...8192 bits, a multiple of 8")
            }
            material = try KeyMaterial.generateRSA(bits: rsaBits)
        case .okp: material = try KeyMaterial.generateEd25519()
        }
        return try SigningKey(material: material, algorithm: alg, kid: kid)
    }

    /// Reads a private JWK (RFC 7517 §4; RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
    ///
    /// EC keys need `crv`, `x`, `y`, `d`; RSA keys `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi` (no `oth`); OKP keys
    /// `crv` `Ed25519`, `x`, `d`. The public members must match the private ones. The algorithm is the JWK's `alg`
    /// member or `algorithm`; when both are given they must agree; when neither is, EC keys take the curve's
    /// `ES*` and Ed25519 keys `EdDSA`, and RSA keys are refused (the padding cannot be guessed).
    ///
    /// - Throws: `.invalidConfiguration` naming the problem; `.internal` when OpenSSL fails.
    public convenience init(privateJWK: String, algorithm: JWSAlgorithm? = nil) throws(KeyboundError) {
        let code = KeyboundError.Code.invalidConfiguration
        let object = try JSONText.parseObject(privateJWK, failingWith: code)
        func required(_ name: String) throws(KeyboundError) -> String {
            guard let value = try object.string(name, failingWith: code) else {
                throw KeyboundError(code, reason: "the private JWK has no \(name)")
            }
            return value
        }
        func bytes(_ name: String) throws(KeyboundError) -> [UInt8] {
            guard let decoded = Base64URL.decode(try required(name)), !decoded.isEmpty else {
                throw KeyboundError(code, reason: "the private JWK member \(name) is not base64url")
            }
            return decoded
        }
        var declared: JWSAlgorithm? = nil
        if let name = try object.string("alg", failingWith: code) {
            guard let alg = JWSAlgorithm(rawValue: name) else {
                throw KeyboundError(code, reason: "the private JWK alg is not a supported JWS algorithm")
            }
            declared = alg
        }
        if let declared, let algorithm, declared != algorithm {
            throw KeyboundError(code, reason: "the private JWK alg \(declared) differs from the requested \(algorithm)")
        }
        let kid = try object.string("kid", failingWith: code)
        var chosen = algorithm ?? declared
        let material: KeyMaterial
        switch try required("kty") {
        case "EC":
            let curve: ECCurve
            switch try required("crv") {
            case "P-256": curve = .p256
            case "P-384": curve = .p384
            case "P-521": curve = .p521
            default: throw KeyboundError(code, reason: "the private JWK crv is not P-256, P-384 or P-521")
            }
            material = try KeyMaterial.importEC(curve, x: try bytes("x"), y: try bytes("y"), d: try bytes("d"))
            chosen = chosen ?? curve.algorithm
        case "RSA":
            guard !object.has("oth") else {
                throw KeyboundError(code, reason: "RSA private JWKs with more than two primes are not supported")
            }
            let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
            var values: [[UInt8]] = []
            for name in names { values.append(try bytes(name)) }
            material = try KeyMaterial.importRSA(values)
        case "OKP":
            guard try required("crv") == "Ed25519" else {
                throw KeyboundError(code, reason: "the private JWK crv is not Ed25519")
            }
            material = try KeyMaterial.importEd25519(x: try bytes("x"), d: try bytes("d"))
            chosen = chosen ?? .edDSA
        default:
            throw KeyboundError(code, reason: "the private JWK kty is not EC, RSA or OKP")
        }
        guard let chosen else {
            throw KeyboundError(code, reason: "an RSA private JWK needs an alg (RS256...PS512)")
        }
        try self.init(material: material, algorithm: chosen, kid: kid)
    }

    // MARK: - JWKs

    /// The private JWK: compact JSON with the key's members, `alg` and, when set, `kid`.
    public var privateJWK: String {
        Self.jwk(material.publicMembers + material.privateMembers, alg: algorithm.rawValue, kid: kid)
    }

    /// The public JWK: compact JSON with the public members only (plus `kid` when set), as a proof's `jwk` header
    /// carries it (RFC 9449 §4.2).
    public var publicJWK: String { publicJWK(includingAlg: false) }

    /// The public JWK, with the optional `alg` member (RFC 7517 §4.4) when `includingAlg`, e.g. for a JWKS.
    public func publicJWK(includingAlg: Bool) -> String {
        Self.jwk(material.publicMembers, alg: includingAlg ? algorithm.rawValue : nil, kid: kid)
    }

    static func jwk(_ members: [(String, String)], alg: String?, kid: String?) -> String {
        var writer = JSONText.ObjectWriter()
        for (name, value) in members { writer.string(name, value) }
        writer.string("alg", alg)
        writer.string("kid", kid)
        return writer.finished()
    }

    // MARK: - Signing

    /// Signs a JWS signing input (RFC 7515 §5.1) and returns the raw JWS signature: ECDSA as fixed-length `r||s`
    /// (RFC 7518 §3.4), RSASSA-PKCS1-v1_5 (§3.3), RSASSA-PSS with MGF1 over the same hash and a salt as long as
    /// the hash (§3.5), or Ed25519 (RFC 8037 §3.1).
    ///
    /// - Throws: `.internal` when OpenSSL fails.
    public func sign(_ signingInput: [UInt8]) throws(KeyboundError) -> [UInt8] {
        try material.sign(signingInput, algorithm: algorithm)
    }

    // MARK: - Algorithms

    static func keyType(for alg: JWSAlgorithm) -> KeyType {
        switch alg {
        case .es256: .ec(.p256)
        case .es384: .ec(.p384)
        case .es512: .ec(.p521)
        case .edDSA, .ed25519: .okp
        default: .rsa
        }
    }
}

/// The key types signing supports.
enum KeyType: Equatable {
    case ec(ECCurve)
    case rsa
    case okp
}
