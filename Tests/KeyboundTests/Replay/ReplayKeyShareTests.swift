//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundTestSupport
import Testing

@testable import Keybound

extension ReplayOwner {
    /// A digest-like owner derived from `n` (distinct `n`, distinct owners).
    static func test(_ n: Int) -> ReplayOwner {
        ReplayOwner(digest: .test(n, salt: 0x0_0E4E))
    }
}

/// The per-key share of the in-process cache (docs/design.md "Per-key replay share").
@Suite("ReplayCache per-key share")
struct ReplayKeyShareTests {
    @Test("one owner past its share gets .quota; another owner's first entry is still inserted")
    func floodDoesNotBlockOthers() {
        let cache = ReplayCache(capacity: 64, stripeCount: 1, keyShare: 8)
        let flooder = ReplayOwner.test(1)
        expectEach(cache, 0..<8, owner: flooder, expiresAt: 100, now: 0, .inserted)
        expectEach(cache, 8..<40, owner: flooder, expiresAt: 100, now: 0, .quota(retryAfter: nil))
        #expect(cache.ownerCount(flooder) == 8)
        #expect(cache.count == 8, "a refused entry is not recorded")
        // A replay of the flooder's own proof is still a replay, not a quota refusal.
        #expect(cache.insert(.test(3), owner: flooder, expiresAt: 100, now: 0) == .replayed)
        for other in 2..<9 {
            #expect(cache.insert(.test(1000 + other), owner: .test(other), expiresAt: 100, now: 0) == .inserted)
        }
    }

    @Test("an owner's entries expire: once they have, it may record again")
    func shareFreesOnExpiry() {
        let cache = ReplayCache(capacity: 64, stripeCount: 1, keyShare: 4)
        let owner = ReplayOwner.test(1)
        expectEach(cache, 0..<4, owner: owner, expiresAt: 100, now: 0, .inserted)
        #expect(cache.insert(.test(4), owner: owner, expiresAt: 100, now: 100) == .quota(retryAfter: nil))
        // From 101 on, the four entries are expired: reclaimed, the owner is back under its share.
        expectEach(cache, 4..<8, owner: owner, expiresAt: 200, now: 101, .inserted)
        #expect(cache.ownerCount(owner) == 4)
        #expect(cache.insert(.test(8), owner: owner, expiresAt: 200, now: 101) == .quota(retryAfter: nil))
    }

    @Test("the share is exact over many stripes, also when it is smaller than the stripe count")
    func exactOverStripes() {
        for (stripes, share) in [(4, 100), (16, 3), (16, 21), (64, 64), (8, 1)] {
            // Every stripe holds at least twice the share (8,192 / 64 = 128 for the 64-entry share, which lies in one
            // stripe): the last insert below, for another owner, must find room in whichever stripe it lands. With
            // 4,096 a stripe held exactly 64, and one run in 64 (the stripe depends on the cache's random seed) put
            // that insert in the owner's full stripe and got `.full`.
            let cache = ReplayCache(capacity: 8192, stripeCount: stripes, keyShare: share)
            let owner = ReplayOwner.test(stripes * 1000 + share)
            var inserted = 0
            for n in 0..<(share * 40) {
                let result = cache.insert(.test(n), owner: owner, expiresAt: 100, now: 0)
                if result == .inserted {
                    inserted += 1
                } else {
                    #expect(result == .quota(retryAfter: nil))
                }
            }
            #expect(inserted == share, "stripes \(stripes), share \(share)")
            #expect(cache.ownerCount(owner) == share)
            #expect(cache.insert(.test(99_999), owner: .test(7), expiresAt: 100, now: 0) == .inserted)
        }
    }

    @Test("a key is refused on its S+1-th live entry, not before: exact up to 1,024, nearly so above")
    func noEarlyRefusal() {
        let cases = [(65_536, 64, 2), (65_536, 64, 100), (65_536, 64, 1000), (262_144, 64, 3000)]
        for (capacity, stripes, share) in cases {
            let cache = ReplayCache(capacity: capacity, stripeCount: stripes, keyShare: share)
            let owner = ReplayOwner.test(share)
            var firstRefusal: Int?
            var inserted = 0
            for n in 0..<(share * 4) {
                switch cache.insert(.test(n), owner: owner, expiresAt: 100, now: 0) {
                case .inserted: inserted += 1
                case .quota: firstRefusal = firstRefusal ?? n
                case let other: Issue.record("unexpected \(other) at \(n)")
                }
            }
            #expect(inserted == share, "share \(share)")
            let note: Comment = "share \(share): refused first at \(String(describing: firstRefusal))"
            if share <= ReplayCache.ownerEntriesPerStripe {
                #expect(firstRefusal == share, note)
            } else {
                // Spread over ⌈S / 1024⌉ stripes of about 1,000 each: the first refusal comes late, never early.
                #expect((firstRefusal ?? 0) >= share * 9 / 10, note)
            }
        }
        #expect(ReplayCache.ownerSpread(share: 1024, stripes: 64) == 1)
        #expect(ReplayCache.ownerSpread(share: 1025, stripes: 64) == 2)
        #expect(ReplayCache.ownerSpread(share: 131_072, stripes: 64) == 64)
        #expect(ReplayCache.ownerSpread(share: 5000, stripes: 4) == 4)
    }

    @Test("overrides: a smaller share, a larger one, and 0 for unlimited")
    func overrides() {
        let small = ReplayOwner.test(1)
        let large = ReplayOwner.test(2)
        let free = ReplayOwner.test(3)
        let cache = ReplayCache(capacity: 256, stripeCount: 1, keyShare: 4,
                                keyShareOverrides: [small: 1, large: 10, free: 0])
        func accepted(_ owner: ReplayOwner, _ base: Int) -> Int {
            (0..<50).filter { cache.insert(.test(base + $0), owner: owner, expiresAt: 100, now: 0) == .inserted }.count
        }
        #expect(accepted(small, 0) == 1)
        #expect(accepted(large, 100) == 10)
        #expect(accepted(free, 200) == 50)
        #expect(accepted(.test(4), 300) == 4)
    }

    @Test("without a share the owner is ignored; entries recorded without an owner are never refused for quota")
    func shareOffAndOwnerless() {
        let off = ReplayCache(capacity: 64, stripeCount: 1)
        #expect(off.ownerCountBytes == 0)
        expectEach(off, 0..<64, owner: .test(1), expiresAt: 100, now: 0, .inserted)
        #expect(off.insert(.test(64), owner: .test(1), expiresAt: 100, now: 0) == .full)

        let on = ReplayCache(capacity: 64, stripeCount: 1, keyShare: 2)
        for n in 0..<10 {
            #expect(on.insert(.test(n), expiresAt: 100, now: 0) == .inserted)
        }
        #expect(on.insert(.test(3), expiresAt: 100, now: 0) == .replayed)
    }

    @Test("the cache full of other owners answers .full, and .quota wins for an owner at its share")
    func fullVersusQuota() {
        let cache = ReplayCache(capacity: 8, stripeCount: 1, keyShare: 2)
        for n in 0..<8 {
            #expect(cache.insert(.test(n), owner: .test(n / 2), expiresAt: 100, now: 0) == .inserted)
        }
        #expect(cache.insert(.test(50), owner: .test(99), expiresAt: 100, now: 0) == .full)
        #expect(cache.insert(.test(51), owner: .test(0), expiresAt: 100, now: 0) == .quota(retryAfter: nil))
    }

    @Test("owner counts match a reference model through inserts, replays, expiry and reclamation")
    func modelCheck() {
        var rng = SplitMix64(seed: 0x5EED)
        let capacity = 48
        let share = 6
        let cache = ReplayCache(capacity: capacity, stripeCount: 1, keyShare: share)
        // The reference: key number -> (owner, expiry).
        var live: [Int: (owner: Int, expiresAt: Int64)] = [:]
        var now: Int64 = 0
        for step in 0..<20_000 {
            if rng.next() % 16 == 0 { now += Int64(rng.next() % 3) }
            let owner = Int(rng.next() % 12)
            let key = step % 3 == 0 && !live.isEmpty ? live.keys.sorted()[Int(rng.next() % UInt64(live.count))]
                : 10_000 + step
            let keyOwner = live[key]?.owner ?? owner
            let expiresAt = now + Int64(rng.next() % 8)
            live = live.filter { $0.value.expiresAt >= now }
            let expected: ReplayInsertResult
            if live[key] != nil {
                expected = .replayed
            } else if live.values.filter({ $0.owner == keyOwner }).count >= share {
                expected = .quota(retryAfter: nil)
            } else if live.count >= capacity {
                expected = .full
            } else {
                expected = .inserted
                live[key] = (keyOwner, expiresAt)
            }
            let got = cache.insert(.test(key), owner: .test(keyOwner), expiresAt: expiresAt, now: now)
            #expect(got == expected, "step \(step)")
            if got != expected { return }
        }
    }

    @Test("the owner counts cost under 16 bytes per entry, allocated once")
    func memory() {
        for (capacity, stripes) in [(65_536, 64), (1_048_576, 64), (4096, 4), (1000, 8)] {
            let cache = ReplayCache(capacity: capacity, stripeCount: stripes, keyShare: capacity / 8)
            #expect(cache.ownerCountBytes <= 16 * capacity, "\(capacity)")
            #expect(cache.ownerCountBytes > 0)
            #expect(cache.storageBytes >= cache.allocatedBytes)
            for n in 0..<1000 {
                _ = cache.insert(.test(n), owner: .test(n % 7), expiresAt: 100, now: 0)
            }
            // Array capacities round up to the allocator's size classes (at most a page per array).
            #expect(cache.storageBytes <= cache.allocatedBytes + cache.stripeCount * 3 * 4096)
        }
    }
}

/// The cache a policy asks for: the rule a verifier's own cache applies, for hosts that make the cache themselves.
@Suite("ReplayCache from a verifier policy")
struct ReplayCachePolicyTests {
    @Test("capacity / 8 unless set, the set share, and the overrides, as a verifier's own cache has them")
    func policyShare() throws {
        var policy = VerifierPolicy()
        policy.replayCacheCapacity = 4096
        let byDefault = try ReplayCache(policy: policy)
        #expect(byDefault.capacity == 4096 && byDefault.keyShare == 512 && byDefault.keyShareOverrides.isEmpty)
        policy.replayKeyShare = 0
        #expect(try ReplayCache(policy: policy).keyShare == 0)
        policy.replayKeyShare = 10
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        policy.replayKeyShareOverrides = [jkt: 20]
        let set = try ReplayCache(policy: policy)
        #expect(set.keyShare == 10)
        #expect(set.keyShareOverrides == [try ReplayOwner(jkt: jkt): 20])
    }

    @Test("a policy a verifier refuses is refused here too: invalid_configuration")
    func refusedPolicies() {
        var tooLarge = VerifierPolicy()
        tooLarge.replayCacheCapacity = 1024
        tooLarge.replayKeyShare = 1025
        #expect(throws: KeyboundError(.invalidConfiguration)) { _ = try ReplayCache(policy: tooLarge) }
        var emptyJKT = VerifierPolicy()
        emptyJKT.replayKeyShareOverrides = ["": 4]
        #expect(throws: KeyboundError(.invalidConfiguration)) { _ = try ReplayCache(policy: emptyJKT) }
        var noCapacity = VerifierPolicy()
        noCapacity.replayCacheCapacity = 0
        #expect(throws: KeyboundError(.invalidConfiguration)) { _ = try ReplayCache(policy: noCapacity) }
    }
}
