//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import Testing

/// A run of a built binary.
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Runs `path` with `arguments`, in this process's environment plus `environment`.
    init(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting, so a full pipe cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }
}

/// `keybound-remote`, built beside this test binary (the test target depends on it): the helper `keybound` runs.
let remoteBinary: String? = {
    guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    let path = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keybound-remote").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}()

/// The root package's `keybound`: `KEYBOUND_CLI_BINARY`, else `.build/debug/keybound` of the Keybound repository this
/// package sits in (the root build that .ci/run and `swift build` make).
let keyboundBinary: String? = {
    let repository = KeyServer.supportFolder.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var candidates = [repository.appendingPathComponent(".build/debug/keybound").path]
    if let path = ProcessInfo.processInfo.environment["KEYBOUND_CLI_BINARY"] { candidates.insert(path, at: 0) }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

@Suite("keybound verify --issuer-url / --jwks-url, with the keybound-remote helper")
struct RemoteCLITests {
    /// The two binaries: the root package's `keybound` and this package's helper, which `KEYBOUND_REMOTE` names.
    struct Tools {
        let keybound: String
        let remote: String

        init() throws {
            remote = try #require(remoteBinary, "keybound-remote is not built beside the tests")
            keybound = try #require(
                keyboundBinary, "no keybound binary: build the root package (swift build) or set KEYBOUND_CLI_BINARY")
        }

        /// `keybound verify ARGUMENTS` with the helper.
        func verify(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
            let helper = ["KEYBOUND_REMOTE": remote].merging(environment) { $1 }
            return try Run(keybound, ["verify"] + arguments, environment: helper)
        }
    }

    /// One request to `GET https://api.example/orders` with a token of `issuer`, as `keybound verify` options.
    static func request(_ fixture: Fixture, issuer: String) throws -> [String] {
        let token = try fixture.token(issuer: issuer)
        return [
            "--audience", Fixture.audience, "--now", "\(Fixture.now)", "--method", "GET",
            "--url", "https://api.example/orders", "--authorization", "DPoP \(token)",
            "--dpop", try fixture.proof("GET", "https://api.example/orders", token: token),
        ]
    }

    /// Runs `body` with the two binaries, a fixture, and a fresh HTTPS key server that serves the fixture's JWK Set at
    /// `/jwks`.
    static func withKeyServer(_ body: (Tools, KeyServer, Fixture) async throws -> Void) async throws {
        let tools = try Tools()
        let fixture = try Fixture()
        try await KeyServer.with { server in
            try await server.set(.init("/jwks", body: Fixture.jwks([fixture.issuerKey])))
            try await body(tools, server, fixture)
        }
    }

    @Test("keybound-remote jwks prints the fetched set; its fetch errors are one line, exit 2")
    func jwksPrintsTheFetchedSet() async throws {
        try await Self.withKeyServer { tools, server, fixture in
            let remote = tools.remote
            let url = server.httpsBase + "/jwks"
            let run = try Run(remote, ["jwks", "--jwks-url", url, "--ca-file", server.caFile])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == Fixture.jwks([fixture.issuerKey]) + "\n")

            // Without the test CA the handshake fails: exit 2, one line naming the error code.
            let untrusted = try Run(remote, ["jwks", "--jwks-url", url])
            #expect(untrusted.status == 2)
            #expect(untrusted.stderr.hasPrefix("keybound-remote: transport: "))
            // In the clear, off loopback: refused before any request.
            let clear = try Run(remote, ["jwks", "--jwks-url", "http://id.example/jwks", "--allow-loopback-http"])
            #expect(clear.status == 2)
            let refusal =
                "keybound-remote: insecure_url: http is allowed to a loopback host only: http://id.example/jwks"
            #expect(clear.stderr == refusal + "\n")
            // A body over --max-bytes.
            let small = try Run(remote, ["jwks", "--jwks-url", url, "--ca-file", server.caFile, "--max-bytes", "16"])
            #expect(small.status == 2)
            #expect(small.stderr.hasPrefix("keybound-remote: body_too_large: "))
            // Usage errors: `jwks` is its one command (verifying is `keybound verify --issuer-url`).
            let usage: [([String], String)] = [
                (["jwks"], "give one of --issuer-url and --jwks-url"),
                (["jwks", "--jwks-url", url, "--issuer-url", url], "give one of --issuer-url and --jwks-url"),
                (["jwks", "--jwks-url", url, "--audience", Fixture.audience], "unknown option --audience"),
                (["verify", "--jwks-url", url], "the one command is jwks, not verify (keybound-remote --help)"),
            ]
            for (arguments, message) in usage {
                let run = try Run(remote, arguments)
                #expect(run.status == 2, "\(arguments)")
                #expect(run.stderr == "keybound-remote: \(message)\n", "\(arguments)")
            }
            // The set and the oversized body; the untrusted handshake never reached the server.
            #expect(try await server.count("/jwks") == 2)
        }
    }

    @Test("discovery and a JWK Set URL: verified, refused (exit 1), a batch with one fetch")
    func verifyWithRemoteKeys() async throws {
        try await Self.withKeyServer { tools, server, fixture in
            let issuer = server.httpsBase
            try await server.set(server.metadata("/.well-known/openid-configuration", issuer: issuer))

            // Discovery: --issuer comes from --issuer-url.
            let discovered = try tools.verify(
                ["--issuer-url", issuer, "--ca-file", server.caFile] + Self.request(fixture, issuer: issuer))
            #expect(discovered.status == 0, "\(discovered.stderr)")
            #expect(discovered.stdout.hasPrefix(#"{"ok":true,"sub":"alice","#))
            #expect(discovered.stderr.isEmpty)

            // A JWK Set URL, with the issuer given.
            let direct = try tools.verify(
                ["--jwks-url", issuer + "/jwks", "--issuer", issuer, "--ca-file", server.caFile]
                    + Self.request(fixture, issuer: issuer))
            #expect(direct.status == 0, "\(direct.stderr)")
            #expect(direct.stdout.hasPrefix(#"{"ok":true,"sub":"alice","#))

            // A refusal is keybound's own: exit 1 and its line (another issuer's token).
            let refused = try tools.verify(
                ["--issuer-url", issuer, "--ca-file", server.caFile] + Self.request(fixture, issuer: Fixture.issuer))
            #expect(refused.status == 1)
            #expect(refused.stdout.hasPrefix(#"{"ok":false,"code":306,"name":"token_issuer","#), "\(refused.stdout)")

            // A batch of two requests: the keys are fetched once, at start.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keybound-batch-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            defer { try? FileManager.default.removeItem(at: folder) }
            let lines = try (1...2).map { _ in
                let token = try fixture.token(issuer: issuer)
                let proof = try fixture.proof("GET", "https://api.example/orders", token: token)
                return #"{"method":"GET","url":"https://api.example/orders","authorization":"DPoP \#(token)","#
                    + #""dpop":"\#(proof)"}"#
            }
            let batch = folder.appendingPathComponent("requests.jsonl")
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: batch)
            let before = try await server.count("/jwks")
            let batched = try tools.verify(
                ["--issuer-url", issuer, "--ca-file", server.caFile, "--audience", Fixture.audience,
                 "--now", "\(Fixture.now)", "--batch", batch.path])
            #expect(batched.status == 0, "\(batched.stderr)")
            #expect(batched.stdout.split(separator: "\n").count == 2)
            #expect(!batched.stdout.contains(#""ok":false"#))
            #expect(try await server.count("/jwks") == before + 1)
            #expect(try await server.count("/.well-known/openid-configuration") == 3)
        }
    }

    @Test("fetch errors: the helper's line as keybound's, exit 2, before any request is verified")
    func fetchErrors() async throws {
        try await Self.withKeyServer { tools, server, fixture in
            // Metadata at issuer/other that names another issuer: issuer_mismatch, and no JWK Set fetch.
            let (issuer, other) = (server.httpsBase, server.httpsBase + "/other")
            try await server.set(server.metadata("/other/.well-known/openid-configuration", issuer: issuer))
            let mismatch = try tools.verify(
                ["--issuer-url", other, "--ca-file", server.caFile] + Self.request(fixture, issuer: other))
            #expect(mismatch.status == 2)
            #expect(mismatch.stdout.isEmpty)
            #expect(mismatch.stderr == """
                keybound: issuer_mismatch: \(issuer)/other/.well-known/openid-configuration names issuer \(issuer), \
                not \(issuer)/other

                """)

            // Without --ca-file the test CA is not trusted: the TLS handshake fails.
            let untrusted = try tools.verify(["--jwks-url", issuer + "/jwks", "--issuer", issuer]
                + Self.request(fixture, issuer: issuer))
            #expect(untrusted.status == 2)
            #expect(untrusted.stdout.isEmpty)
            #expect(untrusted.stderr.hasPrefix("keybound: transport: "), "\(untrusted.stderr)")
            #expect(untrusted.stderr.split(separator: "\n").count == 1)
            #expect(try await server.count("/jwks") == 0)
        }
    }

    @Test("no helper, and keys from two sources: usage errors, exit 2, before any fetch")
    func usageErrors() throws {
        let tools = try Tools()
        let fixture = try Fixture()
        let request = try Self.request(fixture, issuer: Fixture.issuer)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keybound-empty-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: folder) }

        // No KEYBOUND_REMOTE, none beside keybound, none on PATH.
        let beside = URL(fileURLWithPath: tools.keybound).resolvingSymlinksInPath().deletingLastPathComponent().path
        let missing = try tools.verify(
            ["--issuer-url", Fixture.issuer] + request, environment: ["KEYBOUND_REMOTE": "", "PATH": folder.path])
        #expect(missing.status == 2)
        #expect(missing.stderr == """
            keybound: --issuer-url needs the helper keybound-remote, not found in KEYBOUND_REMOTE, \(beside) or PATH; \
            build it with: swift build --package-path Integrations --product keybound-remote (then set \
            KEYBOUND_REMOTE to it, or put it beside keybound or on PATH)

            """)

        // One source of keys: a URL excludes --jwks, --issuer-key and the other URL.
        let jwks = folder.appendingPathComponent("jwks.json")
        try Data(Fixture.jwks([fixture.issuerKey]).utf8).write(to: jwks)
        let cases: [([String], String)] = [
            (["--issuer-url", Fixture.issuer, "--jwks", jwks.path],
             "--issuer-url cannot be combined with --jwks or --issuer-key"),
            (["--jwks-url", Fixture.issuer + "/jwks", "--issuer", Fixture.issuer, "--jwks", jwks.path],
             "--jwks-url cannot be combined with --jwks or --issuer-key"),
            (["--issuer-url", Fixture.issuer, "--jwks-url", Fixture.issuer + "/jwks"],
             "give one of --issuer-url and --jwks-url"),
        ]
        for (arguments, message) in cases {
            let run = try tools.verify(arguments + request)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stdout.isEmpty)
            #expect(run.stderr == "keybound: \(message)\n", "\(arguments)")
        }
    }
}
