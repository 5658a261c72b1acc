//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound

/// The in-process replay cache's figures: bytes per live entry, insert time uncontended, and memory at
/// capacity. Keys are random 32-byte values made before timing (the verifier's keys are SHA-256 digests).
struct BenchReplayReport {
    var capacity = 0
    var bytesPerEntry = 0
    var allocatedBytes = 0
    /// Median over batches of 1,024 inserts of the mean time per insert, nanoseconds (one clock read per batch,
    /// since an insert is shorter than two clock reads).
    var insertP50Nanos: Double = 0
    var insertP99Nanos: Double = 0
    /// Resident memory growth while a full cache takes another `capacity` inserts (old entries expired).
    var residentGrowthAtCapacityBytes = 0
    var liveAtCapacity = 0
    /// The same, with about 1,000 live entries in a 4,096-entry cache (in the CPU caches).
    var smallInsertP50Nanos: Double = 0
    /// Live entries when the inserts were timed.
    var liveWhileTiming = 0
    /// The per-key share measured (0: off), and the memory of its owner counts.
    var keyShare = 0
    var ownerCountBytes = 0

    /// Measures the cache as the verifier uses it: each insert carries its owner, one of 1,024 proof keys, and the
    /// per-key share is `keyShare` (the default policy's capacity / 8 unless given; 0 measures the cache without it).
    static func measure(capacity: Int = 1 << 20, keyShare: Int? = nil) -> BenchReplayReport {
        var report = BenchReplayReport()
        let share = keyShare ?? capacity / 8
        let cache = ReplayCache(capacity: capacity, keyShare: share)
        report.capacity = capacity
        report.keyShare = share
        report.bytesPerEntry = ReplayCache.bytesPerEntry + (cache.ownerCountBytes + capacity - 1) / capacity
        report.allocatedBytes = cache.allocatedBytes
        report.ownerCountBytes = cache.ownerCountBytes
        var generator = SystemRandomNumberGenerator()
        func keys(_ count: Int) -> [ReplayKey] {
            (0..<count).compactMap { _ in
                ReplayKey(bytes: (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64, Array.init) })
            }
        }
        let owners = keys(1024).compactMap { ReplayOwner(bytes: $0.bytes) }
        func owner(_ index: Int) -> ReplayOwner { owners[index % owners.count] }
        let now: Int64 = 1_760_000_000
        // Uncontended inserts. The table is allocated at init but its pages are touched on first use: insert 256 Ki
        // keys first (that touches nearly every page of the 48 MiB table), so page faults are not counted.
        for (index, key) in keys(min(256 * 1024, capacity / 4)).enumerated() {
            _ = cache.insert(key, owner: owner(index), expiresAt: now + 60, now: now)
        }
        report.liveWhileTiming = cache.count
        let batch = 1_024
        let fresh = keys(batch * 128)
        /// Nanoseconds per insert in each of 128 batches of `batch` fresh keys into `target`, sorted: round `r` inserts
        /// at `time(r)`, entries living `lifetime` seconds.
        func timedBatches(_ target: ReplayCache, lifetime: Int64, at time: (Int) -> Int64) -> [Double] {
            var perInsert: [Double] = []
            perInsert.reserveCapacity(128)
            for round in 0..<128 {
                let at = time(round)
                let start = benchNanos()
                for index in (round * batch)..<((round + 1) * batch) {
                    _ = target.insert(fresh[index], owner: owner(index), expiresAt: at + lifetime, now: at)
                }
                perInsert.append(Double(benchNanos() - start) / Double(batch))
            }
            return perInsert.sorted()
        }
        let perInsert = timedBatches(cache, lifetime: 60) { _ in now }
        report.insertP50Nanos = perInsert[perInsert.count / 2]
        report.insertP99Nanos = perInsert[min(perInsert.count - 1, perInsert.count * 99 / 100)]
        // About a thousand live entries in a cache that fits the CPU caches (capacity 4,096, 192 KiB): each batch is
        // inserted one second after the previous one expired, so about 1,024 entries are live at any time.
        let small = ReplayCache(capacity: 4096, keyShare: keyShare ?? 4096 / 8)
        let smallPerInsert = timedBatches(small, lifetime: 1) { now + Int64($0) * 2 }
        report.smallInsertP50Nanos = smallPerInsert[smallPerInsert.count / 2]
        // Fill to capacity, then insert as many again an hour later (the first entries have expired).
        let fill = keys(capacity)
        let second = keys(capacity)  // made before the first reading, so only the cache can grow in between
        for (index, key) in fill.enumerated() { _ = cache.insert(key, owner: owner(index), expiresAt: now + 60, now: now) }
        let before = residentBytes()
        let later = now + 3600
        for (index, key) in second.enumerated() {
            _ = cache.insert(key, owner: owner(index), expiresAt: later + 60, now: later)
        }
        report.residentGrowthAtCapacityBytes = max(0, residentBytes() - before)
        report.liveAtCapacity = cache.count
        return report
    }

    /// Resident set size from /proc/self/statm (0 where it cannot be read).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
