//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CMallocCounter
import Testing

@testable import Keybound

/// Counts the heap allocations `body` makes on this thread (after one warm-up call, which may set up the
/// thread's scratch arena). Returns nil in sanitizer builds, whose runtimes own malloc.
func heapAllocations(_ body: () throws -> Void) rethrows -> Int? {
    guard CMallocCounter_available() == 1 else { return nil }
    try body()
    CMallocCounter_begin()
    defer { _ = CMallocCounter_end() }
    try body()
    return CMallocCounter_end()
}

@Suite("Heap allocations")
struct AllocationTests {
    @Test("the counter counts (a control: building an array allocates)")
    func counterWorks() throws {
        try #require(CMallocCounter_available() == 1, "this build must count allocations (not a sanitizer build)")
        var sink = 0
        let n = heapAllocations {
            let a = [Int](repeating: sink, count: 1000)
            sink &+= a.count
        }
        #expect(n ?? 0 >= 1)
    }

    @Test("parsing a proof allocates nothing: split, base64url, JSON validation, member reads")
    func parsingAllocatesNothing() throws {
        try #require(CMallocCounter_available() == 1)
        let token = Array(rfc9449Figure2Proof.utf8)
        var sink = 0
        let n = try heapAllocations {
            try ByteView.with(token) { (view) throws(KeyboundError) in
                let jws = try CompactJWS.split(view, maxBytes: 8192, failingWith: .proofMalformed)
                try jws.withDecoded(maxDepth: 16, failingWith: .proofMalformed) { (header, payload, signature) in
                    if header.member("typ")?.stringEquals("dpop+jwt") == true { sink &+= 1 }
                    if let jwk = header.member("jwk"), jwk.member("crv")?.stringEquals("P-256") == true { sink &+= 1 }
                    sink &+= Int(payload.member("iat")?.numericDate() ?? 0) &+ signature.count
                }
            }
        }
        #expect(n == 0)
        #expect(sink > 0)
    }
}
