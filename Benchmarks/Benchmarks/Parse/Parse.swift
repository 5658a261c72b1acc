//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import KeyboundTestSupport
@_spi(Benchmarks) import Keybound

/// Base64url, the strict JSON reader and compact JWS decoding, for a typical proof and for maximum sizes, and the
/// JSON reader on member names chosen to collide (bounded work).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], maxDuration: .seconds(2))

    let fixtures = try! Fixtures()
    let proof = Array(try! fixtures.warmRequests(1, tag: "parse")[0].dpop[0].utf8)
    let segments = proof.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
    let header = BenchmarkStages.base64URLDecoded(String(decoding: segments[0], as: UTF8.self)) ?? []
    // 8 KiB: the default maxProofBytes; a payload of that size with many members.
    let bigPayload = Array(("{" + (0..<300).map { "\"claim\($0)\":\"value-\($0)\"" }.joined(separator: ",") + "}").utf8)
    let bigBase64 = Array(BenchmarkStages.base64URLEncoded(Array(repeating: 0xA5, count: 6144)).utf8)

    stageBenchmarks([("Parse.base64url.proofHeader", segments[0]), ("Parse.base64url.8KiB", bigBase64)]) {
        try BenchmarkStages.base64URLDecode($0)
    }
    stageBenchmarks([("Parse.json.proofHeader", header), ("Parse.json.8KiB", bigPayload)]) {
        try BenchmarkStages.parseJSONObject($0)
    }
    stageBenchmarks([("Parse.compactJWS.proof", proof)]) { try BenchmarkStages.decodeCompactJWS($0) }

    // Bounded work (docs/design.md "Contracts → Bounded work"): 512 members (the most an object may have) whose
    // names collide under an unkeyed hash, against random names of the same lengths, escapes and byte size. The
    // two should cost the same; the third benchmark reports colliding ÷ random × 100 (at most 200 is the contract).
    // The objects are built in each benchmark's setup hook, so only the process that measures it pays for them.
    let hostile = Prepared<(colliding: [UInt8], random: [UInt8])>()
    for colliding in [false, true] {
        Benchmark("Parse.json.512members.\(colliding ? "collidingNames" : "randomNames")") { benchmark in
            let object = colliding ? hostile.value.colliding : hostile.value.random
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try BenchmarkStages.parseJSONObject(object)) }
        } setup: {
            hostile.set(HostileJSON.objects())
        }
    }
    let ratio = BenchmarkMetric.custom("colliding ÷ random × 100", polarity: .prefersSmaller, useScalingFactor: false)
    Benchmark(
        "Parse.json.512members.collidingOverRandom",
        configuration: .init(metrics: [ratio], maxDuration: .seconds(2), maxIterations: 50)
    ) { benchmark in
        let (colliding, random) = hostile.value
        let clock = ContinuousClock()
        for _ in benchmark.scaledIterations {
            var randomTime = Duration.zero, collidingTime = Duration.zero
            for _ in 0..<8 {
                randomTime += clock.measure { blackHole(try? BenchmarkStages.parseJSONObject(random)) }
                collidingTime += clock.measure { blackHole(try? BenchmarkStages.parseJSONObject(colliding)) }
            }
            benchmark.measurement(ratio, Int((collidingTime / randomTime * 100).rounded()))
        }
    } setup: {
        hostile.set(HostileJSON.objects())
    }
}
