//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
@_spi(Benchmarks) import Keybound
import KeyboundSigning

/// JWK → key uncached (EVP_PKEY_fromdata) and the thumbprint; "cached" is the warm verify's cache hit, measured in
/// the Verify suite.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], maxDuration: .seconds(2))

    let p256 = Array(try! SigningKey.generate(.es256).publicJWK.utf8)
    let rsa = Array(try! SigningKey.generate(.rs256).publicJWK.utf8)
    let ed = Array(try! SigningKey.generate(.edDSA).publicJWK.utf8)

    stageBenchmarks([("Keys.jwkToKey.P256", p256), ("Keys.jwkToKey.RSA2048", rsa), ("Keys.jwkToKey.Ed25519", ed)]) {
        try BenchmarkStages.publicKeyFromJWK($0)
    }
    stageBenchmarks([("Keys.thumbprint.P256", p256)]) { try BenchmarkStages.thumbprint($0) }
}
