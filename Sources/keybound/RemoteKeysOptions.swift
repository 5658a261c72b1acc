//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation

/// `keybound verify --issuer-url URL | --jwks-url URL`: issuer keys from the network, fetched by the helper
/// `keybound-remote` of the integrations package (docs/remote-keys.md).
///
/// The root package stays free of an HTTP client: fetching needs one that can trust an extra CA, and that one (on
/// SwiftNIO) lives in the integrations package, which depends on this one. So `keybound` runs the helper
/// `keybound-remote jwks …`, reads the JWK Set it prints and goes on as with `--jwks`. The helper is found through
/// `KEYBOUND_REMOTE`, else beside this executable, else on `PATH`.
struct RemoteKeysOptions: ParsableArguments {
    enum Metadata: String, ExpressibleByArgument, CaseIterable {
        /// OpenID Connect Discovery 1.0: `{issuer}/.well-known/openid-configuration`.
        case oidc
        /// RFC 8414: `/.well-known/oauth-authorization-server` between the issuer's host and path.
        case oauth
    }

    @Option(
        help: ArgumentHelp(
            "Fetch the keys by discovery from this issuer's metadata (its issuer must equal it exactly); also the "
                + "default --issuer. Instead of --jwks and --issuer-key.",
            valueName: "url"))
    var issuerURL: String?

    @Option(help: "The metadata --issuer-url reads: OpenID Connect discovery (the default) or RFC 8414.")
    var metadata: Metadata?

    @Option(
        help: ArgumentHelp("Fetch the keys from this JWK Set URL (with --issuer; not with --jwks).", valueName: "url"))
    var jwksURL: String?

    /// Beside the system's trust store, never instead of it.
    @Option(help: ArgumentHelp("Extra trusted roots (PEM) for the fetch, beside the system's.", valueName: "path"))
    var caFile: String?

    @Flag(help: "Allow http to 127.0.0.1, ::1 or localhost (tests); https is required everywhere else.")
    var allowLoopbackHTTP = false

    /// One exchange: connect, TLS, head and body.
    @Option(help: ArgumentHelp("The most one HTTP exchange of the fetch may take (default 10).", valueName: "seconds"))
    var fetchTimeout: Int64?

    @Option(help: ArgumentHelp("The largest body the fetch reads (default and at most 1048576).", valueName: "n"))
    var fetchMaxBytes: Int?

    /// The environment variable naming the helper.
    static let helperVariable = "KEYBOUND_REMOTE"
    static let helperName = "keybound-remote"

    /// The URL option given, for messages: `--issuer-url` or `--jwks-url`.
    var given: String? {
        issuerURL != nil ? "--issuer-url" : jwksURL != nil ? "--jwks-url" : nil
    }

    /// The URL the keys come from, which names the set in messages.
    var source: String? { issuerURL ?? jwksURL }

    /// Usage rules of the remote options among themselves and against the other sources of keys.
    func validate(localKeys: Bool, issuer: String?) throws(ToolError) {
        if metadata != nil && issuerURL == nil { throw ToolError("--metadata needs --issuer-url") }
        guard let given else {
            let dependent: [(Bool, String)] = [
                (caFile != nil, "--ca-file"),
                (allowLoopbackHTTP, "--allow-loopback-http"), (fetchTimeout != nil, "--fetch-timeout"),
                (fetchMaxBytes != nil, "--fetch-max-bytes"),
            ]
            if let (_, name) = dependent.first(where: \.0) {
                throw ToolError("\(name) needs --issuer-url or --jwks-url")
            }
            return
        }
        if issuerURL != nil && jwksURL != nil { throw ToolError("give one of --issuer-url and --jwks-url") }
        if localKeys { throw ToolError("\(given) cannot be combined with --jwks or --issuer-key") }
        if jwksURL != nil && issuer == nil { throw ToolError("--jwks-url needs --issuer") }
        if let fetchTimeout, fetchTimeout <= 0 { throw ToolError("--fetch-timeout must be at least 1") }
        if let fetchMaxBytes, !(1...Inputs.maximumFileBytes).contains(fetchMaxBytes) {
            throw ToolError("--fetch-max-bytes must be 1 to \(Inputs.maximumFileBytes)")
        }
    }

    /// The helper's arguments: `jwks`, the source, then the fetch options given.
    var helperArguments: [String] {
        var arguments = ["jwks"]
        if let issuerURL { arguments += ["--issuer-url", issuerURL] }
        if let metadata { arguments += ["--metadata", metadata.rawValue] }
        if let jwksURL { arguments += ["--jwks-url", jwksURL] }
        if let caFile { arguments += ["--ca-file", caFile] }
        if allowLoopbackHTTP { arguments.append("--allow-loopback-http") }
        if let fetchTimeout { arguments += ["--timeout", String(fetchTimeout)] }
        if let fetchMaxBytes { arguments += ["--max-bytes", String(fetchMaxBytes)] }
        return arguments
    }

    // MARK: - Running the helper

    /// The JWK Set the helper prints, at most ``Inputs/maximumFileBytes`` (and its final newline).
    func fetch() throws(ToolError) -> [UInt8] {
        let helper = try Self.helperPath(for: given ?? "--issuer-url")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = helperArguments
        let out = Pipe()
        let err = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            throw ToolError("cannot run the helper \(helper): \(error.localizedDescription)")
        }
        // Standard error on another thread, so that neither pipe can fill up and block the helper.
        let errors = BoundedRead()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errors.drain(err.fileHandleForReading, keeping: 4096) }
        let output = BoundedRead()
        let overflow = !output.drain(
            out.fileHandleForReading, keeping: Inputs.maximumFileBytes + 1, stopPastLimit: true)
        if overflow {
            // Past the bound: stop the helper, and let whatever else writes to the pipe fail (it holds stderr too).
            if process.isRunning { process.terminate() }
            try? out.fileHandleForReading.close()
        }
        process.waitUntilExit()
        group.wait()
        if process.terminationReason == .uncaughtSignal && !overflow {
            throw ToolError("the helper \(helper) was killed by signal \(process.terminationStatus)")
        }
        if process.terminationStatus != 0 && !overflow {
            throw Self.helperError(errors.bytes, helper: helper, status: process.terminationStatus)
        }
        var document = output.bytes
        if document.last == UInt8(ascii: "\n") { document.removeLast() }
        guard !overflow, document.count <= Inputs.maximumFileBytes else {
            throw ToolError("the JWK Set of \(source ?? "") is larger than 1 MiB")
        }
        return document
    }

    /// The helper's one-line error, passed through as `keybound`'s: `keybound-remote: CODE: reason` loses its
    /// prefix; anything else is quoted with the exit status.
    static func helperError(_ stderr: [UInt8], helper: String, status: Int32) -> ToolError {
        let text = String(decoding: stderr, as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let prefix = helperName + ": "
        if line.hasPrefix(prefix), line.count > prefix.count { return ToolError(String(line.dropFirst(prefix.count))) }
        let detail = line.isEmpty ? "" : ": " + Inputs.printable(line)
        return ToolError("the helper \(helper) failed (exit status \(status))\(detail)")
    }

    /// `KEYBOUND_REMOTE` when set and not empty, else `keybound-remote` beside this executable, else the first on
    /// `PATH`; or a usage error that says how to build it.
    static func helperPath(
        for option: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ToolError) -> String {
        let manager = FileManager.default
        if let named = environment[helperVariable], !named.isEmpty {
            guard manager.isExecutableFile(atPath: named) else {
                throw ToolError("\(helperVariable)=\(Inputs.printable(named, limit: 4096)) is not an executable file")
            }
            return named
        }
        let folder = executableFolder()
        var candidates = folder.map { [$0 + "/" + helperName] } ?? []
        for entry in (environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(entry)/\(helperName)") }
        if let found = candidates.first(where: { manager.isExecutableFile(atPath: $0) }) { return found }
        let beside = folder ?? "this executable's folder"
        throw ToolError(
            "\(option) needs the helper \(helperName), not found in \(helperVariable), \(beside) or PATH; build it "
                + "with: swift build --package-path Integrations --product \(helperName) (then set \(helperVariable) "
                + "to it, or put it beside keybound or on PATH)")
    }

    /// The folder of the running `keybound`, symbolic links resolved.
    static func executableFolder() -> String? {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        return Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent().path
    }
}

/// The first bytes of a pipe, up to a bound.
private final class BoundedRead: @unchecked Sendable {
    private(set) var bytes: [UInt8] = []

    /// Reads to the end of `handle`, keeping at most `limit` bytes. With `stopPastLimit` it stops at the first byte
    /// past `limit` and answers false; without, it reads on and drops the rest, so the writer never blocks.
    @discardableResult
    func drain(_ handle: FileHandle, keeping limit: Int, stopPastLimit: Bool = false) -> Bool {
        var complete = true
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return complete }
            let room = limit - bytes.count
            if chunk.count > room {
                bytes += chunk.prefix(max(room, 0))
                complete = false
                if stopPastLimit { return false }
            } else {
                bytes += chunk
            }
        }
    }
}
