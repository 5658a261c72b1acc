//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

internal import CKeyboundHints

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one zeroed block holding every table of a ``ReplayCache``, allocated once at init (docs/design.md "Replay",
/// "Memory and huge pages"): the slot words of all stripes (`UInt64`), then the owner-count records of all stripes
/// (12 bytes each: an unaligned 64-bit tag and a 32-bit count).
///
/// On Linux the block is advised `MADV_HUGEPAGE` before any of it is touched, so where transparent huge pages are
/// enabled (`always` or `madvise`) its pages fault in as 2 MiB pages and a random insert into a large table misses
/// the TLB far less. Where they are not, or the advice is refused, the block is ordinary memory and nothing else
/// changes: the advice affects speed only.
///
/// Every accessor checks its index against the region's size. Stripes use disjoint ranges, each only under its own
/// lock.
///
/// - Note: ReplayTableMemory is thread-safe as its callers use it: each word is read and written only under the lock
///   of the one stripe whose range holds it.
@safe
final class ReplayTableMemory: @unchecked Sendable {
    // @unchecked Sendable: the pointer never changes; the stripes' locks order every access to the words.
    private let base: UnsafeMutableRawPointer
    /// Slot words (8 bytes each) at the start of the block.
    let slotWordCount: Int
    /// Owner-count records (12 bytes each) after the slot words.
    let ownerRecordCount: Int
    /// Bytes the block was asked for: `8 × slotWordCount + 12 × ownerRecordCount`.
    let byteCount: Int
    /// Whether the kernel took the huge-page advice (tests and the benchmark report; speed only).
    let hugePagesAdvised: Bool

    /// Bytes per owner-count record.
    static let ownerRecordBytes = 12
    /// The huge page size the advice is aligned to.
    static let hugePageBytes = 2 << 20

    /// Allocates the block, advises huge pages, then zeroes it: every page is touched here, at init, so the memory
    /// is resident from the start (as before the block existed) and no insert pays a page fault.
    /// - Precondition: the allocation succeeds (its size is a configuration, never input).
    init(slotWords: Int, ownerRecords: Int) {
        precondition(slotWords >= 0 && ownerRecords >= 0, "ReplayTableMemory size out of range")
        slotWordCount = slotWords
        ownerRecordCount = ownerRecords
        byteCount = slotWords &* 8 &+ ownerRecords &* Self.ownerRecordBytes
        guard let block = unsafe malloc(max(byteCount, 8)) else {
            preconditionFailure("ReplayCache: the table allocation failed")
        }
        unsafe base = block
        hugePagesAdvised = unsafe Self.adviseHugePages(block, byteCount)
        // Safe because the block holds at least byteCount bytes.
        unsafe memset(block, 0, max(byteCount, 8))
    }

    deinit {
        unsafe free(base)
    }

    /// Advises huge pages for the whole 2 MiB extents inside `[start, start + count)`; false when there is none,
    /// the platform has no such advice, or the kernel refuses it.
    @unsafe
    private static func adviseHugePages(_ start: UnsafeMutableRawPointer, _ count: Int) -> Bool {
        #if os(Linux)
        let first = (UInt(bitPattern: start) &+ UInt(hugePageBytes - 1)) & ~UInt(hugePageBytes - 1)
        let end = (UInt(bitPattern: start) &+ UInt(count)) & ~UInt(hugePageBytes - 1)
        guard end > first, let aligned = unsafe UnsafeMutableRawPointer(bitPattern: first) else { return false }
        // Safe because [first, end) lies inside the block just allocated; the advice changes no contents.
        return unsafe madvise(aligned, Int(end &- first), MADV_HUGEPAGE) == 0
        #else
        return false
        #endif
    }

    /// Slot word `index` (`0..<slotWordCount`).
    @inline(__always)
    func word(_ index: Int) -> UInt64 {
        precondition(UInt(bitPattern: index) < UInt(bitPattern: slotWordCount), "ReplayTableMemory slot index")
        // Safe because index is in 0..<slotWordCount, checked above.
        return unsafe base.load(fromByteOffset: index &* 8, as: UInt64.self)
    }

    /// Sets slot word `index` (`0..<slotWordCount`).
    @inline(__always)
    func setWord(_ index: Int, _ value: UInt64) {
        precondition(UInt(bitPattern: index) < UInt(bitPattern: slotWordCount), "ReplayTableMemory slot index")
        // Safe because index is in 0..<slotWordCount, checked above.
        unsafe base.storeBytes(of: value, toByteOffset: index &* 8, as: UInt64.self)
    }

    /// Starts loading the cache lines of the slot at words `index ..< index + 3` for writing, without waiting: a
    /// hint, issued before a stripe's lock so that the slot's cache miss overlaps the lock and the work before it.
    /// Reads and writes nothing; a slot not wholly inside the slot words is ignored.
    @inline(__always)
    func prefetchSlot(atWord index: Int) {
        guard index >= 0 && index <= slotWordCount &- 3 else { return }
        // Safe because the slot's 24 bytes lie inside the block (checked above) and a prefetch accesses no memory.
        unsafe kb_prefetch_for_write(base + index &* 8)
        unsafe kb_prefetch_for_write(base + (index &* 8 &+ 23))
    }

    /// Starts loading the cache lines of owner record `index` for writing, like ``prefetchSlot(atWord:)``; an index
    /// outside `0..<ownerRecordCount` is ignored.
    @inline(__always)
    func prefetchOwnerRecord(_ index: Int) {
        guard UInt(bitPattern: index) < UInt(bitPattern: ownerRecordCount) else { return }
        let offset = slotWordCount &* 8 &+ index &* Self.ownerRecordBytes
        // Safe because the record's 12 bytes lie inside the block (checked above) and a prefetch accesses no memory.
        unsafe kb_prefetch_for_write(base + offset)
        unsafe kb_prefetch_for_write(base + (offset &+ Self.ownerRecordBytes &- 1))
    }

    /// The byte offset of owner record `index`, checked to be in `0..<ownerRecordCount`.
    @inline(__always)
    private func recordOffset(_ index: Int) -> Int {
        precondition(UInt(bitPattern: index) < UInt(bitPattern: ownerRecordCount), "ReplayTableMemory record index")
        return slotWordCount &* 8 &+ index &* Self.ownerRecordBytes
    }

    /// The tag of owner record `index` (0: empty).
    @inline(__always)
    func ownerTag(_ index: Int) -> UInt64 {
        let offset = recordOffset(index)
        // Safe because the record's 12 bytes lie inside the block (recordOffset checked the index).
        return unsafe base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    /// The count of owner record `index`.
    @inline(__always)
    func ownerCount(_ index: Int) -> UInt32 {
        let offset = recordOffset(index)
        // Safe because the record's 12 bytes lie inside the block; offset + 8 is 4-byte aligned.
        return unsafe base.load(fromByteOffset: offset &+ 8, as: UInt32.self)
    }

    /// Sets owner record `index` to `(tag, count)`.
    @inline(__always)
    func setOwnerRecord(_ index: Int, tag: UInt64, count: UInt32) {
        let offset = recordOffset(index)
        // Safe because the record's 12 bytes lie inside the block (recordOffset checked the index).
        unsafe base.storeBytes(of: tag, toByteOffset: offset, as: UInt64.self)
        unsafe base.storeBytes(of: count, toByteOffset: offset &+ 8, as: UInt32.self)
    }

    /// Sets the count of owner record `index`.
    @inline(__always)
    func setOwnerCount(_ index: Int, _ count: UInt32) {
        let offset = recordOffset(index)
        // Safe because the record's 12 bytes lie inside the block; offset + 8 is 4-byte aligned.
        unsafe base.storeBytes(of: count, toByteOffset: offset &+ 8, as: UInt32.self)
    }
}
