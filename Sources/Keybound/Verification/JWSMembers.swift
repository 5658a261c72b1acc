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

/// The members of a DPoP proof's JOSE header that the checks read (RFC 9449 §4.2, RFC 7515 §4.1).
struct ProofHeaderMembers {
    var typ: JSONValue? = nil
    var alg: JSONValue? = nil
    var crit: JSONValue? = nil
    var jwk: JSONValue? = nil

    init(_ header: JSONValue) {
        header.forEachMember { name, value in
            if name.stringEquals("typ") {
                typ = value
            } else if name.stringEquals("alg") {
                alg = value
            } else if name.stringEquals("jwk") {
                jwk = value
            } else if name.stringEquals("crit") {
                crit = value
            }
        }
    }
}

/// The claims of a DPoP proof that the checks read (RFC 9449 §4.2).
struct ProofClaimMembers {
    var jti: JSONValue? = nil
    var htm: JSONValue? = nil
    var htu: JSONValue? = nil
    var iat: JSONValue? = nil
    var ath: JSONValue? = nil
    var nonce: JSONValue? = nil

    init(_ payload: JSONValue) {
        payload.forEachMember { name, value in
            if name.stringEquals("jti") {
                jti = value
            } else if name.stringEquals("htm") {
                htm = value
            } else if name.stringEquals("htu") {
                htu = value
            } else if name.stringEquals("iat") {
                iat = value
            } else if name.stringEquals("ath") {
                ath = value
            } else if name.stringEquals("nonce") {
                nonce = value
            }
        }
    }
}

/// The members of an access token's JOSE header that the checks read (RFC 9068 §2.1, RFC 7515 §4.1).
struct TokenHeaderMembers {
    var alg: JSONValue? = nil
    var typ: JSONValue? = nil
    var kid: JSONValue? = nil
    var crit: JSONValue? = nil

    init(_ header: JSONValue) {
        header.forEachMember { name, value in
            if name.stringEquals("alg") {
                alg = value
            } else if name.stringEquals("typ") {
                typ = value
            } else if name.stringEquals("kid") {
                kid = value
            } else if name.stringEquals("crit") {
                crit = value
            }
        }
    }
}

/// The claims of an access token that the checks read (RFC 9068 §2.2, RFC 7519 §4.1, RFC 7800 §3.1).
struct TokenClaimMembers {
    var iss: JSONValue? = nil
    var aud: JSONValue? = nil
    var exp: JSONValue? = nil
    var nbf: JSONValue? = nil
    var iat: JSONValue? = nil
    var sub: JSONValue? = nil
    var clientID: JSONValue? = nil
    var scope: JSONValue? = nil
    var jti: JSONValue? = nil
    var cnf: JSONValue? = nil
    var authTime: JSONValue? = nil
    var acr: JSONValue? = nil

    init(_ payload: JSONValue) {
        payload.forEachMember { name, value in
            if name.stringEquals("iss") {
                iss = value
            } else if name.stringEquals("aud") {
                aud = value
            } else if name.stringEquals("exp") {
                exp = value
            } else if name.stringEquals("nbf") {
                nbf = value
            } else if name.stringEquals("iat") {
                iat = value
            } else if name.stringEquals("sub") {
                sub = value
            } else if name.stringEquals("client_id") {
                clientID = value
            } else if name.stringEquals("scope") {
                scope = value
            } else if name.stringEquals("jti") {
                jti = value
            } else if name.stringEquals("cnf") {
                cnf = value
            } else if name.stringEquals("auth_time") {
                authTime = value
            } else if name.stringEquals("acr") {
                acr = value
            }
        }
    }
}
