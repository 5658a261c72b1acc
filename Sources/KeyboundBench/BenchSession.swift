//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CKeyboundBench
import Foundation
import Keybound
import KeyboundSigning

/// An error of the benchmark harness, in the tool's own words.
package struct BenchError: Error, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// One run of `keybound bench`: every chosen scenario at every thread count and backend, each against raw OpenSSL
/// (and raw swift-crypto) doing the same signature work, in alternating rounds; then the replay cache.
package struct BenchSession {
    package var seconds: Double = 3
    package var threadCounts: [Int] = [1]
    package var proofAlgorithm: JWSAlgorithm = .es256
    package var tokenAlgorithm: JWSAlgorithm = .rs256
    /// The scenarios to run; empty means all.
    package var scenarios: [BenchScenario] = []
    package var coldRequests = 8000
    package var maxRequests: Int? = nil
    package var replayCapacity = 1 << 20
    /// The per-key share of the replay cache measured; `nil`: capacity / 8, the default policy's.
    package var replayKeyShare: Int? = nil
    package var skipReplay = false
    package var backends: [CryptoBackend] = [.default]
    package var json = false
    /// The clock the fixtures' tokens and proofs are made at.
    package var now: Int64 = 0

    package init() {}

    var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// One scenario at one thread count.
    struct Row {
        let backend: String
        let scenario: BenchScenario
        /// The threads verifying at once, and the requests in the pool they take from.
        let threads: Int, pool: Int
        /// Keybound's rate and the raw crypto library's doing the same signature work, in the same round.
        let keybound: BenchMeasurement, baseline: BenchMeasurement
        /// Raw swift-crypto doing the same signature work (swift-crypto rows only).
        let swiftCryptoBaseline: BenchMeasurement?
        var ratio: Double { baseline.perSecond == 0 ? 0 : keybound.perSecond / baseline.perSecond }
        /// The same ratio over CPU time instead of wall time (robust to other work on the machine).
        var cpuRatio: Double {
            baseline.perCPUSecond == 0 ? 0 : keybound.perCPUSecond / baseline.perCPUSecond
        }
        var swiftCryptoRatio: Double? {
            guard let raw = swiftCryptoBaseline, raw.perSecond > 0 else { return nil }
            return keybound.perSecond / raw.perSecond
        }
    }

    /// Runs every scenario and returns the report (text or JSON); `complete` is false when a request was refused.
    package func run() throws -> (report: String, complete: Bool) {
        let counts = threadCounts
        let measuresSwiftCrypto = backends.contains { $0.name == "swift-crypto" }
        let chosen = scenarios.isEmpty ? BenchScenario.allCases : scenarios
        let version = String(cString: kbb_openssl_version())
        progress("\(version), \(cores) cores, \(seconds) s per run, threads \(counts.map(String.init).joined(separator: ","))")

        // The reference rates of the "openssl" object: one thread, cached key, fresh context per verify.
        progress("raw OpenSSL ES256 and RS256 verify rates (1 thread)…")
        let es256 = try BenchFixtures.rawRate(.es256, threads: 1, seconds: seconds)
        let rs256 = try BenchFixtures.rawRate(.rs256, threads: 1, seconds: seconds)
        let proofRate = proofAlgorithm == .es256 ? es256.perSecond
            : try BenchFixtures.rawRate(proofAlgorithm, threads: 1, seconds: min(seconds, 0.5)).perSecond
        let tokenRate = tokenAlgorithm == .rs256 ? rs256.perSecond
            : try BenchFixtures.rawRate(tokenAlgorithm, threads: 1, seconds: min(seconds, 0.5)).perSecond
        var swiftCryptoRates: (es256: Double, rs256: Double)? = nil
        if measuresSwiftCrypto {
            progress("raw swift-crypto ES256 and RS256 verify rates (1 thread)…")
            let es = try BenchFixtures.rawSwiftCryptoRate(.es256, seconds: seconds)?.perSecond ?? 0
            let rs = try BenchFixtures.rawSwiftCryptoRate(.rs256, seconds: seconds)?.perSecond ?? 0
            swiftCryptoRates = (es, rs)
        }

        let fixtures: BenchFixtures
        do {
            fixtures = try BenchFixtures(proofAlgorithm: proofAlgorithm, tokenAlgorithm: tokenAlgorithm, now: now)
        } catch let error as KeyboundError {
            throw BenchError("bench: cannot make the fixtures: \(error.reason)")
        }
        // Pools hold one request per timed call (a proof is never reused within a verifier): enough for the fastest
        // thread count at the raw rate plus 15 %; the cold pools are capped by --cold-requests, since every request
        // needs a newly signed token (about 1 ms for RS256), and those runs end when the pool is used up.
        let parallelism = Double(min(counts.max() ?? 1, cores))
        var rows: [Row] = []
        let rounds = max(1, min(6, Int(seconds / 0.25)))
        let slice = seconds / Double(rounds)
        for scenario in chosen {
            let estimate: Double
            switch scenario {
            case .warm: estimate = proofRate
            case .newToken, .newClientKey: estimate = 1 / (1 / proofRate + 1 / tokenRate)
            }
            var size = Int(estimate * parallelism * seconds * 1.15) + 64
            if scenario != .warm { size = min(size, coldRequests) }
            if let maxRequests { size = min(size, maxRequests) }
            progress("\(scenario.rawValue): building \(size) requests…")
            let started = benchNanos()
            let pool = try fixtures.pool(scenario, count: size)
            progress(String(format: "  built in %.1f s", Double(benchNanos() - started) / 1e9))
            for threads in counts {
                for cryptoBackend in backends {
                    let onSwiftCrypto = cryptoBackend.name == "swift-crypto"
                    // Rounds of baseline(s) then Keybound, alternating, so that a change in the machine's load hits
                    // all of them.
                    progress("\(scenario.rawValue), \(threads) thread(s), backend \(cryptoBackend.name): \(rounds) rounds "
                        + "of raw OpenSSL\(onSwiftCrypto ? ", raw swift-crypto" : "") then Keybound…")
                    let verifier = try fixtures.makeRunVerifier(pool, backend: cryptoBackend)
                    let cursors = BenchCursors(threads: threads, count: pool.requests.count)
                    let limit = scenario == .warm ? Int.max : max(1, pool.requests.count / threads / rounds)
                    var baseline = BenchMeasurement()
                    var swiftCryptoBaseline: BenchMeasurement? = onSwiftCrypto ? BenchMeasurement() : nil
                    var keybound = BenchMeasurement()
                    for _ in 0..<rounds {
                        let walk: BenchWalk = scenario == .warm
                            ? .cycling(seconds: slice) : .paired(with: cursors, limitPerThread: limit, seconds: slice)
                        baseline.merge(try fixtures.runBaseline(scenario, pool, threads: threads, walk: walk))
                        if onSwiftCrypto,
                            let raw = try fixtures.runSwiftCryptoBaseline(scenario, pool, threads: threads, walk: walk)
                        {
                            swiftCryptoBaseline?.merge(raw)
                        }
                        keybound.merge(fixtures.runVerifier(
                            pool, verifier: verifier, cursors: cursors, threads: threads, seconds: slice, limit: limit))
                    }
                    let row = Row(
                        backend: cryptoBackend.name, scenario: scenario, threads: threads, pool: size,
                        keybound: keybound, baseline: baseline, swiftCryptoBaseline: swiftCryptoBaseline)
                    progress(String(format: "  %.0f/s vs %.0f/s raw OpenSSL: ratio %.3f", keybound.perSecond,
                                    baseline.perSecond, row.ratio)
                        + (row.swiftCryptoRatio.map { String(format: "; vs raw swift-crypto %.3f", $0) } ?? ""))
                    if let failure = keybound.firstFailure { progress("  refused: \(failure)") }
                    if let failure = baseline.firstFailure { progress("  raw baseline failed: \(failure)") }
                    if let failure = swiftCryptoBaseline?.firstFailure { progress("  raw swift-crypto failed: \(failure)") }
                    rows.append(row)
                }
            }
        }

        var replay: BenchReplayReport? = nil
        if !skipReplay {
            progress("replay cache: inserts and memory at capacity (\(replayCapacity) entries)…")
            replay = BenchReplayReport.measure(capacity: replayCapacity, keyShare: replayKeyShare)
        }
        let report = json
            ? jsonReport(version: version, es256: es256.perSecond, rs256: rs256.perSecond, rows: rows,
                         replay: replay, backends: backends, swiftCryptoRates: swiftCryptoRates)
            : textReport(version: version, es256: es256.perSecond, rs256: rs256.perSecond, rows: rows,
                         replay: replay, swiftCryptoRates: swiftCryptoRates)
        let complete = rows.allSatisfy { $0.keybound.accepted == $0.keybound.requests && $0.keybound.requests > 0 }
        return (report, complete)
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data(("bench: " + line + "\n").utf8))
    }

    /// The 1-thread row of the same scenario, for speed-ups.
    private func single(_ row: Row, in rows: [Row]) -> Row? {
        rows.first { $0.scenario == row.scenario && $0.threads == 1 && $0.backend == row.backend }
    }

    private func jsonReport(
        version: String, es256: Double, rs256: Double, rows: [Row], replay: BenchReplayReport?,
        backends: [CryptoBackend], swiftCryptoRates: (es256: Double, rs256: Double)?
    ) -> String {
        func number(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        var scenarioTexts: [String] = []
        for row in rows {
            var fields = [
                "\"name\":\"\(row.scenario.rawValue)\"",
                "\"backend\":\"\(row.backend)\"",
                "\"proof_alg\":\"\(proofAlgorithm.rawValue)\"",
                "\"token_alg\":\"\(tokenAlgorithm.rawValue)\"",
                "\"threads\":\(row.threads)",
                "\"requests\":\(row.keybound.requests)",
                "\"accepted\":\(row.keybound.accepted)",
                "\"verifies_per_second\":\(number(row.keybound.perSecond))",
                "\"p50_us\":\(number(row.keybound.percentileMicros(0.5), 2))",
                "\"p99_us\":\(number(row.keybound.percentileMicros(0.99), 2))",
                "\"baseline_per_second\":\(number(row.baseline.perSecond))",
                "\"ratio_to_openssl\":\(number(row.ratio, 4))",
                "\"baseline_p50_us\":\(number(row.baseline.percentileMicros(0.5), 2))",
                "\"baseline_p99_us\":\(number(row.baseline.percentileMicros(0.99), 2))",
                "\"elapsed_seconds\":\(number(Double(row.keybound.elapsedNanos) / 1e9, 3))",
                "\"pool\":\(row.pool)",
                "\"cpu_verifies_per_second\":\(number(row.keybound.perCPUSecond))",
                "\"baseline_cpu_per_second\":\(number(row.baseline.perCPUSecond))",
                "\"cpu_ratio_to_openssl\":\(number(row.cpuRatio, 4))",
            ]
            if let raw = row.swiftCryptoBaseline, let ratio = row.swiftCryptoRatio {
                fields.append("\"raw_swift_crypto_per_second\":\(number(raw.perSecond))")
                fields.append("\"ratio_to_swift_crypto\":\(number(ratio, 4))")
            }
            if row.threads > 1, let one = single(row, in: rows), one.keybound.perSecond > 0,
                one.baseline.perSecond > 0
            {
                let speedup = row.keybound.perSecond / one.keybound.perSecond
                let baselineSpeedup = row.baseline.perSecond / one.baseline.perSecond
                fields.append("\"speedup\":\(number(speedup, 4))")
                fields.append("\"baseline_speedup\":\(number(baselineSpeedup, 4))")
                fields.append("\"speedup_ratio\":\(number(speedup / baselineSpeedup, 4))")
            }
            if let failure = row.keybound.firstFailure { fields.append("\"first_refusal\":\(JSONTree.quoted(failure))") }
            scenarioTexts.append("{" + fields.joined(separator: ",") + "}")
        }
        let backendNames = backends.map(\.name).joined(separator: ",")
        let swiftCryptoObject = swiftCryptoRates.map {
            ",\"swift_crypto\":{\"es256_verify_per_second\":\(number($0.es256)),"
                + "\"rs256_verify_per_second\":\(number($0.rs256))}"
        } ?? ""
        return "{\"backend\":\"\(backendNames)\",\"cores\":\(cores),\"openssl_version\":\(JSONTree.quoted(version)),"
            + "\"seconds\":\(seconds),"
            + "\"openssl\":{\"es256_verify_per_second\":\(number(es256)),\"rs256_verify_per_second\":\(number(rs256))}"
            + swiftCryptoObject + ","
            + "\"scenarios\":[" + scenarioTexts.joined(separator: ",") + "]"
            + (replay.map { report in
                ",\"replay_cache\":{\"capacity\":\(report.capacity),\"bytes_per_entry\":\(report.bytesPerEntry),"
                    + "\"allocated_bytes\":\(report.allocatedBytes),\"key_share\":\(report.keyShare),"
                    + "\"owner_count_bytes\":\(report.ownerCountBytes),"
                    + "\"insert_p50_ns\":\(number(report.insertP50Nanos)),\"insert_p99_ns\":\(number(report.insertP99Nanos)),"
                    + "\"resident_growth_at_capacity_bytes\":\(report.residentGrowthAtCapacityBytes),"
                    + "\"live_at_capacity\":\(report.liveAtCapacity),\"insert_p50_ns_1e3_live\":\(number(report.smallInsertP50Nanos)),\"live_while_timing\":\(report.liveWhileTiming)}"
            } ?? "") + "}"
    }

    private func textReport(
        version: String, es256: Double, rs256: Double, rows: [Row], replay: BenchReplayReport?,
        swiftCryptoRates: (es256: Double, rs256: Double)?
    ) -> String {
        var lines: [String] = []
        lines.append("keybound bench — \(version), \(cores) cores, proofs \(proofAlgorithm.rawValue), "
            + "tokens \(tokenAlgorithm.rawValue), \(seconds) s per run")
        lines.append(String(format: "raw OpenSSL, 1 thread: ES256 %.0f verifies/s, RS256 %.0f verifies/s", es256, rs256))
        if let swiftCryptoRates {
            lines.append(String(format: "raw swift-crypto, 1 thread: ES256 %.0f verifies/s, RS256 %.0f verifies/s",
                                swiftCryptoRates.es256, swiftCryptoRates.rs256))
        }
        lines.append("")
        lines.append(
            "backend       scenario         threads   requests  verifies/s   p50 µs   p99 µs   raw OpenSSL/s   ratio"
                + "  cpu ratio   speed-up (raw)   raw swift-crypto/s (ratio)")
        for row in rows {
            var speedup = ""
            if row.threads > 1, let one = single(row, in: rows), one.keybound.perSecond > 0,
                one.baseline.perSecond > 0
            {
                speedup = String(format: "%.2f× (%.2f×)", row.keybound.perSecond / one.keybound.perSecond,
                                 row.baseline.perSecond / one.baseline.perSecond)
            }
            let accepted = row.keybound.accepted == row.keybound.requests ? "" : "  REFUSED SOME"
            var rawSwiftCrypto = ""
            if let raw = row.swiftCryptoBaseline, let ratio = row.swiftCryptoRatio {
                rawSwiftCrypto = String(format: "   %.0f (%.3f)", raw.perSecond, ratio)
            }
            lines.append(
                row.backend.padding(toLength: 13, withPad: " ", startingAt: 0) + " "
                    + row.scenario.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: " %7d %10d %11.0f %8.1f %8.1f %15.0f %7.3f %10.3f   ", row.threads,
                             row.keybound.requests, row.keybound.perSecond, row.keybound.percentileMicros(0.5),
                             row.keybound.percentileMicros(0.99), row.baseline.perSecond, row.ratio, row.cpuRatio)
                    + speedup.padding(toLength: 16, withPad: " ", startingAt: 0) + rawSwiftCrypto + accepted)
        }
        lines.append("")
        lines.append("ratio = Keybound / raw OpenSSL doing the same signature work, same run, same thread count;")
        lines.append("cpu ratio = the same over the threads' CPU time (holds when other work shares the cores).")
        if let replay {
            lines.append(String(
                format: "replay cache (per-key share %d): %d bytes per live entry (%d bytes for %d entries); insert p50 %.0f ns at %d live "
                    + "entries (p99 of 1,024-insert batches %.0f ns), %.0f ns at ~1,000 live entries; resident growth "
                    + "at capacity %d bytes",
                replay.keyShare, replay.bytesPerEntry, replay.allocatedBytes, replay.capacity, replay.insertP50Nanos,
                replay.liveWhileTiming, replay.insertP99Nanos, replay.smallInsertP50Nanos,
                replay.residentGrowthAtCapacityBytes))
        }
        return lines.joined(separator: "\n")
    }
}
