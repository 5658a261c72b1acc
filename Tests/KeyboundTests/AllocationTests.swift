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

/// Whether this test binary is optimised: unoptimised code boxes and copies values that the optimiser keeps on the
/// stack, so allocation counts are asserted only in release builds (`.ci/run` runs this suite with `-c release`).
let isOptimizedBuild = !_isDebugAssertConfiguration()

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

    @Test("parsing a proof allocates nothing: split, base64url, JSON validation, member reads", .enabled(if: isOptimizedBuild, "counted in release builds only: swift test -c release --filter AllocationTests"))
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

    @Test("key lookup allocates nothing: a JWKS kid lookup and a proof-key cache hit", .enabled(if: isOptimizedBuild, "counted in release builds only: swift test -c release --filter AllocationTests"))
    func keyLookupAllocatesNothing() throws {
        try #require(CMallocCounter_available() == 1)
        let scenario = RequestScenario.shared
        let keys = try JWKSet(json: scenario.jwks, backend: .forTests)
        let cache = BoundedCache<ClientKey>(capacity: 64, maximumKeyBytes: 2048)
        let jwk = Array(rfc9449PublicJWK.utf8)
        let key = try ByteView.with(jwk) { (bytes) throws(KeyboundError) -> PublicKey in
            try JWK.publicKey(try JSON.parseObject(bytes, maxDepth: 16, failingWith: .proofJWK),
                              modulusBits: 2048...4096, rejectingAs: .proofJWK, backend: .forTests)
        }
        let owner = try ReplayOwner(jkt: "x", backend: .forTests)
        ByteView.with(jwk) { cache.insert(ClientKey(key: key, jkt: "x", declaredAlgorithm: nil, owner: owner), for: $0) }
        let kid = Array("rs-1".utf8)
        var found = 0
        let n = heapAllocations {
            if ByteView.with(kid, { keys.entry(forKid: $0) }) != nil { found &+= 1 }
            if ByteView.with(jwk, { cache.value(for: $0) }) != nil { found &+= 1 }
        }
        #expect(n == 0)
        #expect(found == 4)
    }

    @Test("a warm verify allocates no more than OpenSSL's own signature verification of the proof does", .enabled(if: isOptimizedBuild, "counted in release builds only: swift test -c release --filter AllocationTests"))
    func warmVerify() throws {
        try #require(CMallocCounter_available() == 1)
        let scenario = RequestScenario.shared
        let testCase = try #require(scenario.validResourceCases.first { $0.name.contains("ES256 proof") })
        let keys = try JWKSet(json: scenario.jwks, backend: .forTests)
        // A store that always records, so one request can be verified warm again and again.
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: scenario.issuer, audiences: [scenario.audience], keys: keys)],
            replayStore: FixedReplayStore(.inserted), backend: .forTests
        )
        let request = testCase.request
        var sink = 0
        // A key's verify template is built at its second verify on a thread (VerifyTemplates, docs/design.md
        // "Performance model"): one request first, so the counted one is the third, in the warm state.
        _ = try verifier.verify(request, now: scenario.now)
        let warm = try heapAllocations {
            let verified = try verifier.verify(request, now: scenario.now)
            sink &+= verified.clientKey?.jktBytes.count ?? 0
        }
        // The floor: OpenSSL verifying the same ES256 proof signature with the same cached key.
        let clientKey = try #require(verifier.proofKeys.value(forTesting: testCase.dpop[0]))
        let parts = testCase.dpop[0].split(separator: ".").map(String.init)
        let signingInput = Array((parts[0] + "." + parts[1]).utf8)
        let signature = try #require(Base64URL.decode(parts[2]))
        let floor = try heapAllocations {
            let ok = try ByteView.with(signingInput) { (input) throws(KeyboundError) -> Bool in
                try ByteView.with(signature) { (sig) throws(KeyboundError) -> Bool in
                    try SignatureVerifier.verify(.es256, key: clientKey.key, signingInput: input, signature: sig)
                }
            }
            if ok { sink &+= 1 }
        }
        print("allocations: warm verify \(warm ?? -1), \(CryptoBackend.forTests.name) ES256 verify alone \(floor ?? -1)")
        let warmCount = try #require(warm)
        let floorCount = try #require(floor)
        #expect(warmCount <= floorCount)
        #expect(sink > 0)
    }
}
