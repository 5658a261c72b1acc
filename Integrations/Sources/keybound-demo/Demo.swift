//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Keybound
import KeyboundHummingbird
import KeyboundSigning
import Synchronization

/// The demo service: one issuer key, one verifier, one user.
struct Demo: Sendable {
    let options: DemoOptions
    let base: String
    /// The issuer's signing key and its public JWK Set, which `verifier` trusts.
    let issuerKey: SigningKey, jwks: String
    let verifier: Verifier
    let pages: StaticPages
    let orderCounter = Counter()

    /// The one account: no passwords, no database.
    static let user = "demo-user"
    static let scopes = "profile orders:write"

    init(options: DemoOptions) throws {
        self.options = options
        self.base = options.baseURL.hasSuffix("/") ? String(options.baseURL.dropLast()) : options.baseURL
        issuerKey = try SigningKey.generate(.es256, kid: "demo-issuer-1")
        jwks = "{\"keys\":[" + issuerKey.publicJWK(includingAlg: true) + "]}"
        var policy = VerifierPolicy()
        if let skew = options.clockSkew { policy.clockSkewSeconds = skew }
        if options.nonces {
            var secret = [UInt8](repeating: 0, count: 32)
            var random = SystemRandomNumberGenerator()
            for index in secret.indices { secret[index] = random.next() }
            policy.nonces = try NonceIssuer(secrets: [secret], windowSeconds: 300)
        }
        verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: base, audiences: [base], keys: try JWKSet(json: Array(jwks.utf8)))],
            policy: policy)
        pages = try StaticPages()
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    func router() -> Router<BasicDPoPRequestContext> {
        let router = Router(context: BasicDPoPRequestContext.self)
        pages.register(on: router)
        router.get(".well-known/jwks.json") { _, _ in
            Self.json(jwks, headers: [.cacheControl: "public, max-age=300"], contentType: "application/jwk-set+json")
        }

        // Token endpoint (RFC 9449 §5): a proof alone, no access token yet; the new token is bound to its key.
        router.group("token")
            .add(
                middleware: DPoPAuthenticator(
                    verifier: verifier, requestURL: .externalBaseURL(base), mode: .tokenEndpoint))
            .post { _, context in try issueToken(context) }

        // The protected API: every request carries a DPoP-bound token and a fresh proof.
        let api = router.group("api")
            .add(middleware: DPoPAuthenticator(verifier: verifier, requestURL: .externalBaseURL(base)))
        api.requireScope("profile").get("me") { _, context in try me(context) }
        api.requireScope("orders:write").post("orders") { request, context in try await placeOrder(request, context) }
        api.requireScope("admin").get("admin") { _, _ in Self.json("{\"secret\":\"never shown\"}") }
        api.post("logout") { _, context in try logOut(context) }

        // Step-up (RFC 9470): deleting the account needs a login at most `max_age` seconds old. An older token gets
        // 401 insufficient_user_authentication with max_age in the challenge; the page logs in again with the same
        // key (a new token with a fresh auth_time) and retries.
        router.group("api/account")
            .add(
                middleware: DPoPAuthenticator(
                    verifier: verifier, requestURL: .externalBaseURL(base),
                    requirements: Requirements(maxAge: options.stepUpMaxAge)))
            .post("delete") { _, context in try deleteAccount(context) }
        return router
    }

    // MARK: - Handlers

    func issueToken(_ context: BasicDPoPRequestContext) throws -> Response {
        let verified = try context.requireIdentity()
        let now = Self.now()
        let claims = AccessTokenClaims(
            iss: base, aud: [base], sub: Self.user, clientID: "keybound-demo-page", scope: Self.scopes,
            jkt: verified.jkt, iat: now, exp: now + options.tokenLifetime, jti: UUID().uuidString,
            kid: issuerKey.kid, extraClaims: [.init(name: "auth_time", json: String(now))])
        let token = try DPoPBuilder.accessToken(claims, key: issuerKey)
        return Self.json(
            Self.object([
                ("access_token", .string(token)), ("token_type", .string("DPoP")),
                ("expires_in", .number(options.tokenLifetime)), ("scope", .string(Self.scopes)),
                ("jkt", .string(verified.jkt ?? "")),
            ]))
    }

    func me(_ context: BasicDPoPRequestContext) throws -> Response {
        let verified = try context.requireIdentity()
        return Self.json(
            Self.object([
                ("sub", .string(verified.subject ?? "")), ("scope", .string(verified.scope ?? "")),
                ("jkt", .string(verified.jkt ?? "")), ("token_jti", .string(verified.tokenJTI ?? "")),
                ("proof_jti", .string(verified.proofJTI ?? "")),
            ]))
    }

    func placeOrder(_ request: Request, _ context: BasicDPoPRequestContext) async throws -> Response {
        let verified = try context.requireIdentity()
        let body = try await request.body.collect(upTo: 4096)
        var item = "coffee"
        if let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let named = object["item"] as? String, !named.isEmpty
        {
            item = String(named.prefix(64))
        }
        let number = orderCounter.next()
        return Self.json(
            Self.object([
                ("order_id", .string("order-\(number)")), ("item", .string(item)),
                ("placed_by", .string(verified.subject ?? "")), ("jkt", .string(verified.jkt ?? "")),
            ]), status: .created)
    }

    /// "Log out this device": revokes the client key, so every token bound to it is refused from now on.
    func logOut(_ context: BasicDPoPRequestContext) throws -> Response {
        let verified = try context.requireIdentity()
        let now = Self.now()
        let until = Int64(verified.expiresAt ?? Double(now + options.tokenLifetime)) + 60
        try verifier.revokeKey(jkt: verified.jkt ?? "", until: until, now: now)
        return Self.json(Self.object([("revoked_jkt", .string(verified.jkt ?? "")), ("until", .number(until))]))
    }

    /// "Delete account": only reached with a recent login. The demo deletes nothing (it has one built-in user); it
    /// answers with the age of the login that allowed it.
    func deleteAccount(_ context: BasicDPoPRequestContext) throws -> Response {
        let verified = try context.requireIdentity()
        let authTime = verified.claim("auth_time").flatMap { Int64($0) }
        return Self.json(
            Self.object([
                ("deleted", .string(verified.subject ?? "")), ("jkt", .string(verified.jkt ?? "")),
                ("login_age", .number(authTime.map { Self.now() - $0 } ?? -1)),
                ("max_age", .number(options.stepUpMaxAge)),
            ]))
    }

    // MARK: - JSON

    enum Value {
        case string(String)
        case number(Int64)
    }

    static func object(_ members: [(String, Value)]) -> String {
        var dictionary: [String: Any] = [:]
        for (name, value) in members {
            switch value {
            case .string(let string): dictionary[name] = string
            case .number(let number): dictionary[name] = number
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: dictionary, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func json(
        _ text: String,
        status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:],
        contentType: String = "application/json"
    ) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        if fields[.cacheControl] == nil { fields[.cacheControl] = "no-store" }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A thread-safe counter for order numbers.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}

/// The page and its modules, read once from the bundle.
struct StaticPages: Sendable {
    struct Page: Sendable {
        var path: String
        var contentType: String
        var body: String
    }

    let pages: [Page]

    static let files: [(name: String, path: String, contentType: String)] = [
        ("index.html", "/", "text/html; charset=utf-8"),
        ("app.js", "/app.js", "text/javascript; charset=utf-8"),
        ("dpop.js", "/dpop.js", "text/javascript; charset=utf-8"),
        ("app.css", "/app.css", "text/css; charset=utf-8"),
    ]

    init() throws {
        guard let folder = Bundle.module.url(forResource: "Public", withExtension: nil) else {
            throw HTTPError(.internalServerError, message: "the page's files are missing from the bundle")
        }
        pages = try Self.files.map { file in
            let text = try String(contentsOf: folder.appendingPathComponent(file.name), encoding: .utf8)
            return Page(path: file.path, contentType: file.contentType, body: text)
        }
    }

    func register(on router: Router<BasicDPoPRequestContext>) {
        for page in pages {
            router.get(RouterPath(page.path)) { _, _ in
                var headers: HTTPFields = [:]
                headers[.contentType] = page.contentType
                headers[.cacheControl] = "no-cache"
                // Only the demo's own scripts and styles; no inline code, nothing from elsewhere.
                headers[.contentSecurityPolicy] = "default-src 'self'; object-src 'none'; base-uri 'none'"
                return Response(
                    status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: page.body)))
            }
        }
    }
}
