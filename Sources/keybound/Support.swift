//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Keybound
import KeyboundSigning

/// Reading inputs, the clock, algorithms and nonce secrets, shared by the commands.
enum Inputs {
    /// The largest file or standard input read whole (keys, JWKS documents, secrets).
    static let maximumFileBytes = 1 << 20

    /// The bytes of a file, or of standard input for `-`.
    static func read(path: String, what: String) throws(ToolError) -> [UInt8] {
        let data: Data?
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            let fd = try openForReading(path, what: what)
            data = FileHandle(fileDescriptor: fd, closeOnDealloc: true).readDataToEndOfFile()
        }
        guard let data else { throw ToolError("cannot read \(what) file \(path)") }
        guard data.count <= maximumFileBytes else { throw ToolError("\(what) file \(path) is larger than 1 MiB") }
        return [UInt8](data)
    }

    /// Opens a regular file (or a pipe or device) for reading; the error names the cause and the path.
    static func openForReading(_ path: String, what: String) throws(ToolError) -> Int32 {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fileError(path, what: what, errno: errno) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            close(fd)
            throw fileError(path, what: what, errno: EISDIR)
        }
        return fd
    }

    /// `cannot read JWKS file jwks.json: no such file`: the cause in words, then the system's own text for the rest.
    static func fileError(_ path: String, verb: String = "read", what: String, errno code: Int32) -> ToolError {
        let cause: String
        switch code {
        case ENOENT: cause = "no such file"
        case EACCES, EPERM: cause = "permission denied"
        case EISDIR: cause = "is a directory"
        case ENOTDIR: cause = "a component of the path is not a directory"
        default: cause = String(cString: strerror(code))
        }
        return ToolError("cannot \(verb) \(what) file \(path): \(cause)")
    }

    /// JSON given inline (starting with `{`), as a file path, or as `-` for standard input.
    static func jsonText(_ argument: String, what: String) throws(ToolError) -> String {
        let trimmed = argument.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") { return trimmed }
        let bytes = try read(path: argument, what: what)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ToolError("\(what) is not UTF-8") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A private JWK from a file, `-` or inline JSON.
    static func signingKey(_ argument: String, algorithm: String? = nil) throws(ToolError) -> SigningKey {
        let alg = try algorithm.map { (name) throws(ToolError) in try Inputs.algorithm(name) }
        let text = try jsonText(argument, what: "key")
        do {
            return try SigningKey(privateJWK: text, algorithm: alg)
        } catch {
            throw ToolError("invalid private JWK \(argument.hasPrefix("{") ? "(inline)" : argument): \(error.reason)")
        }
    }

    /// A JWS algorithm by its registered name.
    static func algorithm(_ name: String) throws(ToolError) -> JWSAlgorithm {
        guard let alg = JWSAlgorithm(rawValue: name) else {
            let names = JWSAlgorithm.allSupported.map(\.rawValue).joined(separator: ", ")
            throw ToolError("unknown algorithm '\(printable(name))' (expected one of \(names))")
        }
        return alg
    }

    /// A comma-separated allow-list of algorithms.
    static func algorithms(_ list: String) throws(ToolError) -> [JWSAlgorithm] {
        var result: [JWSAlgorithm] = []
        for name in list.split(separator: ",", omittingEmptySubsequences: false) {
            let alg = try algorithm(name.trimmingCharacters(in: .whitespaces))
            if !result.contains(alg) { result.append(alg) }
        }
        return result
    }

    /// The wall clock, whole Unix seconds. Only the command-line tool reads it.
    static func clock() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }

    /// A fresh random identifier: 16 random bytes, base64url (22 characters).
    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// `text` cut to `limit` characters with control characters replaced, for quoting user input in an error message.
    static func printable(_ text: String, limit: Int = 64) -> String {
        String(text.unicodeScalars.prefix(limit).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }
}

/// Where nonce secrets come from: `--nonce-secret-file PATH` or the `KEYBOUND_NONCE_SECRETS` environment variable,
/// never the command line itself (a command line is visible to every user of the machine).
struct NonceOptions: ParsableArguments {
    @Option(
        name: .customLong("nonce-secret-file"),
        help: ArgumentHelp(
            "File of nonce secrets: hex, one per line, newest first, each at least 32 bytes ('#' comments allowed).",
            valueName: "path"
        )
    )
    var secretFile: String?

    @Option(
        name: .customLong("nonce-window"), help: ArgumentHelp("Nonce window length in seconds.", valueName: "seconds"))
    var window: Int64 = 300

    static let environmentVariable = "KEYBOUND_NONCE_SECRETS"

    /// The nonce issuer, or a usage error when no secret is configured.
    func issuer(boundToKey: Bool) throws(ToolError) -> NonceIssuer {
        let secrets: [[UInt8]]
        if let secretFile {
            let bytes = try Inputs.read(path: secretFile, what: "nonce secret")
            secrets = try Self.parseSecrets(String(decoding: bytes, as: UTF8.self), source: secretFile)
        } else if let value = ProcessInfo.processInfo.environment[Self.environmentVariable] {
            secrets = try Self.parseSecrets(value, source: Self.environmentVariable)
        } else {
            throw ToolError("nonces need secrets: --nonce-secret-file PATH or \(Self.environmentVariable)")
        }
        do {
            return try NonceIssuer(secrets: secrets, windowSeconds: window, boundToKey: boundToKey)
        } catch {
            throw ToolError("invalid nonce configuration: \(error.reason)")
        }
    }

    /// Hex secrets separated by newlines, commas or whitespace; `#` starts a comment that runs to the end of the line.
    /// Error messages name the position of a bad secret, never its text.
    static func parseSecrets(_ text: String, source: String) throws(ToolError) -> [[UInt8]] {
        var secrets: [[UInt8]] = []
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let content = line.prefix { $0 != "#" }
            for word in content.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
                guard let bytes = hex(word) else {
                    throw ToolError("nonce secret \(secrets.count + 1) in \(source) is not hex")
                }
                secrets.append(bytes)
            }
        }
        guard !secrets.isEmpty else { throw ToolError("no nonce secret in \(source)") }
        return secrets
    }

    static func hex(_ text: Substring) -> [UInt8]? {
        text.isEmpty ? nil : [UInt8](hexDigits: text)
    }
}
