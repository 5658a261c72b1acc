//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Testing

/// `keybound bench`: the JSON shape and `accepted == requests`. No timing is asserted, only that the
/// figures are there and positive.
@Suite("CLI: bench")
struct CLIBenchTests {
    @Test("--json prints the issue's object; every proof is accepted in every scenario and thread count")
    func jsonShape() throws {
        let result = try keybound([
            "bench", "--seconds", "0.2", "--threads", "1,2", "--cold-requests", "64", "--max-requests", "400",
            "--replay-capacity", "65536", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try result.json()
        #expect(object["backend"] as? String == "openssl")
        #expect((object["cores"] as? Int ?? 0) >= 1)
        let openssl = try #require(object["openssl"] as? [String: Any])
        #expect((openssl["es256_verify_per_second"] as? Double ?? 0) > 0)
        #expect((openssl["rs256_verify_per_second"] as? Double ?? 0) > 0)
        let scenarios = try #require(object["scenarios"] as? [[String: Any]])
        #expect(scenarios.count == 6)
        var names: [String: Set<Int>] = [:]
        for scenario in scenarios {
            let name = try #require(scenario["name"] as? String)
            let threads = try #require(scenario["threads"] as? Int)
            names[name, default: []].insert(threads)
            #expect(scenario["proof_alg"] as? String == "ES256")
            #expect(scenario["token_alg"] as? String == "RS256")
            let requests = try #require(scenario["requests"] as? Int)
            #expect(requests > 0)
            #expect(scenario["accepted"] as? Int == requests, "\(name) \(threads): \(scenario)")
            for field in ["verifies_per_second", "p50_us", "p99_us", "baseline_per_second", "ratio_to_openssl", "cpu_ratio_to_openssl"] {
                let value = try #require(scenario[field] as? Double, "\(field) missing in \(scenario)")
                #expect(value > 0, "\(field)")
            }
        }
        #expect(names == ["warm": [1, 2], "new-token": [1, 2], "new-client-key": [1, 2]])
        #expect(result.stderr.contains("bench: "), "progress goes to standard error")
        let replay = try #require(object["replay_cache"] as? [String: Any])
        // 48 bytes of table plus the per-key share's owner counts (under 16 bytes per entry; docs/design.md).
        #expect(replay["bytes_per_entry"] as? Int == 64)
        #expect(replay["key_share"] as? Int == 65536 / 8)
        #expect((replay["owner_count_bytes"] as? Int ?? 0) > 0)
        #expect((replay["insert_p50_ns"] as? Double ?? 0) > 0)
    }

    @Test("other algorithms and the human report")
    func otherAlgorithms() throws {
        let result = try keybound([
            "bench", "--seconds", "0.1", "--threads", "1", "--proof-alg", "EdDSA", "--token-alg", "ES256",
            "--scenario", "warm", "--scenario", "new-client-key", "--cold-requests", "32", "--max-requests", "200",
            "--skip-replay",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("warm"))
        #expect(result.stdout.contains("new-client-key"))
        #expect(!result.stdout.contains("REFUSED"))
    }

    /// The committed issuer key of the instruction gate's inputs.
    static let callgrindIssuer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Benchmarks/callgrind/issuer-rs256.jwk").path

    @Test("--callgrind-inputs writes the same requests from the same seed; --callgrind-run accepts every one")
    func callgrindDriver() throws {
        let dir = try TempDir()
        for scenario in ["warm", "new-token", "new-client-key"] {
            let arguments = [
                "bench", "--callgrind-inputs", scenario, "--callgrind-requests", "16", "--callgrind-issuer",
                Self.callgrindIssuer,
            ]
            let inputs = try keybound(arguments)
            #expect(inputs.status == 0, "\(inputs.stderr)")
            let lines = inputs.stdout.split(separator: "\n")
            #expect(lines.count == 18, "a header, the warm-up and 16 requests")
            // Fixed seed, clock and jti: only the ECDSA proof signatures (random nonces) differ between two runs.
            let again = try keybound(arguments)
            #expect(Self.withoutProofSignatures(again.stdout) == Self.withoutProofSignatures(inputs.stdout))
            let path = try dir.write("\(scenario).jsonl", Data(inputs.stdout.utf8))
            let run = try keybound(["bench", "--callgrind-run", path])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try run.json()
            #expect(object["scenario"] as? String == scenario)
            #expect(object["accepted"] as? String == "16")
            #expect(object["requests"] as? String == "16")
        }
    }

    @Test("--callgrind-run exits 2 when a request is refused")
    func callgrindRunRefusal() throws {
        let inputs = try keybound([
            "bench", "--callgrind-inputs", "warm", "--callgrind-requests", "16", "--callgrind-issuer",
            Self.callgrindIssuer,
        ])
        #expect(inputs.status == 0, "\(inputs.stderr)")
        var lines = inputs.stdout.split(separator: "\n").map(String.init)
        lines[5] = lines[4]  // the same proof twice: the replay cache refuses the second
        let dir = try TempDir()
        let path = try dir.write("replayed.jsonl", Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try keybound(["bench", "--callgrind-run", path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("15 accepted"), "\(run.stderr)")
        #expect(run.stderr.contains("proof_replayed"), "\(run.stderr)")
    }

    /// The inputs with every proof's signature segment cut off.
    static func withoutProofSignatures(_ text: String) -> String {
        text.split(separator: "\n").map { line in
            line.replacing(/("dpop":"[^".]*\.[^".]*\.)[^"]*"/) { $0.output.1 + "\"" }
        }.joined(separator: "\n")
    }

    @Test("usage errors exit 2")
    func usage() throws {
        for arguments in [
            ["--seconds", "0"], ["--threads", "0"], ["--scenario", "cold"], ["--proof-alg", "HS256"],
            ["--max-requests", "3"], ["--callgrind-inputs", "cold"], ["--callgrind-inputs", "warm", "--callgrind-requests", "3"],
            ["--callgrind-run", "/dev/null", "--backend", "all"],
        ] {
            let result = try keybound(["bench"] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
    }
}
