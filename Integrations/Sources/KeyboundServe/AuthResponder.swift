//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import HTTPTypes
public import Keybound
import KeyboundServerSupport
public import Logging
public import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The answer to one auth sub-request: a status and headers (the body is a small JSON refusal, or empty).
public struct AuthAnswer: Sendable {
    public var status: Int
    /// The headers as keybound-serve writes them (HTTP/1 field lines, in order); ``headers`` is the same as HTTPTypes
    /// fields.
    public var fields: HTTPHeaders
    public var headers: HTTPFields {
        get { HTTPFields(fields, splitCookie: false) }
        set { fields = HTTPHeaders(newValue) }
    }
    public var body: String
    /// What the log line says about the outcome: `ok`, a Keybound error code name, or the service's own reason.
    public var outcome: String
    /// The status the answer means: `status`, or for a refusal sent to nginx as 401 the real one
    /// (`X-Keybound-Status`).
    public var meantStatus: Int
    /// The original request's method and path (no query), for the log line; `nil` when the proxy did not say.
    public var method: String? = nil
    public var path: String? = nil
}

/// Names of the headers `keybound-serve` sends besides the identity headers.
public enum ResponseHeaders {
    /// The real refusal status, on every refusal; nginx maps it to the client's status (docs/sidecar.md).
    public static let status = HTTPField.Name("X-Keybound-Status")!
    /// The RFC 6750 / RFC 9449 error (`invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`, …), or the
    /// service's own (`untrusted_peer`, `no_route`).
    public static let error = HTTPField.Name("X-Keybound-Error")!
    /// Keybound's error code name (`proof_replayed`, …).
    public static let code = HTTPField.Name("X-Keybound-Code")!
    static let dpopNonce = HTTPField.Name("DPoP-Nonce")!

    /// Names the identity headers may not take.
    static let reserved: Set<String> = [
        "x-keybound-status", "x-keybound-error", "x-keybound-code", "dpop-nonce", "retry-after", "www-authenticate",
        "cache-control", "content-type", "content-length", "authorization", "dpop", "connection", "host",
        "transfer-encoding",
    ]

    /// An RFC 9110 token (the characters of a header name).
    static func isHeaderName(_ text: String) -> Bool {
        !text.isEmpty && HTTPField.Name(text) != nil
            && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains($0) }
    }

    /// A header value that goes out as is: visible ASCII and inner spaces only. Claims with anything else are
    /// left out rather than altered.
    static func isSafeValue(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count <= 4096, utf8.first != 0x20, utf8.last != 0x20 else { return false }
        return utf8.withContiguousStorageIfAvailable { bytes in
            var safe = true
            for byte in bytes { safe = safe && byte >= 0x20 && byte < 0x7F }
            return safe
        } ?? utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}

/// Answers auth sub-requests for one loaded configuration: finds the proxy by the peer address, forms the original
/// request from that proxy's headers, picks the route's ``Requirements`` and verifies.
public struct AuthResponder: Sendable {
    public let configuration: ServeConfiguration
    public let verifier: Verifier
    let proxies: [String: ServeConfiguration.Proxy]
    /// The identity headers' names (`nil`: not sent) and the claim headers, checked once here rather than per
    /// answer.
    let identityNames: (subject: String?, scope: String?, clientID: String?, jkt: String?)
    let claimHeaders: [ServeConfiguration.IdentityHeaders.Claim]

    public init(configuration: ServeConfiguration, verifier: Verifier) {
        self.configuration = configuration
        self.verifier = verifier
        var proxies: [String: ServeConfiguration.Proxy] = [:]
        for proxy in configuration.proxies {
            for address in proxy.addresses { proxies[address] = proxy }
        }
        self.proxies = proxies
        // A configuration read from a file has valid, distinct, unreserved names (ServeConfiguration refuses the
        // rest); one built in code may not: an invalid, reserved or repeated name is left out, so that the answer
        // never carries a header twice.
        let identity = configuration.identity
        var seen = Set<String>()
        func valid(_ name: String?) -> String? {
            guard let name, HTTPField.Name(name) != nil, !ResponseHeaders.reserved.contains(name.lowercased()),
                seen.insert(name.lowercased()).inserted
            else { return nil }
            return name
        }
        identityNames = (valid(identity.subject), valid(identity.scope), valid(identity.clientID), valid(identity.jkt))
        claimHeaders = identity.claims.filter { valid($0.header) != nil }
    }

    /// The original request a trusted proxy describes.
    public struct Original: Sendable, Hashable {
        public var method: String
        /// The original URI as the proxy sent it.
        public var uri: String
        /// The URI routes are matched against: `uri` without the proxy's `strip_prefix`.
        public var routeURI: String
        /// The request URL the proof's `htu` must match.
        public var url: String
    }

    /// The auth sub-request itself: its method, request target (path and query, as received) and authority
    /// (`Host`). Envoy's `ext_authz` describes the original request with these; nginx and Traefik with headers.
    public struct SubRequest: Sendable, Hashable {
        public var method: String
        public var target: String
        public var authority: String?

        public init(method: String, target: String, authority: String? = nil) {
            self.method = method
            self.target = target
            self.authority = authority
        }
    }

    /// The request headers a proxy describes the original request with, named once.
    static let originalMethod = HTTPField.Name("X-Original-Method")!
    static let originalURI = HTTPField.Name("X-Original-URI")!
    static let forwardedMethod = HTTPField.Name("X-Forwarded-Method")!
    static let forwardedURI = HTTPField.Name("X-Forwarded-Uri")!
    static let host = HTTPField.Name("Host")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// The original method and URI a proxy describes, and the host `origin = "forwarded"` reads (every value
    /// present, so that a repeated header is seen); `nil` when a header is missing or repeated, or the sub-request's
    /// path does not lie under Envoy's `path_prefix`.
    static func described(
        _ headers: ProxyHeaders, proxy: ServeConfiguration.Proxy, request: SubRequest?
    ) -> (method: String, uri: String, hosts: ProxyHeaders.Field)? {
        let methods: ProxyHeaders.Field
        let uris: ProxyHeaders.Field
        switch proxy.style {
        case .nginx:
            methods = headers.originalMethod
            uris = headers.originalURI
        case .traefik:
            methods = headers.forwardedMethod
            uris = headers.forwardedURI
        case .envoy:
            // The check request's path is path_prefix + the original path and query: the prefix comes off once,
            // at a segment boundary, and what is left must be a path of its own.
            guard let request, let prefix = proxy.pathPrefix, !prefix.isEmpty,
                let uri = RequestURL.strip(prefix, from: request.target), uri.hasPrefix("/")
            else { return nil }
            return (request.method, uri, request.authority.map { .init(first: $0, count: 1) } ?? headers.host)
        }
        guard methods.count == 1, uris.count == 1, let method = methods.first, let uri = uris.first else { return nil }
        return (method, uri, headers.forwardedHost)
    }

    /// The original method, URI and URL, or `nil` when a header is missing, repeated or malformed (for Envoy: when
    /// `request`, the check request, is missing or its path lies outside `path_prefix`).
    public static func original(
        _ headers: HTTPFields, proxy: ServeConfiguration.Proxy, request: SubRequest? = nil
    ) -> Original? {
        original(ProxyHeaders(headers), proxy: proxy, request: request)
    }

    static func original(_ headers: ProxyHeaders, proxy: ServeConfiguration.Proxy, request: SubRequest?) -> Original? {
        guard let (method, uri, hosts) = described(headers, proxy: proxy, request: request),
            !method.isEmpty, method.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        let proto = headers.forwardedProto
        guard proto.count <= 1, hosts.count <= 1,
            let url = RequestURL.form(rule: proxy.url, uri: uri, forwardedProto: proto.first, forwardedHost: hosts.first)
        else { return nil }
        var routeURI = uri
        if case .externalBase(_, let prefix) = proxy.url { routeURI = RequestURL.strip(prefix, from: uri) ?? uri }
        if !routeURI.hasPrefix("/") { routeURI = "/" + routeURI }
        return Original(method: method, uri: uri, routeURI: routeURI, url: url)
    }

    /// The route for a URI's path (after the proxy's `strip_prefix`): the longest matching prefix, or `nil` (refused: no route, no access).
    public func route(for uri: String) -> ServeConfiguration.Route? {
        let path = RequestURL.path(of: uri)
        var best: ServeConfiguration.Route?
        for route in configuration.routes where RequestURL.matches(prefix: route.prefix, uri: path) {
            // The first of the longest prefixes.
            if best.map({ route.prefix.utf8.count > $0.prefix.utf8.count }) ?? true { best = route }
        }
        return best
    }

    /// Answers one sub-request from `peer` (the TCP peer's IP address as text, `nil` when unknown); `request` is
    /// the sub-request's own method, target and authority (read for Envoy only). A refusal is logged to `logger` at
    /// debug level (code and status only). Through the verifier's `async` entry point: any replay store.
    public func answer(
        peer: String?, headers: HTTPFields, request: SubRequest? = nil, now: Int64,
        logger: Logger = AuthResponder.quiet
    ) async -> AuthAnswer {
        await answer(peer: peer, headers: ProxyHeaders(headers), request: request, now: now, logger: logger)
    }

    func answer(
        peer: String?, headers: ProxyHeaders, request: SubRequest?, now: Int64, logger: Logger
    ) async -> AuthAnswer {
        switch prepare(peer: peer, headers: headers, request: request, now: now) {
        case .failure(let early):
            return early.answer
        case .success(let pending):
            do throws(Refusal) {
                return finish(pending, .success(try await pending.check.verify(
                    method: pending.original.method, url: pending.url, authorizations: pending.authorizations,
                    dpop: pending.dpop, logger: logger)))
            } catch {
                return finish(pending, .failure(error))
            }
        }
    }

    /// The same answer through the verifier's synchronous entry point, on the calling thread: for a verifier whose
    /// replay store answers in process (``ServeRuntime/answersInline``), which keybound-serve's HTTP server calls
    /// on the event loop that read the request.
    public func answerSynchronously(
        peer: String?, headers: HTTPFields, request: SubRequest? = nil, now: Int64,
        logger: Logger = AuthResponder.quiet
    ) -> AuthAnswer {
        answerSynchronously(peer: peer, headers: ProxyHeaders(headers), request: request, now: now, logger: logger)
    }

    func answerSynchronously(
        peer: String?, headers: ProxyHeaders, request: SubRequest?, now: Int64, logger: Logger
    ) -> AuthAnswer {
        let prepared = prepare(peer: peer, headers: headers, request: request, now: now).map { pending in
            finish(pending, Result { () throws(Refusal) in
                try pending.check.verifySynchronously(
                    method: pending.original.method, url: pending.url, authorizations: pending.authorizations,
                    dpop: pending.dpop, logger: logger)
            })
        }
        return prepared.answer
    }

    /// A sub-request that passed the service's own checks (trusted peer, proxy headers, canonical path, a route):
    /// what is left is the verification.
    struct Pending {
        var original: Original
        var style: ServeConfiguration.ProxyStyle
        var check: RequestCheck
        var url: RequestURLParts
        var authorizations: [String]
        var dpop: [String]
    }

    /// A refusal of the service's own, made before any verification.
    struct Early: Error {
        var answer: AuthAnswer
    }

    /// The service's own checks, in order: peer, proxy headers, canonical path, route.
    func prepare(peer: String?, headers: ProxyHeaders, request: SubRequest?, now: Int64) -> Result<Pending, Early> {
        guard let peer, let proxy = proxies[PeerAddress.normalise(peer)] else {
            return .failure(Early(answer: Self.serviceRefusal(403, error: "untrusted_peer", style: .traefik)))
        }
        guard let original = Self.original(headers, proxy: proxy, request: request) else {
            return .failure(Early(answer: Self.serviceRefusal(500, error: "bad_proxy_headers", style: proxy.style)))
        }
        guard RequestURL.isCanonicalPath(original.uri) else {
            return .failure(Early(answer: Self.labelled(
                Self.serviceRefusal(400, error: "invalid_request", style: proxy.style), original)))
        }
        guard let route = route(for: original.routeURI) else {
            return .failure(Early(answer: Self.labelled(
                Self.serviceRefusal(403, error: "no_route", style: proxy.style), original)))
        }
        // The URL is formed already (by the proxy's rule): handed over as it is.
        let check = RequestCheck(
            verifier: verifier, urlSource: .originForm, requirements: route.requirements, now: { now })
        return .success(Pending(
            original: original, style: proxy.style, check: check,
            url: RequestURLParts(target: original.url, authority: nil, forwardedProto: nil, forwardedHost: nil),
            authorizations: headers.authorizations, dpop: headers.dpop))
    }

    /// The answer for a verification's result.
    func finish(_ pending: Pending, _ result: Result<VerifiedRequest, Refusal>) -> AuthAnswer {
        switch result {
        case .success(let verified): Self.labelled(success(verified), pending.original)
        case .failure(let error): Self.labelled(refusal(error, style: pending.style), pending.original)
        }
    }

    /// `answer` with the original method and path (no query) for the log line.
    static func labelled(_ answer: AuthAnswer, _ original: Original) -> AuthAnswer {
        var answer = answer
        answer.method = original.method
        answer.path = String(RequestURL.path(of: original.uri))
        return answer
    }

    static let dpop = HTTPField.Name("DPoP")!

    /// A logger that drops everything.
    public static let quiet = Logger(label: "keybound-serve", factory: { _ in SwiftLogNoOpLogHandler() })

    func success(_ verified: VerifiedRequest) -> AuthAnswer {
        // Field lines appended as they are (`HTTPHeaders.add` checks each name again): the names are ASCII, distinct,
        // none is `Connection` nor one of the service's own (the configuration refuses the rest).
        var headers: [(String, String)] = []
        headers.reserveCapacity(6 + claimHeaders.count)
        headers.append(("Cache-Control", "no-store"))
        func put(_ name: String?, _ value: String?) {
            guard let name, let value, ResponseHeaders.isSafeValue(value) else { return }
            headers.append((name, value))
        }
        put(identityNames.subject, verified.subject)
        put(identityNames.scope, verified.scope)
        put(identityNames.clientID, verified.clientID)
        put(identityNames.jkt, verified.jkt)
        for claim in claimHeaders {
            put(claim.header, verified.claim(claim.claim).flatMap { Self.headerValue(ofClaim: $0) })
        }
        if let nonce = verified.dpopNonce { headers.append(("DPoP-Nonce", nonce)) }
        return AuthAnswer(status: 200, fields: HTTPHeaders(headers), body: "", outcome: "ok", meantStatus: 200)
    }

    /// A claim's raw JSON as a header value: a string without escapes as its text, a number or boolean as written;
    /// anything else (objects, arrays, null, escaped strings) is left out.
    static func headerValue(ofClaim json: String) -> String? {
        let bytes = Array(json.utf8)
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "\"") {
            guard bytes.count >= 2, bytes.last == UInt8(ascii: "\""), !bytes.contains(UInt8(ascii: "\\")) else {
                return nil
            }
            return String(decoding: bytes[1..<(bytes.count - 1)], as: UTF8.self)
        }
        if json == "true" || json == "false" { return json }
        let numeric = bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || "+-.eE".utf8.contains($0) }
        return numeric ? json : nil
    }

    /// A verification refusal (status, challenge, nonce, `Retry-After` and body as every integration sends them),
    /// with the real status in `X-Keybound-Status`; to nginx, every refusal travels as 401 (`auth_request` turns
    /// anything but 2xx, 401 and 403 into 500, and copies `WWW-Authenticate` only from a 401). Traefik and Envoy
    /// pass any status to the client, so they get the real one.
    func refusal(_ refusal: Refusal, style: ServeConfiguration.ProxyStyle) -> AuthAnswer {
        let code = refusal.error.code
        var headers: [(String, String)] = []
        headers.reserveCapacity(8)
        headers.append(("Cache-Control", "no-store"))
        headers.append(("Content-Type", "application/json"))
        if let challenge = refusal.wwwAuthenticate { headers.append(("WWW-Authenticate", challenge)) }
        headers.append(("X-Keybound-Status", String(refusal.status)))
        headers.append(("X-Keybound-Error", code.rfcError ?? "invalid_request"))
        headers.append(("X-Keybound-Code", code.name))
        if let nonce = refusal.dpopNonce { headers.append(("DPoP-Nonce", nonce)) }
        // 212 replay_quota_exceeded (429): the seconds the proof key waits; nginx passes it on (docs/sidecar.md).
        if let retryAfter = refusal.retryAfter { headers.append(("Retry-After", retryAfter)) }
        // To nginx every refusal is a 401: auth_request then copies the challenge itself, for every status.
        let sent = style == .nginx ? 401 : refusal.status
        return AuthAnswer(
            status: sent, fields: HTTPHeaders(headers), body: refusal.body, outcome: code.name,
            meantStatus: refusal.status)
    }

    /// A refusal of the service's own (no verification ran): untrusted peer, bad proxy headers, no route.
    static func serviceRefusal(_ status: Int, error: String, style: ServeConfiguration.ProxyStyle) -> AuthAnswer {
        let headers: HTTPHeaders = [
            "Cache-Control": "no-store", "Content-Type": "application/json", "X-Keybound-Status": String(status),
            "X-Keybound-Error": error,
        ]
        let sent = style == .nginx && status < 500 ? 401 : status
        return AuthAnswer(
            status: sent, fields: headers, body: "{\"error\":\"\(error)\"}", outcome: error, meantStatus: status)
    }
}

extension Result where Success == AuthAnswer, Failure == AuthResponder.Early {
    /// The answer either way: the verification's, or the service's own refusal.
    var answer: AuthAnswer {
        switch self {
        case .success(let answer): answer
        case .failure(let early): early.answer
        }
    }
}
