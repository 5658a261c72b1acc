//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// One stripe of a ``ReplayCache``: a mutex around a fixed open-addressed table (docs/design.md "Replay").
///
/// - Note: ReplayCacheStripe is thread-safe: every access to its table holds its lock.
final class ReplayCacheStripe: Sendable {
    /// Bytes per slot: two fingerprint words and one expiry word.
    static let bytesPerSlot = ReplayStripeTable.wordsPerSlot * 8
    /// Slots allocated per entry of capacity (the inverse of the maximum load factor, 1/2).
    static let slotsPerEntry = 2

    /// The table, behind a spin lock (`SpinLocked`: one compare-and-swap in, one releasing store out), which
    /// ThreadSanitizer sees.
    private let table: SpinLocked<ReplayStripeTable>
    /// Where the table's slots and owner records lie (immutable, so read without the lock).
    private let lines: ReplayStripeLines
    /// Table bytes held, fixed at init.
    let allocatedBytes: Int
    /// Keeps one stripe's lock word and counters off the next stripe's cache line (the objects are allocated
    /// back to back), so threads working on different stripes do not share a line.
    private let _padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    /// A stripe that may hold `capacity` live entries, in `2 × capacity` slots from slot word `firstWord` of
    /// `memory`; with `ownerRecords` above 0 (``ReplayOwnerCounts/recordCount(forLimit:)`` of the largest stripe's
    /// share), plus that many owner records, stripe `index` of `stripeCount` interleaved ones (docs/design.md
    /// "Per-key replay share").
    init(
        capacity: Int, memory: ReplayTableMemory, firstWord: Int, index: Int, stripeCount: Int, ownerRecords: Int,
        hasher: ReplayFingerprintHasher
    ) {
        let slotCount = capacity * Self.slotsPerEntry
        let owners = ReplayOwnerCounts(memory: memory, first: index, stride: stripeCount, records: ownerRecords)
        self.lines = ReplayStripeLines(memory: memory, firstWord: firstWord, slotCount: slotCount, owners: owners)
        self.table = SpinLocked(
            ReplayStripeTable(
                limit: capacity, slotCount: slotCount, memory: memory, firstWord: firstWord, owners: owners,
                hasher: hasher))
        self.allocatedBytes = slotCount * Self.bytesPerSlot + ownerRecords * ReplayOwnerCounts.bytesPerRecord
    }

    /// Runs `body` on the table under the stripe's lock.
    private func withTable<Result: Sendable>(_ body: (inout ReplayStripeTable) -> Result) -> Result {
        table.withLock { table in body(&table) }
    }

    /// The occupied slots (live plus not yet reclaimed).
    var occupied: Int {
        withTable { $0.occupied }
    }

    /// Insert-if-absent under the stripe's lock; see
    /// ``ReplayStripeTable/insert(f0:f1:slotHash:expiresAt:now:ownerLimit:)``. The entry's home slot and its owner's
    /// record are prefetched first, so their cache misses overlap the lock instead of following it.
    func insert(
        f0: UInt64, f1: UInt64, slotHash: UInt64, expiresAt: Int64, now: Int64, ownerLimit: UInt32
    ) -> ReplayInsertResult {
        lines.prefetch(f0: f0, f1: f1, slotHash: slotHash)
        return withTable { table in
            table.insert(f0: f0, f1: f1, slotHash: slotHash, expiresAt: expiresAt, now: now, ownerLimit: ownerLimit)
        }
    }

    /// The live-or-unreclaimed entries this stripe counts for an owner tag (tests).
    func ownerCount(_ tag: UInt64) -> Int {
        withTable { Int($0.owners.count(of: tag)) }
    }
}

/// The place of one stripe's slots and owner records in the cache's block: immutable, so an insert may read it
/// before taking the stripe's lock, to prefetch the lines it is about to touch.
struct ReplayStripeLines: Sendable {
    let memory: ReplayTableMemory
    let firstWord: Int
    let slotCount: Int
    let owners: ReplayOwnerCounts

    /// Prefetches the home slot of `slotHash` and, for an owned entry in a cache that counts owners, the home record
    /// of its owner's tag `f0` (where a lookup starts; the probe rarely goes further).
    @inline(__always)
    func prefetch(f0: UInt64, f1: UInt64, slotHash: UInt64) {
        guard slotCount > 0 else { return }
        let home = ReplayStripeTable.home(slotHash, slotCount: slotCount)
        memory.prefetchSlot(atWord: firstWord &+ home &* ReplayStripeTable.wordsPerSlot)
        if owners.isCounting && ReplayStripeTable.isOwned(f1) { owners.prefetchHome(of: f0) }
    }
}

/// A linearly probed table of (fingerprint, expiry) slots, allocated once; not thread-safe (its stripe locks it).
///
/// Slot `i` is `word(3i)`, `word(3i + 1)` (the 128-bit fingerprint) and `word(3i + 2)`, the expiry coded so that
/// unsigned order is time order: `UInt64(bitPattern: expiresAt) ^ 1 << 63`. Code 0 (`Int64.min`) marks an empty
/// slot. Expired entries stay in place, occupied, until a probe reuses their slot or a sweep removes them, so every
/// probe run stays contiguous: a key is absent only once a probe from its home reaches an empty slot.
///
/// Invariant: `occupied <= limit < slotCount` whenever `limit > 0`, so every probe meets an empty slot.
///
/// **Owners.** In a cache that counts owners, an entry recorded with an owner has the owner's 64-bit tag as its first
/// fingerprint word and bit 0 of its second word set (an entry recorded without one has that bit clear), and
/// ``owners`` counts, per tag, the occupied slots holding such entries. Every place that frees or reuses an occupied
/// slot (reuse of an expired slot, the sweep) takes one off its owner's count, so the counts always equal the
/// owned entries in the table, live or not yet reclaimed.
struct ReplayStripeTable {
    static let wordsPerSlot = 3

    /// The cache's table block; this stripe's slot words are `firstWord ..< firstWord + wordsPerSlot × slotCount`.
    private let memory: ReplayTableMemory
    private let firstWord: Int
    /// The number of slots (`2 × limit`).
    let slotCount: Int
    /// The most occupied slots (live plus expired-not-reclaimed) the table takes: the stripe's share of capacity.
    let limit: Int
    /// Slots holding an entry, live or expired.
    private(set) var occupied: Int = 0
    /// A lower bound of the expiry codes of the occupied slots (`UInt64.max` when none): no entry can have expired
    /// while `nowCode <= oldestExpiry`, so a sweep then would free nothing.
    private var oldestExpiry: UInt64 = .max
    /// Recomputes home slots during a sweep.
    private let hasher: ReplayFingerprintHasher
    /// Owned entries per owner tag (empty, and never consulted, in a cache that does not count owners).
    let owners: ReplayOwnerCounts

    init(
        limit: Int, slotCount: Int, memory: ReplayTableMemory, firstWord: Int, owners: ReplayOwnerCounts,
        hasher: ReplayFingerprintHasher
    ) {
        self.memory = memory
        self.firstWord = firstWord
        self.slotCount = slotCount
        self.limit = limit
        self.hasher = hasher
        self.owners = owners
    }

    /// Slot word `index` of this stripe (`0 ..< wordsPerSlot × slotCount`).
    @inline(__always)
    private func word(_ index: Int) -> UInt64 { memory.word(firstWord &+ index) }

    @inline(__always)
    private func setWord(_ index: Int, _ value: UInt64) { memory.setWord(firstWord &+ index, value) }

    /// Whether a stored second fingerprint word marks an entry recorded with an owner.
    @inline(__always)
    static func isOwned(_ f1: UInt64) -> Bool { f1 & 1 != 0 }

    /// Takes the entry in occupied slot `index` off its owner's count, when it has an owner.
    private func release(_ index: Int) {
        let base = index &* Self.wordsPerSlot
        if owners.isCounting && Self.isOwned(word(base + 1)) { owners.decrement(word(base)) }
    }

    /// The order-preserving code of a time: `Int64.min` → 0, `Int64.max` → `UInt64.max`.
    static func code(_ time: Int64) -> UInt64 {
        UInt64(bitPattern: time) ^ (1 << 63)
    }

    /// The home slot of a left-aligned slot hash: `slotHash × slotCount / 2^64`, in `0..<slotCount`.
    @inline(__always)
    static func home(_ slotHash: UInt64, slotCount: Int) -> Int {
        Int(truncatingIfNeeded: slotHash.multipliedFullWidth(by: UInt64(slotCount)).high)
    }

    @inline(__always)
    private func home(_ slotHash: UInt64) -> Int { Self.home(slotHash, slotCount: slotCount) }

    /// The slot after `index`, wrapping at the end.
    private func next(_ index: Int) -> Int {
        let following = index &+ 1
        return following == slotCount ? 0 : following
    }

    private mutating func store(_ index: Int, _ f0: UInt64, _ f1: UInt64, _ expiry: UInt64) {
        let base = index &* Self.wordsPerSlot
        setWord(base, f0)
        setWord(base + 1, f1)
        setWord(base + 2, expiry)
        if expiry < oldestExpiry { oldestExpiry = expiry }
    }

    private func clear(_ index: Int) {
        let base = index &* Self.wordsPerSlot
        setWord(base, 0)
        setWord(base + 1, 0)
        setWord(base + 2, 0)
    }

    /// The first empty slot at or after `index` (one exists by the invariant).
    private func firstEmpty(from index: Int) -> Int {
        var slot = index
        while word(slot &* Self.wordsPerSlot &+ 2) != 0 {
            slot = next(slot)
        }
        return slot
    }

    /// Atomic (under the stripe lock) insert-if-absent of a fingerprint.
    ///
    /// Probes from the home slot to the first empty slot: a live match is `.replayed`; otherwise the entry goes into
    /// the first expired slot passed (or the expired match), else into the empty slot if the table is under its
    /// limit, else, after a sweep that could free something, into the first empty slot from home; else `.full`.
    /// An owned entry (bit 0 of `f1` set, owner tag `f0`) that would raise its owner's count past `ownerLimit` is
    /// `.quota` instead (after a sweep that could free something), checked before `.full`; a replay stays `.replayed`
    /// and re-recording the owner's own expired entry in place is not a new entry.
    /// - Complexity: O(probe length); a sweep, O(slotCount), runs at most once per distinct `now` while full.
    mutating func insert(
        f0: UInt64, f1: UInt64, slotHash: UInt64, expiresAt: Int64, now: Int64, ownerLimit: UInt32
    ) -> ReplayInsertResult {
        guard slotCount > 0 else { return .full }
        let nowCode = Self.code(now)
        // `Int64.min` codes as 0, the empty mark: such an entry (live only when now == Int64.min) is kept one second
        // longer, which errs on the side of reporting a replay.
        let expiry = max(Self.code(expiresAt), 1)
        let homeSlot = home(slotHash)
        // The owner's record is looked up first: its load is independent of the probe's, so in a large table the
        // two cache misses overlap instead of following each other.
        let owned = owners.isCounting && Self.isOwned(f1)
        let record = owned ? owners.find(f0) : 0
        var index = homeSlot
        var reusable = -1
        while true {
            let base = index &* Self.wordsPerSlot
            let stored = word(base + 2)
            if stored == 0 { break }
            if word(base) == f0 && word(base + 1) == f1 {
                if stored >= nowCode { return .replayed }
                // The same key, expired: it may be recorded again, in its own slot (the same owner's count).
                if expiry >= nowCode { store(index, f0, f1, expiry) }
                return .inserted
            }
            if reusable < 0 && stored < nowCode { reusable = index }
            index = next(index)
        }
        // Absent. A proof already past its window needs no entry.
        if expiry < nowCode { return .inserted }
        if owned && owners.count(at: record, of: f0) >= ownerLimit {
            // Over the owner's share, unless reclaiming its own expired entries brings it back under.
            guard oldestExpiry < nowCode else { return .quota(retryAfter: nil) }
            sweep(nowCode: nowCode)
            guard owners.count(of: f0) < ownerLimit else { return .quota(retryAfter: nil) }
            return placeAfterSweep(f0: f0, f1: f1, expiry: expiry, homeSlot: homeSlot)
        }
        if reusable >= 0 {
            // The release may move owner records (backward shift), so the owner's record is found again.
            release(reusable)
            store(reusable, f0, f1, expiry)
            if owned { owners.increment(f0) }
            return .inserted
        }
        if occupied < limit {
            store(index, f0, f1, expiry)
            occupied += 1
            if owned { owners.increment(at: record, f0) }
            return .inserted
        }
        if oldestExpiry < nowCode {
            sweep(nowCode: nowCode)
            return placeAfterSweep(f0: f0, f1: f1, expiry: expiry, homeSlot: homeSlot)
        }
        return .full
    }

    /// Stores an absent entry after a sweep (which moved entries, so earlier probe positions are stale), or `.full`.
    private mutating func placeAfterSweep(f0: UInt64, f1: UInt64, expiry: UInt64, homeSlot: Int) -> ReplayInsertResult {
        guard occupied < limit else { return .full }
        store(firstEmpty(from: homeSlot), f0, f1, expiry)
        occupied += 1
        if owners.isCounting && Self.isOwned(f1) { owners.increment(f0) }
        return .inserted
    }

    /// Removes every entry expired at `nowCode` and re-places the entries whose probe run they broke.
    ///
    /// One pass over the slots, starting after a slot that is empty before the sweep (no probe run crosses it). In
    /// each run of occupied slots, once an expired entry has been removed, every later live entry of that run is
    /// taken out and re-inserted from its home slot: the first empty slot from there is at or before its old slot,
    /// so slots not yet visited are untouched and every run stays contiguous.
    private mutating func sweep(nowCode: UInt64) {
        let start = firstEmpty(from: 0)
        var index = start
        var holeInRun = false
        var oldest = UInt64.max
        for _ in 1..<slotCount {
            index = next(index)
            let base = index &* Self.wordsPerSlot
            let stored = word(base + 2)
            if stored == 0 {
                holeInRun = false
                continue
            }
            if stored < nowCode {
                release(index)
                clear(index)
                occupied -= 1
                holeInRun = true
                continue
            }
            if holeInRun {
                let f0 = word(base)
                let f1 = word(base + 1)
                clear(index)
                let owned = owners.isCounting && Self.isOwned(f1)
                let target = firstEmpty(from: home(hasher.slotHash(of: hasher.placement(f0, f1, owned: owned))))
                let targetBase = target &* Self.wordsPerSlot
                setWord(targetBase, f0)
                setWord(targetBase + 1, f1)
                setWord(targetBase + 2, stored)
            }
            if stored < oldest { oldest = stored }
        }
        oldestExpiry = oldest
    }
}
