//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import AsyncHTTPClient
import Foundation
public import Keybound
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization

/// Keeps a ``Verifier``'s keys for one issuer fresh: fetches the issuer's JWK Set (RFC 7517 §5) over HTTPS, again
/// when the response's `Cache-Control: max-age` (RFC 9111 §5.2.2.1) runs out, and early when the verifier reports a
/// token signed with a key it lacks (its `onKeyMiss` hook), at most once per cooldown. One fetch is in flight at a
/// time; callers that ask meanwhile share its outcome. A failed fetch (network, status, an invalid or empty set)
/// keeps the keys already installed and is retried with backoff. New sets go in through
/// ``Verifier/replaceKeys(forIssuer:with:)``.
///
/// ```swift
/// let refresher = try JWKSRefresher(.init(issuer: "https://id.example", jwksURL: "https://id.example/jwks.json"))
/// let first = try await refresher.fetchKeys()
/// let issuer = TrustedIssuer(identifier: "https://id.example", audiences: ["https://api.example"], keys: first.keys)
/// let verifier = try Verifier(issuers: [issuer], onKeyMiss: refresher.onKeyMiss)
/// refresher.attach(verifier, nextRefreshAt: first.expiresAt)
/// // …then run it as a service beside the server: Application(router: router, services: [refresher])
/// ```
///
/// - Note: `JWKSRefresher` is thread-safe.
public final class JWKSRefresher: Service, Sendable {
    /// What to fetch and how often.
    public struct Configuration: Sendable {
        /// The issuer whose keys these are (the verifier's ``TrustedIssuer/identifier``).
        public var issuer: String
        /// The JWKS URL; `https` unless ``allowPlainHTTP``.
        public var jwksURL: String
        /// The least time between two fetches started by key misses (default 30 s).
        public var cooldownSeconds: Int64 = 30
        /// The lifetime of a set whose response has no usable `max-age` (default 300 s).
        public var defaultMaxAgeSeconds: Int64 = 300
        /// `max-age` values are clamped to this range (default one minute to one day); `no-store` and `no-cache`
        /// count as its lower end.
        public var maxAgeRange: ClosedRange<Int64> = 60...86_400
        /// The first wait after a failed fetch (default 30 s), doubled after each further failure up to
        /// ``maximumRetrySeconds``.
        public var retrySeconds: Int64 = 30
        /// The longest wait between retries (default 600 s).
        public var maximumRetrySeconds: Int64 = 600
        /// How long one fetch may take (default 10 s).
        public var timeoutSeconds: Int64 = 10
        /// Accepted RSA modulus sizes for the issuer's keys.
        public var rsaModulusBits: ClosedRange<Int> = 2048...4096
        /// Allow `http` URLs. For tests against a local server only: keys fetched in the clear can be replaced by
        /// anyone on the path.
        public var allowPlainHTTP = false

        public init(issuer: String, jwksURL: String) {
            self.issuer = issuer
            self.jwksURL = jwksURL
        }
    }

    /// What one fetch did.
    public enum Outcome: Sendable, Hashable {
        /// A new set of `keyCount` keys was installed; the next fetch is due at `nextRefreshAt` (Unix seconds).
        case installed(keyCount: Int, nextRefreshAt: Int64)
        /// The fetch failed and the old keys stay; it is retried at `nextRefreshAt`.
        case failed(reason: String, nextRefreshAt: Int64)

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
        /// `now + max-age` (clamped), Unix seconds.
        public var expiresAt: Int64
    }

    struct State {
        var verifier: Verifier?
        var inFlight: Task<Outcome, Never>?
        var lastFetchStartedAt: Int64?
        var nextRefreshAt: Int64?
        var consecutiveFailures = 0
        var fetchCount = 0
    }

    /// The configuration in use.
    public let configuration: Configuration
    let httpClient: HTTPClient
    let now: @Sendable () -> Int64
    let state = Mutex(State())

    /// - Throws: `KeyboundError(.invalidConfiguration)` for a URL that is not `https` (or `http` when allowed), or
    ///   for intervals that are not positive.
    public init(
        _ configuration: Configuration,
        httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws(KeyboundError) {
        let lowered = configuration.jwksURL.lowercased()
        guard lowered.hasPrefix("https://") || (configuration.allowPlainHTTP && lowered.hasPrefix("http://")) else {
            throw KeyboundError(.invalidConfiguration, reason: "the JWKS URL must use https")
        }
        guard configuration.cooldownSeconds >= 0, configuration.defaultMaxAgeSeconds > 0,
            configuration.maxAgeRange.lowerBound > 0, configuration.retrySeconds > 0,
            configuration.maximumRetrySeconds >= configuration.retrySeconds, configuration.timeoutSeconds > 0
        else {
            throw KeyboundError(.invalidConfiguration, reason: "JWKS refresh intervals must be positive")
        }
        self.configuration = configuration
        self.httpClient = httpClient
        self.now = now
    }

    // MARK: - Wiring

    /// Installs fetched sets into `verifier` from now on. `nextRefreshAt` is when the keys the verifier was made
    /// with run out (``Fetched/expiresAt``), or `nil` to fetch at once when ``run()`` starts.
    public func attach(_ verifier: Verifier, nextRefreshAt: Int64? = nil) {
        state.withLock {
            $0.verifier = verifier
            $0.nextRefreshAt = nextRefreshAt
        }
    }

    /// The hook to pass as the verifier's `onKeyMiss`: starts a fetch unless one ran within the cooldown.
    public var onKeyMiss: @Sendable (KeyMiss) -> Void {
        { [self] miss in _ = self.keyMissed(issuer: miss.issuer) }
    }

    /// How many fetches have been started.
    public var fetchCount: Int { state.withLock { $0.fetchCount } }

    /// When the next scheduled fetch is due (Unix seconds), or `nil` before the first.
    public var nextRefreshAt: Int64? { state.withLock { $0.nextRefreshAt } }

    // MARK: - Fetching

    /// Fetches now, or joins the fetch in flight, and installs the set on success.
    @discardableResult
    public func refresh() async -> Outcome {
        await startRefresh().value
    }

    /// The fetch in flight, or a new one.
    func startRefresh() -> Task<Outcome, Never> {
        state.withLock { state in
            if let running = state.inFlight { return running }
            return begin(&state)
        }
    }

    /// Starts a fetch for a key miss, unless the miss is for another issuer or a fetch started within the cooldown.
    /// Returns the fetch it started or joined, or `nil` when it ignored the miss.
    @discardableResult
    func keyMissed(issuer: String) -> Task<Outcome, Never>? {
        guard issuer == configuration.issuer else { return nil }
        let time = now()
        return state.withLock { state -> Task<Outcome, Never>? in
            if let running = state.inFlight { return running }
            if let last = state.lastFetchStartedAt, time &- last < configuration.cooldownSeconds { return nil }
            return begin(&state)
        }
    }

    /// Waits for the fetch in flight, if any (for tests and orderly shutdown).
    func settle() async -> Outcome? {
        guard let running = state.withLock({ $0.inFlight }) else { return nil }
        return await running.value
    }

    /// Starts a fetch; called with the lock held.
    private func begin(_ state: inout State) -> Task<Outcome, Never> {
        state.lastFetchStartedAt = now()
        state.fetchCount += 1
        let task = Task { await self.fetchAndInstall() }
        state.inFlight = task
        return task
    }

    private func fetchAndInstall() async -> Outcome {
        let outcome: Outcome
        do {
            let fetched = try await fetchKeys()
            let verifier = state.withLock { $0.verifier }
            guard let verifier else { throw KeyboundError(.invalidConfiguration, reason: "no verifier is attached") }
            try verifier.replaceKeys(forIssuer: configuration.issuer, with: fetched.keys)
            outcome = .installed(keyCount: fetched.keys.count, nextRefreshAt: fetched.expiresAt)
        } catch {
            let failures = state.withLock { $0.consecutiveFailures }
            outcome = .failed(reason: Self.describe(error), nextRefreshAt: now() &+ retryDelay(afterFailures: failures))
        }
        state.withLock { state in
            state.inFlight = nil
            state.nextRefreshAt = outcome.nextRefreshAt
            if case .installed = outcome { state.consecutiveFailures = 0 } else { state.consecutiveFailures += 1 }
        }
        return outcome
    }

    /// Fetches and parses the set once, without installing it (for the keys a verifier starts with).
    ///
    /// - Throws: `KeyboundError(.invalidJWKS)` for a bad status or document (or an empty set), or the HTTP client's
    ///   error.
    public func fetchKeys() async throws -> Fetched {
        var request = HTTPClientRequest(url: configuration.jwksURL)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/jwk-set+json, application/json")
        let response = try await httpClient.execute(request, timeout: .seconds(configuration.timeoutSeconds))
        guard response.status.code == 200 else {
            throw KeyboundError(.invalidJWKS, reason: "the JWKS URL answered \(response.status.code)")
        }
        let body = try await response.body.collect(upTo: JWKSet.maximumDocumentBytes)
        let keys = try JWKSet(json: Array(body.readableBytesView), rsaModulusBits: configuration.rsaModulusBits)
        guard keys.count > 0 else { throw KeyboundError(.invalidJWKS, reason: "the JWKS has no usable key") }
        let maxAge = maxAge(
            cacheControl: response.headers[canonicalForm: "Cache-Control"].joined(separator: ","),
            age: response.headers.first(name: "Age"))
        return Fetched(keys: keys, expiresAt: now() &+ maxAge)
    }

    // MARK: - Schedule

    /// The lifetime of a response: `max-age` less `Age` (RFC 9111 §4.2.3), clamped to ``Configuration/maxAgeRange``;
    /// the lower end for `no-store` or `no-cache`; ``Configuration/defaultMaxAgeSeconds`` without a usable `max-age`.
    func maxAge(cacheControl: String, age: String?) -> Int64 {
        let range = configuration.maxAgeRange
        var maxAge: Int64? = nil
        for directive in cacheControl.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1)
            let name = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
            if name == "no-store" || name == "no-cache" { return range.lowerBound }
            if name == "max-age", parts.count == 2 {
                let value = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""])
                if let seconds = Int64(value), seconds >= 0 { maxAge = seconds }
            }
        }
        guard var lifetime = maxAge else { return configuration.defaultMaxAgeSeconds }
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

    static func describe(_ error: any Error) -> String {
        if let error = error as? KeyboundError { return error.code.name + ": " + error.reason }
        return String(describing: error)
    }

    // MARK: - Service

    /// Refreshes on schedule until the task is cancelled or the service group shuts down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let due = self.state.withLock { $0.nextRefreshAt }
                let wait = due.map { $0 &- self.now() } ?? 0
                if wait > 0 {
                    try? await Task.sleep(for: .seconds(min(wait, 3_600)))
                    continue
                }
                await self.refresh()
            }
        }
    }
}
