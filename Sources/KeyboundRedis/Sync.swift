//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex plus a condition variable on the monotonic clock, at stable heap addresses.
///
/// - Note: Monitor is thread-safe.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (the lock held) until signalled or until the monotonic `deadline` (nanoseconds); false on timeout.
    func wait(until deadline: UInt64) -> Bool {
        #if os(Linux)
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &spec) == 0
        #else
        let left = deadline > MonotonicClock.nanoseconds ? deadline - MonotonicClock.nanoseconds : 0
        var spec = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
        return pthread_cond_timedwait_relative_np(condition, mutex, &spec) == 0
        #endif
    }

    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// A counter several threads bump.
final class AtomicCounter: @unchecked Sendable {
    private let monitor = Monitor()
    private var count = 0
    func increment() { monitor.withLock { count &+= 1 } }
    var value: Int { monitor.withLock { count } }
}

/// The monotonic clock: for timeouts and reconnection backoff only, never for token or proof times.
enum MonotonicClock {
    static var nanoseconds: UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

/// Starts a detached thread running `body`.
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, context)
    if started == 0 {
        pthread_detach(thread)
    } else {
        Unmanaged<Box>.fromOpaque(context).release()
    }
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
