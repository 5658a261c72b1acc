//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import HTTPTypes
public import Hummingbird
public import Keybound

/// A request context that can carry what the ``DPoPMiddleware`` verified.
///
/// ```swift
/// struct AppContext: DPoPRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var dpop: VerifiedRequest?
///     init(source: Source) { coreContext = .init(source: source) }
/// }
/// ```
public protocol DPoPRequestContext: RequestContext {
    /// The verified request, set by ``DPoPMiddleware`` before the handler runs; `nil` on routes it does not guard.
    var dpop: VerifiedRequest? { get set }
}

/// A ready-made ``DPoPRequestContext`` for applications that need nothing else in their context.
public struct BasicDPoPRequestContext: DPoPRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var dpop: VerifiedRequest?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.dpop = nil
    }
}

/// Where the middleware takes the request URL that a proof's `htu` must match (RFC 9449 §4.3 check 9).
///
/// A server behind a proxy does not see the URL the client used, and `Host` or `X-Forwarded-*` headers are whatever
/// the client (or anyone on the path) chose to send. The safe choice is ``externalBaseURL(_:)``: the operator names
/// the public origin once, and only the request's path and query come from the request.
public enum RequestURLSource: Sendable, Hashable {
    /// The configured public base URL (`https://api.example.com`, optionally with a path prefix), followed by the
    /// request's path and query. The `Host` and forwarded headers are ignored.
    case externalBaseURL(String)
    /// The request's path and query alone, for a verifier whose ``VerifierPolicy/externalBaseURL`` is set.
    case originForm
    /// Scheme and host from `X-Forwarded-Proto` and `X-Forwarded-Host` (first value), falling back to `scheme` and
    /// the `Host` header. Use only behind a proxy that overwrites these headers on every request: a client that can
    /// set them can make the server accept a proof minted for another origin.
    case trustedForwardedHeaders(defaultScheme: String)
}

/// Verifies every request with a shared Keybound ``Verifier`` (RFC 9449 §4.3, §7): a DPoP-bound access token and its
/// proof in resource mode, or a proof alone at a token endpoint (RFC 9449 §5).
///
/// On success the ``VerifiedRequest`` is in `context.dpop` for the handler, and when nonces are on the response
/// carries a fresh `DPoP-Nonce` (RFC 9449 §8). On failure the middleware answers itself: the error's HTTP status
/// (401, 400, or 503 when the replay store fails), a `WWW-Authenticate: DPoP …` challenge (RFC 9449 §7.1; at a token
/// endpoint the RFC 6749 §5.2 JSON error instead), the `DPoP-Nonce` a `use_dpop_nonce` error carries, and a small
/// JSON body `{"error":…,"error_description":…,"code":…}`.
///
/// Verification uses the verifier's `async` entry point, so a network replay store (``AsyncReplayStore``) suspends
/// the request's task instead of blocking an event-loop thread.
public struct DPoPMiddleware<Context: DPoPRequestContext>: RouterMiddleware {
    public typealias Input = Request
    public typealias Output = Response

    let verifier: Verifier
    let urlSource: RequestURLSource
    let mode: VerificationMode
    let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - verifier: the server's verifier, shared by every route and thread.
    ///   - requestURL: where the URL for the `htu` check comes from (see ``RequestURLSource``).
    ///   - mode: `.resource` for APIs, `.tokenEndpoint` for a token endpoint's DPoP proof.
    ///   - now: the current time in Unix seconds (the wall clock unless a test supplies its own).
    public init(
        verifier: Verifier,
        requestURL: RequestURLSource,
        mode: VerificationMode = .resource,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.verifier = verifier
        self.urlSource = requestURL
        self.mode = mode
        self.now = now
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let time = now()
        let verified: VerifiedRequest
        do throws(KeyboundError) {
            let dpopRequest = try Self.dpopRequest(from: request, urlSource: urlSource)
            verified = try await verifier.verify(dpopRequest, mode: mode, now: time)
        } catch {
            return DPoPErrorResponse.response(for: error, verifier: verifier, tokenEndpoint: mode == .tokenEndpoint)
        }
        var context = context
        context.dpop = verified
        var response = try await next(request, context)
        if let nonce = verified.dpopNonce, response.headers[.dpopNonce] == nil {
            response.headers[.dpopNonce] = nonce
        }
        return response
    }

    /// The method, URL and authorization headers of a Hummingbird request, as Keybound reads them.
    static func dpopRequest(from request: Request, urlSource: RequestURLSource) throws(KeyboundError) -> DPoPRequest {
        let authorizations = request.headers[values: .authorization]
        guard authorizations.count <= 1 else {
            throw KeyboundError(.malformedAuthorization, reason: "more than one Authorization value")
        }
        let url = try requestURL(request, source: urlSource)
        return DPoPRequest(
            method: request.method.rawValue, url: url, authorization: authorizations.first,
            dpop: request.headers[values: .dpop])
    }

    /// The request URL for the `htu` comparison: never the `Host` header unless the operator trusts it.
    static func requestURL(_ request: Request, source: RequestURLSource) throws(KeyboundError) -> String {
        let target = originFormTarget(request)
        switch source {
        case .externalBaseURL(let base):
            return trimmingTrailingSlash(base) + target
        case .originForm:
            return target
        case .trustedForwardedHeaders(let defaultScheme):
            let scheme = firstValue(request.headers[.xForwardedProto]) ?? defaultScheme
            // HTTP/1.1's Host header arrives as the request's authority.
            guard let host = firstValue(request.headers[.xForwardedHost]) ?? request.head.authority else {
                throw KeyboundError(.proofHTU, reason: "the request has no host to build its URL from")
            }
            return scheme + "://" + host + target
        }
    }

    /// The request target's path and query (RFC 9112 §3.2.1), also from an absolute-form target.
    static func originFormTarget(_ request: Request) -> String {
        let path = request.head.path ?? "/"
        if path.hasPrefix("/") { return path }
        let uri = request.uri
        return uri.path + (uri.query.map { "?" + $0 } ?? "")
    }

    static func trimmingTrailingSlash(_ base: String) -> String {
        base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    static func firstValue(_ header: String?) -> String? {
        guard let header else { return nil }
        let first = header.split(separator: ",", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
        return first.flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension HTTPField.Name {
    /// `DPoP` (RFC 9449 §4.1).
    public static var dpop: Self { Self("DPoP")! }
    /// `DPoP-Nonce` (RFC 9449 §8.1).
    public static var dpopNonce: Self { Self("DPoP-Nonce")! }
    static var xForwardedProto: Self { Self("X-Forwarded-Proto")! }
    static var xForwardedHost: Self { Self("X-Forwarded-Host")! }
}

/// The refusals the middleware and the scope checks answer with.
public enum DPoPErrorResponse {
    /// The response for a failed verification: status, challenge, nonce and JSON body (see ``DPoPMiddleware``).
    public static func response(for error: KeyboundError, verifier: Verifier, tokenEndpoint: Bool) -> Response {
        response(for: error, wwwAuthenticate: tokenEndpoint ? nil : verifier.wwwAuthenticate(for: error))
    }

    /// The response for a refusal with a challenge made elsewhere (`nil`: the token endpoint's body, no challenge).
    static func response(for error: KeyboundError, wwwAuthenticate: String?) -> Response {
        let tokenEndpoint = wwwAuthenticate == nil
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        let status: Int
        let body: String
        if tokenEndpoint {
            // RFC 9449 §5 and §8: a token endpoint answers 400 with an RFC 6749 §5.2 error body, no challenge.
            status = error.code.tokenEndpointHTTPStatus
            let rfc = Challenge.tokenEndpointErrorBody(for: error)
            body = String(rfc.dropLast()) + ",\"code\":\"" + error.code.name + "\"}"
        } else {
            status = error.code.httpStatus
            headers[.wwwAuthenticate] = wwwAuthenticate
            body = jsonBody(error: error.code.rfcError, description: error.reason, code: error.code.name)
        }
        if let nonce = error.dpopNonce { headers[.dpopNonce] = nonce }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// `{"error":…,"error_description":…,"code":…}`; `error` is left out when there is none (RFC 6750 §3.1).
    static func jsonBody(error: String?, description: String, code: String) -> String {
        var members: [String] = []
        if let error { members.append("\"error\":" + jsonString(error)) }
        members.append("\"error_description\":" + jsonString(description))
        members.append("\"code\":" + jsonString(code))
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 §7).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
