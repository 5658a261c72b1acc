//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport

/// Keys and signatures made by an independent implementation (Python `cryptography`), over ``message``: the values
/// of Tests/KeyboundTests/Fixtures/crypto-fixtures.json, which scripts/fixtures/crypto_fixtures.py writes.
struct CryptoFixtures: Decodable {
    let message, p256X, p256Y, es256Signature, p384X, p384Y, es384Signature, p384WithSHA256Signature: [UInt8]
    let p521X, p521Y, es512Signature, ed25519X, ed25519Signature: [UInt8]
    let rsaN, rsaE, rs256Signature, rs512Signature, ps256Signature, ps384Signature: [UInt8]
    /// PS256 signatures with parameters other than the JWS ones (salt 0, 20 and 64 bytes; MGF1 with SHA-1, SHA-512).
    let ps256Salt0Signature, ps256Salt20Signature, ps256Salt64Signature: [UInt8]
    let ps256MGF1SHA1Signature, ps256MGF1SHA512Signature: [UInt8]

    private struct File: Decodable {
        let values: CryptoFixtures
    }

    /// The fixtures, read once. A missing or malformed file stops the test run with its path: every Crypto suite
    /// needs it, and it is part of the checkout.
    static let values: CryptoFixtures = {
        let url = TestVectors.repositoryRoot.appendingPathComponent("Tests/KeyboundTests/Fixtures/crypto-fixtures.json")
        do {
            return try JSONDecoder().decode(File.self, from: TestVectors.read(url)).values
        } catch {
            preconditionFailure("cannot read \(url.path): \(error)")
        }
    }()
}
