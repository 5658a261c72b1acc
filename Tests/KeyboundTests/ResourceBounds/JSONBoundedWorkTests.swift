//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundTestSupport
import Testing

@testable import Keybound

/// Bounded work in the JSON reader (docs/design.md "Contracts → Bounded work"; SECURITY.md C3, C6, D11): member names
/// chosen to collide cost no more than twice random names of the same size and shape, and an object holds at most
/// 512 members. Work is counted with ``WorkProbe`` (debug builds), never timed.
@Suite("JSON bounded work")
struct JSONBoundedWorkTests {
    static let probing = Testing.ConditionTrait.enabled(
        if: WorkProbe.isRecording, "WorkProbe records in debug builds only")

    // MARK: - Hostile member names

    struct Work: CustomStringConvertible {
        let tagChecks: Int
        let comparisons: Int
        let comparedBytes: Int
        /// Everything the duplicate check did: each tag check and each byte a full comparison read.
        var total: Int { tagChecks + comparedBytes }
        var description: String {
            "tag checks \(tagChecks), full comparisons \(comparisons), compared bytes \(comparedBytes), total \(total)"
        }
    }

    static func parseWork(_ document: [UInt8]) throws -> Work {
        let (_, probe) = try withWorkProbe {
            try ByteView.with(document) { (view) throws(KeyboundError) in
                _ = try JSON.parseObject(view, maxDepth: 16, failingWith: .proofMalformed)
            }
        }
        return Work(
            tagChecks: probe.count(.jsonNameTagChecks),
            comparisons: probe.count(.jsonNameComparisons),
            comparedBytes: probe.count(.jsonNameComparedBytes))
    }

    @Test("the generated names collide under the old unkeyed hash and are distinct")
    func namesCollideUnderTheOldHash() {
        let names = HostileJSON.names
        #expect(names.count == 512)
        #expect(Set(names).count == 512)
        #expect(Set(names.map { HostileJSON.unkeyedNameHash($0) }).count == 1)
        #expect(Set(names.map(\.count)).count == 1)
    }

    @Test("512 members with names colliding in an unkeyed hash cost at most twice random names", probing)
    func collidingVersusRandom() throws {
        let names = HostileJSON.names
        let random = HostileJSON.randomNames(like: names, seed: 0x5EC0_0001)
        let collidingDocument = HostileJSON.object(names)
        let randomDocument = HostileJSON.object(random)
        #expect(collidingDocument.count == randomDocument.count, "same size")
        let colliding = try Self.parseWork(collidingDocument)
        let baseline = try Self.parseWork(randomDocument)
        print("JSON bounded work, 512 members of \(names[0].count) bytes, \(collidingDocument.count)-byte object:")
        print("  colliding: \(colliding)")
        print("  random:    \(baseline)")
        #expect(colliding.tagChecks == 512 * 511 / 2)
        #expect(colliding.total <= 2 * baseline.total, "colliding: \(colliding); random: \(baseline)")
        #expect(colliding.comparisons <= 2 * baseline.comparisons + 2, "colliding: \(colliding); random: \(baseline)")
    }

    // MARK: - At most 512 members per object

    /// `{"m0":0,…}` with `count` members, wrapped as `prefix … suffix`.
    static func members(_ count: Int, prefix: String = "", suffix: String = "") -> String {
        "{" + prefix + (0..<count).map { "\"m\($0)\":0" }.joined(separator: ",") + suffix + "}"
    }

    static func parse(_ text: String, code: KeyboundError.Code = .proofMalformed) throws(KeyboundError) {
        try ByteView.with(Array(text.utf8)) { (view) throws(KeyboundError) in
            _ = try JSON.parseObject(view, maxDepth: 16, failingWith: code)
        }
    }

    @Test("512 members are accepted, 513 refused with the caller's code and a reason naming the bound")
    func memberBound() throws {
        #expect(JSON.maximumMembers == 512)
        try Self.parse(Self.members(512))
        for code in [KeyboundError.Code.proofMalformed, .tokenMalformed, .proofJWK] {
            let error = #expect(throws: KeyboundError(code)) { try Self.parse(Self.members(513), code: code) }
            #expect(error?.reason == "JSON object has more than 512 members")
        }
        // Far beyond: refused at member 513, the rest is never read.
        #expect(throws: KeyboundError(.proofMalformed)) { try Self.parse(Self.members(100_000)) }
    }

    @Test("the bound is per object: nested objects count their own members, and count as one in their parent")
    func memberBoundIsPerObject() throws {
        // A header of 512 members, one of them a jwk of 512 members: both at the bound, accepted.
        let jwk = Self.members(512)
        try Self.parse(Self.members(511, prefix: "\"jwk\":" + jwk + ","))
        // The same with a 513-member jwk, or with one more member in the outer object: refused.
        #expect(throws: KeyboundError(.proofMalformed)) {
            try Self.parse(Self.members(511, prefix: "\"jwk\":" + Self.members(513) + ","))
        }
        #expect(throws: KeyboundError(.proofMalformed)) {
            try Self.parse(Self.members(512, prefix: "\"jwk\":" + jwk + ","))
        }
        // cnf nested in a claims set, inside an array too: each object on its own.
        try Self.parse(#"{"cnf":"# + Self.members(512) + #","a":["# + Self.members(512) + "," + Self.members(512) + "]}")
        #expect(throws: KeyboundError(.tokenMalformed)) {
            try Self.parse(#"{"a":[{},"# + Self.members(513) + "]}", code: .tokenMalformed)
        }
        // Arrays are not objects: 1,000 elements are fine.
        try Self.parse(#"{"a":["# + (0..<1_000).map(String.init).joined(separator: ",") + "]}")
    }

    // MARK: - The keyed hash

    @Test("SipHash matches its reference vectors (SipHash-2-4, Aumasson and Bernstein, Appendix A)")
    func sipHashVectors() {
        let key = (UInt64(0x0706_0504_0302_0100), UInt64(0x0F0E_0D0C_0B0A_0908))
        let message = (0..<15).map { UInt8($0) }
        ByteView.with(message) { view in
            #expect(KeyedHash.siphash(view, key: key, compressionRounds: 2, finalizationRounds: 4) == 0xA129_CA61_49BE_45E5)
            #expect(
                KeyedHash.siphash(view[0..<0], key: key, compressionRounds: 2, finalizationRounds: 4)
                    == 0x726F_DB47_DD0E_0E31)
            #expect(
                KeyedHash.siphash(view[0..<8], key: key, compressionRounds: 2, finalizationRounds: 4)
                    == 0x93F5_F579_9A93_2462)
        }
    }

    @Test("the process key is drawn at random: the hash differs from the same function under a fixed key")
    func processKey() {
        let key = KeyedHash.processKey
        #expect(key.0 != 0 || key.1 != 0)
        ByteView.with(Array("alg".utf8)) { view in
            #expect(KeyedHash.hash(view) == KeyedHash.siphash(view, key: key, compressionRounds: 1, finalizationRounds: 3))
            #expect(KeyedHash.hash(view) != KeyedHash.siphash(view, key: (0, 0), compressionRounds: 1, finalizationRounds: 3))
        }
    }

    @Test("escaped duplicates are still found with the keyed pre-filter")
    func escapedDuplicates() {
        #expect(throws: KeyboundError(.proofMalformed)) { try Self.parse(#"{"alg":"ES256","\u0061lg":"none"}"#) }
        #expect(throws: KeyboundError(.proofMalformed)) {
            try Self.parse(#"{"a":{"x":1,"y":2,"\u0078":3}}"#)
        }
        let names = HostileJSON.names.prefix(64).map { $0 }
        #expect(throws: KeyboundError(.proofMalformed)) { try Self.parse(String(decoding: HostileJSON.object(names + [names[17]]), as: UTF8.self)) }
    }
}
