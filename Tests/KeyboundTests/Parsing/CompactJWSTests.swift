//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

/// The RFC 9449 Figure 2 proof (Tests/Vectors/rfc-examples.md).
let rfc9449Figure2Proof =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"

func decodeJWS(_ token: String, maxBytes: Int = 8192) throws(KeyboundError) -> (String, String, Int, String) {
    try ByteView.with(utf8: token) { (view) throws(KeyboundError) in
        let jws = try CompactJWS.split(view, maxBytes: maxBytes, failingWith: .proofMalformed)
        return try jws.withDecoded(maxDepth: 16, failingWith: .proofMalformed) { (header, payload, signature) in
            (
                header.member("typ")?.stringValue() ?? "", payload.member("htm")?.stringValue() ?? "", signature.count,
                jws.signingInput.decodeString()
            )
        }
    }
}

@Suite("Compact JWS")
struct CompactJWSTests {
    @Test("splits and decodes the RFC 9449 Figure 2 proof; the signing input is the original text")
    func figure2() throws {
        let (typ, htm, signatureCount, signingInput) = try decodeJWS(rfc9449Figure2Proof)
        #expect(typ == "dpop+jwt")
        #expect(htm == "POST")
        #expect(signatureCount == 64)
        #expect(signingInput == rfc9449Figure2Proof.split(separator: ".").prefix(2).joined(separator: "."))
    }

    @Test(
        "refuses the wrong structure (SECURITY.md C2)",
        arguments: [
            "", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "..", "...", "e30.e30.AA.", ".e30.AA", "e30..AA",
            #"{"payload":"e30","signatures":[]}"#, " e30.e30.AA", "e30.e30.AA ", "e30.W10.AA", "W10.e30.AA",
            "e30.e30.A", "e30=.e30.AA", "e30.e30.AA=",
        ]
    )
    func structure(token: String) {
        #expect(throws: KeyboundError(.proofMalformed)) { try decodeJWS(token) }
    }

    @Test("an empty signature segment decodes (the alg check refuses unsecured JWS later)")
    func emptySignature() throws {
        let (_, _, signatureCount, _) = try decodeJWS("e30.e30.")
        #expect(signatureCount == 0)
    }

    @Test("the size bound comes first: a token of a million dots costs one bounded check")
    func sizeBoundFirst() {
        let dots = String(repeating: ".", count: 1_000_000)
        #expect(throws: KeyboundError(.proofMalformed)) { try decodeJWS(dots) }
        #expect(throws: KeyboundError(.proofMalformed)) { try decodeJWS("e30.e30.AA", maxBytes: 9) }
        #expect(throws: Never.self) { try decodeJWS("e30.e30.AA", maxBytes: 10) }
    }
}
