//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds (`CLOCK_MONOTONIC`): the bench's only clock. The verifier itself is given a fixed `now`.
@inline(__always)
func benchNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// CPU nanoseconds consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`): unlike wall time, it does not grow
/// while the thread waits for a core, so rates over it hold on a machine shared with other work.
@inline(__always)
func benchThreadCPUNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// What one timed run (one scenario or baseline, one thread count) measured.
struct BenchMeasurement {
    var requests = 0
    var accepted = 0
    /// The first refusal's description, when any request was refused.
    var firstFailure: String?
    /// From the common start to the last thread's end.
    var elapsedNanos: UInt64 = 0
    /// CPU time of all threads over their timed loops (the clock reads included, for both sides alike).
    var cpuNanos: UInt64 = 0
    /// Every request's latency, in nanoseconds, sorted.
    var latencies: [UInt64] = []

    var perSecond: Double { elapsedNanos == 0 ? 0 : Double(requests) * 1e9 / Double(elapsedNanos) }

    /// Requests per second of CPU time, summed over threads: the per-core rate, independent of waits for a core.
    var perCPUSecond: Double { cpuNanos == 0 ? 0 : Double(requests) * 1e9 / Double(cpuNanos) }

    func percentileMicros(_ fraction: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let index = min(latencies.count - 1, Int((Double(latencies.count) * fraction).rounded(.down)))
        return Double(latencies[index]) / 1000
    }
}

/// Runs `body` on `threads` threads started together, each over its own contiguous share of `0..<count`, until
/// the share is done or `seconds` have passed. `body(index)` returns whether request `index` was accepted (or an
/// error text); it is timed one call at a time.
///
/// The threads are plain POSIX threads (not the GCD pool), so `--threads` larger than the core count really runs that
/// many. Latency arrays are reserved before the start, so the timed loop does not allocate.
func benchRun(
    threads: Int,
    count: Int,
    seconds: Double,
    cycle: Bool,
    cursors: BenchCursors? = nil,
    limitPerThread: Int = .max,
    _ body: @escaping @Sendable (Int) -> String?
) -> BenchMeasurement {
    final class Slot: @unchecked Sendable {
        var requests = 0
        var accepted = 0
        var failure: String?
        var end: UInt64 = 0
        var cpu: UInt64 = 0
        var next = 0
        var latencies: [UInt64] = []
    }
    let slots = (0..<threads).map { _ in Slot() }
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    var workers: [BenchThread] = []
    let startBox = Slot()  // .end holds the common start
    let budget = UInt64(seconds * 1e9)
    let share = max(1, count / threads)
    // With `cycle` (the baselines, which have no replay cache), a thread wraps around its share; otherwise it stops
    // at its end. The reservation bounds the samples kept: the whole share, or at most what 2 µs requests could do.
    let reserve = cycle ? min(Int(seconds * 500_000) + 16, 4_000_000) : share + threads
    for thread in 0..<threads {
        let slot = slots[thread]
        slot.latencies.reserveCapacity(reserve)
        let lower = thread * share
        let upper = thread == threads - 1 ? max(count, lower + 1) : lower + share
        let first = cursors?.next[thread] ?? lower
        let worker = BenchThread {
            ready.signal()
            go.wait()
            let start = startBox.end
            let deadline = start &+ budget
            var index = first
            var handled = 0
            let cpuStart = benchThreadCPUNanos()
            var now = benchNanos()
            while now < deadline && handled < limitPerThread {
                if index >= upper {
                    guard cycle else { break }
                    index = lower
                }
                let failure = body(index)
                let after = benchNanos()
                if slot.latencies.count < reserve { slot.latencies.append(after &- now) }
                slot.requests &+= 1
                if let failure {
                    if slot.failure == nil { slot.failure = failure }
                } else {
                    slot.accepted &+= 1
                }
                now = after
                index &+= 1
                handled &+= 1
            }
            slot.end = now
            slot.cpu = benchThreadCPUNanos() &- cpuStart
            slot.next = index
        }
        workers.append(worker)
    }
    for _ in 0..<threads { ready.wait() }
    startBox.end = benchNanos()
    for _ in 0..<threads { go.signal() }
    // Joined, not just signalled: a thread's exit (its thread-local OpenSSL contexts freed by their destructors) is
    // over before the next run, and before the process exits.
    for worker in workers { worker.join() }
    var result = BenchMeasurement()
    var last = startBox.end
    for slot in slots {
        result.requests += slot.requests
        result.accepted += slot.accepted
        result.cpuNanos += slot.cpu
        if result.firstFailure == nil { result.firstFailure = slot.failure }
        last = max(last, slot.end)
        result.latencies.append(contentsOf: slot.latencies)
    }
    result.elapsedNanos = last &- startBox.end
    if let cursors { cursors.next = slots.map(\.next) }
    result.latencies.sort()
    return result
}

/// Where each thread of a non-cycling run goes on in its share, so a run can be split into rounds.
final class BenchCursors: @unchecked Sendable {
    var next: [Int]
    init(threads: Int, count: Int) {
        let share = max(1, count / threads)
        next = (0..<threads).map { $0 * share }
    }

    init(copying other: BenchCursors) {
        next = other.next
    }
}

/// How a baseline walks the pool in one round.
///
/// The warm baseline cycles over its share for the whole slice. A cold scenario's Keybound round takes a fixed
/// number of new requests (the pool is used once); its baselines are *paired* with that round: they take exactly
/// the same requests (the same indices, from a copy of Keybound's cursors, so Keybound's own are not moved) under
/// the same per-thread limit and time cap, just before Keybound does. Both sides of a round then do the same work on
/// the same inputs over windows of about the same length, so a change in the machine's load hits both alike.
struct BenchWalk {
    var seconds: Double
    /// Keybound's cursors at the start of its next round; nil for a cycling walk.
    var pairedWith: BenchCursors?
    var limitPerThread: Int

    static func cycling(seconds: Double) -> BenchWalk {
        BenchWalk(seconds: seconds, pairedWith: nil, limitPerThread: .max)
    }

    static func paired(with cursors: BenchCursors, limitPerThread: Int, seconds: Double) -> BenchWalk {
        BenchWalk(seconds: seconds, pairedWith: cursors, limitPerThread: limitPerThread)
    }
}

/// ``benchRun(threads:count:seconds:cycle:cursors:limitPerThread:_:)`` along `walk`.
func benchRun(
    threads: Int,
    count: Int,
    walk: BenchWalk,
    _ body: @escaping @Sendable (Int) -> String?
) -> BenchMeasurement {
    benchRun(
        threads: threads, count: count, seconds: walk.seconds, cycle: walk.pairedWith == nil,
        cursors: walk.pairedWith.map(BenchCursors.init(copying:)), limitPerThread: walk.limitPerThread, body)
}

extension BenchMeasurement {
    /// Adds another round of the same run.
    mutating func merge(_ other: BenchMeasurement) {
        requests += other.requests
        accepted += other.accepted
        if firstFailure == nil { firstFailure = other.firstFailure }
        elapsedNanos += other.elapsedNanos
        cpuNanos += other.cpuNanos
        latencies.append(contentsOf: other.latencies)
        latencies.sort()
    }
}

/// Runs `make(index)` for `0..<count` on all cores and returns the results in order (building inputs, untimed).
func benchParallelMap<T>(_ count: Int, _ make: @Sendable (Int) throws -> T) throws -> [T] {
    let box = BenchParallelBox<T>(count)
    let chunks = max(1, min(count, ProcessInfo.processInfo.activeProcessorCount * 4))
    let size = (count + chunks - 1) / max(chunks, 1)
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let lower = chunk * size
        let upper = min(count, lower + size)
        guard lower < upper else { return }
        var local: [T] = []
        local.reserveCapacity(upper - lower)
        do {
            for index in lower..<upper { local.append(try make(index)) }
        } catch {
            box.lock.lock()
            box.error = error
            box.lock.unlock()
            return
        }
        box.lock.lock()
        for (offset, item) in local.enumerated() { box.items[lower + offset] = item }
        box.lock.unlock()
    }
    if let error = box.error { throw error }
    return box.items.compactMap { $0 }
}

/// The results of ``benchParallelMap(_:_:)``, filled under a lock.
private final class BenchParallelBox<T>: @unchecked Sendable {
    var items: [T?]
    var error: Error?
    let lock = NSLock()
    init(_ count: Int) { items = Array(repeating: nil, count: count) }
}

/// A POSIX thread with a 1 MiB stack running one closure, joined with ``join()``.
final class BenchThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private var thread = pthread_t()
    private var started = false

    init(_ body: @escaping () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let status = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, context)
        guard status == 0 else {
            // The run cannot go on without its threads (they meet at a barrier); say so and stop.
            Unmanaged<Body>.fromOpaque(context).release()
            FileHandle.standardError.write(Data("bench: cannot start a thread (pthread_create: \(status))\n".utf8))
            exit(1)
        }
        started = true
    }

    func join() {
        guard started else { return }
        pthread_join(thread, nil)
        started = false
    }
}
