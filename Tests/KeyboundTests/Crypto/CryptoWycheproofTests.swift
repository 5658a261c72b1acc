//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport
import Testing

@testable import Keybound

private typealias T = CryptoTestSupport

/// Wycheproof conformance of the Keys/Signatures layer, read from the vendored `Tests/Vectors/wycheproof/`
/// (see its README for the schemas and for our policy).
///
/// Decisions, asserted here:
/// - `acceptable` vectors (RSA `MissingNull`: a DigestInfo without the NULL parameter) must be rejected.
/// - Every RSA key in the signature files is 2048, 3072 or 4096 bits, inside the 2048...4096 default, so no file
///   widens the range; the `SmallPublicKey` groups (e = 3) are inside our exponent policy (3 ≤ e < 2^32), so their
///   `valid` vectors must verify.
/// - `rsa_pss_misc_test.json` is a negative corpus: each vector runs as PS256/384/512 by its `sha` and must verify
///   only for (SHA-256, MGF1-SHA-256, 32), (SHA-384, MGF1-SHA-384, 48) and (SHA-512, MGF1-SHA-512, 64); SHA-1 and
///   SHA-224 have no JWS algorithm and are rejected outright. Its summary counts these expectations, not the
///   file's own `valid` labels (which hold for the vectors' own parameters).
/// - `ecdh_secp*_webcrypto_test.json`: the `public` JWK is imported with ``PublicKey/ec(curve:x:y:rejectingAs:)``
///   on the JWK's *own* `crv` (a context-free JWK import, as the proof `jwk` is). An unsupported `crv`
///   (`P-256K`) is rejected by name. A `WrongCurve`/`ModifiedGroup` key that is valid on another supported curve
///   imports, and is then rejected by the curve pinning of the file's curve (`supports(ES256)` is false for a
///   P-384 key): this is how a JWS verifier meets it, since the algorithm fixes the curve (RFC 7518 §3.4).
@Suite("Crypto: Wycheproof")
struct CryptoWycheproofTests {
    // MARK: - ECDSA, IEEE P1363 (RFC 7518 §3.4)

    @Test(
        "ECDSA P1363 vectors",
        arguments: [
            ("ecdsa_secp256r1_sha256_p1363_test.json", JWSAlgorithm.es256, ECCurve.p256),
            ("ecdsa_secp384r1_sha384_p1363_test.json", .es384, .p384),
            ("ecdsa_secp521r1_sha512_p1363_test.json", .es512, .p521),
        ]
    )
    func ecdsa(file: String, alg: JWSAlgorithm, curve: ECCurve) throws {
        try eachGroup(of: file) { group, tally in
            let size = curve.coordinateByteCount
            let point = try #require(group.publicKey?.uncompressed.flatMap { T.hexOrNil([$0]) })
            try #require(point.count == 1 + 2 * size && point[0] == 4, "uncompressed point")
            let (x, y) = (Array(point[1...size]), Array(point[(size + 1)...]))
            // Where the group has a JWK (all but the 9 "r = x mod n" edge-case keys), it must be the same point.
            if let jwk = group.publicKeyJwk {
                #expect(jwk.x.flatMap(T.base64URL) == x && jwk.y.flatMap(T.base64URL) == y, "JWK of \(file)")
            }
            let key = try? T.ecKey(curve, x: x, y: y)
            for test in group.tests {
                let accepted = try key.map { try verify(alg, $0, test) } ?? false
                tally.record(test, accepted: accepted)
            }
        }
    }

    // MARK: - RSASSA-PKCS1-v1_5 (RFC 7518 §3.3)

    @Test(
        "RSA PKCS#1 v1.5 vectors",
        arguments: [
            ("rsa_signature_2048_sha256_test.json", JWSAlgorithm.rs256),
            ("rsa_signature_2048_sha384_test.json", .rs384),
            ("rsa_signature_2048_sha512_test.json", .rs512),
            ("rsa_signature_3072_sha256_test.json", .rs256),
            ("rsa_signature_3072_sha384_test.json", .rs384),
            ("rsa_signature_3072_sha512_test.json", .rs512),
            ("rsa_signature_4096_sha256_test.json", .rs256),
            ("rsa_signature_4096_sha384_test.json", .rs384),
            ("rsa_signature_4096_sha512_test.json", .rs512),
        ]
    )
    func rsaPKCS1(file: String, alg: JWSAlgorithm) throws {
        try runRSA(file: file) { _ in alg }
    }

    // MARK: - RSASSA-PSS (RFC 7518 §3.5; SECURITY.md A7)

    @Test(
        "RSA PSS vectors with JWS parameters",
        arguments: [
            ("rsa_pss_2048_sha256_mgf1_32_test.json", JWSAlgorithm.ps256),
            ("rsa_pss_2048_sha384_mgf1_48_test.json", .ps384),
            ("rsa_pss_3072_sha256_mgf1_32_test.json", .ps256),
            ("rsa_pss_4096_sha256_mgf1_32_test.json", .ps256),
            ("rsa_pss_4096_sha384_mgf1_48_test.json", .ps384),
            ("rsa_pss_4096_sha512_mgf1_64_test.json", .ps512),
        ]
    )
    func rsaPSS(file: String, alg: JWSAlgorithm) throws {
        try runRSA(file: file) { group in
            // These files use exactly the JWS parameters: same hash for MGF1, salt as long as the hash.
            #expect(group.mgfSha == group.sha && group.sLen == Self.hashLength(group.sha))
            return alg
        }
    }

    @Test("RSA PSS parameter combinations as a negative corpus")
    func rsaPSSMisc() throws {
        let tally = try eachGroup(of: "rsa_pss_misc_test.json") { group, tally in
            let alg: JWSAlgorithm? =
                switch group.sha {
                case "SHA-256": .ps256
                case "SHA-384": .ps384
                case "SHA-512": .ps512
                default: nil  // SHA-1, SHA-224: no JWS algorithm
                }
            let jwsParameters = alg != nil && group.mgfSha == group.sha && group.sLen == Self.hashLength(group.sha)
            let key = try rsaKey(group)
            for test in group.tests {
                var accepted = false
                if let alg, let key { accepted = try verify(alg, key, test) }
                tally.record(test, accepted: accepted, expected: jwsParameters ? "valid" : "invalid")
            }
        }
        #expect(tally.valid == 3, "exactly the three JWS combinations are expected to verify")
    }

    private func runRSA(file: String, alg: (Group) -> JWSAlgorithm) throws {
        try eachGroup(of: file) { group, tally in
            let algorithm = alg(group)
            let key = try rsaKey(group)
            #expect(key != nil, "\(file): key of \(group.keySize ?? 0) bits imports with the default range")
            for test in group.tests {
                let accepted = try key.map { try verify(algorithm, $0, test) } ?? false
                tally.record(test, accepted: accepted)
            }
        }
    }

    /// The group's key with the default 2048...4096 policy, from `publicKey` (leading sign octets stripped, as a
    /// Base64urlUInt would be); cross-checked against the group's JWK when there is one.
    private func rsaKey(_ group: Group) throws -> PublicKey? {
        let n = T.minimal(try #require(group.publicKey?.modulus.flatMap { T.hexOrNil([$0]) }))
        let e = T.minimal(try #require(group.publicKey?.publicExponent.flatMap { T.hexOrNil([$0]) }))
        if let jwk = group.keyJwk ?? group.publicKeyJwk {
            #expect(jwk.n.flatMap(T.base64URL) == n && jwk.e.flatMap(T.base64URL) == e, "RSA JWK matches")
        }
        return try? T.rsaKey(n: n, e: e)
    }

    private static func hashLength(_ sha: String?) -> Int? {
        switch sha {
        case "SHA-1": 20
        case "SHA-224": 28
        case "SHA-256": 32
        case "SHA-384": 48
        case "SHA-512": 64
        default: nil
        }
    }

    // MARK: - Ed25519 (RFC 8037 §3.1)

    @Test("Ed25519 vectors, as EdDSA and as Ed25519")
    func ed25519() throws {
        try eachGroup(of: "ed25519_test.json") { group, tally in
            let pk = try #require(group.publicKey?.pk.flatMap { T.hexOrNil([$0]) })
            if let jwk = group.publicKeyJwk {
                #expect(jwk.x.flatMap(T.base64URL) == pk, "Ed25519 JWK matches")
            }
            let key = try? T.ed25519Key(x: pk)
            for test in group.tests {
                var accepted = false
                if let key {
                    accepted = try verify(.ed25519, key, test)
                    // The polymorphic name must agree with the fully-specified one (RFC 9864).
                    #expect(try verify(.edDSA, key, test) == accepted, "tcId \(test.tcId) EdDSA vs Ed25519")
                }
                tally.record(test, accepted: accepted)
            }
        }
    }

    // MARK: - EC JWK import (RFC 7518 §6.2.1; SECURITY.md D3)

    @Test(
        "EC JWK import from the ECDH WebCrypto vectors",
        arguments: [
            // (file, curve, keys valid on another supported curve: refused by the pinning, not at import)
            ("ecdh_secp256r1_webcrypto_test.json", ECCurve.p256, 2),  // WrongCurve P-384, P-521
            ("ecdh_secp384r1_webcrypto_test.json", .p384, 3),  // ModifiedGroup P-256, WrongCurve P-256, P-521
            ("ecdh_secp521r1_webcrypto_test.json", .p521, 3),  // ModifiedGroup P-256, WrongCurve P-256, P-384
        ]
    )
    func ecJWKImport(file: String, curve: ECCurve, otherCurveKeys: Int) throws {
        var rejectedAtImport = 0
        var rejectedByPinning = 0
        try eachGroup(of: file) { group, tally in
            for test in group.tests {
                let jwk = try #require(test.public)
                #expect(jwk.kty == "EC")
                var accepted = false
                if let crv = jwk.crv, let jwkCurve = ByteView.with(utf8: crv, { ECCurve.named($0) }),
                    let x = jwk.x.flatMap(T.base64URL), let y = jwk.y.flatMap(T.base64URL)
                {
                    do throws(KeyboundError) {
                        let key = try T.ecKey(jwkCurve, x: x, y: y)
                        accepted = key.supports(curve.algorithm)
                        if !accepted { rejectedByPinning += 1 }
                    } catch {
                        #expect(error == KeyboundError(.proofJWK))
                        rejectedAtImport += 1
                    }
                } else {
                    rejectedAtImport += 1
                }
                tally.record(test, accepted: accepted)
            }
        }
        // Of the 23 invalid keys, those on another supported curve are refused by the pinning; the rest (off the
        // curve, (0,0), coordinates from {0, 1, p - 1, p}, crv P-256K) fail the import itself.
        #expect(rejectedByPinning == otherCurveKeys, "refused by the curve pinning")
        #expect(rejectedAtImport == 23 - otherCurveKeys, "refused at import")
    }

    // MARK: - Helpers

    /// Loads `file`, hands each test group to `body` with the file's tally, then asserts that every vector of the
    /// file was recorded once and passed (``Tally/finish(expectedCount:sourceLocation:)``). Returns the tally.
    @discardableResult
    private func eachGroup(
        of file: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (Group, inout Tally) throws -> Void
    ) throws -> Tally {
        let vectors = try JSONDecoder().decode(VectorFile.self, from: TestVectors.wycheproof(file))
        var tally = Tally(file: file)
        for group in vectors.testGroups { try body(group, &tally) }
        tally.finish(expectedCount: vectors.numberOfTests, sourceLocation: sourceLocation)
        return tally
    }

    private func verify(_ alg: JWSAlgorithm, _ key: PublicKey, _ test: Vector) throws -> Bool {
        let message = try #require(test.msg.flatMap { T.hexOrNil([$0]) }, "tcId \(test.tcId) msg")
        let signature = try #require(test.sig.flatMap { T.hexOrNil([$0]) }, "tcId \(test.tcId) sig")
        return try T.verify(alg, key, message: message, signature: signature)
    }
}


// MARK: - Counting

/// Per-file counts; every vector is recorded exactly once, so a silent skip shows up as a count mismatch.
private struct Tally {
    let file: String
    var run = 0
    var passed = 0
    var valid = 0
    var invalid = 0
    var acceptable = 0
    var skipped = 0

    /// Records one vector: `expected` (the file's `result` unless overridden by policy) `valid` must be accepted;
    /// `invalid` and `acceptable` must be rejected.
    mutating func record(
        _ test: Vector,
        accepted: Bool,
        expected: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = expected ?? test.result
        run += 1
        switch result {
        case "valid": valid += 1
        case "invalid": invalid += 1
        case "acceptable": acceptable += 1
        default: Issue.record("\(file) tcId \(test.tcId): unknown result \(result)", sourceLocation: sourceLocation)
        }
        let ok = accepted == (result == "valid")
        if ok {
            passed += 1
        } else {
            let outcome = accepted ? "accepted" : "rejected"
            let flags = test.flags.joined(separator: ",")
            Issue.record(
                "\(file) tcId \(test.tcId) (\(test.comment); \(flags)): expected \(result), \(outcome)",
                sourceLocation: sourceLocation
            )
        }
    }

    /// Prints the summary line and asserts that every vector of the file ran and passed.
    func finish(expectedCount: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        print(
            "wycheproof [\(CryptoBackend.forTests.name)] \(file): run \(run), passed \(passed), "
                + "valid \(valid)/invalid \(invalid)/acceptable \(acceptable), skipped \(skipped) (none)"
        )
        #expect(run + skipped == expectedCount, "\(file): numberOfTests", sourceLocation: sourceLocation)
        #expect(skipped == 0, "\(file): no vector is skipped", sourceLocation: sourceLocation)
        #expect(passed == run, "\(file): every vector passed", sourceLocation: sourceLocation)
    }
}

// MARK: - Schema (the subset these tests read)

private struct VectorFile: Decodable {
    let numberOfTests: Int
    let testGroups: [Group]
}

private struct Group: Decodable {
    let publicKey: StringMembers?
    let publicKeyJwk: StringMembers?
    let keyJwk: StringMembers?
    let keySize: Int?
    let sha: String?
    let mgfSha: String?
    let sLen: Int?
    let curve: String?
    let tests: [Vector]
}

/// The string-valued members of a JSON object, by name (`jwk.x`): a JWK, or a group's `publicKey` (whose
/// `uncompressed`, `modulus`, `publicExponent` or `pk` these tests read). Members of other types are left out.
@dynamicMemberLookup
private struct StringMembers: Decodable {
    private struct Name: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private let values: [String: String]

    init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: Name.self)
        var values: [String: String] = [:]
        for name in object.allKeys {
            if let value = try? object.decode(String.self, forKey: name) { values[name.stringValue] = value }
        }
        self.values = values
    }

    subscript(dynamicMember name: String) -> String? { values[name] }
}

private struct Vector: Decodable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let result: String
    let msg: String?
    let sig: String?
    let `public`: StringMembers?
}
