//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The one error every Keybound check throws.
///
/// Each failure carries a stable ``Code`` (the pinned number of the C ABI status enum and of the CLI's
/// `code`), and a short ``reason`` naming the failed check. The reason never echoes request bytes, so it
/// is safe to put in a response header.
///
/// Equality and hashing compare the code only, so tests can write `#expect(throws: KeyboundError(.proofTyp))`.
public struct KeyboundError: Error, Hashable, CustomStringConvertible, Sendable {
    /// What failed, as a pinned, append-only number with its name, RFC error and HTTP status.
    public let code: Code
    private var backing: Backing

    /// A short human-readable reason naming the failed check. It never contains request bytes.
    public var reason: String { backing.reason }

    /// A fresh nonce for the `DPoP-Nonce` response header, carried by `use_dpop_nonce` errors (RFC 9449 §8, §9).
    public var dpopNonce: String? { backing.dpopNonce }

    /// The `Retry-After` value, in seconds (RFC 9110 §10.2.3), carried by `replay_quota_exceeded` (212): when the
    /// proof key's oldest replay entry expires if the store knows it, else the proof window `maxAge + 2 × skew`.
    public var retryAfter: Int64? { backing.retryAfter }

    /// Where the error was made, for diagnostics (`#fileID:line`).
    public var location: String { "\(backing.file):\(backing.line)" }

    /// The attributes the challenge adds after `error_description`, in order: `scope` for 315
    /// (RFC 6750 §3.1), `acr_values` and `max_age` for 314 (RFC 9470 §3). Empty for every other code.
    public var challengeParameters: [ChallengeParameter] { backing.challengeParameters }

    /// The authentication scheme of the request that failed: ``AuthenticationScheme/bearer`` only for a request
    /// sent with `Authorization: Bearer` to a verifier in Bearer migration mode (``VerifierPolicy/allowBearer``),
    /// ``AuthenticationScheme/dpop`` otherwise. The two-scheme challenge puts the error attributes on this scheme.
    public var scheme: AuthenticationScheme { backing.scheme }

    /// An auth-param of a challenge (RFC 9110 §11.2): a name and the value it carries as a quoted-string.
    public struct ChallengeParameter: Hashable, Sendable {
        public let name: String
        public let value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Makes an error of this code, with an optional reason (the code's summary when empty).
    public init(_ code: Code, reason: String = "", file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.backing = Backing(reason: reason.isEmpty ? code.summary : reason, file: file, line: line)
    }

    /// The same error, carrying a fresh nonce for the `DPoP-Nonce` header.
    public func withDPoPNonce(_ nonce: String) -> KeyboundError {
        changed { $0.dpopNonce = nonce }
    }

    /// The same error, with the challenge's extra attributes.
    func withChallengeParameters(_ parameters: [ChallengeParameter]) -> KeyboundError {
        changed { $0.challengeParameters = parameters }
    }

    /// The same error, marked as the failure of a Bearer request (migration mode).
    func onBearerRequest() -> KeyboundError {
        changed { $0.scheme = .bearer }
    }

    private func changed(_ change: (inout Backing.Values) -> Void) -> KeyboundError {
        var copy = self
        var values = backing.values
        change(&values)
        copy.backing = Backing(values)
        return copy
    }

    /// The same error, carrying a `Retry-After` value in seconds.
    public func withRetryAfter(_ seconds: Int64) -> KeyboundError {
        changed { $0.retryAfter = seconds }
    }

    public static func == (lhs: KeyboundError, rhs: KeyboundError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "KeyboundError.\(code.name) (\(code.rawValue)): \(reason)" }

    // Immutable after init: safe to share between threads.
    private final class Backing: Sendable {
        struct Values: Sendable {
            var reason: String
            var file: String
            var line: UInt
            var dpopNonce: String? = nil
            var challengeParameters: [ChallengeParameter] = []
            var scheme: AuthenticationScheme = .dpop
            var retryAfter: Int64? = nil
        }
        let values: Values
        var reason: String { values.reason }
        var file: String { values.file }
        var line: UInt { values.line }
        var dpopNonce: String? { values.dpopNonce }
        var challengeParameters: [ChallengeParameter] { values.challengeParameters }
        var scheme: AuthenticationScheme { values.scheme }
        var retryAfter: Int64? { values.retryAfter }
        init(_ values: Values) { self.values = values }
        convenience init(reason: String, file: String, line: UInt) {
            self.init(Values(reason: reason, file: file, line: line))
        }
    }
}

extension KeyboundError {
    /// Builds an error off the hot path.
    @inline(never)
    static func make(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) -> KeyboundError {
        KeyboundError(code, reason: reason, file: file, line: line)
    }
}

// MARK: - Codes

extension KeyboundError {
    /// A stable failure code. The numbers are pinned by docs/design.md "Errors" and are append-only.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate let backing: Backing

        fileprivate init(_ backing: Backing) { self.backing = backing }

        /// Looks a code up by its pinned number; `nil` for numbers Keybound does not define.
        public init?(rawValue: Int) {
            guard let backing = Backing(rawValue: rawValue) else { return nil }
            self.backing = backing
        }

        /// The pinned number (also the C ABI `kb_status` value and the CLI `code`).
        public var rawValue: Int { backing.rawValue }

        public var description: String { name }

        /// Every code Keybound defines, in numeric order.
        public static var allCodes: [Code] { Backing.allCases.map(Code.init) }

        public static let missingAuthorization = Code(.missingAuthorization)
        public static let unsupportedScheme = Code(.unsupportedScheme)
        public static let malformedAuthorization = Code(.malformedAuthorization)
        public static let missingDPoPProof = Code(.missingDPoPProof)
        public static let multipleDPoPProofs = Code(.multipleDPoPProofs)
        public static let proofMalformed = Code(.proofMalformed)
        public static let proofTyp = Code(.proofTyp)
        public static let proofAlg = Code(.proofAlg)
        public static let proofJWK = Code(.proofJWK)
        public static let proofCrit = Code(.proofCrit)
        public static let proofSignature = Code(.proofSignature)
        public static let proofClaims = Code(.proofClaims)
        public static let proofHTM = Code(.proofHTM)
        public static let proofHTU = Code(.proofHTU)
        public static let proofIAT = Code(.proofIAT)
        public static let proofATH = Code(.proofATH)
        public static let proofReplayed = Code(.proofReplayed)
        /// The proof key holds its share of live replay entries (``ReplayInsertResult/quota(retryAfter:)``); answered
        /// 429 with ``KeyboundError/retryAfter`` in every mode.
        public static let replayQuotaExceeded = Code(.replayQuotaExceeded)
        public static let nonceRequired = Code(.nonceRequired)
        public static let nonceInvalid = Code(.nonceInvalid)
        public static let tokenMalformed = Code(.tokenMalformed)
        public static let tokenTyp = Code(.tokenTyp)
        public static let tokenAlg = Code(.tokenAlg)
        public static let tokenKidUnknown = Code(.tokenKidUnknown)
        public static let tokenKeyMismatch = Code(.tokenKeyMismatch)
        public static let tokenSignature = Code(.tokenSignature)
        public static let tokenIssuer = Code(.tokenIssuer)
        public static let tokenAudience = Code(.tokenAudience)
        public static let tokenExpired = Code(.tokenExpired)
        public static let tokenNotYetValid = Code(.tokenNotYetValid)
        public static let tokenClaims = Code(.tokenClaims)
        public static let tokenBinding = Code(.tokenBinding)
        public static let tokenRevoked = Code(.tokenRevoked)
        public static let keyRevoked = Code(.keyRevoked)
        /// RFC 9470: the request's ``Requirements`` ask for a newer authentication (`max_age`) or another `acr`.
        public static let insufficientUserAuthentication = Code(.insufficientUserAuthentication)
        /// RFC 6750 §3.1: the token lacks a scope the request's ``Requirements`` ask for (HTTP 403).
        public static let insufficientScope = Code(.insufficientScope)
        /// Bearer migration mode (RFC 9449 §7.2, ``VerifierPolicy/allowBearer``): a token with `cnf` sent with the
        /// `Bearer` scheme (HTTP 401, `invalid_token`); never accepted.
        public static let boundTokenAsBearer = Code(.boundTokenAsBearer)
        public static let replayCacheFull = Code(.replayCacheFull)
        public static let replayStoreUnavailable = Code(.replayStoreUnavailable)
        public static let `internal` = Code(.internal)
        /// A shared replay store lost its data after the proof was made (``ReplayInsertResult/restarted``).
        public static let replayStoreRestarted = Code(.replayStoreRestarted)

        /// Configuration errors (an invalid JWKS, a bad policy value): not request failures, so they
        /// have no HTTP meaning of their own. The C ABI reports them in its 900+ range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        public static let invalidJWKS = Code(.invalidJWKS)
        /// An issuer key given as PEM or DER (`JWKSet(pem:kid:)`) is malformed: no
        /// PEM block, bad armour or base64, more than one block, truncated or malformed DER.
        public static let invalidKeyEncoding = Code(.invalidKeyEncoding)
        /// A private key was given where an issuer's public key belongs (a PEM `PRIVATE KEY` block).
        public static let privateKeyGiven = Code(.privateKeyGiven)
        /// An issuer key given as PEM or DER is well formed but unusable: an unsupported type or curve, a key that
        /// fails Keybound's key rules (docs/design.md "Contracts → Defaults"), or an `alg` that disagrees with it.
        public static let unusableKey = Code(.unusableKey)

        /// The stable snake_case name (the CLI's `name`).
        public var name: String { backing.info.name }
        /// The RFC error (`error` in the challenge), or `nil` where the RFCs give none.
        public var rfcError: String? { backing.info.rfcError }
        /// The HTTP status a resource server answers with.
        public var httpStatus: Int { backing.info.status }
        /// The HTTP status in token-endpoint mode (RFC 9449 §5): 400, except server-side failures and 429
        /// (`replay_quota_exceeded` answers 429 in every mode).
        public var tokenEndpointHTTPStatus: Int { httpStatus >= 500 || httpStatus == 429 ? httpStatus : 400 }
        /// A one-line summary of when this code is produced.
        public var summary: String { backing.info.summary }
    }
}

extension KeyboundError.Code {
    fileprivate enum Backing: Int, CaseIterable, Sendable {
        case missingAuthorization = 100
        case unsupportedScheme = 101
        case malformedAuthorization = 102
        case missingDPoPProof = 103
        case multipleDPoPProofs = 104
        case proofMalformed = 200
        case proofTyp = 201
        case proofAlg = 202
        case proofJWK = 203
        case proofCrit = 204
        case proofSignature = 205
        case proofClaims = 206
        case proofHTM = 207
        case proofHTU = 208
        case proofIAT = 209
        case proofATH = 210
        case proofReplayed = 211
        case replayQuotaExceeded = 212
        case nonceRequired = 220
        case nonceInvalid = 221
        case tokenMalformed = 300
        case tokenTyp = 301
        case tokenAlg = 302
        case tokenKidUnknown = 303
        case tokenKeyMismatch = 304
        case tokenSignature = 305
        case tokenIssuer = 306
        case tokenAudience = 307
        case tokenExpired = 308
        case tokenNotYetValid = 309
        case tokenClaims = 310
        case tokenBinding = 311
        case tokenRevoked = 312
        case keyRevoked = 313
        case insufficientUserAuthentication = 314
        case insufficientScope = 315
        case boundTokenAsBearer = 316
        case replayCacheFull = 500
        case replayStoreUnavailable = 501
        case `internal` = 502
        case replayStoreRestarted = 503
        case invalidConfiguration = 902
        case invalidJWKS = 903
        case invalidKeyEncoding = 904
        case privateKeyGiven = 905
        case unusableKey = 906

        // swift-format-ignore
        var info: (name: String, rfcError: String?, status: Int, summary: String) {
            switch self {
            case .missingAuthorization: ("missing_authorization", nil, 401, "no Authorization value")
            case .unsupportedScheme: ("unsupported_scheme", nil, 401, "authorization scheme is not DPoP")
            case .malformedAuthorization: ("malformed_authorization", "invalid_request", 400, "DPoP authorization value is not a token68")
            case .missingDPoPProof: ("missing_dpop_proof", "invalid_dpop_proof", 401, "no DPoP header value")
            case .multipleDPoPProofs: ("multiple_dpop_proofs", "invalid_request", 400, "more than one DPoP header value")
            case .proofMalformed: ("proof_malformed", "invalid_dpop_proof", 401, "DPoP proof is not a well-formed compact JWS")
            case .proofTyp: ("proof_typ", "invalid_dpop_proof", 401, "DPoP proof typ is not dpop+jwt")
            case .proofAlg: ("proof_alg", "invalid_dpop_proof", 401, "DPoP proof alg is missing or not allowed")
            case .proofJWK: ("proof_jwk", "invalid_dpop_proof", 401, "DPoP proof jwk is missing, private, weak or disagrees with alg")
            case .proofCrit: ("proof_crit", "invalid_dpop_proof", 401, "DPoP proof has a crit header Keybound does not understand")
            case .proofSignature: ("proof_signature", "invalid_dpop_proof", 401, "DPoP proof signature is not valid")
            case .proofClaims: ("proof_claims", "invalid_dpop_proof", 401, "DPoP proof claims are missing or of the wrong type")
            case .proofHTM: ("proof_htm", "invalid_dpop_proof", 401, "DPoP proof htm differs from the request method")
            case .proofHTU: ("proof_htu", "invalid_dpop_proof", 401, "DPoP proof htu is invalid or differs from the request URL")
            case .proofIAT: ("proof_iat", "invalid_dpop_proof", 401, "DPoP proof iat is outside the acceptance window")
            case .proofATH: ("proof_ath", "invalid_dpop_proof", 401, "DPoP proof ath is missing or differs from the access token hash")
            case .proofReplayed: ("proof_replayed", "invalid_dpop_proof", 401, "DPoP proof was already used")
            case .replayQuotaExceeded: ("replay_quota_exceeded", nil, 429, "the proof key holds its share of replay entries")
            case .nonceRequired: ("nonce_required", "use_dpop_nonce", 401, "Resource server requires nonce in DPoP proof")
            case .nonceInvalid: ("nonce_invalid", "use_dpop_nonce", 401, "DPoP proof nonce is invalid or stale")
            case .tokenMalformed: ("token_malformed", "invalid_token", 401, "access token is not a well-formed compact JWS")
            case .tokenTyp: ("token_typ", "invalid_token", 401, "access token typ is not accepted")
            case .tokenAlg: ("token_alg", "invalid_token", 401, "access token alg is missing or not allowed")
            case .tokenKidUnknown: ("token_kid_unknown", "invalid_token", 401, "no issuer key for the access token kid")
            case .tokenKeyMismatch: ("token_key_mismatch", "invalid_token", 401, "access token alg disagrees with the issuer key")
            case .tokenSignature: ("token_signature", "invalid_token", 401, "access token signature is not valid")
            case .tokenIssuer: ("token_issuer", "invalid_token", 401, "access token issuer is missing or not trusted")
            case .tokenAudience: ("token_audience", "invalid_token", 401, "access token audience is not accepted")
            case .tokenExpired: ("token_expired", "invalid_token", 401, "access token has expired")
            case .tokenNotYetValid: ("token_not_yet_valid", "invalid_token", 401, "access token is not yet valid")
            case .tokenClaims: ("token_claims", "invalid_token", 401, "access token claims are missing or of the wrong type")
            case .tokenBinding: ("token_binding", "invalid_token", 401, "Invalid DPoP key binding")
            case .tokenRevoked: ("token_revoked", "invalid_token", 401, "access token has been revoked")
            case .keyRevoked: ("key_revoked", "invalid_token", 401, "the bound client key has been revoked")
            case .insufficientUserAuthentication:
                ("insufficient_user_authentication", "insufficient_user_authentication", 401,
                 "the request requires newer or stronger user authentication")
            case .insufficientScope:
                ("insufficient_scope", "insufficient_scope", 403, "the access token lacks a scope the request requires")
            case .boundTokenAsBearer:
                ("bound_token_as_bearer", "invalid_token", 401, "a DPoP-bound access token was sent with the Bearer scheme")
            case .replayCacheFull: ("replay_cache_full", nil, 503, "replay cache is at capacity")
            case .replayStoreUnavailable: ("replay_store_unavailable", nil, 503, "replay store did not answer in time")
            case .internal: ("internal", nil, 500, "internal error in the crypto backend")
            case .replayStoreRestarted:
                ("replay_store_restarted", nil, 503, "replay store lost its data after the proof was made")
            case .invalidConfiguration: ("invalid_configuration", nil, 500, "the verifier configuration is invalid")
            case .invalidJWKS: ("invalid_jwks", nil, 500, "the JWKS document is invalid")
            case .invalidKeyEncoding: ("invalid_key_encoding", nil, 500, "the PEM or DER issuer key is malformed")
            case .privateKeyGiven: ("private_key_given", nil, 500, "a private key was given where a public key belongs")
            case .unusableKey: ("unusable_key", nil, 500, "the issuer key is of an unsupported type or fails the key rules")
            }
        }
    }
}

// MARK: - The CLI batch reader's status

/// The status the `keybound` CLI's batch reader reports for a batch line that is not a request (docs/design.md "Errors":
/// 950 `invalid_input_line`). It is not a ``KeyboundError`` (the library never produces it); it is defined here once
/// for the CLI's output and for the C ABI's status table, which describes it.
package enum InvalidInputLineStatus {
    package static let code = 950
    package static let name = "invalid_input_line"
    package static let rfcError = "invalid_request"
    package static let httpStatus = 400
    package static let summary = "the input line is not a request"
}
