//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import KeyboundTestSupport
import Testing

@testable import Keybound

@Suite("KeyboundError")
struct KeyboundErrorTests {
    @Test("codes, names, RFC errors and statuses are the pinned docs/design.md table")
    func pinnedTable() throws {
        let tables = try designStatusTables()
        #expect(tables.count == 2, "docs/design.md has the request table and the 9xx table")
        let expected = tables.first ?? []
        for row in tables.joined() {
            guard let code = KeyboundError.Code(rawValue: row.number) else {
                // The 9xx table also lists the C ABI's and the CLI's own statuses, which are not Swift codes.
                #expect(row.number >= 900, "code \(row.number) is defined")
                continue
            }
            #expect(code.name == row.name)
            #expect(code.rfcError == row.rfcError)
            if row.number < 900 { #expect(code.httpStatus == row.status) }
        }
        let requestCodes = KeyboundError.Code.allCodes.filter { $0.rawValue < 900 }
        #expect(requestCodes.count == expected.count)
        #expect(requestCodes.map(\.rawValue) == expected.map(\.number))
        #expect(KeyboundError.Code(rawValue: 0) == nil)
        #expect(KeyboundError.Code(rawValue: 213) == nil)
        #expect(KeyboundError.Code(rawValue: 317) == nil)
        #expect(KeyboundError.Code(rawValue: 504) == nil)
        #expect(KeyboundError.Code(rawValue: 950) == nil, "950 is the CLI batch reader's, not a KeyboundError")
        let numbers = KeyboundError.Code.allCodes.map(\.rawValue)
        #expect(numbers == numbers.sorted(), "allCodes is in numeric order")
    }

    @Test("the reserved rows 212, 314, 315, 316 and 503 have the docs/design.md values and a summary")
    func reservedRows() {
        let reserved: [(KeyboundError.Code, Int)] = [
            (.replayQuotaExceeded, 212), (.insufficientUserAuthentication, 314), (.insufficientScope, 315),
            (.boundTokenAsBearer, 316), (.replayStoreRestarted, 503),
        ]
        for (code, number) in reserved {
            #expect(code.rawValue == number)
            #expect(!code.summary.isEmpty)
            #expect(KeyboundError(code).reason == code.summary)
        }
        // 429 holds in every mode (docs/design.md: "answered 429 with Retry-After in every mode, the token endpoint included").
        #expect(KeyboundError.Code.replayQuotaExceeded.tokenEndpointHTTPStatus == 429)
        #expect(KeyboundError.Code.insufficientScope.tokenEndpointHTTPStatus == 400)
        #expect(KeyboundError.Code.replayStoreRestarted.tokenEndpointHTTPStatus == 503)
    }

    @Test("equality compares the code only; the reason is kept")
    func equality() {
        let a = KeyboundError(.proofTyp, reason: "typ is JWT")
        let b = KeyboundError(.proofTyp)
        #expect(a == b)
        #expect(a != KeyboundError(.proofAlg))
        #expect(a.reason == "typ is JWT")
        #expect(b.reason == KeyboundError.Code.proofTyp.summary)
        #expect(a.description.contains("proof_typ (201)"))
    }

    @Test("token-endpoint mode answers 400 except server failures")
    func tokenEndpointStatus() {
        #expect(KeyboundError.Code.proofSignature.tokenEndpointHTTPStatus == 400)
        #expect(KeyboundError.Code.replayCacheFull.tokenEndpointHTTPStatus == 503)
        #expect(KeyboundError.Code.internal.tokenEndpointHTTPStatus == 500)
    }
}

/// One row of a status table in docs/design.md: `| code | name | RFC error | HTTP | when |`.
struct DesignStatusRow {
    let number: Int
    let name: String
    /// `nil` where the table says `null`.
    let rfcError: String?
    let status: Int
}

/// The status tables of docs/design.md ("Status codes"), in order, without the `0 ok` row.
func designStatusTables() throws -> [[DesignStatusRow]] {
    let url = TestVectors.repositoryRoot.appendingPathComponent("docs/design.md")
    let text = String(decoding: try TestVectors.read(url), as: UTF8.self)
    var tables: [[DesignStatusRow]] = []
    var inTable = false
    for line in text.split(separator: "\n") {
        if line == "| code | name | RFC error | HTTP | when |" {
            tables.append([])
            inTable = true
            continue
        }
        guard inTable, line.hasPrefix("|") else {
            inTable = false
            continue
        }
        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        guard cells.count >= 4, let number = Int(cells[0]), number != 0, let status = Int(cells[3]) else { continue }
        let rfcError = cells[2] == "null" ? nil : cells[2]
        tables[tables.count - 1].append(DesignStatusRow(number: number, name: cells[1], rfcError: rfcError, status: status))
    }
    return tables
}
