//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

// MARK: - Helpers

/// The canonical form of `uri` as a String, normalised into a buffer of exactly the documented size
/// (``HTU/canonicalCapacity(for:)``).
private func canonical(_ uri: String, code: KeyboundError.Code = .proofHTU) throws(KeyboundError) -> String {
    try canonical(Array(uri.utf8), code: code)
}

private func canonical(_ uri: [UInt8], code: KeyboundError.Code = .proofHTU) throws(KeyboundError) -> String {
    try ByteView.with(uri) { (view: ByteView) throws(KeyboundError) -> String in
        try withScratch(capacity: HTU.canonicalCapacity(for: view)) {
            (out: inout ScratchBuffer) throws(KeyboundError) -> String in
            try HTU.normalize(view, into: &out, failingWith: code)
            return out.view.decodeString()
        }
    }
}

/// `uri` normalised into a scratch buffer of exactly `capacity` bytes; on a refusal, also expects that nothing was
/// left written in the buffer.
private func normalized(_ uri: String, capacity: Int) -> Result<String, KeyboundError> {
    ByteView.with(utf8: uri) { (view: ByteView) -> Result<String, KeyboundError> in
        withScratch(capacity: capacity) { (out: inout ScratchBuffer) -> Result<String, KeyboundError> in
            do throws(KeyboundError) {
                try HTU.normalize(view, into: &out, failingWith: .proofHTU)
                return .success(out.view.decodeString())
            } catch {
                #expect(out.count == 0)
                return .failure(error)
            }
        }
    }
}

private func canonical(base: String, path: String, code: KeyboundError.Code = .proofHTU) throws(KeyboundError)
    -> String
{
    try ByteView.with(utf8: base) { (baseView: ByteView) throws(KeyboundError) -> String in
        try ByteView.with(utf8: path) { (pathView: ByteView) throws(KeyboundError) -> String in
            try withScratch(capacity: HTU.canonicalCapacity(base: baseView, originFormPath: pathView)) {
                (out: inout ScratchBuffer) throws(KeyboundError) -> String in
                try HTU.normalize(base: baseView, originFormPath: pathView, into: &out, failingWith: code)
                return out.view.decodeString()
            }
        }
    }
}

/// `HTU.matches` with the request URL normalised first.
private func matches(htu: String, request: String) throws(KeyboundError) -> Bool {
    try matches(htu: Array(htu.utf8), request: request)
}

/// `HTU.matches` against the request URL made of a base URL and an origin-form target.
private func matches(htu: String, base: String, target: String) throws(KeyboundError) -> Bool {
    let requestURL = try canonical(base: base, path: target, code: .invalidConfiguration)
    return try ByteView.with(utf8: htu) { (htuView: ByteView) throws(KeyboundError) -> Bool in
        try ByteView.with(utf8: requestURL) { (requestView: ByteView) throws(KeyboundError) -> Bool in
            try HTU.matches(htu: htuView, canonicalRequestURL: requestView)
        }
    }
}

private func matches(htu: [UInt8], request: String) throws(KeyboundError) -> Bool {
    let requestURL = try canonical(request, code: .invalidConfiguration)
    return try ByteView.with(htu) { (htuView: ByteView) throws(KeyboundError) -> Bool in
        try ByteView.with(utf8: requestURL) { (requestView: ByteView) throws(KeyboundError) -> Bool in
            try HTU.matches(htu: htuView, canonicalRequestURL: requestView)
        }
    }
}

// MARK: - docs/design.md "Contracts → htu" example table

struct HTUExample: Sendable, CustomTestStringConvertible {
    enum Outcome: Sendable { case equal, unequal, refused }
    /// A configured external base URL; `request` is then the origin-form request target.
    var base: String? = nil
    let request: String
    let htu: String
    let outcome: Outcome
    var testDescription: String { (base.map { "base \($0), target " } ?? "") + "\(request) vs \(htu): \(outcome)" }
}

private let designTable: [HTUExample] = [
    .init(request: "https://api.example.com/a/b", htu: "HTTPS://API.Example.COM/a/b", outcome: .equal),
    .init(request: "https://api.example.com/a", htu: "https://api.example.com:443/a", outcome: .equal),
    .init(request: "http://api.example.com/a", htu: "http://api.example.com:80/a", outcome: .equal),
    .init(request: "https://api.example.com", htu: "https://api.example.com/", outcome: .equal),
    .init(request: "https://api.example.com/~u", htu: "https://api.example.com/%7Eu", outcome: .equal),
    .init(request: "https://api.example.com/a%2Fb", htu: "https://api.example.com/a%2fb", outcome: .equal),
    .init(request: "https://api.example.com/a%2Fb", htu: "https://api.example.com/a/b", outcome: .unequal),
    .init(request: "https://api.example.com/a/c", htu: "https://api.example.com/a/./b/../c", outcome: .equal),
    .init(request: "https://api.example.com/a?x=1#f", htu: "https://api.example.com/a", outcome: .equal),
    .init(request: "https://api.example.com/a", htu: "https://api.example.com/a?y=2", outcome: .equal),
    .init(request: "https://api.example.com/A", htu: "https://api.example.com/a", outcome: .unequal),
    .init(request: "https://api.example.com/a/", htu: "https://api.example.com/a", outcome: .unequal),
    .init(request: "https://api.example.com/a", htu: "https://api.example.com:8443/a", outcome: .unequal),
    .init(request: "https://api.example.com/a", htu: "http://api.example.com/a", outcome: .unequal),
    .init(request: "https://api.example.com/a", htu: "https://user@api.example.com/a", outcome: .refused),
    .init(request: "https://api.example.com/a", htu: "/a", outcome: .refused),
    .init(request: "https://api.example.com/a", htu: "https://api.example.com./a", outcome: .unequal),
    .init(request: "https://[::1]:8443/a", htu: "https://[::1]:8443/a", outcome: .equal),
    .init(request: "https://rs.example.net/q/x^y", htu: "https://rs.example.net/q/x%5Ey", outcome: .equal),
    .init(
        base: "https://rs.example.net/api/", request: "/a/../../internal", htu: "https://rs.example.net/internal",
        outcome: .unequal),
    .init(
        base: "https://rs.example.net/api/", request: "/a/../../internal", htu: "https://rs.example.net/api/internal",
        outcome: .equal),
]

// MARK: - SECURITY.md D8 (request GET https://rs.example.com/api/items)

private let d8Request = "https://rs.example.com/api/items"

private let d8MustReject: [String] = [
    "http://rs.example.com/api/items",  // scheme
    "https://rs.example.org/api/items",  // host
    "https://api.rs.example.com/api/items",  // host
    "https://rs.example.com:8443/api/items",  // non-default port
    "https://rs.example.com/api/items/",  // trailing slash
    "https://rs.example.com/API/items",  // path case
    "https://rs.example.com/api%2Fitems",  // %2F is not "/"
    "https://rs.example.com./api/items",  // trailing-dot host: no folding
]

private let d8MustRefuse: [String] = [
    "https://user@rs.example.com/api/items",  // userinfo
    "https://user:pass@rs.example.com/api/items",  // userinfo with password
    "/api/items",  // relative
    "//rs.example.com/api/items",  // network-path reference
    " https://rs.example.com/api/items",  // surrounding whitespace
    "https://rs.example.com/api/items ",
    "\thttps://rs.example.com/api/items",
    "https://rs.example.com/api/items\n",
    "https://rs.example.com/api/items\r\n",
    "https://bücher.example/api/items",  // IDN (not punycode): non-ASCII refused, no IDN mapping
]

private let d8MustAccept: [String] = [
    "https://rs.example.com/api/items",
    "HTTPS://RS.EXAMPLE.COM/api/items",
    "https://rs.example.com:443/api/items",
    "https://rs.example.com/api/%69tems",  // unreserved "i" decoded
    "https://rs.example.com/%61pi/items",
    "https://rs.example.com/api/./x/../items",  // dot segments
    "https://rs.example.com/api/items?query=1",  // query ignored (docs/design.md table)
    "https://rs.example.com/api/items#frag",  // fragment ignored
    "https://rs.example.com/api/items?q#f",
    "https://rs.example.com:/api/items",  // empty port means the default
    "https://rs.example.com:0443/api/items",  // decimal port 443
    "https://%72s.example.com/api/items",  // unreserved escape in the host
    "https://%52S.EXAMPLE.COM/api/items",  // ... lower-cased once decoded
]

@Suite("HTU")
struct HTUTests {
    @Test("docs/design.md htu examples", arguments: designTable)
    func designExamples(_ example: HTUExample) throws {
        if let base = example.base {
            let request = try canonical(base: base, path: example.request)
            #expect(example.outcome != .refused)
            #expect(try (canonical(example.htu) == request) == (example.outcome == .equal))
            #expect(try matches(htu: example.htu, base: base, target: example.request) == (example.outcome == .equal))
            return
        }
        let request = try canonical(example.request)
        switch example.outcome {
        case .equal:
            #expect(try canonical(example.htu) == request)
            #expect(try matches(htu: example.htu, request: example.request))
        case .unequal:
            #expect(try canonical(example.htu) != request)
            #expect(try !matches(htu: example.htu, request: example.request))
        case .refused:
            #expect(throws: KeyboundError(.proofHTU)) { try canonical(example.htu) }
            #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: example.htu, request: example.request) }
        }
    }

    /// `HTU.matches` takes an `htu` equal to the canonical request URL without normalising it; that is sound only
    /// because every canonical form normalises to itself, which this checks for every URI of these tables that is
    /// accepted at all, and with a base URL.
    @Test("a canonical form normalises to itself (the byte-equal fast path of HTU.matches relies on it)")
    func canonicalFormsAreFixedPoints() throws {
        let uris = designTable.flatMap { [$0.htu, $0.request] } + d8MustReject + d8MustAccept + d8MustRefuse
            + [d8Request, "https://rs.example.net/q/x^y", "https://rs.example.net/caf\u{E9}/%c3%a9/%7e/%2f/%2E%2e/x",
               "HTTP://[::FFFF:7F00:1]:080/a/./b/../c?q#f", "https://h/%41%5a%61%7A%30%39%2D%2E%5F%7E"]
        var checked = 0
        for uri in uris {
            guard let once = try? canonical(uri) else { continue }
            #expect(try canonical(once) == once, "\(uri)")
            #expect(try matches(htu: once, request: uri), "\(uri)")
            checked += 1
        }
        #expect(checked >= 30)
        let joined = try canonical(base: "https://rs.example.net/api/", path: "/a/%2e%2E/../b%7e^")
        #expect(try canonical(joined) == joined)
    }

    /// `HTU.canonicalPrefix` lets a request URL skip normalisation, so it may give a length only for a URI that
    /// normalises to exactly that prefix of its own bytes. Checked over the tables, their canonical forms, and random strings built from the
    /// bytes where the rules have edges (case, escapes, dots, ports, query, brackets, non-ASCII).
    @Test("HTU.canonicalPrefix is given only for a URI that normalises to that prefix, and for the usual request URLs")
    func canonicalPrefixOnlyForFixedPoints() throws {
        func prefix(_ uri: [UInt8]) -> Int? { ByteView.with(uri) { HTU.canonicalPrefix($0) } }
        func isCanonical(_ uri: [UInt8]) -> Bool { prefix(uri) != nil }
        func holds(_ uri: [UInt8]) -> Bool {
            guard let length = prefix(uri) else { return true }
            return (try? canonical(uri)) == String(decoding: uri[0..<length], as: UTF8.self)
        }
        var tableURIs = designTable.flatMap { [$0.htu, $0.request] } + d8MustReject + d8MustAccept + d8MustRefuse
        tableURIs += tableURIs.compactMap { try? canonical($0) }
        var recognised = 0
        for uri in tableURIs {
            #expect(holds(Array(uri.utf8)), "\(uri)")
            if isCanonical(Array(uri.utf8)) { recognised += 1 }
        }
        #expect(recognised >= 10)
        // Random URIs over an alphabet of edge bytes, from a fixed seed.
        let pieces: [String] = ["http://", "https://", "HTTPS://", "h", "A", "a", "0", "1", "9", ".", "..", "/", "//", "?x",
                                ":", ":0", ":80", ":443", ":8443", ":65535", ":65536", ":00443", "%2E", "%41", "%7e",
                                "%", "?", "#", "[", "]", "@", "~", "-", "_", "!", "=", " ", "\u{E9}", "|", "x.y"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var accepted = 0
        for _ in 0..<20_000 {
            var uri = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            uri += (state >> 33) % 3 == 0 ? "http://" : "https://"
            for _ in 0..<(Int(state >> 40) % 12) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                uri += pieces[Int(state >> 33) % pieces.count]
            }
            let bytes = Array(uri.utf8)
            #expect(holds(bytes), "\(uri)")
            if isCanonical(bytes) { accepted += 1 }
        }
        #expect(accepted >= 100)
        // The usual request URLs take the fast path; anything normalisation would change does not.
        for uri in ["https://api.example.com/a/b", "http://127.0.0.1:8080/", "https://rs.example.net:8443/v1/items/42",
                    "https://h/a.b/c..d/.e/f./~x/:@!$&'()*+,;="] {
            #expect(prefix(Array(uri.utf8)) == uri.utf8.count, "\(uri)")
        }
        #expect(prefix(Array("https://h/a/b?x=1&y=/../%zz#f".utf8)) == "https://h/a/b".utf8.count)
        #expect(prefix(Array("https://h/a#?".utf8)) == "https://h/a".utf8.count)
        for uri in ["HTTPS://api.example.com/a", "https://API.example.com/a", "https://api.example.com",
                    "https://api.example.com:443/a", "http://api.example.com:80/a", "https://h:0443/a", "https://h:0/a",
                    "https://h:65536/a", "https://h:/a", "https://h/a/./b", "https://h/a/../b", "https://h/a/.",
                    "https://h/..", "https://h/%7e", "https://h/a%2Fb", "https://h/a?x=1 2", "https://h/a?\u{E9}",
                    "https://h?x=1", "https://h/./a?x",
                    "https://[::1]/a", "https://h/x^y", "https://h/caf\u{E9}", "https://u@h/a", "https:///a", "http:/h/a"] {
            #expect(!isCanonical(Array(uri.utf8)), "\(uri)")
        }
    }

    @Test("docs/design.md htu examples: canonical forms")
    func designCanonicalForms() throws {
        #expect(try canonical("HTTPS://API.Example.COM/a/b") == "https://api.example.com/a/b")
        #expect(try canonical("https://api.example.com:443/a") == "https://api.example.com/a")
        #expect(try canonical("http://api.example.com:80/a") == "http://api.example.com/a")
        #expect(try canonical("https://api.example.com") == "https://api.example.com/")
        #expect(try canonical("https://api.example.com/%7Eu") == "https://api.example.com/~u")
        #expect(try canonical("https://api.example.com/a%2fb") == "https://api.example.com/a%2Fb")
        #expect(try canonical("https://api.example.com/a/./b/../c") == "https://api.example.com/a/c")
        #expect(try canonical("https://api.example.com/a?x=1#f") == "https://api.example.com/a")
        #expect(try canonical("https://api.example.com./a") == "https://api.example.com./a")
        #expect(try canonical("https://[::1]:8443/a") == "https://[::1]:8443/a")
        #expect(try canonical("https://rs.example.net/q/x^y") == "https://rs.example.net/q/x%5Ey")
        #expect(
            try canonical(base: "https://rs.example.net/api/", path: "/a/../../internal")
                == "https://rs.example.net/api/internal")
    }

    @Test("SECURITY.md D8: must reject (unequal)", arguments: d8MustReject)
    func d8Reject(_ htu: String) throws {
        #expect(try !matches(htu: htu, request: d8Request))
    }

    @Test("SECURITY.md D8: must reject (refused with proof_htu)", arguments: d8MustRefuse)
    func d8Refuse(_ htu: String) throws {
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: htu, request: d8Request) }
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(htu) }
    }

    @Test("SECURITY.md D8: must accept", arguments: d8MustAccept)
    func d8Accept(_ htu: String) throws {
        #expect(try matches(htu: htu, request: d8Request))
        #expect(try canonical(htu) == d8Request)
    }

    @Test("SECURITY.md D8: punycode hosts are compared as written")
    func punycode() throws {
        #expect(try canonical("https://XN--BCHER-KVA.example/") == "https://xn--bcher-kva.example/")
        #expect(try !matches(htu: "https://xn--bcher-kva.example/api/items", request: d8Request))
    }

    @Test("SECURITY.md D8: a 1 MB htu is refused without crashing")
    func oneMegabyte() throws {
        let long = "https://rs.example.com/api/items/" + String(repeating: "a", count: 1 << 20)
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: long, request: d8Request) }
        // A long path of dot segments that would normalise to the request URL is refused by length too.
        let dots = "https://rs.example.com" + String(repeating: "/x/..", count: 200_000) + "/api/items"
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: dots, request: d8Request) }
        // The limit is inclusive.
        let atLimit = "https://rs.example.com/api/items?" + String(repeating: "q", count: HTU.maximumLength - 33)
        #expect(atLimit.utf8.count == HTU.maximumLength)
        #expect(try matches(htu: atLimit, request: d8Request))
        let justOver = "https://rs.example.com/api/items?" + String(repeating: "q", count: HTU.maximumLength - 32)
        #expect(justOver.utf8.count == HTU.maximumLength + 1)
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: justOver, request: d8Request) }
        // normalize itself handles a 1 MB input given room for it.
        #expect(try canonical(long).utf8.count == long.utf8.count)
    }

    // MARK: Percent-escapes

    @Test("percent-escapes of unreserved characters are decoded, others upper-cased")
    func percentEscapes() throws {
        #expect(try canonical("https://h/%7e") == "https://h/~")
        #expect(try canonical("https://h/%7E") == "https://h/~")
        #expect(try canonical("https://h/%41%5a%61%7a%30%39%2d%2e%5f%7e") == "https://h/AZaz09-._~")
        #expect(try canonical("https://h/a%2fb") == "https://h/a%2Fb")
        #expect(try canonical("https://h/a%2Fb") != (try canonical("https://h/a/b")))
        #expect(try canonical("https://h/%c3%a9") == "https://h/%C3%A9")
        #expect(try canonical("https://h/%3a%40%21%25%20") == "https://h/%3A%40%21%25%20")
        #expect(try canonical("https://h/%00") == "https://h/%00")
        // Decoding never creates a separator: an escaped "?" or "#" stays escaped and stays in the path.
        #expect(try canonical("https://h/a%3Fb%23c") == "https://h/a%3Fb%23c")
        // In the host: decoded and lower-cased when unreserved, upper-cased otherwise.
        #expect(try canonical("https://%41pi.example.com/") == "https://api.example.com/")
        #expect(try canonical("https://a%2ab.example.com/") == "https://a%2Ab.example.com/")
        #expect(try canonical("https://a%3ab/") == "https://a%3Ab/")
    }

    @Test(
        "malformed percent-escapes are refused",
        arguments: [
            "https://h/%G1", "https://h/%1G", "https://h/%4", "https://h/%", "https://h/a%4/b", "https://h/%%41",
            "https://h/%-1", "https://%G1.example/", "https://h%4/", "https://h%/",
        ]
    )
    func malformedEscapes(_ uri: String) {
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(uri) }
    }

    // MARK: Dot segments

    @Test("dot segments are removed (RFC 3986 §5.2.4)")
    func dotSegments() throws {
        let cases: [(String, String)] = [
            ("/a/b/..", "/a/"), ("/a/b/.", "/a/b/"), ("/a/b/../", "/a/"), ("/..", "/"), ("/.", "/"),
            ("/../a", "/a"), ("/./a", "/a"), ("/../../a", "/a"), ("/a/../../b", "/b"), ("/a/./b", "/a/b"),
            ("/a/b/../../..", "/"), ("/a//..", "/a/"), ("/a//../b", "/a/b"), ("/a/b/c/./../../g", "/a/g"),
            ("/mid/content=5/../6", "/mid/6"), ("/%2e%2E/a", "/a"), ("/a/.%2e", "/"), ("/a/%2E", "/a/"),
            ("/a/..b", "/a/..b"), ("/a/.../b", "/a/.../b"), ("/a/b..", "/a/b.."), ("/.a/", "/.a/"),
            ("/a//b", "/a//b"), ("//", "//"), ("/a/b/", "/a/b/"),
        ]
        for (path, expected) in cases {
            #expect(try canonical("https://h" + path) == "https://h" + expected, "\(path)")
        }
        // Dot segments never climb into the authority, and the query is dropped afterwards.
        #expect(try canonical("https://h/../../h2/x?../y") == "https://h/h2/x")
    }

    // MARK: Ports

    @Test("ports: default dropped per scheme, range 1–65535, decimal")
    func ports() throws {
        #expect(try canonical("https://h:443/") == "https://h/")
        #expect(try canonical("http://h:80/") == "http://h/")
        #expect(try canonical("http://h:443/") == "http://h:443/")
        #expect(try canonical("https://h:80/") == "https://h:80/")
        #expect(try canonical("https://h:1/") == "https://h:1/")
        #expect(try canonical("https://h:65535/") == "https://h:65535/")
        #expect(try canonical("https://h:8443") == "https://h:8443/")
        // Decided: an empty port means the default (RFC 3986 §3.2.3, §6.2.3) ...
        #expect(try canonical("https://h:/") == "https://h/")
        #expect(try canonical("http://h:") == "http://h/")
        // ... and a port is a decimal number, so leading zeros do not matter.
        #expect(try canonical("http://h:080/") == "http://h/")
        #expect(try canonical("https://h:0443/") == "https://h/")
        #expect(try canonical("https://h:08443/") == "https://h:8443/")
        #expect(try canonical("https://h:00000000000000000000000001/") == "https://h:1/")
        #expect(try canonical("https://[::1]:443/") == "https://[::1]/")
        #expect(try canonical("https://[::1]:/") == "https://[::1]/")
    }

    @Test(
        "bad ports are refused",
        arguments: [
            "https://h:0/", "https://h:00/", "https://h:65536/", "https://h:99999/", "https://h:4294967377/",
            "https://h:99999999999999999999999999/", "https://h:8a/", "https://h:-1/", "https://h:+80/",
            "https://h: 80/", "https://h:80:80/", "https://h::80/", "https://h:٣/", "https://[::1]:0/",
            "https://[::1]:65536/",
        ]
    )
    func badPorts(_ uri: String) {
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(uri) }
    }

    // MARK: IPv6

    @Test("IPv6 literals are validated and lower-cased")
    func ipv6() throws {
        #expect(try canonical("https://[::1]/a") == "https://[::1]/a")
        #expect(try canonical("https://[2001:DB8::A]/") == "https://[2001:db8::a]/")
        #expect(try canonical("HTTPS://[2001:db8:0:0:0:0:0:1]:8443") == "https://[2001:db8:0:0:0:0:0:1]:8443/")
        #expect(try canonical("https://[::]/") == "https://[::]/")
        #expect(try canonical("https://[1::]/") == "https://[1::]/")
        #expect(try canonical("https://[1:2:3:4:5:6:7::]/") == "https://[1:2:3:4:5:6:7::]/")
        #expect(try canonical("https://[::2:3:4:5:6:7:8]/") == "https://[::2:3:4:5:6:7:8]/")
        #expect(try canonical("https://[::FFFF:192.0.2.1]/") == "https://[::ffff:192.0.2.1]/")
        #expect(try canonical("https://[1:2:3:4:5:6:1.2.3.4]/") == "https://[1:2:3:4:5:6:1.2.3.4]/")
        // No RFC 5952 rewriting: a different spelling of the same address is a different htu.
        #expect(try !matches(htu: "https://[0:0:0:0:0:0:0:1]:8443/a", request: "https://[::1]:8443/a"))
    }

    @Test(
        "malformed IPv6 literals are refused",
        arguments: [
            "https://[::1/", "https://[]/", "https://[:]/", "https://[:::]/", "https://[1::2::3]/",
            "https://[1:2:3:4:5:6:7:8:9]/", "https://[1:2:3:4:5:6:7]/", "https://[1:2:3:4:5:6:7:8::]/",
            "https://[12345::]/", "https://[::1%25eth0]/", "https://[v1.x]/", "https://[::1]x/",
            "https://[::1]]/", "https://[::256.0.0.1]/", "https://[::01.2.3.4]/", "https://[::1.2.3]/",
            "https://[::1.2.3.4.5]/", "https://[1.2.3.4]/", "https://[::g]/", "https://[:1]/", "https://[1:]/",
            "https://[::1:]/", "https://x[::1]/", "https://[::1]@h/",
        ]
    )
    func badIPv6(_ uri: String) {
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(uri) }
    }

    // MARK: Scheme, authority, host

    @Test("scheme and host are lower-cased, ASCII only")
    func caseFolding() throws {
        #expect(try canonical("HTTP://EXAMPLE.COM/Path") == "http://example.com/Path")
        #expect(try canonical("hTtPs://Ex-Ample_1.~com/") == "https://ex-ample_1.~com/")
        #expect(try canonical("https://a!$&'()*+,;=b/") == "https://a!$&'()*+,;=b/")
        #expect(try canonical("https://192.0.2.1/") == "https://192.0.2.1/")
        #expect(try canonical("https://h/p:@!$&'()*+,;=-._~") == "https://h/p:@!$&'()*+,;=-._~")
    }

    @Test(
        "not an absolute http(s) URI with a host: refused",
        arguments: [
            "", "h", "/", "/a", "./a", "a/b", "?q", "#f", "1https://h/", "+http://h/", ":https://h/",
            "ftp://h/", "ws://h/", "httpss://h/", "htt://h/", "https+x://h/", "https;//h/", "urn:x:y",
            "https:", "https:/", "https:h/a", "https:/h/a", "https:///a", "https://", "https://?q", "https://#f",
            "https://:443/", "https://@h/", "https://u@h/", "https://u:p@h/", "https://h@/",
        ]
    )
    func notAbsolute(_ uri: String) {
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(uri) }
    }

    @Test(
        "bytes not allowed in a URI are refused",
        arguments: [
            "https://h/a b", "https://h/a\u{0}b", "https://h/a\u{7F}", "https://h/\u{1F}",
            "https://h/a\"b", "https://h/a<b", "https://h/a>b", "https://h/a\\b", "https://h /a",
            "https://h\u{0}/", "https://é/", "https://h\\@evil/", "https://h/a?b c", "https://h/a?\u{0}",
            "https://h/a#\u{7F}", "https://h/a#f g", "https://a_b%/", "https://h<b/", "https://h^/", "https://h|/",
            "https://h{/", "https://h`/",
        ]
    )
    func forbiddenBytes(_ uri: String) {
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(uri) }
    }

    @Test("query and fragment are dropped and only checked for visible ASCII")
    func queryAndFragment() throws {
        #expect(try canonical("https://h/a?x=|{}^%zz[]#frag#2") == "https://h/a")
        #expect(try canonical("https://h?x") == "https://h/")
        #expect(try canonical("https://h#f") == "https://h/")
        #expect(try canonical("https://h:8080?x") == "https://h:8080/")
        #expect(try canonical("https://h/a?") == "https://h/a")
        #expect(try canonical("https://h/a#") == "https://h/a")
        // Non-ASCII UTF-8 is tolerated there too (not compared); malformed UTF-8 is not.
        #expect(try canonical("https://h/a?q=é&r=日本#ü") == "https://h/a")
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(Array("https://h/a?q=".utf8) + [0xC3]) }
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(Array("https://h/a#".utf8) + [0xFF]) }
    }

    @Test("non-UTF-8 bytes are refused")
    func rawBytes() {
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(Array("https://h/a".utf8) + [0xFF]) }
        for bad: [UInt8] in [[0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82]] {
            #expect(throws: KeyboundError(.proofHTU)) { try canonical(Array("https://h/a".utf8) + bad + [0x2F]) }
        }
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(Array("https://h".utf8) + [0x80] + [0x2F]) }
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: [0xC0, 0xAF], request: d8Request) }
    }

    // MARK: Buffer handling

    @Test("the failure code is the caller's")
    func failureCode() {
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try canonical("ftp://h/", code: .invalidConfiguration)
        }
        #expect(throws: KeyboundError(.proofClaims)) { try canonical("https://h:0/", code: .proofClaims) }
    }

    @Test("output is appended, and left untouched on failure")
    func appendsAndRollsBack() throws {
        let result = try ByteView.with(utf8: "https://H:443") { (view: ByteView) throws(KeyboundError) -> String in
            try withScratch(capacity: 64) { (out: inout ScratchBuffer) throws(KeyboundError) -> String in
                out.append("X")
                try HTU.normalize(view, into: &out, failingWith: .proofHTU)
                out.append("|")
                _ = ByteView.with(utf8: "https://h/a/b/c/%zz") { (bad: ByteView) in
                    #expect(throws: KeyboundError(.proofHTU)) {
                        try HTU.normalize(bad, into: &out, failingWith: .proofHTU)
                    }
                }
                return out.view.decodeString()
            }
        }
        #expect(result == "Xhttps://h/|")
    }

    @Test("input longer than the buffer can hold is refused")
    func bufferTooSmall() throws {
        // The documented room is the input length plus one.
        for capacity in [0, 1, 8, 17, 18] {
            let outcome = normalized("https://h/a/../b", capacity: capacity)
            if capacity >= 17 {
                #expect(try outcome.get() == "https://h/b")
            } else {
                #expect(throws: KeyboundError(.proofHTU)) { try outcome.get() }
            }
        }
        // An empty path needs the extra byte.
        #expect(try canonical("https://h") == "https://h/")
    }

    // MARK: Base URL + origin-form path

    @Test("request URL from a base URL and an origin-form path")
    func baseAndPath() throws {
        #expect(try canonical(base: "https://api.example.com", path: "/a/b") == "https://api.example.com/a/b")
        #expect(try canonical(base: "https://api.example.com/", path: "/a/b") == "https://api.example.com/a/b")
        #expect(try canonical(base: "https://api.example.com/", path: "/a?x=1&y=/z") == "https://api.example.com/a")
        #expect(try canonical(base: "https://api.example.com", path: "/?x") == "https://api.example.com/")
        #expect(try canonical(base: "https://api.example.com", path: "/") == "https://api.example.com/")
        #expect(try canonical(base: "https://api.example.com/", path: "/") == "https://api.example.com/")
        #expect(
            try canonical(base: "HTTPS://API.example.com:443/v1/", path: "/items/%7e1")
                == "https://api.example.com/v1/items/~1"
        )
        #expect(try canonical(base: "https://api.example.com/v1", path: "/items") == "https://api.example.com/v1/items")
        #expect(try canonical(base: "http://[::1]:8080/", path: "/a") == "http://[::1]:8080/a")
        #expect(try canonical(base: "https://h:", path: "/a") == "https://h/a")
        // The path supplies a path, never a host.
        #expect(try canonical(base: "https://h", path: "//evil.example/x") == "https://h//evil.example/x")
        #expect(try canonical(base: "https://h/", path: "//evil.example/x") == "https://h//evil.example/x")
        // The target's dot segments stop at its own root: they never climb into the base's path.
        #expect(try canonical(base: "https://h/v1/", path: "/../x") == "https://h/v1/x")
        // "//" is an absolute-path of two empty segments: valid origin-form.
        #expect(try canonical(base: "https://h", path: "//") == "https://h//")
        // Equal to the htu a client computes for the public URL.
        let request = try canonical(base: "https://rs.example.com/", path: "/api/items?page=2")
        #expect(request == d8Request)
        #expect(try matches(htu: "https://RS.example.com:443/api/./items", request: request))
    }

    @Test(
        "origin-form path required",
        arguments: [
            "", "a", "*", "?x", "#f", "https://h/a", "/a#f", "/a?x#f", "/a b", "/a\u{0}", "/%zz",
            "/a/%4", "/a#", "/#", "/a\"b", "/a<b", "/a>b", "/a\\b", "/a\u{7F}",
        ]
    )
    func badOriginForm(_ path: String) {
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try canonical(base: "https://h", path: path, code: .invalidConfiguration)
        }
    }

    @Test(
        "the base URL must be absolute, with a host, without query or fragment",
        arguments: [
            "", "/", "h", "https://", "https:///", "https:/", "https:", "ftp://h/", "https://u@h/", "https://h/?q",
            "https://h?q", "https://h/#f", "https://h:0/", "https://h/ ", " https://h/",
        ]
    )
    func badBase(_ base: String) {
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try canonical(base: base, path: "/evil.example/x", code: .invalidConfiguration)
        }
    }

    // MARK: Raw characters (docs/design.md "Contracts → htu")

    @Test(
        "characters browsers and curl send raw in a path are percent-encoded with upper-case hex, on both sides",
        arguments: [
            ("|", "%7C"), ("[", "%5B"), ("]", "%5D"), ("^", "%5E"), ("{", "%7B"), ("}", "%7D"), ("`", "%60"),
        ]
    )
    func rawPathCharacters(_ raw: String, _ escaped: String) throws {
        #expect(try canonical("https://h/a" + raw + "b") == "https://h/a" + escaped + "b")
        #expect(try canonical("https://h/" + raw) == "https://h/" + escaped)
        // Raw on one side, escaped (either hex case) on the other: equal, whichever side is which.
        #expect(try matches(htu: "https://h/a" + escaped + "b", request: "https://h/a" + raw + "b"))
        #expect(try matches(htu: "https://h/a" + escaped.lowercased() + "b", request: "https://h/a" + raw + "b"))
        #expect(try matches(htu: "https://h/a" + raw + "b", request: "https://h/a" + escaped + "b"))
        #expect(try matches(htu: "https://h/a" + raw + "b", request: "https://h/a" + raw + "b"))
        #expect(try !matches(htu: "https://h/a" + raw + "c", request: "https://h/a" + raw + "b"))
        // Through a base URL too.
        #expect(try canonical(base: "https://h/v1/", path: "/a" + raw + "b?x") == "https://h/v1/a" + escaped + "b")
        #expect(try matches(htu: "https://h/v1/a" + escaped + "b", base: "https://h/v1/", target: "/a" + raw + "b"))
    }

    @Test("non-ASCII UTF-8 in a path is percent-encoded byte by byte, on both sides")
    func nonASCIIPath() throws {
        #expect(try canonical("https://h/é") == "https://h/%C3%A9")
        #expect(try canonical("https://h/caf\u{E9}/日本/😀") == "https://h/caf%C3%A9/%E6%97%A5%E6%9C%AC/%F0%9F%98%80")
        #expect(try matches(htu: "https://h/caf%c3%a9", request: "https://h/café"))
        #expect(try matches(htu: "https://h/café", request: "https://h/caf%C3%A9"))
        // No Unicode normalisation: NFC and NFD stay different.
        #expect(try !matches(htu: "https://h/cafe\u{301}", request: "https://h/caf\u{E9}"))
        // A raw byte that spells a dot is still a dot segment only when it is "." or "%2E".
        #expect(try canonical("https://h/a/%C3%A9/../b") == "https://h/a/b")
        #expect(try canonical(base: "https://h/", path: "/é/x?y") == "https://h/%C3%A9/x")
    }

    @Test(
        "bytes that stay refused in a path: controls, space, DEL, quote, angle brackets, backslash",
        arguments: Array(0x00...0x20) + [0x7F, 0x22, 0x3C, 0x3E, 0x5C]
    )
    func stillRefused(_ byte: Int) {
        let uri = Array("https://h/a".utf8) + [UInt8(byte)] + Array("b".utf8)
        #expect(throws: KeyboundError(.proofHTU)) { try canonical(uri) }
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: uri, request: "https://h/ab") }
        #expect(throws: KeyboundError(.proofHTU)) {
            try ByteView.with(Array("https://h/".utf8)) { (base: ByteView) throws(KeyboundError) in
                try ByteView.with(Array("/a".utf8) + [UInt8(byte)]) { (path: ByteView) throws(KeyboundError) in
                    try withScratch(capacity: HTU.canonicalCapacity(base: base, originFormPath: path)) {
                        (out: inout ScratchBuffer) throws(KeyboundError) in
                        try HTU.normalize(base: base, originFormPath: path, into: &out, failingWith: .proofHTU)
                    }
                }
            }
        }
    }

    @Test("a raw # in a request target is refused")
    func rawHashInTarget() {
        for path in ["/a#b", "/#", "/a?x#", "/a/%2E%2E#/b"] {
            #expect(throws: KeyboundError(.proofHTU)) { try canonical(base: "https://h/", path: path) }
        }
    }

    @Test("the room needed is the input plus one, plus two per byte that may be encoded; never more than 3n + 1")
    func capacity() throws {
        for (uri, room) in [("https://h", 10), ("https://h/a^b", 16), ("https://h/é", 17), ("https://h/a?^", 16)] {
            #expect(ByteView.with(Array(uri.utf8)) { HTU.canonicalCapacity(for: $0) } == room, "\(uri)")
        }
        // All raw characters: three bytes out for each one in.
        let raw = "https://h/" + String(repeating: "^", count: 1000)
        #expect(try canonical(raw).utf8.count == 10 + 3000)
        #expect(ByteView.with(Array(raw.utf8)) { HTU.canonicalCapacity(for: $0) } == 1010 + 1 + 2000)
        // One byte less than the room: refused, nothing written.
        let outcome = normalized("https://h/a^b", capacity: 15)
        #expect(throws: KeyboundError(.proofHTU)) { try outcome.get() }
        // maximumLength bounds the htu as written: an htu of that many raw "^" is accepted and compared.
        let longest = "https://h/" + String(repeating: "^", count: HTU.maximumLength - 10)
        #expect(try matches(htu: longest, request: "https://h/" + String(repeating: "%5E", count: HTU.maximumLength - 10)))
        #expect(throws: KeyboundError(.proofHTU)) { try matches(htu: longest + "^", request: "https://h/") }
    }

    // MARK: Base URL dot segments

    @Test("with a base URL, the target's dot segments in every spelling stop at the target's root")
    func baseDotSegments() throws {
        let base = "https://rs.example.net/api/"
        let cases: [(String, String)] = [
            ("/a/../../internal", "https://rs.example.net/api/internal"),
            ("/%2E%2E/internal", "https://rs.example.net/api/internal"),
            ("/%2e%2e/%2E%2e/internal", "https://rs.example.net/api/internal"),
            ("/.%2E/internal", "https://rs.example.net/api/internal"),
            ("/%2E./x/%2e/y", "https://rs.example.net/api/x/y"),
            ("/a/%2E%2E/%2E%2E/%2E%2E/b", "https://rs.example.net/api/b"),
            ("/..", "https://rs.example.net/api/"),
            ("/../..", "https://rs.example.net/api/"),
            ("/../../../", "https://rs.example.net/api/"),
            ("/%2E%2E", "https://rs.example.net/api/"),
            ("/.", "https://rs.example.net/api/"),
            ("/./.././%2e%2E/..?x=../..", "https://rs.example.net/api/"),
            ("/a/b/..", "https://rs.example.net/api/a/"),
            ("/", "https://rs.example.net/api/"),
            ("/x", "https://rs.example.net/api/x"),
        ]
        for (target, expected) in cases {
            #expect(try canonical(base: base, path: target) == expected, "\(target)")
            // The same without the base's trailing slash.
            #expect(try canonical(base: "https://rs.example.net/api", path: target) == expected, "\(target)")
        }
        // An htu naming the path above the base never matches.
        #expect(try !matches(htu: "https://rs.example.net/internal", base: base, target: "/%2E%2E/internal"))
        #expect(try matches(htu: "https://rs.example.net/api/internal", base: base, target: "/%2E%2E/internal"))
        // The base's own dot segments are removed on their own, then its trailing slash.
        #expect(try canonical(base: "https://h/v1/x/../", path: "/a") == "https://h/v1/a")
        #expect(try canonical(base: "https://h/v1/%2E", path: "/a") == "https://h/v1/a")
        #expect(try canonical(base: "https://h/v1/..", path: "/../a") == "https://h/a")
        #expect(try canonical(base: "https://h//", path: "/a") == "https://h//a")
        // A base of only a host: the target alone.
        #expect(try canonical(base: "https://h", path: "/../../a") == "https://h/a")
        #expect(try canonical(base: "https://h/", path: "/..") == "https://h/")
    }
}

/// The same rules end to end: signed proofs against ``Verifier`` (whose request-URL buffer is sized by
/// ``HTU/canonicalCapacity(for:)``).
@Suite("htu through the verifier")
struct HTUVerifierTests {
    @Test("raw characters and non-ASCII UTF-8 in the request URL match their escapes in htu, either way round")
    func rawCharacters() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let client = try SigningKey.generate(.es256)
        let token = try world.token(for: client)
        let raw = "https://api.example.com/q/x^y/é|[1]{`}"
        let escaped = "https://api.example.com/q/x%5ey/%C3%A9%7c%5B1%5D%7B%60%7D"
        for (n, (proofURL, requestURL)) in [(escaped, raw + "?a=é"), (raw, escaped), (raw, raw)].enumerated() {
            let proof = try DPoPBuilder.proof(
                key: client, method: "GET", url: proofURL, iat: world.now, jti: "raw-\(n)", accessToken: token)
            let request = DPoPRequest(method: "GET", url: requestURL, authorization: "DPoP \(token)", dpop: [proof])
            #expect(throws: Never.self) { try verifier.verify(request, now: world.now) }
        }
        let proof = try DPoPBuilder.proof(
            key: client, method: "GET", url: raw, iat: world.now, jti: "raw-x", accessToken: token)
        for refused in ["https://api.example.com/q/x y", "https://api.example.com/q/x\"y", "https://api.example.com/q/x\\y"] {
            let request = DPoPRequest(method: "GET", url: refused, authorization: "DPoP \(token)", dpop: [proof])
            #expect(throws: KeyboundError(.proofHTU)) { try verifier.verify(request, now: world.now) }
        }
    }

    @Test("behind a proxy: the target's dot segments stay under the base URL's path")
    func baseURLDotSegments() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.externalBaseURL = "https://api.example.com/api/" }
        let client = try SigningKey.generate(.es256)
        let token = try world.token(for: client)
        let cases: [(htu: String, target: String, ok: Bool)] = [
            ("https://api.example.com/api/internal", "/a/../../internal", true),
            ("https://api.example.com/api/internal", "/%2E%2E/%2e%2E/internal?x=1", true),
            ("https://api.example.com/internal", "/a/../../internal", false),
            ("https://api.example.com/internal", "/%2E%2E/internal", false),
            ("https://api.example.com/api/", "/../..", true),
            ("https://api.example.com/api/x^y", "/x^y", true),
        ]
        for (n, c) in cases.enumerated() {
            let proof = try DPoPBuilder.proof(
                key: client, method: "GET", url: c.htu, iat: world.now, jti: "base-\(n)", accessToken: token)
            let request = DPoPRequest(method: "GET", url: c.target, authorization: "DPoP \(token)", dpop: [proof])
            if c.ok {
                #expect(throws: Never.self, "\(c.target)") { try verifier.verify(request, now: world.now) }
            } else {
                #expect(throws: KeyboundError(.proofHTU), "\(c.target)") { try verifier.verify(request, now: world.now) }
            }
        }
    }
}
