//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
@_spi(Benchmarks) import Keybound
import BenchmarkFixtures
import CBaseline
import KeyboundSigning

/// Raw libcrypto verification of the same kind of signatures with prebuilt keys: the floor (a cached EVP_PKEY,
/// DER signatures made before measuring, a fresh EVP_MD_CTX + EVP_DigestVerifyInit + EVP_DigestVerify per verify).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], maxDuration: .seconds(3))

    for (name, alg, md) in [("ES256", JWSAlgorithm.es256, "SHA256"), ("RS256", .rs256, "SHA256")] {
        let key = try! SigningKey.generate(alg)
        let members = try! RawKeyMembers(jwk: key.publicJWK)
        let pkey = members.makeKey()!
        let digest = kbb_fetch_md(md)
        let signatures = (0..<256).map { index in
            try! RawSignature(
                compact: try JWS.compact(headerJSON: "{\"alg\":\"\(name)\"}", payloadJSON: "{\"i\":\(index)}", key: key),
                ecdsa: alg == .es256)
        }
        Benchmark("Baseline.\(name).verify") { benchmark in
            var index = 0
            for _ in benchmark.scaledIterations {
                blackHole(signatures[index].verify(pkey, digest))
                index = (index + 1) & 255
            }
        }
        if alg == .es256 {
            Benchmark("Baseline.ES256.fromdataAndVerify") { benchmark in
                var index = 0
                for _ in benchmark.scaledIterations {
                    let fresh = members.makeKey()!
                    blackHole(signatures[index].verify(fresh, digest))
                    kbb_key_free(fresh)
                    index = (index + 1) & 255
                }
            }
        }
    }
}

/// A JWK's public members, decoded (EC x/y or RSA n/e).
struct RawKeyMembers {
    let ec: Bool
    let first: [UInt8]
    let second: [UInt8]

    init(jwk: String) throws {
        func member(_ name: String) -> [UInt8] {
            guard let range = jwk.range(of: "\"\(name)\":\""),
                let end = jwk[range.upperBound...].firstIndex(of: "\"")
            else { return [] }
            return BenchmarkStages.base64URLDecoded(String(jwk[range.upperBound..<end])) ?? []
        }
        ec = jwk.contains("\"kty\":\"EC\"")
        first = member(ec ? "x" : "n")
        second = member(ec ? "y" : "e")
    }

    func makeKey() -> UnsafeMutableRawPointer? {
        ec ? kbb_ec_key_new("prime256v1", first, second, first.count)
            : kbb_rsa_key_fromdata(first, first.count, second, second.count)
    }
}

/// A signing input and its signature, DER for ECDSA.
struct RawSignature {
    let tbs: [UInt8]
    let signature: [UInt8]

    init(compact: String, ecdsa: Bool) throws {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        tbs = Array(compact.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let raw = BenchmarkStages.base64URLDecoded(String(parts[2])) ?? []
        if ecdsa {
            var der = [UInt8](repeating: 0, count: raw.count + 16)
            let length = kbb_ecdsa_jws_to_der(raw, raw.count, &der, der.count)
            signature = Array(der.prefix(length))
        } else {
            signature = raw
        }
    }

    func verify(_ key: UnsafeMutableRawPointer, _ md: UnsafeRawPointer?) -> Int32 {
        kbb_digest_verify(key, md, 0, signature, signature.count, tbs, tbs.count)
    }
}
