//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The request URL of the original request, which the proof's `htu` must match (RFC 9449 §4.3 check 9), formed by a
/// proxy's ``ServeConfiguration/URLRule``. Keybound normalises and compares it; here it is only assembled.
public enum RequestURL {
    /// The URL for an original URI (origin-form: path and query, as the proxy received it).
    ///
    /// - `origin`: `origin + uri`. nginx's `$request_uri` already holds any public path prefix, so nothing is added.
    /// - `externalBase`: the URI must be `stripPrefix` or lie under it (at a `/` or `?`); the rest is appended to
    ///   the base URL, whose own path is the public prefix. The prefix is thus never doubled nor lost.
    ///
    /// - Returns: `nil` when the URI is not origin-form, or lies outside the prefix to strip.
    public static func form(
        rule: ServeConfiguration.URLRule,
        uri: String,
        forwardedProto: String?,
        forwardedHost: String?
    ) -> String? {
        // No `#` byte means no `#` character, whatever the comparison (the costly one runs only when there is one).
        guard uri.hasPrefix("/"), !uri.utf8.contains(UInt8(ascii: "#")) || !uri.contains("#") else { return nil }
        switch rule {
        case .origin(let origin):
            return origin + uri
        case .forwardedOrigin:
            guard let proto = forwardedProto.flatMap(firstValue), proto == "https" || proto == "http",
                let host = forwardedHost.flatMap(firstValue), isAuthority(host)
            else { return nil }
            return proto + "://" + host + uri
        case .externalBase(let base, let stripPrefix):
            guard let rest = strip(stripPrefix, from: uri) else { return nil }
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            if rest.isEmpty { return trimmed.isEmpty ? nil : trimmed }
            return trimmed + rest
        }
    }

    /// `uri` without `prefix`, when `uri` is `prefix` itself or continues it with `/` or `?`; `nil` otherwise.
    /// An empty prefix strips nothing.
    public static func strip(_ prefix: String, from uri: String) -> String? {
        guard !prefix.isEmpty else { return uri }
        guard matches(prefix: prefix, uri: uri) else { return nil }
        return String(uri.utf8.dropFirst(prefix.utf8.count)) ?? ""
    }

    /// Whether `uri` lies under `prefix` at a segment boundary: a prefix ending in `/` matches by bytes, any other
    /// prefix only when the URI equals it or continues with `/` or `?` (so `/api` does not match `/apix`).
    public static func matches(prefix: String, uri: some StringProtocol) -> Bool {
        var rest = uri.utf8[...]
        for byte in prefix.utf8 {
            guard let next = rest.first, next == byte else { return false }
            rest = rest.dropFirst()
        }
        guard let next = rest.first, prefix.utf8.last != UInt8(ascii: "/") else { return true }
        return next == UInt8(ascii: "/") || next == UInt8(ascii: "?")
    }

    /// A URI's path: everything before the first `?`.
    static func path(of uri: String) -> Substring {
        uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { uri[..<$0] } ?? uri[...]
    }

    /// Whether the path of an original URI reads the same to every party: no empty segment (`//`), no dot segment
    /// (`.`, `..`, also percent-encoded), no encoded `/` or backslash, no raw backslash, no percent-encoded unreserved character
    /// (RFC 3986 §2.3), and every `%` followed by two hex digits. nginx, the upstream and keybound-serve could
    /// otherwise see different paths (nginx merges slashes and decodes before choosing a location), and a route's
    /// requirements could be sidestepped; such requests are refused.
    public static func isCanonicalPath(_ uri: String) -> Bool {
        let path = path(of: uri).utf8
        guard path.first == UInt8(ascii: "/") else { return false }
        // One pass over the segments after the leading `/`: each one's length once decoded (a `%XX` is one
        // character, and never a dot: an encoded dot is an encoded unreserved character) and whether it is all dots.
        var length = 0
        var allDots = true
        var index = path.index(after: path.startIndex)
        while index < path.endIndex {
            let byte = path[index]
            index = path.index(after: index)
            switch byte {
            case UInt8(ascii: "/"):
                // An empty segment is allowed only as the last one (a trailing slash).
                if length == 0 || (allDots && length <= 2) { return false }
                length = 0
                allDots = true
            case UInt8(ascii: "\\"):
                return false
            case UInt8(ascii: "%"):
                guard index < path.endIndex, let high = hex(path[index]) else { return false }
                index = path.index(after: index)
                guard index < path.endIndex, let low = hex(path[index]) else { return false }
                index = path.index(after: index)
                let value = high << 4 | low
                let unreserved = (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A)
                    || (value >= 0x30 && value <= 0x39) || value == 0x2D || value == 0x2E || value == 0x5F
                    || value == 0x7E
                if unreserved || value == 0x2F || value == 0x5C { return false }
                length += 1
                allDots = false
            default:
                length += 1
                if byte != UInt8(ascii: ".") { allDots = false }
            }
        }
        return length == 0 || !allDots || length > 2
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `scheme://authority` with no path, query, fragment or credentials.
    static func isOrigin(_ text: String) -> Bool {
        guard let (_, rest) = splitScheme(text) else { return false }
        return isAuthority(rest)
    }

    /// An http(s) URL whose path may be a prefix, with no query, fragment or credentials.
    static func isBaseURL(_ text: String) -> Bool {
        guard let (_, rest) = splitScheme(text) else { return false }
        let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return isAuthority(String(authority)) && !rest.contains("?") && !rest.contains("#")
    }

    static func splitScheme(_ text: String) -> (String, String)? {
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) {
            return (String(scheme.dropLast(3)), String(text.dropFirst(scheme.count)))
        }
        return nil
    }

    /// A host (name, IPv4 or bracketed IPv6) with an optional port, in visible ASCII without `/ ? # @`.
    static func isAuthority(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        return text.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "?")
                && byte != UInt8(ascii: "#") && byte != UInt8(ascii: "@") && byte != UInt8(ascii: ",")
        }
    }

    static func firstValue(_ header: String) -> String? {
        let first = header.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = first.trimmingCharacters(in: " \t")
        return trimmed.isEmpty ? nil : trimmed
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Peer addresses as text, for comparing with the configured proxy addresses.
enum PeerAddress {
    /// Lower case, and an IPv4-mapped IPv6 address as its IPv4 form.
    static func normalise(_ address: String) -> String {
        let lower = address.lowercased()
        if lower.hasPrefix("::ffff:"), lower.dropFirst(7).contains(".") { return String(lower.dropFirst(7)) }
        return lower
    }

    /// IPv4 dotted quad or IPv6 text (hex digits, colons, and an optional embedded IPv4).
    static func isIPAddress(_ text: String) -> Bool {
        let quads = text.split(separator: ".", omittingEmptySubsequences: false)
        if quads.count == 4, quads.allSatisfy({ UInt8($0) != nil && $0.count <= 3 }) { return true }
        guard text.contains(":"), text.count <= 45 else { return false }
        return text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}
