//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The entry point over raw bytes, for the C skin (KeyboundCABI): the request arrives as C buffers, and making
// `String`s of it would allocate on every request. Nothing here keeps a pointer past the call.

extension Verifier {
    /// Verifies one request given as borrowed bytes (RFC 9449 §4.3, §7): the same checks, in the same order, as
    /// ``verify(_:mode:now:)``, without making a `String` of any input.
    ///
    /// - Parameters:
    ///   - method, url: the request method and URL bytes.
    ///   - authorization: the `Authorization` value, or `nil` when absent.
    ///   - dpopCount: how many `DPoP` values the request carried; `firstProof` is the first of them (`nil` when none).
    /// - Returns: the verified request, its ``VerifiedRequest/proofJTI`` included.
    /// - Warning: every buffer must stay valid for the duration of the call only.
    @unsafe
    package func verify(
        method: UnsafeRawBufferPointer,
        url: UnsafeRawBufferPointer,
        authorization: UnsafeRawBufferPointer?,
        dpopCount: Int,
        firstProof: UnsafeRawBufferPointer?,
        mode: VerificationMode,
        requirements: Requirements = .none,
        now: Int64?
    ) throws(KeyboundError) -> VerifiedRequest {
        let now = currentTime(now)
        return try verifying({ () throws(KeyboundError) -> Checked in
            // Safe because the views live only for this call, during which the caller keeps the buffers alive.
            try unsafe check(
                method: ByteView(_unsafeBytes: method), url: ByteView(_unsafeBytes: url),
                authorization: authorization.map { unsafe ByteView(_unsafeBytes: $0) }, dpopCount: dpopCount,
                firstProof: firstProof.map { unsafe ByteView(_unsafeBytes: $0) }, mode: mode, requirements: requirements, now: now)
        }, now: now)
    }
}
