//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import Keybound
@_exported public import KeyboundServerSupport
import Logging
public import Vapor

/// What ``DPoPAuthenticator`` logs in: the verified request, in `req.auth` beside any other authenticated value.
///
/// ```swift
/// let identity = try req.auth.require(DPoPIdentity.self)   // or req.dpop
/// ```
public struct DPoPIdentity: Authenticatable, Sendable {
    /// The token's claims, the proof key's thumbprint and the next `DPoP-Nonce`.
    public let verified: VerifiedRequest

    public init(_ verified: VerifiedRequest) { self.verified = verified }
}

extension Request {
    /// The request ``DPoPAuthenticator`` verified, or `nil` on a route it does not guard.
    public var dpop: VerifiedRequest? { auth.get(DPoPIdentity.self)?.verified }
}

/// A refused verification, thrown by ``DPoPAuthenticator``. Vapor's `ErrorMiddleware` answers it with the
/// refusal's status (401, 400, or 503 when the replay store fails), its `WWW-Authenticate: DPoP …` challenge
/// (RFC 9449 §7.1; none at a token endpoint, RFC 9449 §5), the `DPoP-Nonce` a `use_dpop_nonce` refusal carries and
/// `Cache-Control: no-store`; the body is the error middleware's, whose `reason` is `"<code>: <reason>"`. An
/// application with its own error middleware finds the JSON body of the other integrations in `refusal.body`.
public struct DPoPAbort: AbortError, DebuggableError, Sendable {
    /// The status, challenge, nonce and JSON body.
    public let refusal: Refusal

    public init(_ refusal: Refusal) { self.refusal = refusal }

    /// The verifier's error.
    public var error: KeyboundError { refusal.error }

    public var status: HTTPResponseStatus { HTTPResponseStatus(statusCode: refusal.status) }

    public var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        if let challenge = refusal.wwwAuthenticate { headers.replaceOrAdd(name: .wwwAuthenticate, value: challenge) }
        if let nonce = refusal.dpopNonce { headers.replaceOrAdd(name: "DPoP-Nonce", value: nonce) }
        return headers
    }

    /// `"<code>: <reason>"`: the code's name and the failed check, never request bytes (docs/design.md, status codes).
    public var reason: String { error.code.name + ": " + error.reason }

    public var identifier: String { error.code.name }

    /// A refusal is an expected outcome, not a server fault: `ErrorMiddleware` reports it at debug level, not as a
    /// warning, unless it is a server-side one (5xx).
    public var logLevel: Logger.Level { refusal.status >= 500 ? .warning : .debug }
}

/// Verifies every request with a shared Keybound ``Verifier`` (RFC 9449 §4.3, §7) — a DPoP-bound access token and
/// its proof in resource mode, or a proof alone at a token endpoint (RFC 9449 §5) — and logs the
/// ``DPoPIdentity`` in (`req.auth.login`), so it composes with other authenticators and guards
/// (`DPoPIdentity.guardMiddleware()`).
///
/// A refusal is thrown as a ``DPoPAbort`` and logged at debug level on `req.logger` with its code and status;
/// no header value or other request byte is logged. With nonces on, a successful response carries a fresh
/// `DPoP-Nonce` (RFC 9449 §8).
///
/// The `htu` check reads the request target as Vapor keeps it: `req.url.string`, still percent-encoded (Vapor 4
/// does not keep the bytes of the request line, and never hands a decoded path here). A target Vapor could not
/// parse is refused (`proof_htu`), not guessed.
///
/// ```swift
/// let dpop = DPoPAuthenticator(verifier: verifier, requestURL: .externalBaseURL("https://api.example.com"))
/// let api = app.grouped(dpop)
/// api.get("orders") { req in "orders of \(req.dpop?.subject ?? "?")" }
/// ```
public struct DPoPAuthenticator: AsyncMiddleware {
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

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let verified = try await verify(request)
        request.auth.login(DPoPIdentity(verified))
        let response = try await next.respond(to: request)
        if let nonce = verified.dpopNonce, !response.headers.contains(name: "DPoP-Nonce") {
            response.headers.replaceOrAdd(name: "DPoP-Nonce", value: nonce)
        }
        return response
    }

    /// Verifies through the verifier's `async` entry point, so a network replay store (``AsyncReplayStore``)
    /// suspends the request's task instead of blocking an event-loop thread.
    func verify(_ request: Request) async throws(DPoPAbort) -> VerifiedRequest {
        let time = now()
        do throws(KeyboundError) {
            let dpopRequest = try Self.dpopRequest(from: request, urlSource: urlSource)
            return try await verifier.verify(dpopRequest, mode: mode, now: time)
        } catch {
            let refusal = Refusal(error, verifier: verifier, tokenEndpoint: mode == .tokenEndpoint)
            refusal.log(to: request.logger)
            throw DPoPAbort(refusal)
        }
    }

    /// The method, URL and authorization headers of a Vapor request, as Keybound reads them.
    static func dpopRequest(from request: Request, urlSource: RequestURLSource) throws(KeyboundError) -> DPoPRequest {
        let authorizations = request.headers[.authorization]
        guard authorizations.count <= 1 else {
            throw KeyboundError(.malformedAuthorization, reason: "more than one Authorization value")
        }
        let target = request.url.string
        guard target.hasPrefix("/") else {
            throw KeyboundError(.proofHTU, reason: "the request target could not be read")
        }
        let parts = RequestURLParts(
            target: target, authority: request.headers.first(name: .host),
            forwardedProto: request.headers.first(name: "X-Forwarded-Proto"),
            forwardedHost: request.headers.first(name: "X-Forwarded-Host"))
        return DPoPRequest(
            method: request.method.rawValue, url: try parts.url(from: urlSource), authorization: authorizations.first,
            dpop: request.headers["DPoP"])
    }
}
