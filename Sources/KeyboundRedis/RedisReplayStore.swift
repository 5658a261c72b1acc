//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if Redis
public import Keybound

/// A ``ReplayStore`` shared by every instance of a fleet, on Redis through hiredis (RFC 9449 §11.1; docs/design.md
/// "Contracts → Replay store", "Beyond one machine").
///
/// **Insert** is one atomic round trip, `SET <prefix><base64url(k)> 1 NX PX <ms>`, where `k` is the fleet-wide
/// ``ReplayKey`` and `ms = (expiresAt + 1 − now) × 1000`: the entry lives until the end of the proof's last
/// acceptable second, `iat + maxAge + skew`, measured on the verifier's clock (so the Redis host's clock does not
/// matter). `OK` is `.inserted`, a nil reply `.replayed`; an error reply, a broken connection or the command timeout
/// is `.unavailable`, which the verifier turns into `replay_store_unavailable` (501, HTTP 503): it fails closed.
///
/// **Connections.** ``RedisConfiguration/poolSize`` hiredis contexts (a context is not thread-safe in hiredis 0.14),
/// each lent to one thread at a time. A caller waits for a free one at most the command timeout. A broken connection
/// is dropped and reopened on next use; a failed reopen waits a backoff that doubles from the configured minimum to
/// its maximum, and meanwhile that connection answers `.unavailable` at once, so nothing hangs while Redis is down.
///
/// **Restart guard.** Redis run without persistence forgets every key when it restarts, which would let a proof
/// accepted just before the restart be accepted again. On every new connection the store writes
/// `<prefix>epoch` = `now` if absent (`SET NX`) and reads it back: the time the current Redis data set began. A proof
/// whose `iat` (`expiresAt − acceptanceWindowSeconds`) is not later than that epoch second is refused as `.restarted`
/// (it may have been accepted by the Redis that was lost): `replay_store_restarted` (503); a fresh proof succeeds.
///
/// **Eviction policy.** Every entry carries a TTL, so any `maxmemory-policy` but `noeviction` may drop live entries
/// under memory pressure and let their proofs be accepted again. On every new connection the store reads the policy
/// (`INFO memory`) and refuses to serve under another one: the connection is closed, inserts answer `.unavailable`
/// (fail closed), ``RedisStoreStatistics/evictionPolicyRefusals`` counts it and ``lastConnectionProblem`` says why.
///
/// **Per-key share.** With ``RedisConfiguration/keyShare`` (or an override) above 0, an insert that carries its owner
/// runs one Lua script (``shareScript``), atomic like every script: it counts the owner's live entries in the hash
/// `<prefix>owner:<base64url(owner)>`, one field per expiry second (`expiresAt`, on the verifier's clock) holding the
/// number of entries that expire then. Fields of seconds before `now` are deleted as the script meets them, and the
/// hash itself expires with its newest entry, so the counts expire as the entries do. A live `SET` key is `.replayed`;
/// an owner whose live count has reached its share is `.quota`, with Retry-After the seconds until its oldest entry
/// expires; otherwise the entry is `SET … NX PX` and its second's field incremented. The count is fleet-wide,
/// because every instance runs the same script against the same Redis.
///
/// **Async.** The `async` insert runs the same blocking call on the store's own threads (one per pooled connection),
/// so an event-loop thread never waits on Redis.
///
/// - Note: RedisReplayStore is thread-safe.
public final class RedisReplayStore: ReplayStore, AsyncReplayStore, @unchecked Sendable {
    /// The configuration it was made with.
    public let configuration: RedisConfiguration
    private let monitor = Monitor()
    private let slots: [Slot]
    private var free: [Int]
    /// The newest epoch read from Redis (Unix seconds): proofs issued before it are refused.
    private var epoch: Int64 = .min
    private var counters = RedisStoreStatistics()
    private var lastProblem: String? = nil
    private let workers: WorkerPool
    private let prefix: [UInt8]
    private let epochKey: [UInt8]
    /// The share per owner: overrides by owner digest, else ``RedisConfiguration/keyShare``.
    private let shareOverrides: [ReplayOwner: Int]

    private final class Slot {
        var connection: RedisConnection?
        var retryAt: UInt64 = 0
        var backoffMilliseconds: Int = 0
    }

    /// Makes the pool; connections open lazily, on first use.
    /// - Throws: `KeyboundError(.invalidConfiguration)` for an invalid configuration.
    public init(configuration: RedisConfiguration) throws(KeyboundError) {
        try configuration.validate()
        self.configuration = configuration
        self.slots = (0..<configuration.poolSize).map { _ in Slot() }
        self.free = Array((0..<configuration.poolSize).reversed())
        self.workers = WorkerPool(threads: configuration.poolSize, queueLimit: 4_096 * configuration.poolSize)
        self.prefix = Array(configuration.keyPrefix.utf8)
        self.epochKey = Array(configuration.keyPrefix.utf8) + Array("epoch".utf8)
        var overrides: [ReplayOwner: Int] = [:]
        for (jkt, share) in configuration.keyShareOverrides {
            overrides[try ReplayOwner(jkt: jkt)] = share
        }
        self.shareOverrides = overrides
    }

    /// The Redis key counting an owner's entries: `<prefix>owner:<base64url of the 32 bytes>`.
    public func redisKey(for owner: ReplayOwner) -> String {
        configuration.keyPrefix + "owner:" + owner.base64URL
    }

    /// The share of `owner` (0: none).
    func share(of owner: ReplayOwner) -> Int {
        shareOverrides.isEmpty ? configuration.keyShare : shareOverrides[owner] ?? configuration.keyShare
    }

    /// Parses `url` (see ``RedisConfiguration/init(url:)``) and makes the pool.
    public convenience init(url: String) throws(KeyboundError) {
        try self.init(configuration: RedisConfiguration(url: url))
    }

    deinit { workers.stop() }

    /// The Redis key of a replay key: `<prefix><base64url of the 32 bytes>`.
    public func redisKey(for key: ReplayKey) -> String {
        configuration.keyPrefix + key.base64URL
    }

    /// Counters since the store was made.
    public var statistics: RedisStoreStatistics { monitor.withLock { counters } }

    /// Records `key` unless a live entry exists; blocks the calling thread for at most about the command timeout
    /// (plus the connect timeout when a connection must be reopened).
    public func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        counted(record(key, owner: nil, expiresAt: expiresAt, now: now))
    }

    /// Records `key` for `owner`, holding the owner to its share fleet-wide when it has one (see "Per-key share").
    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        counted(record(key, owner: owner, expiresAt: expiresAt, now: now))
    }

    private func counted(_ result: ReplayInsertResult) -> ReplayInsertResult {
        monitor.withLock {
            switch result {
            case .inserted: counters.inserted += 1
            case .replayed: counters.replayed += 1
            case .full, .unavailable: counters.unavailable += 1
            case .restarted: counters.beforeEpoch += 1
            case .quota: counters.quota += 1
            }
        }
        return result
    }

    /// The same, run on the store's own threads: the caller's executor is free while Redis answers.
    public func insert(_ key: ReplayKey, expiresAt: Int64, now: Int64) async -> ReplayInsertResult {
        await onWorker { [self] in insert(key, expiresAt: expiresAt, now: now) }
    }

    /// The owner-carrying insert, run on the store's own threads.
    public func insert(_ key: ReplayKey, owner: ReplayOwner, expiresAt: Int64, now: Int64) async -> ReplayInsertResult {
        await onWorker { [self] in insert(key, owner: owner, expiresAt: expiresAt, now: now) }
    }

    private func onWorker(_ body: @escaping @Sendable () -> ReplayInsertResult) async -> ReplayInsertResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<ReplayInsertResult, Never>) in
            let queued = workers.submit {
                continuation.resume(returning: body())
            }
            if !queued {
                monitor.withLock { counters.unavailable += 1 }
                continuation.resume(returning: .unavailable)
            }
        }
    }

    /// Runs `PING` on a pooled connection: true when Redis answered.
    public func ping(now: Int64) -> Bool {
        withConnection(now: now) { connection in
            if case .success(.status("PONG")) = connection.command([Array("PING".utf8)]) { return (true, true) }
            return (false, false)
        } ?? false
    }

    // MARK: - Internals

    /// The atomic insert with per-owner counting. KEYS: the entry, the owner's hash. ARGV: the entry's lifetime in
    /// ms, the share, `now` and `expiresAt` (Unix seconds, the verifier's clock). Answers `{0}` replayed, `{1}`
    /// inserted, `{2, retryAfter}` over the share.
    static let shareScript = """
        local fields = redis.call('HGETALL', KEYS[2])
        local now = tonumber(ARGV[3])
        local live = 0
        local oldest = nil
        for i = 1, #fields, 2 do
          local second = tonumber(fields[i])
          if second < now then
            redis.call('HDEL', KEYS[2], fields[i])
          else
            live = live + tonumber(fields[i + 1])
            if oldest == nil or second < oldest then oldest = second end
          end
        end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
        if live >= tonumber(ARGV[2]) then return {2, oldest - now + 1} end
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
        if tonumber(ARGV[4]) >= now then
          redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
          if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
        end
        return {1}
        """

    private func record(_ key: ReplayKey, owner: ReplayOwner?, expiresAt: Int64, now: Int64) -> ReplayInsertResult {
        // The entry lives (expiresAt + 1 − now) seconds: through the whole last acceptable second. A key already
        // past its window is still sent (1 ms), so that a live entry for it is reported.
        let (span, overflow) = expiresAt.subtractingReportingOverflow(now)
        let seconds = overflow ? (expiresAt > now ? Int64.max : Int64.min) : span
        let milliseconds: Int64 = seconds < 0 ? 1 : min(seconds, 100 * 86_400) * 1000 + 1000
        let name = prefix + Array(key.base64URL.utf8)
        let share = owner.map { self.share(of: $0) } ?? 0
        let arguments: [[UInt8]]
        if let owner, share > 0 {
            arguments = [
                Array("EVAL".utf8), Array(Self.shareScript.utf8), [UInt8(ascii: "2")], name,
                Array(redisKey(for: owner).utf8), Array(String(milliseconds).utf8), Array(String(share).utf8),
                Array(String(now).utf8), Array(String(expiresAt).utf8),
            ]
        } else {
            arguments = [
                Array("SET".utf8), name, [UInt8(ascii: "1")], Array("NX".utf8), Array("PX".utf8),
                Array(String(milliseconds).utf8),
            ]
        }
        let result: ReplayInsertResult? = withConnection(now: now) { connection in
            guard self.issuedAfterEpoch(expiresAt: expiresAt) else { return (.restarted, true) }
            switch connection.command(arguments) {
            case .success(.status(let status)) where status == "OK": return (.inserted, true)
            case .success(.null): return (.replayed, true)
            case .success(.array(let reply)):
                switch reply.first {
                case .integer(0): return (.replayed, true)
                case .integer(1): return (.inserted, true)
                case .integer(2):
                    if reply.count == 2, case .integer(let seconds) = reply[1] {
                        return (.quota(retryAfter: max(seconds, 1)), true)
                    }
                    return (.quota(retryAfter: nil), true)
                default: return (.unavailable, true)
                }
            case .success: return (.unavailable, true)  // an error reply (NOAUTH, OOM, READONLY, LOADING...)
            case .failure(let failure):
                if failure.timedOut { self.monitor.withLock { self.counters.timeouts += 1 } }
                return (.unavailable, false)
            }
        }
        return result ?? .unavailable
    }

    /// Whether the proof's `iat` (`expiresAt − window`) is after the second the current Redis data set began.
    private func issuedAfterEpoch(expiresAt: Int64) -> Bool {
        let current = monitor.withLock { epoch }
        let (issued, overflow) = expiresAt.subtractingReportingOverflow(configuration.acceptanceWindowSeconds)
        return overflow || issued > current
    }

    /// Lends a connection (opening it if needed) to `body`, which answers a value and whether the connection is still
    /// good. `nil` when no connection could be had: none free within the command timeout, or Redis unreachable.
    private func withConnection<R>(now: Int64, _ body: (RedisConnection) -> (R, Bool)) -> R? {
        let deadline = MonotonicClock.nanoseconds &+ UInt64(configuration.commandTimeoutMilliseconds) * 1_000_000
        let index: Int? = monitor.withLock {
            while free.isEmpty {
                if !monitor.wait(until: deadline) && free.isEmpty { return nil }
            }
            return free.removeLast()
        }
        guard let index else {
            monitor.withLock { counters.poolExhausted += 1 }
            return nil
        }
        let slot = slots[index]  // owned by this thread until given back
        defer {
            monitor.withLock {
                free.append(index)
                monitor.signal()
            }
        }
        if slot.connection == nil {
            let clock = MonotonicClock.nanoseconds
            guard clock >= slot.retryAt else { return nil }
            switch RedisConnection.open(configuration) {
            case .success(let connection):
                if let problem = evictionPolicyProblem(connection) {
                    monitor.withLock {
                        counters.evictionPolicyRefusals += 1
                        lastProblem = problem
                    }
                    backOff(slot, clock: clock)
                    return nil
                }
                guard let epoch = readEpoch(connection, now: now) else {
                    backOff(slot, clock: clock)
                    return nil
                }
                monitor.withLock {
                    self.epoch = max(self.epoch, epoch)
                    counters.connects += 1
                }
                slot.connection = connection
                slot.backoffMilliseconds = 0
            case .failure(let failure):
                monitor.withLock { lastProblem = "cannot connect to Redis: \(failure.message)" }
                backOff(slot, clock: clock)
                return nil
            }
        }
        guard let connection = slot.connection else { return nil }
        let (value, healthy) = body(connection)
        if !healthy {
            slot.connection = nil  // reopened on next use, at once
            monitor.withLock { counters.disconnects += 1 }
        }
        return value
    }

    private func backOff(_ slot: Slot, clock: UInt64) {
        let range = configuration.reconnectBackoffMilliseconds
        slot.backoffMilliseconds = slot.backoffMilliseconds == 0
            ? range.lowerBound : min(slot.backoffMilliseconds * 2, range.upperBound)
        slot.retryAt = clock &+ UInt64(slot.backoffMilliseconds) * 1_000_000
        monitor.withLock { counters.connectFailures += 1 }
    }

    /// Why the last connection attempt did not give a usable connection (unreachable, refused credentials, an eviction
    /// policy other than `noeviction`), or `nil` when none failed yet. For logs and health checks.
    public var lastConnectionProblem: String? { monitor.withLock { lastProblem } }

    /// `nil` when Redis evicts nothing (`maxmemory-policy` is `noeviction`), else why the store will not use it.
    private func evictionPolicyProblem(_ connection: RedisConnection) -> String? {
        guard case .success(let reply) = connection.command([Array("INFO".utf8), Array("memory".utf8)]),
            let text = reply.text
        else { return "cannot read Redis's maxmemory-policy (INFO memory failed)" }
        let policy = text.split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("maxmemory_policy:") }
            .map { String($0.dropFirst("maxmemory_policy:".count).filter { !$0.isWhitespace }) }
        guard let policy else { return "cannot read Redis's maxmemory-policy (not in INFO memory)" }
        guard policy == "noeviction" else {
            return "Redis maxmemory-policy is \(policy): it may evict live replay entries; set it to noeviction"
        }
        return nil
    }

    /// `SET <prefix>epoch <now> NX` then `GET`: when the current Redis data set began (see the restart guard).
    private func readEpoch(_ connection: RedisConnection, now: Int64) -> Int64? {
        guard case .success = connection.command([Array("SET".utf8), epochKey, Array(String(now).utf8), Array("NX".utf8)])
        else { return nil }
        guard case .success(let reply) = connection.command([Array("GET".utf8), epochKey]),
            let text = reply.text, let value = Int64(text)
        else { return nil }
        return value
    }
}

/// Counters of a ``RedisReplayStore``.
public struct RedisStoreStatistics: Sendable, Hashable {
    /// First uses recorded (`OK`).
    public var inserted = 0
    /// Replays Redis reported (nil reply).
    public var replayed = 0
    /// Inserts answered `.restarted`: proofs made before the current Redis data set began (the restart guard).
    public var beforeEpoch = 0
    /// Inserts answered `.quota`: the owner held its share of live entries (212).
    public var quota = 0
    /// Inserts answered `.unavailable` (fail closed).
    public var unavailable = 0
    /// Commands that hit the command timeout.
    public var timeouts = 0
    /// Connections opened.
    public var connects = 0
    /// Connections dropped after an I/O error or timeout.
    public var disconnects = 0
    /// Failed connection attempts (each starts or doubles a backoff).
    public var connectFailures = 0
    /// Callers that found no free connection within the command timeout.
    public var poolExhausted = 0
    /// Connections refused because Redis runs with a `maxmemory-policy` other than `noeviction`.
    public var evictionPolicyRefusals = 0
}
#endif
