//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// One bounded GET: `https` with the system trust store (plus the configured extra roots), no redirects, no
/// decompression, one deadline for the whole exchange, and a body bound checked while reading.
struct HTTPFetch: Sendable {
    struct Response: Sendable {
        var body: [UInt8]
        var headers: HTTPHeaders
    }

    let tls: TLSConfiguration
    let timeoutSeconds: Int64
    let maximumBodyBytes: Int

    init(_ configuration: RemoteKeys.Configuration) throws(RemoteKeysError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.extraTrustRootsPEMFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(path)
                guard !roots.isEmpty else {
                    throw RemoteKeysError(.invalidConfiguration, "no certificate in the trust-roots file \(path)")
                }
                tls.additionalTrustRoots = [.certificates(roots)]
            } catch let error as RemoteKeysError {
                throw error
            } catch {
                throw RemoteKeysError(.invalidConfiguration, "the trust-roots file \(path) does not load: \(error)")
            }
        }
        self.tls = tls
        timeoutSeconds = configuration.timeoutSeconds
        maximumBodyBytes = configuration.maximumBodyBytes
    }

    /// GETs `url` and returns a 200 answer's body and headers.
    func get(_ url: String, accept: String) async throws(RemoteKeysError) -> Response {
        let timeout = TimeAmount.seconds(timeoutSeconds)
        // A client per exchange: fetches are minutes apart, and nothing is left to shut down between them. A failed
        // connection (refused, TLS) fails the fetch at once: RemoteKeys retries with its own backoff.
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let result: Result<Response, RemoteKeysError>
        do {
            result = .success(try await withDeadline { try await self.exchange(client, url, accept: accept) })
        } catch {
            result = .failure(Self.classify(error))
        }
        try? await client.shutdown()
        return try result.get()
    }

    private func exchange(_ client: HTTPClient, _ url: String, accept: String) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: accept)
        let response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
        guard response.status.code == 200 else {
            throw RemoteKeysError(.httpStatus, "\(url) answered \(response.status.code)")
        }
        let body = try await response.body.collect(upTo: maximumBodyBytes)
        return Response(body: Array(body.readableBytesView), headers: response.headers)
    }

    /// Runs `body`, cancelling it when the timeout runs out first (the client's own deadline covers the head only).
    private func withDeadline(_ body: @escaping @Sendable () async throws -> Response) async throws -> Response {
        let seconds = timeoutSeconds
        return try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw RemoteKeysError(.timeout, "no complete answer within \(seconds) s")
            }
            return response
        }
    }

    static func classify(_ error: any Error) -> RemoteKeysError {
        switch error {
        case let error as RemoteKeysError: return error
        case is NIOTooManyBytesError: return RemoteKeysError(.bodyTooLarge, "the body is larger than the bound")
        case let error as HTTPClientError
        where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return RemoteKeysError(.timeout, "\(error)")
        case is CancellationError: return RemoteKeysError(.timeout, "cancelled")
        default: return RemoteKeysError(.transport, "\(error)")
        }
    }
}
