//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Keybound

extension VerifiedRequest {
    /// Decodes the verified access token's claims into a caller's `Decodable` type, with `JSONDecoder` over the
    /// token's decoded payload (the same bytes the typed accessors read; docs/design.md "Contracts → Typed claims").
    ///
    /// ```swift
    /// struct Claims: Decodable { let sub: String; let tenant: String; let roles: [String] }
    /// let claims = try verified.decodeClaims(as: Claims.self)
    /// ```
    ///
    /// The payload was verified (signature, issuer, audience, time) before any of this runs; decoding adds no
    /// check of its own beyond the type's.
    ///
    /// - Parameters:
    ///   - type: the type to decode.
    ///   - decoder: the decoder to use (its key and date strategies apply); a plain `JSONDecoder` by default.
    /// - Throws: `DecodingError` when the claims do not fit `type`, and `DecodingError.valueNotFound` when the
    ///   request carried no JWT access token (token-endpoint and opaque-token modes).
    public func decodeClaims<T: Decodable>(as type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        guard let payload = payloadBytes else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: [], debugDescription: "the request carried no JWT access token"))
        }
        return try decoder.decode(type, from: Data(payload))
    }
}
