//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("README")
struct ReadmeTests {
    @Test("the README's Swift example is the compiled example target, verbatim")
    func swiftExample() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(
            contentsOf: repositoryRoot.appendingPathComponent("Examples/swift/VerifyRequest/main.swift"), encoding: .utf8)
        #expect(readme.contains("```swift\n" + example.trimmingCharacters(in: .whitespacesAndNewlines) + "\n```"))
    }

    @Test("SECURITY.md maps every attack of its checklist to a row")
    func attackTable() throws {
        let security = try String(contentsOf: repositoryRoot.appendingPathComponent("SECURITY.md"), encoding: .utf8)
        let ids = ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3",
                   "C4", "C5", "C6", "C7", "C8", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10", "D11",
                   "D12", "D13", "E1", "E2", "E3", "E4"]
        for id in ids { #expect(security.contains("| \(id) |"), "SECURITY.md has no row for \(id)") }
    }
}
