//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport
import Testing

@testable import Keybound

/// The `WWW-Authenticate` value given for `figure` in the RFC examples file: the first such header on or after
/// the figure's line.
private func wwwAuthenticate(figure: Int) throws -> String {
    let text = try TestVectors.rfcExamplesText()
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let start = try #require(lines.firstIndex { $0.hasPrefix("Figure \(figure):") })
    let line = try #require(lines[start...].first { $0.contains("WWW-Authenticate: ") })
    let range = try #require(line.range(of: "WWW-Authenticate: "))
    return String(line[range.upperBound...])
}

private func jsonObject(_ body: String) throws -> [String: String] {
    let object = try JSONSerialization.jsonObject(with: Data(body.utf8))
    return try #require(object as? [String: String])
}

@Suite("Challenge")
struct ChallengeTests {
    // MARK: RFC 9449 figures

    @Test("RFC 9449 Figure 15: a bare challenge with algs")
    func figure15() {
        #expect(Challenge.wwwAuthenticate(for: nil, algs: ["ES256", "PS256"]) == #"DPoP algs="ES256 PS256""#)
    }

    @Test("RFC 9449 Figure 16: token_binding")
    func figure16() {
        #expect(
            Challenge.wwwAuthenticate(for: KeyboundError(.tokenBinding), algs: ["ES256"])
                == #"DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256""#
        )
    }

    @Test("RFC 9449 Figure 24: nonce_required without algs")
    func figure24() {
        #expect(
            Challenge.wwwAuthenticate(for: KeyboundError(.nonceRequired), algs: [])
                == #"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
        )
    }

    @Test("the figures match Tests/Vectors/rfc-examples.md byte for byte")
    func figuresFromVectors() throws {
        #expect(try wwwAuthenticate(figure: 15) == Challenge.wwwAuthenticate(for: nil, algs: ["ES256", "PS256"]))
        #expect(
            try wwwAuthenticate(figure: 16)
                == Challenge.wwwAuthenticate(for: KeyboundError(.tokenBinding), algs: ["ES256"])
        )
        #expect(
            try wwwAuthenticate(figure: 24) == Challenge.wwwAuthenticate(for: KeyboundError(.nonceRequired), algs: []))
    }

    // MARK: Attributes present or not

    @Test("no error attributes when the code has no RFC error (RFC 6750 §3.1)")
    func nilRFCError() {
        for code in [KeyboundError.Code.missingAuthorization, .unsupportedScheme, .replayCacheFull, .internal] {
            #expect(code.rfcError == nil)
            #expect(Challenge.wwwAuthenticate(for: KeyboundError(code), algs: ["ES256"]) == #"DPoP algs="ES256""#)
            #expect(Challenge.wwwAuthenticate(for: KeyboundError(code), algs: []) == "DPoP")
        }
    }

    @Test("every code with an RFC error renders error and error_description")
    func everyCode() {
        for code in KeyboundError.Code.allCodes {
            let value = Challenge.wwwAuthenticate(for: KeyboundError(code), algs: ["EdDSA"])
            if let rfcError = code.rfcError {
                #expect(
                    value == "DPoP error=\"\(rfcError)\", error_description=\"\(code.summary)\", algs=\"EdDSA\"",
                    "\(code)"
                )
            } else {
                #expect(value == #"DPoP algs="EdDSA""#)
            }
        }
    }

    @Test("a bare challenge without algs is just the scheme")
    func bare() {
        #expect(Challenge.wwwAuthenticate(for: nil, algs: []) == "DPoP")
        #expect(Challenge.wwwAuthenticate(for: nil, algs: ["", ""]) == "DPoP")
        #expect(Challenge.wwwAuthenticate(for: KeyboundError(.proofHTU), algs: [""]).hasSuffix("request URL\""))
    }

    @Test("the reason is the description")
    func reason() {
        let error = KeyboundError(.proofIAT, reason: "iat is too far in the future")
        #expect(
            Challenge.wwwAuthenticate(for: error, algs: ["ES256", "ES384"])
                == #"DPoP error="invalid_dpop_proof", error_description="iat is too far in the future", "#
                + #"algs="ES256 ES384""#
        )
    }

    // MARK: Escaping

    @Test("quoted-string escaping, and no byte that could split a header")
    func escaping() {
        let quoted = KeyboundError(.proofHTU, reason: #"a "quoted" \ word"#)
        #expect(
            Challenge.wwwAuthenticate(for: quoted, algs: [])
                == #"DPoP error="invalid_dpop_proof", error_description="a \"quoted\" \\ word""#
        )
        let injected = KeyboundError(.proofHTU, reason: "x\r\nSet-Cookie: a=b\u{0}\t\u{7F}é😀")
        let value = Challenge.wwwAuthenticate(for: injected, algs: [])
        #expect(value == #"DPoP error="invalid_dpop_proof", error_description="x??Set-Cookie: a=b?????""#)
        #expect(value.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E })
    }

    @Test("algorithm names are sanitised too")
    func algsEscaping() {
        #expect(
            Challenge.wwwAuthenticate(for: nil, algs: ["ES256", "", "A B", "É", "x\"y", "a\\b", "c\r\nd"])
                == #"DPoP algs="ES256 A?B ? x\"y a\\b c??d""#
        )
    }

    // MARK: Token endpoint

    @Test("token-endpoint error body (RFC 9449 §5, Figure 20)")
    func tokenEndpoint() throws {
        let error = KeyboundError(.nonceRequired, reason: "Authorization server requires nonce in DPoP proof")
        let body = Challenge.tokenEndpointErrorBody(for: error)
        #expect(
            body
                == #"{"error":"use_dpop_nonce","#
                + #""error_description":"Authorization server requires nonce in DPoP proof"}"#
        )
        // Figure 20's body, whitespace aside.
        let figure20 =
            #"{"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof"}"#
        #expect(try jsonObject(body) == jsonObject(figure20))
        #expect(error.code.tokenEndpointHTTPStatus == 400)
        #expect(
            Challenge.tokenEndpointErrorBody(for: KeyboundError(.proofSignature))
                == #"{"error":"invalid_dpop_proof","error_description":"DPoP proof signature is not valid"}"#
        )
    }

    @Test("token-endpoint error names for codes without an RFC error")
    func tokenEndpointFallbacks() throws {
        let expected: [(KeyboundError.Code, String)] = [
            (.replayCacheFull, "server_error"), (.replayStoreUnavailable, "server_error"), (.internal, "server_error"),
            (.invalidConfiguration, "server_error"), (.invalidJWKS, "server_error"),
            (.missingAuthorization, "invalid_request"), (.unsupportedScheme, "invalid_request"),
        ]
        for (code, name) in expected {
            let object = try jsonObject(Challenge.tokenEndpointErrorBody(for: KeyboundError(code)))
            #expect(object == ["error": name, "error_description": code.summary], "\(code)")
        }
        for code in KeyboundError.Code.allCodes {
            let object = try jsonObject(Challenge.tokenEndpointErrorBody(for: KeyboundError(code)))
            #expect(object["error"] == code.rfcError ?? (code.httpStatus >= 500 ? "server_error" : "invalid_request"))
            #expect(object["error_description"] == code.summary)
        }
    }

    @Test("JSON string escaping round-trips")
    func jsonEscaping() throws {
        let reason = "q\" b\\ s/ nl\n cr\r tab\t bs\u{8} ff\u{C} nul\u{0} us\u{1F} del\u{7F} é 😀 \u{2028}"
        let body = Challenge.tokenEndpointErrorBody(for: KeyboundError(.proofMalformed, reason: reason))
        #expect(try jsonObject(body) == ["error": "invalid_dpop_proof", "error_description": reason])
        #expect(body.contains(#"q\" b\\ s/ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f"#))
        #expect(!body.unicodeScalars.contains { $0.value < 0x20 })
    }
}
