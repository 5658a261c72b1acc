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

    Benchmark("Keys.jwkToKey.P256") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try BenchmarkStages.publicKeyFromJWK(p256)) }
    }
    Benchmark("Keys.jwkToKey.RSA2048") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try BenchmarkStages.publicKeyFromJWK(rsa)) }
    }
    Benchmark("Keys.jwkToKey.Ed25519") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try BenchmarkStages.publicKeyFromJWK(ed)) }
    }
    Benchmark("Keys.thumbprint.P256") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try BenchmarkStages.thumbprint(p256)) }
    }
}
