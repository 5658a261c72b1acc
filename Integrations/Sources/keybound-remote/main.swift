//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// `keybound-remote`: the `keybound` tool with remote keys (docs/remote-keys.md).
//
//   keybound-remote jwks   (--issuer-url URL [--metadata oidc|oauth] | --jwks-url URL) [fetch options]
//   keybound-remote verify (--issuer-url URL [--metadata oidc|oauth] | --jwks-url URL) [fetch options]
//                          [--keybound PATH] [keybound verify options…]
//
// Fetch options: --ca-file PEM (extra trust roots), --allow-loopback-http, --timeout SECONDS, --max-bytes N.
// `jwks` prints the fetched JWK Set; `verify` writes it to a temporary file and runs
// `keybound verify --jwks FILE …` with the remaining options (and `--issuer URL` from --issuer-url unless given),
// exiting with its status. A usage or fetch error exits 2 with one line on standard error, like `keybound`.

import Foundation
import KeyboundRemoteKeys

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("keybound-remote: " + message + "\n").utf8))
    exit(2)
}

let usage = """
    usage: keybound-remote jwks|verify (--issuer-url URL [--metadata oidc|oauth] | --jwks-url URL)
           [--ca-file PEM] [--allow-loopback-http] [--timeout SECONDS] [--max-bytes N]
           [--keybound PATH] [keybound verify options...]
    """

/// The options this tool reads; everything else goes to `keybound verify`.
struct Options {
    var command = ""
    var issuerURL: String?
    var jwksURL: String?
    var metadata = "oidc"
    var caFile: String?
    var allowLoopbackHTTP = false
    var timeout: Int64?
    var maxBytes: Int?
    var keybound: String?
    var passThrough: [String] = []

    init(_ arguments: [String]) {
        guard let command = arguments.first, command == "jwks" || command == "verify" else { fail(usage) }
        self.command = command
        var rest = arguments.dropFirst()[...]
        func value(_ name: String) -> String {
            guard let value = rest.popFirst() else { fail("\(name) needs a value") }
            return value
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--issuer-url": issuerURL = value(argument)
            case "--jwks-url": jwksURL = value(argument)
            case "--metadata": metadata = value(argument)
            case "--ca-file": caFile = value(argument)
            case "--allow-loopback-http": allowLoopbackHTTP = true
            case "--timeout":
                guard let seconds = Int64(value(argument)), seconds > 0 else { fail("--timeout takes seconds > 0") }
                timeout = seconds
            case "--max-bytes":
                guard let bytes = Int(value(argument)), bytes > 0 else { fail("--max-bytes takes a count > 0") }
                maxBytes = bytes
            case "--keybound": keybound = value(argument)
            case "-h", "--help":
                print(usage)
                exit(0)
            default: passThrough.append(argument)
            }
        }
        guard (issuerURL == nil) != (jwksURL == nil) else { fail("give one of --issuer-url and --jwks-url") }
        guard metadata == "oidc" || metadata == "oauth" else { fail("--metadata is oidc or oauth") }
    }

    /// The `--issuer` given for `keybound verify`, if any.
    var verifyIssuer: String? {
        guard let index = passThrough.firstIndex(of: "--issuer"), index + 1 < passThrough.count else { return nil }
        return passThrough[index + 1]
    }

    var configuration: RemoteKeys.Configuration {
        var configuration: RemoteKeys.Configuration
        if let issuerURL {
            configuration = .discovery(
                issuer: issuerURL, using: metadata == "oauth" ? .authorizationServerMetadata : .openIDConnectDiscovery)
        } else {
            configuration = .jwks(issuer: verifyIssuer ?? "", url: jwksURL ?? "")
        }
        configuration.extraTrustRootsPEMFile = caFile
        configuration.allowLoopbackHTTP = allowLoopbackHTTP
        if let timeout { configuration.timeoutSeconds = timeout }
        if let maxBytes { configuration.maximumBodyBytes = maxBytes }
        return configuration
    }
}

/// The `keybound` binary: --keybound, else $KEYBOUND, else the one beside this tool, else the first on PATH.
func keyboundPath(_ options: Options) -> String {
    if let path = options.keybound ?? ProcessInfo.processInfo.environment["KEYBOUND"] { return path }
    let manager = FileManager.default
    var candidates: [String] = []
    if let exe = try? manager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keybound").path)
    }
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        candidates.append(String(folder) + "/keybound")
    }
    guard let found = candidates.first(where: { manager.isExecutableFile(atPath: $0) }) else {
        fail("no keybound binary: give --keybound PATH or put keybound on PATH")
    }
    return found
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let fetched: RemoteKeys.Fetched
do {
    fetched = try await RemoteKeys(options.configuration).fetchKeys()
} catch {
    fail(error.description)
}

if options.command == "jwks" {
    FileHandle.standardOutput.write(Data(fetched.document))
    FileHandle.standardOutput.write(Data("\n".utf8))
    exit(0)
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keybound-remote-\(UUID().uuidString)")
let jwksFile = folder.appendingPathComponent("jwks.json")
do {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
    try Data(fetched.document).write(to: jwksFile)
} catch {
    fail("cannot write the fetched set: \(error)")
}
var arguments = ["verify", "--jwks", jwksFile.path]
if options.verifyIssuer == nil, let issuerURL = options.issuerURL { arguments += ["--issuer", issuerURL] }
let process = Process()
process.executableURL = URL(fileURLWithPath: keyboundPath(options))
process.arguments = arguments + options.passThrough
do {
    try process.run()
} catch {
    try? FileManager.default.removeItem(at: folder)
    fail("cannot run \(process.executableURL?.path ?? "keybound"): \(error)")
}
process.waitUntilExit()
try? FileManager.default.removeItem(at: folder)
exit(process.terminationStatus)
