//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A SHA-256 digest held inline (32 bytes, no heap), e.g. for `ath` (RFC 9449 §4.2), the RFC 7638 thumbprint
/// behind `jkt`, and the replay and access-token cache keys (docs/design.md "Contracts").
///
/// Its bytes are in digest order (FIPS 180-4 §6.2.2 step 4); read them with ``withByteView(_:)``.
package struct SHA256Digest: Hashable, Sendable {
    /// The 32 digest bytes, in memory order (a homogeneous tuple is laid out contiguously).
    var _storage: (UInt64, UInt64, UInt64, UInt64)

    /// The all-zero value, filled in by the backend.
    init() {
        _storage = (0, 0, 0, 0)
    }

    package static func == (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        lhs._storage.0 == rhs._storage.0 && lhs._storage.1 == rhs._storage.1
            && lhs._storage.2 == rhs._storage.2 && lhs._storage.3 == rhs._storage.3
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(_storage.0)
        hasher.combine(_storage.1)
        hasher.combine(_storage.2)
        hasher.combine(_storage.3)
    }

    /// The 32 bytes as a new array (allocates: for tests and cold paths only).
    package var bytes: [UInt8] {
        withByteView { $0.copyToArray() }
    }
}

/// Message digests and MACs over the crypto backend (FIPS 180-4, RFC 2104).
package enum Digest {}
