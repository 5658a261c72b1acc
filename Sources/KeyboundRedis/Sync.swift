//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The store's lock and its condition variable: the core's one lock type (`Locked`) and a `LockCondition` on it.
///
/// - Note: Monitor is thread-safe.
final class Monitor: Sendable {
    private let lock = Locked(())
    private let condition = LockCondition()

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try lock.withLock { (_) throws(E) -> R in try body() }
    }

    /// Waits (the lock held) until signalled or until the monotonic `deadline` (nanoseconds); false on timeout.
    func wait(until deadline: UInt64) -> Bool { condition.wait(in: lock, until: deadline) }
    func wait() { condition.wait(in: lock) }
    func signal() { condition.signal() }
    func broadcast() { condition.broadcast() }
}

/// A counter several threads bump.
final class AtomicCounter: Sendable {
    private let count = Locked(0)
    func increment() { count.withLock { $0 &+= 1 } }
    var value: Int { count.withLock { $0 } }
}

/// The monotonic clock: for timeouts and reconnection backoff only, never for token or proof times.
enum MonotonicClock {
    static var nanoseconds: UInt64 { LockCondition.now }
}

/// Starts a detached thread running `body` (nothing runs when the system refuses a thread).
func startThread(_ body: @escaping @Sendable () -> Void) {
    if let thread = spawnThread(body) { pthread_detach(thread) }
}

/// A fixed set of threads that run blocking jobs (hiredis calls) so that async callers never block their executor.
///
/// - Note: WorkerPool is thread-safe.
final class WorkerPool: @unchecked Sendable {
    private let monitor = Monitor()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var stopped = false
    private let queueLimit: Int

    init(threads: Int, queueLimit: Int) {
        self.queueLimit = queueLimit
        for _ in 0..<threads {
            startThread { [self] in run() }
        }
    }

    /// Queues `job`; false (the job is dropped) when the pool is stopped or its queue is full.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        monitor.withLock {
            guard !stopped, jobs.count - head < queueLimit else { return false }
            jobs.append(job)
            monitor.signal()
            return true
        }
    }

    /// Lets the threads finish the queued jobs and exit.
    func stop() {
        monitor.withLock {
            stopped = true
            monitor.broadcast()
        }
    }

    private func run() {
        while true {
            let job: (@Sendable () -> Void)? = monitor.withLock {
                while head == jobs.count && !stopped { monitor.wait() }
                guard head < jobs.count else { return nil }
                let next = jobs[head]
                head += 1
                if head > 1024 && head * 2 > jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                return next
            }
            guard let job else { return }
            job()
        }
    }
}
