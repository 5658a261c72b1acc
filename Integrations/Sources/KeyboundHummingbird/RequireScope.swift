//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import HTTPTypes
public import Hummingbird
public import Keybound
import Logging

/// A route-level scope check, after ``DPoPMiddleware``: the verified token's `scope` (RFC 9068 §2.2.3, a
/// space-separated list) must hold every required scope. Otherwise it answers 403 with
/// `WWW-Authenticate: DPoP error="insufficient_scope", …, scope="…"` (RFC 6750 §3.1), thrown as
/// ``InsufficientScope`` so that the application's error middleware sees it, and logged at debug level.
///
/// A request that reached it unverified (no ``DPoPAuthenticator`` or ``DPoPMiddleware`` before it on this route)
/// gets a bare 401 challenge: a misconfigured route fails closed.
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
            InsufficientScope.log(code: "missing_authorization", status: 401, to: context.logger)
            return InsufficientScope.unauthenticated(verifier: verifier)
        }
        guard verified.hasScopes(scopes) else {
            InsufficientScope.log(code: "insufficient_scope", status: 403, to: context.logger)
            throw InsufficientScope(required: scopes)
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
        let granted = Set((scope ?? "").split(separator: " ").map(String.init))
        return required.allSatisfy(granted.contains)
    }
}

extension DPoPRequestContext {
    /// Throws ``InsufficientScope`` (answered as 403) unless the verified token has every scope; for checks inside a
    /// handler, e.g. when the scope depends on the resource.
    public func requireScope(_ scopes: String...) throws(InsufficientScope) {
        guard let dpop, dpop.hasScopes(scopes) else {
            InsufficientScope.log(code: "insufficient_scope", status: 403, to: logger)
            throw InsufficientScope(required: scopes)
        }
    }
}

/// The `insufficient_scope` refusal (RFC 6750 §3.1): 403 with a challenge naming the scopes needed.
public struct InsufficientScope: HTTPResponseError {
    /// The scopes the request needed.
    public let required: [String]

    public init(required: [String]) { self.required = required }

    public var status: HTTPResponse.Status { .forbidden }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    /// The 403 response.
    public func response() -> Response {
        let scope = required.joined(separator: " ")
        let description = "the access token lacks a required scope"
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        headers[.wwwAuthenticate] =
            "DPoP error=\"insufficient_scope\", error_description=\"\(description)\", scope=\"\(Self.quoted(scope))\""
        let body =
            "{\"error\":\"insufficient_scope\",\"error_description\":\"\(description)\","
            + "\"code\":\"insufficient_scope\",\"scope\":" + Refusal.jsonString(scope) + "}"
        return Response(status: .forbidden, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// Logs a scope refusal at debug level, as ``Refusal/log(to:)`` does for the verifier's.
    static func log(code: String, status: Int, to logger: Logger) {
        logger.debug(
            "DPoP request refused",
            metadata: ["keybound.code": .string(code), "http.status": .stringConvertible(status)])
    }

    /// 401 with a bare challenge, for a request no ``DPoPMiddleware`` verified.
    static func unauthenticated(verifier: Verifier?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.wwwAuthenticate] = verifier?.wwwAuthenticate(for: nil) ?? "DPoP"
        let body = "{\"error_description\":\"the request was not verified\",\"code\":\"missing_authorization\"}"
        return Response(
            status: .unauthorized, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// The inside of an RFC 9110 §5.6.4 quoted-string; scope tokens are visible ASCII without `"` or `\` (RFC 6749
    /// §3.3), anything else becomes `?`.
    static func quoted(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    (0x20...0x7E).contains(scalar.value) && scalar != "\"" && scalar != "\\" ? scalar : "?"
                }))
    }
}
