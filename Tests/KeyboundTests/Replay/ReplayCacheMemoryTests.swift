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
/// Other suites may allocate concurrently, so each check allows a tolerance and takes the smallest of several
/// readings: a per-insert leak would show as megabytes and grow with every round.
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

    @Test("the heap measurement itself: mallinfo2 is found and sees an 8 MiB malloc come and go")
    func heapMeasurementIsSound() throws {
        // The floods of ResourceBoundTests hold the same lock: no measurement spans one.
        try whileHeapIsQuiet {
            #expect(Self.mallinfo2 != nil)
            let size = 8 << 20
            let before = Self.heapInUse()
            let block = try #require(malloc(size))
            let during = Self.heapInUse()
            free(block)
            let after = Self.heapInUse()
            #expect(abs(during - before - size) < 1 << 20, "malloc of \(size) measured as \(during - before)")
            #expect(abs(during - after - size) < 1 << 20, "free of \(size) measured as \(during - after)")
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
        // The floods of ResourceBoundTests hold the same lock: no measurement spans one.
        whileHeapIsQuiet {
            // The table plus 64 stripe objects and array headers, within 1 MiB. Suites running in parallel allocate
            // and free too (a default `Verifier` holds a cache of this same size), so the construction is measured up
            // to eight times and one reading inside the band is enough: a cache that really took more or less memory
            // would miss it every time.
            var readings: [Int] = []
            for _ in 0..<8 {
                let before = Self.heapInUse()
                let cache = ReplayCache()
                let after = Self.heapInUse()
                #expect(cache.capacity == 1_048_576)
                #expect(cache.stripeCount == 64)
                #expect(cache.allocatedBytes == 50_331_648)
                #expect(cache.insert(.test(1), expiresAt: 10, now: 0) == .inserted)
                readings.append(after - before)
                if abs(after - before - cache.allocatedBytes) <= 1 << 20 { break }
            }
            #expect(readings.contains { abs($0 - 50_331_648) <= 1 << 20 }, "measured \(readings)")
        }
    }

    @Test("filling to capacity, then 10× capacity more inserts, does not grow the heap")
    func hammerDoesNotGrow() {
        // The floods of ResourceBoundTests hold the same lock: no measurement spans one.
        whileHeapIsQuiet {
            let capacity = 65_536
            let before = Self.heapInUse()
            let cache = ReplayCache(capacity: capacity)
            let constructed = Self.heapInUse()
            #expect(constructed - before >= cache.allocatedBytes - (1 << 19), "construction \(constructed - before)")

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
            #expect(grown < 256 * 1024, "heap grew by \(grown) bytes over \(10 * capacity) inserts")
            #expect(filled - constructed < 256 * 1024, "filling grew the heap by \(filled - constructed) bytes")
        }
    }
}
#endif
