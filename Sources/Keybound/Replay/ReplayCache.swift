//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The default ``ReplayStore``: an in-process, lock-striped, fixed-memory replay cache (RFC 9449 §11.1; docs/design.md
/// "Replay"; SECURITY.md D10, D11).
///
/// **Layout.** `stripeCount` independent stripes (a power of two), each a spin lock (`SpinLocked`) around an
/// open-addressed, linearly probed table allocated once at init. Stripe `i` may hold `capacity / stripeCount` live
/// entries (the first `capacity % stripeCount` stripes one more, so the shares add up to `capacity`) in twice as many
/// slots, so no table is ever more than half occupied. A slot is 24 bytes: a 128-bit fingerprint of the key
/// (`w0 ^ mix(w2)`, `w1 ^ mix(w3)` with a fixed bijective mix, so every key byte counts) and the full 64-bit expiry; an
/// all-zero expiry word marks an empty slot.
/// That is ``bytesPerEntry`` = 24 × 2 = **48 bytes per live entry at capacity**, and ``allocatedBytes`` =
/// `48 × capacity` (48 MiB, 50,331,648 bytes, for the default 1,048,576 entries).
///
/// **Placement.** The stripe (top bits) and the home slot (remaining bits, range-reduced) come from SipHash-1-3 of the
/// fingerprint (`KeyedHash`'s function) keyed with 128 random bits drawn at init, so a client cannot aim keys at
/// one stripe or one probe run (SECURITY.md D11d).
///
/// **Memory.** All stripes' slots and owner records are one block (`ReplayTableMemory`), allocated once and advised
/// onto huge pages where Linux allows it (docs/design.md "Memory and speed of the in-process cache").
///
/// **Bound and reclamation.** Capacity is a hard bound: a stripe whose share is occupied answers `.full` and never
/// evicts a live entry (SECURITY.md D11e). Because placement is random, a stripe can reach its share a little before the
/// whole cache reaches `capacity`. Expired entries are reclaimed without a background thread: a probe reuses the
/// first expired slot it passes, and a stripe about to answer `.full` first sweeps out its expired entries, but only
/// if one of them can have expired since its last sweep (it tracks a lower bound of its entries' expiries), so a
/// stripe full of live entries answers `.full` in O(probe) and sweeps at most once per distinct `now`.
///
/// Insert never allocates. Keys are expected to be SHA-256 digests, whose fingerprints collide with probability
/// about 2^-128 per pair; two keys that agree on the 128-bit fingerprint are one key to the cache.
///
/// **Per-key share** (docs/design.md "Per-key replay share"). Made with a `keyShare` above 0 (or overrides), the cache
/// counts the entries of each ``ReplayOwner`` given to ``insert(_:owner:expiresAt:now:)`` and answers `.quota` to an
/// owner that already holds its share `S`, whatever the other owners hold. Each stripe counts its own owners under
/// its own lock; no insert takes two locks. An owned entry's fingerprint is the owner's 64-bit keyed tag and a
/// 63-bit fingerprint of the key (so two owners never share an entry). A share up to 1,024 lives in one stripe,
/// chosen by the owner's tag, and is exact. A larger one is spread over `m = min(stripes, ⌈S / 1024⌉)` consecutive
/// stripes from there, picked by the keyed hash of the fingerprint; the `j`-th of those stripes lets the owner hold
/// `S / m` entries, plus one for the first `S % m`, which add up to exactly `S`. Because that placement is random, an
/// owner with such a share can meet one stripe's part a few per cent before it holds `S` in all. The counts cost owner-count records (`ReplayOwnerCounts`): 15 bytes per entry plus 12 per
/// stripe (under 16 per entry for stripes of 12 entries or more). The verifier always passes the owner; a cache
/// should be used with owners throughout or without throughout, since the two fingerprints of one key differ.
///
/// - Note: ReplayCache is thread-safe.
public final class ReplayCache: ReplayStore, Sendable {
    /// The most live entries the cache holds.
    public let capacity: Int
    /// The stripes; the count is a power of two.
    private let stripes: [ReplayCacheStripe]
    /// The one block holding every stripe's table.
    private let memory: ReplayTableMemory
    /// The keyed hash that places fingerprints.
    private let hasher: ReplayFingerprintHasher
    /// The share of an owner without an override (0: unlimited).
    public let keyShare: Int
    /// Shares for particular owners (0: unlimited).
    public let keyShareOverrides: [ReplayOwner: Int]
    /// Whether owners are counted at all (a share or an override is set).
    private let countsOwners: Bool
    /// The split of ``keyShare`` over the stripes, computed once (no division per insert).
    private let defaultSplit: ShareSplit

    /// The largest capacity accepted (2^32 entries, 192 GiB of table): keeps every size computation far from overflow.
    package static let maximumCapacity = 1 << 32
    /// The largest stripe count accepted.
    package static let maximumStripeCount = 1 << 12
    /// The stripe count used when none is given for large capacities.
    package static let defaultStripeCount = 64
    /// The fewest entries per stripe the default stripe count aims for (fewer stripes for tiny capacities).
    package static let minimumDefaultStripeShare = 1024

    /// Makes an empty cache; all its table memory is allocated here, once.
    /// - Parameters:
    ///   - capacity: the most live entries held, `0...(1 << 32)`; 0 makes a cache that answers `.full` to everything.
    ///   - stripeCount: a power of two in `1...4096`; by default 64, halved until each stripe's share is at least
    ///     1,024 entries (or down to 1).
    ///   - keyShare: the most live entries one owner may hold, `0...capacity`; 0 (the default here; a ``Verifier``
    ///     passes ``VerifierPolicy/replayKeyShare``, capacity / 8 unless set) counts nothing.
    ///   - keyShareOverrides: shares for particular owners, each `0...capacity` (0: unlimited for that owner).
    /// - Precondition: every argument is in range (a configuration error, never input-driven).
    public init(
        capacity: Int = 1_048_576,
        stripeCount: Int? = nil,
        keyShare: Int = 0,
        keyShareOverrides: [ReplayOwner: Int] = [:]
    ) {
        precondition(capacity >= 0 && capacity <= Self.maximumCapacity, "ReplayCache capacity out of range")
        precondition(keyShare >= 0 && keyShare <= capacity, "ReplayCache keyShare out of range")
        precondition(keyShareOverrides.values.allSatisfy { $0 >= 0 && $0 <= capacity }, "ReplayCache override out of range")
        let stripes = stripeCount ?? Self.defaultStripeCount(forCapacity: capacity)
        precondition(
            stripes >= 1 && stripes <= Self.maximumStripeCount && stripes & (stripes - 1) == 0,
            "ReplayCache stripeCount must be a power of two in 1...4096"
        )
        var generator = SystemRandomNumberGenerator()
        let hasher = ReplayFingerprintHasher(
            seed0: generator.next(),
            seed1: generator.next(),
            stripeBits: stripes.trailingZeroBitCount
        )
        let share = capacity / stripes
        let extra = capacity % stripes
        let counts = keyShare > 0 || !keyShareOverrides.isEmpty
        // One block for every stripe's slots and owner records (sized from the stripes' shares, which add up to
        // `capacity`), so a large cache can sit on huge pages.
        // Every stripe gets the owner records of the largest share, so that one tag has the same record index in
        // each and the interleaved records of one owner lie side by side (ReplayOwnerCounts).
        func shareOf(_ index: Int) -> Int { share + (index < extra ? 1 : 0) }
        let records = counts ? ReplayOwnerCounts.recordCount(forLimit: shareOf(0)) : 0
        let wordsPerStripeEntry = ReplayCacheStripe.slotsPerEntry * ReplayStripeTable.wordsPerSlot
        let memory = ReplayTableMemory(slotWords: capacity * wordsPerStripeEntry, ownerRecords: records * stripes)
        var built = [ReplayCacheStripe]()
        built.reserveCapacity(stripes)
        var firstWord = 0
        for index in 0..<stripes {
            built.append(
                ReplayCacheStripe(
                    capacity: shareOf(index), memory: memory, firstWord: firstWord, index: index, stripeCount: stripes,
                    ownerRecords: records, hasher: hasher))
            firstWord += shareOf(index) * wordsPerStripeEntry
        }
        self.memory = memory
        self.capacity = capacity
        self.stripes = built
        self.hasher = hasher
        self.keyShare = keyShare
        self.keyShareOverrides = keyShareOverrides
        self.countsOwners = counts
        self.defaultSplit = Self.split(keyShare, stripes: stripes)
    }

    /// The cache a ``Verifier`` made with `policy` and no replay store of its own makes for itself: the policy's
    /// capacity, per-key share (``VerifierPolicy/effectiveReplayKeyShare``: capacity / 8 unless set) and overrides
    /// (docs/design.md, "Per-key replay share"). For a host that shares one cache between the verifiers it replaces
    /// (a configuration reload) and wants the share rule a verifier's own cache would apply.
    ///
    /// - Parameters:
    ///   - policy: the capacity, share and overrides; validated whole, as a ``Verifier`` validates it.
    ///   - backend: the backend that hashes the overrides' `jkt`s into owners (the verifier's backend).
    /// - Throws: `KeyboundError(.invalidConfiguration)` for a policy a ``Verifier`` refuses (a share or an override
    ///   outside `0...capacity`, an empty override `jkt`, …).
    public convenience init(policy: VerifierPolicy, backend: CryptoBackend = .default) throws(KeyboundError) {
        try policy.validate()
        var overrides: [ReplayOwner: Int] = [:]
        for (jkt, share) in policy.replayKeyShareOverrides {
            overrides[try ReplayOwner(jkt: jkt, backend: backend)] = share
        }
        self.init(capacity: policy.replayCacheCapacity, keyShare: policy.effectiveReplayKeyShare,
                  keyShareOverrides: overrides)
    }

    /// The default stripe count for `capacity`: 64, halved while a stripe's share would be under 1,024 entries.
    package static func defaultStripeCount(forCapacity capacity: Int) -> Int {
        var count = defaultStripeCount
        while count > 1 && capacity / count < minimumDefaultStripeShare {
            count >>= 1
        }
        return count
    }

    /// The number of stripes.
    package var stripeCount: Int { stripes.count }

    /// The occupied slots: live entries plus expired ones not yet reclaimed (reuse or sweep frees them lazily).
    /// A snapshot: other threads may change it as soon as it is read.
    public var count: Int {
        var total = 0
        for stripe in stripes {
            total += stripe.occupied
        }
        return total
    }

    /// The table memory per live entry at capacity: slot bytes (24) divided by the maximum load factor (1/2) = 48.
    /// A cache with a per-key share adds its owner counts (``ownerCountBytes``), under 16 bytes per entry.
    public static var bytesPerEntry: Int { ReplayCacheStripe.bytesPerSlot * ReplayCacheStripe.slotsPerEntry }

    /// The memory of the per-owner counts, fixed at init: 0 without a share, else 12 bytes per record,
    /// `capacity + capacity / 4 + 1` records per stripe (about 15 bytes per entry).
    public var ownerCountBytes: Int { allocatedBytes - capacity * Self.bytesPerEntry }

    /// The table memory the cache holds, fixed at init: `capacity × bytesPerEntry` plus ``ownerCountBytes``
    /// (object headers aside).
    public var allocatedBytes: Int {
        var total = 0
        for stripe in stripes {
            total += stripe.allocatedBytes
        }
        return total
    }

    /// The table memory read from its storage (the size of the one block, which never changes), not added up from
    /// the stripes' shares: tests assert it equals ``allocatedBytes`` after any number of inserts (SECURITY.md D11).
    package var storageBytes: Int { memory.byteCount }

    /// Whether the kernel took the huge-page advice for the table block (docs/design.md "Replay"; speed only).
    package var hugePagesAdvised: Bool { memory.hugePagesAdvised }

    /// A fixed bijective, non-linear mix of a word (the 64-bit finalizer of MurmurHash3), so that the fingerprint
    /// `(w0 ^ mix(w2), w1 ^ mix(w3))` of two keys with related halves (the same bit flipped in both) still differs.
    static func mix(_ word: UInt64) -> UInt64 {
        var x = word
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }

    /// Records `key` unless a live entry for it exists (atomic insert-if-absent; see ``ReplayStore``).
    ///
    /// An entry is live while `now <= expiresAt`. A key whose `expiresAt` is already before `now` is answered
    /// `.inserted` (or `.replayed` if a live entry exists) without being stored. Any `Int64` times are accepted.
    /// - Returns: `.inserted`, `.replayed`, or `.full` when the key's stripe holds its share of live entries.
    /// - Complexity: O(probe length) amortised; never allocates.
    public func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        let f0 = key.w0 ^ Self.mix(key.w2)
        // In a cache that counts owners, bit 0 of the second word marks owned entries: clear it here.
        let f1 = countsOwners ? (key.w1 ^ Self.mix(key.w3)) & ~1 : key.w1 ^ Self.mix(key.w3)
        let hash = hasher.hash(f0, f1)
        return withStripe(hasher.stripe(of: hash)) { stripe in
            stripe.insert(f0: f0, f1: f1, slotHash: hasher.slotHash(of: hash), expiresAt: expiresAt, now: now,
                          ownerLimit: .max)
        }
    }

    /// Records `key` for `owner` unless a live entry for it exists or `owner` holds its share (see ``ReplayStore``).
    ///
    /// Without a share (``keyShare`` 0 and no overrides) this is ``insert(_:expiresAt:now:)``, the owner ignored.
    /// - Returns: `.inserted`, `.replayed`, `.full`, or `.quota(retryAfter: nil)` when `owner` holds its share.
    /// The entries of one owner's share that one stripe takes before the share is spread over more stripes.
    static let ownerEntriesPerStripe = 1024

    /// How many stripes an owner with share `share` uses: one up to ``ownerEntriesPerStripe`` entries, so that a
    /// share up to that size is exact; above it, one stripe per ``ownerEntriesPerStripe`` entries (at most all), so
    /// each stripe's part is large and random placement meets it only a few per cent before the whole share.
    static func ownerSpread(share: Int, stripes: Int) -> Int {
        min(stripes, max(1, (share + ownerEntriesPerStripe - 1) / ownerEntriesPerStripe))
    }

    /// - Complexity: O(probe length) amortised, plus one owner-record probe; never allocates.
    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        guard countsOwners else { return insert(key, expiresAt: expiresAt, now: now) }
        let split = keyShareOverrides.isEmpty ? defaultSplit : keyShareOverrides[owner].map { Self.split($0, stripes: stripes.count) } ?? defaultSplit
        let tag = owner.tag
        let f0 = tag
        let f1 = (key.w0 ^ Self.mix(key.w2)) ^ Self.mix(key.w1 ^ Self.mix(key.w3)) | 1
        let hash = hasher.placement(f0, f1, owned: true)
        // The owner's `m` stripes start at one its tag's low bits choose; the low 32 bits of the hash pick one of
        // them (the slot uses the top bits, so the two are independent).
        let offset = Int(truncatingIfNeeded: ((hash & 0xFFFF_FFFF) &* UInt64(split.spread)) >> 32)
        let stripe = (Int(truncatingIfNeeded: tag) &+ offset) & (stripes.count - 1)
        let limit = offset < split.extra ? split.larger : split.smaller
        return withStripe(stripe) { stripe in
            stripe.insert(f0: f0, f1: f1, slotHash: hasher.slotHash(of: hash), expiresAt: expiresAt, now: now,
                          ownerLimit: limit)
        }
    }

    /// Runs `body` on stripe `index` without a retain and release of it around the call (two atomic operations on
    /// every insert otherwise).
    @inline(__always)
    private func withStripe(_ index: Int, _ body: (ReplayCacheStripe) -> ReplayInsertResult) -> ReplayInsertResult {
        // Safe because `stripes` never changes and holds every stripe for as long as `self` lives, which is at least
        // this call.
        unsafe Unmanaged.passUnretained(stripes[index])._withUnsafeGuaranteedRef(body)
    }

    /// How a share `S` is split over stripes: `spread` stripes (``ownerSpread(share:stripes:)``), of which the
    /// first `extra` (`S % spread`) let the owner hold `larger` entries (`S / spread + 1`) and the others `smaller`
    /// (`S / spread`); a share of 0 (unlimited) is every stripe with no limit.
    struct ShareSplit: Sendable {
        let spread: Int
        let extra: Int
        let larger: UInt32
        let smaller: UInt32
    }

    /// The split of `share` over `stripes` stripes.
    private static func split(_ share: Int, stripes: Int) -> ShareSplit {
        guard share > 0 else { return ShareSplit(spread: stripes, extra: 0, larger: .max, smaller: .max) }
        let spread = ownerSpread(share: share, stripes: stripes)
        let part = share / spread
        return ShareSplit(
            spread: spread, extra: share % spread, larger: UInt32(clamping: part + 1), smaller: UInt32(clamping: part))
    }

    /// The entries counted for `owner`, over all stripes (tests; a snapshot).
    package func ownerCount(_ owner: ReplayOwner) -> Int {
        let tag = owner.tag
        var total = 0
        for stripe in stripes { total += stripe.ownerCount(tag) }
        return total
    }
}

/// The keyed hash that places a fingerprint: SipHash-1-3 (``KeyedHash``'s function) keyed with 128 random bits drawn
/// per cache, over whole little-endian words. The top `stripeBits` bits of a hash choose the stripe, the rest the
/// home slot. Fingerprints hash 16 bytes, owned keys' words 8: the length byte of SipHash's last block keeps the two
/// apart. (An owner's tag is SipHash-1-3 of its 32 bytes under the process's key, made once with the
/// ``ReplayOwner``.)
struct ReplayFingerprintHasher: Sendable {
    let seed0: UInt64
    let seed1: UInt64
    /// log2 of the stripe count, 0...12.
    let stripeBits: Int

    /// SipHash-1-3 of `count` whole words, absorbed by `absorb`.
    @inline(__always)
    private func sipHash(words count: Int, _ absorb: (inout KeyedHash.State) -> Void) -> UInt64 {
        var state = KeyedHash.State(key: (seed0, seed1))
        absorb(&state)
        state.compress(UInt64(truncatingIfNeeded: count &* 8) &<< 56, rounds: 1)
        return state.finalize(rounds: 3)
    }

    /// The 64-bit keyed hash of a fingerprint: SipHash-1-3 of its two words (16 bytes).
    @inline(__always)
    func hash(_ f0: UInt64, _ f1: UInt64) -> UInt64 {
        sipHash(words: 2) { state in
            state.compress(f0, rounds: 1)
            state.compress(f1, rounds: 1)
        }
    }

    /// The placement hash of a stored fingerprint: ``hash(_:_:)`` of both words, or for an owned entry (first word
    /// the owner's tag, itself a keyed hash) the keyed hash of the second word alone XOR the tag: for one owner,
    /// placement is still a keyed hash of the key, moved by a secret constant, and an insert hashes one word.
    @inline(__always)
    func placement(_ f0: UInt64, _ f1: UInt64, owned: Bool) -> UInt64 {
        guard owned else { return hash(f0, f1) }
        return sipHash(words: 1) { state in state.compress(f1, rounds: 1) } ^ f0
    }

    /// The stripe index: the top `stripeBits` bits of `hash`.
    @inline(__always)
    func stripe(of hash: UInt64) -> Int {
        // A smart shift by 64 (stripeBits == 0) yields 0.
        Int(truncatingIfNeeded: hash >> (64 - stripeBits))
    }

    /// The bits left for the slot once the stripe bits are dropped (left-aligned).
    @inline(__always)
    func slotHash(of hash: UInt64) -> UInt64 {
        hash << stripeBits
    }
}
