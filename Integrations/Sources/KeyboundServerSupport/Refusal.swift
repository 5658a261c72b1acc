//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound
public import Logging

/// A verification refusal as an HTTP answer, the same for every framework: the status, the challenge, the nonce and
/// a small JSON body. Every part comes from the ``KeyboundError`` and the verifier's policy, none from the request.
public struct Refusal: Error, Sendable {
    /// The error the verifier refused with.
    public let error: KeyboundError
    /// 401, 400, 403, 429 or 5xx (`KeyboundError.Code.httpStatus`); at a token endpoint 400, but 5xx and 429.
    public let status: Int
    /// `WWW-Authenticate: DPoP …` (RFC 9449 §7.1); none at a token endpoint (RFC 9449 §5).
    public let wwwAuthenticate: String?
    /// The `DPoP-Nonce` a `use_dpop_nonce` refusal carries (RFC 9449 §8).
    public var dpopNonce: String? { error.dpopNonce }
    /// The `Retry-After` seconds (RFC 9110 §10.2.3) of a 429 `replay_quota_exceeded` (212): when the proof key may
    /// send again (docs/design.md "Per-key replay share"); `nil` for every other refusal.
    public var retryAfter: String? { error.retryAfter.map { String($0) } }
    /// `{"error":…,"error_description":…,"code":…}`; at a token endpoint the RFC 6749 §5.2 body plus `code`.
    public let body: String

    /// - Parameters:
    ///   - error: the verifier's refusal.
    ///   - verifier: phrases the challenge (the accepted algorithms).
    ///   - tokenEndpoint: whether the refusal is a token endpoint's (RFC 9449 §5: 400, a JSON error, no challenge).
    public init(_ error: KeyboundError, verifier: Verifier, tokenEndpoint: Bool) {
        self.init(error, wwwAuthenticate: tokenEndpoint ? nil : verifier.wwwAuthenticate(for: error))
    }

    /// A refusal with a challenge rendered elsewhere (e.g. `Challenge.wwwAuthenticate(for:algs:)` where no verifier
    /// is at hand); `nil` is a token endpoint's refusal: no challenge, the RFC 6749 §5.2 body.
    public init(_ error: KeyboundError, wwwAuthenticate: String?) {
        self.error = error
        self.wwwAuthenticate = wwwAuthenticate
        if wwwAuthenticate == nil {
            status = error.code.tokenEndpointHTTPStatus
            let rfc = Challenge.tokenEndpointErrorBody(for: error)
            body = String(rfc.dropLast()) + ",\"code\":\"" + error.code.name + "\"}"
        } else {
            status = error.code.httpStatus
            body = Self.jsonBody(error: error.code.rfcError, description: error.reason, code: error.code.name)
        }
    }

    /// Logs the refusal at debug level: its code's name and number and the HTTP status. Never a request byte: the
    /// reason names the failed check only (docs/design.md, status codes), and no header value is logged.
    public func log(to logger: Logger) {
        logger.debug(
            "DPoP request refused",
            metadata: [
                "keybound.code": .string(error.code.name),
                "keybound.status": .stringConvertible(error.code.rawValue),
                "http.status": .stringConvertible(status),
            ])
    }

    /// `{"error":…,"error_description":…,"code":…}`; `error` is left out when there is none (RFC 6750 §3.1).
    public static func jsonBody(error: String?, description: String, code: String) -> String {
        var members: [String] = []
        if let error { members.append("\"error\":" + jsonString(error)) }
        members.append("\"error_description\":" + jsonString(description))
        members.append("\"code\":" + jsonString(code))
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 §7).
    public static func jsonString(_ text: String) -> String {
        let hex: [Character] = Array("0123456789abcdef")
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00"
                    out.append(hex[Int(scalar.value >> 4)])
                    out.append(hex[Int(scalar.value & 0xF)])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
