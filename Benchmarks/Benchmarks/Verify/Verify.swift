//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import Keybound

/// The verify path: warm, new token, new client key, for ES256, PS256, RS256 and Ed25519 proofs (RS256 tokens),
/// and token-endpoint mode. Every proof is unique; pools are as large as maxIterations, so none is reused.
let benchmarks: @Sendable () -> Void = {
    let iterations = 4000
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: iterations)
    let now = Fixtures.now

    for (name, alg) in [("ES256", JWSAlgorithm.es256), ("PS256", .ps256), ("RS256", .rs256), ("Ed25519", .edDSA)] {
        let fixtures = try! Fixtures(proofAlgorithm: alg)
        let warm = try! fixtures.warmRequests(iterations + 1, tag: "warm-\(name)")
        let newToken = try! fixtures.newTokenRequests(min(iterations, 500), tag: "token-\(name)")
        let newClient = try! fixtures.newClientRequests(min(iterations, 500), algorithm: alg, tag: "client-\(name)")

        Benchmark("Verify.\(name).warm") { benchmark in
            let verifier = try fixtures.verifier()
            _ = try verifier.verify(warm[iterations], now: now)  // token and key now cached
            var cursor = Cursor(warm.dropLast().map { $0 })
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try verifier.verify(cursor.next(), now: now)) }
        }
        Benchmark("Verify.\(name).newToken", configuration: .init(maxIterations: newToken.count)) { benchmark in
            let verifier = try fixtures.verifier()
            var cursor = Cursor(newToken)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try verifier.verify(cursor.next(), now: now)) }
        }
        Benchmark("Verify.\(name).newClientKey", configuration: .init(maxIterations: newClient.count)) { benchmark in
            let verifier = try fixtures.verifier()
            var cursor = Cursor(newClient)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try verifier.verify(cursor.next(), now: now)) }
        }
    }

    let fixtures = try! Fixtures()
    let login = try! fixtures.tokenEndpointRequests(iterations, tag: "login")
    Benchmark("Verify.ES256.tokenEndpoint") { benchmark in
        let verifier = try fixtures.verifier()
        var cursor = Cursor(login)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try verifier.verify(cursor.next(), mode: .tokenEndpoint, now: now))
        }
    }
}
