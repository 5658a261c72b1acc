//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound

// Base64url, hex and compact-JWS helpers for the tests. Base64url uses Foundation's base64, not Keybound's own codec, so that a
// bug in Keybound's encoder or decoder cannot hide in the inputs that test it.

/// Decodes base64url text without padding (RFC 4648 §5); `nil` when Foundation refuses it.
public func base64URLDecode(_ text: String) -> [UInt8]? {
    var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while b64.count % 4 != 0 { b64 += "=" }
    return Data(base64Encoded: b64).map { [UInt8]($0) }
}

/// Encodes bytes as base64url text without padding (RFC 4648 §5).
public func base64URLEncode(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

/// A compact JWS a test meant to alter is not one: not three segments, or the segment is empty or not base64url.
public struct NotACompactJWS: Error, CustomStringConvertible {
    public let jws: String
    public var description: String { "not a compact JWS with that segment: \(jws)" }
}

/// XORs the byte at `index` (modulo the segment's length) of the decoded segment `segment` of a compact JWS with
/// `mask`, and re-encodes the segment: a JWS whose header, payload or signature differs in one byte.
public func flipByte(ofSegment segment: Int, in jws: String, at index: Int, mask: UInt8 = 0xFF) throws -> String {
    var parts = jws.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 3, var bytes = base64URLDecode(parts[segment]), !bytes.isEmpty else {
        throw NotACompactJWS(jws: jws)
    }
    bytes[index % bytes.count] ^= mask
    parts[segment] = base64URLEncode(bytes)
    return parts.joined(separator: ".")
}

extension Array where Element == UInt8 {
    /// The bytes of hex text the test itself wrote, two digits a byte (none when it is not hex: the test fails).
    public init(hex: String) {
        self = [UInt8](hexDigits: hex) ?? []
    }
}
