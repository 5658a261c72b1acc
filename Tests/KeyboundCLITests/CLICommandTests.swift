//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import KeyboundTestSupport
import Testing

@Suite("CLI: keygen → token → proof → verify round trips, through the binary")
struct CLIRoundTripTests {
    @Test("every algorithm, as issuer and as client", arguments: JWSAlgorithm.allSupported)
    func roundTrip(_ alg: JWSAlgorithm) throws {
        let dir = try TempDir()
        // Issuer: keygen with a kid and a JWKS file.
        let issuerRun = try keybound([
            "keygen", "--alg", alg.rawValue, "--kid", "iss-1", "--jwks-out", dir.path("jwks.json"),
        ])
        #expect(issuerRun.status == 0, "\(issuerRun.stderr)")
        let issuerKey = try dir.write("issuer.jwk", issuerRun.stdout)
        // Client: keygen with --public; the public half is the second line.
        let clientRun = try keybound(["keygen", "--alg", alg.rawValue, "--public"])
        #expect(clientRun.status == 0)
        #expect(clientRun.lines.count == 2)
        let clientKey = try dir.write("client.jwk", clientRun.lines[0])
        let publicJWK = try parseJSONLine(clientRun.lines[1])
        #expect(publicJWK["d"] == nil)
        #expect(publicJWK["alg"] as? String == alg.rawValue)

        let jkt = try keybound(["thumbprint", clientKey]).trimmed
        #expect(jkt == (try Thumbprint.jkt(ofJWK: clientRun.lines[1])))
        #expect(try keybound(["thumbprint", clientRun.lines[1]]).trimmed == jkt)

        let tokenRun = try keybound([
            "token", "--key", issuerKey, "--iss", issuerName, "--aud", audience, "--sub", "alice", "--jkt", jkt,
            "--scope", "read write", "--client-id", "c-1", "--iat", String(now - 5), "--ttl", "600", "--jti",
            "tok-\(alg)",
        ])
        #expect(tokenRun.status == 0, "\(tokenRun.stderr)")
        let token = tokenRun.trimmed
        #expect(try header(of: token)["kid"] as? String == "iss-1")
        #expect(try header(of: token)["typ"] as? String == "at+jwt")

        let url = "https://api.example/orders/1?page=2#top"
        let proofRun = try keybound([
            "proof", "--key", clientKey, "--method", "PATCH", "--url", url, "--token", token, "--iat", String(now),
            "--jti", "proof-\(alg)",
        ])
        #expect(proofRun.status == 0, "\(proofRun.stderr)")
        let proof = proofRun.trimmed
        #expect(try payload(of: proof)["htu"] as? String == "https://api.example/orders/1")
        #expect(try payload(of: proof)["ath"] as? String == Thumbprint.accessTokenHash(token))

        let jwks = dir.path("jwks.json")
        let verify = verifyFlags(jwks: jwks) + ["--method", "PATCH", "--url", url, "--authorization", "DPoP " + token]
        let ok = try keybound(verify + ["--dpop", proof])
        #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
        let verdict = try ok.json()
        #expect(verdict["ok"] as? Bool == true)
        #expect(verdict["sub"] as? String == "alice")
        #expect(verdict["client_id"] as? String == "c-1")
        #expect(verdict["scope"] as? String == "read write")
        #expect(verdict["jkt"] as? String == jkt)
        #expect((verdict["exp"] as? NSNumber)?.int64Value == now + 595)
        #expect(verdict["token_jti"] as? String == "tok-\(alg)")
        #expect(verdict["proof_jti"] as? String == "proof-\(alg)")
        #expect(verdict.keys.sorted() == ["client_id", "exp", "jkt", "ok", "proof_jti", "scope", "sub", "token_jti"])

        // One-byte changes: proof signature, proof payload, token signature.
        let badProof = try keybound(verify + ["--dpop", try flipByte(ofSegment: 2, in: proof, at: 5)])
        #expect(badProof.status == 1)
        #expect(try badProof.json()["code"] as? Int == 205)
        let badPayload = try keybound(verify + ["--dpop", try flipByte(ofSegment: 1, in: proof, at: 8, mask: 0x01)])
        #expect(try badPayload.json()["code"] as? Int == 205)
        let badToken = try flipByte(ofSegment: 2, in: token, at: 3)
        let proofForBad = try keybound([
            "proof", "--key", clientKey, "--method", "PATCH", "--url", url, "--token", badToken, "--iat", String(now),
        ]).trimmed
        let badTokenRun = try keybound(
            verifyFlags(jwks: jwks) + [
                "--method", "PATCH", "--url", url, "--authorization", "DPoP " + badToken,
                "--dpop", proofForBad,
            ]
        )
        #expect(badTokenRun.status == 1)
        #expect(try badTokenRun.json()["code"] as? Int == 305)

        // A replay within one process: the same request twice in a batch.
        let line = requestLine(method: "PATCH", url: url, authorization: "DPoP " + token, dpop: proof)
        let batch = try dir.write("replay.jsonl", line + "\n" + line + "\n")
        let replay = try keybound(verifyFlags(jwks: jwks) + ["--batch", batch])
        #expect(replay.status == 1)
        #expect(replay.lines.count == 2)
        #expect(try parseJSONLine(replay.lines[0])["ok"] as? Bool == true)
        #expect(try parseJSONLine(replay.lines[1])["code"] as? Int == 211)

        // Token-endpoint mode: the proof alone.
        let tokenEndpointProof = try keybound([
            "proof", "--key", clientKey, "--method", "POST", "--url", "https://issuer.example/token", "--iat",
            String(now),
        ]).trimmed
        let te = try keybound([
            "verify", "--mode", "token-endpoint", "--now", String(now), "--method", "POST", "--url",
            "https://issuer.example/token", "--dpop", tokenEndpointProof,
        ])
        #expect(te.status == 0, "\(te.stdout) \(te.stderr)")
        let teVerdict = try te.json()
        #expect(teVerdict["jkt"] as? String == jkt)
        #expect(teVerdict["sub"] is NSNull)
        #expect(teVerdict["exp"] is NSNull)
        #expect(teVerdict["token_jti"] is NSNull)
    }
}

@Suite("CLI: verify options and exit statuses")
struct CLIVerifyTests {
    /// An ES256 issuer, an EdDSA client and a token, written to a folder.
    struct Setup {
        let dir: TempDir
        let issuer: SigningKey
        let client: SigningKey
        let token: String
        var jwks: String { dir.path("jwks.json") }
        let url = "https://api.example/r"

        init() throws {
            dir = try TempDir()
            issuer = try SigningKey.generate(.es256, kid: "k1")
            client = try SigningKey.generate(.edDSA)
            try dir.write("jwks.json", "{\"keys\":[\(issuer.publicJWK(includingAlg: true))]}")
            try dir.write("client.jwk", client.privateJWK)
            token = try DPoPBuilder.accessToken(
                AccessTokenClaims(
                    iss: issuerName, aud: [audience], sub: "bob", jkt: client.thumbprint, iat: now,
                    exp: now + 300, jti: "tj-1", kid: "k1"),
                key: issuer
            )
        }

        func proof(
            _ jti: String = UUID().uuidString, method: String = "GET", url: String? = nil, iat: Int64 = now,
            nonce: String? = nil, token: String? = nil
        ) throws -> String {
            try DPoPBuilder.proof(
                key: client, method: method, url: url ?? self.url, iat: iat, jti: jti,
                accessToken: token ?? self.token, nonce: nonce)
        }

        func single(_ extra: [String] = [], proof: String? = nil, environment: [String: String] = [:]) throws
            -> RunResult
        {
            try keybound(
                verifyFlags(jwks: jwks) + [
                    "--method", "GET", "--url", url, "--authorization", "DPoP " + token,
                    "--dpop", proof ?? self.proof(),
                ] + extra,
                environment: environment
            )
        }
    }

    @Test("--jwks: one warning line on standard error per skipped entry; the request still verifies")
    func jwksSkippedEntriesWarn() throws {
        let s = try Setup()
        let encryption = #"{"kty":"OKP","crv":"X25519","use":"enc","kid":"enc-1","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}"#
        let symmetric = #"{"kty":"oct","kid":"hmac","alg":"HS256"}"#
        try s.dir.write("jwks.json", "{\"keys\":[\(encryption),\(s.issuer.publicJWK(includingAlg: true)),\(symmetric)]}")
        let result = try s.single()
        #expect(result.status == 0, "\(result.stderr)")
        let warnings = result.stderr.split(separator: "\n").map(String.init)
        #expect(warnings == [
            "keybound: warning: JWKS \(s.jwks): skipped key 0 (kid \"enc-1\"): use is not sig",
            "keybound: warning: JWKS \(s.jwks): skipped key 2 (kid \"hmac\"): kty oct (a symmetric key) is not a verification key",
        ])
    }

    #if !Redis
    @Test("--replay-store in a build without Redis names the build command that works")
    func replayStoreHint() throws {
        let s = try Setup()
        let result = try s.single(["--replay-store", "redis://127.0.0.1:6379/0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("swift build --traits default,Redis"), "\(result.stderr)")
    }
    #endif

    @Test("another Authorization scheme and no DPoP header: 101 with a bare challenge, not 103")
    func schemeBeforeProof() throws {
        let s = try Setup()
        let result = try keybound(
            verifyFlags(jwks: s.jwks) + ["--method", "GET", "--url", s.url, "--authorization", "Bearer " + s.token])
        #expect(result.status == 1)
        let verdict = try result.json()
        #expect(verdict["code"] as? Int == 101)
        #expect((verdict["www_authenticate"] as? String)?.contains("error=") == false)
    }

    @Test("exit status 2: usage and configuration errors, one line on standard error")
    func usageErrors() throws {
        let s = try Setup()
        let base = verifyFlags(jwks: s.jwks) + ["--method", "GET", "--url", s.url]
        try s.dir.write("bad.json", "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}")
        try s.dir.write("notjson.json", "nope")
        try s.dir.write("short.hex", String(repeating: "ab", count: 16) + "\n")
        let cases: [(String, [String], [String: String])] = [
            ("no arguments", ["verify"], [:]),
            (
                "no issuer", ["verify", "--jwks", s.jwks, "--audience", audience, "--method", "GET", "--url", s.url],
                [:]
            ),
            (
                "no audience", ["verify", "--jwks", s.jwks, "--issuer", issuerName, "--method", "GET", "--url", s.url],
                [:]
            ),
            (
                "no jwks",
                ["verify", "--issuer", issuerName, "--audience", audience, "--method", "GET", "--url", s.url], [:]
            ),
            ("no url", verifyFlags(jwks: s.jwks) + ["--method", "GET"], [:]),
            (
                "unreadable JWKS", verifyFlags(jwks: s.dir.path("missing.json")) + ["--method", "GET", "--url", s.url],
                [:]
            ),
            ("invalid JWKS", verifyFlags(jwks: s.dir.path("bad.json")) + ["--method", "GET", "--url", s.url], [:]),
            (
                "JWKS not JSON", verifyFlags(jwks: s.dir.path("notjson.json")) + ["--method", "GET", "--url", s.url],
                [:]
            ),
            ("unknown alg", base + ["--algs", "ES256,HS256"], [:]),
            ("bad mode", base + ["--mode", "bearer"], [:]),
            ("bad max age", base + ["--max-age", "-1"], [:]),
            ("max age not a number", base + ["--max-age", "soon"], [:]),
            ("bad base URL", base + ["--base-url", "ftp://x"], [:]),
            ("nonce secret on the command line", base + ["--require-nonce", "--nonce-secret", "00"], [:]),
            ("nonces without secrets", base + ["--require-nonce"], [:]),
            ("short nonce secret", base + ["--require-nonce", "--nonce-secret-file", s.dir.path("short.hex")], [:]),
            ("missing secret file", base + ["--require-nonce", "--nonce-secret-file", s.dir.path("none.hex")], [:]),
            ("non-hex env secret", base + ["--require-nonce"], ["KEYBOUND_NONCE_SECRETS": "zz"]),
            ("opaque without jkt", base + ["--mode", "opaque"], [:]),
            ("batch and single", base + ["--batch", "-"], [:]),
            ("missing batch file", verifyFlags(jwks: s.jwks) + ["--batch", s.dir.path("none.jsonl")], [:]),
            ("unknown subcommand", ["frobnicate"], [:]),
            ("unknown flag", base + ["--frobnicate"], [:]),
        ]
        for (name, arguments, environment) in cases {
            let run = try keybound(arguments, environment: environment)
            #expect(run.status == 2, "\(name): status \(run.status), \(run.stdout)")
            #expect(run.stdout.isEmpty, "\(name)")
            let errorLines = run.stderr.split(separator: "\n")
            #expect(errorLines.count == 1, "\(name): \(run.stderr)")
            #expect(run.stderr.hasPrefix("keybound: "), "\(name)")
        }
        // Secrets never appear in messages.
        let secret = String(repeating: "7e", count: 40) + "q"
        let run = try keybound(base + ["--require-nonce"], environment: ["KEYBOUND_NONCE_SECRETS": secret])
        #expect(run.status == 2)
        #expect(!run.stderr.contains("7e7e"))
    }

    @Test("exit status 0 and 1, and the refusal shape")
    func refusalShape() throws {
        let s = try Setup()
        #expect(try s.single().status == 0)
        let refused = try s.single(proof: try s.proof(method: "DELETE"))
        #expect(refused.status == 1)
        let verdict = try refused.json()
        #expect(verdict.keys.sorted() == ["code", "error", "name", "ok", "reason", "status", "www_authenticate"])
        #expect(verdict["ok"] as? Bool == false)
        #expect(verdict["code"] as? Int == 207)
        #expect(verdict["name"] as? String == "proof_htm")
        #expect(verdict["error"] as? String == "invalid_dpop_proof")
        #expect(verdict["status"] as? Int == 401)
        #expect((verdict["www_authenticate"] as? String)?.hasPrefix("DPoP error=\"invalid_dpop_proof\"") == true)
        // No Authorization at all: error null, bare challenge.
        let missing = try keybound(verifyFlags(jwks: s.jwks) + ["--method", "GET", "--url", s.url])
        #expect(missing.status == 1)
        let bare = try missing.json()
        #expect(bare["code"] as? Int == 100)
        #expect(bare["error"] is NSNull)
        #expect(
            bare["www_authenticate"] as? String
                == "DPoP algs=\"ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA Ed25519\"")
    }

    @Test("--algs restricts proofs and tokens, and the challenge lists them")
    func algs() throws {
        let s = try Setup()
        let run = try s.single(["--algs", "ES256,ES384"])
        #expect(run.status == 1)
        let verdict = try run.json()
        #expect(verdict["code"] as? Int == 202)
        #expect((verdict["www_authenticate"] as? String)?.hasSuffix("algs=\"ES256 ES384\"") == true)
        #expect(try s.single(["--algs", "EdDSA, ES256"]).status == 0)
    }

    @Test("--max-age, --skew and --now decide iat")
    func clock() throws {
        let s = try Setup()
        #expect(try s.single(proof: try s.proof(iat: now - 65)).status == 0)  // 60 + 5
        #expect(try s.single(proof: try s.proof(iat: now - 66)).json()["code"] as? Int == 209)
        #expect(
            try s.single(["--max-age", "10", "--skew", "0"], proof: try s.proof(iat: now - 11)).json()["code"] as? Int
                == 209)
        #expect(try s.single(["--max-age", "10", "--skew", "0"], proof: try s.proof(iat: now - 10)).status == 0)
        #expect(try s.single(["--now", String(now + 400)]).json()["code"] as? Int == 209)
    }

    @Test("--revoke-token-jti and --revoke-jkt")
    func revocation() throws {
        let s = try Setup()
        #expect(try s.single(["--revoke-token-jti", "tj-1"]).json()["code"] as? Int == 312)
        #expect(try s.single(["--revoke-jkt", s.client.thumbprint]).json()["code"] as? Int == 313)
        #expect(try s.single(["--revoke-token-jti", "other", "--revoke-jkt", "other"]).status == 0)
    }

    @Test("--strict-token-type refuses typ JWT")
    func strictType() throws {
        let s = try Setup()
        let jwtToken = try DPoPBuilder.accessToken(
            AccessTokenClaims(
                iss: issuerName, aud: [audience], sub: "bob", jkt: s.client.thumbprint, iat: now,
                exp: now + 300, kid: "k1"),
            key: s.issuer, typ: "JWT"
        )
        let flags =
            verifyFlags(jwks: s.jwks) + ["--method", "GET", "--url", s.url, "--authorization", "DPoP " + jwtToken]
        #expect(try keybound(flags + ["--dpop", try s.proof(token: jwtToken)]).status == 0)
        #expect(
            try keybound(flags + ["--dpop", try s.proof(token: jwtToken), "--strict-token-type"]).json()["code"] as? Int
                == 301)
    }

    @Test("--base-url with origin-form request URLs")
    func baseURL() throws {
        let s = try Setup()
        let proof = try s.proof(url: "https://api.example/base/r")
        let run = try keybound(
            verifyFlags(jwks: s.jwks) + [
                "--base-url", "https://api.example/base/", "--method", "GET", "--url", "/r?x=1",
                "--authorization", "DPoP " + s.token, "--dpop", proof,
            ]
        )
        #expect(run.status == 0, "\(run.stdout)")
    }

    @Test("--dpop: none, one empty value, two values")
    func dpopValues() throws {
        let s = try Setup()
        let flags =
            verifyFlags(jwks: s.jwks) + ["--method", "GET", "--url", s.url, "--authorization", "DPoP " + s.token]
        #expect(try keybound(flags).json()["code"] as? Int == 103)
        #expect(try keybound(flags + ["--dpop", ""]).json()["code"] as? Int == 200)
        #expect(try keybound(flags + ["--dpop", try s.proof(), "--dpop", try s.proof()]).json()["code"] as? Int == 104)
    }

    @Test("opaque mode: the bound key from --jkt or the line's jkt")
    func opaque() throws {
        let s = try Setup()
        let opaqueToken = "opaque-token-value"
        let flags = [
            "verify", "--jwks", s.jwks, "--issuer", issuerName, "--audience", audience, "--now", String(now),
            "--mode", "opaque",
        ]
        let single = flags + ["--method", "GET", "--url", s.url, "--authorization", "DPoP " + opaqueToken]
        let ok = try keybound(single + ["--jkt", s.client.thumbprint, "--dpop", try s.proof(token: opaqueToken)])
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(try ok.json()["sub"] is NSNull)
        let wrong = try keybound(single + ["--jkt", s.issuer.thumbprint, "--dpop", try s.proof(token: opaqueToken)])
        #expect(try wrong.json()["code"] as? Int == 311)
        let lines = [
            requestLine(
                method: "GET", url: s.url, authorization: "DPoP " + opaqueToken,
                dpop: try s.proof(token: opaqueToken), jkt: s.client.thumbprint),
            requestLine(
                method: "GET", url: s.url, authorization: "DPoP " + opaqueToken, dpop: try s.proof(token: opaqueToken)),
        ]
        let batch = try s.dir.write("opaque.jsonl", lines.joined(separator: "\n"))
        let run = try keybound(flags + ["--batch", batch])
        #expect(run.status == 1)
        #expect(try parseJSONLine(run.lines[0])["ok"] as? Bool == true)
        #expect(try parseJSONLine(run.lines[1])["code"] as? Int == 950)
        let withDefault = try keybound(flags + ["--jkt", s.issuer.thumbprint, "--batch", batch])
        #expect(try parseJSONLine(withDefault.lines[0])["ok"] as? Bool == true)  // the line's jkt wins
        #expect(try parseJSONLine(withDefault.lines[1])["code"] as? Int == 311)
    }

    @Test("token-endpoint mode answers 400 without a challenge")
    func tokenEndpointRefusal() throws {
        let s = try Setup()
        let run = try keybound([
            "verify", "--mode", "token-endpoint", "--now", String(now), "--method", "POST", "--url",
            "https://issuer.example/token", "--dpop", try s.proof(),
        ])
        #expect(run.status == 1)
        let verdict = try run.json()
        #expect(verdict["code"] as? Int == 207)
        #expect(verdict["status"] as? Int == 400)
        #expect(verdict["www_authenticate"] is NSNull)
    }

    @Test("nonces: required, issued by `keybound nonce`, from a file or the environment")
    func nonces() throws {
        let s = try Setup()
        let secretNew = String(repeating: "a1", count: 32)
        let secretOld = String(repeating: "b2", count: 32)
        let file = try s.dir.write("secrets.hex", "# newest first\n\(secretNew)\n\n\(secretOld)\n")
        let env = ["KEYBOUND_NONCE_SECRETS": "\(secretNew),\(secretOld)"]

        // No nonce in the proof: 220 with a fresh nonce.
        let missing = try s.single(["--require-nonce"], environment: env)
        #expect(missing.status == 1)
        let refusal = try missing.json()
        #expect(refusal["code"] as? Int == 220)
        #expect(refusal["error"] as? String == "use_dpop_nonce")
        let issued = try #require(refusal["dpop_nonce"] as? String)
        #expect(issued.utf8.count == 27)

        // `keybound nonce` mints the same nonce as the verifier, with either source of secrets.
        let minted = try keybound(["nonce", "--now", String(now), "--nonce-secret-file", file]).trimmed
        #expect(minted == issued)
        #expect(try keybound(["nonce", "--now", String(now)], environment: env).trimmed == issued)
        #expect(minted == (try NonceIssuer(secrets: [[UInt8](hex: secretNew), [UInt8](hex: secretOld)]).mint(now: now)))

        // With the nonce the request verifies, and the answer carries the next nonce.
        let ok = try s.single(["--require-nonce", "--nonce-secret-file", file], proof: try s.proof(nonce: minted))
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(try ok.json()["dpop_nonce"] as? String == issued)
        // A nonce minted under the old secret is still valid; one under an unknown secret is not.
        let oldOnly = try keybound(["nonce", "--now", String(now)], environment: ["KEYBOUND_NONCE_SECRETS": secretOld])
            .trimmed
        #expect(try s.single(["--require-nonce"], proof: try s.proof(nonce: oldOnly), environment: env).status == 0)
        let stranger = try keybound(
            ["nonce", "--now", String(now)],
            environment: ["KEYBOUND_NONCE_SECRETS": String(repeating: "c3", count: 32)]
        ).trimmed
        let invalid = try s.single(["--require-nonce"], proof: try s.proof(nonce: stranger), environment: env).json()
        #expect(invalid["code"] as? Int == 221)
        #expect(invalid["dpop_nonce"] as? String == issued)
        // Stale: two windows later.
        #expect(
            try s.single(
                ["--require-nonce", "--now", String(now + 600)], proof: try s.proof(iat: now + 600, nonce: minted),
                environment: env
            ).json()["code"] as? Int == 221)
        // Bound to the key.
        let bound = try keybound(["nonce", "--now", String(now), "--jkt", s.client.thumbprint], environment: env)
            .trimmed
        #expect(bound != minted)
        #expect(
            try s.single(
                ["--require-nonce", "--nonce-bound-to-key"], proof: try s.proof(nonce: bound),
                environment: env
            ).status == 0)
        #expect(
            try s.single(
                ["--require-nonce", "--nonce-bound-to-key"], proof: try s.proof(nonce: minted),
                environment: env
            ).json()["code"] as? Int == 221)
        // Without --require-nonce a nonce claim is ignored and no dpop_nonce is printed.
        let off = try s.single(proof: try s.proof(nonce: "anything"))
        #expect(off.status == 0)
        #expect(try off.json()["dpop_nonce"] == nil)
        // `keybound nonce` without secrets is a usage error.
        #expect(try keybound(["nonce"]).status == 2)
    }
}

@Suite("CLI: thumbprint, keygen, token, proof, nonce, help")
struct CLIToolTests {
    @Test("thumbprint: inline, file, standard input, private JWK; bad input exits 2")
    func thumbprint() throws {
        let dir = try TempDir()
        // RFC 7638 §3.1 example key and thumbprint.
        let rfcKey = """
            {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}
            """
        let expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        #expect(try keybound(["thumbprint", rfcKey]).trimmed == expected)
        let file = try dir.write("key.json", rfcKey + "\n")
        #expect(try keybound(["thumbprint", file]).trimmed == expected)
        #expect(try keybound(["thumbprint"], stdin: Data(rfcKey.utf8)).trimmed == expected)
        #expect(try keybound(["thumbprint", "-"], stdin: Data(rfcKey.utf8)).trimmed == expected)
        let privateKey = try SigningKey.generate(.es384)
        #expect(try keybound(["thumbprint", privateKey.privateJWK]).trimmed == privateKey.thumbprint)
        for bad in ["{}", "{\"kty\":\"oct\",\"k\":\"AAAA\"}", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":1}", "{", "[]"] {
            let run = try keybound(["thumbprint", bad])
            #expect(run.status == 2, "\(bad)")
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
        #expect(try keybound(["thumbprint", dir.path("missing.json")]).status == 2)
    }

    @Test("keygen: every algorithm, options and errors")
    func keygen() throws {
        for alg in JWSAlgorithm.allSupported {
            let run = try keybound(["keygen", "--alg", alg.rawValue])
            #expect(run.status == 0)
            let key = try SigningKey(privateJWK: run.trimmed)
            #expect(key.algorithm == alg)
        }
        let rsa = try keybound(["keygen", "--alg", "PS512", "--rsa-bits", "3072", "--kid", "r1"])
        let key = try SigningKey(privateJWK: rsa.trimmed)
        #expect(key.kid == "r1")
        #expect(try key.sign([1]).count == 384)
        for bad in [
            ["keygen"], ["keygen", "--alg", "HS256"], ["keygen", "--alg", "none"], ["keygen", "--alg", "es256"],
            ["keygen", "--alg", "RS256", "--rsa-bits", "1024"],
        ] {
            let run = try keybound(bad)
            #expect(run.status == 2, "\(bad)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test("token: claims, defaults and errors")
    func token() throws {
        let dir = try TempDir()
        let issuer = try SigningKey.generate(.es256, kid: "kk")
        let keyFile = try dir.write("issuer.jwk", issuer.privateJWK)
        let run = try keybound([
            "token", "--key", keyFile, "--iss", "i", "--aud", "a1", "--aud", "a2", "--sub", "s",
            "--jkt", "J", "--iat", "100", "--typ", "JWT",
        ])
        #expect(run.status == 0)
        let claims = try payload(of: run.trimmed)
        #expect(claims["aud"] as? [String] == ["a1", "a2"])
        #expect(claims["exp"] as? Int == 400)
        #expect((claims["cnf"] as? [String: Any])?["jkt"] as? String == "J")
        #expect((claims["jti"] as? String)?.utf8.count == 22)
        #expect(try header(of: run.trimmed)["typ"] as? String == "JWT")
        #expect(try header(of: run.trimmed)["kid"] as? String == "kk")
        // Values that start with '-' (base64url thumbprints and ids can) are values, not options.
        let dashed = try keybound([
            "token", "--key", keyFile, "--iss", "i", "--aud", "a", "--sub", "-s", "--jkt", "-J",
            "--jti", "-t",
        ])
        #expect(dashed.status == 0, "\(dashed.stderr)")
        #expect((try payload(of: dashed.trimmed)["cnf"] as? [String: Any])?["jkt"] as? String == "-J")
        #expect(try payload(of: dashed.trimmed)["sub"] as? String == "-s")
        // The key from standard input and inline.
        #expect(
            try keybound(
                ["token", "--key", "-", "--iss", "i", "--aud", "a", "--sub", "s", "--jkt", "J"],
                stdin: Data(issuer.privateJWK.utf8)
            ).status == 0)
        #expect(
            try keybound(["token", "--key", issuer.privateJWK, "--iss", "i", "--aud", "a", "--sub", "s", "--jkt", "J"])
                .status == 0)
        for bad in [
            ["token", "--key", keyFile, "--iss", "i", "--sub", "s", "--jkt", "J"],
            ["token", "--key", dir.path("none"), "--iss", "i", "--aud", "a", "--sub", "s", "--jkt", "J"],
            ["token", "--key", issuer.publicJWK, "--iss", "i", "--aud", "a", "--sub", "s", "--jkt", "J"],
            [
                "token", "--key", keyFile, "--iss", "i", "--aud", "a", "--sub", "s", "--jkt", "J", "--iat",
                String(Int64.max),
            ],
        ] {
            let run = try keybound(bad)
            #expect(run.status == 2, "\(bad)")
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test("proof: htu, ath, nonce, alg and errors")
    func proof() throws {
        let rsa = try SigningKey.generate(.rs256)
        let noAlg = rsa.privateJWK.replacingOccurrences(of: ",\"alg\":\"RS256\"", with: "")
        #expect(!noAlg.contains("\"alg\""))  // the member, not the letters (random base64 may hold them)
        #expect(try keybound(["proof", "--key", noAlg, "--method", "GET", "--url", "https://a/"]).status == 2)
        let run = try keybound([
            "proof", "--key", noAlg, "--alg", "PS256", "--method", "GET", "--url", "https://a/b#c",
            "--nonce", "N1", "--token", "T",
        ])
        #expect(run.status == 0)
        #expect(try header(of: run.trimmed)["alg"] as? String == "PS256")
        #expect(try header(of: run.trimmed)["typ"] as? String == "dpop+jwt")
        let claims = try payload(of: run.trimmed)
        #expect(claims["htu"] as? String == "https://a/b")
        #expect(claims["nonce"] as? String == "N1")
        #expect(claims["ath"] as? String == Thumbprint.accessTokenHash("T"))
        #expect(claims["htm"] as? String == "GET")
        // Conflicting --alg.
        #expect(
            try keybound(["proof", "--key", rsa.privateJWK, "--alg", "PS256", "--method", "GET", "--url", "https://a/"])
                .status == 2)
        #expect(try keybound(["proof", "--key", rsa.privateJWK, "--method", "GET"]).status == 2)
    }

    @Test("keybound --version prints KeyboundVersion.string and exits 0")
    func version() throws {
        let run = try keybound(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout == KeyboundVersion.string + "\n")
        #expect(run.stderr.isEmpty)
    }

    @Test("every command has --help with an example, exit 0")
    func help() throws {
        for command in [[], ["verify"], ["thumbprint"], ["keygen"], ["token"], ["proof"], ["nonce"]] {
            let run = try keybound(command + ["--help"])
            #expect(run.status == 0, "\(command)")
            #expect(run.stdout.contains("Example"), "\(command)")
            #expect(run.stdout.contains("USAGE"), "\(command)")
        }
        #expect(try keybound(["help", "verify"]).status == 0)
    }
}
