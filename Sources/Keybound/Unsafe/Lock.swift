//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A value guarded by a `pthread_mutex_t`, reachable only inside ``withLock(_:)``.
///
/// Keybound uses this instead of `Synchronization.Mutex` everywhere: on Linux a contended `Mutex` parks in futex code
/// that ThreadSanitizer cannot see, so TSan reports the guarded accesses as races. pthread mutexes are intercepted by
/// every sanitizer, and cost the same uncontended (NIO's `NIOLock` makes the same choice).
///
/// The package's general lock: the Redis store's `Monitor` is a `Locked<Void>` with a ``LockCondition``. The replay
/// cache's stripes, whose critical sections are a few dozen nanoseconds and never block, use ``SpinLocked``.
///
/// - Note: `Locked` is thread-safe.
@safe
package final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read or written while `mutex` is held.
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Unchecked exclusivity: every access is inside `withLock`, which holds the mutex, so two accesses never overlap;
    // the dynamic check (a thread-local access record per call) would only repeat that guarantee.
    @exclusivity(unchecked) private var value: Value

    package init(_ value: Value) {
        unsafe self.value = value
        unsafe mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        unsafe mutex.initialize(to: pthread_mutex_t())
        let status = unsafe pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed")
    }

    deinit {
        unsafe pthread_mutex_destroy(mutex)
        unsafe mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        unsafe pthread_mutex_lock(mutex)
        defer { unsafe pthread_mutex_unlock(mutex) }
        return try unsafe body(&value)
    }
}

/// A value guarded by a one-word spin lock, reachable only inside ``withLock(_:)``: for critical sections of a few
/// dozen nanoseconds that never block (the replay cache's stripes; docs/design.md "Replay").
///
/// Taking it is one compare-and-swap (acquiring); releasing it is a plain releasing store, not a second locked
/// instruction as a `pthread_mutex_t` needs. So back-to-back inserts on one thread are not serialised by two full
/// barriers each, and a cache miss of one insert can overlap the next insert's work. A thread that finds it taken
/// re-reads it a few times, then yields the CPU between attempts, so a holder that was preempted gets to run.
/// ThreadSanitizer sees it: its operations are `Synchronization.Atomic` ones compiled into this module, which the
/// sanitizer instruments (acquire and release edges), unlike a contended `Synchronization.Mutex` (see ``Locked``).
///
/// - Note: `SpinLocked` is thread-safe.
@safe
package final class SpinLocked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read or written while `state` is 1, set by this thread.
    private let state = Atomic<UInt32>(0)
    // Unchecked exclusivity: every access is inside `withLock`, which holds the lock (as in `Locked`).
    @exclusivity(unchecked) private var value: Value
    /// Keeps the next object's lock word off this one's last cache line (locks are often allocated back to back, as
    /// the replay cache's stripes are), so threads working under different locks do not share a line.
    private let _padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    package init(_ value: Value) {
        unsafe self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    package func withLock<R>(_ body: (inout Value) -> R) -> R {
        if !state.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { lockContended() }
        defer { state.store(0, ordering: .releasing) }
        return unsafe body(&value)
    }

    /// Takes the lock held by another thread: re-reads it (no write while it is taken), then yields between tries.
    @inline(never)
    private func lockContended() {
        var attempts = 0
        while true {
            if state.load(ordering: .relaxed) == 0
                && state.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
            {
                return
            }
            attempts &+= 1
            // After 64 attempts, yield the CPU between attempts.
            if attempts >= 64 {
                sched_yield()
            }
        }
    }
}

/// A condition variable on the monotonic clock, waited on inside ``Locked/withLock(_:)`` of one lock: for threads that
/// block until another thread changes the guarded state (the Redis store's connection pool and worker threads).
///
/// - Note: `LockCondition` is thread-safe.
@safe
package final class LockCondition: @unchecked Sendable {
    // @unchecked Sendable: a pthread condition variable is made for use from several threads.
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        unsafe condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        unsafe condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        unsafe pthread_condattr_init(&attributes)
        #if os(Linux)
        unsafe pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        let status = unsafe pthread_cond_init(condition, &attributes)
        unsafe pthread_condattr_destroy(&attributes)
        precondition(status == 0, "pthread_cond_init failed")
    }

    deinit {
        unsafe pthread_cond_destroy(condition)
        unsafe condition.deallocate()
    }

    /// The monotonic clock in nanoseconds: the time base of ``wait(in:until:)``.
    package static var now: UInt64 {
        var spec = timespec()
        unsafe clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// Waits until signalled; call only inside `lock.withLock`, which the wait releases and takes again.
    package func wait<Value>(in lock: Locked<Value>) {
        unsafe pthread_cond_wait(condition, lock.mutex)
    }

    /// Waits until signalled or until the monotonic `deadline` (nanoseconds, ``now``); false on timeout. Call only
    /// inside `lock.withLock`, which the wait releases and takes again.
    package func wait<Value>(in lock: Locked<Value>, until deadline: UInt64) -> Bool {
        #if os(Linux)
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return unsafe pthread_cond_timedwait(condition, lock.mutex, &spec) == 0
        #else
        let current = Self.now
        let left = deadline > current ? deadline - current : 0
        var spec = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
        return unsafe pthread_cond_timedwait_relative_np(condition, lock.mutex, &spec) == 0
        #endif
    }

    /// Wakes one waiting thread.
    package func signal() { unsafe pthread_cond_signal(condition) }

    /// Wakes every waiting thread.
    package func broadcast() { unsafe pthread_cond_broadcast(condition) }
}
