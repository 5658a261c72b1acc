//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound
@_exported public import KeyboundRemoteKeys
public import ServiceLifecycle

/// ``RemoteKeys`` as a ServiceLifecycle service beside a Hummingbird server: it refreshes the issuer's keys on
/// schedule until the service group shuts down. Discovery, fetching, caching and the key-miss refetch are all
/// ``RemoteKeys``'s (docs/remote-keys.md).
///
/// ```swift
/// let refresher = try JWKSRefresher(.discovery(issuer: "https://id.example"))
/// let first = try await refresher.fetchKeys()
/// let issuer = TrustedIssuer(identifier: "https://id.example", audiences: ["https://api.example"], keys: first.keys)
/// let verifier = try Verifier(issuers: [issuer], onKeyMiss: refresher.onKeyMiss)
/// refresher.attach(verifier, nextRefreshAt: first.expiresAt)
/// // …then: Application(router: router, services: [refresher])
/// ```
public final class JWKSRefresher: Service, Sendable {
    /// The keys it keeps fresh.
    public let remoteKeys: RemoteKeys

    public init(_ remoteKeys: RemoteKeys) {
        self.remoteKeys = remoteKeys
    }

    /// - Throws: what ``RemoteKeys/init(_:onEvent:now:)`` throws.
    public convenience init(
        _ configuration: RemoteKeys.Configuration,
        onEvent: (@Sendable (RemoteKeys.Event) -> Void)? = nil
    ) throws(RemoteKeysError) {
        self.init(try RemoteKeys(configuration, onEvent: onEvent))
    }

    /// ``RemoteKeys/fetchKeys()``.
    public func fetchKeys() async throws(RemoteKeysError) -> RemoteKeys.Fetched { try await remoteKeys.fetchKeys() }

    /// ``RemoteKeys/attach(_:nextRefreshAt:)``.
    public func attach(_ verifier: Verifier, nextRefreshAt: Int64? = nil) {
        remoteKeys.attach(verifier, nextRefreshAt: nextRefreshAt)
    }

    /// ``RemoteKeys/onKeyMiss``.
    public var onKeyMiss: @Sendable (KeyMiss) -> Void { remoteKeys.onKeyMiss }

    /// Refreshes on schedule until the task is cancelled or the service group shuts down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.remoteKeys.run() }
    }
}
