//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// What a resource server received: the method, the URL as it sees it, and the two authorization headers.
public struct DPoPRequest: Sendable {
    /// The HTTP method, case-sensitive (RFC 9110 §9.1).
    public var method: String
    /// The request URL: absolute (`https://host/path?query`), or, when the policy has an external base URL, the
    /// origin-form path (`/path?query`).
    public var url: String
    /// The `Authorization` header value, or `nil` when absent.
    public var authorization: String?
    /// Every `DPoP` header value, in order (empty when absent).
    public var dpop: [String]

    public init(method: String, url: String, authorization: String?, dpop: [String]) {
        self.method = method
        self.url = url
        self.authorization = authorization
        self.dpop = dpop
    }
}
