//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
import Testing

@testable import Keybound

/// The replay cache's memory, measured with glibc's `mallinfo2()` (all arenas plus mmapped chunks), not inferred.
///
/// Other suites may allocate concurrently, so each check allows a tolerance and passes when one of several attempts
/// (``oneQuietAttempt(tries:_:)``) is clean: a per-insert leak would show as megabytes in every attempt.
@Suite("ReplayCacheMemory", .serialized)
struct ReplayCacheMemoryTests {
    /// glibc's `mallinfo2`, found with `dlsym`: Swift's Glibc module does not import `<malloc.h>`.
    ///
    /// `struct mallinfo2` is ten `size_t` fields (80 bytes). A C struct that large is returned through a hidden
    /// result pointer on x86_64 and arm64 alike, so the function is called through a C function type returning
    /// another imported C struct of at least 80 bytes (`struct stat`, 144 on both), whose memory is then read as
    /// the ten fields. ``heapMeasurementIsSound()`` checks the readings against a known allocation.
    static let mallinfo2: (@convention(c) () -> stat)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallinfo2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> stat).self)
    }()

    /// Bytes in use on the heap right now, over all arenas: `uordblks` (field 7) plus mmapped chunks (`hblkhd`,
    /// field 4) of `mallinfo2()`.
    static func heapInUse() -> Int {
        guard let mallinfo2 else { return -1 }
        precondition(MemoryLayout<stat>.size >= 10 * MemoryLayout<Int>.size)
        var info = mallinfo2()
        return withUnsafeBytes(of: &info) { raw in
            let hblkhd = raw.load(fromByteOffset: 4 * MemoryLayout<Int>.size, as: Int.self)
            let uordblks = raw.load(fromByteOffset: 7 * MemoryLayout<Int>.size, as: Int.self)
            return hblkhd + uordblks
        }
    }

    /// Runs `attempt` up to `tries` times under ``whileHeapIsQuiet(_:)`` and stops at the first attempt that returns
    /// no complaint. Suites running in parallel allocate and free megabytes at any moment (a default `Verifier` alone
    /// holds 48 MiB), so one reading can be off; a real fault (a leak, a wrong field offset, a cache of the wrong
    /// size) shows in every attempt. Returns the complaints of the attempts that failed, all of them if none passed.
    static func oneQuietAttempt(
        tries: Int = 8,
        _ attempt: () throws -> String?
    ) rethrows -> (passed: Bool, complaints: [String]) {
        var complaints: [String] = []
        for _ in 0..<tries {
            guard let complaint = try whileHeapIsQuiet(attempt) else { return (true, complaints) }
            complaints.append(complaint)
        }
        return (false, complaints)
    }

    @Test("the heap measurement itself: mallinfo2 is found and sees an 8 MiB malloc come and go")
    func heapMeasurementIsSound() throws {
        #expect(Self.mallinfo2 != nil)
        let size = 8 << 20
        let result = try Self.oneQuietAttempt {
            let before = Self.heapInUse()
            let block = try #require(malloc(size))
            let during = Self.heapInUse()
            free(block)
            let after = Self.heapInUse()
            guard abs(during - before - size) < 1 << 20, abs(during - after - size) < 1 << 20 else {
                return "malloc of \(size) measured as \(during - before), its free as \(during - after)"
            }
            return nil
        }
        #expect(result.passed, "\(result.complaints)")
    }

    @Test("prefetch hints take any index, ignore those outside the block, and change no word or record")
    func prefetchHints() {
        let memory = ReplayTableMemory(slotWords: 6, ownerRecords: 3)
        for index in 0..<6 { memory.setWord(index, UInt64(index) &* 0x0101_0101_0101_0101 &+ 1) }
        for index in 0..<3 { memory.setOwnerRecord(index, tag: UInt64(100 + index), count: UInt32(index)) }
        for index in [Int.min, -3, -1, 0, 1, 2, 3, 4, 5, 6, 7, 1 << 40, Int.max] {
            memory.prefetchSlot(atWord: index)
            memory.prefetchOwnerRecord(index)
        }
        for index in 0..<6 { #expect(memory.word(index) == UInt64(index) &* 0x0101_0101_0101_0101 &+ 1) }
        for index in 0..<3 {
            #expect(memory.ownerTag(index) == UInt64(100 + index))
            #expect(memory.ownerCount(index) == UInt32(index))
        }
    }

    @Test("48 bytes per live entry at capacity: allocatedBytes / capacity == bytesPerEntry")
    func bytesPerEntry() {
        #expect(ReplayCache.bytesPerEntry == 48)
        for (capacity, stripes) in [(1, 1), (64, 1), (1000, 8), (65_536, 64), (100_003, 64), (4096, nil)] {
            let cache = ReplayCache(capacity: capacity, stripeCount: stripes)
            #expect(cache.allocatedBytes / cache.capacity == ReplayCache.bytesPerEntry)
            #expect(cache.allocatedBytes % cache.capacity == 0)
        }
    }

    @Test("the default cache (1,048,576 entries) holds 48 MiB of table, measured on the heap")
    func defaultCacheMeasured() {
        // The table plus 64 stripe objects and array headers, within 1 MiB.
        let result = Self.oneQuietAttempt {
            let before = Self.heapInUse()
            let cache = ReplayCache()
            let after = Self.heapInUse()
            #expect(cache.capacity == 1_048_576)
            #expect(cache.stripeCount == 64)
            #expect(cache.allocatedBytes == 50_331_648)
            #expect(cache.insert(.test(1), expiresAt: 10, now: 0) == .inserted)
            guard abs(after - before - 50_331_648) <= 1 << 20 else { return "measured \(after - before)" }
            return nil
        }
        #expect(result.passed, "\(result.complaints)")
    }

    @Test("filling to capacity, then 10× capacity more inserts, does not grow the heap")
    func hammerDoesNotGrow() {
        let capacity = 65_536
        let result = Self.oneQuietAttempt(tries: 4) {
            let before = Self.heapInUse()
            let cache = ReplayCache(capacity: capacity)
            let constructed = Self.heapInUse()

            // Fill every stripe to its share.
            var n = 0
            var inserted = 0
            while cache.count < capacity && n < capacity * 16 {
                if cache.insert(.test(n), expiresAt: 1065, now: 1000) == .inserted { inserted += 1 }
                n += 1
            }
            #expect(cache.count == capacity)
            #expect(inserted == capacity)
            let filled = Self.heapInUse()

            // 10× capacity more: rounds of full answers, replays, and whole windows of expiry and reuse.
            var readings: [Int] = []
            for round in 0..<10 {
                let now = 1000 + Int64(round) * 100
                for i in 0..<capacity {
                    let result = cache.insert(.test(n + round * capacity + i), expiresAt: now + 65, now: now + 66)
                    #expect(result != .replayed && result != .unavailable)
                }
                readings.append(Self.heapInUse())
            }
            #expect(cache.count <= capacity)
            let grown = (readings.suffix(3).min() ?? .max) - filled
            var complaints: [String] = []
            if constructed - before < cache.allocatedBytes - (1 << 19) {
                complaints.append("construction \(constructed - before)")
            }
            if filled - constructed >= 256 * 1024 {
                complaints.append("filling grew the heap by \(filled - constructed) bytes")
            }
            if grown >= 256 * 1024 {
                complaints.append("heap grew by \(grown) bytes over \(10 * capacity) inserts")
            }
            return complaints.isEmpty ? nil : complaints.joined(separator: "; ")
        }
        #expect(result.passed, "\(result.complaints)")
    }
}
#endif
