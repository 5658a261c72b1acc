//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Dispatch
import Foundation
public import Hummingbird
public import Keybound
import KeyboundRemoteKeys
public import Logging
import NIOCore
import Synchronization

/// The running service: the responder in force, swapped whole on a reload, and the replay cache that outlives
/// every reload (a proof accepted before a reload stays a replay after it).
public final class ServeRuntime: Sendable {
    let current: Mutex<Loaded?>
    /// Shared by every verifier this process builds.
    public let replayCache: ReplayCache
    let logger: Logger

    struct Loaded: Sendable {
        var responder: AuthResponder
        var refreshers: [Task<Void, Never>]
    }

    public init(replayCapacity: Int, logger: Logger) {
        self.replayCache = ReplayCache(capacity: replayCapacity)
        self.current = Mutex(nil)
        self.logger = logger
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
                let identifier = issuer.identifier
                let remote = try RemoteKeys(remoteConfiguration, onEvent: { event in
                    switch event {
                    case .installed(let count, _):
                        logger.info("keys installed", metadata: ["issuer": "\(identifier)", "keys": "\(count)"])
                    case .failed(let error, _):
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
        let verifier = try Verifier(
            issuers: trusted, policy: configuration.policy, replayStore: replayCache,
            onKeyMiss: { miss in misses[miss.issuer]?.onKeyMiss(miss) })
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
        previous?.refreshers.forEach { $0.cancel() }
    }

    /// Reads `path` again and installs it; on any error the configuration in force stays.
    public func reload(path: String) async {
        do {
            let configuration = try ServeConfiguration.load(path: path)
            try await install(configuration)
            logger.info("configuration reloaded", metadata: ["path": "\(path)"])
        } catch {
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

    /// The Hummingbird router: every path is an auth endpoint (the proxy chooses the path), plus `/healthz`.
    public func router() -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.get("/healthz") { _, _ in "ok\n" }
        let handler: @Sendable (Request, ServeRequestContext) async throws -> Response = { [self] request, context in
            await self.handle(request, context: context)
        }
        router.on("/**", method: .get, use: handler)
        router.on("/**", method: .head, use: handler)
        router.on("/**", method: .post, use: handler)
        return router
    }

    func handle(_ request: Request, context: ServeRequestContext) async -> Response {
        guard let responder else {
            return Response(status: .serviceUnavailable)
        }
        let peer = context.peerIP
        let answer = await responder.answer(
            peer: peer, headers: request.headers, now: Int64(Date().timeIntervalSince1970))
        // Never the Authorization or DPoP values: the method, original URI's path and the outcome only.
        logger.info(
            "auth",
            metadata: [
                "peer": "\(peer ?? "-")", "status": "\(answer.status)", "outcome": "\(answer.outcome)",
            ])
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: answer.headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
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
