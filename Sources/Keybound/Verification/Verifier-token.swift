//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

extension Verifier {
    /// Check 5 for a JWT access token (RFC 9068, RFC 8725, RFC 9449 §6–7): from the cache when this exact token was
    /// verified under the issuer's current keys, otherwise verified in full and cached by its SHA-256.
    ///
    /// What is cached is only what does not depend on time or on the proof: the time claims, the binding and
    /// revocation are checked by ``checkTokenUse(_:clientKey:now:)`` on every request. `token.known` is the cache's
    /// entry for the token's bytes; `hash` their SHA-256; `jws` is the token split (check 2), `nil` only when the
    /// cache held an entry, in which case the same bytes split before and are split here if the entry is stale.
    func verifiedToken(_ token: PresentedToken, hash: SHA256Digest, jws: CompactJWS?, now: Int64)
        throws(KeyboundError) -> VerifiedToken
    {
        if let cached = token.known, cached.keyGeneration == cached.issuer.generation.load(ordering: .acquiring) {
            return cached
        }
        let split: CompactJWS
        if let jws {
            split = jws
        } else {
            split = try CompactJWS.split(token.bytes, maxBytes: policy.maxTokenBytes, failingWith: .tokenMalformed)
        }
        let maxDepth = policy.maxJSONDepth
        let verified = try split.withDecoded(
            failingWith: .tokenMalformed,
            header: { (bytes) throws(KeyboundError) in
                try JOSEHeaderMembers.read(bytes, maxDepth: maxDepth, failingWith: .tokenMalformed)
            },
            payload: { (bytes) throws(KeyboundError) in
                try TokenClaimMembers.read(bytes, maxDepth: maxDepth, failingWith: .tokenMalformed)
            }
        ) { (header, payload, signature) throws(KeyboundError) -> VerifiedToken in
            try verifyTokenContents(split, header: header, payload: payload, signature: signature, now: now)
        }
        hash.withByteView { tokens.insert(verified, for: $0) }
        return verified
    }

    func verifyTokenContents(
        _ jws: CompactJWS,
        header: JOSEHeaderMembers,
        payload: TokenClaimMembers,
        signature: ByteView,
        now: Int64
    ) throws(KeyboundError) -> VerifiedToken {
        let payloadBytes = payload.object.bytes
        let payloadObject = payload.object
        // Header: alg allowed, typ accepted, no crit (RFC 8725 §3.1, §3.11; RFC 9068 §4; RFC 7515 §4.1.11).
        guard let algValue = header.alg, algValue.kind == .string else {
            throw .make(.tokenAlg, "access token alg is missing or not a string")
        }
        let named: JWSAlgorithm? = algValue.withUnescapedString { JWSAlgorithm.named($0) }
        guard let alg = named, policy.tokenAlgorithms.contains(alg) else {
            throw .make(.tokenAlg, "access token alg is not allowed")
        }
        try checkTokenType(header)
        guard header.crit == nil else {
            throw .make(.tokenMalformed, "access token has a crit header Keybound does not understand")
        }
        // The issuer, from `iss`: keys are looked up per issuer (SECURITY.md D6).
        guard let iss = payload.iss else { throw .make(.tokenIssuer, "access token has no iss") }
        guard iss.kind == .string else { throw .make(.tokenClaims, "access token iss is not a string") }
        let found: IssuerState? = iss.withUnescapedString { name in
            issuers.first { issuer in ByteView.with(issuer.identifierBytes) { $0.elementsEqual(name) } }
        }
        guard let issuer = found else { throw .make(.tokenIssuer, "access token issuer is not trusted") }
        // Keys: read the generation before the set, so a rotation in between only makes this entry stale.
        let generation = issuer.generation.load(ordering: .acquiring)
        let keys = issuer.keys
        do throws(KeyboundError) {
            try Self.checkSignature(jws, alg: alg, kid: header.kid, signature: signature, keys: keys)
        } catch {
            if error.code == .tokenKidUnknown { reportKeyMiss(issuer, kid: header.kid, now: now) }
            throw error
        }
        // Claims (RFC 7519 §4.1, RFC 9068 §2.2, RFC 7800 §3.1).
        try checkAudience(payload, issuer: issuer)
        var claims = VerifiedToken.Claims()
        guard let expValue = payload.exp else { throw .make(.tokenClaims, "access token has no exp") }
        guard let exp = expValue.numericDate() else { throw .make(.tokenClaims, "access token exp is not a NumericDate") }
        claims.expiresAt = exp
        claims.notBefore = try optionalDate(payload.nbf, "access token nbf is not a NumericDate")
        claims.issuedAt = try optionalDate(payload.iat, "access token iat is not a NumericDate")
        claims.authTime = try optionalDate(payload.authTime, "access token auth_time is not a NumericDate")
        claims.subject = try optionalString(payload.sub)
        claims.clientID = try optionalString(payload.clientID)
        claims.scope = try optionalString(payload.scope)
        claims.tokenID = try optionalString(payload.jti)
        claims.acr = try optionalString(payload.acr)
        try checkClaimRules(payloadObject, clientID: claims.clientID)
        // The binding (RFC 9449 §6.1): a token without `cnf.jkt` is refused on every DPoP request (311, in
        // `checkTokenUse`); in Bearer migration mode a token without `cnf` may be used as a Bearer token.
        if let cnf = payload.cnf {
            guard cnf.kind == .object else { throw .make(.tokenClaims, "access token cnf is not an object") }
            claims.hasConfirmation = true
            if let jkt = cnf.member("jkt"), jkt.kind == .string {
                claims.boundJKT = jkt.withUnescapedString { $0.copyToArray() }
            }
        }
        return VerifiedToken(issuer: issuer, keyGeneration: generation, payload: payloadBytes.copyToArray(),
                             claims: claims)
    }

    /// The policy's claim rules (docs/design.md "Contracts → Claim rules"): every required claim present, and the
    /// `client_id` one of the allowed ones. Both are 310 `token_claims`, the reason naming the claim; the names come
    /// from the configuration, never from the token.
    func checkClaimRules(_ payload: JSONValue, clientID: String?) throws(KeyboundError) {
        for name in policy.requiredClaims {
            let present = ByteView.with(utf8: name) { wanted in
                var found = false
                payload.forEachMember { key, _ in if !found && key.stringEquals(wanted) { found = true } }
                return found
            }
            guard present else { throw .make(.tokenClaims, "access token has no \(name) claim") }
        }
        if let allowed = policy.allowedClientIDs {
            guard let clientID else { throw .make(.tokenClaims, "access token has no client_id claim") }
            guard allowed.contains(clientID) else {
                throw .make(.tokenClaims, "access token client_id claim is not an allowed client")
            }
        }
    }

    func optionalDate(_ value: JSONValue?, _ reason: String) throws(KeyboundError) -> Double? {
        guard let value else { return nil }
        guard let date = value.numericDate() else { throw .make(.tokenClaims, reason) }
        return date
    }

    /// The signature of a JWS under an issuer's keys: the key is found by the header's `kid` (exact bytes; without a
    /// `kid`, only in a one-key set), must agree with `alg` in type, curve and any declared `alg`, and must verify the
    /// signature over the original signing input. Key material named in the header (`jwk`, `jku`, `x5u`, `x5c`) is
    /// never used (RFC 8725 §3.10; SECURITY.md A4, A6).
    ///
    /// - Throws: `.tokenKidUnknown`, `.tokenKeyMismatch` or `.tokenSignature`.
    static func checkSignature(
        _ jws: CompactJWS,
        alg: JWSAlgorithm,
        kid: JSONValue?,
        signature: ByteView,
        keys: JWKSet
    ) throws(KeyboundError) {
        let entry: JWKSet.Entry?
        if let kid {
            entry = kid.kind == .string ? kid.withUnescapedString { keys.entry(forKid: $0) } : nil
        } else {
            entry = keys.entry(forKid: nil)
        }
        guard let entry else { throw .make(.tokenKidUnknown, "no issuer key for the access token kid") }
        guard entry.key.supports(alg), entry.algorithm == nil || entry.algorithm == alg else {
            throw .make(.tokenKeyMismatch, "access token alg disagrees with the issuer key")
        }
        guard try SignatureVerifier.verify(alg, key: entry.key, signingInput: jws.signingInput, signature: signature)
        else { throw .make(.tokenSignature, "access token signature is not valid") }
    }

    /// `typ` of an access token: `at+jwt` or `application/at+jwt` always; `JWT` or none unless strict; never
    /// anything else (RFC 9068 §4, RFC 8725 §3.11). Compared exactly.
    func checkTokenType(_ header: JOSEHeaderMembers) throws(KeyboundError) {
        guard let typ = header.typ else {
            if policy.strictTokenType { throw .make(.tokenTyp, "access token has no typ") }
            return
        }
        if typ.stringEquals("at+jwt") || typ.stringEquals("application/at+jwt") { return }
        if !policy.strictTokenType && typ.stringEquals("JWT") { return }
        throw .make(.tokenTyp, "access token typ is not accepted")
    }

    /// `aud`: a string or an array of strings, one of which this server accepts from this issuer (RFC 7519 §4.1.3).
    func checkAudience(_ payload: TokenClaimMembers, issuer: IssuerState) throws(KeyboundError) {
        guard let aud = payload.aud else { throw .make(.tokenAudience, "access token has no aud") }
        func accepted(_ value: JSONValue) -> Bool {
            value.withUnescapedString { name in
                issuer.audiences.contains { expected in ByteView.with(expected) { $0.elementsEqual(name) } }
            }
        }
        switch aud.kind {
        case .string:
            guard accepted(aud) else { throw .make(.tokenAudience, "access token audience is not accepted") }
        case .array:
            var match = false
            var wrongType = false
            aud.forEachElement { element in
                if element.kind != .string {
                    wrongType = true
                } else if accepted(element) {
                    match = true
                }
            }
            if wrongType { throw .make(.tokenClaims, "access token aud holds a non-string") }
            guard match else { throw .make(.tokenAudience, "access token audience is not accepted") }
        default:
            throw .make(.tokenClaims, "access token aud is not a string or an array")
        }
    }

    func optionalString(_ value: JSONValue?) throws(KeyboundError) -> String? {
        guard let value else { return nil }
        guard value.kind == .string else { throw .make(.tokenClaims, "access token claim is not a string") }
        return value.stringValue()
    }

    /// The per-request part of check 5: time claims with skew, the binding to the proof key, and revocation,
    /// whether the token came from the cache or not.
    func checkTokenUse(_ token: VerifiedToken, clientKey: ClientKey, now: Int64) throws(KeyboundError) {
        guard token.hasConfirmation else { throw .make(.tokenBinding, "access token has no cnf") }
        guard let boundJKT = token.boundJKT else { throw .make(.tokenBinding, "access token has no cnf.jkt") }
        try checkTokenTimes(token, now: now)
        let bound = ByteView.with(boundJKT) { boundJKT in
            ByteView.with(clientKey.jktBytes) { constantTimeEquals(boundJKT, $0) }
        }
        guard bound else { throw .make(.tokenBinding, "Invalid DPoP key binding") }
        try checkTokenNotRevoked(token, now: now)
        try checkKeyNotRevoked(clientKey, now: now)
    }

    /// `exp` and `nbf` with skew (docs/design.md "Contracts → Time edges").
    func checkTokenTimes(_ token: VerifiedToken, now: Int64) throws(KeyboundError) {
        let current = Double(now)
        let skew = Double(policy.clockSkewSeconds)
        guard current < token.expiresAt + skew else { throw .make(.tokenExpired, "access token has expired") }
        if let nbf = token.notBefore, nbf > current + skew {
            throw .make(.tokenNotYetValid, "access token is not yet valid")
        }
    }

    func checkTokenNotRevoked(_ token: VerifiedToken, now: Int64) throws(KeyboundError) {
        if let tokenID = token.tokenIDBytes,
            ByteView.with(tokenID, { revocations.isRevoked(.token, $0, now: now) })
        {
            throw .make(.tokenRevoked, "access token has been revoked")
        }
    }

    func checkKeyNotRevoked(_ clientKey: ClientKey, now: Int64) throws(KeyboundError) {
        if ByteView.with(clientKey.jktBytes, { revocations.isRevoked(.key, $0, now: now) }) {
            throw .make(.keyRevoked, "the bound client key has been revoked")
        }
    }

    /// Tells the host, at most once per interval per issuer, that a token named a key it lacks.
    func reportKeyMiss(_ issuer: IssuerState, kid: JSONValue?, now: Int64) {
        guard let onKeyMiss, issuer.claimKeyMissSlot(now: now, interval: policy.keyMissIntervalSeconds) else { return }
        let kidString = kid.flatMap { $0.kind == .string ? $0.stringValue() : nil }
        onKeyMiss(KeyMiss(issuer: issuer.identifier, kid: kidString))
    }
}
