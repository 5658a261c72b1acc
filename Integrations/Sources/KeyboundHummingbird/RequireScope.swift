//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import HTTPTypes
public import Hummingbird
public import Keybound
import Logging

/// A route-level scope check, after ``DPoPAuthenticator`` or ``DPoPMiddleware``: the verified token's `scope`
/// (RFC 9068 §2.2.3, a space-separated list) must hold every required scope. Otherwise it answers with Keybound's own
/// 315 `insufficient_scope` (HTTP 403, `WWW-Authenticate: DPoP error="insufficient_scope", …, scope="…"`,
/// RFC 6750 §3.1), made by ``Keybound/VerifiedRequest/requireScopes(_:)``: the same status, challenge and body as every other host.
/// The refusal is thrown (the application's error middleware sees it) and logged at debug level like the verifier's.
///
/// A request that reached it unverified (no authenticator before it on this route) gets a bare 401 challenge:
/// a misconfigured route fails closed.
public struct RequireScopeMiddleware<Context: DPoPRequestContext>: RouterMiddleware {
    public typealias Input = Request
    public typealias Output = Response

    /// The scopes a request must have, all of them.
    public let scopes: [String]
    let verifier: Verifier?

    /// - Parameters:
    ///   - scopes: the required scopes.
    ///   - verifier: used only to phrase the bare challenge for an unverified request (the accepted algorithms).
    public init(_ scopes: [String], verifier: Verifier? = nil) {
        self.scopes = scopes
        self.verifier = verifier
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let verified = context.dpop else {
            let refusal = InsufficientScope.unauthenticated(verifier: verifier)
            refusal.log(to: context.logger)
            throw DPoPRefusalError(refusal)
        }
        do {
            try verified.requireScopes(scopes)
        } catch {
            let refusal = InsufficientScope(error)
            refusal.refusal.log(to: context.logger)
            throw refusal
        }
        return try await next(request, context)
    }
}

extension RouterMethods where Context: DPoPRequestContext {
    /// A group of routes that need every one of `scopes`: `api.requireScope("orders:read").get("orders") { … }`.
    public func requireScope(_ scopes: String...) -> RouterGroup<Context> {
        group().add(middleware: RequireScopeMiddleware(scopes))
    }
}

extension VerifiedRequest {
    /// Whether the token's `scope` holds every one of `required` (exact, case-sensitive tokens; RFC 6749 §3.3).
    public func hasScopes(_ required: [String]) -> Bool {
        (try? requireScopes(required)) != nil
    }
}

extension DPoPRequestContext {
    /// Throws ``InsufficientScope`` (answered as 403) unless the verified token has every scope; for checks inside a
    /// handler, e.g. when the scope depends on the resource.
    public func requireScope(_ scopes: String...) throws(InsufficientScope) {
        do throws(KeyboundError) {
            guard let dpop else { throw KeyboundError(.insufficientScope) }
            try dpop.requireScopes(scopes)
        } catch {
            let refusal = InsufficientScope(error)
            refusal.refusal.log(to: logger)
            throw refusal
        }
    }
}

/// The `insufficient_scope` refusal (315, RFC 6750 §3.1) as a Hummingbird error: Keybound's error, answered with its
/// status, challenge and JSON body.
public struct InsufficientScope: HTTPResponseError {
    /// Keybound's refusal (code 315; its challenge parameters name the scopes needed).
    public let error: KeyboundError

    public init(_ error: KeyboundError) { self.error = error }

    /// The scopes the request needed.
    public var required: [String] {
        error.challengeParameters.first { $0.name == "scope" }?.value.split(separator: " ").map(String.init) ?? []
    }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: error.code.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    /// The status, the core's challenge (no `algs`: the proof was fine) and the JSON body.
    public var refusal: Refusal { Refusal(error, wwwAuthenticate: Challenge.wwwAuthenticate(for: error, algs: [])) }

    /// The 403 response.
    public func response() -> Response { DPoPRefusalError(refusal).response() }

    /// 401 with a bare challenge, for a request no authenticator verified.
    static func unauthenticated(verifier: Verifier?) -> Refusal {
        Refusal(
            KeyboundError(.missingAuthorization, reason: "the request was not verified"),
            wwwAuthenticate: verifier?.wwwAuthenticate(for: nil) ?? "DPoP")
    }
}
