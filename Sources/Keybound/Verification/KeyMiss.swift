//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A request for the key-miss hook: a token named a `kid` the issuer's key set does not have.
public struct KeyMiss: Sendable, Hashable {
    /// The issuer whose keys should be fetched again.
    public var issuer: String
    /// The `kid` that was not found (`nil` when the token had none and the set has several keys).
    public var kid: String?
}
