//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import Testing

/// An issuer key written as a JWKS file, a client key, and tokens and proofs signed in-process for `keybound verify`.
struct CLIWorld {
    let dir: TempDir
    let issuerKey: SigningKey
    let client: SigningKey
    let jwks: String
    let url = "https://api.example/orders"

    init() throws {
        dir = try TempDir()
        issuerKey = try SigningKey.generate(.es256, kid: "k1")
        client = try SigningKey.generate(.es256)
        jwks = try dir.write("jwks.json", #"{"keys":["# + issuerKey.publicJWK(includingAlg: true) + "]}")
    }

    /// `verify` flags without `--now` (the tool then reads the clock).
    var flags: [String] { ["verify", "--jwks", jwks, "--issuer", issuerName, "--audience", audience] }

    func token(iat: Int64, bound: Bool = true, scope: String? = "read", extra: [AccessTokenClaims.ExtraClaim] = [])
        throws -> String
    {
        try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: issuerName, aud: [audience], sub: "alice", scope: scope,
                              jkt: bound ? client.thumbprint : nil, iat: iat, exp: iat + 3600, jti: "t-\(iat)",
                              kid: "k1", extraClaims: extra),
            key: issuerKey)
    }

    func proof(token: String, iat: Int64, jti: String) throws -> String {
        try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: iat, jti: jti, accessToken: token)
    }

    /// One resource request through the binary: its JSON verdict.
    func verify(token: String, proof: String?, scheme: String = "DPoP", _ more: [String] = [], now: Int64? = nil)
        throws -> [String: Any]
    {
        var arguments = flags + more + ["--method", "GET", "--url", url, "--authorization", "\(scheme) \(token)"]
        if let proof { arguments += ["--dpop", proof] }
        if let now { arguments += ["--now", String(now)] }
        return try keybound(arguments).json()
    }
}

@Suite("CLI: policy and per-request options")
struct CLIPolicyTests {
    static func realNow() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }

    @Test("without --now the verifier's clock is read: a proof made now verifies, one an hour old is 209")
    func defaultClock() throws {
        let world = try CLIWorld()
        let fresh = try world.token(iat: Self.realNow())
        let ok = try world.verify(token: fresh, proof: try world.proof(token: fresh, iat: Self.realNow(), jti: "p-1"))
        #expect(ok["ok"] as? Bool == true, "\(ok)")
        let old = Self.realNow() - 3600
        let stale = try world.verify(token: fresh, proof: try world.proof(token: fresh, iat: old, jti: "p-2"))
        #expect(stale["code"] as? Int == 209)
        #expect(stale["name"] as? String == "proof_iat")
    }

    @Test("--require-scope: 315 with HTTP 403 and scope= in the challenge; held scopes verify")
    func requireScope() throws {
        let world = try CLIWorld()
        let token = try world.token(iat: now, scope: "read write")
        let ok = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-1"),
                                  ["--require-scope", "write", "--require-scope", "read"], now: now)
        #expect(ok["ok"] as? Bool == true, "\(ok)")
        let refused = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-2"),
                                       ["--require-scope", "admin"], now: now)
        #expect(refused["code"] as? Int == 315)
        #expect(refused["status"] as? Int == 403)
        #expect(refused["www_authenticate"] as? String
            == #"DPoP error="insufficient_scope", error_description="the access token lacks a scope this request requires", scope="admin""#)
    }

    @Test("--require-max-auth-age and --require-acr: 314 with max_age= and acr_values=; --auth-time-from-iat")
    func stepUp() throws {
        let world = try CLIWorld()
        let token = try world.token(
            iat: now, extra: [.init(name: "auth_time", json: String(now - 100)), .init(name: "acr", json: #""urn:pwd""#)])
        let old = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-1"),
                                   ["--require-max-auth-age", "30", "--require-acr", "urn:mfa"], now: now)
        #expect(old["code"] as? Int == 314)
        #expect(old["status"] as? Int == 401)
        #expect(old["www_authenticate"] as? String
            == #"DPoP error="insufficient_user_authentication", error_description="the user authentication is older than max_age", acr_values="urn:mfa", max_age="30""#)
        let ok = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-2"),
                                  ["--require-max-auth-age", "300", "--require-acr", "urn:pwd"], now: now)
        #expect(ok["ok"] as? Bool == true, "\(ok)")
        let plain = try world.token(iat: now - 20)
        let missing = try world.verify(token: plain, proof: try world.proof(token: plain, iat: now, jti: "p-3"),
                                       ["--require-max-auth-age", "60"], now: now)
        #expect(missing["code"] as? Int == 314)
        let lenient = try world.verify(token: plain, proof: try world.proof(token: plain, iat: now, jti: "p-4"),
                                       ["--require-max-auth-age", "60", "--auth-time-from-iat"], now: now)
        #expect(lenient["ok"] as? Bool == true, "\(lenient)")
    }

    @Test("--require-claim and --allow-client-id: 310 naming the claim")
    func claimRules() throws {
        let world = try CLIWorld()
        let token = try world.token(iat: now)
        let refused = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-1"),
                                       ["--require-claim", "tenant"], now: now)
        #expect(refused["code"] as? Int == 310)
        #expect(refused["reason"] as? String == "access token has no tenant claim")
        let client = try world.verify(token: token, proof: try world.proof(token: token, iat: now, jti: "p-2"),
                                      ["--allow-client-id", "app-1"], now: now)
        #expect(client["code"] as? Int == 310)
        #expect(client["reason"] as? String == "access token has no client_id claim")
    }
}
