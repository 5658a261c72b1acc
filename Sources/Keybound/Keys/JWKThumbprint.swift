//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// RFC 7638 JWK thumbprints: SHA-256 over the required members in lexicographic order, without whitespace,
/// encoded base64url. This is the `jkt` that binds an access token to a client key (RFC 9449 §6.1).
enum JWKThumbprint {
    /// The base64url length of a SHA-256 thumbprint.
    static let encodedCount = 43

    /// The SHA-256 thumbprint of a JWK already accepted by ``JWK/publicKey(_:modulusBits:rejectingAs:backend:)``.
    ///
    /// Only the required members are hashed (EC `crv,kty,x,y`; RSA `e,kty,n`; OKP `crv,kty,x`): `kid`, `alg`,
    /// `use` and member order do not change it (SECURITY.md D4c). Values are taken after unescaping.
    static func digest(
        of jwk: JSONValue,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> SHA256Digest {
        guard jwk.kind == .object else { throw .make(code, "jwk is not a JSON object") }
        return try digest(of: JWKMembers(jwk), byteCount: jwk.bytes.count, rejectingAs: code, backend: backend)
    }

    /// ``digest(of:rejectingAs:backend:)`` over members already read in one pass; `byteCount` is the JWK's size
    /// (a bound on the canonical form's).
    static func digest(
        of jwk: JWKMembers,
        byteCount: Int,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> SHA256Digest {
        guard let type = try JWK.keyType(jwk.kty, rejectingAs: code) else {
            throw .make(code, "jwk kty is not supported")
        }
        // The required members in lexicographic order; `kty` is written as its canonical value.
        let (before, kty, after): ([(StaticString, JSONValue?)], StaticString, [(StaticString, JSONValue?)])
        switch type {
        case .ec: (before, kty, after) = ([("crv", jwk.crv)], "EC", [("x", jwk.x), ("y", jwk.y)])
        case .rsa: (before, kty, after) = ([("e", jwk.e)], "RSA", [("n", jwk.n)])
        case .okp: (before, kty, after) = ([("crv", jwk.crv)], "OKP", [("x", jwk.x)])
        }
        return try withScratch(capacity: byteCount &+ 32) { (out) throws(KeyboundError) -> SHA256Digest in
            out.append(UInt8(ascii: "{"))
            for (name, value) in before {
                try appendMember(name, value, to: &out, rejectingAs: code)
                out.append(UInt8(ascii: ","))
            }
            out.append("\"kty\":\"")
            out.append(kty)
            out.append(UInt8(ascii: "\""))
            for (name, value) in after {
                out.append(UInt8(ascii: ","))
                try appendMember(name, value, to: &out, rejectingAs: code)
            }
            out.append(UInt8(ascii: "}"))
            return try backend.sha256(out.view)
        }
    }

    /// Appends `"name":"value"` with the member's unescaped string value.
    private static func appendMember(
        _ name: StaticString,
        _ member: JSONValue?,
        to out: inout ScratchBuffer,
        rejectingAs code: KeyboundError.Code
    ) throws(KeyboundError) {
        let value = try JWK.member(member, rejectingAs: code)
        out.append(UInt8(ascii: "\""))
        out.append(name)
        out.append("\":\"")
        // Canonical base64url and curve names never need escaping; refuse anything that would.
        try value.withUnescapedString { (text) throws(KeyboundError) in
            for k in 0..<text.count where text[k] == UInt8(ascii: "\"") || text[k] == UInt8(ascii: "\\") || text[k] < 0x20 {
                throw .make(code, "jwk member cannot be part of a thumbprint")
            }
            out.append(text)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The thumbprint as its base64url text (allocates).
    static func string(
        of jwk: JSONValue,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> String {
        try digest(of: jwk, rejectingAs: code, backend: backend).withByteView { Base64URL.encode($0) }
    }

    /// ``string(of:rejectingAs:backend:)`` over members already read in one pass.
    static func string(
        of jwk: JWKMembers,
        byteCount: Int,
        rejectingAs code: KeyboundError.Code,
        backend: CryptoBackend
    ) throws(KeyboundError) -> String {
        try digest(of: jwk, byteCount: byteCount, rejectingAs: code, backend: backend).withByteView {
            Base64URL.encode($0)
        }
    }
}
