//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound

/// Where an integration takes the request URL that a proof's `htu` must match (RFC 9449 §4.3 check 9).
///
/// A server behind a proxy does not see the URL the client used, and `Host` or `X-Forwarded-*` headers are whatever
/// the client (or anyone on the path) chose to send. The safe choice is ``externalBaseURL(_:)``: the operator names
/// the public origin once, and only the request's path and query come from the request.
public enum RequestURLSource: Sendable, Hashable {
    /// The configured public base URL (`https://api.example.com`, optionally with a path prefix), followed by the
    /// request's path and query. The `Host` and forwarded headers are ignored.
    case externalBaseURL(String)
    /// The request's path and query alone, for a verifier whose ``VerifierPolicy/externalBaseURL`` is set.
    case originForm
    /// Scheme and host from `X-Forwarded-Proto` and `X-Forwarded-Host` (first value), falling back to `scheme` and
    /// the `Host` header. Use only behind a proxy that overwrites these headers on every request: a client that can
    /// set them can make the server accept a proof minted for another origin.
    case trustedForwardedHeaders(defaultScheme: String)
}

/// What a framework hands over to build the request URL: the request target as it arrived and, read only for
/// ``RequestURLSource/trustedForwardedHeaders(defaultScheme:)``, the host and forwarding headers.
public struct RequestURLParts: Sendable {
    /// The request target's path and query, percent-encoded as the client sent them (never a decoded path).
    public var target: String
    /// The `Host` header or HTTP/2 `:authority`.
    public var authority: String?
    /// The `X-Forwarded-Proto` header.
    public var forwardedProto: String?
    /// The `X-Forwarded-Host` header.
    public var forwardedHost: String?

    public init(target: String, authority: String?, forwardedProto: String?, forwardedHost: String?) {
        self.target = target
        self.authority = authority
        self.forwardedProto = forwardedProto
        self.forwardedHost = forwardedHost
    }

    /// The request URL for the `htu` comparison: never the `Host` header unless the operator trusts it.
    public func url(from source: RequestURLSource) throws(KeyboundError) -> String {
        switch source {
        case .externalBaseURL(let base):
            return (base.hasSuffix("/") ? String(base.dropLast()) : base) + target
        case .originForm:
            return target
        case .trustedForwardedHeaders(let defaultScheme):
            let scheme = Self.firstValue(forwardedProto) ?? defaultScheme
            guard let host = Self.firstValue(forwardedHost) ?? authority else {
                throw KeyboundError(.proofHTU, reason: "the request has no host to build its URL from")
            }
            return scheme + "://" + host + target
        }
    }

    /// The first comma-separated value of a header, trimmed; `nil` when there is none.
    static func firstValue(_ header: String?) -> String? {
        guard let header, let first = header.split(separator: ",", maxSplits: 1).first else { return nil }
        let trimmed = first.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return trimmed.isEmpty ? nil : String(trimmed)
    }
}
