//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// One stripe's count of entries per owner (docs/design.md "Per-key replay share"): a linearly probed table of
/// (64-bit owner tag, 32-bit count) records, allocated once, not thread-safe (its stripe's lock guards it).
///
/// A record exists exactly while its count is above zero; a count that drops to zero is deleted by backward shift,
/// so no tombstones build up. The records never outnumber the stripe's occupied slots, which never exceed its limit,
/// and the table has ``recordCount(forLimit:)`` = `limit + limit / 4 + 1` records, so it is at most 80 % full and
/// always has an empty record. Tags are outputs of the cache's keyed hash, never 0 (0 marks an empty record), and
/// place records by their top bits.
struct ReplayOwnerCounts {
    /// Bytes per record: an 8-byte tag and a 4-byte count, in two arrays.
    static let bytesPerRecord = 12

    /// The record count for a stripe of `limit` entries: `limit + limit / 4 + 1` (at most 80 % full), that is
    /// 12 × 1.25 = 15 bytes per entry plus 12 per stripe, under 16 bytes per entry from 12 entries a stripe up.
    static func recordCount(forLimit limit: Int) -> Int { limit + limit / 4 + 1 }

    private var tags: [UInt64]
    private var counts: [UInt32]

    init(records: Int) {
        self.tags = [UInt64](repeating: 0, count: records)
        self.counts = [UInt32](repeating: 0, count: records)
    }

    /// Whether this table counts anything (a cache without shares allocates no records).
    var isCounting: Bool { !tags.isEmpty }

    /// The bytes the records' storage holds.
    var storageBytes: Int {
        tags.capacity &* MemoryLayout<UInt64>.stride &+ counts.capacity &* MemoryLayout<UInt32>.stride
    }

    /// The home record of a tag: its top bits, range-reduced.
    private func home(_ tag: UInt64) -> Int {
        Int(truncatingIfNeeded: tag.multipliedFullWidth(by: UInt64(tags.count)).high)
    }

    private func next(_ index: Int) -> Int {
        let following = index &+ 1
        return following == tags.count ? 0 : following
    }

    /// The record of `tag`, or the empty record where it would go.
    private func find(_ tag: UInt64) -> Int {
        var index = home(tag)
        while tags[index] != 0 && tags[index] != tag {
            index = next(index)
        }
        return index
    }

    /// The entries counted for `tag` (0 when it has no record).
    func count(of tag: UInt64) -> UInt32 {
        guard isCounting else { return 0 }
        let index = find(tag)
        return tags[index] == tag ? counts[index] : 0
    }

    /// Counts one more entry for `tag`. The caller stores at most `limit` owned entries, so there is room.
    mutating func increment(_ tag: UInt64) {
        let index = find(tag)
        if tags[index] == tag {
            counts[index] &+= 1
        } else {
            tags[index] = tag
            counts[index] = 1
        }
    }

    /// Counts one entry fewer for `tag`, deleting its record at zero (backward-shift deletion: each later record of
    /// the run moves into the hole unless its home lies cyclically after the hole and at or before its own place).
    mutating func decrement(_ tag: UInt64) {
        var hole = find(tag)
        guard tags[hole] == tag else { return }
        if counts[hole] > 1 {
            counts[hole] -= 1
            return
        }
        var index = hole
        while true {
            index = next(index)
            let moving = tags[index]
            if moving == 0 { break }
            let wanted = home(moving)
            // The record at `index` may fill the hole iff its home is not in the cyclic range (hole, index].
            let staysPut = hole <= index ? (wanted > hole && wanted <= index) : (wanted > hole || wanted <= index)
            if staysPut { continue }
            tags[hole] = moving
            counts[hole] = counts[index]
            hole = index
        }
        tags[hole] = 0
        counts[hole] = 0
    }
}
