//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The proof's `jti` (unescaped UTF-8), captured while the proof is checked, so that no entry point parses the proof
/// a second time to report it.
///
/// Up to ``inlineCapacity`` bytes (the default `maxJTIBytes`) live inline, so a verified request allocates nothing
/// for it; a longer one, which only a policy raising `maxJTIBytes` lets through, is kept in an array.
struct ProofJTI: Sendable {
    static let inlineCapacity = 256

    var inline: InlineArray<256, UInt8>
    let count: Int
    let spilled: [UInt8]?

    /// An empty `jti` (the value before any proof was read).
    init() {
        inline = InlineArray(repeating: 0)
        count = 0
        spilled = nil
    }

    /// A copy of `bytes`.
    init(_ bytes: ByteView) {
        inline = InlineArray(repeating: 0)
        count = bytes.count
        if bytes.count <= Self.inlineCapacity {
            for index in 0..<bytes.count { inline[index] = bytes[index] }
            spilled = nil
        } else {
            spilled = bytes.copyToArray()
        }
    }

    /// The `jti` as a `String` (allocates: for results, not for the hot path).
    var string: String {
        withByteView { $0.decodeString() }
    }
}
