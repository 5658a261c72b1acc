//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Dispatch
import Foundation
public import HTTPTypes
public import Keybound
import KeyboundRemoteKeys
public import KeyboundRedis
public import Logging
import NIOCore
import Synchronization

/// The running service: the responder in force, swapped whole on a reload, and the replay store that outlives
/// every reload (a proof accepted before a reload stays a replay after it).
public final class ServeRuntime: Sendable {
    let current: Mutex<Loaded?>
    /// The in-process replay cache: the whole store with `store = "memory"`, the cache in front of Redis with
    /// `store = "redis"`. Shared by every verifier this process builds.
    public let replayCache: ReplayCache
    let replay: ReplayStoreHandle
    let logger: Logger
    public let metrics: ServeMetrics
    /// The current Unix time in seconds (the wall clock unless a test supplies its own).
    let now: @Sendable () -> Int64

    struct Loaded: Sendable {
        /// Behind a reference, so that a request takes it with one retain rather than copying the responder (and
        /// the configuration in it) out of the lock.
        let current: Current
        var refreshers: [Task<Void, Never>]

        var responder: AuthResponder { current.responder }
    }

    final class Current: Sendable {
        let responder: AuthResponder

        init(_ responder: AuthResponder) { self.responder = responder }
    }

    /// The replay store the verifiers share, made once at start-up.
    enum ReplayStoreHandle: Sendable {
        case memory
        #if Redis
        case redis(LayeredReplayStore, RedisReplayStore)
        #endif
    }

    /// - Parameters:
    ///   - replayCapacity: the in-process cache's capacity.
    ///   - replayKeyShare: the in-process cache's per-key share (`nil`: capacity / 8; 0: off).
    ///   - redis: the Redis store (`store = "redis"`), `nil` for the in-process store alone.
    /// - Throws: `KeyboundError(.invalidConfiguration)` for a Redis configuration this build or hiredis refuses.
    public init(
        replayCapacity: Int, replayKeyShare: Int? = nil, redis: RedisConfiguration? = nil, logger: Logger,
        metrics: ServeMetrics = ServeMetrics(),
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws(KeyboundError) {
        self.now = now
        // Made here, once, so that it outlives reloads: with the per-key share a Verifier's own cache would have
        // (the library's rule, capacity / 8 unless set; docs/design.md, "Per-key replay share").
        var policy = VerifierPolicy()
        policy.replayCacheCapacity = replayCapacity
        policy.replayKeyShare = replayKeyShare
        self.replayCache = try ReplayCache(policy: policy)
        self.current = Mutex(nil)
        self.logger = logger
        self.metrics = metrics
        if let redis {
            #if Redis
            let shared = try RedisReplayStore(configuration: redis)
            self.replay = .redis(LayeredReplayStore(local: replayCache, shared: shared), shared)
            #else
            _ = redis
            throw KeyboundError(.invalidConfiguration, reason: ServeConfiguration.redisUnavailable)
            #endif
        } else {
            self.replay = .memory
        }
    }

    /// The runtime `configuration`'s replay settings ask for.
    public convenience init(
        for configuration: ServeConfiguration, logger: Logger, metrics: ServeMetrics = ServeMetrics(),
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws(KeyboundError) {
        try self.init(
            replayCapacity: configuration.replayCapacity, replayKeyShare: configuration.replayKeyShare,
            redis: configuration.redis, logger: logger, metrics: metrics, now: now)
    }

    /// The responder in force, or `nil` before the first load.
    public var responder: AuthResponder? { current.withLock { $0?.responder } }

    /// Builds a verifier for `configuration` (fetching remote key sets first: no keys, no start) and puts it in
    /// force. Requests already running finish with the responder they started with.
    public func install(_ configuration: ServeConfiguration) async throws {
        var trusted: [TrustedIssuer] = []
        var remotes: [String: RemoteKeys] = [:]
        var expiries: [String: Int64] = [:]
        for issuer in configuration.issuers {
            if let keys = issuer.localKeys {
                trusted.append(TrustedIssuer(identifier: issuer.identifier, audiences: issuer.audiences, keys: keys))
            } else if let remoteConfiguration = issuer.remote {
                let logger = self.logger
                let metrics = self.metrics
                let identifier = issuer.identifier
                let remote = try RemoteKeys(remoteConfiguration, onEvent: { event in
                    switch event {
                    case .installed(let count, _):
                        metrics.recordKeyFetch(issuer: identifier, installed: true)
                        logger.info("keys installed", metadata: ["issuer": "\(identifier)", "keys": "\(count)"])
                    case .failed(let error, _):
                        metrics.recordKeyFetch(issuer: identifier, installed: false)
                        logger.warning("key fetch failed", metadata: ["issuer": "\(identifier)", "error": "\(error)"])
                    }
                })
                let fetched = try await remote.fetchKeys()
                trusted.append(
                    TrustedIssuer(identifier: issuer.identifier, audiences: issuer.audiences, keys: fetched.keys))
                remotes[issuer.identifier] = remote
                expiries[issuer.identifier] = fetched.expiresAt
            }
        }
        let misses = remotes
        let onKeyMiss: @Sendable (KeyMiss) -> Void = { miss in misses[miss.issuer]?.onKeyMiss(miss) }
        let verifier: Verifier
        switch replay {
        case .memory:
            verifier = try Verifier(
                issuers: trusted, policy: configuration.policy, replayStore: replayCache, onKeyMiss: onKeyMiss)
        #if Redis
        case .redis(let layered, _):
            // The async entry point: the Redis round trip runs on the store's threads, not on an event loop.
            verifier = try Verifier(
                issuers: trusted, policy: configuration.policy, asyncReplayStore: layered, onKeyMiss: onKeyMiss)
        #endif
        }
        var tasks: [Task<Void, Never>] = []
        for (identifier, remote) in remotes {
            remote.attach(verifier, nextRefreshAt: expiries[identifier])
            tasks.append(Task { await remote.run() })
        }
        let responder = AuthResponder(configuration: configuration, verifier: verifier)
        let previous = current.withLock { state in
            let old = state
            state = Loaded(current: Current(responder), refreshers: tasks)
            return old
        }
        if let previous {
            previous.refreshers.forEach { $0.cancel() }
            metrics.retire(previous.responder.verifier)
        }
    }

    /// Reads `path` again and installs it; on any error the configuration in force stays. The replay store is the
    /// one of the start: its settings are not read again.
    public func reload(path: String) async {
        do {
            let configuration = try ServeConfiguration.load(path: path)
            try await install(configuration)
            metrics.recordReload(ok: true)
            logger.info("configuration reloaded", metadata: ["path": "\(path)"])
        } catch {
            metrics.recordReload(ok: false)
            logger.error("reload failed; the previous configuration stays", metadata: ["error": "\(error)"])
        }
    }

    /// Reloads `path` on every SIGHUP (the signal's default action is turned off). Keep the returned source alive.
    public func reloadOnHangup(path: String) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in
            Task { await self.reload(path: path) }
        }
        source.resume()
        return source
    }

    /// Stops the key refreshers.
    public func stop() {
        current.withLock { $0?.refreshers.forEach { $0.cancel() } }
    }

    /// Whether the service can answer: `nil` when ready, else why not. Ready means a configuration is in force
    /// (its keys were loaded: remote sets are fetched before a configuration is installed) and the replay store
    /// answers (Redis: `PING` on a pooled connection, within the command timeout).
    public func notReadyReason() async -> String? {
        guard responder != nil else { return "no configuration loaded" }
        switch replay {
        case .memory:
            return nil
        #if Redis
        case .redis(_, let store):
            let answered = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                // hiredis blocks: off the event loop.
                DispatchQueue.global().async {
                    continuation.resume(returning: store.ping(now: self.now()))
                }
            }
            if answered { return nil }
            return "replay store: " + (store.lastConnectionProblem ?? "Redis did not answer PING")
        #endif
        }
    }

    /// `/readyz`'s status and body: 200 `ready`, or 503 with the reason (logged as a warning).
    public func readiness() async -> (status: Int, body: String) {
        guard let reason = await notReadyReason() else { return (200, "ready\n") }
        logger.warning("not ready", metadata: ["reason": "\(reason)"])
        return (503, "not ready: " + reason + "\n")
    }

    /// The Prometheus text exposition.
    public func metricsText() -> String {
        metrics.scrape(verifier: responder?.verifier, replay: replayCache)
    }

    /// Whether auth sub-requests are answered on the thread that read them
    /// (``serveSynchronously(peer:headers:request:)``): the replay store is the in-process cache. With Redis they go through ``serve(peer:headers:request:)``, whose
    /// store round trip suspends instead of blocking an event loop.
    public var answersInline: Bool {
        switch replay {
        case .memory: true
        #if Redis
        case .redis: false
        #endif
        }
    }

    /// Answers one sub-request with the responder in force (`nil` before the first load), counts it and logs one
    /// line at debug level: never the Authorization or DPoP values, nor the query (it may hold anything), only the
    /// original method and path, the peer, the status meant and sent, the outcome and the time taken.
    public func serve(
        peer: String?, headers: HTTPFields, request: AuthResponder.SubRequest? = nil
    ) async -> AuthAnswer? {
        await serve(peer: peer, headers: ProxyHeaders(headers), request: request)
    }

    func serve(peer: String?, headers: ProxyHeaders, request: AuthResponder.SubRequest?) async -> AuthAnswer? {
        guard let current = current.withLock({ $0?.current }) else { return nil }
        let started = ContinuousClock.now
        let answer = await current.responder.answer(
            peer: peer, headers: headers, request: request, now: now(), logger: logger)
        return recorded(answer, peer: peer, took: ContinuousClock.now - started)
    }

    /// The same, on the calling thread, through the verifier's synchronous entry point: only when
    /// ``answersInline`` (with Redis the verifier refuses it: 500 `invalid_configuration`).
    public func serveSynchronously(
        peer: String?, headers: HTTPFields, request: AuthResponder.SubRequest? = nil
    ) -> AuthAnswer? {
        serveSynchronously(peer: peer, headers: ProxyHeaders(headers), request: request)
    }

    func serveSynchronously(peer: String?, headers: ProxyHeaders, request: AuthResponder.SubRequest?) -> AuthAnswer? {
        guard let current = current.withLock({ $0?.current }) else { return nil }
        let started = ContinuousClock.now
        let answer = current.responder.answerSynchronously(
            peer: peer, headers: headers, request: request, now: now(), logger: logger)
        return recorded(answer, peer: peer, took: ContinuousClock.now - started)
    }

    /// Counts an answer and logs its line (debug level: nothing is formatted at the default level).
    func recorded(_ answer: AuthAnswer, peer: String?, took: Duration) -> AuthAnswer {
        metrics.record(status: answer.meantStatus, duration: took)
        logger.debug(
            "auth",
            metadata: [
                "peer": .string(peer ?? "-"), "method": .string(answer.method ?? "-"),
                "path": .string(answer.path ?? "-"), "status": .stringConvertible(answer.meantStatus),
                "sent": .stringConvertible(answer.status), "outcome": .string(answer.outcome),
                "micros": .stringConvertible(
                    took.components.seconds * 1_000_000 + took.components.attoseconds / 1_000_000_000_000),
            ])
        return answer
    }
}
