//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Synchronization

/// A snapshot of a verifier's counters, cheap to read at any time.
public struct VerifierMetrics: Sendable {
    /// Requests verified successfully.
    public var verified: Int
    /// Requests refused, by status code.
    public var refused: [KeyboundError.Code: Int]
    /// Live and not-yet-reclaimed entries in the in-process replay cache, and its capacity (`nil` for other stores).
    public var replayCacheCount: Int?
    public var replayCacheCapacity: Int?
    /// Proof-key cache lookups that hit and missed.
    public var proofKeyCacheHits: Int
    public var proofKeyCacheMisses: Int
    /// Access-token cache lookups that hit and missed: one per resource-mode request whose token and proof are within
    /// their size limits, made while reading the `Authorization` header, whether or not the request passes later.
    public var tokenCacheHits: Int
    public var tokenCacheMisses: Int

    /// Requests refused with `code` (0 when none).
    public func refusals(_ code: KeyboundError.Code) -> Int { refused[code] ?? 0 }
}

/// Lock-free counters per outcome.
final class OutcomeCounters: Sendable {
    static let slots = 64
    private let counters: InlineArray<64, Atomic<Int>>

    init() {
        counters = InlineArray { _ in Atomic(0) }
    }

    /// The slot of a code: its position in ``KeyboundError/Code/allCodes``, after slot 0 for success.
    static let slotOfCode: [Int: Int] = {
        var map: [Int: Int] = [:]
        for (index, code) in KeyboundError.Code.allCodes.enumerated() { map[code.rawValue] = index &+ 1 }
        return map
    }()

    func recordSuccess() {
        counters[0].add(1, ordering: .relaxed)
    }

    func record(_ code: KeyboundError.Code) {
        guard let slot = Self.slotOfCode[code.rawValue], slot < Self.slots else { return }
        counters[slot].add(1, ordering: .relaxed)
    }

    var successes: Int { counters[0].load(ordering: .relaxed) }

    var refusals: [KeyboundError.Code: Int] {
        var result: [KeyboundError.Code: Int] = [:]
        for code in KeyboundError.Code.allCodes {
            guard let slot = Self.slotOfCode[code.rawValue], slot < Self.slots else { continue }
            let n = counters[slot].load(ordering: .relaxed)
            if n > 0 { result[code] = n }
        }
        return result
    }
}
