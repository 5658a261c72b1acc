//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import KeyboundSigning
import Testing

@testable import Keybound

/// `VerifiedRequest.proofJTI` is captured while the proof is checked, on every entry point.
@Suite("Proof jti, captured during verification")
struct ProofJTITests {
    static let jtis = [
        "p-1",
        "é-ünïcode-☃",
        String(repeating: "j", count: ProofJTI.inlineCapacity),  // the last length kept inline
        String(repeating: "k", count: ProofJTI.inlineCapacity + 1),  // the first kept in an array
        String(repeating: "l", count: 1000),
    ]

    @Test("the sync entry point", arguments: jtis)
    func sync(_ jti: String) throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.maxJTIBytes = 1000 }
        let client = try SigningKey.generate(.es256)
        let verified = try verifier.verify(
            try world.request(client: client, token: try world.token(for: client), jti: jti), now: world.now)
        #expect(verified.proofJTI == jti)
    }

    @Test("the async entry point", arguments: jtis)
    func async(_ jti: String) async throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.maxJTIBytes = 1000 }
        let client = try SigningKey.generate(.es256)
        let request = try world.request(client: client, token: try world.token(for: client), jti: jti)
        let verified = try await verifier.verify(request, now: world.now)
        #expect(verified.proofJTI == jti)
    }

    @Test("the byte-level entry point (the C skin's)", arguments: jtis)
    func bytes(_ jti: String) throws {
        let world = try SignedWorld()
        let verifier = try world.verifier { $0.maxJTIBytes = 1000 }
        let client = try SigningKey.generate(.es256)
        let request = try world.request(client: client, token: try world.token(for: client), jti: jti)
        let method = Array(request.method.utf8), url = Array(request.url.utf8)
        let authorization = Array((request.authorization ?? "").utf8), proof = Array(request.dpop[0].utf8)
        let verified = try method.withUnsafeBytes { m in
            try url.withUnsafeBytes { u in
                try authorization.withUnsafeBytes { a in
                    try proof.withUnsafeBytes { p in
                        try unsafe verifier.verify(
                            method: m, url: u, authorization: a, dpopCount: 1, firstProof: p, mode: .resource,
                            now: world.now)
                    }
                }
            }
        }
        #expect(verified.proofJTI == jti)
        let copied = unsafe verified.withProofJTIBytes { Array($0) }
        #expect(copied == Array(jti.utf8))
    }

    @Test("a jti spelt with escapes is reported unescaped")
    func escaped() throws {
        let world = try SignedWorld()
        let verifier = try world.verifier()
        let (client, token) = try world.newClient()
        let payload = #"{"jti":"a\u0062\"c","htm":"POST","htu":"\#(DPoPBuilder.htu(of: world.url))","iat":\#(world.now),"ath":"\#(Thumbprint.accessTokenHash(token))"}"#
        let proof = try JWS.compact(headerJSON: DPoPBuilder.proofHeader(key: client), payloadJSON: payload, key: client)
        let request = DPoPRequest(method: "POST", url: world.url, authorization: "DPoP \(token)", dpop: [proof])
        #expect(try verifier.verify(request, now: world.now).proofJTI == #"ab"c"#)
    }
}
