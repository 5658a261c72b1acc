//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// The typed claim accessors of `VerifiedRequest` (docs/design.md "Contracts → Typed claims").
@Suite("Typed claims")
struct TypedClaimsTests {
    let (world, client): (SignedWorld, SigningKey)

    init() throws { (world, client) = try SignedWorld.withClient() }

    /// A verified request whose token carries `extra` claims (name, JSON text).
    func verified(_ extra: [(String, String)]) throws -> VerifiedRequest {
        let token = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: world.issuer, aud: [world.audience], sub: "user-7", scope: "a b",
                              jkt: client.thumbprint, iat: world.now, exp: world.now + 600, jti: "t-1", kid: "k1",
                              extraClaims: extra.map { .init(name: $0.0, json: $0.1) }),
            key: world.issuerKey)
        return try world.verifier().verify(try world.request(client: client, token: token, jti: "p-1"), now: world.now)
    }

    func code(_ body: () throws -> Any?) -> KeyboundError.Code? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? KeyboundError)?.code
        }
    }

    @Test("each accessor reads its type, unescaped; nil when absent; claim(_:) stays raw")
    func values() throws {
        let request = try verified([
            ("name", #""caf\u00e9 \"x\"""#), ("count", "42"), ("whole", "4.2e1"), ("ratio", "0.25"),
            ("admin", "true"), ("guest", "false"), ("roles", #"["a","b\u0021"]"#), ("empty", "[]"),
        ])
        #expect(try request.string("name") == "café \"x\"")
        #expect(request.claim("name") == #""caf\u00e9 \"x\"""#)
        #expect(try request.int("count") == 42)
        #expect(try request.int("whole") == 42)
        #expect(try request.double("ratio") == 0.25)
        #expect(try request.double("count") == 42)
        #expect(try request.bool("admin") == true)
        #expect(try request.bool("guest") == false)
        #expect(try request.strings("roles") == ["a", "b!"])
        #expect(try request.strings("empty") == [])
        #expect(try request.string("sub") == "user-7")
        for name in ["absent", "Name"] {
            #expect(try request.string(name) == nil)
            #expect(try request.int(name) == nil)
            #expect(try request.double(name) == nil)
            #expect(try request.bool(name) == nil)
            #expect(try request.strings(name) == nil)
        }
    }

    @Test("a claim of another JSON type is 310 token_claims, null included; scope is not split; a lone string is not an array")
    func wrongTypes() throws {
        let request = try verified([
            ("n", "null"), ("count", "42"), ("fraction", "1.5"), ("huge", "1e300"), ("name", #""x""#),
            ("mixed", #"["a",1]"#), ("object", #"{"a":1}"#), ("flag", "true"),
        ])
        #expect(code { try request.string("count") } == .tokenClaims)
        #expect(code { try request.string("n") } == .tokenClaims)
        #expect(code { try request.string("object") } == .tokenClaims)
        #expect(code { try request.int("fraction") } == .tokenClaims)
        #expect(code { try request.int("huge") } == .tokenClaims)
        #expect(code { try request.int("name") } == .tokenClaims)
        #expect(code { try request.int("flag") } == .tokenClaims)
        #expect(code { try request.double("name") } == .tokenClaims)
        #expect(code { try request.double("huge") } == .tokenClaims)
        #expect(code { try request.bool("count") } == .tokenClaims)
        #expect(code { try request.bool("n") } == .tokenClaims)
        #expect(code { try request.strings("mixed") } == .tokenClaims)
        #expect(code { try request.strings("name") } == .tokenClaims)
        #expect(code { try request.strings("scope") } == .tokenClaims)
        #expect(code { try request.strings("aud") } == .tokenClaims)
        do {
            _ = try request.int("name")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.reason == "the access token claim is not an integer")
        }
    }

    @Test("without a JWT access token every accessor answers nil")
    func noToken() throws {
        let proof = try DPoPBuilder.proof(key: client, method: "POST", url: world.url, iat: world.now, jti: "te-1",
                                          accessToken: nil)
        let verified = try world.verifier().verify(
            DPoPRequest(method: "POST", url: world.url, authorization: nil, dpop: [proof]), mode: .tokenEndpoint,
            now: world.now)
        #expect(try verified.string("sub") == nil)
        #expect(try verified.int("exp") == nil)
        #expect(try verified.strings("aud") == nil)
        #expect(verified.claim("sub") == nil)
    }
}
