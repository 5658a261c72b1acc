//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Keybound
import KeyboundBench

/// `keybound bench`: real verification on the embedded defaults, with ratios to raw OpenSSL.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure verifications per second against raw OpenSSL, on 1 thread and on all cores.",
        discussion: """
            Keys, tokens and unique proofs are made in memory before anything is timed; each run uses a fresh \
            verifier on the default policy (in-process replay cache on), and every request must be accepted. \
            Scenarios: warm (cached token, known client key), new-token (new access token each request), \
            new-client-key (new client key and token each request). Each is compared with raw OpenSSL doing the \
            same signature work in the same run and on the same thread count. Progress goes to standard error. \
            With --backend swift-crypto or all (builds with the SwiftCrypto trait), the swift-crypto rows are \
            also compared with raw swift-crypto doing the same signature work (prebuilt keys, nothing of \
            Keybound's).

            Example:
              swift run -c release keybound bench
              swift run -c release keybound bench --seconds 1 --threads 1,2 --json
              swift run -c release --traits default,SwiftCrypto keybound bench \\
                --backend all --seconds 3
            """
    )

    @Option(help: ArgumentHelp("Seconds per scenario and thread count.", valueName: "seconds"))
    var seconds: Double = 3

    @Option(
        help: ArgumentHelp(
            "Thread counts, comma-separated (default: 1 and the number of cores).", valueName: "n[,n…]"))
    var threads: String?

    @Option(name: .customLong("proof-alg"), help: ArgumentHelp("The proof algorithm.", valueName: "alg"))
    var proofAlg: String = "ES256"

    @Option(name: .customLong("token-alg"), help: ArgumentHelp("The token algorithm.", valueName: "alg"))
    var tokenAlg: String = "RS256"

    @Option(
        name: .customLong("scenario"),
        help: ArgumentHelp("Only these scenarios (repeatable): warm, new-token, new-client-key.", valueName: "name"))
    var scenarios: [String] = []

    @Option(
        name: .customLong("cold-requests"),
        help: ArgumentHelp(
            "The most distinct tokens made for new-token and new-client-key (each costs a signature).",
            valueName: "n"))
    var coldRequests: Int = 8000

    @Option(
        name: .customLong("max-requests"),
        help: ArgumentHelp(
            "Cap every pool at this many requests (default: no cap beyond --cold-requests; for quick smoke runs).",
            valueName: "n"))
    var maxRequests: Int?

    @Option(
        name: .customLong("replay-capacity"),
        help: ArgumentHelp("The replay cache capacity measured (the default policy's).", valueName: "n"))
    var replayCapacity: Int = 1 << 20

    @Option(
        name: .customLong("replay-key-share"),
        help: ArgumentHelp(
            "The per-key replay share measured (default capacity / 8, the default policy's; 0 measures the cache "
                + "without it).", valueName: "n"))
    var replayKeyShare: Int?

    @Flag(name: .customLong("skip-replay"), help: "Do not measure the replay cache (insert time, memory at capacity).")
    var skipReplay = false

    @Option(
        name: .customLong("backend"),
        help: ArgumentHelp(
            "The crypto backend: openssl, swift-crypto, or all (both side by side; swift-crypto needs a build "
                + "with --traits default,SwiftCrypto).", valueName: "name"))
    var backend: String = "openssl"

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    // The instruction gate's driver (docs/bench.md "Instruction counts"): --callgrind-inputs and --callgrind-run each
    // do their one job and exit.
    @Option(name: .customLong("callgrind-inputs"), help: Self.gate("Write one scenario's fixed inputs.", "scenario"))
    var callgrindInputs: String?
    @Option(name: .customLong("callgrind-run"), help: Self.gate("Run the counted regions over inputs.", "path"))
    var callgrindRun: String?
    @Option(name: .customLong("callgrind-requests"), help: Self.gate("Requests in the inputs.", "n"))
    var callgrindRequests: Int = 400
    @Option(name: .customLong("callgrind-seed"), help: Self.gate("The client keys' seed.", "text"))
    var callgrindSeed: String = "keybound-callgrind-1"
    @Option(name: .customLong("callgrind-issuer"), help: Self.gate("The issuer's private RS256 JWK.", "path"))
    var callgrindIssuer: String = "Benchmarks/callgrind/issuer-rs256.jwk"

    /// Help of the instruction gate's options (scripts/ci/callgrind.sh).
    static func gate(_ text: String, _ valueName: String) -> ArgumentHelp {
        ArgumentHelp(text + " For scripts/ci/callgrind.sh.", valueName: valueName)
    }

    func validate() throws {
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
        guard coldRequests >= 16 else { throw ValidationError("--cold-requests must be at least 16") }
        if let maxRequests, maxRequests < 16 { throw ValidationError("--max-requests must be at least 16") }
        guard (8192...(1 << 26)).contains(replayCapacity) else {
            throw ValidationError("--replay-capacity must be in 8192...67108864")
        }
        if let replayKeyShare, !(0...replayCapacity).contains(replayKeyShare) {
            throw ValidationError("--replay-key-share must be in 0...--replay-capacity")
        }
        _ = try threadCounts()
        do {
            _ = try BenchBackends.named(backend)
        } catch let error as BenchError {
            throw ValidationError(error.message)
        }
        for name in scenarios where BenchScenario(rawValue: name) == nil {
            throw ValidationError("unknown scenario \(name)")
        }
        if let name = callgrindInputs, BenchScenario(rawValue: name) == nil {
            throw ValidationError("--callgrind-inputs: unknown scenario \(name)")
        }
        guard (16...100_000).contains(callgrindRequests) else {
            throw ValidationError("--callgrind-requests must be in 16...100000")
        }
        if callgrindRun != nil, backend == "all" {
            throw ValidationError("--callgrind-run takes one --backend: openssl or swift-crypto")
        }
    }

    var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    func threadCounts() throws -> [Int] {
        guard let threads else { return cores > 1 ? [1, cores] : [1] }
        var counts: [Int] = []
        for part in threads.split(separator: ",") {
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)), (1...256).contains(value) else {
                throw ValidationError("--threads takes thread counts in 1...256, comma-separated")
            }
            if !counts.contains(value) { counts.append(value) }
        }
        guard !counts.isEmpty else { throw ValidationError("--threads is empty") }
        return counts
    }

    func run() throws {
        if let name = callgrindInputs {
            guard let scenario = BenchScenario(rawValue: name) else { throw ValidationError("unknown scenario \(name)") }
            let issuer = try String(contentsOfFile: callgrindIssuer, encoding: .utf8)
            print(
                try CallgrindDriver().writeInputs(
                    scenario: scenario, count: callgrindRequests, seed: callgrindSeed, issuerJWK: issuer),
                terminator: "")
            return
        }
        if let path = callgrindRun {
            guard let chosen = try BenchBackends.named(backend).first else {
                throw ValidationError("--callgrind-run takes one --backend")
            }
            print(try CallgrindDriver().run(inputs: try String(contentsOfFile: path, encoding: .utf8), backend: chosen))
            return
        }
        var session = BenchSession()
        session.seconds = seconds
        session.threadCounts = try threadCounts()
        session.proofAlgorithm = try Inputs.algorithm(proofAlg)
        session.tokenAlgorithm = try Inputs.algorithm(tokenAlg)
        session.scenarios = scenarios.compactMap(BenchScenario.init(rawValue:))
        session.coldRequests = coldRequests
        session.maxRequests = maxRequests
        session.replayCapacity = replayCapacity
        session.replayKeyShare = replayKeyShare
        session.skipReplay = skipReplay
        session.backends = try BenchBackends.named(backend)
        session.json = json
        session.now = Inputs.clock()
        let (report, complete) = try session.run()
        print(report)
        if !complete {
            Console.flush()
            throw ToolError("bench: some requests were refused (accepted != requests)")
        }
    }
}
