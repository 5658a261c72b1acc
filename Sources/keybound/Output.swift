//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning

/// Buffered writes to standard output; flushed when asked, when the buffer is large, and at the end.
final class OutputWriter {
    /// The pending output: lines are appended here (``writeLine(_:)``, or bytes then ``endLine()``).
    var buffer: [UInt8] = []
    private let limit = 1 << 16

    init() { buffer.reserveCapacity(limit + 4096) }

    func writeLine(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        endLine()
    }

    /// Ends the line appended to ``buffer``.
    func endLine() {
        buffer.append(0x0A)
        if buffer.count >= limit { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        // Anything print() buffered goes first.
        fflush(nil)
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes { Foundation.write(1, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                break  // standard output is gone (EPIPE): nothing more can be told
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The JSON line printed for each verified or refused request.
///
/// Members are written in a fixed order, compact, with RFC 8259 string escaping.
enum Verdict {
    /// `{"ok":true,"sub":…,"client_id":…,"scope":…,"jkt":"…","exp":…,"token_jti":…,"proof_jti":"…"}`,
    /// plus
    /// `"dpop_nonce"` when nonces are on. Claims the token lacks, and every token claim in token-endpoint and
    /// opaque-token modes, are `null`. A Bearer request (`--allow-bearer`) has no `jkt` and no `proof_jti`: both
    /// members are left out, and `"scheme":"bearer"` follows `ok`. With `--claim` names, a `"claims"` object comes
    /// last: each named claim with strings unescaped (then quoted again as JSON), other JSON values as the token has
    /// them, `null` when absent. Appended to `out` as bytes: a verified request makes no `String` of its own.
    static func success(_ verified: VerifiedRequest, noncesOn: Bool, claims: [String] = [], into out: inout [UInt8]) {
        append("{\"ok\":true", to: &out)
        let bearer = verified.scheme == .bearer
        if bearer { append(",\"scheme\":\"bearer\"", to: &out) }
        append(",\"sub\":", to: &out)
        appendJSON(verified.subject, to: &out)
        append(",\"client_id\":", to: &out)
        appendJSON(verified.clientID, to: &out)
        append(",\"scope\":", to: &out)
        appendJSON(verified.scope, to: &out)
        if let jkt = verified.jkt {
            append(",\"jkt\":", to: &out)
            JSONTree.appendQuoted(jkt, to: &out)
        }
        append(",\"exp\":", to: &out)
        out.append(contentsOf: (verified.expiresAt.map(number) ?? "null").utf8)
        append(",\"token_jti\":", to: &out)
        appendJSON(verified.tokenJTI, to: &out)
        verified.withProofJTIBytes { jti in
            append(",\"proof_jti\":", to: &out)
            JSONTree.appendQuoted(jti, to: &out)
        }
        if noncesOn && !bearer {
            append(",\"dpop_nonce\":", to: &out)
            appendJSON(verified.dpopNonce, to: &out)
        }
        if !claims.isEmpty {
            var object = JSONText.ObjectWriter()
            for name in claims {
                // A string claim is unescaped, then written with JSON's own escaping; anything else is valid JSON
                // text already (the token's payload was validated).
                let text = (try? verified.string(name)).flatMap { $0.map(JSONText.quoted) }
                    ?? verified.claim(name).map(compact)
                object.raw(name, text ?? "null")
            }
            append(",\"claims\":", to: &out)
            out.append(contentsOf: object.finished().utf8)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `text`'s UTF-8 (a fixed member name and its punctuation).
    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A quoted JSON string, or `null`.
    private static func appendJSON(_ text: String?, to out: inout [UInt8]) {
        if let text { JSONTree.appendQuoted(text, to: &out) } else { append("null", to: &out) }
    }

    /// `{"ok":false,"code":…,"name":"…","error":"…"|null,"status":…,"reason":"…","www_authenticate":"…"}`,
    /// plus
    /// `"dpop_nonce"` when the error carries a fresh nonce (`use_dpop_nonce`) and `"retry_after"` (seconds) with a
    /// 212 `replay_quota_exceeded`. In token-endpoint mode the status is
    /// the token endpoint's (400 except server failures) and `www_authenticate` is `null` (RFC 9449 §5: no challenge).
    static func refusal(_ error: KeyboundError, verifier: Verifier, tokenEndpoint: Bool) -> String {
        fields(
            code: error.code.rawValue, name: error.code.name, rfcError: error.code.rfcError,
            status: tokenEndpoint ? error.code.tokenEndpointHTTPStatus : error.code.httpStatus, reason: error.reason,
            challenge: tokenEndpoint ? nil : verifier.wwwAuthenticate(for: error), nonce: error.dpopNonce,
            retryAfter: error.retryAfter
        )
    }


    /// The error line for a batch input line that is not a request. `reason` is the tool's own text, never input.
    static func invalidLine(_ reason: String, algs: [String], tokenEndpoint: Bool) -> String {
        let challenge = Challenge.wwwAuthenticate(
            rfcError: InvalidInputLineStatus.rfcError, description: reason, algs: algs)
        return fields(
            code: InvalidInputLineStatus.code, name: InvalidInputLineStatus.name,
            rfcError: InvalidInputLineStatus.rfcError, status: InvalidInputLineStatus.httpStatus, reason: reason,
            challenge: tokenEndpoint ? nil : challenge, nonce: nil, retryAfter: nil
        )
    }

    private static func fields(
        code: Int, name: String, rfcError: String?, status: Int, reason: String, challenge: String?, nonce: String?,
        retryAfter: Int64?
    ) -> String {
        var out = JSONText.ObjectWriter()
        out.raw("ok", "false")
        out.raw("code", String(code))
        out.raw("name", JSONText.quoted(name))
        out.raw("error", json(rfcError))
        out.raw("status", String(status))
        out.raw("reason", JSONText.quoted(reason))
        out.raw("www_authenticate", json(challenge))
        if let nonce { out.raw("dpop_nonce", JSONText.quoted(nonce)) }
        if let retryAfter { out.raw("retry_after", String(retryAfter)) }
        return out.finished()
    }

    /// Valid JSON text without the whitespace outside its strings, so that a claim's value stays on one line.
    private static func compact(_ json: String) -> String {
        var result = ""
        var inString = false
        var escaped = false
        for character in json.unicodeScalars {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" {
                    inString = false
                }
            } else if character == "\"" {
                inString = true
            } else if character == " " || character == "\t" || character == "\n" || character == "\r" {
                continue
            }
            result.unicodeScalars.append(character)
        }
        return result
    }

    private static func json(_ text: String?) -> String { text.map(JSONText.quoted) ?? "null" }

    /// A NumericDate: an integer when it is one, else the shortest decimal that reads back the same.
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 9.0e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
