//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Entry points for the `Benchmarks/` package: the parsing and key stages of the verify path, callable
/// one at a time. Not API: `@_spi(Benchmarks)`, for the benchmark harness only, and may change at any time.
///
/// Each returns a small number derived from its work so the harness can keep the optimiser from removing it.
@_spi(Benchmarks)
public enum BenchmarkStages {
    /// Decodes base64url text (RFC 4648 §5, canonical, unpadded) into scratch memory; returns the decoded length.
    public static func base64URLDecode(_ text: [UInt8]) throws(KeyboundError) -> Int {
        try ByteView.with(text) { (bytes) throws(KeyboundError) -> Int in
            try Base64URL.withDecoded(bytes, failingWith: .proofMalformed) { $0.count }
        }
    }

    /// Base64url text of `bytes` (RFC 4648 §5, unpadded), by Keybound's own encoder: for building the suites' inputs.
    public static func base64URLEncoded(_ bytes: [UInt8]) -> String {
        Base64URL.encode(bytes)
    }

    /// Decodes canonical, unpadded base64url text by Keybound's own decoder; `nil` when it is not.
    public static func base64URLDecoded(_ text: String) -> [UInt8]? {
        Base64URL.decode(text)
    }

    /// Validates a JSON object with Keybound's strict reader (RFC 8259, duplicate names refused); returns its size.
    public static func parseJSONObject(_ document: [UInt8], maxDepth: Int = 16) throws(KeyboundError) -> Int {
        try ByteView.with(document) { (bytes) throws(KeyboundError) -> Int in
            try JSON.parseObject(bytes, maxDepth: maxDepth, failingWith: .proofMalformed).bytes.count
        }
    }

    /// Splits a compact JWS (RFC 7515 §7.1) and decodes its three segments, the header and payload as JSON objects;
    /// returns the signature length.
    public static func decodeCompactJWS(_ jws: [UInt8], maxBytes: Int = 8192) throws(KeyboundError) -> Int {
        try ByteView.with(jws) { (bytes) throws(KeyboundError) -> Int in
            let split = try CompactJWS.split(bytes, maxBytes: maxBytes, failingWith: .proofMalformed)
            return try split.withDecoded(maxDepth: 16, failingWith: .proofMalformed) { _, _, signature in
                signature.count
            }
        }
    }

    /// Builds the public key of a JWK (RFC 7517) the uncached way a new client key takes: parse, check, and
    /// `EVP_PKEY_fromdata`; returns the key's bit count class (0 for EC/OKP, 1 for RSA).
    public static func publicKeyFromJWK(
        _ jwk: [UInt8],
        backend: CryptoBackend = .default
    ) throws(KeyboundError) -> Int {
        try ByteView.with(jwk) { (bytes) throws(KeyboundError) -> Int in
            let value = try JSON.parseObject(bytes, maxDepth: 16, failingWith: .proofJWK)
            let key = try JWK.publicKey(value, modulusBits: 2048...8192, rejectingAs: .proofJWK, backend: backend)
            if case .rsa = key.kind { return 1 }
            return 0
        }
    }

    /// The RFC 7638 thumbprint of a JWK, as the `jkt` string (computed from the parsed JWK as the verifier does).
    public static func thumbprint(_ jwk: [UInt8], backend: CryptoBackend = .default) throws(KeyboundError) -> Int {
        try ByteView.with(jwk) { (bytes) throws(KeyboundError) -> Int in
            let value = try JSON.parseObject(bytes, maxDepth: 16, failingWith: .proofJWK)
            return try JWKThumbprint.string(of: value, rejectingAs: .proofJWK, backend: backend).utf8.count
        }
    }
}
