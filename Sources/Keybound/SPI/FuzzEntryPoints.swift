//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Entry points for the libFuzzer targets in `Fuzz/` (SPI: not part of the public API).
///
/// Each takes arbitrary bytes, runs one parser or the whole verifier over them, and returns a small number derived
/// from the result so the work cannot be optimised away. None may trap, hang or leak on any input.
@_spi(Fuzzing)
public enum FuzzEntryPoints {
    /// Strict base64url decoding; the decoded length, or -1.
    public static func base64URL(_ data: [UInt8]) -> Int {
        (try? ByteView.with(data) { (view) throws(KeyboundError) -> Int in
            try Base64URL.decodeToArray(view, failingWith: .proofMalformed).count
        }) ?? -1
    }

    /// The strict JSON reader, then a walk of every value and every string unescaped; a count, or -1.
    public static func json(_ data: [UInt8]) -> Int {
        (try? JSONTree.parseObject(data, maxDepth: 64, failingWith: .tokenMalformed).members.count) ?? -1
    }

    /// Compact JWS split and decode, reading a few header and payload members.
    public static func compactJWS(_ data: [UInt8]) -> Int {
        (try? ByteView.with(data) { (view) throws(KeyboundError) -> Int in
            let jws = try CompactJWS.split(view, maxBytes: 1 << 16, failingWith: .proofMalformed)
            return try jws.withDecoded(maxDepth: 16, failingWith: .proofMalformed) { (header, payload, signature) in
                var n = signature.count
                if header.member("alg")?.stringEquals("ES256") == true { n &+= 1 }
                if let iat = payload.member("iat")?.numericDate() { n &+= Int(iat.rounded(.towardZero) == iat ? 1 : 2) }
                return n
            }
        }) ?? -1
    }

    /// JWKS import (every key type, every validation rule); the number of usable keys, or -1.
    public static func jwks(_ data: [UInt8]) -> Int {
        (try? JWKSet(json: data, rsaModulusBits: 2048...4096).count) ?? -1
    }

    /// Issuer keys as PEM, and the same bytes as DER (a SubjectPublicKeyInfo, a certificate): the armour, the DER
    /// reader, the backend's decoder and the key rules. The number of readings that gave a key (0...3).
    public static func pem(_ data: [UInt8]) -> Int {
        var keys = 0
        if (try? JWKSet(pem: data, kid: "fuzz")) != nil { keys &+= 1 }
        if (try? JWKSet(spkiDER: data, kid: "fuzz")) != nil { keys &+= 1 }
        if (try? JWKSet(certificateDER: data, kid: "fuzz")) != nil { keys &+= 1 }
        return keys
    }

    /// A JWK as a proof key: import and thumbprint; the thumbprint's length, or -1.
    public static func jwk(_ data: [UInt8]) -> Int {
        (try? ByteView.with(data) { (view) throws(KeyboundError) -> Int in
            let jwk = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofJWK)
            _ = try JWK.publicKey(jwk, modulusBits: 2048...4096, rejectingAs: .proofJWK, backend: .default)
            return try JWKThumbprint.string(of: jwk, rejectingAs: .proofJWK, backend: .default).count
        }) ?? -1
    }
}
