// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the whole verifier, with the fixture issuer's keys (so inputs built from the seed corpus reach
// every check) and a replay store that always records (so valid requests go all the way, every time).
//
// Input: lines separated by "\n": method, URL, Authorization value (empty line: absent), then each DPoP value.
// A first byte of 'T' selects token-endpoint mode, 'O' opaque-token mode (bound to the seed clients' jkt).
import Foundation
import FuzzSupport
import Keybound

final class AlwaysRecords: ReplayStore {
    func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult { .inserted }
}

/// The fixture scenario's verifier and clock; only the verifier outlives this function.
func makeVerifier() -> (Verifier, Int64) {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/KeyboundTests/Fixtures/dpop-requests.json")
    guard let data = try? Data(contentsOf: fixtures),
        let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let jwks = try? JSONSerialization.data(withJSONObject: root["jwks"] ?? [:]),
        let keys = try? JWKSet(json: [UInt8](jwks)),
        let verifier = try? Verifier(
            issuers: [TrustedIssuer(identifier: root["issuer"] as? String ?? "",
                                    audiences: [root["audience"] as? String ?? ""], keys: keys)],
            replayStore: AlwaysRecords())
    else { fatalError("fuzz-verify: cannot read \(fixtures.path)") }
    return (verifier, (root["now"] as? NSNumber)?.int64Value ?? 0)
}

let (verifier, now) = makeVerifier()

runFuzzer { data, size in
    var bytes = fuzzInput(data, size)
    var mode = VerificationMode.resource
    if let first = bytes.first, first == UInt8(ascii: "T") || first == UInt8(ascii: "O") {
        mode = first == UInt8(ascii: "T") ? .tokenEndpoint : .opaqueToken(boundJKT: "w4ZumGmd1PcewA9ap18EJ2jooVqa2mKSwosxeU8TKCA")
        bytes.removeFirst()
    }
    let fields = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    guard fields.count >= 3 else { return 0 }
    let request = DPoPRequest(method: fields[0], url: fields[1], authorization: fields[2].isEmpty ? nil : fields[2],
                              dpop: Array(fields.dropFirst(3)))
    _ = try? verifier.verify(request, mode: mode, now: now)
    return 0
}
