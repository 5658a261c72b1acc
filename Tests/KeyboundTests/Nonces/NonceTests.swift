//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import Keybound

func isValidNonce(_ issuer: NonceIssuer, _ nonce: String, now: Int64, context: String = "") throws -> Bool {
    try ByteView.with(utf8: nonce) { (n) throws(KeyboundError) -> Bool in
        try ByteView.with(utf8: context) { (c) throws(KeyboundError) -> Bool in try issuer.isValid(n, now: now, context: c) }
    }
}

@Suite("Nonces")
struct NonceTests {
    let secretA = [UInt8](repeating: 0xA5, count: 32)
    let secretB = [UInt8](repeating: 0x5A, count: 48)

    @Test("the format of docs/design.md: base64url(u32be(w) ‖ HMAC-SHA-256(secret, label ‖ u32be(w) ‖ context)[0..<16])")
    func format() throws {
        let issuer = try NonceIssuer(secrets: [secretA], backend: .forTests)
        let now: Int64 = 1_700_000_123
        let nonce = try issuer.mint(now: now)
        #expect(nonce.count == 27)
        let raw = try #require(Base64URL.decode(nonce))
        let w = UInt32(now / 300)
        #expect(Array(raw[0..<4]) == [UInt8(w >> 24), UInt8(w >> 16 & 0xFF), UInt8(w >> 8 & 0xFF), UInt8(w & 0xFF)])
        // An independent HMAC over the same message (computed with OpenSSL's HMAC through the digest API is what the
        // code does; here the expected bytes come from the documented construction).
        var message = Array("keybound-nonce-v1".utf8)
        message += raw[0..<4]
        let tag = try ByteView.with(secretA) { (key) throws(KeyboundError) -> [UInt8] in
            try ByteView.with(message) { (m) throws(KeyboundError) -> [UInt8] in try CryptoBackend.forTests.hmacSHA256(key: key, message: m).bytes }
        }
        #expect(Array(raw[4...]) == Array(tag[0..<16]))
    }

    @Test("valid in its window and the next, refused after, and before")
    func windows() throws {
        let issuer = try NonceIssuer(secrets: [secretA], backend: .forTests)
        let minted: Int64 = 1_700_000_100  // window 5666667 starts at 1_700_000_100
        let nonce = try issuer.mint(now: minted)
        #expect(try isValidNonce(issuer, nonce, now: minted))
        #expect(try isValidNonce(issuer, nonce, now: minted + 299))
        #expect(try isValidNonce(issuer, nonce, now: minted + 599))
        #expect(try !isValidNonce(issuer, nonce, now: minted + 600))
        #expect(try !isValidNonce(issuer, nonce, now: minted - 1))
    }

    @Test("rotation: a nonce minted under the old secret stays valid while the old secret is listed second")
    func rotation() throws {
        let old = try NonceIssuer(secrets: [secretA], backend: .forTests)
        let rotated = try NonceIssuer(secrets: [secretB, secretA], backend: .forTests)
        let onlyNew = try NonceIssuer(secrets: [secretB], backend: .forTests)
        let nonce = try old.mint(now: 1_700_000_000)
        #expect(try isValidNonce(rotated, nonce, now: 1_700_000_000))
        #expect(try !isValidNonce(onlyNew, nonce, now: 1_700_000_000))
        #expect(try isValidNonce(old, try rotated.mint(now: 1_700_000_000), now: 1_700_000_000) == false)
    }

    @Test("bound nonces are valid only for their jkt; tampering and non-canonical spellings are refused (SECURITY.md D12)")
    func bindingAndTampering() throws {
        let issuer = try NonceIssuer(secrets: [secretA], boundToKey: true, backend: .forTests)
        let nonce = try issuer.mint(now: 1_700_000_000, jkt: "jkt-1")
        #expect(try isValidNonce(issuer, nonce, now: 1_700_000_000, context: "jkt-1"))
        #expect(try !isValidNonce(issuer, nonce, now: 1_700_000_000, context: "jkt-2"))
        var raw = try #require(Base64URL.decode(nonce))
        raw[19] ^= 1
        #expect(try !isValidNonce(issuer, Base64URL.encode(raw), now: 1_700_000_000, context: "jkt-1"))
        for spelling in [nonce + "=", " " + nonce, String(nonce.dropLast()), nonce.replacingOccurrences(of: "-", with: "+")]
        where spelling != nonce {
            #expect(try !isValidNonce(issuer, spelling, now: 1_700_000_000, context: "jkt-1"))
        }
    }

    @Test("configuration: at least one secret of 32 bytes or more, a sane window")
    func configuration() {
        #expect(throws: KeyboundError(.invalidConfiguration)) { try NonceIssuer(secrets: [], backend: .forTests) }
        #expect(throws: KeyboundError(.invalidConfiguration)) { try NonceIssuer(secrets: [[UInt8](repeating: 1, count: 31)], backend: .forTests) }
        #expect(throws: KeyboundError(.invalidConfiguration)) { try NonceIssuer(secrets: [secretA], windowSeconds: 0, backend: .forTests) }
    }

    @Test("two issuers with the same secrets agree (instances of a fleet need no coordination)")
    func fleet() throws {
        let one = try NonceIssuer(secrets: [secretA, secretB], backend: .forTests)
        let two = try NonceIssuer(secrets: [secretA, secretB], backend: .forTests)
        #expect(try one.mint(now: 1_700_000_000) == two.mint(now: 1_700_000_000))
        #expect(try isValidNonce(two, try one.mint(now: 1_700_000_000), now: 1_700_000_299))
    }
}
