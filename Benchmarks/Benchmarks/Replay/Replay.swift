//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Benchmark
import BenchmarkFixtures
import KeyboundTestSupport
import Keybound
import KeyboundSigning

/// The replay cache: insert uncontended and contended (8 tasks), at 10^3 and 10^6 live entries; the owner-carrying
/// insert with the per-key share on (capacity / 8, as the verifier's default) and off. Keys are random 32-byte
/// digests made before measuring. Bytes per live entry: ReplayCache.bytesPerEntry (48), plus under 16 of owner counts
/// with the share on. Last, the resident memory of a verifier before and after a flood of refused requests, each
/// with a new proof key (the proof-key cache admits none of them: docs/design.md "Proof-key cache admission").
///
/// Each sample fills a new cache (capacity: the live entries plus 10^6, so the table is as large as the default
/// one and memory stays flat) with the live entries, then measures 1,000 inserts of new keys: inserts into a table
/// just allocated and filled, whose lines are mostly not in the CPU caches yet (`steadyInserts` measures the steady
/// state `keybound bench` reports). The keys are made in
/// each benchmark's setup hook, so only the process that measures a benchmark makes its keys.
let benchmarks: @Sendable () -> Void = {
    proofKeyFlood()
    steadyInserts()
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
        // The verifier's insert: each key carries its owner, one of 1,024 proof keys.
        for shareOn in [true, false] {
            Benchmark("ReplayCache.insertOwned.share\(shareOn ? "On" : "Off").\(label)") { benchmark in
                let capacity = live + 1_000_000
                let cache = ReplayCache(capacity: capacity, keyShare: shareOn ? capacity / 8 : 0)
                var generator = SplitMix64(seed: 7)
                let owners = randomKeys(1_024, &generator).compactMap { ReplayOwner(bytes: $0.bytes) }
                for (index, key) in keys.value.prefill.enumerated() {
                    _ = cache.insert(key, owner: owners[index % owners.count], expiresAt: now + 60, now: now)
                }
                let fresh = keys.value.fresh
                var index = 0
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(cache.insert(fresh[index], owner: owners[index % owners.count], expiresAt: now + 60,
                                           now: now))
                    index = index + 1 == fresh.count ? 0 : index + 1
                }
            } setup: {
                try await makeKeys()
            }
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

/// The steady-state insert `keybound bench` reports (its `replay cache` line, issue targets ≤ 80 ns at ~10^3 live and
/// ≤ 150 ns at 2.6 × 10^5 live): one cache for all samples, made in the setup hook, each insert carrying one of 1,024
/// owners with the verifier's default share (capacity / 8). `2.6e5`: the default capacity (1,048,576) holding
/// 262,144 live entries, each sample inserting 1,000 new keys (at most 128 samples, so at most 390,144 live);
/// `1e3`: a 4,096-entry cache (in the CPU caches) whose sample `r` inserts 1,000 keys living one second at time
/// `2r`, so the previous sample's keys have expired and about 1,000 are live. Unlike the benchmarks above, no sample
/// starts on a freshly allocated table.
let steadyInserts: @Sendable () -> Void = {
    let now: Int64 = 1_760_000_000
    let perSample = 1_000
    let samples = 128
    final class Steady: @unchecked Sendable {
        let cache: ReplayCache
        let owners: [ReplayOwner]
        let fresh: [ReplayKey]
        var round = 0
        init(cache: ReplayCache, owners: [ReplayOwner], fresh: [ReplayKey]) {
            self.cache = cache
            self.owners = owners
            self.fresh = fresh
        }
    }
    for (label, capacity, live) in [("1e3", 4_096, 0), ("2.6e5", 1 << 20, 262_144)] {
        let state = Prepared<Steady>()
        Benchmark(
            "ReplayCache.insertSteady.\(label)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions], scalingFactor: .kilo,
                maxDuration: .seconds(10), maxIterations: samples)
        ) { benchmark in
            let steady = state.value
            let round = steady.round
            steady.round += 1
            // 1e3: each sample at its own time, its keys living one second; 2.6e5: all at `now`, living 60 s.
            let (at, lifetime): (Int64, Int64) = live == 0 ? (now + Int64(round) * 2, 1) : (now, 60)
            // Warm-up samples come first: the pool holds 8 rounds more than the measured samples, so no key repeats.
            let first = (round % (samples + 8)) * perSample
            let cache = steady.cache
            let owners = steady.owners
            let fresh = steady.fresh
            benchmark.startMeasurement()
            for offset in benchmark.scaledIterations {
                let index = first + offset % perSample
                blackHole(cache.insert(fresh[index], owner: owners[index & 1023], expiresAt: at + lifetime, now: at))
            }
        } setup: {
            var generator = SplitMix64(seed: UInt64.random(in: 1...UInt64.max))
            let cache = ReplayCache(capacity: capacity, keyShare: capacity / 8)
            let owners = randomKeys(1_024, &generator).compactMap { ReplayOwner(bytes: $0.bytes) }
            for (index, key) in randomKeys(live, &generator).enumerated() {
                _ = cache.insert(key, owner: owners[index & 1023], expiresAt: now + 60, now: now)
            }
            state.set(Steady(cache: cache, owners: owners, fresh: randomKeys((samples + 8) * perSample, &generator)))
        }
    }
}

/// Resident memory of a default verifier (its caches allocated at init) before and after 2,000 requests refused at
/// the binding check, each from a new proof key with its own JWK: the memory the caches hold must not grow with them.
let proofKeyFlood: @Sendable () -> Void = {
    let before = BenchmarkMetric.custom("resident KiB before the flood", polarity: .prefersSmaller, useScalingFactor: false)
    let after = BenchmarkMetric.custom("resident KiB after the flood", polarity: .prefersSmaller, useScalingFactor: false)
    let growth = BenchmarkMetric.custom("growth KiB", polarity: .prefersSmaller, useScalingFactor: false)
    let flood = Prepared<(fixtures: Fixtures, requests: [DPoPRequest])>()
    Benchmark(
        "ProofKeyCache.flood.2000distinctJWKs",
        configuration: .init(metrics: [before, after, growth], maxDuration: .seconds(30), maxIterations: 3)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let verifier = try flood.value.fixtures.verifier()
            // Warm: one legitimate request, so every lazily touched structure is in place.
            blackHole(try verifier.verify(try flood.value.fixtures.warmRequests(1, tag: "warm")[0], now: Fixtures.now))
            let start = residentKiB()
            for request in flood.value.requests {
                blackHole(try? verifier.verify(request, now: Fixtures.now))
            }
            let end = residentKiB()
            benchmark.measurement(before, start)
            benchmark.measurement(after, end)
            benchmark.measurement(growth, max(0, end - start))
            blackHole(verifier)
        }
    } setup: {
        let fixtures = try Fixtures()
        // Proofs from new keys carrying a token bound to the fixtures' client: refused (311), never admitted.
        let requests = try (0..<2_000).map { index in
            try fixtures.request(client: try SigningKey.generate(.es256), token: fixtures.token, jti: "flood-\(index)")
        }
        flood.set((fixtures, requests))
    }
}

/// Resident set size in KiB, from /proc/self/statm (0 where it cannot be read).
func residentKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * 4
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
