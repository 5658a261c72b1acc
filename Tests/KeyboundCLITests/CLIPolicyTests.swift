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
}
