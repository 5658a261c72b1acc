//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import Keybound

/// The replay cache: insert uncontended and contended (8 tasks), at 10^3 and 10^6 live entries. Keys are random
/// 32-byte digests made before measuring. Bytes per live entry: ReplayCache.bytesPerEntry (48).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], scalingFactor: .kilo,
        maxDuration: .seconds(2))
    let now: Int64 = 1_760_000_000

    func keys(_ count: Int) -> [ReplayKey] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in
            ReplayKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })!
        }
    }

    for live in [1_000, 1_000_000] {
        let label = live == 1_000 ? "1e3" : "1e6"
        let prefill = keys(live)
        let fresh = keys(1_000_000)
        Benchmark("ReplayCache.insert.uncontended.\(label)") { benchmark in
            // Capacity leaves room for every insert of the run: memory stays flat (allocated once, at init).
            let cache = ReplayCache(capacity: live + fresh.count)
            for key in prefill { _ = cache.insert(key, expiresAt: now + 60, now: now) }
            var index = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(cache.insert(fresh[index], expiresAt: now + 60, now: now))
                index = index + 1 == fresh.count ? 0 : index + 1
            }
        }
        Benchmark("ReplayCache.insert.contended8.\(label)") { benchmark in
            let cache = ReplayCache(capacity: live + fresh.count)
            for key in prefill { _ = cache.insert(key, expiresAt: now + 60, now: now) }
            let share = fresh.count / 8
            let perTask = benchmark.scaledIterations.count / 8
            benchmark.startMeasurement()
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for offset in 0..<perTask {
                            blackHole(cache.insert(fresh[task * share + offset % share], expiresAt: now + 60, now: now))
                        }
                    }
                }
            }
        }
    }
}
