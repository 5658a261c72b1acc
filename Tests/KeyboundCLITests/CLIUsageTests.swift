//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import KeyboundTestSupport
import Testing

/// What a person at a terminal meets: misspelt options, unreadable files, help text at 80 columns, completion scripts,
/// and issuer keys given as PEM.
@Suite("keybound usage: errors, help, completion, PEM issuer keys")
struct CLIUsageTests {
    static let commands: [[String]] = [[], ["verify"], ["thumbprint"], ["keygen"], ["token"], ["proof"], ["nonce"],
                                       ["bench"]]

    @Test("a misspelt option is reported as unknown, with the likely spelling, before any missing option")
    func unknownOptionFirst() throws {
        let cases: [([String], String)] = [
            (["verify", "--jwsk", "jwks.json", "--issuer", issuerName, "--audience", audience, "--method", "GET",
              "--url", "https://api.example/r"], "Unknown option '--jwsk'. Did you mean '--jwks'?"),
            (["verify", "--jwsk=jwks.json"], "Unknown option '--jwsk'. Did you mean '--jwks'?"),
            (["token", "--kye", "issuer.jwk", "--iss", issuerName], "Unknown option '--kye'. Did you mean '--key'?"),
            (["verify", "--max-age", "-1", "--frobnicate"], "Unknown option '--frobnicate'"),
        ]
        for (arguments, message) in cases {
            let run = try keybound(arguments)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stderr == "keybound: \(message)\n", "\(arguments)")
        }
        // A value that looks like an option is still a value: the missing option is what is reported.
        let run = try keybound(["verify", "--issuer", "--jwsk", "--audience", audience])
        #expect(run.status == 2)
        #expect(!run.stderr.contains("Unknown option"), "\(run.stderr)")
    }

    @Test("file errors name the cause and the path")
    func fileErrors() throws {
        let dir = try TempDir()
        let missing = dir.path("missing.json")
        let folder = dir.url.path
        let cases: [([String], String)] = [
            (verifyFlags(jwks: missing) + ["--method", "GET", "--url", "https://a/b"],
             "cannot read JWKS file \(missing): no such file"),
            (verifyFlags(jwks: folder) + ["--method", "GET", "--url", "https://a/b"],
             "cannot read JWKS file \(folder): is a directory"),
            (["verify", "--issuer-key", missing, "--kid", "k", "--issuer", issuerName, "--audience", audience,
              "--method", "GET", "--url", "https://a/b"], "cannot read issuer key file \(missing): no such file"),
            (["thumbprint", folder], "cannot read JWK file \(folder): is a directory"),
            (["keygen", "--alg", "ES256", "--jwks-out", dir.path("no/such/dir/jwks.json")],
             "cannot write JWKS file \(dir.path("no/such/dir/jwks.json")): no such file"),
        ]
        for (arguments, message) in cases {
            let run = try keybound(arguments)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stderr == "keybound: \(message)\n", "\(arguments)")
        }
        // Permission denied: a file its reader may not open. As root, the binary runs as nobody (setpriv), since
        // root reads any file.
        let locked = try dir.write("locked.jwk", "{}")
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: locked)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.url.path)
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let run = try keybound(["thumbprint", locked], launcher: getuid() == 0 ? asNobody : [])
        #expect(run.status == 2)
        #expect(run.stderr == "keybound: cannot read JWK file \(locked): permission denied\n", "\(run.stderr)")
    }

    /// The help of `command` as a terminal of `columns` columns shows it.
    static func help(_ command: [String], columns: Int) throws -> [String] {
        let run = try keybound(command + ["--help"], environment: ["COLUMNS": String(columns)])
        #expect(run.status == 0, "\(command)")
        return run.stdout.components(separatedBy: "\n")
    }

    @Test("help at 80 columns: every paragraph wrapped once, examples whole, no line too long")
    func helpWrappedOnce() throws {
        for command in Self.commands {
            let lines = try Self.help(command, columns: 80)
            let discussion = lines.prefix { !$0.hasPrefix("USAGE:") }
            for (index, line) in discussion.enumerated() {
                #expect(line.count <= 80, "\(command): \(line)")
                // A line wrapped by the text itself and again by the terminal width leaves room for the next
                // line's first word; a single wrap never does (ArgumentParser breaks at the last space within the
                // first 80 characters, so a wrapped line and the next word reach at least 80). Indented lines are
                // examples, kept as written.
                guard index + 1 < discussion.count else { continue }
                let next = discussion[discussion.index(discussion.startIndex, offsetBy: index + 1)]
                guard !line.isEmpty, !line.hasPrefix(" "), !next.isEmpty, !next.hasPrefix(" ") else { continue }
                let word = next.split(separator: " ").first.map(String.init) ?? ""
                #expect(line.count + 1 + word.count >= 80, "\(command): wrapped twice after \"\(line)\"")
            }
            // An example continued with a backslash goes on, indented, on the next line.
            for (index, line) in discussion.enumerated() where line.hasPrefix("  ") && line.hasSuffix("\\") {
                let next = discussion[discussion.index(discussion.startIndex, offsetBy: index + 1)]
                #expect(next.hasPrefix("    "), "\(command): \(next)")
            }
        }
    }

    @Test("every option shows its default once")
    func defaultsOnce() throws {
        let pattern = try NSRegularExpression(pattern: #"\(default[ :]|; default:"#)
        for command in Self.commands {
            let lines = try Self.help(command, columns: 200)
            // One entry: an option line and the lines indented under it.
            var entries: [String] = []
            for line in lines {
                if line.hasPrefix("  -") { entries.append(line) } else if line.hasPrefix("      "), !entries.isEmpty {
                    entries[entries.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
                }
            }
            #expect(!entries.isEmpty, "\(command)")
            for entry in entries {
                let count = pattern.numberOfMatches(in: entry, range: NSRange(entry.startIndex..., in: entry))
                #expect(count <= 1, "\(command): \(entry)")
            }
        }
    }

    @Test("shell completion scripts for bash, zsh and fish, named in keybound --help")
    func completion() throws {
        for shell in ["bash", "zsh", "fish"] {
            let run = try keybound(["--generate-completion-script", shell])
            #expect(run.status == 0, "\(shell): \(run.stderr)")
            #expect(run.stdout.contains("verify") && run.stdout.contains("issuer-key"), "\(shell)")
        }
        let help = try keybound(["--help"])
        #expect(help.stdout.contains("--generate-completion-script"))
    }

    // MARK: - Issuer keys as PEM

    static func pem(_ name: String) -> String {
        TestVectors.directory.appendingPathComponent("pem/\(name)").path
    }

    /// A request whose token is signed by the fixture key `name` (kid "k1").
    static func request(signedBy name: String, alg: JWSAlgorithm) throws -> [String] {
        let jwk = String(decoding: try TestVectors.read(URL(fileURLWithPath: pem("\(name).jwk"))), as: UTF8.self)
        let issuerKey = try SigningKey(privateJWK: jwk, algorithm: alg)
        let client = try SigningKey.generate(.es256)
        let url = "https://api.example/r"
        let token = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: issuerName, aud: [audience], sub: "carol", jkt: client.thumbprint, iat: now,
                              exp: now + 300, jti: "t-pem", kid: "k1"),
            key: issuerKey)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: now, jti: UUID().uuidString,
                                          accessToken: token)
        return ["--issuer", issuerName, "--audience", audience, "--now", String(now), "--method", "GET", "--url", url,
                "--authorization", "DPoP " + token, "--dpop", proof]
    }

    @Test("verify --issuer-key: a PEM public key or certificate with its --kid, beside or instead of --jwks")
    func issuerKeyPEM() throws {
        let ok = try keybound(["verify", "--issuer-key", Self.pem("es256.pub.pem"), "--kid", "k1"]
            + Self.request(signedBy: "es256", alg: .es256))
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ok.json()["sub"] as? String == "carol")
        let cert = try keybound(["verify", "--issuer-key", Self.pem("rs256.cert.pem"), "--kid", "k1"]
            + Self.request(signedBy: "rs256", alg: .rs256))
        #expect(cert.status == 0, "\(cert.stderr)")
        // Beside a JWKS: both sets' keys are known.
        let dir = try TempDir()
        let other = try SigningKey.generate(.es256, kid: "j1")
        let jwks = try dir.write("jwks.json", "{\"keys\":[\(other.publicJWK(includingAlg: true))]}")
        let both = try keybound(["verify", "--jwks", jwks, "--issuer-key", Self.pem("ed25519.pub.pem"), "--kid", "k1"]
            + Self.request(signedBy: "ed25519", alg: .edDSA))
        #expect(both.status == 0, "\(both.stderr)")
        // The wrong kid: the token's kid is unknown (a refusal, exit 1).
        let wrongKid = try keybound(["verify", "--issuer-key", Self.pem("es256.pub.pem"), "--kid", "other"]
            + Self.request(signedBy: "es256", alg: .es256))
        #expect(wrongKid.status == 1)
        #expect(try wrongKid.json()["name"] as? String == "token_kid_unknown")
    }

    @Test("verify --issuer-key refusals: exit 2 naming the code")
    func issuerKeyRefusals() throws {
        let request = try Self.request(signedBy: "es256", alg: .es256)
        let cases: [([String], String)] = [
            (["--issuer-key", Self.pem("es256.key.pem"), "--kid", "k1"], "private_key_given"),
            (["--issuer-key", Self.pem("chain.pem"), "--kid", "k1"], "invalid_key_encoding"),
            (["--issuer-key", Self.pem("rsa1024.pub.pem"), "--kid", "k1"], "unusable_key"),
            (["--issuer-key", Self.pem("es256.pub.pem")], "give one --kid per --issuer-key"),
            (["--issuer-key", Self.pem("es256.pub.pem"), "--kid", "k1", "--issuer-key", Self.pem("es384.pub.pem"),
              "--kid", "k1"], "same kid"),
        ]
        for (extra, expected) in cases {
            let run = try keybound(["verify"] + extra + request)
            #expect(run.status == 2, "\(extra)")
            #expect(run.stderr.hasPrefix("keybound: ") && run.stderr.contains(expected), "\(extra): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(extra)")
        }
    }
}
