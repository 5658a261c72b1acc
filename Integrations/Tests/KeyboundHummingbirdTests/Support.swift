//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntegrationsTestSupport
import Keybound
import KeyboundSigning
import Testing

extension Fixture {
    /// `Authorization: DPoP …` and `DPoP: …` header fields.
    static func headers(token: String?, proofs: [String], scheme: String = "DPoP") -> HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "\(scheme) \(token)" }
        for proof in proofs { fields.append(HTTPField(name: HTTPField.Name("DPoP")!, value: proof)) }
        return fields
    }
}

extension TestClientProtocol {
    /// Sends `method path` with `Authorization: <scheme> token` (when given) and one `DPoP` field per proof.
    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String?, proofs: [String], scheme: String = "DPoP"
    ) async throws -> TestResponse {
        let headers = Fixture.headers(token: token, proofs: proofs, scheme: scheme)
        return try await execute(uri: path, method: method, headers: headers)
    }

    /// Sends `method path` with the token and a new proof for the audience's origin + `path`.
    func sendProved(_ method: HTTPRequest.Method, _ path: String, token: String, fixture: Fixture) async throws
        -> TestResponse
    {
        let proof = try fixture.proof(method.rawValue, Fixture.audience + path, token: token)
        return try await send(method, path, token: token, proofs: [proof])
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// Expects a refusal: the HTTP status and the body's `code`.
    func expectRefusal(
        _ status: HTTPResponse.Status, _ code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(self.status == status, sourceLocation: sourceLocation)
        #expect(self.code == code, sourceLocation: sourceLocation)
    }

    /// The refusal's `code` member, from the middleware's JSON body.
    var code: String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return nil
        }
        return object["code"] as? String
    }
}
