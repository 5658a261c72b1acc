//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The members Keybound reads from a proof's and an access token's header and payload, each object scanned once.
//
// Looking members up one by one (``JSONValue/member(_:)``) rescans the object from its start for every name: with
// a `jwk` of ~200 bytes in the proof header and six claims in its payload, that was a fifth of Keybound's own work
// per warm request. One pass that files every wanted member as it goes costs one scan per object. The validator has
// refused duplicate member names (RFC 8259 §4, SECURITY.md C4), so the first match is the only one.

/// The members of a JOSE header that the checks read: a DPoP proof's (`typ`, `alg`, `crit`, `jwk`; RFC 9449 §4.2)
/// and an access token's (`typ`, `alg`, `crit`, `kid`; RFC 9068 §2.1), RFC 7515 §4.1.
struct JOSEHeaderMembers {
    let typ, alg, crit, jwk, kid: JSONValue?

    init(_ header: JSONValue) {
        let found = header.members(named: ["typ", "alg", "crit", "jwk", "kid"])
        (typ, alg, crit, jwk, kid) = (found[0], found[1], found[2], found[3], found[4])
    }
}

/// The claims of a DPoP proof that the checks read (RFC 9449 §4.2).
struct ProofClaimMembers {
    let jti, htm, htu, iat, ath, nonce: JSONValue?

    init(_ payload: JSONValue) {
        let found = payload.members(named: ["jti", "htm", "htu", "iat", "ath", "nonce"])
        (jti, htm, htu, iat, ath, nonce) = (found[0], found[1], found[2], found[3], found[4], found[5])
    }
}

/// The claims of an access token that the checks read (RFC 9068 §2.2, RFC 7519 §4.1, RFC 7800 §3.1).
struct TokenClaimMembers {
    let iss, aud, exp, nbf, iat, sub, clientID, scope, jti, cnf, authTime, acr: JSONValue?

    init(_ payload: JSONValue) {
        let found = payload.members(
            named: ["iss", "aud", "exp", "nbf", "iat", "sub", "client_id", "scope", "jti", "cnf", "auth_time", "acr"])
        (iss, aud, exp, nbf, iat, sub, clientID, scope, jti, cnf, authTime, acr) = (
            found[0], found[1], found[2], found[3], found[4], found[5], found[6], found[7], found[8], found[9],
            found[10], found[11]
        )
    }
}

extension JSONValue {
    /// The values of an object's members named `names`, each at its name's index (`nil` where the object has no
    /// such member), found in one pass over the object. Names compare byte for byte after unescaping.
    func members<let count: Int>(named names: InlineArray<count, StaticString>) -> InlineArray<count, JSONValue?> {
        var found = InlineArray<count, JSONValue?>(repeating: nil)
        forEachMember { name, value in
            for index in names.indices where name.stringEquals(names[index]) {
                found[index] = value
                return
            }
        }
        return found
    }
}
