//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Keybound
import KeyboundSigning

/// `keybound token`: a DPoP-bound JWT access token, for tests and demos.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a DPoP-bound access token (RFC 9068 JWT with cnf.jkt), for tests and demos.",
        discussion: """
            Keybound is not an authorization server: this makes tokens to test a resource server with.

            Example:
              keybound token --key issuer.jwk --iss https://issuer.example \\
                --aud https://api.example --sub alice --scope "read write" \\
                --jkt "$(keybound thumbprint client.jwk)"
            """
    )

    @Option(help: .privateJWK(of: "issuer"))
    var key: String

    @Option(parsing: .unconditional, help: ArgumentHelp("The issuer (iss).", valueName: "iss"))
    var iss: String

    @Option(parsing: .unconditionalSingleValue, help: ArgumentHelp("An audience (aud; repeatable).", valueName: "aud"))
    var aud: [String]

    @Option(parsing: .unconditional, help: ArgumentHelp("The subject (sub).", valueName: "sub"))
    var sub: String

    @Option(parsing: .unconditional, help: ArgumentHelp("The client key's thumbprint (cnf.jkt).", valueName: "jkt"))
    var jkt: String

    @Option(help: ArgumentHelp("Lifetime: exp = iat + ttl.", valueName: "seconds"))
    var ttl: Int64 = 300

    @Option(parsing: .unconditional, help: ArgumentHelp("The scope, space-separated.", valueName: "scope"))
    var scope: String?

    @Option(
        name: .customLong("client-id"), parsing: .unconditional,
        help: ArgumentHelp("The client_id claim.", valueName: "id"))
    var clientID: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The header kid (default: the key's kid).", valueName: "kid"))
    var kid: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The token's jti (default: random).", valueName: "id"))
    var jti: String?

    @Option(help: ArgumentHelp("The iat (default: now).", valueName: "unix-seconds"))
    var iat: Int64?

    @Option(parsing: .unconditional, help: ArgumentHelp("The header typ.", valueName: "typ"))
    var typ: String = "at+jwt"

    func validate() throws {
        guard !aud.isEmpty else { throw ValidationError("give at least one --aud") }
        guard ttl >= 0 else { throw ValidationError("--ttl must not be negative") }
    }

    func run() throws {
        let signer = try Inputs.signingKey(key)
        let issuedAt = iat ?? Inputs.clock()
        let (expiry, overflow) = issuedAt.addingReportingOverflow(ttl)
        guard !overflow else { throw ToolError("--iat plus --ttl overflows") }
        let claims = AccessTokenClaims(
            iss: iss, aud: aud, sub: sub, clientID: clientID, scope: scope, jkt: jkt, iat: issuedAt, exp: expiry,
            jti: jti ?? Inputs.randomID(), kid: kid ?? signer.kid
        )
        try printSigned("token") { () throws(KeyboundError) in
            try DPoPBuilder.accessToken(claims, key: signer, typ: typ)
        }
    }
}

extension ArgumentHelp {
    /// The help of `--key` for the private JWK that signs, held by `role` ("issuer", "client").
    static func privateJWK(of role: String) -> ArgumentHelp {
        ArgumentHelp("The \(role)'s private JWK: a file, - for standard input, or inline JSON.", valueName: "\(role)-jwk")
    }
}

/// Prints what `sign` makes; a signing failure is a tool error naming `what` ("cannot sign the proof: …").
func printSigned(_ what: String, _ sign: () throws(KeyboundError) -> String) throws(ToolError) {
    do {
        print(try sign())
    } catch {
        throw ToolError("cannot sign the \(what): \(error.reason)")
    }
}

/// `keybound proof`: a DPoP proof for one request.
struct ProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proof",
        abstract: "Print a DPoP proof (RFC 9449 §4) for one request.",
        discussion: """
            htu is the URL without its query and fragment; ath is set when --token is given.

            Example:
              URL=https://api.example/x
              PROOF=$(keybound proof --key client.jwk --method GET --url "$URL" \\
                --token "$TOKEN")
              curl -H "Authorization: DPoP $TOKEN" -H "DPoP: $PROOF" "$URL"
            """
    )

    @Option(help: .privateJWK(of: "client"))
    var key: String

    @Option(parsing: .unconditional, help: ArgumentHelp("The request method (htm).", valueName: "method"))
    var method: String

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The request URL (htu is it without query and fragment).", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("The algorithm, when the JWK has no alg (needed for RSA keys).", valueName: "alg"))
    var alg: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The access token the proof goes with (sets ath).", valueName: "token"))
    var token: String?

    @Option(
        parsing: .unconditional, help: ArgumentHelp("A nonce from the server's DPoP-Nonce header.", valueName: "nonce"))
    var nonce: String?

    @Option(help: ArgumentHelp("The iat (default: now).", valueName: "unix-seconds"))
    var iat: Int64?

    @Option(parsing: .unconditional, help: ArgumentHelp("The proof's jti (default: random).", valueName: "id"))
    var jti: String?

    func run() throws {
        let signer = try Inputs.signingKey(key, algorithm: alg)
        let (iat, jti) = (iat ?? Inputs.clock(), jti ?? Inputs.randomID())
        try printSigned("proof") { () throws(KeyboundError) in
            try DPoPBuilder.proof(
                key: signer, method: method, url: url, iat: iat, jti: jti, accessToken: token, nonce: nonce)
        }
    }
}

/// `keybound nonce`: a nonce as the verifier would issue it.
struct NonceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nonce",
        abstract: "Print a DPoP nonce as 'keybound verify --require-nonce' would issue it.",
        discussion: """
            Secrets come from --nonce-secret-file PATH or the KEYBOUND_NONCE_SECRETS environment variable (hex, \
            newest first), never from the command line. With --jkt the nonce is bound to that key (use \
            'verify --nonce-bound-to-key').

            Example:
              KEYBOUND_NONCE_SECRETS=$(openssl rand -hex 32) keybound nonce
            """
    )

    @Option(help: ArgumentHelp("The time (default: now).", valueName: "unix-seconds"))
    var now: Int64?

    @Option(parsing: .unconditional, help: ArgumentHelp("Bind the nonce to this key thumbprint.", valueName: "jkt"))
    var jkt: String?

    @OptionGroup var nonceOptions: NonceOptions

    func run() throws {
        let issuer = try nonceOptions.issuer(boundToKey: jkt != nil)
        do {
            print(try issuer.mint(now: now ?? Inputs.clock(), jkt: jkt))
        } catch {
            throw ToolError("cannot make a nonce: \(error.reason)")
        }
    }
}
