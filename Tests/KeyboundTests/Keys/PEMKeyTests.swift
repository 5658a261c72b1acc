//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundSigning
import KeyboundTestSupport
import Testing

@testable import Keybound

/// Issuer keys given as PEM or DER (docs/design.md "Contracts → Issuer keys as PEM"), on the backend of the run
/// (`KEYBOUND_TEST_BACKEND`). The fixtures under `Tests/Vectors/pem/` were made with the openssl CLI.
@Suite("Issuer keys as PEM, SPKI and X.509")
struct PEMKeyTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try TestVectors.read(TestVectors.directory.appendingPathComponent("pem/\(name)")))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try fixture(name), as: UTF8.self)
    }

    /// Verifies a request whose token is signed with the private JWK `<name>.jwk` under kid "k1" against `keys`.
    static func verify(signedBy name: String, alg: JWSAlgorithm, with keys: JWKSet) throws -> VerifiedRequest {
        let now: Int64 = 1_700_000_000
        let issuer = "https://issuer.example"
        let audience = "https://api.example.com"
        let url = "https://api.example.com/orders"
        let issuerKey = try SigningKey(privateJWK: try text("\(name).jwk"), algorithm: alg)
        let client = try SigningKey.generate(.es256)
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: issuer, audiences: [audience], keys: keys)], backend: .forTests)
        let token = try DPoPBuilder.accessToken(
            AccessTokenClaims(iss: issuer, aud: [audience], sub: "alice", jkt: client.thumbprint, iat: now,
                              exp: now + 600, jti: "t-\(name)", kid: "k1"),
            key: issuerKey)
        let proof = try DPoPBuilder.proof(key: client, method: "GET", url: url, iat: now, jti: "p-1", accessToken: token)
        return try verifier.verify(
            DPoPRequest(method: "GET", url: url, authorization: "DPoP \(token)", dpop: [proof]), now: now)
    }

    static let usable: [(name: String, alg: JWSAlgorithm)] = [
        ("es256", .es256), ("es384", .es384), ("es512", .es512), ("rs256", .rs256), ("ed25519", .edDSA),
    ]

    @Test("a public key (SPKI) verifies tokens signed with its private half", arguments: usable.map(\.name))
    func publicKeyVerifies(name: String) throws {
        let alg = Self.usable.first { $0.name == name }!.alg
        let keys = try JWKSet(pem: try Self.text("\(name).pub.pem"), kid: "k1", backend: .forTests)
        #expect(keys.keyIDs == ["k1"])
        #expect(keys.skippedKeys.isEmpty)
        #expect(try Self.verify(signedBy: name, alg: alg, with: keys).subject == "alice")
    }

    @Test("a certificate gives its subject public key (nothing of it verified)", arguments: usable.map(\.name))
    func certificateVerifies(name: String) throws {
        let alg = Self.usable.first { $0.name == name }!.alg
        let keys = try JWKSet(pem: try Self.fixture("\(name).cert.pem"), kid: "k1", alg: alg, backend: .forTests)
        #expect(try Self.verify(signedBy: name, alg: alg, with: keys).subject == "alice")
    }

    @Test("DER forms, text around the block, and merging with a JWK Set")
    func derAndMerging() throws {
        let spki = try JWKSet(spkiDER: try Self.fixture("es256.pub.der"), kid: "k1", backend: .forTests)
        #expect(try Self.verify(signedBy: "es256", alg: .es256, with: spki).subject == "alice")
        let cert = try JWKSet(certificateDER: try Self.fixture("rs256.cert.der"), kid: "k1", backend: .forTests)
        #expect(try Self.verify(signedBy: "rs256", alg: .rs256, with: cert).subject == "alice")
        let texted = try JWKSet(pem: try Self.text("rs256.cert-with-text.pem"), kid: "k1", backend: .forTests)
        #expect(try Self.verify(signedBy: "rs256", alg: .rs256, with: texted).subject == "alice")
        // CRLF line ends, as a file edited on Windows has them.
        let crlf = try Self.text("es256.pub.pem").replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try JWKSet(pem: crlf, kid: "k1", backend: .forTests).count == 1)

        let other = try SigningKey.generate(.es256, kid: "j1")
        let jwks = try JWKSet(json: #"{"keys":["# + other.publicJWK(includingAlg: true) + "]}", backend: .forTests)
        let merged = try JWKSet(merging: [jwks, spki])
        #expect(merged.keyIDs == ["j1", "k1"])
        #expect(try Self.verify(signedBy: "es256", alg: .es256, with: merged).subject == "alice")
        #expect(throws: KeyboundError(.invalidConfiguration)) { try JWKSet(merging: [spki, spki]) }
        #expect(throws: KeyboundError(.invalidConfiguration)) { try JWKSet(merging: []) }
    }

    @Test("a pinned alg restricts the key to it")
    func pinnedAlgorithm() throws {
        let keys = try JWKSet(pem: try Self.text("rs256.pub.pem"), kid: "k1", alg: .ps256, backend: .forTests)
        #expect(throws: KeyboundError(.tokenKeyMismatch)) {
            try Self.verify(signedBy: "rs256", alg: .rs256, with: keys)
        }
        #expect(throws: KeyboundError(.unusableKey)) {
            try JWKSet(pem: try Self.text("es256.pub.pem"), kid: "k1", alg: .es384, backend: .forTests)
        }
        #expect(throws: KeyboundError(.invalidConfiguration)) {
            try JWKSet(pem: try Self.text("es256.pub.pem"), kid: "", backend: .forTests)
        }
    }

    static let refused: [(file: String, code: KeyboundError.Code)] = [
        ("es256.key.pem", .privateKeyGiven),
        ("es256.traditional-key.pem", .privateKeyGiven),
        ("es256.encrypted-key.pem", .privateKeyGiven),
        ("chain.pem", .invalidKeyEncoding),
        ("rsa1024.pub.pem", .unusableKey),
        ("rsa-e1.pub.pem", .unusableKey),
        ("rsa-even-n.pub.pem", .unusableKey),
        ("secp256k1.pub.pem", .unusableKey),
        ("x25519.pub.pem", .unusableKey),
        ("ed448.pub.pem", .unusableKey),
        ("rsapss.pub.pem", .unusableKey),
        ("es256-compressed.pub.pem", .unusableKey),
        ("es256-explicit.pub.pem", .unusableKey),
    ]

    @Test("refused fixtures give their exact code", arguments: refused.map(\.file))
    func refusedFixture(file: String) throws {
        let code = Self.refused.first { $0.file == file }!.code
        let pem = try Self.fixture(file)
        #expect(throws: KeyboundError(code)) { try JWKSet(pem: pem, kid: "k1", backend: .forTests) }
    }

    @Test("a private key beside a public key refuses the whole text")
    func privateBesidePublic() throws {
        let both = try Self.text("es256.pub.pem") + (try Self.text("es256.key.pem"))
        #expect(throws: KeyboundError(.privateKeyGiven)) { try JWKSet(pem: both, kid: "k1", backend: .forTests) }
    }

    /// Malformed text and DER: each a specific refusal, never a trap.
    static func malformed() throws -> [(String, String)] {
        let good = try text("es256.pub.pem")
        let lines = good.split(separator: "\n").map(String.init)
        let body = lines.dropFirst().dropLast().joined()
        func block(_ label: String, _ base64: String) -> String {
            "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
        }
        let der = try fixture("es256.pub.der")
        let cert = try fixture("rs256.cert.der")
        return [
            ("garbage", "not a key at all"),
            ("empty", ""),
            ("BEGIN without END", lines.dropLast().joined(separator: "\n")),
            ("END label differs", good.replacingOccurrences(of: "END PUBLIC KEY", with: "END CERTIFICATE")),
            ("END without BEGIN", "-----END PUBLIC KEY-----\n"),
            ("base64 with a bad character", block("PUBLIC KEY", "*" + body.dropFirst())),
            ("base64url alphabet", block("PUBLIC KEY", "-" + body.dropFirst())),
            ("base64 of the wrong length", block("PUBLIC KEY", String(body.dropLast()))),
            ("truncated DER", block("PUBLIC KEY", Data(der.dropLast(8)).base64EncodedString())),
            ("trailing bytes after the SPKI", block("PUBLIC KEY", Data(der + [0, 0]).base64EncodedString())),
            ("empty block", block("PUBLIC KEY", "")),
            ("a label Keybound does not read", block("RSA PUBLIC KEY", body)),
            ("an SPKI under CERTIFICATE", block("CERTIFICATE", body)),
            ("truncated certificate", block("CERTIFICATE", Data(cert.prefix(cert.count / 2)).base64EncodedString())),
            ("indefinite length", block("PUBLIC KEY", Data([0x30, 0x80] + der.dropFirst(2)).base64EncodedString())),
        ]
    }

    @Test("malformed PEM or DER is invalid_key_encoding")
    func malformedText() throws {
        for (name, text) in try Self.malformed() {
            #expect(throws: KeyboundError(.invalidKeyEncoding), "\(name)") {
                try JWKSet(pem: text, kid: "k1", backend: .forTests)
            }
        }
        #expect(throws: KeyboundError(.invalidKeyEncoding)) {
            try JWKSet(pem: [UInt8](repeating: 0x41, count: (1 << 16) + 1), kid: "k1", backend: .forTests)
        }
    }

    @Test("every prefix and every single-byte change of a DER key is refused or accepted, never a trap")
    func derMutations() throws {
        let der = try Self.fixture("es256.pub.der")
        for length in 0..<der.count {
            #expect(throws: KeyboundError.self) {
                try JWKSet(spkiDER: Array(der.prefix(length)), kid: "k1", backend: .forTests)
            }
        }
        let cert = try Self.fixture("rs256.cert.der")
        for length in stride(from: 0, to: cert.count, by: 7) {
            #expect(throws: KeyboundError.self) {
                try JWKSet(certificateDER: Array(cert.prefix(length)), kid: "k1", backend: .forTests)
            }
        }
        var refused = 0
        for index in 0..<der.count {
            var changed = der
            changed[index] ^= 0x41
            do {
                _ = try JWKSet(spkiDER: changed, kid: "k1", backend: .forTests)
            } catch {
                #expect([.invalidKeyEncoding, .unusableKey].contains(error.code), "byte \(index): \(error)")
                refused += 1
            }
        }
        #expect(refused > der.count / 2)
    }

    @Test("Keybound's reading of the DER agrees with the backend's")
    func backendAgrees() throws {
        for name in Self.usable.map(\.name) {
            let pem = try PEM.blocks(try Self.fixture("\(name).pub.pem"))
            let ours = try SubjectPublicKeyInfo.read(pem[0].der)
            let theirs = try CryptoBackend.forTests.provider.decodeSubjectPublicKeyInfo(pem[0].der)
            #expect(theirs == ours, "\(name)")
        }
    }
}
