//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// `keybound-remote`: the helper that fetches issuer keys for `keybound verify --issuer-url URL | --jwks-url URL`
// (docs/remote-keys.md). The root package's `keybound` carries no HTTP client, so it runs this tool, which does:
//
//   keybound-remote jwks (--issuer-url URL [--metadata oidc|oauth] | --jwks-url URL)
//                        [--ca-file PEM] [--allow-loopback-http] [--timeout SECONDS] [--max-bytes N]
//
// It prints the fetched JWK Set (one document and a newline) on standard output and exits 0; a usage or fetch error
// exits 2 with one line `keybound-remote: CODE: reason` on standard error, which `keybound` passes on as its own.

import Foundation
import KeyboundRemoteKeys

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("keybound-remote: " + message + "\n").utf8))
    exit(2)
}

let usage = """
    usage: keybound-remote jwks (--issuer-url URL [--metadata oidc|oauth] | --jwks-url URL)
           [--ca-file PEM] [--allow-loopback-http] [--timeout SECONDS] [--max-bytes N]
    Prints the issuer's JWK Set. `keybound verify --issuer-url URL` and `--jwks-url URL` run it.
    """

/// The options of `jwks`.
struct Options {
    var issuerURL: String?
    var jwksURL: String?
    var metadata = "oidc"
    var caFile: String?
    var allowLoopbackHTTP = false
    var timeout: Int64?
    var maxBytes: Int?

    init(_ arguments: [String]) {
        if arguments.first == "-h" || arguments.first == "--help" {
            print(usage)
            exit(0)
        }
        guard arguments.first == "jwks" else {
            fail("the one command is jwks, not \(arguments.first ?? "none") (keybound-remote --help)")
        }
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
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown option \(argument)")
            }
        }
        guard (issuerURL == nil) != (jwksURL == nil) else { fail("give one of --issuer-url and --jwks-url") }
        guard metadata == "oidc" || metadata == "oauth" else { fail("--metadata is oidc or oauth") }
    }

    var configuration: RemoteKeys.Configuration {
        var configuration: RemoteKeys.Configuration
        if let issuerURL {
            configuration = .discovery(
                issuer: issuerURL, using: metadata == "oauth" ? .authorizationServerMetadata : .openIDConnectDiscovery)
        } else {
            // The issuer names whose keys these are; a JWK Set URL is fetched without it.
            configuration = .jwks(issuer: "", url: jwksURL ?? "")
        }
        configuration.extraTrustRootsPEMFile = caFile
        configuration.allowLoopbackHTTP = allowLoopbackHTTP
        if let timeout { configuration.timeoutSeconds = timeout }
        if let maxBytes { configuration.maximumBodyBytes = maxBytes }
        return configuration
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let fetched: RemoteKeys.Fetched
do {
    fetched = try await RemoteKeys(options.configuration).fetchKeys()
} catch {
    fail(error.description)
}
FileHandle.standardOutput.write(Data(fetched.document))
FileHandle.standardOutput.write(Data("\n".utf8))
exit(0)
