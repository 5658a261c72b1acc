//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import Testing

/// `keybound verify --allow-bearer` (Bearer migration mode, RFC 9449 §7.2) and `--claim` (typed claim output).
@Suite("CLI: Bearer migration mode and claims")
struct CLIBearerTests {
    let es256 = ["--algs", "ES256"]

    @Test("--allow-bearer: a token without cnf as Bearer verifies; the output has no jkt and no proof_jti")
    func unboundBearer() throws {
        let world = try CLIWorld()
        let token = try world.token(iat: now, bound: false)
        let result = try world.verify(token: token, proof: nil, scheme: "Bearer", ["--allow-bearer"] + es256, now: now)
        #expect(result["ok"] as? Bool == true, "\(result)")
        #expect(result["scheme"] as? String == "bearer")
        #expect(result["sub"] as? String == "alice")
        #expect(result.keys.contains("jkt") == false)
        #expect(result.keys.contains("proof_jti") == false)
        // A DPoP result keeps both, and no scheme member.
        let bound = try world.token(iat: now)
        let dpop = try world.verify(token: bound, proof: try world.proof(token: bound, iat: now, jti: "p-1"),
                                    ["--allow-bearer"] + es256, now: now)
        #expect(dpop["jkt"] as? String == world.client.thumbprint)
        #expect(dpop["proof_jti"] as? String == "p-1")
        #expect(dpop.keys.contains("scheme") == false)
    }

    @Test("--allow-bearer: a token with cnf as Bearer is 316 with the error on the Bearer challenge")
    func boundBearer() throws {
        let world = try CLIWorld()
        let token = try world.token(iat: now)
        let result = try world.verify(token: token, proof: nil, scheme: "Bearer", ["--allow-bearer"] + es256, now: now)
        #expect(result["code"] as? Int == 316)
        #expect(result["name"] as? String == "bound_token_as_bearer")
        #expect(result["error"] as? String == "invalid_token")
        #expect(result["status"] as? Int == 401)
        #expect(result["www_authenticate"] as? String
            == #"DPoP algs="ES256", Bearer error="invalid_token", error_description="a DPoP-bound access token was sent with the Bearer scheme""#)
    }

    @Test("--allow-bearer: Bearer with a DPoP header is 102 (400); without the flag Bearer is 101")
    func bearerWithDPoPAndModeOff() throws {
        let world = try CLIWorld()
        let token = try world.token(iat: now, bound: false)
        let proof = try world.proof(token: token, iat: now, jti: "p-1")
        let mixed = try world.verify(token: token, proof: proof, scheme: "Bearer", ["--allow-bearer"] + es256, now: now)
        #expect(mixed["code"] as? Int == 102)
        #expect(mixed["status"] as? Int == 400)
        #expect(mixed["www_authenticate"] as? String
            == #"DPoP algs="ES256", Bearer error="invalid_request", error_description="a Bearer request carries a DPoP header""#)
        let off = try world.verify(token: token, proof: nil, scheme: "Bearer", es256, now: now)
        #expect(off["code"] as? Int == 101)
        #expect(off["www_authenticate"] as? String == #"DPoP algs="ES256""#)
    }

    @Test("--claim: named claims in a \"claims\" object, strings unescaped, other values compact, absent null")
    func claims() throws {
        let world = try CLIWorld()
        let token = try world.token(iat: now, extra: [
            .init(name: "tenant", json: #""caf\u00e9""#), .init(name: "roles", json: #"[ "a",  "b" ]"#),
            .init(name: "level", json: "3"),
        ])
        let result = try world.verify(
            token: token, proof: try world.proof(token: token, iat: now, jti: "p-1"),
            ["--claim", "tenant", "--claim", "roles", "--claim", "level", "--claim", "absent"], now: now)
        let claims = try #require(result["claims"] as? [String: Any], "\(result)")
        #expect(claims["tenant"] as? String == "café")
        #expect(claims["roles"] as? [String] == ["a", "b"])
        #expect(claims["level"] as? Int == 3)
        #expect(claims["absent"] is NSNull)
        // The line itself: the unescaped string, the array without its spaces.
        let line = try keybound(world.flags + ["--now", String(now), "--method", "GET", "--url", world.url,
                                               "--authorization", "DPoP \(token)",
                                               "--dpop", try world.proof(token: token, iat: now, jti: "p-2"),
                                               "--claim", "tenant", "--claim", "roles"]).trimmed
        #expect(line.hasSuffix(#","claims":{"tenant":"café","roles":["a","b"]}}"#), "\(line)")
        // Without --claim there is no claims member.
        let plain = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-3"), now: now)
        #expect(plain.keys.contains("claims") == false)
    }
}
