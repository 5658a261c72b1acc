//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import KeyboundTestSupport
import Keybound

/// The replay cache: insert uncontended and contended (8 tasks), at 10^3 and 10^6 live entries. Keys are random
/// 32-byte digests made before measuring. Bytes per live entry: ReplayCache.bytesPerEntry (48).
///
/// Each sample fills a new cache (capacity: the live entries plus 10^6, so the table is as large as the default
/// one and memory stays flat) with the live entries, then measures 1,000 inserts of new keys. The keys are made in
/// each benchmark's setup hook, so only the process that measures a benchmark makes its keys.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], scalingFactor: .kilo,
        maxDuration: .seconds(2))
    let now: Int64 = 1_760_000_000
    let insertsPerSample = 1_000  // BenchmarkScalingFactor.kilo
    let tasks = 8

    for live in [1_000, 1_000_000] {
        let label = live == 1_000 ? "1e3" : "1e6"
        let keys = Prepared<(prefill: [ReplayKey], fresh: [ReplayKey])>()
        let makeKeys: @Sendable () async throws -> Void = {
            var generator = SplitMix64(seed: UInt64.random(in: 1...UInt64.max))
            keys.set((randomKeys(live, &generator), randomKeys(insertsPerSample, &generator)))
        }
        func filledCache() -> ReplayCache {
            let cache = ReplayCache(capacity: live + 1_000_000)
            for key in keys.value.prefill { _ = cache.insert(key, expiresAt: now + 60, now: now) }
            return cache
        }

        Benchmark("ReplayCache.insert.uncontended.\(label)") { benchmark in
            let cache = filledCache()
            let fresh = keys.value.fresh
            var index = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(cache.insert(fresh[index], expiresAt: now + 60, now: now))
                index = index + 1 == fresh.count ? 0 : index + 1
            }
        } setup: {
            try await makeKeys()
        }
        Benchmark("ReplayCache.insert.contended8.\(label)") { benchmark in
            let cache = filledCache()
            let fresh = keys.value.fresh
            let share = fresh.count / tasks
            let perTask = benchmark.scaledIterations.count / tasks
            benchmark.startMeasurement()
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        for offset in 0..<perTask {
                            blackHole(cache.insert(fresh[task * share + offset % share], expiresAt: now + 60, now: now))
                        }
                    }
                }
            }
        } setup: {
            try await makeKeys()
        }
    }
}

/// `count` keys of 32 bytes from `generator`.
func randomKeys(_ count: Int, _ generator: inout SplitMix64) -> [ReplayKey] {
    (0..<count).map { _ in
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for _ in 0..<4 { withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) } }
        guard let key = ReplayKey(bytes: bytes) else { preconditionFailure("a 32-byte replay key was refused") }
        return key
    }
}
