//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import CKeybound
import KeyboundCABI

/// The warm request through the C exports (kb_verify with a reused kb_result: no allocation by Keybound).
let benchmarks: @Sendable () -> Void = {
    let iterations = 4000
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: iterations)
    let fixtures = try! Fixtures()
    let requests = try! fixtures.warmRequests(iterations + 1, tag: "cabi")

    Benchmark("CABI.ES256.warm") { benchmark in
        var config: OpaquePointer? = nil
        var verifier: OpaquePointer? = nil
        var result: OpaquePointer? = nil
        precondition(kb_config_new(&config) == KB_OK)
        let issuer = Array(Fixtures.issuerName.utf8)
        let jwks = Array(fixtures.keySetJSON.utf8)
        let audience = Array(Fixtures.audience.utf8)
        precondition(kb_config_add_issuer(config, issuer, issuer.count, jwks, jwks.count) == KB_OK)
        precondition(kb_config_add_audience(config, issuer, issuer.count, audience, audience.count) == KB_OK)
        precondition(kb_verifier_new(config, &verifier, nil, 0) == KB_OK)
        precondition(kb_result_new(&result) == KB_OK)
        defer {
            kb_result_free(result)
            kb_verifier_free(verifier)
            kb_config_free(config)
        }
        // Byte arrays for every request, made before measuring.
        let method = Array(Fixtures.method.utf8)
        let url = Array(Fixtures.url.utf8)
        let prepared = requests.map { (Array($0.authorization!.utf8), Array($0.dpop[0].utf8)) }
        func verify(_ index: Int) -> kb_status {
            let (authorization, proof) = prepared[index]
            return proof.withUnsafeBufferPointer { proofBytes in
                var pointers: [UnsafePointer<UInt8>?] = [proofBytes.baseAddress]
                var lengths = [proofBytes.count]
                return kb_verify(verifier, method, method.count, url, url.count, authorization, authorization.count,
                                 &pointers, &lengths, 1, Fixtures.now, result)
            }
        }
        precondition(verify(iterations) == KB_OK)
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(verify(index))
            index += 1
        }
    }
}
