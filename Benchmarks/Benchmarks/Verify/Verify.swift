//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import Keybound
import KeyboundSwiftCrypto

/// The verify path: warm, new token, new client key, for ES256, PS256, RS256 and Ed25519 proofs (RS256 tokens),
/// and token-endpoint mode, on the OpenSSL backend (`Verify.<alg>.<scenario>`); warm, new token and new client key
/// for ES256 proofs on the swift-crypto backend too (`Verify.swift-crypto.ES256.<scenario>`).
///
/// Each benchmark builds its own inputs in its setup hook (so only the process that measures it pays for them) and
/// keeps one verifier across its samples; every sample verifies the next request of a pool of unique requests, and
/// pools are longer than the run, so no proof is seen twice. Both backends get pools of the same size, made the same
/// way.
let benchmarks: @Sendable () -> Void = {
    let iterations = 4000
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: iterations)
    let now = Fixtures.now
    /// Requests consumed besides the measured samples: the warm-up sample and the priming request of `warm`.
    let spare = 2

    func verifyBenchmark(
        _ name: String, pool: Int, prime: Bool = false, _ make: @escaping @Sendable () throws -> RequestStream
    ) {
        let stream = Prepared<RequestStream>()
        Benchmark(name, configuration: .init(maxIterations: pool - spare)) { benchmark in
            let prepared = stream.value
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try prepared.verifier.verify(prepared.next(), now: now)) }
        } setup: {
            let made = try make()
            // warm: the token and the client key are verified and cached before the first sample.
            if prime { _ = try made.verifier.verify(made.next(), now: now) }
            stream.set(made)
        }
    }

    let backends: [(prefix: String, backend: CryptoBackend)] = [
        ("Verify", .openSSL), ("Verify.swift-crypto", .swiftCrypto),
    ]
    for (name, alg) in [("ES256", JWSAlgorithm.es256), ("PS256", .ps256), ("RS256", .rs256), ("Ed25519", .edDSA)] {
        // A new RSA client key per request means an RSA key generation per pooled request: keep those pools short.
        let newClientPool = alg == .ps256 || alg == .rs256 ? 200 : 500
        for (prefix, backend) in backends where backend == .openSSL || alg == .es256 {
            verifyBenchmark("\(prefix).\(name).warm", pool: iterations + spare, prime: true) {
                let fixtures = try Fixtures(proofAlgorithm: alg)
                return RequestStream(
                    verifier: try fixtures.verifier(backend: backend),
                    requests: try fixtures.warmRequests(iterations + spare, tag: "warm-\(name)"))
            }
            verifyBenchmark("\(prefix).\(name).newToken", pool: 500) {
                let fixtures = try Fixtures(proofAlgorithm: alg)
                return RequestStream(
                    verifier: try fixtures.verifier(backend: backend),
                    requests: try fixtures.newTokenRequests(500, tag: "token-\(name)"))
            }
            verifyBenchmark("\(prefix).\(name).newClientKey", pool: newClientPool) {
                let fixtures = try Fixtures(proofAlgorithm: alg)
                return RequestStream(
                    verifier: try fixtures.verifier(backend: backend),
                    requests: try fixtures.newClientRequests(newClientPool, algorithm: alg, tag: "client-\(name)"))
            }
        }
    }

    let login = Prepared<RequestStream>()
    Benchmark("Verify.ES256.tokenEndpoint", configuration: .init(maxIterations: iterations)) { benchmark in
        let prepared = login.value
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try prepared.verifier.verify(prepared.next(), mode: .tokenEndpoint, now: now))
        }
    } setup: {
        let fixtures = try Fixtures()
        login.set(
            RequestStream(
                verifier: try fixtures.verifier(),
                requests: try fixtures.tokenEndpointRequests(iterations + spare, tag: "login")))
    }
}
