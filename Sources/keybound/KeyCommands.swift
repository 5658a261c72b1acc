//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Keybound
import KeyboundSigning

/// `keybound thumbprint`: the RFC 7638 thumbprint (`jkt`) of a JWK.
struct ThumbprintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thumbprint",
        abstract: "Print the RFC 7638 thumbprint (jkt) of a JWK.",
        discussion: """
            The JWK is given inline (JSON starting with '{'), as a file path, or on standard input ('-' or \
            nothing). A private JWK gives the thumbprint of its public half. Exit status 0, or 2 when the JWK \
            cannot be read or is not a key Keybound accepts.

            Examples:
              keybound thumbprint client.jwk
              keybound keygen --alg ES256 | keybound thumbprint
              keybound thumbprint "$(keybound keygen --alg EdDSA --public | tail -1)"
            """
    )

    @Argument(
        help: ArgumentHelp("The JWK: inline JSON, a file, or - for standard input.", valueName: "jwk"))
    var jwk: String = "-"

    func run() throws {
        let text = try Inputs.jsonText(jwk, what: "JWK")
        print(try Self.thumbprint(of: text))
    }

    /// The thumbprint of a public or private JWK (private members are dropped first).
    static func thumbprint(of text: String) throws(ToolError) -> String {
        let object: JSONText.Object
        do {
            guard case .object(let parsed) = try JSONText.parse(Array(text.utf8), failingWith: .proofJWK) else {
                throw ToolError("the JWK is not a JSON object")
            }
            object = parsed
        } catch let error as KeyboundError {
            throw ToolError("the JWK is not valid JSON: \(error.reason)")
        } catch let error as ToolError {
            throw error
        } catch {
            throw ToolError("the JWK cannot be read")
        }
        // Keep only the members a public JWK and its thumbprint need (RFC 7638 §3.2).
        var writer = JSONText.ObjectWriter()
        for member in object.members where ["kty", "crv", "x", "y", "n", "e"].contains(member.name) {
            guard case .string(let value) = member.value else {
                throw ToolError("JWK member \(member.name) is not a string")
            }
            writer.string(member.name, value)
        }
        do {
            return try Thumbprint.jkt(ofJWK: writer.finished())
        } catch {
            throw ToolError("not a JWK Keybound accepts: \(error.reason)")
        }
    }
}

/// `keybound keygen`: a new private JWK for an algorithm.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a new private JWK (and its public half with --public).",
        discussion: """
            Keys: EC P-256/P-384/P-521 for ES256/ES384/ES512, RSA for RS*/PS* (--rsa-bits), \
            Ed25519 for EdDSA and Ed25519. The private JWK is one line of JSON with alg (and kid when given); \
            --public adds a second line with the public JWK; --jwks-out writes a JWKS document with the public \
            key, ready for 'keybound verify --jwks'. For tests and demos: keep real keys in a key manager.

            Examples:
              keybound keygen --alg ES256 > client.jwk
              keybound keygen --alg RS256 --kid issuer-1 --jwks-out jwks.json > issuer.jwk
            """
    )

    @Option(
        help: ArgumentHelp(
            "The JWS algorithm: \(JWSAlgorithm.allSupported.map(\.rawValue).joined(separator: ", ")).", valueName: "alg"
        ))
    var alg: String

    @Flag(help: "Also print the public JWK, on a second line.")
    var `public` = false

    @Option(parsing: .unconditional, help: ArgumentHelp("The kid to give the key.", valueName: "kid"))
    var kid: String?

    @Option(
        name: .customLong("rsa-bits"),
        help: ArgumentHelp("RSA modulus size, 2048...8192.", valueName: "bits"))
    var rsaBits: Int = 2048

    @Option(
        name: .customLong("jwks-out"),
        help: ArgumentHelp("Also write {\"keys\":[public JWK]} to this file.", valueName: "path"))
    var jwksOut: String?

    func run() throws {
        let algorithm = try Inputs.algorithm(alg)
        let key: SigningKey
        do {
            key = try SigningKey.generate(algorithm, rsaBits: rsaBits, kid: kid)
        } catch {
            throw ToolError("cannot generate the key: \(error.reason)")
        }
        print(key.privateJWK)
        if `public` { print(key.publicJWK(includingAlg: true)) }
        if let jwksOut {
            let document = "{\"keys\":[" + key.publicJWK(includingAlg: true) + "]}\n"
            let fd = open(jwksOut, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw Inputs.fileError(jwksOut, verb: "write", what: "JWKS", errno: errno) }
            let bytes = Array(document.utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let cause = errno
            close(fd)
            guard written == bytes.count else {
                throw Inputs.fileError(jwksOut, verb: "write", what: "JWKS", errno: cause)
            }
        }
    }
}
