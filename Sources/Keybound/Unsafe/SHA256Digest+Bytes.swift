//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension SHA256Digest {
    /// Calls `body` with a view of the 32 digest bytes.
    ///
    /// - Warning: Do not escape the view from the closure.
    func withByteView<R, E: Error>(_ body: (ByteView) throws(E) -> R) throws(E) -> R {
        try unsafe withUnsafeBytes(of: _storage) { (raw) throws(E) -> R in
            // Safe because the view lives only inside this closure, over a copy of the inline storage.
            try body(unsafe ByteView(_unsafeBytes: raw))
        }
    }

    /// A digest holding the first 32 bytes of `bytes` (a backend's digest output; fewer bytes leave the rest zero).
    ///
    /// For backend modules: copies, no allocation.
    @unsafe
    package init(_unsafeDigestBytes bytes: UnsafeRawBufferPointer) {
        self.init()
        let count = min(bytes.count, 32)
        unsafe withUnsafeMutableBytes(of: &_storage) { out in
            guard count > 0, let source = bytes.baseAddress, let target = out.baseAddress else { return }
            unsafe target.copyMemory(from: source, byteCount: count)
        }
    }
}
