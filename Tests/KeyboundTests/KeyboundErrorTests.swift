//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

@Suite("KeyboundError")
struct KeyboundErrorTests {
    @Test("codes, names, RFC errors and statuses are the pinned docs/design.md table")
    func pinnedTable() {
        let expected: [(Int, String, String?, Int)] = [
            (100, "missing_authorization", nil, 401), (101, "unsupported_scheme", nil, 401),
            (102, "malformed_authorization", "invalid_request", 400),
            (103, "missing_dpop_proof", "invalid_dpop_proof", 401),
            (104, "multiple_dpop_proofs", "invalid_request", 400),
            (200, "proof_malformed", "invalid_dpop_proof", 401), (201, "proof_typ", "invalid_dpop_proof", 401),
            (202, "proof_alg", "invalid_dpop_proof", 401), (203, "proof_jwk", "invalid_dpop_proof", 401),
            (204, "proof_crit", "invalid_dpop_proof", 401), (205, "proof_signature", "invalid_dpop_proof", 401),
            (206, "proof_claims", "invalid_dpop_proof", 401), (207, "proof_htm", "invalid_dpop_proof", 401),
            (208, "proof_htu", "invalid_dpop_proof", 401), (209, "proof_iat", "invalid_dpop_proof", 401),
            (210, "proof_ath", "invalid_dpop_proof", 401), (211, "proof_replayed", "invalid_dpop_proof", 401),
            (212, "replay_quota_exceeded", nil, 429),
            (220, "nonce_required", "use_dpop_nonce", 401), (221, "nonce_invalid", "use_dpop_nonce", 401),
            (300, "token_malformed", "invalid_token", 401), (301, "token_typ", "invalid_token", 401),
            (302, "token_alg", "invalid_token", 401), (303, "token_kid_unknown", "invalid_token", 401),
            (304, "token_key_mismatch", "invalid_token", 401), (305, "token_signature", "invalid_token", 401),
            (306, "token_issuer", "invalid_token", 401), (307, "token_audience", "invalid_token", 401),
            (308, "token_expired", "invalid_token", 401), (309, "token_not_yet_valid", "invalid_token", 401),
            (310, "token_claims", "invalid_token", 401), (311, "token_binding", "invalid_token", 401),
            (312, "token_revoked", "invalid_token", 401), (313, "key_revoked", "invalid_token", 401),
            (314, "insufficient_user_authentication", "insufficient_user_authentication", 401),
            (315, "insufficient_scope", "insufficient_scope", 403),
            (316, "bound_token_as_bearer", "invalid_token", 401),
            (500, "replay_cache_full", nil, 503), (501, "replay_store_unavailable", nil, 503),
            (502, "internal", nil, 500), (503, "replay_store_restarted", nil, 503),
        ]
        for (number, name, rfcError, status) in expected {
            let code = KeyboundError.Code(rawValue: number)
            #expect(code != nil, "code \(number) is defined")
            #expect(code?.name == name)
            #expect(code?.rfcError == rfcError)
            #expect(code?.httpStatus == status)
        }
        let requestCodes = KeyboundError.Code.allCodes.filter { $0.rawValue < 900 }
        #expect(requestCodes.count == expected.count)
        #expect(KeyboundError.Code(rawValue: 0) == nil)
        #expect(KeyboundError.Code(rawValue: 213) == nil)
        #expect(KeyboundError.Code(rawValue: 317) == nil)
        #expect(KeyboundError.Code(rawValue: 504) == nil)
        #expect(KeyboundError.Code(rawValue: 950) == nil, "950 is the CLI batch reader's, not a KeyboundError")
        let numbers = KeyboundError.Code.allCodes.map(\.rawValue)
        #expect(numbers == numbers.sorted(), "allCodes is in numeric order")
    }

    @Test("the reserved rows 212, 314, 315, 316 and 503 have the docs/design.md values and a summary")
    func reservedRows() {
        let reserved: [(KeyboundError.Code, Int)] = [
            (.replayQuotaExceeded, 212), (.insufficientUserAuthentication, 314), (.insufficientScope, 315),
            (.boundTokenAsBearer, 316), (.replayStoreRestarted, 503),
        ]
        for (code, number) in reserved {
            #expect(code.rawValue == number)
            #expect(!code.summary.isEmpty)
            #expect(KeyboundError(code).reason == code.summary)
        }
        // 429 holds in every mode (docs/design.md: "answered 429 with Retry-After in every mode, the token endpoint included").
        #expect(KeyboundError.Code.replayQuotaExceeded.tokenEndpointHTTPStatus == 429)
        #expect(KeyboundError.Code.insufficientScope.tokenEndpointHTTPStatus == 400)
        #expect(KeyboundError.Code.replayStoreRestarted.tokenEndpointHTTPStatus == 503)
    }

    @Test("equality compares the code only; the reason is kept")
    func equality() {
        let a = KeyboundError(.proofTyp, reason: "typ is JWT")
        let b = KeyboundError(.proofTyp)
        #expect(a == b)
        #expect(a != KeyboundError(.proofAlg))
        #expect(a.reason == "typ is JWT")
        #expect(b.reason == KeyboundError.Code.proofTyp.summary)
        #expect(a.description.contains("proof_typ (201)"))
    }

    @Test("token-endpoint mode answers 400 except server failures")
    func tokenEndpointStatus() {
        #expect(KeyboundError.Code.proofSignature.tokenEndpointHTTPStatus == 400)
        #expect(KeyboundError.Code.replayCacheFull.tokenEndpointHTTPStatus == 503)
        #expect(KeyboundError.Code.internal.tokenEndpointHTTPStatus == 500)
    }
}
