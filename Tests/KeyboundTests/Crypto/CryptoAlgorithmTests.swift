//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

@Suite("Crypto: JWSAlgorithm and ECCurve")
struct CryptoAlgorithmTests {
    @Test("the eleven algorithms, their spellings and order")
    func allSupported() {
        let names = JWSAlgorithm.allSupported.map(\.rawValue)
        #expect(
            names == [
                "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", "Ed25519",
            ]
        )
        for alg in JWSAlgorithm.allSupported {
            #expect(JWSAlgorithm(rawValue: alg.rawValue) == alg)
            #expect(alg.description == alg.rawValue)
            #expect(ByteView.with(utf8: alg.rawValue) { JWSAlgorithm.named($0) } == alg)
        }
        #expect(Set(JWSAlgorithm.allSupported).count == 11)
        #expect(JWSAlgorithm.edDSA.rawValue == "EdDSA")
        #expect(JWSAlgorithm.ed25519.rawValue == "Ed25519")
    }

    @Test(
        "unsupported or misspelled names are refused (RFC 8725 §3.1; SECURITY.md A1, A2, A3)",
        arguments: [
            "none", "None", "NONE", "", "HS256", "HS384", "HS512", "es256", "ES256 ", " ES256", "ES256\u{0}",
            "ES224", "ES256K", "EDDSA", "eddsa", "Ed448", "ED25519", "ed25519", "RS1", "PS256X", "RSA1_5", "EdDSA2",
        ]
    )
    func refused(name: String) {
        #expect(JWSAlgorithm(rawValue: name) == nil)
        #expect(ByteView.with(utf8: name) { JWSAlgorithm.named($0) } == nil)
    }

    @Test("curve names are exact (RFC 7518 §6.2.1.1; SECURITY.md D3)")
    func curveNames() {
        #expect(ByteView.with(utf8: "P-256") { ECCurve.named($0) } == .p256)
        #expect(ByteView.with(utf8: "P-384") { ECCurve.named($0) } == .p384)
        #expect(ByteView.with(utf8: "P-521") { ECCurve.named($0) } == .p521)
        for name in ["p-256", "P-256K", "secp256k1", "P-224", "P256", "P-256 ", "", "Ed25519", "X25519", "P-512"] {
            #expect(ByteView.with(utf8: name) { ECCurve.named($0) } == nil, "\(name)")
        }
        #expect(ECCurve.p256.coordinateByteCount == 32)
        #expect(ECCurve.p384.coordinateByteCount == 48)
        #expect(ECCurve.p521.coordinateByteCount == 66)
        for curve in [ECCurve.p256, .p384, .p521] {
            #expect(curve.fieldPrime.count == curve.coordinateByteCount)
            #expect(curve.order.count == curve.coordinateByteCount)
        }
    }

    @Test("each algorithm's scheme pins its curve and hash (RFC 7518 §3.1)")
    func schemes() {
        #expect(JWSAlgorithm.es256.scheme == .ecdsa(.p256, .sha256))
        #expect(JWSAlgorithm.es384.scheme == .ecdsa(.p384, .sha384))
        #expect(JWSAlgorithm.es512.scheme == .ecdsa(.p521, .sha512))
        #expect(JWSAlgorithm.rs256.scheme == .rsaPKCS1v15(.sha256))
        #expect(JWSAlgorithm.rs384.scheme == .rsaPKCS1v15(.sha384))
        #expect(JWSAlgorithm.rs512.scheme == .rsaPKCS1v15(.sha512))
        #expect(JWSAlgorithm.ps256.scheme == .rsaPSS(.sha256))
        #expect(JWSAlgorithm.ps384.scheme == .rsaPSS(.sha384))
        #expect(JWSAlgorithm.ps512.scheme == .rsaPSS(.sha512))
        #expect(JWSAlgorithm.edDSA.scheme == .ed25519)
        #expect(JWSAlgorithm.ed25519.scheme == .ed25519)
    }
}
