//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning
import KeyboundTestSupport
import Testing

/// A fixed clock: no test reads the wall clock.
let now: Int64 = 1_760_000_000
let issuerName = "https://issuer.example"
let audience = "https://api.example"

/// The built `keybound` binary: `KEYBOUND_CLI_BINARY` when set (e.g. a release build), else the `keybound` next to
/// this test binary (`swift build --build-tests` builds it: the test target depends on the executable target), else
/// `.build/debug/keybound` in the package.
let binaryPath: String? = {
    let fileManager = FileManager.default
    var candidates: [String] = []
    if let override = ProcessInfo.processInfo.environment["KEYBOUND_CLI_BINARY"] { candidates.append(override) }
    if let exe = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keybound").path)
    }
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("keybound").path)
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    candidates.append(packageRoot.appendingPathComponent(".build/debug/keybound").path)
    return candidates.first { fileManager.isExecutableFile(atPath: $0) }
}()

/// What one run of the binary did.
struct RunResult {
    let status: Int32
    /// True when the process ended normally (not killed by a signal: no crash).
    let exitedNormally: Bool
    let stdout: String
    let stderr: String

    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

    /// Standard output's only line parsed as a JSON object.
    func json() throws -> [String: Any] {
        #expect(lines.count == 1, "expected one output line, got \(lines.count): \(stdout) \(stderr)")
        return try parseJSONLine(lines.first ?? "")
    }

    var trimmed: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
}

func parseJSONLine(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
}

/// A scratch folder for one test.
final class TempDir: @unchecked Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("keybound-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Data(text.utf8)) }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let path = path(name)
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Runs the binary with `arguments`, standard input from `stdin`, and the environment plus `environment`; through
/// `launcher` when given (a program and its arguments that run the binary, e.g. `setpriv` to drop root); `copy` runs
/// a copy of the binary at that path instead. Output goes through files, so large outputs cannot dead-lock.
func keybound(
    _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:], launcher: [String] = [],
    copy: String? = nil
) throws -> RunResult {
    let built = try #require(binaryPath, "the keybound binary was not found: run `swift build --build-tests` first")
    let binary = copy ?? built
    if let copy { try FileManager.default.copyItem(atPath: built, toPath: copy) }
    let dir = try TempDir()
    let inPath = try dir.write("stdin", stdin)
    let outPath = try dir.write("stdout", Data())
    let errPath = try dir.write("stderr", Data())
    let process = Process()
    process.executableURL = URL(fileURLWithPath: launcher.first ?? binary)
    process.arguments = launcher.isEmpty ? arguments : launcher.dropFirst() + [binary] + arguments
    var env = ProcessInfo.processInfo.environment
    env["KEYBOUND_NONCE_SECRETS"] = nil
    for (name, value) in environment { env[name] = value }
    process.environment = env
    let input = try #require(FileHandle(forReadingAtPath: inPath))
    let output = try #require(FileHandle(forWritingAtPath: outPath))
    let errors = try #require(FileHandle(forWritingAtPath: errPath))
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    try input.close()
    try output.close()
    try errors.close()
    let stdout = String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self)
    let stderr = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self)
    return RunResult(
        status: process.terminationStatus, exitedNormally: process.terminationReason == .exit, stdout: stdout,
        stderr: stderr
    )
}

/// The decoded JSON payload of a compact JWS.
func payload(of jws: String) throws -> [String: Any] {
    let parts = jws.split(separator: ".").map(String.init)
    let bytes = try #require(parts.count == 3 ? base64URLDecode(parts[1]) : nil)
    return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

/// The decoded JSON header of a compact JWS.
func header(of jws: String) throws -> [String: Any] {
    let parts = jws.split(separator: ".").map(String.init)
    let bytes = try #require(parts.count == 3 ? base64URLDecode(parts[0]) : nil)
    return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

/// One batch input line as JSON text.
func requestLine(method: String, url: String, authorization: String?, dpop: Any?, jkt: String? = nil) -> String {
    var object: [String: Any] = ["method": method, "url": url]
    if let authorization { object["authorization"] = authorization }
    if let dpop { object["dpop"] = dpop }
    if let jkt { object["jkt"] = jkt }
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}


/// The standard verify flags for a JWKS file.
func verifyFlags(jwks: String, now: Int64 = now) -> [String] {
    ["verify", "--jwks", jwks, "--issuer", issuerName, "--audience", audience, "--now", String(now)]
}
