//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A fixed-size, lock-striped cache from byte strings to immutable objects.
///
/// The slots are allocated once; each key maps (by a seeded hash) to one stripe and a pair of slots in it, and a
/// new entry replaces the pair's less recently used one. Memory is therefore bounded by the slot count and the
/// largest key admitted (``maximumKeyBytes``): a flood of new keys only churns the cache (SECURITY.md D11).
/// A lookup copies nothing and allocates nothing.
///
/// - Note: `BoundedCache` is thread-safe.
final class BoundedCache<Value: AnyObject & Sendable>: Sendable {
    struct Slot {
        var hash: Int
        var key: [UInt8]
        var value: Value
        var recentlyUsed: Bool
    }

    struct StripeState {
        var slots: [Slot?]
        var hits = 0
        var misses = 0
    }

    /// One lock and the slots it guards.
    final class Stripe: Sendable {
        let state: Locked<StripeState>
        init(slots: Int) { state = Locked(StripeState(slots: Array(repeating: nil, count: slots))) }
        func withLock<R>(_ body: (inout StripeState) -> R) -> R { state.withLock { body(&$0) } }
    }

    let stripes: [Stripe]
    let stripeMask: Int
    let slotsPerStripe: Int
    /// Keys longer than this are never cached (they are verified every time instead).
    let maximumKeyBytes: Int

    /// Creates a cache of about `capacity` entries (rounded up to a power of two, at least 2 per stripe).
    init(capacity: Int, maximumKeyBytes: Int) {
        let stripeCount = capacity >= 1024 ? 64 : 4
        var perStripe = 2
        while perStripe &* stripeCount < capacity && perStripe < (1 << 24) { perStripe &*= 2 }
        self.slotsPerStripe = perStripe
        self.stripeMask = stripeCount &- 1
        self.maximumKeyBytes = maximumKeyBytes
        var stripes: [Stripe] = []
        // An empty cache is allowed (capacity 0): every lookup misses.
        let slots = capacity > 0 ? perStripe : 0
        for _ in 0..<stripeCount {
            stripes.append(Stripe(slots: slots))
        }
        self.stripes = stripes
    }

    var capacity: Int { slotsPerStripe &* (stripeMask &+ 1) }

    /// The cached value for `key`, if any.
    func value(for key: ByteView) -> Value? {
        let hash = key.seededHash()
        return stripes[hash & stripeMask].withLock { stripe -> Value? in
            guard !stripe.slots.isEmpty else { return nil }
            let first = (hash >> 8) & (slotsPerStripe &- 2)
            for index in first...(first &+ 1) {
                guard let slot = stripe.slots[index], slot.hash == hash else { continue }
                if ByteView.with(slot.key, { $0.elementsEqual(key) }) {
                    stripe.slots[index]!.recentlyUsed = true
                    stripe.hits &+= 1
                    return slot.value
                }
            }
            stripe.misses &+= 1
            return nil
        }
    }

    /// Stores `value` for `key`, replacing the less recently used entry of its pair when both are taken.
    func insert(_ value: Value, for key: ByteView) {
        guard key.count <= maximumKeyBytes else { return }
        insert(value, for: key.copyToArray(), hash: key.seededHash())
    }

    /// Stores `value` for `key` (kept as is, not copied again).
    func insert(_ value: Value, for key: [UInt8]) {
        guard key.count <= maximumKeyBytes else { return }
        insert(value, for: key, hash: ByteView.with(key) { $0.seededHash() })
    }

    private func insert(_ value: Value, for stored: [UInt8], hash: Int) {
        stripes[hash & stripeMask].withLock { stripe in
            guard !stripe.slots.isEmpty else { return }
            let first = (hash >> 8) & (slotsPerStripe &- 2)
            var victim = first
            if let a = stripe.slots[first] {
                if let b = stripe.slots[first &+ 1] {
                    // Replace the one not used since the last replacement; clear the other's mark (CLOCK-style).
                    victim = a.recentlyUsed && !b.recentlyUsed ? first &+ 1 : first
                    stripe.slots[first]!.recentlyUsed = false
                    stripe.slots[first &+ 1]!.recentlyUsed = false
                } else {
                    victim = first &+ 1
                }
                _ = a
            }
            stripe.slots[victim] = Slot(hash: hash, key: stored, value: value, recentlyUsed: false)
        }
    }

    /// Drops every entry.
    func removeAll() {
        for stripe in stripes {
            stripe.withLock { stripe in
                for i in stripe.slots.indices { stripe.slots[i] = nil }
            }
        }
    }

    /// Lookups that found an entry, and those that did not, since creation.
    var statistics: (hits: Int, misses: Int) {
        var hits = 0, misses = 0
        for stripe in stripes {
            stripe.withLock { stripe in
                hits &+= stripe.hits
                misses &+= stripe.misses
            }
        }
        return (hits, misses)
    }

    /// The number of occupied slots.
    var count: Int {
        var n = 0
        for stripe in stripes { stripe.withLock { stripe in n &+= stripe.slots.reduce(0) { $0 &+ ($1 == nil ? 0 : 1) } } }
        return n
    }
}

extension BoundedCache where Value == CheckedProofHeader {
    /// The cached client key of a proof's header (tests and diagnostics).
    func value(forTesting proof: String) -> ClientKey? {
        try? ByteView.with(utf8: proof) { (bytes) throws(KeyboundError) -> ClientKey? in
            let jws = try CompactJWS.split(bytes, maxBytes: Int.max, failingWith: .proofMalformed)
            return value(for: jws.encodedHeader)?.clientKey
        }
    }
}
