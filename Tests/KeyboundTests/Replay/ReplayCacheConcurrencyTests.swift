//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
import KeyboundTestSupport
import Testing

@testable import Keybound

/// Insert-if-absent under contention; CI runs this suite alone under ThreadSanitizer.
@Suite("ReplayCacheConcurrencyTests")
struct ReplayCacheConcurrencyTests {
    /// A reusable pthread barrier for `count` threads.
    final class Barrier: @unchecked Sendable {
        private let barrier: UnsafeMutablePointer<pthread_barrier_t>

        init(count: Int) {
            barrier = .allocate(capacity: 1)
            pthread_barrier_init(barrier, nil, UInt32(count))
        }

        func wait() {
            _ = pthread_barrier_wait(barrier)
        }

        deinit {
            pthread_barrier_destroy(barrier)
            barrier.deallocate()
        }
    }

    /// Results written by one thread only, read after it was joined.
    final class Results: @unchecked Sendable {
        var values: [ReplayInsertResult] = []
        var keys: [Int] = []
    }

    /// Runs `body(threadIndex)` on `count` fresh threads and joins them all.
    static func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let threads = (0..<count).map { index in spawnThread { body(index) } }
        precondition(threads.allSatisfy { $0 != nil }, "pthread_create failed")
        for case let thread? in threads {
            pthread_join(thread, nil)
        }
    }

    /// Runs `body(thread, its results, the shared barrier)` on `count` threads and returns each thread's results.
    static func race(_ count: Int, _ body: @escaping @Sendable (Int, Results, Barrier) -> Void) -> [Results] {
        let barrier = Barrier(count: count)
        let results = (0..<count).map { _ in Results() }
        runThreads(count) { t in body(t, results[t], barrier) }
        return results
    }

    @Test("the same key from many threads released together is inserted exactly once, every iteration")
    func sameKeyExactlyOnce() {
        let threadCount = 8
        let iterations = 300
        let cache = ReplayCache(capacity: 4096, stripeCount: 4)
        let results = Self.race(threadCount) { _, mine, barrier in
            mine.values.reserveCapacity(iterations)
            for i in 0..<iterations {
                barrier.wait()
                mine.values.append(cache.insert(.test(i, salt: 1), expiresAt: 100, now: 0))
            }
        }
        for i in 0..<iterations {
            let answers = results.map { $0.values[i] }
            #expect(answers.filter { $0 == .inserted }.count == 1, "iteration \(i)")
            #expect(answers.filter { $0 == .replayed }.count == threadCount - 1, "iteration \(i)")
        }
        #expect(cache.count == iterations)
    }

    @Test("mixed unique and repeated keys: one acceptance per distinct key, none lost or doubled")
    func mixedKeys() {
        let threadCount = 6
        let uniquePerThread = 2000
        let shared = 1500
        let cache = ReplayCache(capacity: 65_536, stripeCount: 16)
        let results = Self.race(threadCount) { t, mine, barrier in
            // Each thread: its own keys plus every shared key, interleaved in a thread-specific order.
            var keys = (0..<uniquePerThread).map { shared + t * uniquePerThread + $0 } + Array(0..<shared)
            var rng = SplitMix64(seed: UInt64(t) &+ 99)
            keys.shuffle(using: &rng)
            mine.values.reserveCapacity(keys.count)
            mine.keys = keys
            barrier.wait()
            for key in keys {
                mine.values.append(cache.insert(.test(key, salt: 2), expiresAt: 100, now: 0))
            }
        }
        let distinct = shared + threadCount * uniquePerThread
        var acceptances = [Int](repeating: 0, count: distinct)
        var other = 0
        for result in results {
            for (key, value) in zip(result.keys, result.values) {
                switch value {
                case .inserted: acceptances[key] += 1
                case .replayed: break
                case .full, .unavailable, .restarted, .quota: other += 1
                }
            }
        }
        #expect(other == 0)
        #expect(acceptances.reduce(0, +) == distinct)
        #expect(acceptances.allSatisfy { $0 == 1 })
        #expect(cache.count == distinct)
    }

    @Test("the stripes' spin lock: 8 threads each add 20,000 times to one plain counter under it and lose none")
    func spinLockedCountsExactly() {
        let threadCount = 8
        let additions = 20_000
        let counter = SpinLocked(0)
        Self.runThreads(threadCount) { _ in
            for _ in 0..<additions {
                counter.withLock { $0 += 1 }
            }
        }
        #expect(counter.withLock { $0 } == threadCount * additions)
    }
}
#endif
