//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

/// The token `AuthorizationHeader.dpopToken` finds in `value`, as a String.
private func token(_ value: [UInt8]) throws(KeyboundError) -> String {
    try ByteView.with(value) { (view: ByteView) throws(KeyboundError) -> String in
        let range = try AuthorizationHeader.dpopToken(in: view)
        return view[range].decodeString()
    }
}

private func token(_ value: String) throws(KeyboundError) -> String {
    try token(Array(value.utf8))
}

struct AuthorizationCase: Sendable, CustomTestStringConvertible {
    let value: [UInt8]
    let code: KeyboundError.Code
    init(_ value: String, _ code: KeyboundError.Code) {
        self.value = Array(value.utf8)
        self.code = code
    }
    init(bytes: [UInt8], _ code: KeyboundError.Code) {
        self.value = bytes
        self.code = code
    }
    var testDescription: String {
        "\(value.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x\($0)" }.joined()) → \(code)"
    }
}

@Suite("AuthorizationHeader")
struct AuthorizationHeaderTests {
    @Test("DPoP in any case, one space, token68")
    func accepted() throws {
        #expect(try token("DPoP x") == "x")
        #expect(try token("dpop x") == "x")
        #expect(try token("DPOP x") == "x")
        #expect(try token("dPoP x") == "x")
        // RFC 9449 Figure 13's access token.
        #expect(
            try token("DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")
                == "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
        )
        // A JWT, every token68 character, and trailing padding.
        #expect(try token("DPoP eyJhbGciOiJFUzI1NiJ9.e30.c2ln") == "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
        #expect(try token("DPoP AZaz09-._~+/") == "AZaz09-._~+/")
        #expect(try token("DPoP a=") == "a=")
        #expect(try token("DPoP a==") == "a==")
    }

    @Test("the token range points into the value")
    func range() throws {
        let range = try ByteView.with(utf8: "DPoP abc") { (view: ByteView) throws(KeyboundError) in
            try AuthorizationHeader.dpopToken(in: view)
        }
        #expect(range == 5..<8)
    }

    @Test(
        "refused with the exact code",
        arguments: [
            AuthorizationCase("", .missingAuthorization),
            AuthorizationCase("Bearer x", .unsupportedScheme),
            AuthorizationCase("bearer x", .unsupportedScheme),
            AuthorizationCase("Bearer", .unsupportedScheme),
            AuthorizationCase("Basic dXNlcjpwYXNz", .unsupportedScheme),
            AuthorizationCase("DPoPx y", .unsupportedScheme),
            AuthorizationCase("DPoPx", .unsupportedScheme),
            AuthorizationCase("DPo x", .unsupportedScheme),
            AuthorizationCase("xDPoP x", .unsupportedScheme),
            AuthorizationCase(" DPoP x", .unsupportedScheme),  // leading whitespace: not a token
            AuthorizationCase("\tDPoP x", .unsupportedScheme),
            AuthorizationCase(" ", .unsupportedScheme),
            AuthorizationCase("DPöP x", .unsupportedScheme),  // non-ASCII in the scheme
            AuthorizationCase("DPoP", .malformedAuthorization),
            AuthorizationCase("dpop", .malformedAuthorization),
            AuthorizationCase("DPoP ", .malformedAuthorization),
            AuthorizationCase("DPoP  x", .malformedAuthorization),
            AuthorizationCase("DPoP x ", .malformedAuthorization),  // trailing whitespace
            AuthorizationCase("DPoP\tx", .malformedAuthorization),
            AuthorizationCase("DPoP x y", .malformedAuthorization),
            AuthorizationCase("DPoP x,y", .malformedAuthorization),
            AuthorizationCase("DPoP x, DPoP y", .malformedAuthorization),  // two credentials combined
            AuthorizationCase("DPoP a=b=c", .malformedAuthorization),  // "=" only as trailing padding
            AuthorizationCase("DPoP a=b", .malformedAuthorization),
            AuthorizationCase("DPoP =", .malformedAuthorization),
            AuthorizationCase("DPoP =a", .malformedAuthorization),
            AuthorizationCase("DPoP a=\"b\"", .malformedAuthorization),  // auth-param, not token68
            AuthorizationCase("DPoP x;y", .malformedAuthorization),
            AuthorizationCase("DPoP x\"", .malformedAuthorization),
            AuthorizationCase("DPoP x\r\nSet-Cookie: y", .malformedAuthorization),
            AuthorizationCase("DPoP é", .malformedAuthorization),  // non-ASCII in the token
            AuthorizationCase("DPoP xé", .malformedAuthorization),
            AuthorizationCase(bytes: Array("DPoP x".utf8) + [0x00], .malformedAuthorization),  // NUL after
            AuthorizationCase(bytes: Array("DPoP ".utf8) + [0x00] + Array("x".utf8), .malformedAuthorization),
            AuthorizationCase(bytes: Array("DPoP".utf8) + [0x00] + Array("x".utf8), .malformedAuthorization),
            AuthorizationCase(bytes: Array("DPoP x".utf8) + [0xFF], .malformedAuthorization),  // not UTF-8
            AuthorizationCase(bytes: [0x00] + Array("DPoP x".utf8), .unsupportedScheme),
            AuthorizationCase(bytes: [0x00], .unsupportedScheme),
        ]
    )
    func refused(_ example: AuthorizationCase) {
        #expect(throws: KeyboundError(example.code)) { try token(example.value) }
    }

    @Test("a missing header is missing_authorization")
    func missing() {
        #expect(throws: KeyboundError(.missingAuthorization)) {
            try AuthorizationHeader.dpopToken(in: nil as ByteView?)
        }
        #expect(throws: KeyboundError(.missingAuthorization)) {
            try ByteView.with([]) { (view: ByteView) throws(KeyboundError) in
                try AuthorizationHeader.dpopToken(in: Optional(view))
            }
        }
        #expect(throws: Never.self) {
            try ByteView.with(utf8: "DPoP x") { (view: ByteView) throws(KeyboundError) in
                try AuthorizationHeader.dpopToken(in: Optional(view))
            }
        }
    }

    @Test("reasons never echo the header")
    func reasonsDoNotEcho() {
        for value in ["Bearer secret-token", "DPoP secret token", "DPoP secret\"token"] {
            do {
                _ = try token(value)
                Issue.record("\(value) was accepted")
            } catch {
                #expect(!error.reason.contains("secret"))
            }
        }
    }
}
