//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import Keybound
public import Logging

/// One route's verification, the same for every framework: the verifier, where the request URL comes from, the
/// mode, the route's per-request requirements (scopes, RFC 9470 step-up) and the clock. A framework hands over the
/// request's method, target and header values and gets the ``VerifiedRequest`` back, or a ``Refusal`` that has
/// already been logged.
public struct RequestCheck: Sendable {
    public let verifier: Verifier
    public let urlSource: RequestURLSource
    public let mode: VerificationMode
    public let requirements: Requirements
    public let now: @Sendable () -> Int64

    /// The current Unix time in whole seconds, from the system clock.
    public static let wallClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// - Parameters:
    ///   - verifier: the server's verifier, shared by every route and thread.
    ///   - urlSource: where the URL for the `htu` check comes from (see ``RequestURLSource``).
    ///   - mode: `.resource` for APIs, `.tokenEndpoint` for a token endpoint's DPoP proof.
    ///   - requirements: what this route needs beyond a valid bound token: scopes (315) and RFC 9470 step-up
    ///     (`maxAge`, `acrValues`: 314 `insufficient_user_authentication`, with `max_age` / `acr_values` in the
    ///     challenge).
    ///   - now: the current time in Unix seconds (the wall clock unless a test supplies its own).
    public init(
        verifier: Verifier,
        urlSource: RequestURLSource,
        mode: VerificationMode = .resource,
        requirements: Requirements = .none,
        now: @escaping @Sendable () -> Int64 = RequestCheck.wallClock
    ) {
        self.verifier = verifier
        self.urlSource = urlSource
        self.mode = mode
        self.requirements = requirements
        self.now = now
    }

    /// Verifies through the verifier's `async` entry point, so a network replay store (``AsyncReplayStore``)
    /// suspends the request's task instead of blocking an event-loop thread. A refusal is logged at debug level
    /// (``Refusal/log(to:)``) before it is thrown.
    ///
    /// - Parameters:
    ///   - method: the request method.
    ///   - url: the target and the headers the URL may come from.
    ///   - authorizations: every `Authorization` value (more than one is refused).
    ///   - dpop: every `DPoP` value, as received.
    ///   - logger: the request's logger.
    public func verify(
        method: String, url: RequestURLParts, authorizations: [String], dpop: [String], logger: Logger
    ) async throws(Refusal) -> VerifiedRequest {
        let time = now()
        do throws(KeyboundError) {
            let request = try request(method: method, url: url, authorizations: authorizations, dpop: dpop)
            return try await verifier.verify(request, mode: mode, requirements: requirements, now: time)
        } catch {
            throw refused(error, logger: logger)
        }
    }

    /// The same verification through the verifier's synchronous entry point, for a verifier whose replay store
    /// answers in process (an ``AsyncReplayStore`` makes it refuse with 500 `invalid_configuration`): nothing
    /// suspends, so a server may run it on the thread that read the request.
    public func verifySynchronously(
        method: String, url: RequestURLParts, authorizations: [String], dpop: [String], logger: Logger
    ) throws(Refusal) -> VerifiedRequest {
        let time = now()
        do throws(KeyboundError) {
            let request = try request(method: method, url: url, authorizations: authorizations, dpop: dpop)
            return try verifier.verify(request, mode: mode, requirements: requirements, now: time)
        } catch {
            throw refused(error, logger: logger)
        }
    }

    /// The request to verify; more than one `Authorization` value is refused.
    func request(
        method: String, url: RequestURLParts, authorizations: [String], dpop: [String]
    ) throws(KeyboundError) -> DPoPRequest {
        guard authorizations.count <= 1 else {
            throw KeyboundError(.malformedAuthorization, reason: "more than one Authorization value")
        }
        return DPoPRequest(
            method: method, url: try url.url(from: urlSource), authorization: authorizations.first, dpop: dpop)
    }

    /// The refusal for `error`, logged at debug level.
    func refused(_ error: KeyboundError, logger: Logger) -> Refusal {
        let refusal = Refusal(error, verifier: verifier, tokenEndpoint: mode == .tokenEndpoint)
        refusal.log(to: logger)
        return refusal
    }
}
