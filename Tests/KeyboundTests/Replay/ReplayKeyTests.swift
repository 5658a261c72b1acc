//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport
import Testing

@testable import Keybound

@Suite("ReplayKey")
struct ReplayKeyTests {
    @Test("32 bytes round trip, packed big-endian into four words")
    func bytesRoundTrip() throws {
        let input = (0..<32).map { UInt8($0) }
        let key = try #require(ReplayKey(bytes: input))
        #expect(key.bytes == input)
        #expect(key.words.0 == 0x0001_0203_0405_0607)
        #expect(key.words.1 == 0x0809_0A0B_0C0D_0E0F)
        #expect(key.words.2 == 0x1011_1213_1415_1617)
        #expect(key.words.3 == 0x1819_1A1B_1C1D_1E1F)
        let again = ReplayKey(words: key.words)
        #expect(again == key)
        #expect(again.hashValue == key.hashValue)
    }

    @Test("any 32 bytes round trip", arguments: 0..<64)
    func randomRoundTrip(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let input = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let key = try #require(ReplayKey(bytes: input))
        #expect(key.bytes == input)
        #expect(ReplayKey(bytes: key.bytes) == key)
    }

    @Test("only exactly 32 bytes make a key", arguments: [0, 1, 16, 31, 33, 64])
    func wrongLength(count: Int) {
        #expect(ReplayKey(bytes: [UInt8](repeating: 0xAB, count: count)) == nil)
    }

    @Test("distinct bytes, distinct keys")
    func distinct() throws {
        let a = try #require(ReplayKey(bytes: [UInt8](repeating: 0, count: 32)))
        var last = [UInt8](repeating: 0, count: 32)
        last[31] = 1
        let b = try #require(ReplayKey(bytes: last))
        #expect(a != b)
    }

    @Test("base64url: known values, unpadded, 43 characters")
    func base64URLKnown() throws {
        let zero = try #require(ReplayKey(bytes: [UInt8](repeating: 0, count: 32)))
        #expect(zero.base64URL == String(repeating: "A", count: 43))
        let ones = try #require(ReplayKey(bytes: [UInt8](repeating: 0xFF, count: 32)))
        #expect(ones.base64URL == String(repeating: "_", count: 42) + "8")
        let counting = try #require(ReplayKey(bytes: (0..<32).map { UInt8($0) }))
        #expect(counting.base64URL == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        // 0xFB 0xFF 0xBF is "-_-_": both characters that differ from standard base64.
        let aligned = try #require(ReplayKey(bytes: [0xFB, 0xFF, 0xBF] + [UInt8](repeating: 0, count: 29)))
        #expect(aligned.base64URL.hasPrefix("-_-_"))
    }

    @Test("base64url agrees with Foundation's base64 (URL alphabet, no padding)", arguments: 0..<64)
    func base64URLOracle(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 1000)
        let input = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let key = try #require(ReplayKey(bytes: input))
        let expected = Data(input).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        #expect(key.base64URL == expected)
        #expect(key.base64URL.utf8.count == 43)
    }

    // MARK: - Owners

    /// The owner tag by the reference SipHash over the bytes its words pack, little-endian word by word.
    private static func referenceTag(_ owner: ReplayOwner) -> UInt64 {
        let w = owner.digest.words
        let bytes = [w.0, w.1, w.2, w.3].flatMap { word in withUnsafeBytes(of: word.littleEndian, Array.init) }
        let tag = ByteView.with(bytes) { view in
            KeyedHash.siphash(view, key: KeyedHash.processKey, compressionRounds: 1, finalizationRounds: 3)
        }
        return tag == 0 ? 0x9E37_79B9_7F4A_7C15 : tag
    }

    @Test("an owner's tag is SipHash-1-3 of its 32 bytes under the process key, however the owner is made")
    func ownerTag() throws {
        var rng = SplitMix64(seed: 0x7A6)
        var tags = Set<UInt64>()
        for _ in 0..<1000 {
            let bytes = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let owner = try #require(ReplayOwner(bytes: bytes))
            #expect(owner.tag == Self.referenceTag(owner))
            #expect(owner.tag != 0)
            #expect(ReplayOwner(digest: owner.digest).tag == owner.tag)
            tags.insert(owner.tag)
        }
        #expect(tags.count == 1000, "distinct owners, distinct tags")
        // From a jkt: the tag of SHA-256 of its ASCII, the same as the owner made from those 32 bytes.
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        let fromJKT = try ReplayOwner(jkt: jkt)
        let fromBytes = try #require(ReplayOwner(bytes: fromJKT.bytes))
        #expect(fromJKT.tag == fromBytes.tag)
        #expect(fromJKT == fromBytes)
        #expect(fromJKT.hashValue == fromBytes.hashValue)
    }

    @Test("owners are equal, and hash alike, exactly when their bytes are")
    func ownerEquality() throws {
        let a = try #require(ReplayOwner(bytes: [UInt8](repeating: 7, count: 32)))
        var other = [UInt8](repeating: 7, count: 32)
        other[31] = 8
        let b = try #require(ReplayOwner(bytes: other))
        #expect(a != b)
        #expect(a.tag != b.tag)
        #expect(a == ReplayOwner(digest: a.digest))
        let overrides: [ReplayOwner: Int] = [a: 1, b: 2]
        #expect(overrides[try #require(ReplayOwner(bytes: a.bytes))] == 1)
        #expect(overrides[try #require(ReplayOwner(bytes: other))] == 2)
    }
}
