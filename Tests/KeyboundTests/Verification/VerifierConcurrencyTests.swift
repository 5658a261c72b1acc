//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization
import Testing

@testable import Keybound

/// Runs `body(thread)` on `count` real threads released together, and waits for all of them.
func runReleasedTogether(threads count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let arrived = Atomic<Int>(0)
    let done = DispatchGroup()
    for index in 0..<count {
        done.enter()
        let thread = Thread {
            arrived.add(1, ordering: .acquiringAndReleasing)
            while arrived.load(ordering: .acquiring) < count { sched_yield() }
            body(index)
            done.leave()
        }
        thread.start()
    }
    done.wait()
}

/// Concurrency of the whole verifier. CI runs this suite under ThreadSanitizer too.
@Suite("VerifierConcurrencyTests")
struct VerifierConcurrencyTests {
    let scenario = RequestScenario.shared

    @Test("the same valid proof from 8 threads released together is accepted exactly once, 40 times over")
    func sameProofOnce() throws {
        let testCase = try #require(scenario.validResourceCases.first)
        for _ in 0..<40 {
            let verifier = try scenario.makeVerifier()
            let accepted = Atomic<Int>(0)
            let replayed = Atomic<Int>(0)
            runReleasedTogether(threads: 8) { _ in
                do throws(KeyboundError) {
                    _ = try verifier.verify(testCase.request, now: scenario.now)
                    accepted.add(1, ordering: .relaxed)
                } catch {
                    if error.code == .proofReplayed { replayed.add(1, ordering: .relaxed) }
                }
            }
            #expect(accepted.load(ordering: .relaxed) == 1)
            #expect(replayed.load(ordering: .relaxed) == 7)
        }
    }

    @Test("mixed valid traffic from 4 threads: every distinct proof accepted exactly once, nothing lost or doubled")
    func mixedTraffic() throws {
        let cases = scenario.cases.filter(\.expectOK)
        let verifier = try scenario.makeVerifier()
        let perCase = Locked<[Int]>(Array(repeating: 0, count: cases.count))
        let unexpected = Atomic<Int>(0)
        runReleasedTogether(threads: 4) { thread in
            var order = Array(cases.indices)
            var rng = SystemRandomNumberGenerator()
            order.shuffle(using: &rng)
            for index in order {
                do throws(KeyboundError) {
                    _ = try verifier.verify(cases[index].request, mode: cases[index].verificationMode, now: scenario.now)
                    perCase.withLock { $0[index] += 1 }
                } catch {
                    if error.code != .proofReplayed { unexpected.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(perCase.withLock { $0 } == Array(repeating: 1, count: cases.count))
        #expect(unexpected.load(ordering: .relaxed) == 0)
        #expect(verifier.metrics.verified == cases.count)
        #expect(verifier.metrics.refusals(.proofReplayed) == 3 * cases.count)
    }

    @Test("JWKS rotation under load never fails a request signed by a key present in both sets")
    func rotationUnderLoad() throws {
        let cases = scenario.validResourceCases
        let keysA = try JWKSet(json: scenario.jwks, backend: .forTests)
        // Set B: the same keys in reverse order, plus one more key.
        let root = try #require(try JSONSerialization.jsonObject(with: Data(scenario.jwks.utf8)) as? [String: Any])
        var entries = try #require(root["keys"] as? [[String: Any]])
        entries.reverse()
        entries.append(["kty": "EC", "crv": "P-256", "kid": "extra", "use": "sig",
                        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"])
        let keysB = try JWKSet(json: String(decoding: try JSONSerialization.data(withJSONObject: ["keys": entries]), as: UTF8.self), backend: .forTests)
        #expect(keysB.count == keysA.count + 1)
        // A store that always records, so the same requests can be verified again and again.
        let verifier = try Verifier(
            issuers: [TrustedIssuer(identifier: scenario.issuer, audiences: [scenario.audience], keys: keysA)],
            replayStore: FixedReplayStore(.inserted), backend: .forTests
        )
        let failures = Atomic<Int>(0)
        let verified = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        runReleasedTogether(threads: 4) { thread in
            if thread == 0 {
                var flip = false
                while !stop.load(ordering: .acquiring) {
                    try? verifier.replaceKeys(forIssuer: scenario.issuer, with: flip ? keysA : keysB)
                    flip.toggle()
                    sched_yield()
                }
                return
            }
            for _ in 0..<30 {
                for testCase in cases {
                    do throws(KeyboundError) {
                        _ = try verifier.verify(testCase.request, now: scenario.now)
                        verified.add(1, ordering: .relaxed)
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
            if thread == 1 { stop.store(true, ordering: .releasing) }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(verified.load(ordering: .relaxed) >= 30 * cases.count)
    }
}
