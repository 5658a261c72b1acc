//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdBasicAuth
import HummingbirdTesting
import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import Logging
import Synchronization
import Testing

@testable import KeyboundHummingbird

/// The HummingbirdAuth authenticator: an application identity shared with Basic authentication, refusals thrown to
/// the application's error middleware, and the debug log of each refusal.
@Suite("Hummingbird DPoPAuthenticator")
struct DPoPAuthenticatorTests: FixtureSuite {
    let fixture: Fixture

    init() throws { fixture = try Fixture() }

    /// The application's identity, from a DPoP-verified subject or from Basic credentials.
    struct User: PasswordAuthenticatable {
        let name: String
        let via: String
        var passwordHash: String? { via == "basic" ? "secret" : nil }
    }

    /// A test-only password check (a real application uses bcrypt).
    struct PlainPasswords: PasswordHashVerifier {
        func verifyPassword(_ password: String, createsHash hash: String) async throws -> Bool { password == hash }
    }

    typealias AppContext = BasicAuthRequestContext<User>

    /// The codes of the refusals the application's error middleware saw.
    final class Seen: Sendable {
        private let codes = Mutex<[String]>([])
        var all: [String] { codes.withLock { $0 } }
        func record(_ code: String) { codes.withLock { $0.append(code) } }
    }

    /// Records every refusal the routes throw, as an application's error middleware would see it, and rethrows it.
    struct ErrorRecorder<Context: RequestContext>: RouterMiddleware {
        let seen: Seen

        func handle(
            _ request: Request, context: Context, next: (Request, Context) async throws -> Response
        ) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let refusal as DPoPRefusalError {
                seen.record(refusal.error.code.name)
                throw refusal
            }
        }
    }

    /// `/api/me` (DPoP, the subject as a `User`), `/basic/me` (Basic) and `/api/raw/**`.
    func app(_ verifier: Verifier, seen: Seen, logs: RecordingLogHandler.Store) -> some ApplicationProtocol {
        let router = Router(context: AppContext.self)
        router.add(middleware: ErrorRecorder(seen: seen))
        let now: @Sendable () -> Int64 = { Fixture.now }
        let dpop = DPoPAuthenticator<AppContext>(
            verifier: verifier, requestURL: .externalBaseURL("https://api.example"), now: now
        ) { verified, _, _ in
            verified.subject.map { User(name: $0, via: "dpop") }
        }
        let apiGroup = router.group("api").add(middleware: dpop).add(middleware: IsAuthenticatedMiddleware())
        apiGroup.get("me") { _, context in
            let user = try context.requireIdentity()
            return "\(user.name) via \(user.via)"
        }
        apiGroup.get("raw/**") { _, _ in "raw" }
        router.group("basic")
            .add(
                middleware: BasicAuthenticator(passwordHashVerifier: PlainPasswords()) { name, _ in
                    name == "ops" ? User(name: "ops", via: "basic") : nil
                }
            )
            .add(middleware: IsAuthenticatedMiddleware())
            .get("me") { _, context in
                let user = try context.requireIdentity()
                return "\(user.name) via \(user.via)"
            }
        return Application(router: router, logger: logs.logger())
    }

    @Test func dpopAndBasicShareOneIdentityType() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/me", token: token)
        let seen = Seen()
        try await app(verifier, seen: seen, logs: .init()).test(.router) { client in
            let dpop = try await client.send(.get, "/api/me", token: token, proofs: [proof])
            #expect(dpop.status == .ok)
            #expect(dpop.text == "alice via dpop")

            var basic = HTTPFields()
            basic[.authorization] = "Basic " + Data("ops:secret".utf8).base64EncodedString()
            let other = try await client.execute(uri: "/basic/me", method: .get, headers: basic)
            #expect(other.status == .ok)
            #expect(other.text == "ops via basic")

            // Basic credentials on the DPoP route are a refusal of the DPoP scheme, not a Basic login.
            let mixed = try await client.execute(uri: "/api/me", method: .get, headers: basic)
            mixed.expectRefusal(.unauthorized, "unsupported_scheme")
        }
        #expect(seen.all == ["unsupported_scheme"])
    }

    @Test func theTargetIsComparedAsItArrived() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let (encoded, decoded) = try fixture.percentEncodedProofs(token: token)
        let seen = Seen()
        try await app(verifier, seen: seen, logs: .init()).test(.router) { client in
            #expect(try await client.send(.get, "/api/raw/a%2Fb", token: token, proofs: [encoded]).status == .ok)
            let refused = try await client.send(.get, "/api/raw/a%2Fb", token: token, proofs: [decoded])
            refused.expectRefusal(.unauthorized, "proof_htu")
        }
    }

    @Test func refusalsReachTheErrorMiddlewareAndAreLoggedWithoutRequestBytes() async throws {
        let (verifier, token) = (try fixture.verifier(), try fixture.token())
        let proof = try fixture.proof("GET", "\(api)/api/me", token: token)
        let seen = Seen()
        let logs = RecordingLogHandler.Store()
        try await app(verifier, seen: seen, logs: logs).test(.router) { client in
            let headers = Fixture.headers(token: token, proofs: [proof])
            #expect(try await client.execute(uri: "/api/me", method: .get, headers: headers).status == .ok)
            let replay = try await client.execute(uri: "/api/me", method: .get, headers: headers)
            replay.expectRefusal(.unauthorized, "proof_replayed")
            #expect(replay.headers[.wwwAuthenticate]?.contains("error=\"invalid_dpop_proof\"") == true)

            let missing = try await client.send(.get, "/api/me", token: token, proofs: [])
            missing.expectRefusal(.unauthorized, "missing_dpop_proof")
        }
        #expect(seen.all == ["proof_replayed", "missing_dpop_proof"])
        let refusals = logs.all.filter { $0.message == "DPoP request refused" }
        #expect(refusals.map(\.level) == [.debug, .debug])
        #expect(refusals.map { $0.metadata["keybound.code"] } == ["proof_replayed", "missing_dpop_proof"])
        #expect(refusals.map { $0.metadata["keybound.status"] } == ["211", "103"])
        #expect(refusals.map { $0.metadata["http.status"] } == ["401", "401"])
        let signature = String(proof.split(separator: ".").last ?? "")
        for logged in logs.all {
            #expect(!logged.text.contains(token))
            #expect(!logged.text.contains(signature))
        }
    }

    @Test func aRouteCanDemandARecentLogin() async throws {
        let verifier = try fixture.verifier()
        let router = Router(context: BasicDPoPRequestContext.self)
        let now: @Sendable () -> Int64 = { Fixture.now }
        router.group("api")
            .add(
                middleware: DPoPAuthenticator(
                    verifier: verifier, requestURL: .externalBaseURL(api), requirements: Requirements(maxAge: 300),
                    now: now)
            )
            .post("delete") { _, _ in "deleted" }
        let logs = RecordingLogHandler.Store()
        try await Application(router: router, logger: logs.logger()).test(.router) { client in
            let cases: [(Int64, HTTPResponse.Status)] = [(Fixture.now - 3_600, .unauthorized), (Fixture.now - 60, .ok)]
            for (authTime, status) in cases {
                let token = try fixture.token(authTime: authTime)
                let response = try await client.sendProved(.post, "/api/delete", token: token, fixture: fixture)
                #expect(response.status == status)
                if status == .unauthorized {
                    #expect(response.code == "insufficient_user_authentication")
                    let challenge = try #require(response.headers[.wwwAuthenticate])
                    #expect(challenge.hasPrefix("DPoP error=\"insufficient_user_authentication\""))
                    #expect(challenge.contains("max_age=\"300\"") || challenge.contains("max_age=300"))
                }
            }
        }
        #expect(logs.all.compactMap { $0.metadata["keybound.status"] } == ["314"])
    }

    @Test func theBasicContextTakesTheVerifiedRequestAsItsIdentity() async throws {
        let verifier = try fixture.verifier()
        let token = try fixture.token(scope: "profile")
        let router = Router(context: BasicDPoPRequestContext.self)
        let now: @Sendable () -> Int64 = { Fixture.now }
        let guarded = router.group("api")
            .add(middleware: DPoPAuthenticator(verifier: verifier, requestURL: .externalBaseURL(api), now: now))
        guarded.get("me") { _, context in "\(try context.requireIdentity().subject ?? "-")" }
        guarded.requireScope("admin").get("admin") { _, _ in "admin" }
        try await Application(router: router).test(.router) { client in
            let me = try await client.sendProved(.get, "/api/me", token: token, fixture: fixture)
            #expect(me.status == .ok)
            #expect(me.text == "alice")
            let admin = try await client.sendProved(.get, "/api/admin", token: token, fixture: fixture)
            admin.expectRefusal(.forbidden, "insufficient_scope")
        }
    }
}
