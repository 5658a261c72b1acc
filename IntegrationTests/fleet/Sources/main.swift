//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// keybound-fleet: the driver of scripts/ci/redis.sh. Several of these processes, each a Verifier with a Redis replay
// store, share one redis-server. Subcommands:
//   gen DIR N KEYS URL            issuer JWKS, KEYS client keys and tokens, N proofs (requests.jsonl, CLI batch format)
//   run DIR URL NAME FROM TO THREADS START_MS [reverse]   verify requests[FROM..<TO] on THREADS threads from START_MS (Unix ms)
//   check DIR N                   every proof accepted exactly once across the accepted-*.txt files
//   outage URL SECONDS            fresh proofs and cross-instance replays while the script stops and restarts Redis
//   ttl URL                       one proof through the store; prints its Redis key and the expected PTTL range
//   slow URL TIMEOUT_MS           inserts while Redis is paused: each must fail closed within the timeout
//   revocation DIR URL ROLE       listen: verify until the key is revoked; publish: revoke the client key
//   bench URL THREADS N           verifications/s with the Redis store and with the in-process cache

import Foundation

#if Redis
import Keybound
import KeyboundRedis
import KeyboundSigning
import KeyboundTestSupport

let issuerID = "https://issuer.fleet.example"
let audience = "https://api.fleet.example"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("keybound-fleet: \(message)\n".utf8))
    exit(1)
}

func unixSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }
func unixMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

func must<T>(_ what: String, _ body: () throws -> T) -> T {
    do { return try body() } catch { fail("\(what): \(error)") }
}

func write(_ text: String, to path: String) {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { fail("cannot write \(path)") }
}

func read(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self)
}

/// One request of requests.jsonl.
struct Request {
    let method: String
    let url: String
    let authorization: String
    let dpop: String

    var dpopRequest: DPoPRequest { DPoPRequest(method: method, url: url, authorization: authorization, dpop: [dpop]) }

    var jsonLine: String {
        let object: [String: String] = ["method": method, "url": url, "authorization": authorization, "dpop": dpop]
        let data = must("json") { try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }
        return String(decoding: data, as: UTF8.self)
    }

    static func parse(_ line: Substring) -> Request {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            let method = object["method"], let url = object["url"], let authorization = object["authorization"],
            let dpop = object["dpop"]
        else { fail("bad request line") }
        return Request(method: method, url: url, authorization: authorization, dpop: dpop)
    }
}

/// A client: its key and its access token.
struct Client {
    let key: SigningKey
    let token: String

    func request(_ index: Int, iat: Int64, nonce: String? = nil) -> Request {
        let url = "\(audience)/orders/\(index)"
        let proof = must("proof") {
            try DPoPBuilder.proof(
                key: key, method: "GET", url: url, iat: iat, jti: "fleet-\(index)-\(UUID().uuidString)",
                accessToken: token, nonce: nonce)
        }
        return Request(method: "GET", url: url, authorization: "DPoP " + token, dpop: proof)
    }
}

/// The issuer key, its JWKS, and `count` clients with tokens valid for an hour.
func makeClients(_ count: Int, now: Int64) -> (jwks: String, issuer: SigningKey, clients: [Client]) {
    let issuer = must("issuer key") { try SigningKey.generate(.es256, kid: "fleet-issuer") }
    let clients = (0..<count).map { index -> Client in
        let key = must("client key") { try SigningKey.generate(.es256) }
        let claims = AccessTokenClaims(
            iss: issuerID, aud: [audience], sub: "user-\(index)", jkt: key.thumbprint, iat: now, exp: now + 3600,
            jti: "token-\(index)", kid: "fleet-issuer")
        return Client(key: key, token: must("token") { try DPoPBuilder.accessToken(claims, key: issuer) })
    }
    return ("{\"keys\":[" + issuer.publicJWK(includingAlg: true) + "]}", issuer, clients)
}

func makeVerifier(jwks: String, store: (any ReplayStore)?) -> Verifier {
    let keys = must("jwks") { try JWKSet(json: Array(jwks.utf8)) }
    let issuer = TrustedIssuer(identifier: issuerID, audiences: [audience], keys: keys)
    return must("verifier") { try Verifier(issuers: [issuer], replayStore: store) }
}

func redisStore(_ url: String, timeoutMs: Int = 100) -> RedisReplayStore {
    var configuration = must("url") { try RedisConfiguration(url: url) }
    configuration.commandTimeoutMilliseconds = timeoutMs
    configuration.connectTimeoutMilliseconds = max(timeoutMs, 100)
    return must("store") { try RedisReplayStore(configuration: configuration) }
}

/// Runs `body(thread)` on `count` threads and waits for all.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for thread in 0..<count {
        group.enter()
        let worker = Thread {
            body(thread)
            group.leave()
        }
        worker.start()
    }
    group.wait()
}

final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    var counts: [String: Int] = [:]
    var accepted: [Int] = []
    func add(_ outcome: String, index: Int) {
        lock.lock()
        counts[outcome, default: 0] += 1
        if outcome == "accepted" { accepted.append(index) }
        lock.unlock()
    }
}

func outcome(_ body: () throws(KeyboundError) -> VerifiedRequest) -> String {
    do {
        _ = try body()
        return "accepted"
    } catch {
        return error.code.name
    }
}

let arguments = CommandLine.arguments
func argument(_ index: Int) -> String {
    guard index < arguments.count else { fail("missing argument \(index); see the header of main.swift") }
    return arguments[index]
}
func intArgument(_ index: Int) -> Int {
    guard let value = Int(argument(index)) else { fail("argument \(index) must be a number") }
    return value
}

switch argument(1) {
case "gen":
    let dir = argument(2)
    let count = intArgument(3)
    let keyCount = intArgument(4)
    // Touch the store first: it records the Redis epoch, so that proofs made from now on are accepted.
    guard redisStore(argument(5)).ping(now: unixSeconds()) else { fail("Redis does not answer at \(argument(5))") }
    sleep(1)  // proofs of the epoch's own second are refused
    let now = unixSeconds()
    let (jwks, _, clients) = makeClients(keyCount, now: now)
    write(jwks, to: dir + "/jwks.json")
    write(clients[0].key.privateJWK, to: dir + "/client0.jwk")
    write(clients[0].token, to: dir + "/token0.txt")
    var lines: [String] = []
    lines.reserveCapacity(count)
    for index in 0..<count {
        lines.append(clients[index % keyCount].request(index, iat: now).jsonLine)
    }
    write(lines.joined(separator: "\n") + "\n", to: dir + "/requests.jsonl")
    print("gen: \(count) proofs from \(keyCount) client keys, iat \(now)")

case "run":
    let dir = argument(2)
    let name = argument(4)
    let from = intArgument(5)
    let to = intArgument(6)
    let threads = intArgument(7)
    let startMs = Int64(intArgument(8))
    let lines = read(dir + "/requests.jsonl").split(separator: "\n")
    // An optional 9th argument, "reverse", offers the range from its end.
    let order = arguments.count > 9 && arguments[9] == "reverse" ? Array((from..<to).reversed()) : Array(from..<to)
    let requests = order.map { Request.parse(lines[$0 % lines.count]) }
    let indices = order.map { $0 % lines.count }
    let redis = redisStore(argument(3))
    let store = LayeredReplayStore(shared: redis)
    let verifier = makeVerifier(jwks: read(dir + "/jwks.json"), store: store)
    let tally = Tally()
    while unixMilliseconds() < startMs { usleep(1000) }
    onThreads(threads) { thread in
        var position = thread
        while position < requests.count {
            let result = outcome { () throws(KeyboundError) in
                try verifier.verify(requests[position].dpopRequest, now: unixSeconds())
            }
            tally.add(result, index: indices[position])
            if position % 10 == 0 {
                // Offered again to the same instance: its local cache refuses it without a round trip.
                let again = outcome { () throws(KeyboundError) in
                    try verifier.verify(requests[position].dpopRequest, now: unixSeconds())
                }
                tally.add(again == "accepted" ? "accepted-twice" : again, index: indices[position])
            }
            position += threads
        }
    }
    let accepted = tally.counts["accepted"] ?? 0
    let offered = tally.counts.values.reduce(0, +)
    let detail = tally.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    print("process \(name): offered \(offered) accepted \(accepted) refused \(offered - accepted) [\(detail)]"
        + " local-replays \(store.localReplayCount) redis-replays \(redis.statistics.replayed)")
    write(tally.accepted.map(String.init).joined(separator: "\n") + "\n", to: "\(dir)/accepted-\(name).txt")
    let unexpected = tally.counts.keys.filter { $0 != "accepted" && $0 != "proof_replayed" }
    if !unexpected.isEmpty { fail("process \(name): unexpected outcomes \(unexpected)") }

case "fairgen":
    // fairgen DIR URL FLOOD OTHERS: FLOOD proofs from one client key (flood.jsonl) and one proof from each of
    // OTHERS further keys (others.jsonl), for the per-key share across the fleet (docs/design.md "Per-key replay share").
    let dir = argument(2)
    let flood = intArgument(4)
    let others = intArgument(5)
    guard redisStore(argument(3)).ping(now: unixSeconds()) else { fail("Redis does not answer at \(argument(3))") }
    sleep(1)
    let now = unixSeconds()
    let (jwks, _, clients) = makeClients(others + 1, now: now)
    write(jwks, to: dir + "/jwks.json")
    write((0..<flood).map { clients[0].request($0, iat: now).jsonLine }.joined(separator: "\n") + "\n",
          to: dir + "/flood.jsonl")
    write((1...others).map { clients[$0].request(100_000 + $0, iat: now).jsonLine }.joined(separator: "\n") + "\n",
          to: dir + "/others.jsonl")
    print("fairgen: \(flood) proofs from one key, one proof from each of \(others) other keys, iat \(now)")

case "fair":
    // fair DIR URL NAME PART PARTS SHARE THREADS START_MS: this process offers every PARTS-th flood proof and every
    // PARTS-th other key's proof (from PART), through a Redis store whose per-key share is SHARE, the flood first.
    let (dir, name, startMs) = (argument(2), argument(4), Int64(intArgument(9)))
    let (part, parts, share, threads) = (intArgument(5), intArgument(6), intArgument(7), intArgument(8))
    func mine(_ file: String) -> [Request] {
        read(dir + "/" + file).split(separator: "\n").enumerated()
            .filter { $0.offset % parts == part }.map { Request.parse($0.element) }
    }
    let flood = mine("flood.jsonl")
    let others = mine("others.jsonl")
    var configuration = must("url") { try RedisConfiguration(url: argument(3)) }
    configuration.keyShare = share
    let redis = must("store") { try RedisReplayStore(configuration: configuration) }
    let verifier = makeVerifier(jwks: read(dir + "/jwks.json"), store: LayeredReplayStore(shared: redis))
    let floodTally = Tally()
    let otherTally = Tally()
    while unixMilliseconds() < startMs { usleep(1000) }
    for (requests, tally) in [(flood, floodTally), (others, otherTally)] {
        onThreads(threads) { thread in
            var position = thread
            while position < requests.count {
                let result = outcome { () throws(KeyboundError) in
                    try verifier.verify(requests[position].dpopRequest, now: unixSeconds())
                }
                tally.add(result, index: position)
                position += threads
            }
        }
    }
    let floodAccepted = floodTally.counts["accepted"] ?? 0
    let floodQuota = floodTally.counts["replay_quota_exceeded"] ?? 0
    let otherAccepted = otherTally.counts["accepted"] ?? 0
    print("fair \(name): flooding key offered \(flood.count), accepted \(floodAccepted), refused 212 \(floodQuota);"
        + " other keys' first proofs offered \(others.count), accepted \(otherAccepted)")
    write("\(floodAccepted) \(floodQuota) \(otherAccepted) \(others.count)\n", to: "\(dir)/fair-\(name).txt")
    if floodAccepted + floodQuota != flood.count { fail("fair \(name): the flood got other outcomes \(floodTally.counts)") }
    if otherAccepted != others.count { fail("fair \(name): another key was refused: \(otherTally.counts)") }

case "faircheck":
    // faircheck DIR SHARE: the fleet accepted exactly SHARE proofs of the flooding key, and every other key's proof.
    let dir = argument(2)
    let share = intArgument(3)
    var totals = [0, 0, 0, 0]
    let files = must("list") { try FileManager.default.contentsOfDirectory(atPath: dir) }.filter { $0.hasPrefix("fair-") }
    for file in files {
        let numbers = read(dir + "/" + file).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        guard numbers.count == 4 else { fail("bad \(file)") }
        for i in 0..<4 { totals[i] += numbers[i] }
    }
    print("faircheck: \(files.count) processes; flooding key accepted \(totals[0]) (share \(share)), refused 212"
        + " \(totals[1]); other keys' first proofs accepted \(totals[2]) of \(totals[3])")
    if totals[0] != share { fail("the flooding key was accepted \(totals[0]) times, not its share \(share)") }
    if totals[2] != totals[3] { fail("another key's first proof was refused") }

case "check":
    let dir = argument(2)
    let total = intArgument(3)
    var seen = [Int](repeating: 0, count: total)
    let files = must("list") { try FileManager.default.contentsOfDirectory(atPath: dir) }
        .filter { $0.hasPrefix("accepted-") }
    for file in files {
        for line in read(dir + "/" + file).split(separator: "\n") {
            guard let index = Int(line), index >= 0, index < total else { fail("bad index \(line) in \(file)") }
            seen[index] += 1
        }
    }
    let never = seen.filter { $0 == 0 }.count
    let twice = seen.filter { $0 > 1 }.count
    print("check: \(total) distinct proofs, accepted exactly once: \(seen.filter { $0 == 1 }.count),"
        + " never: \(never), more than once: \(twice)")
    if never != 0 || twice != 0 { fail("a proof was not accepted exactly once across the fleet") }

case "outage":
    // Two instances (separate local caches) sharing Redis: every 20 ms a fresh proof to A, and a replay of an older
    // proof (accepted or not) to B. The script stops Redis after ~2 s and restarts it ~2.5 s later.
    let url = argument(2)
    let seconds = Double(intArgument(3))
    let (jwks, _, clients) = makeClients(2, now: unixSeconds())
    let a = makeVerifier(jwks: jwks, store: LayeredReplayStore(shared: redisStore(url)))
    let b = makeVerifier(jwks: jwks, store: LayeredReplayStore(shared: redisStore(url)))
    var sent: [Request] = []
    var fresh: [(ms: Int64, outcome: String)] = []
    var replays: [String: Int] = [:]
    var acceptedCount: [Int: Int] = [:]
    let begin = Date()
    var index = 0
    // Run for `seconds`, then on until 40 fresh proofs in a row are accepted (recovery after the restart can take a
    // few seconds on a loaded machine: reconnect backoff plus the restart guard's second), at most 30 s more.
    var acceptedInARow = 0
    while Date().timeIntervalSince(begin) < seconds
        || (acceptedInARow < 40 && Date().timeIntervalSince(begin) < seconds + 30)
    {
        let request = clients[index % 2].request(index, iat: unixSeconds())
        let result = outcome { () throws(KeyboundError) in try a.verify(request.dpopRequest, now: unixSeconds()) }
        acceptedInARow = result == "accepted" ? acceptedInARow + 1 : 0
        fresh.append((unixMilliseconds(), result))
        if result == "accepted" { acceptedCount[index, default: 0] += 1 }
        sent.append(request)
        let oldIndex = Int.random(in: 0..<sent.count)
        let replay = outcome { () throws(KeyboundError) in try b.verify(sent[oldIndex].dpopRequest, now: unixSeconds()) }
        if replay == "accepted" { acceptedCount[oldIndex, default: 0] += 1 }
        // A proof refused with 501 by A (never accepted) may be accepted by B later: that is its first acceptance.
        replays[replay == "accepted" && fresh[oldIndex].outcome == "accepted" ? "ACCEPTED TWICE" : replay, default: 0] += 1
        index += 1
        usleep(20_000)
    }
    var counts: [String: Int] = [:]
    for item in fresh { counts[item.outcome, default: 0] += 1 }
    let unavailable = fresh.enumerated().filter { $0.element.outcome == "replay_store_unavailable" }
    print("outage: fresh proofs \(fresh.count) \(counts.sorted { $0.key < $1.key }); replays to another instance"
        + " \(replays.sorted { $0.key < $1.key })")
    if let first = unavailable.first, let last = unavailable.last {
        print("outage: failed closed (501) from +\(first.element.ms - fresh[0].ms) ms to"
            + " +\(last.element.ms - fresh[0].ms) ms; accepted after: \(fresh[(last.offset + 1)...].filter { $0.outcome == "accepted" }.count)")
    }
    if acceptedCount.values.contains(where: { $0 > 1 }) { fail("outage: a proof was accepted twice") }
    if unavailable.isEmpty { fail("outage: no request failed closed while Redis was down") }
    // A fresh proof made in the second the new Redis data set began is refused by the restart guard (503).
    if Set(counts.keys).subtracting(["accepted", "replay_store_unavailable", "replay_store_restarted"]).count > 0 {
        fail("outage: unexpected outcomes for fresh proofs")
    }
    // Recovery: the last 40 fresh proofs (about a second) were accepted.
    let tail = fresh.suffix(40)
    if tail.contains(where: { $0.outcome != "accepted" }) { fail("outage: verification did not recover") }
    // A proof accepted before the outage, offered after the restart (to an instance that never saw it), is refused.
    if let before = fresh.firstIndex(where: { $0.outcome == "accepted" }) {
        let c = makeVerifier(jwks: jwks, store: LayeredReplayStore(shared: redisStore(url)))
        let again = outcome { () throws(KeyboundError) in try c.verify(sent[before].dpopRequest, now: unixSeconds()) }
        print("outage: a proof accepted before the restart, offered after it to a third instance: \(again)")
        if again == "accepted" { fail("outage: a pre-restart proof was accepted again") }
        if again != "replay_store_restarted" { fail("outage: a pre-restart proof was not refused by the restart guard") }
    }

case "ttl":
    let url = argument(2)
    let store = redisStore(url)
    let (jwks, _, clients) = makeClients(1, now: unixSeconds())
    let verifier = makeVerifier(jwks: jwks, store: store)
    let now = unixSeconds()
    let request = clients[0].request(1, iat: now)
    must("verify") { () throws in _ = try verifier.verify(request.dpopRequest, now: now) }
    // The key every instance computes: SHA-256(u16be(len jkt) ‖ jkt ‖ u16be(len jti) ‖ jti), base64url.
    let jti = String(request.dpop.split(separator: ".")[1]).base64URLDecodedJSON["jti"] as! String
    let jkt = clients[0].key.thumbprint
    let keyBytes = must("openssl") { try independentReplayKeyBytes(jkt: jkt, jti: jti) }
    let key = ReplayKey(bytes: keyBytes)!
    // iat = now: expiresAt = now + 60 + 5, so the entry lives 66 s from the start of this second.
    print("\(store.redisKey(for: key)) \(now)")

case "slow":
    let url = argument(2)
    let timeout = intArgument(3)
    let store = redisStore(url, timeoutMs: timeout)
    let now = unixSeconds()
    var worst = 0.0
    for attempt in 0..<5 {
        let started = Date()
        let key = ReplayKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })!
        let result = store.insert(key, expiresAt: now + 65, now: now)
        let elapsed = Date().timeIntervalSince(started) * 1000
        worst = max(worst, elapsed)
        print(String(format: "slow: insert %d while paused: %@ after %.0f ms", attempt, "\(result)", elapsed))
        if result != .unavailable { fail("slow: an insert during CLIENT PAUSE did not fail closed") }
    }
    if worst > Double(timeout) * 3 + 500 { fail("slow: an insert took \(worst) ms, beyond the timeout") }
    print("slow: worst \(Int(worst)) ms (timeout \(timeout) ms); store counters \(store.statistics)")

case "revocation":
    let dir = argument(2)
    let url = argument(3)
    let role = argument(4)
    let configuration = must("url") { try RedisConfiguration(url: url) }
    let client = Client(
        key: must("key") { try SigningKey(privateJWK: read(dir + "/client0.jwk")) },
        token: read(dir + "/token0.txt"))
    let verifier = makeVerifier(jwks: read(dir + "/jwks.json"), store: LayeredReplayStore(shared: redisStore(url)))
    let feed = must("feed") {
        try RedisRevocationFeed(configuration: configuration, verifier: verifier, clock: { unixSeconds() })
    }
    if role == "publish" {
        must("publish") { try feed.publish(Revocation(kind: .key, id: client.key.thumbprint, until: unixSeconds() + 3600), now: unixSeconds()) }
        write(String(unixMilliseconds()), to: dir + "/revoked-at")
        print("revocation: published the client key's revocation")
        exit(0)
    }
    feed.start()
    let name = argument(5)
    let begin = Date()
    var index = 0
    var accepted = 0
    while Date().timeIntervalSince(begin) < 10 {
        let result = outcome { () throws(KeyboundError) in
            try verifier.verify(client.request(100_000 + index, iat: unixSeconds()).dpopRequest, now: unixSeconds())
        }
        index += 1
        if result == "accepted" {
            accepted += 1
        } else if result == "key_revoked" {
            let refusedAt = unixMilliseconds()
            var published: Int64? = nil
            for _ in 0..<100 where published == nil {
                published = FileManager.default.contents(atPath: dir + "/revoked-at")
                    .flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
                if published == nil { usleep(10_000) }
            }
            guard let published else { fail("revocation: refused before anything was published") }
            let delay = refusedAt - published
            print("revocation: process \(name) accepted \(accepted) then refused key_revoked \(delay) ms after publish")
            if delay > 1000 { fail("revocation: took longer than 1 s") }
            exit(0)
        } else {
            fail("revocation: unexpected \(result)")
        }
        usleep(10_000)
    }
    fail("revocation: process \(name) never saw the revocation")

case "bench":
    let url = argument(2)
    let threads = intArgument(3)
    let count = intArgument(4)
    let now = unixSeconds()
    let (jwks, _, clients) = makeClients(8, now: now)
    // Touch the epoch first, then make proofs.
    let redis = redisStore(url, timeoutMs: 250)
    guard redis.ping(now: now) else { fail("Redis does not answer") }
    sleep(1)
    let iat = unixSeconds()
    let requests = (0..<(2 * count)).map { clients[$0 % clients.count].request($0, iat: iat).dpopRequest }
    func measure(_ label: String, _ verifier: Verifier, _ slice: ArraySlice<DPoPRequest>) -> Double {
        let tally = Tally()
        let items = Array(slice)
        let started = Date()
        onThreads(threads) { thread in
            var position = thread
            while position < items.count {
                let result = outcome { () throws(KeyboundError) in try verifier.verify(items[position], now: iat) }
                tally.add(result, index: position)
                position += threads
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        let rate = Double(items.count) / elapsed
        print(String(format: "bench: %@, %d thread(s): %.0f verifications/s, %.1f µs per request per thread (%@)",
                     label, threads, rate, elapsed / Double(items.count) * 1e6 * Double(threads),
                     "\(tally.counts)"))
        return rate
    }
    let local = measure("in-process cache", makeVerifier(jwks: jwks, store: nil), requests[..<count])
    let shared = measure("Redis store     ", makeVerifier(jwks: jwks, store: LayeredReplayStore(shared: redis)),
                         requests[count...])
    print(String(format: "bench: added latency per request with Redis: %.1f µs (%d thread(s))",
                 (1 / shared - 1 / local) * 1e6 * Double(threads), threads))

default:
    fail("unknown subcommand \(argument(1))")
}

// MARK: - Helpers

extension String {
    /// A base64url JSON object (a JWS payload) as a dictionary.
    var base64URLDecodedJSON: [String: Any] {
        var text = replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { fail("bad JWS payload") }
        return object
    }
}

#else
print("keybound-fleet needs the Redis trait: swift build --traits default,Redis --product keybound-fleet")
exit(2)
#endif
