//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundTestSupport
import Testing

@testable import Keybound

@Suite("ReplayCache")
struct ReplayCacheTests {
    @Test("a key inserted once is a replay the second time")
    func insertThenReplay() {
        let cache = ReplayCache(capacity: 1024)
        expectInserts(cache, .test(1), [(1065, 1000, .inserted), (1065, 1000, .replayed), (2000, 1001, .replayed)])
        #expect(cache.count == 1)
    }

    @Test("distinct keys are independent, including keys differing in one byte of either half")
    func distinctKeys() throws {
        let cache = ReplayCache(capacity: 4096)
        for n in 0..<1000 {
            #expect(cache.insert(.test(n), expiresAt: 100, now: 0) == .inserted)
        }
        for n in 0..<1000 {
            #expect(cache.insert(.test(n), expiresAt: 100, now: 0) == .replayed)
        }
        #expect(cache.count == 1000)
        // Keys that differ in a single byte, anywhere in the 32, are distinct entries.
        let base = [UInt8](repeating: 0x42, count: 32)
        #expect(cache.insert(try #require(ReplayKey(bytes: base)), expiresAt: 100, now: 0) == .inserted)
        for position in 0..<32 {
            var bytes = base
            bytes[position] ^= 0x01
            let key = try #require(ReplayKey(bytes: bytes))
            #expect(cache.insert(key, expiresAt: 100, now: 0) == .inserted, "byte \(position)")
        }
    }

    @Test("an entry is live while now <= expiresAt and accepted again from expiresAt + 1")
    func expiryEdge() {
        let cache = ReplayCache(capacity: 1024)
        // Live through 1065 inclusive; the entry re-recorded at 1066 carries its new expiry, 1130.
        expectInserts(cache, .test(7), [
            (1065, 1000, .inserted), (1065, 1064, .replayed), (1065, 1065, .replayed),
            (1130, 1066, .inserted), (1130, 1130, .replayed), (1200, 1131, .inserted),
        ])
        #expect(cache.count == 1)
    }

    @Test("a key already past its window is accepted and not stored")
    func expiredOnArrival() {
        let cache = ReplayCache(capacity: 1024)
        expectInserts(cache, .test(9), [(999, 1000, .inserted), (999, 1000, .inserted)])
        #expect(cache.count == 0)
        // A live entry still wins over a stale insert of the same key.
        expectInserts(cache, .test(9), [(1065, 1000, .inserted), (10, 1000, .replayed)])
    }

    @Test("extreme and negative times neither trap nor shorten an entry's life")
    func extremeTimes() {
        let cache = ReplayCache(capacity: 1024)
        expectInserts(cache, .test(1), [(.max, .min, .inserted), (.max, 0, .replayed), (.min, .max, .replayed)])
        // Documented: an Int64.min expiry is kept one second longer (Int64.min codes the empty slot).
        expectInserts(cache, .test(2), [(.min, .min, .inserted), (.min, .min, .replayed), (.min, .min + 2, .inserted)])
        #expect(cache.count == 2)
        expectInserts(cache, .test(3), [(-5, -10, .inserted), (-5, -5, .replayed), (0, -4, .inserted)])
        expectInserts(cache, .test(4), [(.max, .max, .inserted), (.max, .max, .replayed)])
        expectInserts(cache, .test(5), [(.min, .max, .inserted), (.max - 1, .max, .inserted)])
    }

    @Test(
        "full: .full without evicting a live entry, then accepting again once the window passes",
        arguments: [(64, 1), (256, 4), (1000, 8)]
    )
    func fullNeverEvicts(capacity: Int, stripes: Int) {
        let cache = ReplayCache(capacity: capacity, stripeCount: stripes)
        var accepted: [Int] = []
        var n = 0
        // Fill every stripe to its share: keys landing on full stripes answer .full.
        while cache.count < capacity && n < capacity * 64 {
            switch cache.insert(.test(n), expiresAt: 1065, now: 1000) {
            case .inserted: accepted.append(n)
            case .full: break
            case .replayed, .unavailable, .restarted, .quota: Issue.record("unexpected result for key \(n)")
            }
            n += 1
        }
        #expect(cache.count == capacity)
        #expect(accepted.count == capacity)
        for extra in n..<(n + 4 * capacity) {
            #expect(cache.insert(.test(extra), expiresAt: 1065, now: 1001) == .full)
        }
        for old in accepted {
            #expect(cache.insert(.test(old), expiresAt: 1065, now: 1065) == .replayed)
        }
        #expect(cache.count == capacity)
        // At 1065 everything is still live; at 1066 the whole window has passed.
        #expect(cache.insert(.test(n), expiresAt: 1200, now: 1065) == .full)
        #expect(cache.insert(.test(n), expiresAt: 1200, now: 1066) == .inserted)
        for old in accepted {
            let result = cache.insert(.test(old), expiresAt: 1130, now: 1066)
            #expect(result == .inserted || result == .full)
        }
        #expect(cache.count <= capacity)
    }

    @Test("a full stripe keeps its long-lived entries and reclaims only the expired ones")
    func partialExpiry() {
        let cache = ReplayCache(capacity: 64, stripeCount: 1)
        for n in 0..<32 {
            #expect(cache.insert(.test(n), expiresAt: 1010, now: 1000) == .inserted)
        }
        for n in 32..<64 {
            #expect(cache.insert(.test(n), expiresAt: 2000, now: 1000) == .inserted)
        }
        #expect(cache.insert(.test(64), expiresAt: 2000, now: 1010) == .full)
        for n in 100..<132 {
            #expect(cache.insert(.test(n), expiresAt: 2000, now: 1011) == .inserted)
        }
        #expect(cache.insert(.test(200), expiresAt: 2000, now: 1011) == .full)
        for n in 32..<64 {
            #expect(cache.insert(.test(n), expiresAt: 2000, now: 1500) == .replayed)
        }
        for n in 100..<132 {
            #expect(cache.insert(.test(n), expiresAt: 2000, now: 1500) == .replayed)
        }
        for n in 0..<32 {
            #expect(cache.insert(.test(n), expiresAt: 2000, now: 1500) == .full)
        }
    }

    @Test("reclaiming expired entries keeps working over 50 windows of capacity inserts")
    func churnOneStripe() {
        let capacity = 512
        let cache = ReplayCache(capacity: capacity, stripeCount: 1)
        for window in 0..<50 {
            let now = Int64(window) * 100
            for i in 0..<capacity {
                let key = ReplayKey.test(window * capacity + i)
                #expect(cache.insert(key, expiresAt: now + 65, now: now) == .inserted)
            }
            for i in stride(from: 0, to: capacity, by: 37) {
                let key = ReplayKey.test(window * capacity + i)
                #expect(cache.insert(key, expiresAt: now + 65, now: now + 65) == .replayed)
            }
            #expect(cache.insert(.test(-1 - window), expiresAt: now + 65, now: now) == .full)
            #expect(cache.count == capacity)
        }
    }

    @Test("churn across stripes: half the capacity each window never fills up")
    func churnStripes() {
        let cache = ReplayCache(capacity: 4096, stripeCount: 4)
        // 50 windows 100 s apart, 2048 new keys in each: each window's keys have expired before the next.
        for n in 0..<(50 * 2048) {
            let now = Int64(n / 2048) * 100
            #expect(cache.insert(.test(n), expiresAt: now + 65, now: now) == .inserted)
        }
        #expect(cache.count <= 4096)
    }

    @Test("sliding expiries: every insert at its own second, reuse and sweep under steady churn")
    func slidingExpiry() {
        let cache = ReplayCache(capacity: 64, stripeCount: 1)
        for t in 0..<20_000 {
            let now = Int64(t)
            #expect(cache.insert(.test(t), expiresAt: now + 40, now: now) == .inserted)
            if t >= 40 {
                #expect(cache.insert(.test(t - 40), expiresAt: now + 40, now: now) == .replayed)
            }
            if t >= 41 {
                #expect(cache.insert(.test(t - 41), expiresAt: now - 1, now: now) == .inserted)
            }
        }
        #expect(cache.count <= 64)
    }

    /// A model of one stripe: live while now <= expiresAt; absent keys are inserted while fewer than `limit` are live.
    @Test("one stripe agrees with a reference model over random operations", arguments: 0..<8)
    func differential(seed: Int) {
        let limit = 48
        let cache = ReplayCache(capacity: limit, stripeCount: 1)
        var model: [Int: Int64] = [:]
        var rng = SplitMix64(seed: UInt64(seed) &+ 77)
        var now: Int64 = -50
        var counts: [ReplayInsertResult: Int] = [:]
        for _ in 0..<20_000 {
            if rng.next() % 4 == 0 { now += Int64(rng.next() % 3) }
            let n = Int(rng.next() % 160)
            let expiresAt = now + Int64(rng.next() % 40) - 5
            let live = model.filter { $0.value >= now }
            let expected: ReplayInsertResult
            if let expiry = model[n], expiry >= now {
                expected = .replayed
            } else if expiresAt < now {
                expected = .inserted
            } else if live.count < limit {
                expected = .inserted
                model[n] = expiresAt
            } else {
                expected = .full
            }
            model = model.filter { $0.value >= now }
            let got = cache.insert(.test(n), expiresAt: expiresAt, now: now)
            #expect(got == expected)
            if got != expected { return }
            counts[got, default: 0] += 1
            #expect(cache.count <= limit)
        }
        #expect(counts[.inserted, default: 0] > 0)
        #expect(counts[.replayed, default: 0] > 0)
        #expect(counts[.full, default: 0] > 0)
    }

    @Test("a zero-capacity cache answers .full")
    func zeroCapacity() {
        let cache = ReplayCache(capacity: 0)
        #expect(cache.insert(.test(1), expiresAt: 100, now: 0) == .full)
        #expect(cache.count == 0)
        #expect(cache.allocatedBytes == 0)
    }

    @Test("stripe counts: 64 by default, fewer for small capacities, as given otherwise")
    func stripeCounts() {
        #expect(ReplayCache.defaultStripeCount(forCapacity: 1_048_576) == 64)
        #expect(ReplayCache.defaultStripeCount(forCapacity: 65_536) == 64)
        #expect(ReplayCache.defaultStripeCount(forCapacity: 4096) == 4)
        #expect(ReplayCache.defaultStripeCount(forCapacity: 100) == 1)
        #expect(ReplayCache.defaultStripeCount(forCapacity: 0) == 1)
        #expect(ReplayCache(capacity: 4096).stripeCount == 4)
        #expect(ReplayCache(capacity: 100, stripeCount: 16).stripeCount == 16)
    }

    @Test("placement is SipHash-1-3 under the cache's key: of both fingerprint words, or of an owned key's word XOR its tag")
    func placementHash() {
        let hasher = ReplayFingerprintHasher(seed0: 0x0706_0504_0302_0100, seed1: 0x0F0E_0D0C_0B0A_0908, stripeBits: 6)
        let key = (hasher.seed0, hasher.seed1)
        func bytes(_ words: [UInt64]) -> [UInt8] {
            words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
        }
        func reference(_ words: [UInt64]) -> UInt64 {
            ByteView.with(bytes(words)) { KeyedHash.siphash($0, key: key, compressionRounds: 1, finalizationRounds: 3) }
        }
        let (f0, f1): (UInt64, UInt64) = (0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3211)
        #expect(hasher.hash(f0, f1) == reference([f0, f1]))
        #expect(hasher.placement(f0, f1, owned: false) == reference([f0, f1]))
        #expect(hasher.placement(f0, f1, owned: true) == reference([f1]) ^ f0)
        // The owner's tag is not the cache's: it is made with the owner, under the process key (ReplayKeyTests).
        let owner = ReplayOwner(digest: ReplayKey(words: (1, 2, 3, 4)))
        #expect(owner.tag != reference([1, 2, 3, 4]))
        // Another key, another placement.
        let other = ReplayFingerprintHasher(seed0: 1, seed1: 2, stripeBits: 6)
        #expect(other.hash(f0, f1) != hasher.hash(f0, f1))
        #expect(hasher.stripe(of: 0xFC00_0000_0000_0000) == 63)
        #expect(hasher.slotHash(of: 0x0400_0000_0000_0001) == 0x40)
    }

    @Test("one table block, its size fixed at init, with or without the huge-page advice taken")
    func oneBlock() {
        for (capacity, share) in [(1_048_576, 131_072), (4096, 0), (0, 0)] {
            let cache = ReplayCache(capacity: capacity, keyShare: share)
            #expect(cache.storageBytes == cache.allocatedBytes)
            for n in 0..<2000 { _ = cache.insert(.test(n), owner: .test(n % 3), expiresAt: 100, now: 0) }
            #expect(cache.storageBytes == cache.allocatedBytes)
            // Small blocks hold no whole 2 MiB extent to advise; large ones are advised where Linux allows it, and
            // the answers are the same either way (the advice changes speed only).
            if capacity < 65_536 { #expect(!cache.hugePagesAdvised) }
        }
    }

    @Test("the cache is a ReplayStore")
    func storeSeam() {
        let store: any ReplayStore = ReplayCache(capacity: 16)
        #expect(store.insert(.test(1), expiresAt: 10, now: 0) == .inserted)
        #expect(store.insert(.test(1), expiresAt: 10, now: 0) == .replayed)
    }
}
