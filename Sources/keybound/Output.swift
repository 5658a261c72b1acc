//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning

/// Buffered writes to standard output; flushed when asked, when 64 KiB are pending, and at the end.
///
/// Answers are written into one buffer the writer owns and grows, without an array's checks on every append: a
/// batch appends a dozen pieces to every answer line.
final class OutputWriter {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private let limit = 1 << 16

    init() {
        capacity = limit + 4096
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Makes room for `more` bytes after the pending ones.
    private func reserve(_ more: Int) {
        guard count + more > capacity else { return }
        let grown = max(count + more, capacity * 2)
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        larger.update(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity = grown
    }

    /// Appends raw bytes.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(storage + count).copyMemory(from: base, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends fixed text (a member name and its punctuation).
    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `text`'s UTF-8.
    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `bytes` (valid UTF-8) as a quoted JSON string.
    func appendQuoted(_ bytes: UnsafeRawBufferPointer) {
        reserve(JSONTree.quotedCapacity(bytes.count))
        count += JSONTree.writeQuoted(bytes, to: storage + count)
    }

    /// Appends `text` as a quoted JSON string.
    func appendQuoted(_ text: String) {
        var text = text
        text.withUTF8 { appendQuoted(UnsafeRawBufferPointer($0)) }
    }

    /// Appends the decimal digits of `value`.
    func append(_ value: Int64) {
        var rest = value.magnitude
        var digits = 1
        var scale: UInt64 = 10
        while digits < 20 && rest >= scale {
            digits += 1
            scale = scale &* 10
        }
        reserve(digits + 1)
        if value < 0 {
            storage[count] = UInt8(ascii: "-")
            count += 1
        }
        var index = count + digits
        repeat {
            index -= 1
            storage[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        count += digits
    }

    func writeLine(_ line: String) {
        append(line)
        endLine()
    }

    /// Ends the line appended so far.
    func endLine() {
        reserve(1)
        storage[count] = 0x0A
        count += 1
        if count >= limit { flush() }
    }

    func flush() {
        guard count > 0 else { return }
        // Anything print() buffered goes first.
        fflush(nil)
        var offset = 0
        while offset < count {
            let written = Foundation.write(1, storage + offset, count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                break  // standard output is gone (EPIPE): nothing more can be told
            }
            offset += written
        }
        count = 0
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
    static func success(_ verified: VerifiedRequest, noncesOn: Bool, claims: [String] = [], to out: OutputWriter) {
        out.append("{\"ok\":true")
        let bearer = verified.scheme == .bearer
        if bearer { out.append(",\"scheme\":\"bearer\"") }
        out.append(",\"sub\":")
        appendJSON(verified.subject, to: out)
        out.append(",\"client_id\":")
        appendJSON(verified.clientID, to: out)
        out.append(",\"scope\":")
        appendJSON(verified.scope, to: out)
        if let jkt = verified.jkt {
            out.append(",\"jkt\":")
            out.appendQuoted(jkt)
        }
        out.append(",\"exp\":")
        if let exp = verified.expiresAt, exp.isFinite, exp == exp.rounded(), abs(exp) < 9.0e15 {
            out.append(Int64(exp))
        } else {
            out.append(verified.expiresAt.map(number) ?? "null")
        }
        out.append(",\"token_jti\":")
        appendJSON(verified.tokenJTI, to: out)
        verified.withProofJTIBytes { jti in
            out.append(",\"proof_jti\":")
            out.appendQuoted(jti)
        }
        if noncesOn && !bearer {
            out.append(",\"dpop_nonce\":")
            appendJSON(verified.dpopNonce, to: out)
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
            out.append(",\"claims\":")
            out.append(object.finished())
        }
        out.append("}")
    }

    /// A quoted JSON string, or `null`.
    private static func appendJSON(_ text: String?, to out: OutputWriter) {
        if let text { out.appendQuoted(text) } else { out.append("null") }
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
