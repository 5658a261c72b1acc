//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import Keybound

/// One JWS of Fixtures/jws-cross-impl.json: signed by Python's `cryptography` (scripts/fixtures/generate.py).
struct CrossImplementationCase: Sendable, CustomStringConvertible {
    let alg: String
    let publicJWK: String
    let jws: String
    let thumbprint: String
    var description: String { "\(alg) (\(publicJWK.count)-byte JWK)" }

    static let all: [CrossImplementationCase] = {
        guard let data = try? Data(contentsOf: fixturesDirectory.appendingPathComponent("jws-cross-impl.json")),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let cases = root["cases"] as? [[String: Any]]
        else { return [] }
        return cases.compactMap { c in
            guard let jwk = c["publicJWK"], let jwkData = try? JSONSerialization.data(withJSONObject: jwk) else { return nil }
            return CrossImplementationCase(alg: c["alg"] as? String ?? "", publicJWK: String(decoding: jwkData, as: UTF8.self),
                                           jws: c["jws"] as? String ?? "", thumbprint: c["thumbprint"] as? String ?? "")
        }
    }()

    static let thumbprintVariants: [(name: String, text: String, thumbprint: String)] = {
        guard let data = try? Data(contentsOf: fixturesDirectory.appendingPathComponent("jws-cross-impl.json")),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let variants = root["thumbprintVariants"] as? [[String: Any]]
        else { return [] }
        return variants.map { ($0["name"] as? String ?? "", $0["jwkText"] as? String ?? "", $0["thumbprint"] as? String ?? "") }
    }()
}

/// Verifies a compact JWS under one public JWK through the access-token signature path.
func verifyCrossImplementation(jws: String, jwk: String, alg: String) throws(KeyboundError) -> Bool {
    let keys = try JWKSet(json: #"{"keys":["# + jwk + "]}", backend: .forTests)
    return try ByteView.with(utf8: jws) { (bytes) throws(KeyboundError) -> Bool in
        let split = try CompactJWS.split(bytes, maxBytes: 1 << 16, failingWith: .tokenMalformed)
        return try split.withDecoded(maxDepth: 16, failingWith: .tokenMalformed) {
            (header, _, signature) throws(KeyboundError) -> Bool in
            // The header must name the algorithm the fixture says it was signed with.
            guard let algorithm = JWSAlgorithm(rawValue: alg), let headerAlg = header.member("alg"),
                headerAlg.kind == .string, headerAlg.withUnescapedString({ JWSAlgorithm.named($0) }) == algorithm
            else { return false }
            try Verifier.checkSignature(split, alg: algorithm, kid: nil, signature: signature, keys: keys)
            return true
        }
    }
}

@Suite("Cross-implementation (Python cryptography)")
struct CrossImplementationTests {
    @Test("the fixture covers every algorithm Keybound accepts")
    func coverage() {
        let algs = Set(CrossImplementationCase.all.map(\.alg))
        #expect(algs == Set(JWSAlgorithm.allSupported.map(\.rawValue)))
    }

    @Test("each JWS verifies, its thumbprint matches, and every one-bit change is refused",
          arguments: CrossImplementationCase.all)
    func verifies(_ c: CrossImplementationCase) throws {
        #expect(try verifyCrossImplementation(jws: c.jws, jwk: c.publicJWK, alg: c.alg))
        #expect(try Thumbprint.jkt(ofJWK: c.publicJWK, backend: .forTests) == c.thumbprint)
        // Flip one bit in each of a spread of positions across header, payload and signature.
        let bytes = Array(c.jws.utf8)
        var refused = 0
        var tried = 0
        for position in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 40)) where bytes[position] != UInt8(ascii: ".") {
            var changed = bytes
            changed[position] ^= 0x01
            tried += 1
            let accepted = (try? verifyCrossImplementation(jws: String(decoding: changed, as: UTF8.self), jwk: c.publicJWK, alg: c.alg)) ?? false
            if !accepted { refused += 1 }
        }
        #expect(tried >= 20)
        #expect(refused == tried)
    }

    @Test("differently written JWKs of one key give one thumbprint (member order, whitespace, extra members)")
    func thumbprintVariants() throws {
        let variants = CrossImplementationCase.thumbprintVariants
        #expect(variants.count >= 10)
        for variant in variants {
            #expect(try Thumbprint.jkt(ofJWK: variant.text, backend: .forTests) == variant.thumbprint, "\(variant.name)")
        }
    }
}
