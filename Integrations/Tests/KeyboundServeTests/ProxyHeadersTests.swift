//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import HTTPTypes
import IntegrationsTestSupport
import Keybound
@testable import KeyboundServe
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing

/// The server reads an auth sub-request's headers in place from NIO's request head (`ProxyHeaders(HTTPHeaders)`):
/// it must see exactly what the whole-head conversion to HTTPTypes fields showed the checks before.
@Suite("keybound-serve reads the proxy's headers in place")
struct ProxyHeadersTests {
    /// The fields both readings must agree on.
    static func summary(_ headers: ProxyHeaders) -> [String] {
        func field(_ name: String, _ field: ProxyHeaders.Field) -> String {
            "\(name)=\(field.first ?? "-")x\(field.count)"
        }
        return [
            field("original-method", headers.originalMethod), field("original-uri", headers.originalURI),
            field("forwarded-method", headers.forwardedMethod), field("forwarded-uri", headers.forwardedURI),
            field("host", headers.host), field("forwarded-host", headers.forwardedHost),
            field("forwarded-proto", headers.forwardedProto), "authorization=\(headers.authorizations)",
            "dpop=\(headers.dpop)",
        ]
    }

    @Test func inPlaceReadingEqualsTheHTTPTypesConversion() {
        let heads: [HTTPHeaders] = [
            ["Host": "a", "X-Original-Method": "GET", "x-original-uri": "/api/a", "Authorization": "DPoP t",
             "DPoP": "p", "Accept": "*/*"],
            // Any case; repeated headers counted; a second Host is a value (the first is the authority).
            ["HOST": "a", "host": "b", "X-ORIGINAL-METHOD": "GET", "x-Original-Method": "POST", "dpop": "p1",
             "DPOP": "p2", "authorization": "DPoP t1", "Authorization": "DPoP t2"],
            ["X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/internal/a", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "api.example", "x-forwarded-host": "other.example"],
            // Same lengths as names that are read, but other names.
            ["Hosx": "a", "DPoQ": "b", "Authorizatiom": "c", "X-Original-Urj": "d", "X-Forwarded-Urj": "e",
             "X-Forwarded-Hosu": "f", "X-Original-Methoe": "g", "X-Forwarded-Protn": "h", "X-Forwarded-Methoe": "i"],
            // Values HTTPTypes legalises: white space at the ends, control characters.
            ["X-Original-Method": " GET\t", "X-Original-URI": "/api/\u{1}a", "DPoP": "p\u{7F}", "Authorization": ""],
        ]
        for head in heads {
            let inPlace = ProxyHeaders(head)
            let converted = ProxyHeaders(HTTPFields(head, splitCookie: false))
            #expect(Self.summary(inPlace) == Self.summary(converted), "\(head)")
            #expect(inPlace.authority == head.first(name: "host"))
        }
    }

    @Test func namesAreMatchedInAnyCaseAndOnlyExactly() {
        #expect(ProxyHeaders.slot("X-Original-URI") == .originalURI)
        #expect(ProxyHeaders.slot("x-forwarded-PROTO") == .forwardedProto)
        #expect(ProxyHeaders.slot("dPoP") == .dpop)
        for other in ["X-Original-UR", "X-Original-URIs", "X_Original_URI", "Dpo", "D\u{10}oP", "X-Original-Urj", ""] {
            #expect(ProxyHeaders.slot(other) == nil, "\(other)")
        }
    }

    @Test func valuesAreLegalisedAsHTTPTypesDoes() {
        for value in ["token", "", " a", "a ", "\ta\t", "a\u{0}b", "a\rb\nc", "x\u{7F}", "é ü", "a\tb"] {
            #expect(ProxyHeaders.legal(value) == HTTPField(name: .authorization, value: value).value, "\(value)")
        }
    }
}

extension AuthResponderTests {
    /// Proxy headers read in place as the server reads them: a repeated one is refused as before (500
    /// `bad_proxy_headers`, to nginx too), and a single set is verified.
    @Test func headersReadInPlaceAreCheckedAsBefore() throws {
        let responder = try responder()
        let fields = try nginx("GET", "/api/a", htu: "https://api.example/api/a")
        let accepted = responder.answerSynchronously(
            peer: Self.nginxPeer, headers: ProxyHeaders(HTTPHeaders(fields)), request: nil, now: Fixture.now,
            logger: AuthResponder.quiet)
        #expect(accepted.status == 200 && header(accepted, "X-Keybound-Subject") == "alice")
        var twice = HTTPHeaders(fields)
        twice.add(name: "x-original-uri", value: "/api/b")
        let repeated = responder.answerSynchronously(
            peer: Self.nginxPeer, headers: ProxyHeaders(twice), request: nil, now: Fixture.now,
            logger: AuthResponder.quiet)
        #expect(repeated.status == 500 && repeated.meantStatus == 500)
        #expect(repeated.fields.first(name: "X-Keybound-Error") == "bad_proxy_headers")
        #expect(header(repeated, "X-Keybound-Status") == "500")
    }

    /// Identity header names a configuration built in code may hold but a file may not (reserved, repeated in any
    /// case, not a header name) are left out: the answer never carries a header twice.
    @Test func identityNamesAFileWouldRefuseAreLeftOut() async throws {
        var configuration = self.configuration
        configuration.identity.subject = "Cache-Control"
        configuration.identity.scope = "X-Who"
        configuration.identity.claims = [.init(claim: "sub", header: "x-who"), .init(claim: "sub", header: "Bad Name")]
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: Fixture.issuer, audiences: [Fixture.audience],
                                    keys: try #require(configuration.issuers[0].localKeys))],
            policy: configuration.policy)
        let answer = await AuthResponder(configuration: configuration, verifier: verifier).answer(
            peer: Self.nginxPeer, headers: try nginx("GET", "/api/a", htu: "https://api.example/api/a"),
            now: Fixture.now)
        #expect(answer.status == 200)
        #expect(answer.fields["cache-control"] == ["no-store"])
        #expect(answer.fields["x-who"] == ["orders:read profile"])
        #expect(answer.fields.map { $0.name } == ["Cache-Control", "X-Who", "X-Keybound-Jkt"])
    }
}
