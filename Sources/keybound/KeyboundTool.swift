//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Keybound
import KeyboundBench

/// The `keybound` command-line tool: verify DPoP requests (RFC 9449) one at a time or in JSON Lines batches, and
/// make the thumbprints, test keys, tokens, proofs and nonces needed to try a DPoP server.
///
/// Exit status: 0 on success (every request verified), 1 when `verify` refused a request, 2 for a usage or
/// configuration error (with a one-line message on standard error). Help requests print to standard output, exit 0.
@main
struct KeyboundTool {
    static func main() {
        let status: Int32
        do {
            var command = try Root.parseAsRoot()
            try command.run()
            status = 0
        } catch let exit as ExitCode {
            status = exit.rawValue
        } catch let error as ToolError {
            Console.error(error.message)
            status = 2
        } catch let error as BenchError {
            Console.error(error.message)
            status = 2
        } catch {
            if Root.exitCode(for: error) == .success {
                // --help, help SUBCOMMAND
                print(Root.fullMessage(for: error))
                status = 0
            } else {
                // An unknown option first: ArgumentParser reports missing required options before it (UnknownOption).
                Console.error(UnknownOption.message(in: Array(CommandLine.arguments.dropFirst())) ?? Root.message(for: error))
                status = 2
            }
        }
        Console.flush()
        exit(status)
    }
}

struct Root: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keybound",
        abstract: "Verify DPoP requests (RFC 9449) and make test keys, tokens, proofs and nonces.",
        discussion: """
            Exit status: 0 success, 1 a request was refused (verify), 2 usage or configuration error.

            Shell completion: --generate-completion-script bash, zsh or fish prints a completion script \
            for that shell (install it where the shell looks, or source it).

            Example:
              keybound keygen --alg ES256 > client.jwk
              keybound proof --key client.jwk --method GET --url https://api.example.com/x
              source <(keybound --generate-completion-script bash)
            """,
        // `keybound --version` prints the library's version (the C header's KB_VERSION_STRING is checked against it).
        version: KeyboundVersion.string,
        subcommands: [
            Verify.self, ThumbprintCommand.self, Keygen.self, TokenCommand.self, ProofCommand.self,
            NonceCommand.self, BenchCommand.self,
        ]
    )
}

/// A usage, input or configuration error: printed as one line on standard error, exit status 2.
struct ToolError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Standard error output, one line per message, and the shared flush of standard output.
enum Console {
    static func error(_ message: String) {
        let line = "keybound: " + message.split(whereSeparator: \.isNewline).joined(separator: " ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// A warning: one line on standard error, `keybound: warning: ...`; the command goes on.
    static func warning(_ message: String) { error("warning: " + message) }

    static func flush() { fflush(nil) }
}
