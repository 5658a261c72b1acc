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
