//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import CKeybound
import CMallocCounter
import Foundation
import Keybound
import KeyboundCABI
import Testing

/// The fixture scenario of Tests/KeyboundTests/Fixtures/dpop-requests.json (Python `cryptography` oracle).
struct Scenario {
    let now: Int64
    let issuer: String
    let audience: String
    let jwks: String
    /// The valid resource requests: (method, url, authorization, proof, jkt).
    let valid: [(method: String, url: String, authorization: String, proof: String, jkt: String)]

    static let shared: Scenario? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("KeyboundTests/Fixtures/dpop-requests.json")
        guard let data = try? Data(contentsOf: url),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let jwks = root["jwks"], let jwksData = try? JSONSerialization.data(withJSONObject: jwks),
            let cases = root["cases"] as? [[String: Any]]
        else { return nil }
        let valid = cases.compactMap { c -> (String, String, String, String, String)? in
            guard let expect = c["expect"] as? [String: Any], expect["ok"] as? Bool == true,
                c["mode"] as? String == "resource", let method = c["method"] as? String, let url = c["url"] as? String,
                let authorization = c["authorization"] as? String, let dpop = c["dpop"] as? [String], dpop.count == 1,
                let jkt = expect["jkt"] as? String
            else { return nil }
            return (method, url, authorization, dpop[0], jkt)
        }
        return Scenario(
            now: (root["now"] as? NSNumber)?.int64Value ?? 0, issuer: root["issuer"] as? String ?? "",
            audience: root["audience"] as? String ?? "", jwks: String(decoding: jwksData, as: UTF8.self),
            valid: valid.map { (method: $0.0, url: $0.1, authorization: $0.2, proof: $0.3, jkt: $0.4) })
    }()
}

/// Calls `body` with a C view of a string's UTF-8.
func withBytes<R>(_ string: String, _ body: (UnsafePointer<UInt8>?, Int) -> R) -> R {
    var copy = string
    return copy.withUTF8 { body($0.baseAddress, $0.count) }
}

/// Makes a verifier for the scenario, optionally with an external replay store.
func makeVerifier(_ scenario: Scenario, store: UnsafePointer<kb_replay_store_vtable>? = nil) throws -> OpaquePointer {
    var cfg: OpaquePointer? = nil
    try #require(kb_config_new(&cfg) == KB_OK)
    defer { kb_config_free(cfg) }
    let added = withBytes(scenario.issuer) { iss, issLength in
        withBytes(scenario.jwks) { jwks, jwksLength in
            kb_config_add_issuer(cfg, iss, issLength, jwks, jwksLength)
        }
    }
    try #require(added == KB_OK)
    let audience = withBytes(scenario.issuer) { iss, issLength in
        withBytes(scenario.audience) { aud, audLength in kb_config_add_audience(cfg, iss, issLength, aud, audLength) }
    }
    try #require(audience == KB_OK)
    if let store { try #require(kb_config_set_replay_store(cfg, store, nil) == KB_OK) }
    var verifier: OpaquePointer? = nil
    var errbuf = [CChar](repeating: 0, count: 128)
    try #require(kb_verifier_new(cfg, &verifier, &errbuf, errbuf.count) == KB_OK)
    return try #require(verifier)
}

/// Verifies a resource request through `kb_verify`.
func verify(
    _ verifier: OpaquePointer, _ result: OpaquePointer, method: String, url: String, authorization: String,
    proof: String, now: Int64
) -> kb_status {
    withBytes(method) { m, mLength in
        withBytes(url) { u, uLength in
            withBytes(authorization) { a, aLength in
                withBytes(proof) { p, pLength in
                    var values: [UnsafePointer<UInt8>?] = [p]
                    var lengths = [pLength]
                    return kb_verify(verifier, m, mLength, u, uLength, a, aLength, &values, &lengths, 1, now, result)
                }
            }
        }
    }
}

func field(_ result: OpaquePointer, _ field: Int32) -> String? {
    var pointer: UnsafePointer<UInt8>? = nil
    var length = 0
    guard kb_result_field(result, field, &pointer, &length) == KB_OK, let pointer else { return nil }
    return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
}

@Suite("C ABI (kb_* through CKeybound)")
struct CABITests {
    @Test("every Swift error code has the same number, name, RFC error and HTTP status in the C status table")
    func statusTableMatchesSwift() {
        for code in KeyboundError.Code.allCodes {
            let status = Int32(code.rawValue)
            #expect(String(cString: kb_status_name(status)) == code.name)
            #expect(String(cString: kb_status_string(status)) == code.summary)
            #expect(kb_status_rfc_error(status).map { String(cString: $0) } == code.rfcError)
            if code.rawValue < 900 { #expect(Int(kb_status_http_status(status)) == code.httpStatus) }
        }
        #expect(String(cString: kb_status_name(Int32(KB_ERR_INVALID_INPUT_LINE))) == "invalid_input_line")
        #expect(String(cString: kb_status_name(4242)) == "unknown")
    }

    @Test("the C status table is the Swift codes plus KB_OK, 900, 901 and the CLI's 950, and nothing else")
    func statusTableIsOneTable() {
        var described: Set<Int> = []
        for number in Int32(-10)...Int32(2000) where String(cString: kb_status_name(number)) != "unknown" {
            described.insert(Int(number))
            #expect(String(cString: kb_status_string(number)) != "unknown status", "\(number)")
            #expect(kb_status_http_status(number) != 0, "\(number)")
        }
        let expected = Set(KeyboundError.Code.allCodes.map(\.rawValue)).union([0, 900, 901, 950])
        #expect(described == expected)
        #expect(String(cString: kb_status_name(Int32(KB_OK))) == "ok" && kb_status_http_status(Int32(KB_OK)) == 200)
        #expect(String(cString: kb_status_name(Int32(KB_ERR_INVALID_ARGUMENT))) == "invalid_argument")
        #expect(String(cString: kb_status_name(Int32(KB_ERR_BUFFER_TOO_SMALL))) == "buffer_too_small")
        #expect(kb_status_rfc_error(Int32(KB_ERR_INVALID_INPUT_LINE)).map { String(cString: $0) } == "invalid_request")
        #expect(kb_status_http_status(Int32(KB_ERR_INVALID_INPUT_LINE)) == 400)
        // Texts are static: the same pointer every time.
        #expect(kb_status_name(Int32(KB_ERR_PROOF_TYP)) == kb_status_name(Int32(KB_ERR_PROOF_TYP)))
    }

    @Test("the reserved rows 212, 314, 315, 316 and 503 are in the header's enum and the C status table")
    func reservedStatuses() {
        let rows: [(Int, KeyboundError.Code, String, String?, Int32)] = [
            (KB_ERR_REPLAY_QUOTA_EXCEEDED, .replayQuotaExceeded, "replay_quota_exceeded", nil, 429),
            (KB_ERR_INSUFFICIENT_USER_AUTHENTICATION, .insufficientUserAuthentication,
             "insufficient_user_authentication", "insufficient_user_authentication", 401),
            (KB_ERR_INSUFFICIENT_SCOPE, .insufficientScope, "insufficient_scope", "insufficient_scope", 403),
            (KB_ERR_BOUND_TOKEN_AS_BEARER, .boundTokenAsBearer, "bound_token_as_bearer", "invalid_token", 401),
            (KB_ERR_REPLAY_STORE_RESTARTED, .replayStoreRestarted, "replay_store_restarted", nil, 503),
        ]
        for (status, code, name, rfcError, http) in rows {
            #expect(status == code.rawValue)
            let status = Int32(status)
            #expect(String(cString: kb_status_name(status)) == name)
            #expect(kb_status_rfc_error(status).map { String(cString: $0) } == rfcError)
            #expect(kb_status_http_status(status) == http)
            #expect(String(cString: kb_status_string(status)) == code.summary)
        }
    }

    @Test("version: the header's KB_VERSION_* macros and the kb_version_* exports are KeyboundVersion")
    func version() {
        #expect(Int(KB_VERSION_MAJOR) == KeyboundVersion.major)
        #expect(Int(KB_VERSION_MINOR) == KeyboundVersion.minor)
        #expect(Int(KB_VERSION_PATCH) == KeyboundVersion.patch)
        // KB_VERSION_NUMBER is an expression of the three macros (Swift does not import it): the same formula.
        #expect(Int(KB_VERSION_MAJOR) * 10000 + Int(KB_VERSION_MINOR) * 100 + Int(KB_VERSION_PATCH) == KeyboundVersion.number)
        #expect(KB_VERSION_STRING == KeyboundVersion.string)
        #expect(kb_version_number() == UInt32(KeyboundVersion.number))
        #expect(String(cString: kb_version_string()) == KeyboundVersion.string)
        #expect(kb_version_string() == kb_version_string(), "static text")
    }

    /// The sizes of the first published layouts (keybound.h: "fields are only ever appended").
    static let metricsFirstLayout = 72
    static let vtableFirstLayout = MemoryLayout<UInt32>.stride * 2 + 2 * MemoryLayout<UnsafeRawPointer>.size

    @Test("kb_verifier_metrics accepts the first layout's struct_size and a bigger one, refuses a smaller one")
    func metricsStructSize() throws {
        let scenario = try #require(Scenario.shared)
        let verifier = try makeVerifier(scenario)
        defer { kb_verifier_free(verifier) }
        var result: OpaquePointer? = nil
        try #require(kb_result_new(&result) == KB_OK)
        defer { kb_result_free(result) }
        let request = try #require(scenario.valid.first)
        #expect(verify(verifier, try #require(result), method: request.method, url: request.url,
                       authorization: request.authorization, proof: request.proof, now: scenario.now) == KB_OK)
        #expect(MemoryLayout<kb_metrics>.size >= Self.metricsFirstLayout)

        // A caller built against a future header: its struct is bigger, and its newer fields are left alone.
        let futureSize = MemoryLayout<kb_metrics>.size + 24
        let future = UnsafeMutableRawPointer.allocate(byteCount: futureSize, alignment: 8)
        defer { future.deallocate() }
        future.initializeMemory(as: UInt8.self, repeating: 0xAB, count: futureSize)
        future.storeBytes(of: UInt32(futureSize), as: UInt32.self)
        let futureMetrics = future.assumingMemoryBound(to: kb_metrics.self)
        #expect(kb_verifier_metrics(verifier, futureMetrics) == KB_OK)
        #expect(futureMetrics.pointee.struct_size == UInt32(futureSize))
        #expect(futureMetrics.pointee.verified == 1)
        #expect(futureMetrics.pointee.reserved == 0)
        let tail = UnsafeRawBufferPointer(start: future + MemoryLayout<kb_metrics>.size, count: 24)
        #expect(tail.allSatisfy { $0 == 0xAB }, "fields past this library's layout are untouched")

        // The first layout exactly (an older caller), then one byte short of it.
        var first = kb_metrics()
        first.struct_size = UInt32(Self.metricsFirstLayout)
        #expect(kb_verifier_metrics(verifier, &first) == KB_OK)
        #expect(first.verified == 1 && first.struct_size == UInt32(Self.metricsFirstLayout))
        var short = kb_metrics()
        short.struct_size = UInt32(Self.metricsFirstLayout - 1)
        short.verified = 77
        #expect(kb_verifier_metrics(verifier, &short) == KB_ERR_INVALID_ARGUMENT)
        #expect(short.verified == 77, "nothing written")
    }

    @Test("kb_config_set_replay_store accepts the first layout's struct_size and a bigger one, refuses a smaller one")
    func replayStoreStructSize() throws {
        let scenario = try #require(Scenario.shared)
        let request = try #require(scenario.valid.first)
        let insert: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int64, Int64) -> Int32 = {
            _, _, _, _ in Int32(KB_REPLAY_REPLAYED)
        }
        // A future caller's table: the first layout plus two more pointers, with struct_size covering them.
        struct FutureTable {
            var table: kb_replay_store_vtable
            var newer: (UnsafeRawPointer?, UnsafeRawPointer?)
        }
        for size in [Self.vtableFirstLayout, MemoryLayout<FutureTable>.size] {
            var future = FutureTable(
                table: kb_replay_store_vtable(struct_size: UInt32(size), insert: insert, destroy: nil, insert_owned: nil),
                newer: (UnsafeRawPointer(bitPattern: 0xdead), UnsafeRawPointer(bitPattern: 0xbeef)))
            let verifier = try withUnsafePointer(to: &future) { pointer in
                try makeVerifier(scenario, store: UnsafeRawPointer(pointer).assumingMemoryBound(to: kb_replay_store_vtable.self))
            }
            defer { kb_verifier_free(verifier) }
            var result: OpaquePointer? = nil
            try #require(kb_result_new(&result) == KB_OK)
            defer { kb_result_free(result) }
            // The store answers "replayed": proof that this table's insert is the one in use.
            #expect(verify(verifier, try #require(result), method: request.method, url: request.url,
                           authorization: request.authorization, proof: request.proof, now: scenario.now)
                    == KB_ERR_PROOF_REPLAYED, "struct_size \(size)")
        }
        var cfg: OpaquePointer? = nil
        try #require(kb_config_new(&cfg) == KB_OK)
        defer { kb_config_free(cfg) }
        var short = kb_replay_store_vtable(struct_size: UInt32(Self.vtableFirstLayout - 1), insert: insert, destroy: nil, insert_owned: nil)
        #expect(kb_config_set_replay_store(cfg, &short, nil) == KB_ERR_INVALID_ARGUMENT)
        var zero = kb_replay_store_vtable(struct_size: 0, insert: insert, destroy: nil, insert_owned: nil)
        #expect(kb_config_set_replay_store(cfg, &zero, nil) == KB_ERR_INVALID_ARGUMENT)
    }

    @Test("NULL and impossible lengths are KB_ERR_INVALID_ARGUMENT, never a trap")
    func invalidArguments() throws {
        var cfg: OpaquePointer? = nil
        #expect(kb_config_new(nil) == KB_ERR_INVALID_ARGUMENT)
        try #require(kb_config_new(&cfg) == KB_OK)
        defer { kb_config_free(cfg) }
        #expect(kb_config_add_issuer(cfg, nil, 3, nil, 0) == KB_ERR_INVALID_ARGUMENT)
        withBytes("x") { p, _ in
            #expect(kb_config_add_issuer(cfg, p, Int(bitPattern: UInt(UInt.max)), p, 1) == KB_ERR_INVALID_ARGUMENT)
            #expect(kb_config_set_str(cfg, Int32(KB_OPT_EXTERNAL_BASE_URL), p, -5) == KB_ERR_INVALID_ARGUMENT)
        }
        #expect(kb_verify(nil, nil, 0, nil, 0, nil, 0, nil, nil, 0, 0, nil) == KB_ERR_INVALID_ARGUMENT)
        var out: OpaquePointer? = OpaquePointer(bitPattern: 8)
        #expect(kb_verifier_new(nil, &out, nil, 0) == KB_ERR_INVALID_ARGUMENT)
        #expect(out == nil)
    }

    @Test("errbuf is truncated on a character boundary and NUL-terminated")
    func errbufTruncation() throws {
        var cfg: OpaquePointer? = nil
        try #require(kb_config_new(&cfg) == KB_OK)
        defer { kb_config_free(cfg) }
        // An issuer name with a multi-byte character lands in the reason ("issuer 0: …" is ASCII, so use the JWKS).
        _ = withBytes("https://i.example") { i, il in withBytes("{}") { j, jl in kb_config_add_issuer(cfg, i, il, j, jl) } }
        var verifier: OpaquePointer? = nil
        var small = [CChar](repeating: 0x7F, count: 6)
        #expect(kb_verifier_new(cfg, &verifier, &small, small.count) == KB_ERR_INVALID_JWKS)
        #expect(small[5] == 0)
        #expect(String(decoding: small.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == "issue")
    }

    @Test("the fixture's valid requests verify through kb_verify, then are replays")
    func fixtureRequests() throws {
        let scenario = try #require(Scenario.shared)
        try #require(scenario.valid.count > 10)
        let verifier = try makeVerifier(scenario)
        defer { kb_verifier_free(verifier) }
        var result: OpaquePointer? = nil
        try #require(kb_result_new(&result) == KB_OK)
        defer { kb_result_free(result) }
        let r = try #require(result)
        for request in scenario.valid {
            let status = verify(verifier, r, method: request.method, url: request.url,
                                authorization: request.authorization, proof: request.proof, now: scenario.now)
            #expect(status == KB_OK)
            #expect(field(r, Int32(KB_FIELD_JKT)) == request.jkt)
            #expect(kb_result_http_status(r) == 200)
        }
        let first = scenario.valid[0]
        let again = verify(verifier, r, method: first.method, url: first.url, authorization: first.authorization,
                           proof: first.proof, now: scenario.now)
        #expect(again == KB_ERR_PROOF_REPLAYED)
        #expect(field(r, Int32(KB_FIELD_ERROR_NAME)) == "proof_replayed")
        #expect(field(r, Int32(KB_FIELD_SUB)) == nil)
    }

    @Test("a warm kb_verify allocates nothing beyond the core's own verify (reused kb_result, cached token and key)")
    func warmVerifyAllocatesNothing() throws {
        try #require(CMallocCounter_available() == 1, "this build must count allocations (not a sanitizer build)")
        let scenario = try #require(Scenario.shared)
        let request = try #require(scenario.valid.first)
        // A store that accepts every proof, so the same request can be verified warm again and again.
        let insert: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int64, Int64) -> Int32 = {
            _, _, _, _ in Int32(KB_REPLAY_INSERTED)
        }
        var table = kb_replay_store_vtable(
            struct_size: UInt32(MemoryLayout<kb_replay_store_vtable>.size), insert: insert, destroy: nil, insert_owned: nil)
        let verifier = try makeVerifier(scenario, store: &table)
        defer { kb_verifier_free(verifier) }
        var result: OpaquePointer? = nil
        try #require(kb_result_new(&result) == KB_OK)
        defer { kb_result_free(result) }
        let r = try #require(result)
        // Copy the inputs into C buffers first: only kb_verify itself is measured.
        func cBytes(_ s: String) -> UnsafeMutableBufferPointer<UInt8> {
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: s.utf8.count)
            _ = buffer.initialize(from: s.utf8)
            return buffer
        }
        let method = cBytes(request.method), url = cBytes(request.url)
        let authorization = cBytes(request.authorization), proof = cBytes(request.proof)
        defer { for b in [method, url, authorization, proof] { b.deallocate() } }
        let values = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: 1)
        values.initialize(to: UnsafePointer(proof.baseAddress))
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        lengths.initialize(to: proof.count)
        defer { values.deallocate(); lengths.deallocate() }
        func once() -> kb_status {
            kb_verify(verifier, method.baseAddress, method.count, url.baseAddress, url.count, authorization.baseAddress,
                      authorization.count, values, lengths, 1, scenario.now, r)
        }
        #expect(once() == KB_OK)  // cold: caches and result buffers fill
        #expect(once() == KB_OK)
        CMallocCounter_begin()
        let status = once()
        let allocations = CMallocCounter_end()
        #expect(status == KB_OK)
        #expect(field(r, Int32(KB_FIELD_JKT)) == request.jkt)

        // The same request through the core's byte-level entry point, with the same kind of store: what the core
        // (and OpenSSL under it) allocates. The C skin must add nothing to it.
        struct AcceptAll: ReplayStore {
            func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult { .inserted }
        }
        let core = try Verifier(
            issuers: [TrustedIssuer(identifier: scenario.issuer, audiences: [scenario.audience],
                                    keys: try JWKSet(json: scenario.jwks))],
            replayStore: AcceptAll())
        func coreOnce() throws {
            _ = try core.verify(method: UnsafeRawBufferPointer(method), url: UnsafeRawBufferPointer(url),
                                authorization: UnsafeRawBufferPointer(authorization), dpopCount: 1,
                                firstProof: UnsafeRawBufferPointer(proof), mode: .resource, now: scenario.now)
        }
        try coreOnce()
        try coreOnce()
        CMallocCounter_begin()
        try coreOnce()
        let coreAllocations = CMallocCounter_end()
        #expect(allocations == coreAllocations,
                "kb_verify made \(allocations) heap allocations, the core's verify \(coreAllocations)")
        print("warm verify heap allocations: kb_verify \(allocations), core \(coreAllocations) (OpenSSL's own)")
    }
}
