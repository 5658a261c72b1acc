//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// Unsafe helpers of the byte-level entry point (Verification/Verifier+Bytes.swift): reading a verified token's claims
// into the C skin's buffers. Nothing here keeps a pointer past the call.

extension VerifiedRequest {
    /// Calls `body` with the raw JSON text of the access token's claim `name` (exact bytes after unescaping the
    /// member name), or with `nil` when absent or when the token is not a JWT (RFC 7519 §4). Allocates nothing.
    @unsafe
    package func withClaimJSON<R>(_ name: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let token else { return body(nil) }
        // Safe because the view lives only for this call, during which the caller keeps the buffer alive.
        let wanted = unsafe ByteView(_unsafeBytes: name)
        return token.withClaim(wanted) { value in
            guard let value else { return body(nil) }
            return unsafe value.withUnsafeBytes { raw in unsafe body(raw) }
        }
    }
}

extension VerifiedRequest {
    /// Calls `body` with the unescaped UTF-8 bytes of the string claim `name`, or with `nil` when absent or when the
    /// token is not a JWT (for the C skin's `kb_result_claim_string`).
    /// - Throws: `KeyboundError(.tokenClaims)` when the claim has another JSON type, as ``string(_:)``.
    @unsafe
    package func withClaimString<R>(_ name: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) -> R)
        throws(KeyboundError) -> R
    {
        guard let token else { return body(nil) }
        // Safe because the view lives only for this call, during which the caller keeps the buffer alive.
        let wanted = unsafe ByteView(_unsafeBytes: name)
        return try token.withClaimValue(wanted) { (value) throws(KeyboundError) -> R in
            guard let value else { return body(nil) }
            guard value.kind == .string else { throw Self.wrongType("a string") }
            return value.withUnescapedString { text in unsafe text.withUnsafeBytes { raw in unsafe body(raw) } }
        }
    }

    /// The integer claim `name` as ``int(_:)`` reads it, found by the raw bytes of its name (for the C skin's
    /// `kb_result_claim_int64`).
    @unsafe
    package func int64Claim(_ name: UnsafeRawBufferPointer) throws(KeyboundError) -> Int64? {
        guard let token else { return nil }
        let wanted = unsafe ByteView(_unsafeBytes: name)
        return try token.withClaimValue(wanted) { (value) throws(KeyboundError) -> Int64? in
            guard let value else { return nil }
            guard let integer = value.integerValue() else { throw Self.wrongType("an integer") }
            return integer
        }
    }
}
