//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A URL Keybound may fetch keys from: `https`, or `http` to a loopback host when the host allows it.
struct RemoteURL: Sendable {
    /// `scheme://authority`, as written (lowercased scheme).
    let origin: String
    /// The path as written, possibly empty.
    let path: String
    let hasQueryOrFragment: Bool
    let text: String

    /// Loopback host names (IPv6 as it appears between brackets, lowercased).
    static let loopbackHosts: Set<String> = ["127.0.0.1", "::1", "localhost"]

    init(_ text: String, allowLoopbackHTTP: Bool) throws(RemoteKeysError) {
        guard let separator = text.range(of: "://") else {
            throw RemoteKeysError(.invalidURL, "not an absolute URL: \(text)")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@"), !text.contains(where: { $0.isWhitespace }) else {
            throw RemoteKeysError(.invalidURL, "no host, or credentials in the URL: \(text)")
        }
        let host = Self.host(of: authority)
        switch scheme {
        case "https": break
        case "http" where allowLoopbackHTTP && Self.loopbackHosts.contains(host): break
        case "http":
            throw RemoteKeysError(
                .insecureURL,
                allowLoopbackHTTP
                    ? "http is allowed to a loopback host only: \(text)" : "keys are fetched over https only: \(text)")
        default:
            throw RemoteKeysError(.insecureURL, "keys are fetched over https only: \(text)")
        }
        let tail = rest[authorityEnd...]
        let pathEnd = tail.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? tail.endIndex
        origin = scheme + "://" + authority
        path = String(tail[..<pathEnd])
        hasQueryOrFragment = pathEnd != tail.endIndex
        self.text = text
    }

    /// The host of an authority, lowercased: between the brackets of an IPv6 literal, else before the port.
    static func host(of authority: Substring) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return authority[authority.index(after: authority.startIndex)..<close].lowercased()
        }
        return (authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .lowercased()
    }
}
