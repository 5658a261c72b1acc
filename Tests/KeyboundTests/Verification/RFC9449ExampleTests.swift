//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

/// The RFC 9449 example proofs (Tests/Vectors/rfc-examples.md), verified with a fixed clock.
enum RFC9449 {
    static let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    static let figure2 = rfc9449Figure2Proof
    static let figure2IAT: Int64 = 1_562_262_616
    static let figure7 =
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjY1Mjk2fQ.pAqut2IRDm_De6PR93SYmGBPXpwrAk90e8cP2hjiaG5QsGSuKDYW7_X620BxqhvYC8ynrrvZLTk41mSRroapUA"
    static let figure7IAT: Int64 = 1_562_265_296
    static let figure13 =
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
    static let figure13IAT: Int64 = 1_562_262_618
    static let opaqueToken = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"

    static func tokenRequest(_ proof: String) -> DPoPRequest {
        DPoPRequest(method: "POST", url: "https://server.example.com/token", authorization: nil, dpop: [proof])
    }

    static var resourceRequest: DPoPRequest {
        DPoPRequest(method: "GET", url: "https://resource.example.org/protectedresource",
                    authorization: "DPoP \(opaqueToken)", dpop: [figure13])
    }
}

@Suite("RFC 9449 examples")
struct RFC9449ExampleTests {
    @Test("Figure 2 in token-endpoint mode gives the jkt of Figures 8/9; twice is a replay")
    func figure2() throws {
        let verifier = try Verifier(issuers: [], backend: .forTests)
        let verified = try verifier.verify(RFC9449.tokenRequest(RFC9449.figure2), mode: .tokenEndpoint,
                                           now: RFC9449.figure2IAT)
        #expect(verified.jkt == RFC9449.jkt)
        #expect(verified.proofJTI == "-BwC3ESc6acc2lTc")
        #expect(verified.subject == nil && verified.tokenJTI == nil)
        #expect(throws: KeyboundError(.proofReplayed)) {
            try verifier.verify(RFC9449.tokenRequest(RFC9449.figure2), mode: .tokenEndpoint, now: RFC9449.figure2IAT + 1)
        }
    }

    @Test("Figure 7 reuses Figure 2's jti 44 minutes later: accepted, since Figure 2's window has passed")
    func figure7() throws {
        let verifier = try Verifier(issuers: [], backend: .forTests)
        _ = try verifier.verify(RFC9449.tokenRequest(RFC9449.figure2), mode: .tokenEndpoint, now: RFC9449.figure2IAT)
        let verified = try verifier.verify(RFC9449.tokenRequest(RFC9449.figure7), mode: .tokenEndpoint,
                                           now: RFC9449.figure7IAT)
        #expect(verified.jkt == RFC9449.jkt)
        #expect(throws: KeyboundError(.proofReplayed)) {
            try verifier.verify(RFC9449.tokenRequest(RFC9449.figure7), mode: .tokenEndpoint, now: RFC9449.figure7IAT)
        }
    }

    @Test("Figure 13 in opaque-token mode: proof, ath and binding checked")
    func figure13() throws {
        let verifier = try Verifier(issuers: [], backend: .forTests)
        let verified = try verifier.verify(RFC9449.resourceRequest, mode: .opaqueToken(boundJKT: RFC9449.jkt),
                                           now: RFC9449.figure13IAT)
        #expect(verified.jkt == RFC9449.jkt)
        #expect(verified.proofJTI == "e1j3V_bKic8-LAEB")
        // Bound to another key: the token is invalid (RFC 9449 Figure 16).
        let other = try Verifier(issuers: [], backend: .forTests)
        #expect(throws: KeyboundError(.tokenBinding)) {
            try other.verify(RFC9449.resourceRequest, mode: .opaqueToken(boundJKT: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
                             now: RFC9449.figure13IAT)
        }
        #expect(other.wwwAuthenticate(for: KeyboundError(.tokenBinding)).hasPrefix(
            #"DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256 ES384"#))
    }

    @Test("the time window edges: now − 65 and now + 5 accepted, one second beyond refused")
    func windowEdges() throws {
        for (now, accepted) in [(RFC9449.figure2IAT + 65, true), (RFC9449.figure2IAT - 5, true),
                                (RFC9449.figure2IAT + 66, false), (RFC9449.figure2IAT - 6, false)] {
            let verifier = try Verifier(issuers: [], backend: .forTests)
            let request = RFC9449.tokenRequest(RFC9449.figure2)
            if accepted {
                #expect(throws: Never.self) { try verifier.verify(request, mode: .tokenEndpoint, now: now) }
            } else {
                #expect(throws: KeyboundError(.proofIAT)) { try verifier.verify(request, mode: .tokenEndpoint, now: now) }
            }
        }
    }

    @Test("htm, htu and ath are checked against the request")
    func requestBinding() throws {
        let verifier = try Verifier(issuers: [], backend: .forTests)
        var request = RFC9449.tokenRequest(RFC9449.figure2)
        request.method = "GET"
        #expect(throws: KeyboundError(.proofHTM)) { try verifier.verify(request, mode: .tokenEndpoint, now: RFC9449.figure2IAT) }
        request = RFC9449.tokenRequest(RFC9449.figure2)
        request.url = "https://server.example.com/token/"
        #expect(throws: KeyboundError(.proofHTU)) { try verifier.verify(request, mode: .tokenEndpoint, now: RFC9449.figure2IAT) }
        request.url = "HTTPS://SERVER.example.com:443/./token?x=1"
        #expect(throws: Never.self) { try verifier.verify(request, mode: .tokenEndpoint, now: RFC9449.figure2IAT) }
        var resource = RFC9449.resourceRequest
        resource.authorization = "DPoP \(RFC9449.opaqueToken)x"
        #expect(throws: KeyboundError(.proofATH)) {
            try verifier.verify(resource, mode: .opaqueToken(boundJKT: RFC9449.jkt), now: RFC9449.figure13IAT)
        }
    }

    @Test("an external base URL replaces the request's scheme and authority, never forwarded headers")
    func externalBaseURL() throws {
        var policy = VerifierPolicy()
        policy.externalBaseURL = "https://server.example.com/"
        let verifier = try Verifier(issuers: [], policy: policy, backend: .forTests)
        var request = RFC9449.tokenRequest(RFC9449.figure2)
        request.url = "/token?grant_type=x"
        #expect(throws: Never.self) { try verifier.verify(request, mode: .tokenEndpoint, now: RFC9449.figure2IAT) }
        policy.externalBaseURL = "https://other.example.com"
        let elsewhere = try Verifier(issuers: [], policy: policy, backend: .forTests)
        #expect(throws: KeyboundError(.proofHTU)) { try elsewhere.verify(request, mode: .tokenEndpoint, now: RFC9449.figure2IAT) }
        policy.externalBaseURL = "ftp://x/"
        #expect(throws: KeyboundError(.invalidConfiguration)) { try Verifier(issuers: [], policy: policy, backend: .forTests) }
    }
}
