//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import HTTPTypes
public import Hummingbird
public import HummingbirdAuth
public import Keybound
@_exported public import KeyboundServerSupport
import Logging

/// A request context that can carry what the DPoP middleware verified.
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

/// A ready-made context for applications that need nothing else in their context: a ``DPoPRequestContext`` and a
/// HummingbirdAuth `AuthRequestContext` whose `identity` is the ``VerifiedRequest`` (the same value as `dpop`), so
/// ``DPoPAuthenticator``, `requireScope` and HummingbirdAuth's `IsAuthenticatedMiddleware` all work with it.
public struct BasicDPoPRequestContext: DPoPRequestContext, AuthRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var dpop: VerifiedRequest?
    public var identity: VerifiedRequest? {
        get { dpop }
        set { dpop = newValue }
    }

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.dpop = nil
    }
}

/// A refused verification, thrown by ``DPoPAuthenticator`` and ``DPoPMiddleware`` so that the application's error
/// middleware sees it; Hummingbird answers it with ``Refusal``'s status, `WWW-Authenticate` challenge, `DPoP-Nonce`
/// and JSON body.
public struct DPoPRefusalError: HTTPResponseError, Sendable {
    /// The status, challenge, nonce and body.
    public let refusal: Refusal

    public init(_ refusal: Refusal) { self.refusal = refusal }

    /// The verifier's error.
    public var error: KeyboundError { refusal.error }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: refusal.status) }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    /// The refusal's response.
    public func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        if let challenge = refusal.wwwAuthenticate { headers[.wwwAuthenticate] = challenge }
        if let nonce = refusal.dpopNonce { headers[.dpopNonce] = nonce }
        if let retryAfter = refusal.retryAfter { headers[.retryAfter] = retryAfter }
        return Response(
            status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: refusal.body)))
    }
}

/// A HummingbirdAuth authenticator for DPoP (RFC 9449 §4.3, §7): verifies every request with a shared Keybound
/// ``Verifier`` — a DPoP-bound access token and its proof in resource mode, or a proof alone at a token endpoint
/// (RFC 9449 §5) — and sets `context.identity`.
///
/// With a context whose `Identity` is ``VerifiedRequest`` (``BasicDPoPRequestContext``) the identity is the verified
/// request; any other context maps it with `identify`, so that DPoP, Basic and other authenticators can share one
/// identity type on different routes. When `identify` answers `nil`, the request goes on without an identity (as
/// HummingbirdAuth's authenticators do; `IsAuthenticatedMiddleware` then refuses it).
///
/// A refusal is thrown as a ``DPoPRefusalError`` (status 401, 400, 503 when the replay store fails, or 429 with
/// `Retry-After` when the proof key holds its per-key replay share, 212, in every mode; with the challenge and nonce) and logged at debug level on `context.logger` with its code; nothing of the request is
/// logged. With nonces on, a successful response carries a fresh `DPoP-Nonce` (RFC 9449 §8).
///
/// The `htu` check reads the request target as it arrived (`request.head.path`), never a percent-decoded path.
public struct DPoPAuthenticator<Context: AuthRequestContext>: AuthenticatorMiddleware {
    public typealias Identity = Context.Identity
    public typealias Input = Request
    public typealias Output = Response

    let check: DPoPCheck
    let identify: @Sendable (VerifiedRequest, Request, Context) async throws -> Context.Identity?

    /// The parameters but `identify` are ``RequestCheck/init(verifier:urlSource:mode:requirements:now:)``'s
    /// (`requestURL` is its `urlSource`).
    ///   - identify: the application's identity for a verified request (a user looked up by `subject`, say).
    public init(
        verifier: Verifier, requestURL: RequestURLSource, mode: VerificationMode = .resource,
        requirements: Requirements = .none, now: @escaping @Sendable () -> Int64 = RequestCheck.wallClock,
        identify: @escaping @Sendable (VerifiedRequest, Request, Context) async throws -> Context.Identity?
    ) {
        self.check = DPoPCheck(RequestCheck(
            verifier: verifier, urlSource: requestURL, mode: mode, requirements: requirements, now: now))
        self.identify = identify
    }

    public func authenticate(request: Request, context: Context) async throws -> Context.Identity? {
        try await identify(check.verify(request, logger: context.logger), request, context)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        try await check.run(request, context, next: next) { context, verified in
            if let identity = try await identify(verified, request, context) { context.identity = identity }
        }
    }
}

extension DPoPAuthenticator where Context.Identity == VerifiedRequest {
    /// An authenticator whose identity is the ``VerifiedRequest`` itself.
    public init(
        verifier: Verifier, requestURL: RequestURLSource, mode: VerificationMode = .resource,
        requirements: Requirements = .none, now: @escaping @Sendable () -> Int64 = RequestCheck.wallClock
    ) {
        self.init(verifier: verifier, requestURL: requestURL, mode: mode, requirements: requirements, now: now) {
            verified, _, _ in verified
        }
    }
}

/// The middleware for contexts that are not HummingbirdAuth contexts: the same verification as
/// ``DPoPAuthenticator``, with the ``VerifiedRequest`` in `context.dpop`. Refusals are thrown as
/// ``DPoPRefusalError`` and logged in the same way.
public struct DPoPMiddleware<Context: DPoPRequestContext>: RouterMiddleware {
    public typealias Input = Request
    public typealias Output = Response

    let check: DPoPCheck

    /// The parameters are ``RequestCheck/init(verifier:urlSource:mode:requirements:now:)``'s.
    public init(
        verifier: Verifier, requestURL: RequestURLSource, mode: VerificationMode = .resource,
        requirements: Requirements = .none, now: @escaping @Sendable () -> Int64 = RequestCheck.wallClock
    ) {
        self.check = DPoPCheck(RequestCheck(
            verifier: verifier, urlSource: requestURL, mode: mode, requirements: requirements, now: now))
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        try await check.run(request, context, next: next) { context, verified in context.dpop = verified }
    }
}

/// One verification of a Hummingbird request, shared by the authenticator and the middleware.
struct DPoPCheck: Sendable {
    let check: RequestCheck

    init(_ check: RequestCheck) { self.check = check }

    /// The verified request, or a thrown ``DPoPRefusalError`` (logged on `logger`).
    func verify(_ request: Request, logger: Logger) async throws(DPoPRefusalError) -> VerifiedRequest {
        // HTTP/1.1's Host header arrives as the request's authority.
        let url = RequestURLParts(
            target: Self.originFormTarget(request), authority: request.head.authority,
            forwardedProto: request.headers[.xForwardedProto], forwardedHost: request.headers[.xForwardedHost])
        do throws(Refusal) {
            return try await check.verify(
                method: request.method.rawValue, url: url, authorizations: request.headers[values: .authorization],
                dpop: request.headers[values: .dpop], logger: logger)
        } catch {
            throw DPoPRefusalError(error)
        }
    }

    /// Verifies, lets `apply` put the result in the context, runs the rest of the chain, and adds the next
    /// `DPoP-Nonce` to the response when nonces are on (RFC 9449 §8).
    func run<Context: RequestContext>(
        _ request: Request,
        _ context: Context,
        next: (Request, Context) async throws -> Response,
        apply: (inout Context, VerifiedRequest) async throws -> Void
    ) async throws -> Response {
        let verified = try await verify(request, logger: context.logger)
        var context = context
        try await apply(&context, verified)
        var response = try await next(request, context)
        if let nonce = verified.dpopNonce, response.headers[.dpopNonce] == nil {
            response.headers[.dpopNonce] = nonce
        }
        return response
    }

    /// The request target's path and query (RFC 9112 §3.2.1) as it arrived, also from an absolute-form target.
    static func originFormTarget(_ request: Request) -> String {
        let path = request.head.path ?? "/"
        if path.hasPrefix("/") { return path }
        let uri = request.uri
        return uri.path + (uri.query.map { "?" + $0 } ?? "")
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
    /// The response for a failed verification: status, challenge, nonce and JSON body (see ``Refusal``).
    public static func response(for error: KeyboundError, verifier: Verifier, tokenEndpoint: Bool) -> Response {
        DPoPRefusalError(Refusal(error, verifier: verifier, tokenEndpoint: tokenEndpoint)).response()
    }
}
