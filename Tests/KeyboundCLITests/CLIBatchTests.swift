//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import KeyboundTestSupport
import Testing

@Suite("CLI: JSON Lines batches")
struct CLIBatchTests {
    /// One generated batch line and the verdict it must get (0 = verified).
    struct Expected {
        let code: Int
        let jkt: String?
        let proofJTI: String?
    }

    @Test("10,000+ distinct requests with mixed faults, one process, each verdict as expected")
    func largeBatch() throws {
        let dir = try TempDir()
        let issuer = try SigningKey.generate(.es256, kid: "i1")
        let issuer2 = try SigningKey.generate(.ps256, kid: "i2")
        try dir.write(
            "jwks.json",
            "{\"keys\":[\(issuer.publicJWK(includingAlg: true)),\(issuer2.publicJWK(includingAlg: true))]}"
        )
        // Client keys of several algorithms (mostly ES256, the common case).
        let algorithms: [JWSAlgorithm] = [
            .es256, .es256, .es256, .es256, .edDSA, .ed25519, .es384, .ps256, .rs256, .es512,
        ]
        let clients = try algorithms.map { try SigningKey.generate($0) }
        func token(
            for client: SigningKey, index: Int, exp: Int64 = now + 600, aud: String = audience,
            jkt: String? = nil, kid: String = "i1", jti: String? = nil
        ) throws -> String {
            try DPoPBuilder.accessToken(
                AccessTokenClaims(
                    iss: issuerName, aud: [aud], sub: "user-\(index)", scope: "s", jkt: jkt ?? client.thumbprint,
                    iat: now - 30, exp: exp, jti: jti ?? "t-\(index)", kid: kid),
                key: kid == "i2" ? issuer2 : issuer
            )
        }
        let tokens = try clients.enumerated().map { try token(for: $1, index: $0) }
        let pssTokens = try clients.enumerated().map { try token(for: $1, index: $0, kid: "i2", jti: "p-\($0)") }
        let expired = try clients.enumerated().map { try token(for: $1, index: $0, exp: now - 100) }
        let wrongAudience = try clients.enumerated().map { try token(for: $1, index: $0, aud: "https://elsewhere") }
        let unbound = try clients.enumerated().map {
            try token(for: $1, index: $0, jkt: clients[($0 + 1) % clients.count].thumbprint)
        }
        let revoked = try clients.enumerated().map { try token(for: $1, index: $0, jti: "revoked-\($0)") }
        let unknownKid = try clients.enumerated().map { try token(for: $1, index: $0, kid: "nope") }

        var generator = SplitMix64(seed: 42)
        var lines: [String] = []
        var expected: [Expected] = []
        var accepted: [(line: String, jkt: String, jti: String)] = []
        let total = 10_700
        var index = 0
        while expected.count < total {
            index += 1
            let c = index % clients.count
            let client = clients[c]
            let path = "/items/\(index)"
            let url = "https://api.example\(path)?q=\(index)"
            let jti = "j-\(index)"
            func proof(method: String = "GET", url u: String = url, iat: Int64 = now, token t: String? = nil)
                throws -> String
            {
                try DPoPBuilder.proof(
                    key: client, method: method, url: u, iat: iat, jti: jti,
                    accessToken: t ?? tokens[c])
            }
            func add(_ line: String, _ code: Int, jkt: String? = nil) {
                lines.append(line)
                expected.append(Expected(code: code, jkt: jkt, proofJTI: code == 0 ? jti : nil))
            }
            /// A GET with `token` and a proof made for it.
            func presenting(_ token: String) throws -> String {
                requestLine(method: "GET", url: url, authorization: "DPoP " + token, dpop: try proof(token: token))
            }
            let auth = "DPoP " + tokens[c]
            let kind = Int.random(in: 0..<100, using: &generator)
            switch kind {
            case 0..<55:
                let line = requestLine(method: "GET", url: url, authorization: auth, dpop: try proof())
                add(line, 0, jkt: client.thumbprint)
                accepted.append((line, client.thumbprint, jti))
            case 55..<60:
                let t = pssTokens[c]
                // The DPoP values as a JSON array.
                add(
                    requestLine(method: "GET", url: url, authorization: "DPoP " + t, dpop: [try proof(token: t)]), 0,
                    jkt: client.thumbprint)
            case 60..<63:
                // A replay of an earlier accepted line (not distinct, and refused).
                if let earlier = accepted.randomElement(using: &generator) {
                    lines.append(earlier.line)
                    expected.append(Expected(code: 211, jkt: nil, proofJTI: nil))
                }
            case 63: add(requestLine(method: "POST", url: url, authorization: auth, dpop: try proof()), 207)
            case 64:
                add(
                    requestLine(
                        method: "GET", url: url, authorization: auth, dpop: try proof(url: "https://api.example/other")
                    ),
                    208)
            case 65:
                add(requestLine(method: "GET", url: url, authorization: auth, dpop: try proof(iat: now - 300)), 209)
            case 66: add(requestLine(method: "GET", url: url, authorization: auth, dpop: try proof(iat: now + 60)), 209)
            case 67:
                add(
                    requestLine(
                        method: "GET", url: url, authorization: auth,
                        dpop: try flipByte(ofSegment: 2, in: try proof(), at: index)), 205)
            case 68:
                let bad = try flipByte(ofSegment: 2, in: tokens[c], at: index)
                add(try presenting(bad), 305)
            case 69:
                add(
                    requestLine(
                        method: "GET", url: url, authorization: auth,
                        dpop: try proof(token: tokens[(c + 1) % clients.count])), 210)
            case 70: add(requestLine(method: "GET", url: url, authorization: auth, dpop: nil), 103)
            case 71: add(requestLine(method: "GET", url: url, authorization: auth, dpop: []), 103)
            case 72:
                add(requestLine(method: "GET", url: url, authorization: auth, dpop: [try proof(), try proof()]), 104)
            case 73:
                add(requestLine(method: "GET", url: url, authorization: "Bearer " + tokens[c], dpop: try proof()), 101)
            case 74: add(requestLine(method: "GET", url: url, authorization: nil, dpop: try proof()), 100)
            case 75: add(try presenting(expired[c]), 308)
            case 76: add(try presenting(wrongAudience[c]), 307)
            case 77: add(try presenting(unbound[c]), 311)
            case 78: add(try presenting(revoked[c]), 312)
            case 79: add(try presenting(unknownKid[c]), 303)
            case 80:
                // A proof with typ JWT.
                let header = "{\"typ\":\"JWT\",\"alg\":\"\(client.algorithm)\",\"jwk\":\(client.publicJWK)}"
                let body = DPoPBuilder.proofPayload(method: "GET", url: url, iat: now, jti: jti, accessToken: tokens[c])
                add(
                    requestLine(
                        method: "GET", url: url, authorization: auth,
                        dpop: try JWS.compact(headerJSON: header, payloadJSON: body, key: client)), 201)
            case 81: add(requestLine(method: "GET", url: url, authorization: auth, dpop: "not.a.jws"), 200)
            case 82: add(requestLine(method: "GET", url: url, authorization: "DPoP", dpop: try proof()), 102)
            case 83: add("{\"method\":\"GET\",\"url\":7}", 950)
            case 84: add("not json at all", 950)
            case 85: add("[\"GET\",\"\(url)\"]", 950)
            case 86: add("{\"method\":\"GET\",\"url\":\"\(url)\",\"dpop\":{\"a\":1}}", 950)
            case 87:
                // Blank lines in between produce no output.
                lines.append(["", "   ", "\t", "\r"][index % 4])
            case 88:
                // CRLF ending.
                let line = requestLine(method: "GET", url: url, authorization: auth, dpop: try proof())
                lines.append(line + "\r")
                expected.append(Expected(code: 0, jkt: client.thumbprint, proofJTI: jti))
            default:
                let line = requestLine(method: "GET", url: url, authorization: auth, dpop: try proof())
                add(line, 0, jkt: client.thumbprint)
                accepted.append((line, client.thumbprint, jti))
            }
        }
        let distinct = Set(lines).count
        #expect(distinct >= 10_000, "only \(distinct) distinct lines")
        let batch = try dir.write("batch.jsonl", lines.joined(separator: "\n") + "\n")

        var arguments = verifyFlags(jwks: dir.path("jwks.json")) + ["--batch", batch]
        for n in 0..<clients.count { arguments += ["--revoke-token-jti", "revoked-\(n)"] }
        // KEYBOUND_CLI_KEEP_BATCH=DIR keeps the batch, its JWKS and the command line, to time other builds by hand.
        if let keep = ProcessInfo.processInfo.environment["KEYBOUND_CLI_KEEP_BATCH"] {
            try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            for name in ["batch.jsonl", "jwks.json"] {
                let target = URL(fileURLWithPath: keep).appendingPathComponent(name)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: URL(fileURLWithPath: dir.path(name)), to: target)
            }
            let command = arguments.map {
                $0.hasPrefix(dir.url.path) ? "$DIR/" + URL(fileURLWithPath: $0).lastPathComponent : $0
            }
            try Data(("keybound " + command.joined(separator: " ") + "\n").utf8)
                .write(to: URL(fileURLWithPath: keep).appendingPathComponent("command.txt"))
        }
        let clock = ContinuousClock()
        let started = clock.now
        let run = try keybound(arguments)
        let elapsed = clock.now - started
        #expect(run.exitedNormally)
        #expect(run.status == 1)
        #expect(run.stderr.isEmpty, "\(run.stderr)")
        let outputs = run.lines
        #expect(outputs.count == expected.count, "\(outputs.count) output lines for \(expected.count) requests")
        var mismatches = 0
        for (n, (output, want)) in zip(outputs, expected).enumerated() {
            let verdict = try parseJSONLine(output)
            if want.code == 0 {
                let ok =
                    verdict["ok"] as? Bool == true && verdict["jkt"] as? String == want.jkt
                    && verdict["proof_jti"] as? String == want.proofJTI
                if !ok { mismatches += 1 }
                #expect(ok, "line \(n): expected success, got \(output)")
            } else {
                let ok = verdict["ok"] as? Bool == false && verdict["code"] as? Int == want.code
                if !ok { mismatches += 1 }
                #expect(ok, "line \(n): expected \(want.code), got \(output)")
            }
            if mismatches > 20 { break }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let verifiedCount = expected.filter { $0.code == 0 }.count
        print(
            """
            keybound verify --batch: \(expected.count) requests (\(verifiedCount) verified, \
            \(expected.count - verifiedCount) refused) in \(String(format: "%.3f", seconds)) s, \
            \(Int(Double(expected.count) / seconds)) requests/s including process start and JSON I/O \
            (binary: \(binaryPath ?? "?"))
            """)
    }

    @Test("garbage lines: no crash, one output line per non-blank input line, each an error")
    func fuzz() throws {
        var generator = SplitMix64(seed: 7)
        var inputs: [[UInt8]] = []
        func random(_ count: Int, from alphabet: [UInt8]? = nil) -> [UInt8] {
            (0..<count).map { _ in
                if let alphabet { return alphabet.randomElement(using: &generator) ?? 0x20 }
                var byte = UInt8.random(in: 0...255, using: &generator)
                if byte == 0x0A { byte = 0x0B }
                return byte
            }
        }
        let jsonish = Array("{}[]\":,0123456789.eE+-truefalsnul \\u\t".utf8)
        let fields = ["method", "url", "authorization", "dpop", "jkt"]
        let values = ["1", "null", "true", "[]", "{}", "\"x\"", "[1]", "[\"a\",2]", "-0.5e9", "\"\\ud800\""]
        for n in 0..<2_000 {
            switch n % 10 {
            case 0: inputs.append(random(Int.random(in: 1...300, using: &generator)))
            case 1: inputs.append(random(Int.random(in: 1...200, using: &generator), from: jsonish))
            case 2:
                // Invalid UTF-8 inside a JSON string.
                inputs.append(Array("{\"method\":\"G".utf8) + [0xC3, 0x28, 0xFF] + Array("\",\"url\":\"u\"}".utf8))
            case 3:
                let depth = Int.random(in: 1...5_000, using: &generator)
                inputs.append(
                    Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8))
            case 4:
                // Wrong types for each field.
                var object: [String] = []
                for field in fields.shuffled(using: &generator) {
                    object.append("\"\(field)\":\(values.randomElement(using: &generator) ?? "1")")
                }
                inputs.append(Array(("{" + object.joined(separator: ",") + "}").utf8))
            case 5:
                // Nested objects as values.
                inputs.append(Array("{\"method\":{\"a\":{\"b\":[{}]}},\"url\":\"https://x/\"}".utf8))
            case 6:
                // Valid shape, garbage header values.
                let garbage = String(decoding: random(40, from: Array("abcXYZ.-_= \t\"".utf8)), as: UTF8.self)
                let line = requestLine(
                    method: "GET", url: "https://api.example/", authorization: garbage, dpop: [garbage])
                inputs.append(Array(line.utf8))
            case 7:
                // Over 64 KiB, with and without structure.
                let size = (1 << 16) + Int.random(in: 1...5_000, using: &generator)
                inputs.append(
                    n % 20 == 7
                        ? random(size, from: jsonish)
                        : Array(("{\"method\":\"" + String(repeating: "G", count: size) + "\"}").utf8))
            case 8:
                inputs.append(
                    Array(
                        "{\"method\":\"GET\",\"url\":\"u\",\"dpop\":\"\(String(repeating: "A", count: 60_000))\"}".utf8)
                )
            default:
                inputs.append([0x00, 0x01, 0x7F, 0x0D] + random(10))
            }
        }
        // Exactly 64 KiB is accepted as a line (and refused as a request); one byte more is an invalid line.
        let exact = Array("{\"method\":\"GET\",\"url\":\"https://api.example/\",\"x\":\"".utf8)
        let fill = (1 << 16) - exact.count - 2
        inputs.append(exact + [UInt8](repeating: UInt8(ascii: "a"), count: fill) + Array("\"}".utf8))
        inputs.append(exact + [UInt8](repeating: UInt8(ascii: "a"), count: fill + 1) + Array("\"}".utf8))

        // What the reader counts: split at LF, drop one CR, skip blank (spaces and tabs only) lines.
        var stream: [UInt8] = []
        var nonBlank = 0
        for input in inputs {
            stream += input
            stream.append(0x0A)
        }
        for line in stream.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            var bytes = Array(line)
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.contains(where: { $0 != 0x20 && $0 != 0x09 }) { nonBlank += 1 }
        }
        let dir = try TempDir()
        let issuer = try SigningKey.generate(.es256)
        try dir.write("jwks.json", "{\"keys\":[\(issuer.publicJWK)]}")
        let batch = try dir.write("fuzz.jsonl", Data(stream))
        for source in ["file", "stdin"] {
            let run =
                source == "file"
                ? try keybound(verifyFlags(jwks: dir.path("jwks.json")) + ["--batch", batch])
                : try keybound(verifyFlags(jwks: dir.path("jwks.json")) + ["--batch", "-"], stdin: Data(stream))
            #expect(run.exitedNormally, "\(source): the process was killed")
            #expect(run.status == 1, "\(source)")
            #expect(run.lines.count == nonBlank, "\(source)")
            var codes = Set<Int>()
            for line in run.lines {
                let verdict = try parseJSONLine(line)
                #expect(verdict["ok"] as? Bool == false)
                codes.insert(verdict["code"] as? Int ?? -1)
            }
            #expect(codes.contains(950))
            #expect(codes.isSubset(of: Set(KeyboundError.Code.allCodes.map(\.rawValue) + [950])), "\(codes)")
            // The 64 KiB edge: the last two lines.
            #expect(try parseJSONLine(run.lines[run.lines.count - 2])["code"] as? Int != 950)
            #expect(
                try parseJSONLine(run.lines[run.lines.count - 1])["reason"] as? String
                    == "line is longer than 65536 bytes")
        }
    }

    @Test("--replay-key-share: one key flooding its share gets 212 with retry_after; other keys' first proofs verify")
    func replayKeyShare() throws {
        let dir = try TempDir()
        let issuer = try SigningKey.generate(.es256, kid: "i1")
        try dir.write("jwks.json", "{\"keys\":[\(issuer.publicJWK(includingAlg: true))]}")
        let clients = try (0..<4).map { _ in try SigningKey.generate(.es256) }
        func line(_ client: SigningKey, _ jti: String) throws -> String {
            let token = try DPoPBuilder.accessToken(
                AccessTokenClaims(iss: issuerName, aud: [audience], sub: "u", jkt: client.thumbprint, iat: now - 30,
                                  exp: now + 600, jti: "t-\(jti)", kid: "i1"),
                key: issuer)
            let url = "https://api.example/items"
            let proof = try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: now, jti: jti, accessToken: token)
            return requestLine(method: "GET", url: url, authorization: "DPoP " + token, dpop: proof)
        }
        // Ten proofs from the first key, then one from each other key. The first key has an override of 1: with the
        // CLI's default capacity the cache has 64 stripes, and a share above 1 is spread over several of them at random
        // (docs/design.md "Per-key replay share"), so only a share of 1 says which proof is the first refused. The
        // second key has an override of 0 (no share); the others have the share of 3.
        var lines = try (0..<10).map { try line(clients[0], "flood-\($0)") }
        lines += try (1..<4).map { try line(clients[$0], "first-\($0)") }
        lines += try (0..<5).map { try line(clients[1], "free-\($0)") }
        let batch = try dir.write("share.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try keybound(verifyFlags(jwks: dir.path("jwks.json")) + [
            "--replay-key-share", "3", "--replay-key-share-for", "\(clients[0].thumbprint)=1",
            "--replay-key-share-for", "\(clients[1].thumbprint)=0", "--batch", batch,
        ])
        #expect(result.status == 1, "some lines were refused")
        let outputs = try result.lines.map(parseJSONLine)
        #expect(outputs.count == lines.count)
        for (index, output) in outputs.enumerated() {
            if index >= 1 && index < 10 {
                #expect(output["code"] as? Int == 212, "line \(index)")
                #expect(output["name"] as? String == "replay_quota_exceeded")
                #expect(output["status"] as? Int == 429)
                #expect(output["error"] is NSNull)
                #expect(output["retry_after"] as? Int == 70)
            } else {
                #expect(output["ok"] as? Bool == true, "line \(index): \(output)")
            }
        }
        let bad = try keybound(verifyFlags(jwks: dir.path("jwks.json")) + [
            "--replay-key-share-for", "nojkt", "--batch", batch,
        ])
        #expect(bad.status != 0 && bad.status != 1)
        #expect(bad.stderr.contains("--replay-key-share-for"))
    }

    @Test("a last line without a newline counts; an empty batch prints nothing and exits 0")
    func edges() throws {
        let dir = try TempDir()
        let issuer = try SigningKey.generate(.es256)
        try dir.write("jwks.json", "{\"keys\":[\(issuer.publicJWK)]}")
        let flags = verifyFlags(jwks: dir.path("jwks.json"))
        let empty = try keybound(flags + ["--batch", try dir.write("empty.jsonl", "\n\n  \r\n")])
        #expect(empty.status == 0)
        #expect(empty.stdout.isEmpty)
        let last = try keybound(flags + ["--batch", "-"], stdin: Data("{}\n{\"method\":\"GET\"}".utf8))
        #expect(last.lines.count == 2)
        #expect(last.status == 1)
    }

    /// Writes `jwks.json` with a new ES256 issuer key into `dir`; returns a new client key and a token of that
    /// issuer bound to it (valid for a minute from `now`).
    static func boundToken(in dir: TempDir, sub: String = "s", jti: String? = nil) throws
        -> (client: SigningKey, token: String)
    {
        let issuer = try SigningKey.generate(.es256, kid: "k")
        let client = try SigningKey.generate(.es256)
        try dir.write("jwks.json", "{\"keys\":[\(issuer.publicJWK)]}")
        let claims = AccessTokenClaims(
            iss: issuerName, aud: [audience], sub: sub, jkt: client.thumbprint, iat: now, exp: now + 60, jti: jti)
        return (client, try DPoPBuilder.accessToken(claims, key: issuer))
    }

    @Test("escaped and plain spellings of a request get the same answer; bad lines get the strict reader's reason")
    func spellings() throws {
        let dir = try TempDir()
        let (client, token) = try Self.boundToken(in: dir, sub: "caf\u{e9} \"q\"", jti: "t\\1")
        func proof(_ jti: String) throws -> String {
            try DPoPBuilder.proof(
                key: client, method: "GET", url: "https://api.example/a", iat: now, jti: jti, accessToken: token)
        }
        let plain = requestLine(
            method: "GET", url: "https://api.example/a", authorization: "DPoP " + token, dpop: try proof("p1"))
        let escaped = #"{"\u006dethod":"G\u0045T","url":"https:\/\/api.example\/a","authorization":"\u0044PoP "#
            + token + #"","dpop":[""# + (try proof("p2")) + #""],"note":"\ud83d\ude00 \u00e9","x":{"y":[1,null]}}"#
        let duplicate = #"{"method":"GET","url":"u","\u0075rl":"v"}"#
        let run = try keybound(
            verifyFlags(jwks: dir.path("jwks.json")) + ["--batch", try dir.write("b.jsonl", [plain, escaped, duplicate].joined(separator: "\n"))])
        #expect(run.status == 1)
        #expect(run.lines.count == 3)
        guard run.lines.count == 3 else { return }
        // The same answer but for the proof's jti.
        #expect(run.lines[0].hasSuffix(#""proof_jti":"p1"}"#) && run.lines[1].hasSuffix(#""proof_jti":"p2"}"#))
        #expect(run.lines[0].dropLast(4) == run.lines[1].dropLast(4))
        #expect(run.lines[0].contains(#""sub":"caf\#u{e9} \"q\"""#) && run.lines[0].contains(#""token_jti":"t\\1""#))
        let reason: String
        do {
            _ = try JSONTree.parseObject(Array(duplicate.utf8), failingWith: .invalidConfiguration)
            Issue.record("the strict reader accepted a duplicate member")
            return
        } catch {
            reason = "line is not valid JSON: \(error.reason)"
        }
        let refusal = try parseJSONLine(run.lines[2])
        #expect(refusal["name"] as? String == "invalid_input_line")
        #expect(refusal["code"] as? Int == 950)
        #expect(refusal["reason"] as? String == reason)
    }

    @Test("standard input is answered line by line (flushed after each line)")
    func interactive() throws {
        let binary = try #require(binaryPath)
        let dir = try TempDir()
        let (client, token) = try Self.boundToken(in: dir)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = verifyFlags(jwks: dir.path("jwks.json")) + ["--batch", "-"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let reader = output.fileHandleForReading.fileDescriptor
        for n in 0..<3 {
            let proof = try DPoPBuilder.proof(
                key: client, method: "GET", url: "https://api.example/", iat: now,
                jti: "i\(n)", accessToken: token)
            let line = requestLine(
                method: "GET", url: "https://api.example/", authorization: "DPoP " + token, dpop: proof)
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
            // The answer must arrive while standard input is still open.
            let answer = try #require(readLine(fd: reader, timeoutMilliseconds: 20_000), "no answer to line \(n)")
            #expect(try parseJSONLine(answer)["ok"] as? Bool == true)
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// Reads one line from `fd`, waiting at most `timeoutMilliseconds` for each chunk.
    private func readLine(fd: Int32, timeoutMilliseconds: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, timeoutMilliseconds) == 1 else { return nil }
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }
}
