//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

/// The C statuses (DESIGN "Errors"): the pinned codes of ``KeyboundError/Code`` plus the API-misuse range.
enum Status {
    static let ok: Int32 = 0
    static let invalidArgument: Int32 = 900
    static let bufferTooSmall: Int32 = 901
    static let invalidConfig: Int32 = 902
    static let invalidJWKS: Int32 = 903
    static let invalidInputLine: Int32 = 950

    /// The status of a Swift error: its pinned code, which is the same number by construction.
    static func of(_ error: KeyboundError) -> Int32 {
        Int32(truncatingIfNeeded: error.code.rawValue)
    }

    /// One row of the status table: static, NUL-terminated text the C side may keep forever.
    struct Entry {
        let code: Int32
        let name: StaticString
        /// Empty when the RFCs give no error.
        let rfcError: StaticString
        let httpStatus: Int32
        let summary: StaticString
    }

    // swift-format-ignore
    /// Every status, in numeric order. `KeyboundCABITests` checks the verification rows against `KeyboundError.Code`.
    static let table: [Entry] = [
        Entry(code: 0, name: "ok", rfcError: "", httpStatus: 200, summary: "verified"),
        Entry(code: 100, name: "missing_authorization", rfcError: "", httpStatus: 401, summary: "no Authorization value"),
        Entry(code: 101, name: "unsupported_scheme", rfcError: "", httpStatus: 401, summary: "authorization scheme is not DPoP"),
        Entry(code: 102, name: "malformed_authorization", rfcError: "invalid_request", httpStatus: 400, summary: "DPoP authorization value is not a token68"),
        Entry(code: 103, name: "missing_dpop_proof", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "no DPoP header value"),
        Entry(code: 104, name: "multiple_dpop_proofs", rfcError: "invalid_request", httpStatus: 400, summary: "more than one DPoP header value"),
        Entry(code: 200, name: "proof_malformed", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof is not a well-formed compact JWS"),
        Entry(code: 201, name: "proof_typ", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof typ is not dpop+jwt"),
        Entry(code: 202, name: "proof_alg", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof alg is missing or not allowed"),
        Entry(code: 203, name: "proof_jwk", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof jwk is missing, private, weak or disagrees with alg"),
        Entry(code: 204, name: "proof_crit", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof has a crit header Keybound does not understand"),
        Entry(code: 205, name: "proof_signature", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof signature is not valid"),
        Entry(code: 206, name: "proof_claims", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof claims are missing or of the wrong type"),
        Entry(code: 207, name: "proof_htm", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof htm differs from the request method"),
        Entry(code: 208, name: "proof_htu", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof htu is invalid or differs from the request URL"),
        Entry(code: 209, name: "proof_iat", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof iat is outside the acceptance window"),
        Entry(code: 210, name: "proof_ath", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof ath is missing or differs from the access token hash"),
        Entry(code: 211, name: "proof_replayed", rfcError: "invalid_dpop_proof", httpStatus: 401, summary: "DPoP proof was already used"),
        Entry(code: 220, name: "nonce_required", rfcError: "use_dpop_nonce", httpStatus: 401, summary: "Resource server requires nonce in DPoP proof"),
        Entry(code: 221, name: "nonce_invalid", rfcError: "use_dpop_nonce", httpStatus: 401, summary: "DPoP proof nonce is invalid or stale"),
        Entry(code: 300, name: "token_malformed", rfcError: "invalid_token", httpStatus: 401, summary: "access token is not a well-formed compact JWS"),
        Entry(code: 301, name: "token_typ", rfcError: "invalid_token", httpStatus: 401, summary: "access token typ is not accepted"),
        Entry(code: 302, name: "token_alg", rfcError: "invalid_token", httpStatus: 401, summary: "access token alg is missing or not allowed"),
        Entry(code: 303, name: "token_kid_unknown", rfcError: "invalid_token", httpStatus: 401, summary: "no issuer key for the access token kid"),
        Entry(code: 304, name: "token_key_mismatch", rfcError: "invalid_token", httpStatus: 401, summary: "access token alg disagrees with the issuer key"),
        Entry(code: 305, name: "token_signature", rfcError: "invalid_token", httpStatus: 401, summary: "access token signature is not valid"),
        Entry(code: 306, name: "token_issuer", rfcError: "invalid_token", httpStatus: 401, summary: "access token issuer is missing or not trusted"),
        Entry(code: 307, name: "token_audience", rfcError: "invalid_token", httpStatus: 401, summary: "access token audience is not accepted"),
        Entry(code: 308, name: "token_expired", rfcError: "invalid_token", httpStatus: 401, summary: "access token has expired"),
        Entry(code: 309, name: "token_not_yet_valid", rfcError: "invalid_token", httpStatus: 401, summary: "access token is not yet valid"),
        Entry(code: 310, name: "token_claims", rfcError: "invalid_token", httpStatus: 401, summary: "access token claims are missing or of the wrong type"),
        Entry(code: 311, name: "token_binding", rfcError: "invalid_token", httpStatus: 401, summary: "Invalid DPoP key binding"),
        Entry(code: 312, name: "token_revoked", rfcError: "invalid_token", httpStatus: 401, summary: "access token has been revoked"),
        Entry(code: 313, name: "key_revoked", rfcError: "invalid_token", httpStatus: 401, summary: "the bound client key has been revoked"),
        Entry(code: 500, name: "replay_cache_full", rfcError: "", httpStatus: 503, summary: "replay cache is at capacity"),
        Entry(code: 501, name: "replay_store_unavailable", rfcError: "", httpStatus: 503, summary: "replay store did not answer in time"),
        Entry(code: 502, name: "internal", rfcError: "", httpStatus: 500, summary: "internal error in the crypto backend"),
        Entry(code: 900, name: "invalid_argument", rfcError: "", httpStatus: 500, summary: "an argument is NULL, out of range or unknown"),
        Entry(code: 901, name: "buffer_too_small", rfcError: "", httpStatus: 500, summary: "the output buffer is too small"),
        Entry(code: 902, name: "invalid_configuration", rfcError: "", httpStatus: 500, summary: "the verifier configuration is invalid"),
        Entry(code: 903, name: "invalid_jwks", rfcError: "", httpStatus: 500, summary: "the JWKS document is invalid"),
        Entry(code: 950, name: "invalid_input_line", rfcError: "invalid_request", httpStatus: 400, summary: "the input line is not a request"),
    ]

    static func entry(_ code: Int32) -> Entry? {
        for entry in table where entry.code == code { return entry }
        return nil
    }

    /// True for the verification statuses (1xx–5xx), which a verifier counts.
    static func isVerificationStatus(_ code: Int32) -> Bool {
        code >= 100 && code < 900 && entry(code) != nil
    }
}

extension StaticString {
    /// The literal as a C string. Swift emits string literals NUL-terminated in read-only data, so the pointer is
    /// valid for the life of the process.
    var cString: UnsafePointer<CChar> {
        unsafe UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

// MARK: - Exports

@c @implementation
public func kb_status_string(_ status: kb_status) -> UnsafePointer<CChar> {
    let unknown: StaticString = "unknown status"
    return unsafe (Status.entry(status)?.summary ?? unknown).cString
}

@c @implementation
public func kb_status_name(_ status: kb_status) -> UnsafePointer<CChar> {
    let unknown: StaticString = "unknown"
    return unsafe (Status.entry(status)?.name ?? unknown).cString
}

@c @implementation
public func kb_status_rfc_error(_ status: kb_status) -> UnsafePointer<CChar>? {
    guard let entry = Status.entry(status), entry.rfcError.utf8CodeUnitCount > 0 else { return nil }
    return unsafe entry.rfcError.cString
}

@c @implementation
public func kb_status_http_status(_ status: kb_status) -> Int32 {
    Status.entry(status)?.httpStatus ?? 0
}

@c @implementation
public func kb_version_number() -> UInt32 {
    UInt32(truncatingIfNeeded: KeyboundVersion.number)
}

@c @implementation
public func kb_version_string() -> UnsafePointer<CChar> {
    let version: StaticString = "0.1.0"
    return unsafe version.cString
}
