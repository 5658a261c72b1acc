//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A JWS in compact serialization (RFC 7515 §3.1, §7.1), as three borrowed segments of the original text.
///
/// The signing input is the original ASCII `header.payload`, never a re-serialisation (RFC 7515 §5.2).
struct CompactJWS {
    /// The encoded protected header.
    let encodedHeader: ByteView
    /// The encoded payload.
    let encodedPayload: ByteView
    /// The encoded signature (empty for an unsecured JWS, which no allow-list accepts).
    let encodedSignature: ByteView
    /// `encodedHeader.encodedPayload`, exactly as received.
    let signingInput: ByteView

    /// Splits `token` into its three segments.
    ///
    /// The size bound is checked before anything else, and the scan stops at a third dot, so a token of a million
    /// dots costs one bounded pass (SECURITY.md C2, C6).
    ///
    /// - Throws: `KeyboundError(code)` when the token is longer than `maxBytes` or does not have exactly three
    ///   segments.
    static func split(_ token: ByteView, maxBytes: Int, failingWith code: KeyboundError.Code) throws(KeyboundError)
        -> CompactJWS
    {
        guard token.count <= maxBytes else { throw .make(code, "JWS is larger than the size limit") }
        guard let firstDot = token.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = token.firstIndex(of: UInt8(ascii: "."), from: firstDot &+ 1)
        else { throw .make(code, "JWS does not have three segments") }
        guard token.firstIndex(of: UInt8(ascii: "."), from: secondDot &+ 1) == nil else {
            throw .make(code, "JWS has more than three segments")
        }
        return CompactJWS(
            encodedHeader: token[0..<firstDot],
            encodedPayload: token[(firstDot &+ 1)..<secondDot],
            encodedSignature: token[(secondDot &+ 1)..<token.count],
            signingInput: token[0..<secondDot]
        )
    }

    /// Decodes the header and payload as JSON objects and the signature as bytes, into scratch memory, and calls
    /// `body` with views of them. Nothing is copied to the heap.
    ///
    /// - Throws: `KeyboundError(code)` for non-canonical base64url in any segment, or a header or payload that is not
    ///   a strict JSON object within `maxDepth`; and whatever `body` throws.
    func withDecoded<R>(
        maxDepth: Int,
        failingWith code: KeyboundError.Code,
        _ body: (_ header: JSONValue, _ payload: JSONValue, _ signature: ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        try withDecoded(
            failingWith: code,
            header: { (bytes) throws(KeyboundError) in try JSON.parseObject(bytes, maxDepth: maxDepth, failingWith: code) },
            payload: { (bytes) throws(KeyboundError) in try JSON.parseObject(bytes, maxDepth: maxDepth, failingWith: code) },
            body)
    }

    /// Decodes the three segments into scratch memory and calls `body` with what `readHeader` and `readPayload` made
    /// of the header's and the payload's bytes (a strict JSON read with the members the caller wants), and the
    /// signature. Nothing is copied to the heap.
    ///
    /// - Throws: `KeyboundError(code)` for non-canonical base64url in any segment; whatever the readers and `body`
    ///   throw.
    func withDecoded<Header, Payload, R>(
        failingWith code: KeyboundError.Code,
        header readHeader: (ByteView) throws(KeyboundError) -> Header,
        payload readPayload: (ByteView) throws(KeyboundError) -> Payload,
        _ body: (_ header: Header, _ payload: Payload, _ signature: ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        try Base64URL.withDecoded(encodedHeader, failingWith: code) { (headerBytes) throws(KeyboundError) -> R in
            let header = try readHeader(headerBytes)
            return try withDecodedPayload(failingWith: code, payload: readPayload) {
                (payload, signature) throws(KeyboundError) -> R in
                try body(header, payload, signature)
            }
        }
    }

    /// The payload and signature part of ``withDecoded(failingWith:header:payload:_:)``, for a JWS whose header
    /// bytes are known to decode (the same bytes did before).
    func withDecodedPayload<Payload, R>(
        failingWith code: KeyboundError.Code,
        payload readPayload: (ByteView) throws(KeyboundError) -> Payload,
        _ body: (_ payload: Payload, _ signature: ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        try Base64URL.withDecoded(encodedPayload, failingWith: code) { (payloadBytes) throws(KeyboundError) -> R in
            let payload = try readPayload(payloadBytes)
            return try Base64URL.withDecoded(encodedSignature, failingWith: code) { (signature) throws(KeyboundError) -> R in
                try body(payload, signature)
            }
        }
    }

    /// Like ``withDecoded(maxDepth:failingWith:_:)`` for a JWS whose payload is any bytes (RFC 7515; JWTs go through
    /// the JSON form): the header is read as a JSON object, the payload only checked to be canonical base64url.
    func withDecodedHeader<R>(
        maxDepth: Int,
        failingWith code: KeyboundError.Code,
        _ body: (_ header: JSONValue, _ signature: ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        try Base64URL.withDecoded(encodedHeader, failingWith: code) { (headerBytes) throws(KeyboundError) -> R in
            let header = try JSON.parseObject(headerBytes, maxDepth: maxDepth, failingWith: code)
            return try Base64URL.withDecoded(encodedPayload, failingWith: code) { (_) throws(KeyboundError) -> R in
                try Base64URL.withDecoded(encodedSignature, failingWith: code) { (signature) throws(KeyboundError) -> R in
                    try body(header, signature)
                }
            }
        }
    }
}
