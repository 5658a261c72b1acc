//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

private typealias T = CryptoTestSupport

@Suite("Crypto: Digest")
struct CryptoDigestTests {
    private func sha256(_ bytes: [UInt8]) -> SHA256Digest {
        (try? ByteView.with(bytes) { (b) throws(KeyboundError) -> SHA256Digest in try CryptoBackend.forTests.sha256(b) }) ?? SHA256Digest()
    }

    private func hmac(key: [UInt8], message: [UInt8]) throws -> SHA256Digest {
        try ByteView.with(key) { (k) throws(KeyboundError) -> SHA256Digest in
            try ByteView.with(message) { (m) throws(KeyboundError) -> SHA256Digest in
                try CryptoBackend.forTests.hmacSHA256(key: k, message: m)
            }
        }
    }

    @Test("SHA-256 known answers (FIPS 180-4 examples)")
    func sha256KnownAnswers() {
        #expect(
            sha256([]).bytes == T.hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        )
        #expect(
            sha256(Array("abc".utf8)).bytes
                == T.hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        )
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(sha256(long).bytes == T.hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"))
    }

    @Test("SHA256Digest is 32 inline bytes; equality and hashing follow the bytes")
    func digestValue() {
        #expect(MemoryLayout<SHA256Digest>.size == 32)
        let a = sha256(Array("abc".utf8))
        let b = sha256(Array("abc".utf8))
        let c = sha256(Array("abd".utf8))
        #expect(a == b)
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
        #expect(a.withByteView { $0.count } == 32)
        #expect(a.withByteView { $0.copyToArray() } == a.bytes)
    }

    @Test("HMAC-SHA-256 known answers (RFC 4231 §4.2, §4.3, §4.5 truncated, §4.6 long key)")
    func hmacKnownAnswers() throws {
        #expect(
            try hmac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)).bytes
                == T.hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        )
        #expect(
            try hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)).bytes
                == T.hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        )
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        #expect(
            try hmac(key: longKey, message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)).bytes
                == T.hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        )
        // Empty key and empty message are valid inputs (RFC 2104 pads the key with zeros).
        #expect(
            try hmac(key: [], message: []).bytes
                == T.hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        )
    }

    @Test("constant-time equality: equal, different, different lengths, empty")
    func constantTime() {
        func eq(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            ByteView.with(a) { x in ByteView.with(b) { y in constantTimeEquals(x, y) } }
        }
        #expect(eq([1, 2, 3], [1, 2, 3]))
        #expect(!eq([1, 2, 3], [1, 2, 4]))
        #expect(!eq([1, 2, 3], [0, 2, 3]))
        #expect(!eq([1, 2, 3], [1, 2]))
        #expect(!eq([], [0]))
        #expect(eq([], []))
        let d = sha256([9]).bytes
        #expect(eq(d, d))
        // A difference in any bit of any byte, in the 8-byte words and in the tail, for every length up to 43 (an
        // `ath` or a `jkt`).
        for length in 1...43 {
            let base = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(eq(base, base))
            for index in 0..<length {
                for bit in 0..<8 {
                    var changed = base
                    changed[index] ^= UInt8(1) << bit
                    #expect(!eq(base, changed), "length \(length) byte \(index) bit \(bit)")
                }
            }
        }
    }
}
