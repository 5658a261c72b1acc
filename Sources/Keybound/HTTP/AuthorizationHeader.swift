//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The `Authorization` request header of a DPoP-protected resource request (RFC 9449 §7.1, docs/design.md check 1).
///
/// The functions are `internal` rather than `package` because ``ByteView`` is internal.
package enum AuthorizationHeader {
    /// Parses `Authorization: DPoP <token68>` and returns the range of the token in `value`.
    ///
    /// The grammar is RFC 9110 §11.4 `credentials = auth-scheme [ 1*SP token68 ]`, narrowed by docs/design.md check 1:
    /// the scheme is a `token` compared case-insensitively with `DPoP` (RFC 9110 §11.1), followed by exactly one
    /// space and a `token68` (RFC 9110 §11.2) that runs to the end of the value:
    /// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. The value must already be the single
    /// field value with its surrounding optional whitespace removed (RFC 9110 §5.5); any whitespace left at its
    /// start makes the scheme unrecognisable, any at its end is junk after the token.
    ///
    /// - Parameter value: The `Authorization` field value.
    /// - Returns: The range of the token68 in `value`.
    /// - Throws:
    ///   - ``KeyboundError/Code/missingAuthorization`` when `value` is empty;
    ///   - ``KeyboundError/Code/unsupportedScheme`` when the scheme is not `DPoP` (so `Bearer` too: no downgrade),
    ///     including a value that does not start with a `token`;
    ///   - ``KeyboundError/Code/malformedAuthorization`` when the scheme is `DPoP` but is not followed by exactly
    ///     one space and a token68 ending the value (`DPoP`, `DPoP `, `DPoP  x`, `DPoP x y`, `DPoP x,y`,
    ///     `DPoP a=b`, control or non-ASCII bytes);
    ///   - ``KeyboundError/Code/tokenMalformed`` when what follows `DPoP ` is longer than `maxTokenBytes`, decided
    ///     from the length alone: at most the first 5 bytes of an oversized value are read (SECURITY.md C6).
    static func dpopToken(in value: ByteView, maxTokenBytes: Int = .max) throws(KeyboundError) -> Range<Int> {
        let range = try dpopTokenBounds(in: value, maxTokenBytes: maxTokenBytes)
        try checkToken68(value, from: range.lowerBound, scheme: "DPoP")
        return range
    }

    /// The first half of ``dpopToken(in:maxTokenBytes:)-(ByteView)``: the scheme, the one space and the length bound,
    /// with the same codes, but not the token's characters. The range runs to the end of `value`; it is the token
    /// only once ``checkToken68(_:from:scheme:)`` has accepted it, which the verifier skips only for the exact bytes
    /// of a token it verified before (docs/design.md "Contracts → Token cache").
    static func dpopTokenBounds(in value: ByteView, maxTokenBytes: Int = .max) throws(KeyboundError) -> Range<Int> {
        guard !value.isEmpty else {
            throw KeyboundError.make(.missingAuthorization, "no Authorization value")
        }
        // The scheme must be exactly the 4 tchars of `DPoP`: reading a fifth tchar already settles that it is not,
        // so the scan stops there whatever the value's length.
        let index = schemeLength(value, limit: 5)
        guard isDPoPScheme(value[0..<index]) else {
            throw KeyboundError.make(.unsupportedScheme, "authorization scheme is not DPoP")
        }
        return try tokenBounds(in: value, from: index, scheme: "DPoP", maxTokenBytes: maxTokenBytes)
    }

    /// True when the value's scheme is `Bearer` in any case (RFC 6750 §2.1, RFC 9110 §11.1): only then does Bearer
    /// migration mode read it as a Bearer credential. At most the first 7 bytes are read.
    static func hasBearerScheme(_ value: ByteView) -> Bool {
        isBearerScheme(value[0..<schemeLength(value, limit: 7)])
    }

    /// Parses `Authorization: Bearer <token68>` (RFC 6750 §2.1: b64token is token68) for a value whose scheme is
    /// `Bearer` (``hasBearerScheme(_:)``), with the same rules and codes as ``dpopToken(in:maxTokenBytes:)-(ByteView)``
    /// after the scheme.
    static func bearerToken(in value: ByteView, maxTokenBytes: Int = .max) throws(KeyboundError) -> Range<Int> {
        let range = try tokenBounds(in: value, from: schemeLength(value, limit: 7), scheme: "Bearer",
                                    maxTokenBytes: maxTokenBytes)
        try checkToken68(value, from: range.lowerBound, scheme: "Bearer")
        return range
    }

    /// The number of tchars at the start of `value`, reading at most `limit` bytes.
    private static func schemeLength(_ value: ByteView, limit: Int) -> Int {
        var index = 0
        while index < value.count && index < limit && value[index].isTokenCharacter { index &+= 1 }
        return index
    }

    /// After a scheme ending at `index`: exactly one space, and at most `maxTokenBytes` after it; the range from
    /// there to the end of the value.
    private static func tokenBounds(
        in value: ByteView, from index: Int, scheme: StaticString, maxTokenBytes: Int
    ) throws(KeyboundError) -> Range<Int> {
        guard index < value.count else {
            throw KeyboundError.make(.malformedAuthorization, "no token after the \(scheme) scheme")
        }
        guard value[index] == UInt8(ascii: " ") else {
            throw KeyboundError.make(.malformedAuthorization, "\(scheme) scheme is not followed by a space")
        }
        let start = index &+ 1
        guard value.count &- start <= maxTokenBytes else {
            throw KeyboundError.make(.tokenMalformed, "access token is larger than the limit")
        }
        return start..<value.count
    }

    /// Checks that `value[start...]` is a token68 (RFC 9110 §11.2): at least one token68 character, then only `=`.
    static func checkToken68(_ value: ByteView, from start: Int, scheme: StaticString) throws(KeyboundError) {
        var index = start &+ value[start..<value.count].prefixCount(inClass: .token68)
        guard index > start else {
            throw KeyboundError.make(.malformedAuthorization, "no token68 after the \(scheme) scheme and one space")
        }
        while index < value.count && value[index] == UInt8(ascii: "=") { index &+= 1 }
        guard index == value.count else {
            throw KeyboundError.make(.malformedAuthorization, "\(scheme) token is not a token68")
        }
    }

    /// As ``dpopToken(in:)-(ByteView)``, with a missing header (`nil`) reported as
    /// ``KeyboundError/Code/missingAuthorization``.
    static func dpopToken(in value: ByteView?, maxTokenBytes: Int = .max) throws(KeyboundError) -> Range<Int> {
        guard let value else {
            throw KeyboundError.make(.missingAuthorization, "no Authorization value")
        }
        return try dpopToken(in: value, maxTokenBytes: maxTokenBytes)
    }

    /// True when `scheme` is `DPoP` in any case (RFC 9110 §11.1: auth-scheme is case-insensitive). Setting bit 0x20
    /// maps only ASCII letters onto lower-case letters, so no other tchar can pass.
    private static func isDPoPScheme(_ scheme: ByteView) -> Bool {
        scheme.count == 4 && scheme[0] | 0x20 == UInt8(ascii: "d") && scheme[1] | 0x20 == UInt8(ascii: "p")
            && scheme[2] | 0x20 == UInt8(ascii: "o") && scheme[3] | 0x20 == UInt8(ascii: "p")
    }

    /// True when `scheme` is `Bearer` in any case, as ``isDPoPScheme(_:)``.
    private static func isBearerScheme(_ scheme: ByteView) -> Bool {
        scheme.count == 6 && scheme[0] | 0x20 == UInt8(ascii: "b") && scheme[1] | 0x20 == UInt8(ascii: "e")
            && scheme[2] | 0x20 == UInt8(ascii: "a") && scheme[3] | 0x20 == UInt8(ascii: "r")
            && scheme[4] | 0x20 == UInt8(ascii: "e") && scheme[5] | 0x20 == UInt8(ascii: "r")
    }
}

extension UInt8 {
    /// tchar (RFC 9110 §5.6.2): "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
    /// "|" / "~" / DIGIT / ALPHA.
    fileprivate var isTokenCharacter: Bool {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "!"), UInt8(ascii: "#")...UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"),
            UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
