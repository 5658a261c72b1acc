//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix

/// keybound-serve's HTTP/1.1 server: one SwiftNIO pipeline per connection (NIO's HTTP/1 decoder and encoder, its
/// pipelining guard, then ``ServeHandler``) for every endpoint: `GET`/`HEAD` `/healthz`, `/readyz` and `/metrics`,
/// and every other request as an auth sub-request (docs/sidecar.md, "The HTTP server").
///
/// With the in-process replay store an auth sub-request is verified on the event loop that read it, synchronously,
/// and answered at once: no task, no hop to another thread. With Redis the verification runs in a task (the store's
/// round trip suspends) and the answer is written back on the connection's event loop.
public final class ServeServer: Sendable {
    let channel: any Channel
    let quiescing: ServerQuiescingHelper

    init(channel: any Channel, quiescing: ServerQuiescingHelper) {
        self.channel = channel
        self.quiescing = quiescing
    }

    /// The port the server listens on (useful after binding port 0).
    public var port: Int? { channel.localAddress?.port }

    /// Binds `host`:`port` and serves `runtime` on `group`'s event loops (NIO's shared group by default).
    public static func start(
        runtime: ServeRuntime, host: String, port: Int,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ServeServer {
        let quiescing = ServerQuiescingHelper(group: group)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // Malformed HTTP gets 400 and the connection closes; one request at a time per connection.
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(ServeHandler(runtime: runtime, peer: channel.remoteAddress?.ipAddress))
                }
            }
            .bind(host: host, port: port).get()
        return ServeServer(channel: channel, quiescing: quiescing)
    }

    /// Stops accepting, lets the requests in flight be answered, closes every connection; returns when all are
    /// closed (SIGTERM, SIGINT).
    public func shutdown() async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: promise)
        try await promise.futureResult.get()
    }
}

/// One connection's requests. NIO's `HTTPServerPipelineHandler` before it hands over one request at a time (a
/// pipelined one waits for the answer before it), so one request head is held at most.
final class ServeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let runtime: ServeRuntime
    /// The TCP peer's IP address as text, `nil` for an unknown peer.
    let peer: String?
    var head: HTTPRequestHead?

    init(runtime: ServeRuntime, peer: String?) {
        self.runtime = runtime
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // an auth sub-request has no body: any is read and dropped
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The service's own endpoints, by path (the query is ignored).
    enum Endpoint: String {
        case healthz = "/healthz"
        case readyz = "/readyz"
        case metrics = "/metrics"
    }

    func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = RequestURL.path(of: head.uri)
        if path.utf8.count <= 8, let endpoint = Endpoint(rawValue: String(path)) {
            return serveEndpoint(endpoint, head: head, context: context)
        }
        // Every other request is an auth sub-request, whatever its method and path (nginx and Traefik name the
        // path in their configuration; Envoy sends the original method and path_prefix + the original path). The
        // headers it needs are read once, in place (no conversion of the whole head).
        let headers = ProxyHeaders(head.headers)
        let request = AuthResponder.SubRequest(
            method: head.method.rawValue, target: head.uri, authority: headers.authority)
        if runtime.answersInline {
            let answer = runtime.serveSynchronously(peer: peer, headers: headers, request: request)
            return write(answer, head: head, context: context)
        }
        let runtime = self.runtime
        let peer = self.peer
        context.eventLoop.makeFutureWithTask {
            await runtime.serve(peer: peer, headers: headers, request: request)
        }.assumeIsolated().whenSuccess { answer in
            self.write(answer, head: head, context: context)
        }
    }

    func write(_ answer: AuthAnswer?, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let answer else {
            // Before the first configuration is in force.
            return write(status: 503, headers: HTTPHeaders(), body: "", head: head, context: context)
        }
        write(status: answer.status, headers: answer.fields, body: answer.body, head: head, context: context)
    }

    func serveEndpoint(_ endpoint: Endpoint, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            var headers = Self.textHeaders
            headers.add(name: "Allow", value: "GET, HEAD")
            return write(status: 405, headers: headers, body: "method not allowed\n", head: head, context: context)
        }
        switch endpoint {
        case .healthz:
            write(status: 200, headers: Self.textHeaders, body: "ok\n", head: head, context: context)
        case .metrics:
            write(status: 200, headers: Self.metricsHeaders, body: runtime.metricsText(), head: head, context: context)
        case .readyz:
            let runtime = self.runtime
            context.eventLoop.makeFutureWithTask {
                await runtime.readiness()
            }.assumeIsolated().whenSuccess { (status, body) in
                self.write(status: status, headers: Self.textHeaders, body: body, head: head, context: context)
            }
        }
    }

    static let noContent: HTTPHeaders = ["Content-Length": "0"]
    static let textHeaders: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"]
    static let metricsHeaders: HTTPHeaders = [
        "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store",
    ]

    /// Writes one whole answer: the head with its `Content-Length`, the body (none for `HEAD`), the end; closes
    /// the connection after it when the request did not keep it alive.
    func write(status: Int, headers: HTTPHeaders, body: String, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var fields = headers
        let length = body.utf8.count
        let keepAlive = head.isKeepAlive
        // Appended whole (`add(name:value:)` checks each name again).
        if !keepAlive {
            fields.add(contentsOf: HTTPHeaders([("Content-Length", String(length)), ("Connection", "close")]))
        } else if head.version.minor == 0 {
            fields.add(contentsOf: HTTPHeaders([("Content-Length", String(length)), ("Connection", "keep-alive")]))
        } else {
            fields.add(contentsOf: length == 0 ? Self.noContent : HTTPHeaders([("Content-Length", String(length))]))
        }
        let response = HTTPResponseHead(
            version: head.version, status: HTTPResponseStatus(statusCode: status), headers: fields)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if length > 0 && head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: length)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
