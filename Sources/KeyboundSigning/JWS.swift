//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound

/// Compact JWS serialisation (RFC 7515 §7.1).
public enum JWS {
    /// Signs `payloadJSON` under `headerJSON` with `key`.
    ///
    /// The texts are used exactly as given (their UTF-8 bytes are encoded), so tests can build any header or payload,
    /// valid or not. The header should name `key.algorithm` in its `alg`.
    ///
    /// - Returns: `base64url(header) "." base64url(payload) "." base64url(signature)`.
    public static func compact(headerJSON: String, payloadJSON: String, key: SigningKey) throws(KeyboundError) -> String
    {
        let signingInput = Base64URL.encode(Array(headerJSON.utf8)) + "." + Base64URL.encode(Array(payloadJSON.utf8))
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }
}

/// The claims of a DPoP-bound JWT access token (RFC 9068 §2.2, RFC 9449 §6.1). The names are the claim names.
public struct AccessTokenClaims: Sendable {
    /// The issuer.
    public var iss: String
    /// The audiences: written as a string when there is one, as an array otherwise.
    public var aud: [String]
    /// The subject.
    public var sub: String
    /// `client_id` (RFC 9068 §2.2).
    public var clientID: String?
    /// `scope`, space-separated (RFC 9068 §2.2.3).
    public var scope: String?
    /// `cnf.jkt`: the thumbprint of the client's proof key (RFC 9449 §6.1); `nil` leaves `cnf` out.
    public var jkt: String?
    /// Issued at, Unix seconds.
    public var iat: Int64
    /// Expiry, Unix seconds; `nil` leaves it out (which verifiers refuse).
    public var exp: Int64?
    /// Not before, Unix seconds.
    public var nbf: Int64?
    /// The token's identifier.
    public var jti: String?
    /// The header's `kid`: which issuer key signed the token.
    public var kid: String?
    /// More claims, each a member name and its value as JSON text, written after the others in order.
    public var extraClaims: [ExtraClaim]

    /// A claim given as its name and its value's JSON text.
    public struct ExtraClaim: Sendable {
        public var name: String
        public var json: String
        public init(name: String, json: String) {
            self.name = name
            self.json = json
        }
    }

    public init(
        iss: String,
        aud: [String],
        sub: String,
        clientID: String? = nil,
        scope: String? = nil,
        jkt: String?,
        iat: Int64,
        exp: Int64?,
        nbf: Int64? = nil,
        jti: String? = nil,
        kid: String? = nil,
        extraClaims: [ExtraClaim] = []
    ) {
        self.iss = iss
        self.aud = aud
        self.sub = sub
        self.clientID = clientID
        self.scope = scope
        self.jkt = jkt
        self.iat = iat
        self.exp = exp
        self.nbf = nbf
        self.jti = jti
        self.kid = kid
        self.extraClaims = extraClaims
    }

    /// The payload as compact JSON, members in a fixed order.
    public var json: String {
        var writer = JSONText.ObjectWriter()
        writer.string("iss", iss)
        if aud.count == 1 {
            writer.string("aud", aud[0])
        } else {
            writer.raw("aud", "[" + aud.map(JSONText.quoted).joined(separator: ",") + "]")
        }
        writer.string("sub", sub)
        writer.string("client_id", clientID)
        writer.string("scope", scope)
        writer.integer("iat", iat)
        writer.integer("exp", exp)
        writer.integer("nbf", nbf)
        writer.string("jti", jti)
        if let jkt {
            var cnf = JSONText.ObjectWriter()
            cnf.string("jkt", jkt)
            writer.raw("cnf", cnf.finished())
        }
        for claim in extraClaims { writer.raw(claim.name, claim.json) }
        return writer.finished()
    }
}

/// Builds DPoP-bound access tokens and DPoP proofs (RFC 9449 §4, §6; RFC 9068).
public enum DPoPBuilder {
    /// An access token signed by an issuer key: header `{"typ":…,"alg":…,"kid":…}` (`typ` left out when `nil`).
    public static func accessToken(
        _ claims: AccessTokenClaims,
        key: SigningKey,
        typ: String? = "at+jwt"
    ) throws(KeyboundError) -> String {
        var header = JSONText.ObjectWriter()
        header.string("typ", typ)
        header.string("alg", key.algorithm.rawValue)
        header.string("kid", claims.kid)
        return try JWS.compact(headerJSON: header.finished(), payloadJSON: claims.json, key: key)
    }

    /// The proof header: `{"typ":"dpop+jwt","alg":…,"jwk":<public JWK>}` (RFC 9449 §4.2).
    public static func proofHeader(key: SigningKey) -> String {
        var header = JSONText.ObjectWriter()
        header.string("typ", "dpop+jwt")
        header.string("alg", key.algorithm.rawValue)
        header.raw("jwk", key.publicJWK)
        return header.finished()
    }

    /// The proof payload: `jti`, `htm`, `htu`, `iat`, then `ath` and `nonce` when given (RFC 9449 §4.2).
    public static func proofPayload(
        method: String,
        url: String,
        iat: Int64,
        jti: String,
        accessToken: String? = nil,
        nonce: String? = nil
    ) -> String {
        var payload = JSONText.ObjectWriter()
        payload.string("jti", jti)
        payload.string("htm", method)
        payload.string("htu", htu(of: url))
        payload.integer("iat", iat)
        payload.string("ath", accessToken.map(Thumbprint.accessTokenHash))
        payload.string("nonce", nonce)
        return payload.finished()
    }

    /// A DPoP proof for one request (RFC 9449 §4.2): `htu` is `url` without its query and fragment, and `ath`
    /// is the hash of `accessToken` when one is given.
    public static func proof(
        key: SigningKey, method: String, url: String, iat: Int64, jti: String,
        accessToken: String? = nil, nonce: String? = nil
    ) throws(KeyboundError) -> String {
        let payload = proofPayload(method: method, url: url, iat: iat, jti: jti, accessToken: accessToken, nonce: nonce)
        return try JWS.compact(headerJSON: proofHeader(key: key), payloadJSON: payload, key: key)
    }

    /// `url` without its query and fragment (RFC 9449 §4.2, `htu`).
    public static func htu(of url: String) -> String {
        guard let cut = url.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
            return url
        }
        return String(url[..<cut])
    }
}
