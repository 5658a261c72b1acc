//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

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
/// (RFC 9449 §7.1; none at a token endpoint, RFC 9449 §5), the `DPoP-Nonce` a `use_dpop_nonce` refusal carries, the
/// `Retry-After` of a 429 `replay_quota_exceeded` (212) and `Cache-Control: no-store`; the body is the error middleware's, whose `reason` is `"<code>: <reason>"`. An
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
        if let retryAfter = refusal.retryAfter { headers.replaceOrAdd(name: "Retry-After", value: retryAfter) }
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
    let check: RequestCheck

    /// The parameters are ``RequestCheck/init(verifier:urlSource:mode:requirements:now:)``'s (`requestURL` is its
    /// `urlSource`).
    public init(
        verifier: Verifier, requestURL: RequestURLSource, mode: VerificationMode = .resource,
        requirements: Requirements = .none, now: @escaping @Sendable () -> Int64 = RequestCheck.wallClock
    ) {
        check = RequestCheck(
            verifier: verifier, urlSource: requestURL, mode: mode, requirements: requirements, now: now)
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

    /// The verified request, or a thrown ``DPoPAbort`` (logged on `req.logger`).
    func verify(_ request: Request) async throws(DPoPAbort) -> VerifiedRequest {
        do throws(Refusal) {
            let target = request.url.string
            guard target.hasPrefix("/") else {
                let error = KeyboundError(.proofHTU, reason: "the request target could not be read")
                let refusal = Refusal(error, verifier: check.verifier, tokenEndpoint: check.mode == .tokenEndpoint)
                refusal.log(to: request.logger)
                throw refusal
            }
            let url = RequestURLParts(
                target: target, authority: request.headers.first(name: .host),
                forwardedProto: request.headers.first(name: "X-Forwarded-Proto"),
                forwardedHost: request.headers.first(name: "X-Forwarded-Host"))
            return try await check.verify(
                method: request.method.rawValue, url: url, authorizations: request.headers[.authorization],
                dpop: request.headers["DPoP"], logger: request.logger)
        } catch {
            throw DPoPAbort(error)
        }
    }
}
