//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if Redis
public import Keybound

/// One revocation travelling between instances: a token `jti` or a client key `jkt`, refused until `until`.
public struct Revocation: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// An access token, by its `jti` (``Verifier/revokeToken(jti:until:now:)``).
        case token = "t"
        /// A client key, by its `jkt` (``Verifier/revokeKey(jkt:until:now:)``): "log out this device".
        case key = "k"
    }

    public var kind: Kind
    public var id: String
    /// Unix seconds (usually the token's `exp`).
    public var until: Int64

    public init(kind: Kind, id: String, until: Int64) {
        self.kind = kind
        self.id = id
        self.until = until
    }
}

/// Carries revocations to every instance sharing a Redis, without a round trip per request.
///
/// ``publish(_:now:)`` appends the revocation to a Redis stream (`XADD <key> MINID ~ <now − retention> * …`, so
/// entries older than the retention are trimmed). Every instance polls the stream (`XREAD COUNT 1000 STREAMS <key>
/// <last id>`, non-blocking) every ``pollIntervalMilliseconds`` (default 250 ms) on its own thread, and applies each
/// new, still-live revocation to its local ``Verifier``: a revocation made anywhere is enforced everywhere within the
/// poll interval plus one round trip (well under the documented bound of 1 s). A new instance reads the stream from
/// its start, so it also learns the revocations made before it started (within the retention: set it to at least
/// the longest access-token lifetime; default 24 h).
///
/// The clock is the host's: `clock()` returns the current Unix second.
///
/// - Note: RedisRevocationFeed is thread-safe.
public final class RedisRevocationFeed: @unchecked Sendable {
    public let configuration: RedisConfiguration
    /// The stream's key (default `keybound:revocations`).
    public let streamKey: String
    public let pollIntervalMilliseconds: Int
    public let retentionSeconds: Int64
    private let clock: @Sendable () -> Int64
    private let apply: @Sendable (Revocation, Int64) -> Void
    private let monitor = Monitor()
    private var connection: RedisConnection?
    private var lastID = "0-0"
    private var running = false
    private var stopRequested = false
    private var applied = 0

    /// - Parameters:
    ///   - apply: called with each new revocation and `clock()`; by default use ``init(configuration:verifier:…)``.
    public init(
        configuration: RedisConfiguration,
        streamKey: String = "keybound:revocations",
        pollIntervalMilliseconds: Int = 250,
        retentionSeconds: Int64 = 86_400,
        clock: @escaping @Sendable () -> Int64,
        apply: @escaping @Sendable (Revocation, Int64) -> Void
    ) throws(KeyboundError) {
        try configuration.validate()
        guard (1...1_000).contains(pollIntervalMilliseconds) else {
            throw KeyboundError(.invalidConfiguration, reason: "pollIntervalMilliseconds must be 1...1000")
        }
        guard retentionSeconds > 0 else { throw KeyboundError(.invalidConfiguration, reason: "retentionSeconds must be positive") }
        (self.configuration, self.streamKey) = (configuration, streamKey)
        (self.pollIntervalMilliseconds, self.retentionSeconds) = (pollIntervalMilliseconds, retentionSeconds)
        (self.clock, self.apply) = (clock, apply)
    }

    /// A feed that applies revocations to `verifier` (`revokeToken` / `revokeKey`).
    public convenience init(
        configuration: RedisConfiguration,
        verifier: Verifier,
        streamKey: String = "keybound:revocations",
        pollIntervalMilliseconds: Int = 250,
        retentionSeconds: Int64 = 86_400,
        clock: @escaping @Sendable () -> Int64
    ) throws(KeyboundError) {
        try self.init(
            configuration: configuration, streamKey: streamKey, pollIntervalMilliseconds: pollIntervalMilliseconds,
            retentionSeconds: retentionSeconds, clock: clock
        ) { revocation, now in
            switch revocation.kind {
            case .token: try? verifier.revokeToken(jti: revocation.id, until: revocation.until, now: now)
            case .key: try? verifier.revokeKey(jkt: revocation.id, until: revocation.until, now: now)
            }
        }
    }

    deinit { stop() }

    /// Revocations applied so far.
    public var appliedCount: Int { monitor.withLock { applied } }

    /// Publishes `revocation` to the fleet (this instance included, at its next poll).
    /// - Throws: `KeyboundError(.replayStoreUnavailable)` when Redis did not take it: the caller must retry.
    public func publish(_ revocation: Revocation, now: Int64) throws(KeyboundError) {
        let floor = (now &- retentionSeconds) &* 1000
        let reply: Result<RedisReply, RedisFailure>? = monitor.withLock {
            guard let connection = connected() else { return nil }
            let result = connection.command([
                Array("XADD".utf8), Array(streamKey.utf8), Array("MINID".utf8), Array("~".utf8),
                Array(String(max(floor, 0)).utf8), Array("*".utf8),
                Array("kind".utf8), Array(revocation.kind.rawValue.utf8), Array("id".utf8), Array(revocation.id.utf8),
                Array("until".utf8), Array(String(revocation.until).utf8),
            ])
            if case .failure = result { self.connection = nil }
            return result
        }
        guard case .success(.string) = reply else {
            throw KeyboundError(.replayStoreUnavailable, reason: "the revocation feed could not publish to \(configuration.redactedURL)")
        }
    }

    /// Reads and applies every revocation published since the last poll; returns how many were applied, or `nil`
    /// when Redis did not answer (the next poll resumes where this one stopped).
    @discardableResult
    public func pollOnce() -> Int? {
        var total = 0
        while true {
            let batch: [Revocation]? = monitor.withLock {
                guard let connection = connected() else { return nil }
                let result = connection.command([
                    Array("XREAD".utf8), Array("COUNT".utf8), Array("1000".utf8), Array("STREAMS".utf8),
                    Array(streamKey.utf8), Array(lastID.utf8),
                ])
                guard case .success(let reply) = result else {
                    self.connection = nil
                    return nil
                }
                return decode(reply)
            }
            guard let batch else { return total == 0 ? nil : total }
            if batch.isEmpty { return total }
            let now = clock()
            for revocation in batch where revocation.until >= now {
                apply(revocation, now)
                total += 1
            }
            monitor.withLock { applied += batch.count }
        }
    }

    /// Starts polling on a thread of its own (idempotent).
    public func start() {
        let begin: Bool = monitor.withLock {
            guard !running else { return false }
            running = true
            stopRequested = false
            return true
        }
        guard begin else { return }
        startThread { [self] in
            while true {
                pollOnce()
                let stop: Bool = monitor.withLock {
                    let deadline = MonotonicClock.nanoseconds &+ UInt64(pollIntervalMilliseconds) * 1_000_000
                    while !stopRequested && MonotonicClock.nanoseconds < deadline { _ = monitor.wait(until: deadline) }
                    if stopRequested { running = false }
                    return stopRequested
                }
                if stop { return }
            }
        }
    }

    /// Stops the polling thread after its current poll.
    public func stop() {
        monitor.withLock {
            stopRequested = true
            monitor.broadcast()
        }
    }

    // MARK: - Internals (the monitor held)

    private func connected() -> RedisConnection? {
        if let connection { return connection }
        guard case .success(let opened) = RedisConnection.open(configuration) else { return nil }
        connection = opened
        return opened
    }

    /// `[[key, [[id, [field, value, …]], …]]]` → revocations; advances `lastID`.
    private func decode(_ reply: RedisReply) -> [Revocation] {
        guard case .array(let streams) = reply, case .array(let stream)? = streams.first, stream.count == 2,
            case .array(let entries) = stream[1]
        else { return [] }
        var out: [Revocation] = []
        for entry in entries {
            guard case .array(let pair) = entry, pair.count == 2, let id = pair[0].text, case .array(let fields) = pair[1]
            else { continue }
            lastID = id
            var kind: Revocation.Kind? = nil
            var value: String? = nil
            var until: Int64? = nil
            var index = 0
            while index + 1 < fields.count {
                switch fields[index].text {
                case "kind": kind = fields[index + 1].text.flatMap(Revocation.Kind.init(rawValue:))
                case "id": value = fields[index + 1].text
                case "until": until = fields[index + 1].text.flatMap { Int64($0) }
                default: break
                }
                index += 2
            }
            if let kind, let value, let until { out.append(Revocation(kind: kind, id: value, until: until)) }
        }
        return out
    }
}
#endif
