//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport
import Testing

@testable import Keybound

/// The end-to-end Wycheproof files: compact JWS verified against a JWK or a JWK Set through the same code the
/// access-token check uses (header `alg` allow-list, `crit`, key by `kid`, alg/key agreement, signature).
///
/// Policy (see Tests/Vectors/wycheproof/README.md and SECURITY.md):
/// - Keybound has no HMAC and no `none`: every JWS whose header `alg` is `HS*` or `none`, and every group whose only
///   key is symmetric, must be refused, including those marked `valid` (and the mislabelled tcIds 367/370/372/373,
///   which are HS256 and refused either way).
/// - A JWK's own `alg` must equal the header's: the `rfc7520` groups that give a PS256 key to a PS384 JWS, or call an
///   ES512 key `ES521`, are refused although marked `valid`.
/// - A group given only as a private key (a key pair) is verified with its public part: the private members are
///   removed, as the publishing side would. A symmetric (`oct`) key has no public part.
/// - JWE groups (field `jwe`) are not JWS: they are skipped, counted and named.
@Suite("Wycheproof JOSE (JWS, JWK, JWK Set)")
struct WycheproofJOSETests {
    @Test("json_web_signature_test.json") func signatures() throws { try run("json_web_signature_test.json") }
    @Test("json_web_key_test.json") func keys() throws { try run("json_web_key_test.json") }
    @Test("json_web_crypto_test.json") func crypto() throws { try run("json_web_crypto_test.json") }

    func run(_ file: String) throws {
        let data = try TestVectors.wycheproof(file)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let groups = try #require(root["testGroups"] as? [[String: Any]])
        var run = 0, passed = 0, valid = 0, invalid = 0, acceptable = 0, skipped = 0
        var skipReasons = Set<String>()
        for group in groups {
            let comment = group["comment"] as? String ?? ""
            for test in try #require(group["tests"] as? [[String: Any]]) {
                let tcId = test["tcId"] as? Int ?? -1
                let result = test["result"] as? String ?? ""
                switch result {
                case "valid": valid += 1
                case "invalid": invalid += 1
                default: acceptable += 1
                }
                guard let jws = test["jws"] else {
                    skipped += 1
                    skipReasons.insert("group \(comment): JWE, not JWS")
                    continue
                }
                run += 1
                let (accepted, why) = Self.verify(jws: jws, group: group)
                let expected = result == "valid" && !Self.refusedByPolicy(jws: jws, group: group)
                #expect(accepted == expected, "\(file) tcId \(tcId) (\(comment)): accepted \(accepted) (\(why)), expected \(expected)")
                if accepted == expected { passed += 1 }
            }
        }
        let total = root["numberOfTests"] as? Int ?? -1
        #expect(run + skipped == total, "every vector is run or skipped with a reason")
        print("wycheproof [\(CryptoBackend.forTests.name)] \(file): run \(run), passed \(passed), valid \(valid)/invalid \(invalid)/acceptable \(acceptable), skipped \(skipped)\(skipReasons.isEmpty ? "" : " (" + skipReasons.sorted().joined(separator: "; ") + ")")")
    }

    /// Whether Keybound's stricter policy refuses a vector the file marks `valid`.
    static func refusedByPolicy(jws: Any, group: [String: Any]) -> Bool {
        guard let text = jws as? String, let header = decodedHeader(text) else { return true }
        let alg = header["alg"] as? String ?? ""
        if alg.hasPrefix("HS") || alg.lowercased() == "none" { return true }
        if let key = group["public"] as? [String: Any] ?? group["private"] as? [String: Any] {
            let keys = key["keys"] as? [[String: Any]] ?? [key]
            if keys.contains(where: { ($0["kty"] as? String) == "oct" }) && keys.count == 1 { return true }
            if keys.count == 1, let declared = keys[0]["alg"] as? String, declared != alg { return true }
        }
        return false
    }

    static func decodedHeader(_ jws: String) -> [String: Any]? {
        guard let first = jws.split(separator: ".", omittingEmptySubsequences: false).first,
            let bytes = Base64URL.decode(String(first))
        else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// The key material of a group as a JWK Set document, public parts only.
    static func jwks(_ group: [String: Any]) -> String? {
        guard let key = group["public"] as? [String: Any] ?? group["private"] as? [String: Any] else { return nil }
        let privateMembers: Set<String> = ["d", "p", "q", "dp", "dq", "qi", "oth"]
        let keys = (key["keys"] as? [[String: Any]] ?? [key]).map { $0.filter { !privateMembers.contains($0.key) } }
        guard let data = try? JSONSerialization.data(withJSONObject: ["keys": keys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Verifies like the access-token path: allow-list, crit, key lookup by kid, alg/key agreement, signature.
    static func verify(jws: Any, group: [String: Any]) -> (Bool, String) {
        guard let text = jws as? String, let document = jwks(group) else { return (false, "not a JWS string") }
        do throws(KeyboundError) {
            let keys = try JWKSet(json: document, backend: .forTests)
            return try ByteView.with(utf8: text) { (bytes) throws(KeyboundError) -> (Bool, String) in
                let split = try CompactJWS.split(bytes, maxBytes: 1 << 16, failingWith: .tokenMalformed)
                return try split.withDecodedHeader(maxDepth: 16, failingWith: .tokenMalformed) {
                    (header, signature) throws(KeyboundError) -> (Bool, String) in
                    guard let algValue = header.member("alg"), algValue.kind == .string,
                        let alg = algValue.withUnescapedString({ JWSAlgorithm.named($0) })
                    else { return (false, "alg not supported") }
                    guard header.member("crit") == nil else { return (false, "crit") }
                    try Verifier.checkSignature(split, alg: alg, kid: header.member("kid"), signature: signature,
                                                keys: keys)
                    return (true, "verified")
                }
            }
        } catch {
            return (false, error.description)
        }
    }
}

