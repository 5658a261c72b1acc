//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A SHA-2 hash used by a JWS algorithm (RFC 7518 §3.1).
package enum HashFunction: Sendable, Hashable {
    case sha256
    case sha384
    case sha512

    /// The digest length in bytes, which is also the RSASSA-PSS salt length JWS requires (RFC 7518 §3.5).
    package var byteCount: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}
