//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#endif
import Foundation

@testable import Keybound

/// A buffer of `count` bytes of which only the first `readable` (rounded up to a page) can be read: the rest is
/// mapped `PROT_NONE`, so code that reads one byte past that prefix dies with SIGSEGV instead of passing. It turns
/// "touches at most N bytes of the input" into something the MMU checks (SECURITY.md C6).
final class GuardedBytes {
    let base: UnsafeMutableRawPointer
    let count: Int
    let mappedCount: Int
    let readableCount: Int

    /// - Parameters:
    ///   - prefix: the bytes at the start of the buffer (inside the readable part).
    ///   - count: the buffer's length as the verifier sees it.
    ///   - readable: how many bytes may be read, at least `prefix.count`; rounded up to the page size.
    init(prefix: [UInt8], count: Int, readable: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let readableCount = max(page, (max(readable, prefix.count) + page - 1) / page * page)
        let mappedCount = (count + page - 1) / page * page + page
        guard let mapped = mmap(nil, mappedCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else { preconditionFailure("mmap failed") }
        prefix.withUnsafeBytes { mapped.copyMemory(from: $0.baseAddress!, byteCount: prefix.count) }
        precondition(mprotect(mapped + readableCount, mappedCount - readableCount, PROT_NONE) == 0)
        self.base = mapped
        self.count = count
        self.mappedCount = mappedCount
        self.readableCount = readableCount
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit { munmap(base, mappedCount) }
}

/// Runs `body` on a new thread whose whole stack is `stackBytes`, and returns its result: deep input handled by
/// recursion would overflow such a stack and crash the test process.
func onSmallStack<R: Sendable>(stackBytes: Int, _ body: @escaping @Sendable () -> R) -> R {
    let box = ResultBox<R>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.value = body()
        done.signal()
    }
    thread.stackSize = stackBytes
    thread.start()
    done.wait()
    return box.value!
}

/// Carries a result out of a thread that `onSmallStack` joins before reading it.
final class ResultBox<R>: @unchecked Sendable {
    var value: R?
}

/// Runs `body` with a fresh ``WorkProbe`` bound on this task and returns it with the result.
func withWorkProbe<R>(_ body: () throws -> R) rethrows -> (R, WorkProbe) {
    let probe = WorkProbe()
    let result = try WorkProbe.$current.withValue(probe) { try body() }
    return (result, probe)
}

/// The work counts a refusal "before any decoding or crypto" must leave at zero.
let decodingAndCryptoEvents: [WorkProbe.Event] = [
    .base64URLDecodedBytes, .jsonParsedBytes, .digestedBytes, .publicKeyImports, .signatureVerifications,
]

/// The error `body` throws, or nil.
func keyboundError(_ body: () throws -> Void) -> KeyboundError? {
    do {
        try body()
        return nil
    } catch let error as KeyboundError {
        return error
    } catch {
        return nil
    }
}

extension BoundedCache {
    /// The key bytes held by the occupied slots.
    var storedKeyBytes: Int {
        var total = 0
        for stripe in stripes {
            stripe.withLock { state in
                for slot in state.slots { total += slot?.key.count ?? 0 }
            }
        }
        return total
    }
}

/// Held by the tests that measure the whole process's heap (`ReplayCacheMemoryTests`) and by the tests that churn it
/// hardest (the floods of ``ResourceBoundTests``), so that a measurement never spans a flood running in parallel.
let heapMeasurementLock = NSLock()

/// Runs `body` while holding ``heapMeasurementLock``.
func whileHeapIsQuiet<R>(_ body: () throws -> R) rethrows -> R {
    heapMeasurementLock.lock()
    defer { heapMeasurementLock.unlock() }
    return try body()
}
