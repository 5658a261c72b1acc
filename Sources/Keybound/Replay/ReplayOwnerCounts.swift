//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// One stripe's count of entries per owner (docs/design.md "Per-key replay share"): a linearly probed table of
/// (64-bit owner tag, 32-bit count) records in the cache's table block (`ReplayTableMemory`), allocated once, not
/// thread-safe (its stripe's lock guards it).
///
/// A record exists exactly while its count is above zero; a count that drops to zero is deleted by backward shift,
/// so no tombstones build up. The records never outnumber the stripe's occupied slots, which never exceed its limit,
/// and the table has ``recordCount(forLimit:)`` = `limit + limit / 4 + 1` records, so it is at most 80 % full and
/// always has an empty record. Tags are outputs of a keyed hash (`ReplayOwner`'s tag), never 0 (0 marks an empty
/// record), and place records by their top bits.
struct ReplayOwnerCounts: Sendable {
    /// Bytes per record: an 8-byte tag and a 4-byte count, side by side, so one record is one memory access.
    static let bytesPerRecord = ReplayTableMemory.ownerRecordBytes

    /// The record count for a stripe of `limit` entries: `limit + limit / 4 + 1` (at most 80 % full), that is
    /// 12 × 1.25 = 15 bytes per entry plus 12 per stripe, under 16 bytes per entry from 12 entries a stripe up.
    static func recordCount(forLimit limit: Int) -> Int { limit + limit / 4 + 1 }

    /// The cache's table block. The stripes' records are interleaved: record `i` of stripe `s` is the block's
    /// owner record `i × stride + s` (`stride`: the stripe count), so the records of one tag in all stripes (the same
    /// `i` in each, as every stripe has the same record count) lie side by side, 12 bytes apart, and an owner whose
    /// share spans many stripes keeps a few cache lines warm instead of one per stripe.
    private let memory: ReplayTableMemory
    private let first: Int
    private let stride: Int
    /// The number of records (0 in a cache that counts no owners).
    private let records: Int

    init(memory: ReplayTableMemory, first: Int, stride: Int, records: Int) {
        self.memory = memory
        self.first = first
        self.stride = stride
        self.records = records
    }

    /// The block's record index of this table's record `index`.
    @inline(__always)
    private func slot(_ index: Int) -> Int { index &* stride &+ first }

    /// Whether this table counts anything (a cache without shares allocates no records).
    var isCounting: Bool { records > 0 }

    /// The home record of a tag: its top bits, range-reduced.
    @inline(__always)
    func home(_ tag: UInt64) -> Int {
        Int(truncatingIfNeeded: tag.multipliedFullWidth(by: UInt64(records)).high)
    }

    @inline(__always)
    private func next(_ index: Int) -> Int {
        let following = index &+ 1
        return following == records ? 0 : following
    }

    @inline(__always)
    private func tag(at index: Int) -> UInt64 { memory.ownerTag(slot(index)) }

    @inline(__always)
    private func count(at index: Int) -> UInt32 { memory.ownerCount(slot(index)) }

    /// Prefetches the home record of `tag` (a hint: see `ReplayTableMemory.prefetchOwnerRecord`). Reads only the
    /// immutable layout, so it may run without the stripe's lock.
    @inline(__always)
    func prefetchHome(of tag: UInt64) {
        memory.prefetchOwnerRecord(slot(home(tag)))
    }

    /// The record of `tag`, or the empty record where it would go.
    @inline(__always)
    func find(_ tag: UInt64) -> Int {
        var index = home(tag)
        while true {
            let stored = self.tag(at: index)
            if stored == 0 || stored == tag { return index }
            index = next(index)
        }
    }

    /// The entries counted in record `index` (found by ``find(_:)`` for `tag`; 0 when it is the empty record).
    @inline(__always)
    func count(at index: Int, of tag: UInt64) -> UInt32 {
        self.tag(at: index) == tag ? count(at: index) : 0
    }

    /// The entries counted for `tag` (0 when it has no record).
    func count(of tag: UInt64) -> UInt32 {
        guard isCounting else { return 0 }
        return count(at: find(tag), of: tag)
    }

    /// Counts one more entry for `tag` in record `index`, found by ``find(_:)`` for it with no change since.
    /// The caller stores at most `limit` owned entries, so there is room.
    @inline(__always)
    func increment(at index: Int, _ tag: UInt64) {
        if self.tag(at: index) == tag {
            memory.setOwnerCount(slot(index), count(at: index) &+ 1)
        } else {
            memory.setOwnerRecord(slot(index), tag: tag, count: 1)
        }
    }

    /// Counts one more entry for `tag`.
    func increment(_ tag: UInt64) {
        increment(at: find(tag), tag)
    }

    /// Counts one entry fewer for `tag`, deleting its record at zero (backward-shift deletion: each later record of
    /// the run moves into the hole unless its home lies cyclically after the hole and at or before its own place).
    func decrement(_ tag: UInt64) {
        var hole = find(tag)
        guard self.tag(at: hole) == tag else { return }
        let counted = count(at: hole)
        if counted > 1 {
            memory.setOwnerCount(slot(hole), counted - 1)
            return
        }
        var index = hole
        while true {
            index = next(index)
            let moving = self.tag(at: index)
            if moving == 0 { break }
            let wanted = home(moving)
            // The record at `index` may fill the hole iff its home is not in the cyclic range (hole, index].
            let staysPut = hole <= index ? (wanted > hole && wanted <= index) : (wanted > hole || wanted <= index)
            if staysPut { continue }
            memory.setOwnerRecord(slot(hole), tag: moving, count: count(at: index))
            hole = index
        }
        memory.setOwnerRecord(slot(hole), tag: 0, count: 0)
    }
}
