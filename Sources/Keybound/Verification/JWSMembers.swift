//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The members Keybound reads from a proof's and an access token's header and payload, each object scanned once.
//
// Looking members up one by one (``JSONValue/member(_:)``) rescans the object from its start for every name, and
// even one pass over the validated text scans every value again. So the validator files the root object's members
// as it validates them (``JSON/parseObject(_:maxDepth:failingWith:capturing:)``), and the wanted ones are picked
// from that table. The validator has refused duplicate member names (RFC 8259 §4, SECURITY.md C4), so each name has
// at most one value.

/// The members of a JOSE header that the checks read: a DPoP proof's (`typ`, `alg`, `crit`, `jwk`; RFC 9449 §4.2)
/// and an access token's (`typ`, `alg`, `crit`, `kid`; RFC 9068 §2.1), RFC 7515 §4.1.
struct JOSEHeaderMembers {
    let typ, alg, crit, jwk, kid: JSONValue?

    init(_ found: InlineArray<5, JSONValue?>) {
        (typ, alg, crit, jwk, kid) = (found[0], found[1], found[2], found[3], found[4])
    }

    /// Reads a header's bytes as a strict JSON object, filing these members in the same pass.
    static func read(_ bytes: ByteView, maxDepth: Int, failingWith code: KeyboundError.Code) throws(KeyboundError)
        -> JOSEHeaderMembers
    {
        Self(try JSON.parseObject(bytes, maxDepth: maxDepth, failingWith: code,
                                  capturing: ["typ", "alg", "crit", "jwk", "kid"]).members)
    }
}

/// The claims of a DPoP proof that the checks read (RFC 9449 §4.2).
struct ProofClaimMembers {
    let jti, htm, htu, iat, ath, nonce: JSONValue?

    init(_ found: InlineArray<6, JSONValue?>) {
        (jti, htm, htu, iat, ath, nonce) = (found[0], found[1], found[2], found[3], found[4], found[5])
    }

    /// Reads a payload's bytes as a strict JSON object, filing these claims in the same pass.
    static func read(_ bytes: ByteView, maxDepth: Int, failingWith code: KeyboundError.Code) throws(KeyboundError)
        -> ProofClaimMembers
    {
        Self(try JSON.parseObject(bytes, maxDepth: maxDepth, failingWith: code,
                                  capturing: ["jti", "htm", "htu", "iat", "ath", "nonce"]).members)
    }
}

/// The claims of an access token that the checks read (RFC 9068 §2.2, RFC 7519 §4.1, RFC 7800 §3.1), and the
/// whole claims object (for the policy's required claims and the cached payload).
struct TokenClaimMembers {
    let object: JSONValue
    let iss, aud, exp, nbf, iat, sub, clientID, scope, jti, cnf, authTime, acr: JSONValue?

    /// Reads a payload's bytes as a strict JSON object, filing these claims in the same pass.
    static func read(_ bytes: ByteView, maxDepth: Int, failingWith code: KeyboundError.Code) throws(KeyboundError)
        -> TokenClaimMembers
    {
        let (object, found) = try JSON.parseObject(
            bytes, maxDepth: maxDepth, failingWith: code,
            capturing: ["iss", "aud", "exp", "nbf", "iat", "sub", "client_id", "scope", "jti", "cnf", "auth_time", "acr"])
        return TokenClaimMembers(object: object, found)
    }

    private init(object: JSONValue, _ found: InlineArray<12, JSONValue?>) {
        self.object = object
        (iss, aud, exp, nbf, iat, sub, clientID, scope, jti, cnf, authTime, acr) = (
            found[0], found[1], found[2], found[3], found[4], found[5], found[6], found[7], found[8], found[9],
            found[10], found[11]
        )
    }
}
