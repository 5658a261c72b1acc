//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// What a server sends back when a request fails verification (docs/design.md "Errors").
///
/// The text comes only from Keybound's own strings (the code's RFC error and the error's ``KeyboundError/reason``,
/// which never echoes request bytes) and from the configured algorithm names; every value is still escaped and
/// stripped of bytes that cannot appear in a header, so a response can never be split.
public enum Challenge {
    /// The `WWW-Authenticate` value a resource server answers with (RFC 9449 §7.1, Figures 15, 16 and 24).
    ///
    /// The form is `DPoP error="…", error_description="…", algs="…"`, each attribute present only when it has
    /// something to say:
    /// - `error` and `error_description` are left out when `error` is `nil` (a bare challenge, for a request that
    ///   carried no credentials) and also when the code has no RFC error (``KeyboundError/Code/rfcError`` is
    ///   `nil`: missing credentials, an unsupported scheme, or a server-side failure). RFC 6750 §3.1 asks for no
    ///   error information when the request lacks authentication information or used an unsupported method, and
    ///   an `error_description` is only ever additional detail about an `error` (RFC 6750 §3), so it never
    ///   appears alone.
    /// - the error's ``KeyboundError/challengeParameters`` follow `error_description`: `scope="…"` for 315
    ///   (RFC 6750 §3.1), `acr_values="…"` and `max_age="…"` for 314 (RFC 9470 §3).
    /// - `algs` lists the allowed algorithms separated by one space, and is left out when `algs` is empty (or
    ///   holds only empty names).
    ///
    /// Values are quoted strings (RFC 9110 §5.6.4): `"` and `\` are escaped with a backslash, and any character
    /// outside visible ASCII and space (a space inside an algorithm name included) becomes `?`.
    ///
    /// - Parameters:
    ///   - error: The failure, or `nil` for a bare challenge.
    ///   - algs: The JWS algorithms the server accepts for proofs, e.g. `["ES256", "PS256"]`.
    /// - Returns: The header value, without the `WWW-Authenticate:` name.
    public static func wwwAuthenticate(for error: KeyboundError?, algs: [String]) -> String {
        challenge("DPoP", rfcError: error?.code.rfcError, description: error?.reason ?? "",
                  parameters: error?.challengeParameters ?? [], algs: algs)
    }

    /// The challenge of a server in Bearer migration mode when `offeringBearer` (RFC 9449 §7.2): both schemes in one
    /// value, DPoP first, as RFC 9110 §11.6.1 allows. The error attributes go on the scheme the failed request used
    /// (``KeyboundError/scheme``):
    /// - a DPoP request, or one without usable credentials: the DPoP challenge of ``wwwAuthenticate(for:algs:)``
    ///   followed by a bare `Bearer`, e.g. `DPoP error="invalid_dpop_proof", error_description="…", algs="ES256", Bearer`;
    /// - a Bearer request: a DPoP challenge with only `algs`, then `Bearer error="…", error_description="…"` and the
    ///   error's ``KeyboundError/challengeParameters`` (RFC 6750 §3), e.g.
    ///   `DPoP algs="ES256", Bearer error="invalid_token", error_description="…"`.
    ///
    /// Without `offeringBearer`, exactly ``wwwAuthenticate(for:algs:)``.
    public static func wwwAuthenticate(for error: KeyboundError?, algs: [String], offeringBearer: Bool) -> String {
        guard offeringBearer else { return wwwAuthenticate(for: error, algs: algs) }
        guard let error, error.scheme == .bearer else { return wwwAuthenticate(for: error, algs: algs) + ", Bearer" }
        return challenge("DPoP", rfcError: nil, description: "", parameters: [], algs: algs) + ", "
            + challenge("Bearer", rfcError: error.code.rfcError, description: error.reason,
                        parameters: error.challengeParameters, algs: [])
    }

    /// The same challenge for an RFC error and description that are not a ``KeyboundError`` (the CLI's own
    /// `invalid_input_line`): `error` and `error_description` only when `rfcError` is given.
    package static func wwwAuthenticate(rfcError: String?, description: String, algs: [String]) -> String {
        challenge("DPoP", rfcError: rfcError, description: description, parameters: [], algs: algs)
    }

    /// One challenge: `scheme`, then `error`, `error_description` and `parameters` when `rfcError` is given, then
    /// `algs` when it names any.
    private static func challenge(
        _ scheme: String, rfcError: String?, description: String, parameters: [KeyboundError.ChallengeParameter],
        algs: [String]
    ) -> String {
        var value = scheme
        var separator = " "
        if let rfcError {
            value += separator + "error=\"" + quotedContent(rfcError, keepingSpace: false) + "\""
            separator = ", "
            value += separator + "error_description=\"" + quotedContent(description, keepingSpace: true) + "\""
            for parameter in parameters {
                value += separator + parameter.name + "=\"" + quotedContent(parameter.value, keepingSpace: true) + "\""
            }
        }
        let names = algs.filter { !$0.isEmpty }.map { quotedContent($0, keepingSpace: false) }
        if !names.isEmpty {
            value += separator + "algs=\"" + names.joined(separator: " ") + "\""
        }
        return value
    }

    /// The JSON body of an error answered by a token endpoint (RFC 9449 §5, RFC 6749 §5.2):
    /// `{"error":"…","error_description":"…"}`, compact, with RFC 8259 §7 string escaping.
    ///
    /// `error` is the code's RFC error. For a code without one, it is `server_error` when the code's HTTP status
    /// is 5xx (a failure on the server's side, named as in RFC 6749 §4.1.2.1), and `invalid_request`
    /// (RFC 6749 §5.2) otherwise. The description is the error's ``KeyboundError/reason``.
    ///
    /// - Parameter error: The failure.
    /// - Returns: The body, to be sent with ``KeyboundError/Code/tokenEndpointHTTPStatus`` and
    ///   `Content-Type: application/json`.
    public static func tokenEndpointErrorBody(for error: KeyboundError) -> String {
        let name = error.code.rfcError ?? (error.code.httpStatus >= 500 ? "server_error" : "invalid_request")
        return "{\"error\":\"" + jsonStringContent(name) + "\",\"error_description\":\""
            + jsonStringContent(error.reason) + "\"}"
    }

    // MARK: - Escaping

    /// The inside of a quoted-string (RFC 9110 §5.6.4): `"` and `\` as quoted-pairs, visible ASCII as is, space
    /// when `keepingSpace`, and `?` for anything else.
    private static func quotedContent(_ text: String, keepingSpace: Bool) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22, 0x5C:
                result.unicodeScalars.append("\\")
                result.unicodeScalars.append(scalar)
            case 0x21...0x7E:
                result.unicodeScalars.append(scalar)
            case 0x20 where keepingSpace:
                result.unicodeScalars.append(scalar)
            default:
                result.unicodeScalars.append("?")
            }
        }
        return result
    }

    /// The inside of a JSON string (RFC 8259 §7): the quoted form without its quotes.
    private static func jsonStringContent(_ text: String) -> String {
        String(JSONTree.quoted(text).dropFirst().dropLast())
    }

}
