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

    init(_ path: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
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

/// `keybound-remote`, built beside this test binary (the test target depends on it).
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

@Suite("keybound-remote")
struct RemoteCLITests {
    @Test func jwksPrintsTheFetchedSet() async throws {
        let remote = try #require(remoteBinary, "keybound-remote is not built beside the tests")
        try await KeyServer.with { server in
            let fixture = try Fixture()
            try await server.set(.init("/jwks", body: Fixture.jwks([fixture.issuerKey])))
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
            let refusal = "keybound-remote: insecure_url: http is allowed to a loopback host only: http://id.example/jwks"
            #expect(clear.stderr == refusal + "\n")
            // A body over --max-bytes.
            let small = try Run(remote, ["jwks", "--jwks-url", url, "--ca-file", server.caFile, "--max-bytes", "16"])
            #expect(small.status == 2)
            #expect(small.stderr.hasPrefix("keybound-remote: body_too_large: "))
            // Usage errors.
            #expect(try Run(remote, ["jwks"]).status == 2)
            #expect(try Run(remote, ["jwks", "--jwks-url", url, "--issuer-url", url]).status == 2)
            #expect(try Run(remote, ["fetch"]).status == 2)
        }
    }

    @Test func verifyWithIssuerURLAndJWKSURL() async throws {
        let remote = try #require(remoteBinary, "keybound-remote is not built beside the tests")
        let keybound = try #require(
            keyboundBinary, "no keybound binary: build the root package (swift build) or set KEYBOUND_CLI_BINARY")
        try await KeyServer.with { server in
            let fixture = try Fixture()
            let issuer = server.httpsBase
            try await server.set(
                .init("/.well-known/openid-configuration",
                      body: #"{"issuer":"\#(issuer)","jwks_uri":"\#(issuer)/jwks"}"#))
            try await server.set(.init("/jwks", body: Fixture.jwks([fixture.issuerKey])))
            let token = try fixture.token(issuer: issuer)
            let proof = try fixture.proof("GET", "https://api.example/orders", token: token)
            let request = [
                "--audience", Fixture.audience, "--now", "\(Fixture.now)", "--method", "GET",
                "--url", "https://api.example/orders", "--authorization", "DPoP \(token)", "--dpop", proof,
            ]
            // Discovery: --issuer comes from --issuer-url.
            let discovered = try Run(
                remote,
                ["verify", "--issuer-url", issuer, "--ca-file", server.caFile, "--keybound", keybound] + request)
            #expect(discovered.status == 0, "\(discovered.stderr)")
            #expect(discovered.stdout.hasPrefix(#"{"ok":true,"sub":"alice","#))

            // A JWKS URL with the issuer given as `keybound verify` takes it.
            let direct = try Run(
                remote,
                ["verify", "--jwks-url", issuer + "/jwks", "--ca-file", server.caFile, "--keybound", keybound,
                 "--issuer", issuer] + request)
            #expect(direct.status == 0, "\(direct.stderr)")
            #expect(direct.stdout.hasPrefix(#"{"ok":true,"sub":"alice","#))

            // A refusal passes keybound's exit status (1) and line through: another issuer's token.
            let otherToken = try fixture.token(issuer: Fixture.issuer)
            let otherProof = try fixture.proof("GET", "https://api.example/orders", token: otherToken)
            let refused = try Run(
                remote,
                ["verify", "--issuer-url", issuer, "--ca-file", server.caFile, "--keybound", keybound,
                 "--audience", Fixture.audience, "--now", "\(Fixture.now)", "--method", "GET",
                 "--url", "https://api.example/orders", "--authorization", "DPoP \(otherToken)", "--dpop", otherProof])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains(#""ok":false"#))

            // Discovery refused (issuer mismatch): exit 2 before keybound runs.
            try await server.set(
                .init("/other/.well-known/openid-configuration",
                      body: #"{"issuer":"\#(issuer)","jwks_uri":"\#(issuer)/jwks"}"#))
            let mismatch = try Run(
                remote,
                ["verify", "--issuer-url", issuer + "/other", "--ca-file", server.caFile, "--keybound", keybound]
                    + request)
            #expect(mismatch.status == 2)
            #expect(mismatch.stderr.hasPrefix("keybound-remote: issuer_mismatch: "))
            // One JWK Set fetch for each of the three runs that reached keybound, none for the mismatch.
            #expect(try await server.count("/jwks") == 3)
        }
    }
}
