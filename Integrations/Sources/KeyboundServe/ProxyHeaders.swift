//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import HTTPTypes
import NIOHTTP1

/// The request headers keybound-serve reads from an auth sub-request, gathered in one pass: for each header that
/// describes the original request its first value and how many times it came (a repeated one is refused), and every
/// `Authorization` and `DPoP` value as received. Nothing else is copied.
struct ProxyHeaders: Sendable {
    /// One header's first value and its number of field lines.
    struct Field: Sendable {
        var first: String?
        var count = 0

        mutating func add(_ value: String) {
            if count == 0 { first = value }
            count += 1
        }
    }

    var originalMethod = Field()
    var originalURI = Field()
    var forwardedMethod = Field()
    var forwardedURI = Field()
    /// `Host` (from NIO's request head: the lines after the first, which is the request's authority).
    var host = Field()
    var forwardedHost = Field()
    var forwardedProto = Field()
    var authorizations: [String] = []
    var dpop: [String] = []
    /// The first `Host` of a request head read from NIO (Envoy's check request names the original host with it).
    var authority: String?

    /// The headers of the public entry points (HTTPTypes fields; a `Host` among them counts as one).
    init(_ fields: HTTPFields) {
        for field in fields {
            if let slot = Self.slot(field.name.canonicalName) { add(field.value, to: slot) }
        }
    }

    /// The headers of a request head as NIO's HTTP/1 decoder delivers them, read in place: the same values an
    /// `HTTPFields(head.headers, splitCookie: false)` conversion would give (the first `Host` is the authority, and a
    /// value HTTPTypes would not take as it is gets its legalisation), without building that copy.
    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            guard let slot = Self.slot(name) else { continue }
            if slot == .host && authority == nil {
                authority = value
                continue
            }
            add(Self.legal(value), to: slot)
        }
    }

    enum Slot {
        case originalMethod, originalURI, forwardedMethod, forwardedURI, host, forwardedHost, forwardedProto
        case authorization, dpop
    }

    mutating func add(_ value: String, to slot: Slot) {
        switch slot {
        case .originalMethod: originalMethod.add(value)
        case .originalURI: originalURI.add(value)
        case .forwardedMethod: forwardedMethod.add(value)
        case .forwardedURI: forwardedURI.add(value)
        case .host: host.add(value)
        case .forwardedHost: forwardedHost.add(value)
        case .forwardedProto: forwardedProto.add(value)
        case .authorization: authorizations.append(value)
        case .dpop: dpop.append(value)
        }
    }

    /// The slot of a header name (any case), `nil` for a header keybound-serve does not read. By length first: most
    /// names are refused without a comparison.
    static func slot(_ name: String) -> Slot? {
        switch name.utf8.count {
        case 4: named(name, "host") ? .host : named(name, "dpop") ? .dpop : nil
        case 13: named(name, "authorization") ? .authorization : nil
        case 14: named(name, "x-original-uri") ? .originalURI : nil
        case 15: named(name, "x-forwarded-uri") ? .forwardedURI : nil
        case 16: named(name, "x-forwarded-host") ? .forwardedHost : nil
        case 17:
            named(name, "x-original-method")
                ? .originalMethod : named(name, "x-forwarded-proto") ? .forwardedProto : nil
        case 18: named(name, "x-forwarded-method") ? .forwardedMethod : nil
        default: nil
        }
    }

    /// Whether `name` is `lowercase` in any case. `lowercase` holds lower-case letters and `-` only, so setting the
    /// 0x20 bit of each byte of `name` folds its case without making any other byte match.
    static func named(_ name: String, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            name.utf8.withContiguousStorageIfAvailable { bytes in
                guard bytes.count == expected.count else { return false }
                for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] { return false }
                return true
            } ?? name.utf8.elementsEqual(expected) { $0 | 0x20 == $1 }
        }
    }

    /// A value as HTTPTypes holds it: as received when it is a valid field value (no control character but tab,
    /// no white space at either end, as NIO's decoder delivers them), else legalised as `HTTPField` does. The common
    /// case (no byte under 0x20, no DEL) is two minimum reductions; anything else takes HTTPTypes' own check.
    static func legal(_ value: String) -> String {
        let plain = value.utf8.withContiguousStorageIfAvailable { bytes in
            guard let first = bytes.first, let last = bytes.last else { return true }
            var lowest: UInt8 = 0xFF
            var lowestFromDelete: UInt8 = 0xFF
            for byte in bytes {
                lowest = min(lowest, byte)
                lowestFromDelete = min(lowestFromDelete, byte ^ 0x7F)
            }
            return lowest >= 0x20 && lowestFromDelete != 0 && first != 0x20 && last != 0x20
        } ?? false
        return plain || HTTPField.isValidValue(value) ? value : HTTPField(name: AuthResponder.dpop, value: value).value
    }
}
