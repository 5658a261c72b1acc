//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Dispatch
import Foundation
public import HTTPTypes
public import Hummingbird
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
        var responder: AuthResponder
        var refreshers: [Task<Void, Never>]
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
        // The per-key replay share a Verifier's own cache would apply (capacity / 8): the cache is made here, once,
        // so it is passed here (docs/design.md, "Per-key replay share").
        var policy = VerifierPolicy()
        policy.replayCacheCapacity = replayCapacity
        policy.replayKeyShare = replayKeyShare
        self.replayCache = ReplayCache(capacity: replayCapacity, keyShare: policy.effectiveReplayKeyShare)
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
            state = Loaded(responder: responder, refreshers: tasks)
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

    /// The Prometheus text exposition.
    public func metricsText() -> String {
        metrics.scrape(verifier: responder?.verifier, replay: replayCache)
    }

    /// The Hummingbird router: `GET /healthz` (the process runs), `GET /readyz` (it can answer: keys loaded, replay
    /// store reachable) and `GET /metrics`; every other request, whatever its method and path, is an auth
    /// sub-request (nginx and Traefik name the path in their configuration; Envoy sends the original method and
    /// `path_prefix` + the original path, which the configuration keeps apart from these three).
    public func router() -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { [self] _, _ -> Response in
            guard let reason = await self.notReadyReason() else { return Self.text(.ok, "ready\n") }
            self.logger.warning("not ready", metadata: ["reason": "\(reason)"])
            return Self.text(.serviceUnavailable, "not ready: " + reason + "\n")
        }
        router.get("/metrics") { [self] _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: self.metricsText())))
        }
        // Added after the routes, a router middleware wraps only the responder for requests that no route takes
        // (Hummingbird applies a middleware to the routes added after it, and to that responder): every method,
        // every path but the three above.
        router.add(middleware: AuthEndpoint(runtime: self))
        return router
    }

    /// Answers every request no route took as an auth sub-request.
    struct AuthEndpoint: RouterMiddleware {
        typealias Context = ServeRequestContext
        let runtime: ServeRuntime

        func handle(
            _ request: Request, context: Context, next: (Request, Context) async throws -> Response
        ) async throws -> Response {
            await runtime.handle(request, context: context)
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func handle(_ request: Request, context: ServeRequestContext) async -> Response {
        let sub = AuthResponder.SubRequest(
            method: request.method.rawValue, target: request.head.path ?? "", authority: request.head.authority)
        guard let answer = await serve(peer: context.peerIP, headers: request.headers, request: sub) else {
            return Response(status: .serviceUnavailable)
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: answer.headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// Answers one sub-request with the responder in force (`nil` before the first load), counts it and logs one
    /// line: never the Authorization or DPoP values, nor the query (it may hold anything), only the original method
    /// and path, the peer, the status meant and sent, the outcome and the time taken.
    public func serve(
        peer: String?, headers: HTTPFields, request: AuthResponder.SubRequest? = nil
    ) async -> AuthAnswer? {
        guard let responder else { return nil }
        let clock = ContinuousClock()
        let started = clock.now
        let answer = await responder.answer(peer: peer, headers: headers, request: request, now: now(), logger: logger)
        let took = clock.now - started
        metrics.record(status: answer.meantStatus, duration: took)
        let micros = took.components.seconds * 1_000_000 + took.components.attoseconds / 1_000_000_000_000
        logger.info(
            "auth",
            metadata: [
                "peer": .string(peer ?? "-"), "method": .string(answer.method ?? "-"),
                "path": .string(answer.path ?? "-"), "status": .stringConvertible(answer.meantStatus),
                "sent": .stringConvertible(answer.status), "outcome": .string(answer.outcome),
                "micros": .stringConvertible(micros),
            ])
        return answer
    }
}

/// The request context: what Hummingbird keeps, plus the TCP peer's address.
public struct ServeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address as text, `nil` for a Unix socket or an unknown peer.
    public let peerIP: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerIP = source.channel.remoteAddress?.ipAddress
    }
}
