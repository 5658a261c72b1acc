//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Reading public keys from JSON Web Keys (RFC 7517; RFC 7518 §6.2, §6.3; RFC 8037 §2).
///
/// Only public keys are read. A JWK that carries any private member, or is symmetric (`oct`), is refused: a proof's
/// `jwk` "MUST NOT contain a private key" (RFC 9449 §4.2), and a JWKS that publishes one is misconfigured.
enum JWK {
    /// The key types Keybound reads.
    enum KeyType { case ec, rsa, okp }

    /// Members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
    static let privateMembers: [StaticString] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]

    /// The `kty` of a JWK object: `nil` for a type Keybound does not know (a JWKS skips those).
    ///
    /// - Throws: `code` when `kty` is missing or not a string, or is `oct`.
    static func keyType(of jwk: JSONValue, rejectingAs code: KeyboundError.Code) throws(KeyboundError) -> KeyType? {
        guard jwk.kind == .object else { throw .make(code, "jwk is not a JSON object") }
        return try keyType(jwk.member("kty"), rejectingAs: code)
    }

    /// The key type a `kty` member names (``keyType(of:rejectingAs:)``).
    static func keyType(_ kty: JSONValue?, rejectingAs code: KeyboundError.Code) throws(KeyboundError) -> KeyType? {
        guard let kty, kty.kind == .string else { throw .make(code, "jwk has no kty string") }
        if kty.stringEquals("EC") { return .ec }
        if kty.stringEquals("RSA") { return .rsa }
        if kty.stringEquals("OKP") { return .okp }
        if kty.stringEquals("oct") { throw .make(code, "jwk is a symmetric key") }
        return nil
    }

    /// Builds the public key a JWK describes, after refusing private members and checking every member.
    ///
    /// - Parameters:
    ///   - modulusBits: the accepted RSA modulus sizes.
    ///   - code: the error code for any problem with the JWK (`proof_jwk` for a proof, `invalid_jwks` for a JWKS).
    static func publicKey(
        _ jwk: JSONValue,
        modulusBits: ClosedRange<Int>,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> PublicKey {
        guard jwk.kind == .object else { throw .make(code, "jwk is not a JSON object") }
        return try publicKey(JWKMembers(jwk), modulusBits: modulusBits, rejectingAs: code, backend: backend)
    }

    /// ``publicKey(_:modulusBits:rejectingAs:backend:)`` over members already read in one pass.
    static func publicKey(
        _ jwk: JWKMembers,
        modulusBits: ClosedRange<Int>,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> PublicKey {
        guard let type = try keyType(jwk.kty, rejectingAs: code) else { throw .make(code, "jwk kty is not supported") }
        if jwk.hasPrivateMember { throw .make(code, "jwk contains private key material") }
        switch type {
        case .ec:
            let curve = try ecCurve(jwk.crv, rejectingAs: code)
            let x = try member(jwk.x, rejectingAs: code)
            let y = try member(jwk.y, rejectingAs: code)
            return try withDecodedMember(x, rejectingAs: code) { (xBytes) throws(KeyboundError) -> PublicKey in
                try withDecodedMember(y, rejectingAs: code) { (yBytes) throws(KeyboundError) -> PublicKey in
                    guard xBytes.count == curve.coordinateByteCount, yBytes.count == curve.coordinateByteCount else {
                        throw .make(code, "jwk EC coordinates do not have the curve's length")
                    }
                    return try PublicKey.ec(curve: curve, x: xBytes, y: yBytes, rejectingAs: code, backend: backend)
                }
            }
        case .rsa:
            let n = try member(jwk.n, rejectingAs: code)
            let e = try member(jwk.e, rejectingAs: code)
            return try withDecodedMember(n, rejectingAs: code) { (nBytes) throws(KeyboundError) -> PublicKey in
                try withDecodedMember(e, rejectingAs: code) { (eBytes) throws(KeyboundError) -> PublicKey in
                    try PublicKey.rsa(
                        n: nBytes, e: eBytes, modulusBits: modulusBits, rejectingAs: code, backend: backend)
                }
            }
        case .okp:
            guard let crv = jwk.crv, crv.kind == .string else { throw .make(code, "jwk has no crv string") }
            guard crv.stringEquals("Ed25519") else { throw .make(code, "jwk OKP curve is not Ed25519") }
            let x = try member(jwk.x, rejectingAs: code)
            return try withDecodedMember(x, rejectingAs: code) { (xBytes) throws(KeyboundError) -> PublicKey in
                guard xBytes.count == 32 else { throw .make(code, "jwk Ed25519 key is not 32 bytes") }
                return try PublicKey.ed25519(x: xBytes, rejectingAs: code, backend: backend)
            }
        }
    }

    /// Refuses a JWK with any private member, whatever its value (`""` and `null` included; SECURITY.md D2).
    static func refusePrivateMembers(_ jwk: JSONValue, rejectingAs code: KeyboundError.Code) throws(KeyboundError) {
        var found = false
        jwk.forEachMember { name, _ in
            if isPrivateMember(name) { found = true }
        }
        if found { throw .make(code, "jwk contains private key material") }
    }

    /// Whether a member name is one of ``privateMembers``.
    static func isPrivateMember(_ name: JSONValue) -> Bool {
        for privateName in privateMembers where name.stringEquals(privateName) { return true }
        return false
    }

    static func ecCurve(_ crv: JSONValue?, rejectingAs code: KeyboundError.Code) throws(KeyboundError) -> ECCurve {
        guard let crv, crv.kind == .string else { throw .make(code, "jwk has no crv string") }
        let curve: ECCurve? = crv.withUnescapedString { ECCurve.named($0) }
        guard let curve else { throw .make(code, "jwk EC curve is not supported") }
        return curve
    }

    static func member(_ value: JSONValue?, rejectingAs code: KeyboundError.Code) throws(KeyboundError) -> JSONValue {
        guard let value else { throw .make(code, "jwk lacks a required member") }
        guard value.kind == .string else { throw .make(code, "jwk member is not a string") }
        return value
    }

    /// Decodes a base64url string member (escapes removed first) and calls `body` with its bytes.
    static func withDecodedMember<R>(
        _ value: JSONValue,
        rejectingAs code: KeyboundError.Code,
        _ body: (ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        try value.withUnescapedString { (text) throws(KeyboundError) -> R in
            try Base64URL.withDecoded(text, failingWith: code, body)
        }
    }

    /// The JWK's `alg` member: `nil` when absent; throws when present but not a string.
    static func declaredAlgorithmName(_ jwk: JWKMembers, rejectingAs code: KeyboundError.Code)
        throws(KeyboundError) -> JSONValue?
    {
        guard let alg = jwk.alg else { return nil }
        guard alg.kind == .string else { throw .make(code, "jwk alg is not a string") }
        return alg
    }
}

/// The members of a JWK object that Keybound reads, found in one pass over the object (JWSMembers.swift says why):
/// a new client key's JWK is read for its key, its declared `alg` and its thumbprint, which looked each member up
/// again (ten scans of the object). Names compare byte for byte after unescaping; the validator has refused
/// duplicate names, so the first match is the only one.
struct JWKMembers {
    let kty, crv, x, y, n, e, alg: JSONValue?
    /// Whether the object has any of ``JWK/privateMembers``, whatever its value.
    let hasPrivateMember: Bool

    /// Reads `jwk`, which must be an object.
    init(_ jwk: JSONValue) {
        let names: InlineArray<7, StaticString> = ["kty", "crv", "x", "y", "n", "e", "alg"]
        var found = InlineArray<7, JSONValue?>(repeating: nil)
        var privateMember = false
        jwk.forEachMember { name, value in
            for index in names.indices where name.stringEquals(names[index]) {
                found[index] = value
                return
            }
            if JWK.isPrivateMember(name) { privateMember = true }
        }
        (kty, crv, x, y, n, e, alg) = (found[0], found[1], found[2], found[3], found[4], found[5], found[6])
        hasPrivateMember = privateMember
    }
}
