//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import Keybound

/// Decodes with Keybound's strict decoder, mapping failures to the code passed in.
func strictDecode(_ text: String) throws(KeyboundError) -> [UInt8] {
    try ByteView.with(utf8: text) { (view) throws(KeyboundError) -> [UInt8] in
        try Base64URL.decodeToArray(view, failingWith: .proofMalformed)
    }
}

/// An independent base64url encoder (Foundation), for round trips.
func referenceEncode(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

@Suite("Base64URL")
struct Base64URLTests {
    @Test("RFC 4648 §10 vectors, in base64url form")
    func rfcVectors() throws {
        let vectors: [(String, String)] = [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(try strictDecode(encoded) == Array(plain.utf8))
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        }
    }

    @Test("round trips every length and byte value against Foundation")
    func roundTrips() throws {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == referenceEncode(bytes))
            #expect(try strictDecode(encoded) == bytes)
        }
        let all = (0...255).map { UInt8($0) }
        #expect(try strictDecode(Base64URL.encode(all)) == all)
    }

    @Test(
        "refuses every non-canonical spelling (SECURITY.md C1)",
        arguments: [
            "Zg==", "Zg=", "Zm8=", "Zm9v+A", "Zm9v/A", "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v\t", "Zm9v\r\n", "Z",
            "Zm9vY", "Zh", "Zm9", "Zm9vYh", "Zm?v", "Zm\\v", "Zm#v", "Zm!v", "Zm%v", "Zm.v", "Zm9v=", "Zm9v\u{0}",
            "Zm9v\u{e9}",
        ]
    )
    func refusesNonCanonical(text: String) {
        #expect(throws: KeyboundError(.proofMalformed)) { try strictDecode(text) }
    }

    @Test("non-zero unused bits: a 64-byte signature's last character")
    func unusedBitsOfSignature() throws {
        let signature = [UInt8](repeating: 0, count: 64)
        let encoded = Base64URL.encode(signature)
        #expect(encoded.count == 86 && encoded.hasSuffix("A"))
        #expect(try strictDecode(encoded) == signature)
        let lax = String(encoded.dropLast()) + "B"
        #expect(throws: KeyboundError(.tokenMalformed)) {
            try ByteView.with(utf8: lax) { (view) throws(KeyboundError) in
                _ = try Base64URL.decodeToArray(view, failingWith: .tokenMalformed)
            }
        }
    }

    @Test("decoding into a buffer that is too small is an error, not a trap")
    func outputTooSmall() {
        #expect(throws: KeyboundError(.proofMalformed)) {
            try withScratch(capacity: 2) { (scratch) throws(KeyboundError) in
                try ByteView.with(utf8: "Zm9v") { (view) throws(KeyboundError) in
                    try Base64URL.decode(view, into: &scratch, failingWith: .proofMalformed)
                }
            }
        }
    }

    @Test("decoded and encoded counts")
    func counts() {
        #expect(Base64URL.decodedCount(ofEncodedCount: 86) == 64)
        #expect(Base64URL.decodedCount(ofEncodedCount: 43) == 32)
        #expect(Base64URL.decodedCount(ofEncodedCount: 5) == nil)
        #expect(Base64URL.decodedCount(ofEncodedCount: -1) == nil)
        #expect(Base64URL.encodedCount(ofDecodedCount: 32) == 43)
        #expect(Base64URL.encodedCount(ofDecodedCount: 0) == 0)
    }
}
