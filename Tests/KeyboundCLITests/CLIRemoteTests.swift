//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

/// `keybound verify --issuer-url URL | --jwks-url URL`, the parts that need no network: the usage rules, finding the
/// helper `keybound-remote`, and what `keybound` does with what a helper prints and how it exits. The helper here is
/// a shell script given through `KEYBOUND_REMOTE`; the real helper, against a real HTTPS server, is driven by the
/// integrations package's `RemoteCLITests`.
@Suite("CLI: verify with remote keys (the keybound-remote helper), without the network")
struct CLIRemoteTests {
    static let issuerURL = "https://issuer.example"

    /// One request of the round-trip setup (the token's issuer is ``issuerName``, which ``issuerURL`` equals).
    static func request(_ s: CLIVerifyTests.Setup) throws -> [String] {
        [
            "--audience", audience, "--now", String(now), "--method", "GET", "--url", s.url,
            "--authorization", "DPoP " + s.token, "--dpop", try s.proof(),
        ]
    }

    /// An executable shell script in `dir` that stands in for the helper: it appends its arguments (one per line)
    /// to `calls` in `dir`, then runs `body`.
    static func helper(_ dir: TempDir, _ body: String) throws -> String {
        let path = try dir.write("helper.sh", "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '\(dir.path("calls"))'\n\(body)\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test("the helper's JWK Set is used as --jwks would be: --issuer from --issuer-url, the fetch options passed on")
    func helperSetVerifies() throws {
        let s = try CLIVerifyTests.Setup()
        #expect(Self.issuerURL == issuerName)
        let helper = try Self.helper(s.dir, "cat '\(s.jwks)'")
        let run = try keybound(
            ["verify", "--issuer-url", Self.issuerURL, "--metadata", "oauth", "--ca-file", "ca.pem",
             "--allow-loopback-http", "--fetch-timeout", "3", "--fetch-max-bytes", "4096"] + Self.request(s),
            environment: ["KEYBOUND_REMOTE": helper])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix(#"{"ok":true,"sub":"bob","#), "\(run.stdout)")
        #expect(run.stderr.isEmpty)
        let calls = try String(contentsOfFile: s.dir.path("calls"), encoding: .utf8)
        #expect(calls.split(separator: "\n") == [
            "jwks", "--issuer-url", "https://issuer.example", "--metadata", "oauth", "--ca-file", "ca.pem",
            "--allow-loopback-http", "--timeout", "3", "--max-bytes", "4096",
        ])
    }

    @Test("a batch runs the helper once, at start; --jwks-url takes --issuer")
    func batchFetchesOnce() throws {
        let s = try CLIVerifyTests.Setup()
        let helper = try Self.helper(s.dir, "cat '\(s.jwks)'")
        let lines = try (1...2).map { _ in
            requestLine(method: "GET", url: s.url, authorization: "DPoP " + s.token, dpop: try s.proof())
        }
        let run = try keybound(
            ["verify", "--jwks-url", "https://issuer.example/jwks", "--issuer", issuerName, "--audience", audience,
             "--now", String(now), "--batch", "-"],
            stdin: Data((lines.joined(separator: "\n") + "\n").utf8), environment: ["KEYBOUND_REMOTE": helper])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.count == 2)
        #expect(run.lines.allSatisfy { $0.hasPrefix(#"{"ok":true,"#) }, "\(run.stdout)")
        let calls = try String(contentsOfFile: s.dir.path("calls"), encoding: .utf8)
        #expect(calls.split(separator: "\n") == ["jwks", "--jwks-url", "https://issuer.example/jwks"])
    }

    @Test("what the helper says and does when it fails: exit 2 and one line")
    func helperFailures() throws {
        let s = try CLIVerifyTests.Setup()
        let mismatch = "https://issuer.example/.well-known/openid-configuration names issuer https://other.example, "
            + "not https://issuer.example"
        let cases: [(String, String)] = [
            // The helper's own one-line error passes through as keybound's.
            ("echo 'keybound-remote: issuer_mismatch: \(mismatch)' >&2; exit 2", "issuer_mismatch: \(mismatch)"),
            // Anything else is quoted with the exit status (control characters replaced).
            ("printf 'boom\\033\\nmore\\n' >&2; exit 3", "the helper HELPER failed (exit status 3): boom?"),
            ("exit 4", "the helper HELPER failed (exit status 4)"),
            ("kill -9 $$", "the helper HELPER was killed by signal 9"),
            // Output that is no JWK Set, or larger than the JWK Set reader reads.
            ("echo '{\"keys\":[]}'", "invalid JWKS \(Self.issuerURL): JWKS has no keys"),
            ("head -c 1048578 /dev/zero | tr '\\0' ' '", "the JWK Set of \(Self.issuerURL) is larger than 1 MiB"),
        ]
        for (body, message) in cases {
            let helper = try Self.helper(s.dir, body)
            let run = try keybound(
                ["verify", "--issuer-url", Self.issuerURL] + Self.request(s), environment: ["KEYBOUND_REMOTE": helper])
            #expect(run.status == 2, "\(body)")
            #expect(run.stdout.isEmpty, "\(body)")
            let expected = "keybound: " + message.replacingOccurrences(of: "HELPER", with: helper) + "\n"
            #expect(run.stderr == expected, "\(body)")
        }
    }

    @Test("no helper: exit 2 with where it looked and how to build it")
    func missingHelper() throws {
        let s = try CLIVerifyTests.Setup()
        let binary = try #require(binaryPath)
        let folder = URL(fileURLWithPath: binary).resolvingSymlinksInPath().deletingLastPathComponent().path
        let emptyPath = try TempDir()
        for option in ["--issuer-url", "--jwks-url"] {
            let run = try keybound(
                ["verify", option, Self.issuerURL, "--issuer", issuerName] + Self.request(s),
                environment: ["KEYBOUND_REMOTE": "", "PATH": emptyPath.url.path])
            #expect(run.status == 2)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr == """
                keybound: \(option) needs the helper keybound-remote, not found in KEYBOUND_REMOTE, \(folder) or PATH; \
                build it with: swift build --package-path Integrations --product keybound-remote (then set \
                KEYBOUND_REMOTE to it, or put it beside keybound or on PATH)

                """)
        }
        // KEYBOUND_REMOTE names something that cannot run.
        let notExecutable = try s.dir.write("keybound-remote", "#!/bin/sh\n")
        let run = try keybound(
            ["verify", "--issuer-url", Self.issuerURL] + Self.request(s),
            environment: ["KEYBOUND_REMOTE": notExecutable])
        #expect(run.status == 2)
        #expect(run.stderr == "keybound: KEYBOUND_REMOTE=\(notExecutable) is not an executable file\n")
        // Found on PATH.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: notExecutable)
        try s.dir.write("keybound-remote", "#!/bin/sh\ncat '\(s.jwks)'\n")
        let onPath = try keybound(
            ["verify", "--issuer-url", Self.issuerURL] + Self.request(s),
            environment: ["KEYBOUND_REMOTE": "", "PATH": "\(emptyPath.url.path):\(s.dir.url.path):/usr/bin:/bin"])
        #expect(onPath.status == 0, "\(onPath.stderr)")
        // Found beside the running keybound (a copy of it, in a folder with the helper).
        let copies = try TempDir()
        let besideHelper = try copies.write("keybound-remote", "#!/bin/sh\ncat '\(s.jwks)'\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: besideHelper)
        let beside = try keybound(
            ["verify", "--issuer-url", Self.issuerURL] + Self.request(s),
            environment: ["KEYBOUND_REMOTE": "", "PATH": "\(emptyPath.url.path):/usr/bin:/bin"],
            copy: copies.path("keybound"))
        #expect(beside.status == 0, "\(beside.stderr)")
    }

    @Test("usage: one source of keys, and the fetch options only with a URL")
    func exclusivity() throws {
        let s = try CLIVerifyTests.Setup()
        let pem = try s.dir.write("issuer.pem", "not read")
        let cases: [([String], String)] = [
            (["--issuer-url", Self.issuerURL, "--jwks", s.jwks],
             "--issuer-url cannot be combined with --jwks or --issuer-key"),
            (["--jwks-url", Self.issuerURL, "--issuer", issuerName, "--issuer-key", pem, "--kid", "k1"],
             "--jwks-url cannot be combined with --jwks or --issuer-key"),
            (["--issuer-url", Self.issuerURL, "--jwks-url", Self.issuerURL], "give one of --issuer-url and --jwks-url"),
            (["--jwks-url", Self.issuerURL], "--jwks-url needs --issuer"),
            (["--jwks-url", Self.issuerURL, "--issuer", issuerName, "--metadata", "oauth"],
             "--metadata needs --issuer-url"),
            (["--jwks", s.jwks, "--issuer", issuerName, "--ca-file", pem],
             "--ca-file needs --issuer-url or --jwks-url"),
            (["--jwks", s.jwks, "--issuer", issuerName, "--allow-loopback-http"],
             "--allow-loopback-http needs --issuer-url or --jwks-url"),
            (["--jwks", s.jwks, "--issuer", issuerName, "--metadata", "oidc"], "--metadata needs --issuer-url"),
            (["--issuer-url", Self.issuerURL, "--fetch-timeout", "0"], "--fetch-timeout must be at least 1"),
            (["--issuer-url", Self.issuerURL, "--fetch-max-bytes", "1048577"],
             "--fetch-max-bytes must be 1 to 1048576"),
            (["--issuer-url", Self.issuerURL, "--fetch-max-bytes", "0"], "--fetch-max-bytes must be 1 to 1048576"),
        ]
        for (arguments, message) in cases {
            // The helper would fail the test if it ran: every case is refused before it.
            let run = try keybound(
                ["verify"] + arguments + Self.request(s), environment: ["KEYBOUND_REMOTE": "/nonexistent/helper"])
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stderr == "keybound: \(message)\n", "\(arguments)")
        }
        let badMetadata = try keybound(
            ["verify", "--issuer-url", Self.issuerURL, "--metadata", "saml"] + Self.request(s))
        #expect(badMetadata.status == 2)
        #expect(badMetadata.stderr.hasPrefix("keybound: "), "\(badMetadata.stderr)")
        #expect(badMetadata.stderr.contains("saml"), "\(badMetadata.stderr)")
    }
}
