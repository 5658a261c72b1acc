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
import IntegrationsTestSupport
import KeyboundSigning

extension Fixture {
    /// `Authorization: DPoP …` and `DPoP: …` header fields.
    static func headers(token: String?, proofs: [String], scheme: String = "DPoP") -> HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "\(scheme) \(token)" }
        for proof in proofs { fields.append(HTTPField(name: HTTPField.Name("DPoP")!, value: proof)) }
        return fields
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The refusal's `code` member, from the middleware's JSON body.
    var code: String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return nil
        }
        return object["code"] as? String
    }
}
