//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import Keybound
import Synchronization

/// Keeps a ``Verifier``'s keys for one issuer fresh from the network, for any Swift service (no web framework).
///
/// It finds the issuer's JWK Set (RFC 7517 §5) by OpenID Connect discovery, by RFC 8414 metadata or at a given URL;
/// fetches it again when the answer's `Cache-Control: max-age` (RFC 9111 §5.2.2.1, clamped) runs out and early when
/// the verifier reports a token signed with a key it lacks (its `onKeyMiss` hook), at most once per cooldown. One
/// fetch is in flight at a time; callers that ask meanwhile share its outcome. A failed fetch (status, timeout,
/// oversized body, invalid JSON, a set that does not load) keeps the keys installed, is reported (``status``, the
/// `onEvent` callback) and retried with backoff. New sets go in atomically through
/// ``Verifier/replaceKeys(forIssuer:with:)``. docs/remote-keys.md gives the rules.
///
/// ```swift
/// let remote = try RemoteKeys(.discovery(issuer: "https://id.example"))
/// let first = try await remote.fetchKeys()
/// let issuer = TrustedIssuer(identifier: "https://id.example", audiences: ["https://api.example"], keys: first.keys)
/// let verifier = try Verifier(issuers: [issuer], onKeyMiss: remote.onKeyMiss)
/// remote.attach(verifier, nextRefreshAt: first.expiresAt)
/// Task { await remote.run() }   // until cancelled
/// ```
///
/// - Note: `RemoteKeys` is thread-safe.
public final class RemoteKeys: Sendable {
    /// What one fetch did (also the value passed to the `onEvent` callback).
    public enum Event: Sendable, Hashable {
        /// A new set of `keyCount` keys was installed; the next fetch is due at `nextRefreshAt` (Unix seconds).
        case installed(keyCount: Int, nextRefreshAt: Int64)
        /// The fetch failed and the old keys stay; it is retried at `nextRefreshAt`.
        case failed(RemoteKeysError, nextRefreshAt: Int64)

        /// When the next scheduled fetch is due.
        public var nextRefreshAt: Int64 {
            switch self {
            case .installed(_, let next), .failed(_, let next): next
            }
        }
    }

    /// A fetched set and the time it is good until.
    public struct Fetched: Sendable {
        public var keys: JWKSet
        /// The JWK Set document as fetched.
        public var document: [UInt8]
        /// The JWK Set's URL (from discovery, or as configured).
        public var jwksURL: String
        /// `now + max-age` (clamped), Unix seconds.
        public var expiresAt: Int64
    }

    /// The state of the keys, for health checks and logs.
    public struct Status: Sendable, Hashable {
        /// Keys in the last set installed, `nil` before the first.
        public var keyCount: Int?
        /// When a set was last installed (Unix seconds).
        public var lastSuccessAt: Int64?
        /// The last fetch's error, `nil` once a fetch succeeds again.
        public var lastError: RemoteKeysError?
        public var consecutiveFailures = 0
        /// When the next scheduled fetch is due (Unix seconds), `nil` before the first.
        public var nextRefreshAt: Int64?
        /// How many fetches have been started.
        public var fetchCount = 0
    }

    struct State {
        var verifier: Verifier?
        var inFlight: Task<Event, Never>?
        var lastFetchStartedAt: Int64?
        var status = Status()
    }

    /// The configuration in use.
    public let configuration: Configuration
    let http: HTTPFetch
    let now: @Sendable () -> Int64
    let onEvent: (@Sendable (Event) -> Void)?
    let state = Mutex(State())

    /// - Parameters:
    ///   - onEvent: called after every fetch that installs or fails (not for ``fetchKeys()``).
    ///   - now: the clock, Unix seconds.
    /// - Throws: `RemoteKeysError` `.invalidURL` or `.insecureURL` for a URL Keybound will not fetch from,
    ///   `.invalidConfiguration` for bounds out of range or a trust-roots file that does not load.
    public init(
        _ configuration: Configuration,
        onEvent: (@Sendable (Event) -> Void)? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws(RemoteKeysError) {
        try configuration.validate()
        self.configuration = configuration
        http = try HTTPFetch(configuration)
        self.onEvent = onEvent
        self.now = now
    }

    // MARK: - Wiring

    /// Installs fetched sets into `verifier` from now on. `nextRefreshAt` is when the keys the verifier was made
    /// with run out (``Fetched/expiresAt``), or `nil` to fetch at once when ``run()`` starts.
    public func attach(_ verifier: Verifier, nextRefreshAt: Int64? = nil) {
        state.withLock {
            $0.verifier = verifier
            $0.status.nextRefreshAt = nextRefreshAt
        }
    }

    /// The hook to pass as the verifier's `onKeyMiss`: starts a fetch unless one ran within the cooldown. The
    /// verifier calls it at most once per `VerifierPolicy.keyMissIntervalSeconds`; the cooldown here holds too.
    public var onKeyMiss: @Sendable (KeyMiss) -> Void {
        { [self] miss in _ = self.keyMissed(issuer: miss.issuer) }
    }

    /// The state of the keys: counts, the last error, the next fetch.
    public var status: Status { state.withLock { $0.status } }

    // MARK: - Fetching

    /// Fetches now, or joins the fetch in flight, and installs the set on success.
    @discardableResult
    public func refresh() async -> Event {
        await startRefresh().value
    }

    /// Waits for the fetch in flight, if any, and returns its outcome.
    @discardableResult
    public func settle() async -> Event? {
        guard let running = state.withLock({ $0.inFlight }) else { return nil }
        return await running.value
    }

    /// The fetch in flight, or a new one.
    func startRefresh() -> Task<Event, Never> {
        state.withLock { state in
            if let running = state.inFlight { return running }
            return begin(&state)
        }
    }

    /// Starts a fetch for a key miss, unless the miss is for another issuer or a fetch started within the cooldown.
    /// Returns the fetch it started or joined, or `nil` when it ignored the miss.
    @discardableResult
    func keyMissed(issuer: String) -> Task<Event, Never>? {
        guard issuer == configuration.issuer else { return nil }
        let time = now()
        return state.withLock { state -> Task<Event, Never>? in
            if let running = state.inFlight { return running }
            if let last = state.lastFetchStartedAt, time &- last < configuration.cooldownSeconds { return nil }
            return begin(&state)
        }
    }

    /// Starts a fetch; called with the lock held.
    private func begin(_ state: inout State) -> Task<Event, Never> {
        state.lastFetchStartedAt = now()
        state.status.fetchCount += 1
        let task = Task { await self.fetchAndInstall() }
        state.inFlight = task
        return task
    }

    private func fetchAndInstall() async -> Event {
        let event: Event
        do throws(RemoteKeysError) {
            let fetched = try await fetchKeys()
            guard let verifier = state.withLock({ $0.verifier }) else {
                throw RemoteKeysError(.noVerifier, "no verifier is attached")
            }
            do {
                try verifier.replaceKeys(forIssuer: configuration.issuer, with: fetched.keys)
            } catch {
                throw RemoteKeysError(.invalidJWKS, "the verifier refused the set: \(error.code.name): \(error.reason)")
            }
            event = .installed(keyCount: fetched.keys.count, nextRefreshAt: fetched.expiresAt)
        } catch {
            let failures = state.withLock { $0.status.consecutiveFailures }
            event = .failed(error, nextRefreshAt: now() &+ retryDelay(afterFailures: failures))
        }
        let time = now()
        state.withLock { state in
            state.inFlight = nil
            state.status.nextRefreshAt = event.nextRefreshAt
            switch event {
            case .installed(let count, _):
                state.status.keyCount = count
                state.status.lastSuccessAt = time
                state.status.lastError = nil
                state.status.consecutiveFailures = 0
            case .failed(let error, _):
                state.status.lastError = error
                state.status.consecutiveFailures += 1
            }
        }
        onEvent?(event)
        return event
    }

    /// Finds and fetches the set once, without installing it (for the keys a verifier starts with).
    ///
    /// - Throws: `RemoteKeysError` naming the step that failed.
    public func fetchKeys() async throws(RemoteKeysError) -> Fetched {
        let jwksURL = try await resolveJWKSURL()
        let response = try await http.get(jwksURL, accept: "application/jwk-set+json, application/json")
        let keys: JWKSet
        do {
            keys = try JWKSet(json: response.body, rsaModulusBits: configuration.rsaModulusBits)
        } catch {
            throw RemoteKeysError(.invalidJWKS, "\(error.code.name): \(error.reason)")
        }
        guard keys.count > 0 else { throw RemoteKeysError(.invalidJWKS, "the JWK Set has no usable key") }
        let maxAge = maxAge(
            cacheControl: response.headers[canonicalForm: "Cache-Control"].joined(separator: ","),
            age: response.headers.first(name: "Age"))
        return Fetched(keys: keys, document: response.body, jwksURL: jwksURL, expiresAt: now() &+ maxAge)
    }

    /// The JWK Set's URL: as configured, or the `jwks_uri` of the issuer's metadata, whose `issuer` must equal the
    /// configured one exactly (RFC 8414 §3.3; OpenID Connect Discovery §4.3).
    func resolveJWKSURL() async throws(RemoteKeysError) -> String {
        if case .jwksURL(let url) = configuration.source { return url }
        guard let metadataURL = try configuration.metadataURL() else {
            throw RemoteKeysError(.invalidConfiguration, "no metadata URL")
        }
        let response = try await http.get(metadataURL, accept: "application/json")
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        guard let object, let issuer = object["issuer"] as? String, let jwksURI = object["jwks_uri"] as? String else {
            throw RemoteKeysError(.invalidMetadata, "\(metadataURL) has no string issuer and jwks_uri")
        }
        guard issuer == configuration.issuer else {
            throw RemoteKeysError(
                .issuerMismatch, "\(metadataURL) names issuer \(issuer), not \(configuration.issuer)")
        }
        _ = try RemoteURL(jwksURI, allowLoopbackHTTP: configuration.allowLoopbackHTTP)
        return jwksURI
    }

    // MARK: - Schedule

    /// The lifetime of a response: `max-age` less `Age` (RFC 9111 §4.2.3), clamped to ``Configuration/maxAgeRange``;
    /// the lower end for `no-store` or `no-cache`; ``Configuration/defaultMaxAgeSeconds`` (clamped) without a usable
    /// `max-age`.
    func maxAge(cacheControl: String, age: String?) -> Int64 {
        let range = configuration.maxAgeRange
        var maxAge: Int64? = nil
        for directive in cacheControl.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1)
            guard let first = parts.first else { continue }
            let name = first.trimmingCharacters(in: .whitespaces).lowercased()
            if name == "no-store" || name == "no-cache" { return range.lowerBound }
            if name == "max-age", parts.count == 2 {
                let value = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""])
                if let seconds = Int64(value), seconds >= 0 { maxAge = seconds }
            }
        }
        guard var lifetime = maxAge else {
            return min(max(configuration.defaultMaxAgeSeconds, range.lowerBound), range.upperBound)
        }
        if let age, let seconds = Int64(age.trimmingCharacters(in: .whitespaces)), seconds > 0 {
            lifetime = lifetime > seconds ? lifetime - seconds : 0
        }
        return min(max(lifetime, range.lowerBound), range.upperBound)
    }

    /// The wait before retrying after `failures` earlier consecutive failures: doubling, capped.
    func retryDelay(afterFailures failures: Int) -> Int64 {
        var delay = configuration.retrySeconds
        for _ in 0..<min(failures, 32) where delay < configuration.maximumRetrySeconds { delay &*= 2 }
        return min(delay, configuration.maximumRetrySeconds)
    }

    /// Refreshes on schedule until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            let due = state.withLock { $0.status.nextRefreshAt }
            let wait = due.map { $0 &- now() } ?? 0
            if wait > 0 {
                try? await Task.sleep(for: .seconds(min(wait, 3_600)))
                continue
            }
            await refresh()
        }
    }
}
