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

/// A per-thread bump allocator for scratch memory, used strictly last-in first-out.
///
/// `withUnsafeTemporaryAllocation` only stays on the stack below 1 KiB without asking the thread for its stack
/// bounds, which on glibc allocates. Decoded tokens are larger than that, so Keybound keeps one arena per thread
/// (allocated on the thread's first request, freed when the thread exits) and hands out nested regions from it.
///
/// - Note: Each arena belongs to one thread; nothing is shared, so no locking is needed.
@usableFromInline
enum ScratchArena {
    /// Bytes per thread: two whole tokens at the default 8 KiB limit, decoded, with their JSON name tables.
    @usableFromInline
    static let arenaByteCount = 64 * 1024

    /// The arena header, stored at the start of the arena's block.
    @usableFromInline
    struct Header {
        @usableFromInline var top: Int
    }

    @usableFromInline
    static let headerByteCount = 64

    /// Calls `body` with `byteCount` bytes of uninitialised scratch memory, 16-byte aligned.
    ///
    /// - Warning: Do not escape the pointer from the closure.
    @unsafe
    @inlinable
    static func withRegion<R, E: Error>(
        byteCount: Int,
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let rounded = (byteCount &+ 15) & ~15
        if let arena = unsafe currentArena() {
            let header = unsafe arena.assumingMemoryBound(to: Header.self)
            let top = unsafe header.pointee.top
            if rounded <= arenaByteCount &- top {
                // Safe because [top, top + rounded) lies inside this thread's arena and is released below (LIFO).
                let start = unsafe arena + headerByteCount + top
                unsafe header.pointee.top = top &+ rounded
                defer { unsafe header.pointee.top = top }
                return try unsafe body(UnsafeMutableRawBufferPointer(start: start, count: byteCount))
            }
        }
        // Larger than the arena's free space (a JWKS document at configuration time, say): use the heap.
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(rounded, 16), alignment: 16)
        defer { unsafe block.deallocate() }
        return try unsafe body(UnsafeMutableRawBufferPointer(rebasing: block[0..<byteCount]))
    }

    /// This thread's arena, allocated on first use; `nil` only when memory is exhausted.
    @unsafe
    @usableFromInline
    static func currentArena() -> UnsafeMutableRawPointer? {
        let key = arenaKey
        if let existing = unsafe pthread_getspecific(key) { return unsafe existing }
        guard let block = unsafe malloc(headerByteCount + arenaByteCount) else { return nil }
        unsafe block.initializeMemory(as: Header.self, repeating: Header(top: 0), count: 1)
        guard unsafe pthread_setspecific(key, block) == 0 else {
            unsafe free(block)
            return nil
        }
        return unsafe block
    }
}

/// The thread-specific key of the arenas; its destructor frees a thread's arena when the thread exits.
@usableFromInline
let arenaKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = unsafe pthread_key_create(&key) { block in unsafe free(block) }
    precondition(status == 0, "pthread_key_create failed")
    return key
}()
