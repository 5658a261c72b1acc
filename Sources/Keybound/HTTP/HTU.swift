//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Normalisation and comparison of the DPoP `htu` claim against the request URL (RFC 9449 §4.3 check 9).
///
/// Both sides are parsed as absolute `http`/`https` URIs (RFC 3986 §3) and reduced to the canonical form
/// `scheme://host[:port]path` described in docs/design.md "Contracts → htu":
///
/// - scheme and host are lower-cased, ASCII only (RFC 3986 §6.2.2.1); no IDN mapping, no trailing-dot folding;
/// - the default port (80 for `http`, 443 for `https`) is dropped, and so is an empty port (`host:`), which
///   RFC 3986 §3.2.3 and §6.2.3 make equivalent to no port; a port is read as a decimal number, so leading
///   zeros are allowed and dropped (`:080` is port 80); port 0 and ports above 65535 are refused;
/// - an empty path becomes `/` (RFC 3986 §6.2.3, RFC 9110 §4.2.3);
/// - percent-escapes of unreserved characters are decoded, every other escape is upper-cased, in the host as
///   well as in the path (RFC 3986 §6.2.2.1, §6.2.2.2); a letter decoded in the host is lower-cased;
/// - dot segments are removed (RFC 3986 §5.2.4, §6.2.2.3), after decoding, so `%2E%2E` is a dot segment;
/// - the path is otherwise kept byte for byte (case-sensitive, no trailing-slash folding, `%2F` stays `%2F`),
///   except for the characters outside RFC 3986 that browsers and curl send raw: `|`, `[`, `]`, `^`, `{`, `}`,
///   `` ` `` and the bytes of non-ASCII UTF-8 are percent-encoded with upper-case hex (`^` becomes `%5E`, `é`
///   becomes `%C3%A9`), exactly as their escapes are normalised, so the raw and the escaped spelling compare equal;
/// - an IPv6 literal is validated against RFC 3986's `IPv6address` and its hex digits lower-cased, but not
///   otherwise rewritten (no RFC 5952 compression); IPvFuture and zone identifiers are refused;
/// - query and fragment are dropped. Since nothing in them is compared, they are only checked for bytes that can
///   never appear in a URI (controls, space, DEL, malformed UTF-8); raw `|`, `{`, `"`, non-ASCII UTF-8 or a stray
///   `%` there is tolerated, as browsers and curl send them unescaped in queries.
///
/// Refused: an empty input, a relative reference, another scheme, a missing authority, userinfo, an empty or
/// invalid host, a malformed `%` escape in the host or path, a port outside 1–65535 or with non-digits, and any
/// other byte that RFC 3986 does not allow where it occurs: in a path, control bytes, space, `"`, `<`, `>`, `\`
/// and malformed UTF-8 (this includes surrounding whitespace); in a host, anything outside `reg-name` or an
/// IPv6 literal (so raw non-ASCII there too: no IDN mapping).
///
/// With a configured external base URL (servers behind proxies), the request's origin-form target first has its
/// own dot segments removed as an absolute path, so it can never climb above `/`, and is then joined to the base
/// without its trailing slash: base `https://rs.example.net/api/` and target `/a/../../internal` give
/// `https://rs.example.net/api/internal` (``normalize(base:originFormPath:into:failingWith:)``).
///
/// The functions are `internal` rather than `package` because ``ByteView`` and ``ScratchBuffer`` are internal.
package enum HTU {
    /// The longest `htu` ``matches(htu:canonicalRequestURL:)`` accepts, in bytes of the claim as written (before
    /// normalisation): a whole proof is at most 8 KiB (docs/design.md "Contracts → Defaults"), so a longer `htu`
    /// cannot come from an acceptable proof, and is refused before any of it is read. The canonical form of an
    /// accepted `htu` can be longer than the claim, up to `3 × maximumLength + 1` bytes when every byte is one that
    /// is percent-encoded (see ``canonicalCapacity(for:)``).
    package static var maximumLength: Int { 8192 }

    /// The room ``normalize(_:into:failingWith:)`` needs for `uri`: its length, plus one byte for the `/` of an empty
    /// path, plus two bytes for every byte that may be percent-encoded (`|`, `[`, `]`, `^`, `{`, `}`, `` ` `` and
    /// bytes above 0x7F). At most `3 × uri.count + 1`; found in one pass without decoding anything.
    static func canonicalCapacity(for uri: ByteView) -> Int {
        requiredCapacity(URIBytes(head: uri, tail: uri[0..<0]))
    }

    /// The length of `uri`'s canonical form when that form is `uri`'s own prefix, so that
    /// ``normalize(_:into:failingWith:)`` would accept `uri` and give back exactly `uri[0..<length]`: `http://` or
    /// `https://`, a host of lower-case `reg-name` characters without escapes, an optional port of 1–65535 written
    /// without leading zeros that is not the scheme's default, a non-empty path of `pchar`s and `/` without escapes
    /// or dot segments, and an optional query or fragment of visible ASCII (dropped). `nil` for anything else,
    /// including canonical forms it does not recognise (an IPv6 host, an escape): the caller then normalises. One
    /// pass over the bytes, most of it by class table; the request URL of a typical request takes this path.
    static func canonicalPrefix(_ uri: ByteView) -> Int? {
        let count = uri.count
        var index: Int
        let isHTTPS: Bool
        if count > 8 && uri[0..<8].elementsEqual("https://") {
            index = 8
            isHTTPS = true
        } else if count > 7 && uri[0..<7].elementsEqual("http://") {
            index = 7
            isHTTPS = false
        } else {
            return nil
        }
        let hostStart = index
        index &+= uri[index..<count].prefixCount(inClass: canonicalHostByte)
        guard index > hostStart, index < count else { return nil }
        if uri[index] == .colon {
            index &+= 1
            let portStart = index
            var port = 0
            while index < count, uri[index].isASCIIDigit, index &- portStart < 5 {
                port = port &* 10 &+ Int(uri[index] &- UInt8.zero)
                index &+= 1
            }
            guard index > portStart, uri[portStart] != UInt8.zero, port <= 65535, port != (isHTTPS ? 443 : 80),
                index < count
            else { return nil }
        }
        guard uri[index] == .slash else { return nil }
        let pathStart = index
        let pathEnd = pathStart &+ uri[pathStart..<count].prefixCount(inClass: canonicalPathByte)
        if pathEnd < count {
            // Only a query or fragment may follow, and it is dropped: visible ASCII is accepted there as it is.
            guard uri[pathEnd] == .question || uri[pathEnd] == .hash,
                pathEnd &+ uri[pathEnd..<count].prefixCount(inClass: visibleASCIIByte) == count
            else { return nil }
        }
        // No dot segment: no "." or ".." between two slashes or after the last one.
        index = pathStart
        while index < pathEnd {
            // uri[index] is "/": look at the segment after it.
            var end = index &+ 1
            while end < pathEnd && uri[end] != .slash { end &+= 1 }
            let length = end &- index &- 1
            if length == 1 && uri[index &+ 1] == .dot { return nil }
            if length == 2 && uri[index &+ 1] == .dot && uri[index &+ 2] == .dot { return nil }
            index = end
        }
        return pathEnd
    }

    /// The host bytes ``canonicalPrefix(_:)`` accepts: `reg-name` characters that lower-casing leaves as they are.
    private static let canonicalHostByte = ByteClass { byte in
        (byte.isUnreserved || byte.isSubDelimiter) && byte.lowercasedASCII == byte
    }

    /// The path bytes ``canonicalPrefix(_:)`` accepts: `pchar` without escapes, and `/`.
    private static let canonicalPathByte = ByteClass { $0.isPathCharacter || $0 == .slash }

    /// The query and fragment bytes ``canonicalPrefix(_:)`` accepts: visible ASCII.
    private static let visibleASCIIByte = ByteClass { $0.isVisibleASCII }

    /// The room ``normalize(base:originFormPath:into:failingWith:)`` needs for `base` and `originFormPath`.
    static func canonicalCapacity(base: ByteView, originFormPath: ByteView) -> Int {
        requiredCapacity(URIBytes(head: base, tail: originFormPath))
    }

    /// Normalises an absolute `http`/`https` URI and appends its canonical form `scheme://host[:port]path`
    /// (query and fragment dropped) to `out`.
    ///
    /// The canonical form is never longer than ``canonicalCapacity(for:)`` (the input, plus one byte for the `/` of
    /// an empty path, plus two for each byte that may be percent-encoded), and the input is refused unless `out` has
    /// room for that much.
    ///
    /// - Parameters:
    ///   - uri: The URI's bytes, with nothing around them.
    ///   - out: Where the canonical form is appended. On failure it is left as it was.
    ///   - code: The code every failure is reported with (``KeyboundError/Code/proofHTU`` for an `htu`).
    /// - Throws: `KeyboundError(code)` when the URI is refused (see ``HTU``), or longer than `out` can hold.
    static func normalize(
        _ uri: ByteView,
        into out: inout ScratchBuffer,
        failingWith code: KeyboundError.Code
    ) throws(KeyboundError) {
        let source = URIBytes(head: uri, tail: uri[0..<0])
        let start = out.count
        do {
            try canonicalize(source, into: &out, code: code)
        } catch {
            out.removeLast(out.count &- start)
            throw error
        }
    }

    /// Appends the canonical request URL made of a configured external base URL and the request's
    /// origin-form target (docs/design.md "Contracts → htu").
    ///
    /// `base` must itself be an absolute `http`/`https` URI with a host and without query or fragment.
    /// `originFormPath` is the request-target in origin-form (RFC 9110 §3.2.1, RFC 9112 §3.2.1):
    /// `absolute-path [ "?" query ]`, so it starts with `/` and carries no fragment.
    ///
    /// The result is the canonical base (its own dot segments removed, then its trailing slash, if any, dropped)
    /// followed by the canonical target path, whose dot segments (`.`, `..`, `%2E`, `%2e`, any mix) are removed as
    /// an absolute path of its own (RFC 3986 §5.2.4): the target can never climb above its `/` into the base's
    /// path, so base `https://rs.example.net/api/` with target `/a/../../internal` is
    /// `https://rs.example.net/api/internal`, and a target of only `..` segments is the base's directory itself.
    /// Needs ``canonicalCapacity(base:originFormPath:)`` bytes of room in `out`.
    ///
    /// - Parameters:
    ///   - base: The external base URL, e.g. `https://api.example.com/v1/`.
    ///   - originFormPath: The request-target as received, e.g. `/items?page=2`.
    ///   - out: Where the canonical form is appended. On failure it is left as it was.
    ///   - code: The code every failure is reported with.
    /// - Throws: `KeyboundError(code)` when the path is not origin-form, the base is not a valid absolute URI
    ///   without query or fragment, the joined URI is refused, or it is longer than `out` can hold.
    static func normalize(
        base: ByteView,
        originFormPath: ByteView,
        into out: inout ScratchBuffer,
        failingWith code: KeyboundError.Code
    ) throws(KeyboundError) {
        guard !originFormPath.isEmpty, originFormPath[0] == .slash else {
            throw KeyboundError.make(code, "request target is not in origin-form")
        }
        guard originFormPath.firstIndex(of: .hash) == nil else {
            throw KeyboundError.make(code, "request target carries a fragment")
        }
        guard base.firstIndex(of: .question) == nil, base.firstIndex(of: .hash) == nil else {
            throw KeyboundError.make(code, "base URL has a query or fragment")
        }
        let start = out.count
        do {
            // Validate the base on its own first: stripping the slash of `https://` would otherwise let the
            // path supply the host.
            try canonicalize(URIBytes(head: base, tail: base[0..<0]), into: &out, code: code)
            out.removeLast(out.count &- start)
            try canonicalize(URIBytes(head: base, tail: originFormPath), into: &out, code: code, joinsTail: true)
        } catch {
            out.removeLast(out.count &- start)
            throw error
        }
    }

    /// True iff `htu` names the same resource as the request URL (RFC 9449 §4.3 check 9).
    ///
    /// `htu` is normalised into the thread's scratch arena (no heap allocation: at most `3 × maximumLength + 1`
    /// bytes) and compared byte for byte with `canonicalRequestURL`, which must already be canonical (made by one
    /// of the `normalize` functions). An `htu` whose bytes already equal `canonicalRequestURL` matches without being
    /// normalised: a canonical form normalises to itself (`HTUTests.canonicalFormsAreFixedPoints`).
    ///
    /// - Throws: ``KeyboundError/Code/proofHTU`` when `htu` is refused (see ``HTU``) or longer than
    ///   ``maximumLength``.
    static func matches(htu: ByteView, canonicalRequestURL: ByteView) throws(KeyboundError) -> Bool {
        guard htu.count <= maximumLength else {
            throw KeyboundError.make(.proofHTU, "htu is longer than the limit")
        }
        // A client that writes `htu` in canonical form sends the request URL's canonical bytes themselves; the
        // canonical form normalises to itself, so equal bytes match without normalising the claim.
        if htu.elementsEqual(canonicalRequestURL) { return true }
        return try withScratch(capacity: canonicalCapacity(for: htu)) {
            (scratch: inout ScratchBuffer) throws(KeyboundError) -> Bool in
            try normalize(htu, into: &scratch, failingWith: .proofHTU)
            return scratch.view.elementsEqual(canonicalRequestURL)
        }
    }
}

// MARK: - Parsing

extension HTU {
    /// The bytes of one URI, held as two views so that a base URL and a request path are joined without copying.
    private struct URIBytes {
        let head: ByteView
        let tail: ByteView

        var count: Int { head.count + tail.count }

        subscript(index: Int) -> UInt8 {
            index < head.count ? head[index] : tail[index &- head.count]
        }
    }

    /// The room the canonical form of `source` can take: every output byte stands for at least one input byte,
    /// except the "/" of an empty path and the two hex digits of a byte that is percent-encoded.
    private static func requiredCapacity(_ source: URIBytes) -> Int {
        source.count &+ 1 &+ 2 &* (percentEncodableCount(source.head) &+ percentEncodableCount(source.tail))
    }

    /// Bytes that are never percent-encoded by ``canonicalize(_:into:code:joinsTail:)`` (the complement of
    /// `mayBePercentEncoded`), for skipping runs of them 8 bytes a step.
    private static let plainURIByte = ByteClass { !$0.mayBePercentEncoded }

    /// How many bytes of `bytes` may be percent-encoded: the runs between them are skipped by class table.
    private static func percentEncodableCount(_ bytes: ByteView) -> Int {
        let count = bytes.count
        var encodable = 0
        var index = bytes.prefixCount(inClass: plainURIByte)
        while index < count {
            // bytes[index] may be percent-encoded; skip the plain run after it.
            encodable &+= 1
            index &+= 1
            index &+= bytes[index..<count].prefixCount(inClass: plainURIByte)
        }
        return encodable
    }

    /// Parses `source` as an absolute http(s) URI and appends its canonical form. May leave partial output on
    /// failure; the callers roll it back.
    ///
    /// With `joinsTail`, `source.head` is a base URL without query or fragment and `source.tail` an origin-form
    /// target: the base's path and the target's path are normalised separately, the base's trailing slash is
    /// dropped, and the target's dot segments stop at the target's own root.
    private static func canonicalize(
        _ source: URIBytes,
        into out: inout ScratchBuffer,
        code: KeyboundError.Code,
        joinsTail: Bool = false
    ) throws(KeyboundError) {
        let count = source.count
        guard count > 0 else { throw KeyboundError.make(code, "URI is empty") }
        // With this room, no append below can overflow.
        guard requiredCapacity(source) <= out.remaining else {
            throw KeyboundError.make(code, "URI is longer than the buffer")
        }

        // scheme ":" "//" (RFC 3986 §3.1, §3.2; RFC 9110 §4.2.1 and §4.2.2 require an authority).
        guard source[0].isASCIILetter else {
            throw KeyboundError.make(code, "URI is not absolute")
        }
        var index = 1
        while index < count && source[index].isSchemeCharacter { index &+= 1 }
        guard index < count && source[index] == .colon else {
            throw KeyboundError.make(code, "URI is not absolute")
        }
        // The scheme is case-insensitive (RFC 3986 §3.1).
        let startsWithHTTP =
            index >= 4 && source[0].lowercasedASCII == UInt8(ascii: "h")
            && source[1].lowercasedASCII == UInt8(ascii: "t") && source[2].lowercasedASCII == UInt8(ascii: "t")
            && source[3].lowercasedASCII == UInt8(ascii: "p")
        let isHTTPS: Bool
        if startsWithHTTP && index == 4 {
            isHTTPS = false
        } else if startsWithHTTP && index == 5 && source[4].lowercasedASCII == UInt8(ascii: "s") {
            isHTTPS = true
        } else {
            throw KeyboundError.make(code, "URI scheme is not http or https")
        }
        index &+= 1
        guard index &+ 1 < count && source[index] == .slash && source[index &+ 1] == .slash else {
            throw KeyboundError.make(code, "URI has no authority")
        }
        index &+= 2
        out.append(isHTTPS ? "https://" : "http://")

        // authority = host [ ":" port ] (RFC 3986 §3.2); userinfo is refused.
        var authorityEnd = index
        while authorityEnd < count {
            let byte = source[authorityEnd]
            if byte == .slash || byte == .question || byte == .hash { break }
            if byte == .at { throw KeyboundError.make(code, "URI has userinfo") }
            authorityEnd &+= 1
        }
        index = try appendHost(source, from: index, to: authorityEnd, into: &out, code: code)
        if index < authorityEnd {
            // appendHost stops only at the end of the authority or at the ":" before the port.
            try appendPort(source, from: index &+ 1, to: authorityEnd, isHTTPS: isHTTPS, into: &out, code: code)
        }

        // path-abempty (RFC 3986 §3.3), then query and fragment, which are checked and dropped.
        index = authorityEnd
        var pathEnd = index
        while pathEnd < count && source[pathEnd] != .question && source[pathEnd] != .hash { pathEnd &+= 1 }
        if joinsTail {
            // The base has no query or fragment, and the target starts with "/": the authority and the base's path
            // end where the target starts.
            let split = source.head.count
            guard authorityEnd <= split && pathEnd >= split else {
                throw KeyboundError.make(code, "base URL and request target do not join")
            }
            if authorityEnd < split {
                try appendPath(source, from: authorityEnd, to: split, into: &out, code: code)
                // The base without its trailing slash (after its own dot segments are gone).
                if out[out.count &- 1] == .slash { out.removeLast(1) }
            }
            try appendPath(source, from: split, to: pathEnd, into: &out, code: code)
        } else if index == pathEnd {
            out.append(UInt8.slash)
        } else {
            try appendPath(source, from: index, to: pathEnd, into: &out, code: code)
        }
        index = pathEnd
        while index < count {
            // "?" and "#" themselves are visible ASCII; nothing more is asked of a part that is not compared.
            let byte = source[index]
            if byte.isVisibleASCII {
                index &+= 1
            } else if let length = utf8SequenceLength(source, at: index, end: count) {
                index &+= length
            } else {
                throw KeyboundError.make(code, "URI query or fragment has a byte not allowed in a URI")
            }
        }
    }

    /// Appends the host of `source[start..<end]` (the authority) and returns the index where it stopped:
    /// `end`, or the `:` that starts the port.
    private static func appendHost(
        _ source: URIBytes,
        from start: Int,
        to end: Int,
        into out: inout ScratchBuffer,
        code: KeyboundError.Code
    ) throws(KeyboundError) -> Int {
        var index = start
        if index < end && source[index] == .leftBracket {
            // IP-literal = "[" IPv6address "]" (RFC 3986 §3.2.2); IPvFuture and zone ids are refused.
            var close = index &+ 1
            while close < end && source[close] != .rightBracket { close &+= 1 }
            guard close < end, isIPv6Address(source, from: index &+ 1, to: close) else {
                throw KeyboundError.make(code, "URI host is not a valid IPv6 literal")
            }
            while index <= close {
                out.append(source[index].lowercasedASCII)
                index &+= 1
            }
            guard index == end || source[index] == .colon else {
                throw KeyboundError.make(code, "URI has bytes after the IPv6 literal")
            }
            return index
        }
        // reg-name = *( unreserved / pct-encoded / sub-delims ), non-empty for http(s) (RFC 9110 §4.2.1).
        while index < end && source[index] != .colon {
            let byte = source[index]
            if byte == .percent {
                index = try copyEscape(source, at: index, lowercasing: true, into: &out, code: code)
            } else if byte.isUnreserved || byte.isSubDelimiter {
                out.append(byte.lowercasedASCII)
                index &+= 1
            } else {
                throw KeyboundError.make(code, "URI host has a byte not allowed in a host")
            }
        }
        guard index > start else { throw KeyboundError.make(code, "URI host is empty") }
        return index
    }

    /// Appends `:port` for the port digits in `source[start..<end]`, unless they are empty or the scheme's
    /// default (RFC 3986 §3.2.3, §6.2.3).
    private static func appendPort(
        _ source: URIBytes,
        from start: Int,
        to end: Int,
        isHTTPS: Bool,
        into out: inout ScratchBuffer,
        code: KeyboundError.Code
    ) throws(KeyboundError) {
        guard start < end else { return }
        var value = 0
        var index = start
        while index < end {
            let byte = source[index]
            guard byte.isASCIIDigit else { throw KeyboundError.make(code, "URI port is not a number") }
            // value ≤ 65535 before this step, so this cannot overflow.
            value = value &* 10 &+ Int(byte &- UInt8.zero)
            guard value <= 65535 else { throw KeyboundError.make(code, "URI port is out of range") }
            index &+= 1
        }
        guard value >= 1 else { throw KeyboundError.make(code, "URI port is out of range") }
        guard value != (isHTTPS ? 443 : 80) else { return }
        out.append(UInt8.colon)
        var divisor = 10000
        var started = false
        while divisor > 0 {
            let digit = value / divisor
            if digit > 0 || started {
                out.append(UInt8.zero &+ UInt8(truncatingIfNeeded: digit))
                started = true
            }
            value %= divisor
            divisor /= 10
        }
    }

    /// Appends the path `source[start..<end]`, which starts with `/`, with escapes normalised, raw characters that
    /// browsers and curl send (`|`, `[`, `]`, `^`, `{`, `}`, `` ` ``, non-ASCII UTF-8) percent-encoded, and dot
    /// segments removed (RFC 3986 §5.2.4, after decoding, so `%2E%2E` is `..`), one segment at a time. Dot segments
    /// never remove anything appended before this call: the path is normalised as an absolute path of its own.
    private static func appendPath(
        _ source: URIBytes,
        from start: Int,
        to end: Int,
        into out: inout ScratchBuffer,
        code: KeyboundError.Code
    ) throws(KeyboundError) {
        // The output path is always "/" segment "/" segment …, starting at pathStart.
        let pathStart = out.count
        var index = start
        while index < end {
            // source[index] is "/": the path starts with one and each segment stops at the next.
            index &+= 1
            let segmentStart = out.count
            out.append(UInt8.slash)
            while index < end && source[index] != .slash {
                let byte = source[index]
                if byte == .percent {
                    index = try copyEscape(source, at: index, lowercasing: false, into: &out, code: code)
                } else if byte.isPathCharacter {
                    out.append(byte)
                    index &+= 1
                } else if byte.isRawPathCharacter {
                    appendPercentEncoded(byte, into: &out)
                    index &+= 1
                } else if let length = utf8SequenceLength(source, at: index, end: end) {
                    for k in 0..<length { appendPercentEncoded(source[index &+ k], into: &out) }
                    index &+= length
                } else {
                    throw KeyboundError.make(code, "URI path has a byte not allowed in a path")
                }
            }
            let isLast = index >= end
            let segmentLength = out.count &- segmentStart &- 1
            if segmentLength == 1 && out[segmentStart &+ 1] == .dot {
                // "." : drop it; a final one leaves the directory's trailing slash.
                out.removeLast(2)
                if isLast { out.append(UInt8.slash) }
            } else if segmentLength == 2 && out[segmentStart &+ 1] == .dot && out[segmentStart &+ 2] == .dot {
                // ".." : drop it and the segment before it, if any; a final one leaves a trailing slash.
                out.removeLast(3)
                if out.count > pathStart {
                    // out[pathStart] is "/", so this stops at or after pathStart.
                    var slash = out.count &- 1
                    while out[slash] != .slash { slash &-= 1 }
                    out.removeLast(out.count &- slash)
                }
                if isLast { out.append(UInt8.slash) }
            }
        }
    }

    /// The byte a `%XX` escape at `index` stands for.
    private static func decodeEscape(
        _ source: URIBytes,
        at index: Int,
        code: KeyboundError.Code
    ) throws(KeyboundError) -> UInt8 {
        guard index &+ 2 < source.count,
            let high = source[index &+ 1].hexDigitValue,
            let low = source[index &+ 2].hexDigitValue
        else {
            throw KeyboundError.make(code, "URI has a malformed percent-escape")
        }
        return high &<< 4 | low
    }

    /// Copies the `%XX` escape at `index` normalised: the character itself when unreserved (RFC 3986 §6.2.2.2),
    /// else `%XX` with upper-case hex (§6.2.2.1). Returns the index after the escape.
    private static func copyEscape(
        _ source: URIBytes,
        at index: Int,
        lowercasing: Bool,
        into out: inout ScratchBuffer,
        code: KeyboundError.Code
    ) throws(KeyboundError) -> Int {
        let byte = try decodeEscape(source, at: index, code: code)
        if byte.isUnreserved {
            out.append(lowercasing ? byte.lowercasedASCII : byte)
        } else {
            appendPercentEncoded(byte, into: &out)
        }
        return index &+ 3
    }

    /// Appends `%XX` with upper-case hex (RFC 3986 §2.1, §6.2.2.1).
    private static func appendPercentEncoded(_ byte: UInt8, into out: inout ScratchBuffer) {
        out.append(UInt8.percent)
        out.append(upperHexDigit(byte &>> 4))
        out.append(upperHexDigit(byte & 0x0F))
    }

    /// The length of the well-formed non-ASCII UTF-8 sequence at `index` that ends by `end` (Unicode Table 3-7: no
    /// overlong forms, no surrogates, nothing above U+10FFFF), or `nil`.
    private static func utf8SequenceLength(_ source: URIBytes, at index: Int, end: Int) -> Int? {
        UTF8Validation.multiByteSequenceLength(available: end &- index) { source[index &+ $0] }
    }

    private static func upperHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8.zero &+ nibble : UInt8(ascii: "A") &+ (nibble &- 10)
    }

    /// IPv6address (RFC 3986 §3.2.2): at most eight h16 pieces (one to four hex digits) separated by ":", at most
    /// one "::" standing for one or more zero pieces, optionally ending in a dotted IPv4 address (two pieces).
    private static func isIPv6Address(_ source: URIBytes, from start: Int, to end: Int) -> Bool {
        var index = start
        var pieces = 0
        var sawDoubleColon = false
        if index &+ 1 < end && source[index] == .colon && source[index &+ 1] == .colon {
            sawDoubleColon = true
            index &+= 2
        }
        while index < end {
            var digits = 0
            while index &+ digits < end && source[index &+ digits].hexDigitValue != nil { digits &+= 1 }
            if index &+ digits < end && source[index &+ digits] == .dot {
                // The last piece is an IPv4address, worth two pieces.
                guard isIPv4Address(source, from: index, to: end) else { return false }
                pieces &+= 2
                index = end
                break
            }
            guard digits >= 1 && digits <= 4 else { return false }
            pieces &+= 1
            index &+= digits
            if index == end { break }
            guard source[index] == .colon else { return false }
            index &+= 1
            if index < end && source[index] == .colon {
                guard !sawDoubleColon else { return false }
                sawDoubleColon = true
                index &+= 1
                if index == end { break }
            } else if index == end {
                return false  // a single trailing ":"
            }
            if pieces > 8 { return false }
        }
        if sawDoubleColon { return pieces <= 7 }
        return pieces == 8
    }

    /// IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet (RFC 3986 §3.2.2): no leading zeros.
    private static func isIPv4Address(_ source: URIBytes, from start: Int, to end: Int) -> Bool {
        var index = start
        var octets = 0
        while true {
            var value = 0
            var digits = 0
            while index < end && source[index].isASCIIDigit && digits < 4 {
                value = value &* 10 &+ Int(source[index] &- UInt8.zero)
                digits &+= 1
                index &+= 1
            }
            guard digits >= 1 && digits <= 3 && value <= 255 else { return false }
            guard digits == 1 || source[index &- digits] != UInt8.zero else { return false }
            octets &+= 1
            if octets == 4 { return index == end }
            guard index < end && source[index] == .dot else { return false }
            index &+= 1
        }
    }
}

// MARK: - Character classes (RFC 3986 §2)

extension UInt8 {
    fileprivate static let slash = UInt8(ascii: "/")
    fileprivate static let question = UInt8(ascii: "?")
    fileprivate static let hash = UInt8(ascii: "#")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let at = UInt8(ascii: "@")
    fileprivate static let percent = UInt8(ascii: "%")
    fileprivate static let dot = UInt8(ascii: ".")
    fileprivate static let zero = UInt8(ascii: "0")
    fileprivate static let leftBracket = UInt8(ascii: "[")
    fileprivate static let rightBracket = UInt8(ascii: "]")

    fileprivate var isASCIILetter: Bool { (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z") }
    fileprivate var isASCIIDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    fileprivate var isVisibleASCII: Bool { self >= 0x21 && self <= 0x7E }

    fileprivate var lowercasedASCII: UInt8 {
        self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self
    }

    /// ALPHA / DIGIT / "+" / "-" / "." (RFC 3986 §3.1).
    fileprivate var isSchemeCharacter: Bool {
        isASCIILetter || isASCIIDigit || self == UInt8(ascii: "+") || self == UInt8(ascii: "-") || self == .dot
    }

    /// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3).
    fileprivate var isUnreserved: Bool {
        isASCIILetter || isASCIIDigit || self == UInt8(ascii: "-") || self == .dot || self == UInt8(ascii: "_")
            || self == UInt8(ascii: "~")
    }

    /// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=" (RFC 3986 §2.2).
    fileprivate var isSubDelimiter: Bool {
        switch self {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&")...UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="):
            true
        default:
            false
        }
    }

    /// pchar without pct-encoded: unreserved / sub-delims / ":" / "@" (RFC 3986 §3.3).
    fileprivate var isPathCharacter: Bool { isUnreserved || isSubDelimiter || self == .colon || self == .at }

    /// The ASCII characters outside RFC 3986 that browsers and curl send raw in a path, percent-encoded before
    /// comparison: `|`, `[`, `]`, `^`, `{`, `}`, `` ` `` (docs/design.md "Contracts → htu").
    fileprivate var isRawPathCharacter: Bool {
        switch self {
        case UInt8(ascii: "|"), .leftBracket, .rightBracket, UInt8(ascii: "^"), UInt8(ascii: "{"), UInt8(ascii: "}"),
            UInt8(ascii: "`"):
            true
        default:
            false
        }
    }

    /// A byte whose canonical form may take three bytes: a raw path character or a byte of non-ASCII UTF-8.
    fileprivate var mayBePercentEncoded: Bool { self >= 0x80 || isRawPathCharacter }
}
