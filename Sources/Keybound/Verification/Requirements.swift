//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// What one request needs from its access token beyond a valid, bound token: scopes (RFC 6750 §3.1) and step-up
/// authentication (RFC 9470). An argument of each verification, not verifier state, so one ``Verifier`` serves every
/// route: `verifier.verify(request, requirements: Requirements(scopes: ["orders:write"], maxAge: 300))`.
///
/// Checked after every signature check and before the replay insert (docs/design.md "The checks", check 7), on JWT
/// access tokens only (resource mode, and Bearer requests in migration mode):
/// - ``maxAge``: the token's `auth_time` must be at most this many seconds old (`now − auth_time ≤ maxAge + skew`); a
///   token without `auth_time` fails, unless ``VerifierPolicy/authTimeFromIAT`` lets its `iat` stand in. Failure:
///   314 `insufficient_user_authentication`, with `max_age` in the challenge.
/// - ``acrValues``: the token's `acr` must be one of them. Failure: 314, with `acr_values` in the challenge.
/// - ``scopes``: the token's `scope` (space-separated) must hold every one. Failure: 315 `insufficient_scope` (HTTP
///   403), with `scope` in the challenge.
///
/// 314 is checked before 315. The empty value, ``none``, checks nothing and costs nothing.
public struct Requirements: Sendable, Hashable {
    /// Scopes the token must hold, all of them (exact, case-sensitive tokens; RFC 6749 §3.3).
    public var scopes: [String]
    /// The most seconds since the user's authentication (`auth_time`), RFC 9470 `max_age`; `nil` for no limit.
    public var maxAge: Int64?
    /// Acceptable authentication context classes (`acr`), any one of them; empty for no requirement.
    public var acrValues: [String]

    public init(scopes: [String] = [], maxAge: Int64? = nil, acrValues: [String] = []) {
        self.scopes = scopes
        self.maxAge = maxAge
        self.acrValues = acrValues
    }

    /// No requirement: the default of every verification.
    public static let none = Requirements()

    /// True when nothing is required.
    public var isEmpty: Bool { scopes.isEmpty && maxAge == nil && acrValues.isEmpty }

    /// True when the step-up part (``maxAge``, ``acrValues``) requires something.
    var requiresStepUp: Bool { maxAge != nil || !acrValues.isEmpty }
}
