//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Testing

@testable import Keybound

/// Every request of Fixtures/dpop-requests.json, made by Python's `cryptography` (an independent oracle): the valid
/// ones verify with the expected `jkt` and `sub`, each single-fault one is refused with the exact expected code.
@Suite("Oracle requests (Python cryptography fixtures)")
struct OracleRequestTests {
    /// Deliberate differences from the oracle's reading, each with its reason (documented in SECURITY.md).
    static let deliberateDifferences: [String: (code: Int, reason: String)] = [
        "A5 token kid with an escaped NUL (es-1\\u0000suffix)": (
            300, "Keybound's JSON reader refuses U+0000 in any string, so C hosts never see a truncated value"
        ),
    ]

    @Test("the fixture file is present and large")
    func present() {
        #expect(RequestScenario.shared.cases.count >= 500)
        #expect(RequestScenario.shared.cases.contains { $0.expectOK })
    }

    @Test("each case gets the oracle's verdict", arguments: RequestScenario.shared.cases)
    func verdict(_ testCase: RequestCase) throws {
        let scenario = RequestScenario.shared
        // A fresh verifier per case: cases are independent (some reuse a jti).
        let verifier = try scenario.makeVerifier()
        do {
            let verified = try verifier.verify(testCase.request, mode: testCase.verificationMode, now: scenario.now)
            #expect(testCase.expectOK, "accepted, but the oracle expects code \(testCase.expectCode ?? -1)")
            if let jkt = testCase.expectJKT { #expect(verified.jkt == jkt) }
            if let sub = testCase.expectSub { #expect(verified.subject == sub) }
        } catch {
            #expect(!testCase.expectOK, "refused with \(error), but the oracle accepts it")
            if let difference = Self.deliberateDifferences[testCase.name] {
                #expect(error.code.rawValue == difference.code, "got \(error); expected by: \(difference.reason)")
            } else if let code = testCase.expectCode {
                #expect(error.code.rawValue == code, "got \(error)")
            }
        }
    }

    @Test("every deliberate difference names a case that exists")
    func differencesExist() {
        let names = Set(RequestScenario.shared.cases.map(\.name))
        for name in Self.deliberateDifferences.keys { #expect(names.contains(name), "\(name)") }
    }

    @Test("every SECURITY.md section is represented by refused cases")
    func coverage() {
        let attacks = Set(RequestScenario.shared.cases.filter { !$0.expectOK }.map(\.attack))
        for id in ["A1", "A2", "A3", "A4", "A5", "A7", "A8", "A9", "B1", "B2", "B4", "B5", "C1", "C2", "C3", "C4", "C5",
                   "C6", "C7", "C8", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9"] {
            #expect(attacks.contains(id), "no refused case for \(id)")
        }
    }
}
