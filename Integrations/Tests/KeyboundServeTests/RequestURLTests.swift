//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundServe
import Testing

@Suite("keybound-serve request URL")
struct RequestURLTests {
    func form(_ rule: ServeConfiguration.URLRule, _ uri: String, proto: String? = nil, host: String? = nil) -> String? {
        RequestURL.form(rule: rule, uri: uri, forwardedProto: proto, forwardedHost: host)
    }

    @Test func originPlusOriginalURIKeepsThePrefixTheProxyReceived() {
        #expect(form(.origin("https://api.example"), "/app/orders?x=1") == "https://api.example/app/orders?x=1")
    }

    @Test func externalBaseWithStrippedPrefixIsNotDoubled() {
        let rule = ServeConfiguration.URLRule.externalBase(base: "https://api.example/app", stripPrefix: "/app")
        #expect(form(rule, "/app/orders") == "https://api.example/app/orders")
        #expect(form(rule, "/app?q=1") == "https://api.example/app?q=1")
        #expect(form(rule, "/app") == "https://api.example/app")
        // Outside the prefix, or only sharing its first bytes: no URL (the request is refused).
        #expect(form(rule, "/apple/orders") == nil)
        #expect(form(rule, "/orders") == nil)
    }

    @Test func externalBaseAddsAPrefixTheProxyRemovedSoItIsNotLost() {
        let rule = ServeConfiguration.URLRule.externalBase(base: "https://api.example/app/", stripPrefix: "")
        #expect(form(rule, "/orders") == "https://api.example/app/orders")
        let internalPrefix = ServeConfiguration.URLRule.externalBase(base: "https://api.example/v2", stripPrefix: "/svc")
        #expect(form(internalPrefix, "/svc/orders") == "https://api.example/v2/orders")
    }

    @Test func forwardedOriginTakesTheFirstValues() {
        #expect(form(.forwardedOrigin, "/a", proto: "https, http", host: "api.example:8443, x")
            == "https://api.example:8443/a")
        #expect(form(.forwardedOrigin, "/a", proto: "ftp", host: "api.example") == nil)
        #expect(form(.forwardedOrigin, "/a", proto: "https", host: nil) == nil)
        #expect(form(.forwardedOrigin, "/a", proto: "https", host: "user@api.example") == nil)
        #expect(form(.forwardedOrigin, "/a", proto: "https", host: "api.example/evil") == nil)
    }

    @Test func onlyOriginFormURIsAreUsed() {
        #expect(form(.origin("https://api.example"), "https://other.example/a") == nil)
        #expect(form(.origin("https://api.example"), "") == nil)
        #expect(form(.origin("https://api.example"), "/a#frag") == nil)
    }

    @Test func prefixesMatchAtSegmentBoundaries() {
        #expect(RequestURL.matches(prefix: "/api", uri: "/api"))
        #expect(RequestURL.matches(prefix: "/api", uri: "/api/x"))
        #expect(RequestURL.matches(prefix: "/api", uri: "/api?x"))
        #expect(!RequestURL.matches(prefix: "/api", uri: "/apix"))
        #expect(RequestURL.matches(prefix: "/api/", uri: "/api/x"))
        #expect(!RequestURL.matches(prefix: "/api/", uri: "/api"))
        #expect(RequestURL.strip("/api", from: "/api/x") == "/x")
        #expect(RequestURL.strip("/api", from: "/apix") == nil)
    }

    @Test func pathsThatPartiesCouldReadDifferentlyAreNotCanonical() {
        for good in ["/", "/api/", "/api/orders?x=/../y", "/a%20b", "/a%3Bb", "/a.b/c..d", "/.../a", "/a/...", "/a/b/",
                     "/a?", "/a?//", "/.a/..b", "/%20"] {
            #expect(RequestURL.isCanonicalPath(good), "\(good)")
        }
        for bad in ["/api//admin", "/api/../admin", "/api/./admin", "/api/..", "/api/%2e%2E/admin", "/api%2Fadmin",
                    "/api%2fadmin", "/api/%61dmin", "/api\\admin", "/api%5cadmin", "/a%2", "/a%zz", "api", "//x",
                    "", "?/a", "/.", "/..", "/./", "/a//", "/a/.?x", "/a/..?x", "/a%", "/a%2?x", "/a/%2E", "/a\\?x"] {
            #expect(!RequestURL.isCanonicalPath(bad), "\(bad)")
        }
    }
}
