//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension ProofJTI {
    /// Calls `body` with a view of the `jti` bytes.
    ///
    /// - Warning: Do not escape the view from the closure.
    func withByteView<R, E: Error>(_ body: (ByteView) throws(E) -> R) throws(E) -> R {
        if let spilled { return try ByteView.with(spilled, body) }
        return try unsafe Swift.withUnsafeBytes(of: inline) { (raw) throws(E) -> R in
            // Safe because the view lives only inside this closure, over a copy of the inline storage, and covers
            // only its first `count` bytes (count <= inlineCapacity).
            try body(unsafe ByteView(_unsafeBytes: UnsafeRawBufferPointer(rebasing: raw[0..<count])))
        }
    }

    /// Calls `body` with the `jti` bytes as a raw buffer (for the C skin, which copies them into its result).
    ///
    /// - Warning: Do not escape the buffer from the closure.
    @unsafe
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withByteView { view in unsafe view.withUnsafeBytes(body) }
    }
}

extension VerifiedRequest {
    /// Calls `body` with the proof's `jti` bytes, as captured when the proof was checked (for the C skin); `nil`
    /// without calling it for a Bearer request, which has no proof.
    ///
    /// - Warning: Do not escape the buffer from the closure.
    @unsafe
    package func withProofJTIBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard let proofJTIBytes else { return nil }
        return unsafe proofJTIBytes.withUnsafeBytes(body)
    }
}
