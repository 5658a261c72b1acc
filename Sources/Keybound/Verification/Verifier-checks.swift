//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Everything verified about a request except the replay check, which comes last.
struct Checked {
    /// The proof key; `nil` for a Bearer request (migration mode), which has no proof.
    let clientKey: ClientKey?
    let token: VerifiedToken?
    let proofJTI: ProofJTI?
    /// The proof's replay key and when its entry expires; no key for a Bearer request: there is no proof, so nothing
    /// is recorded.
    let replayKey: ReplayKey?, replayExpiresAt: Int64
    /// The proof's encoded header and what check 3 made of it, when it was checked for this request and may enter
    /// the proof-key cache once the whole request has verified (resource and opaque-token modes only); `nil`
    /// otherwise.
    let admissibleHeader: (encoded: [UInt8], checked: CheckedProofHeader)?
}

/// The access token of a DPoP request as check 1 found it.
struct PresentedToken {
    /// The token's bytes: the rest of the `Authorization` value after `DPoP `.
    let bytes: ByteView
    /// SHA-256 of ``bytes`` when the token cache was consulted (`ath` is its base64url, and the cache is keyed by
    /// it); otherwise `nil`, and ``digest(with:)`` computes it when check 4 needs it.
    let hash: SHA256Digest?
    /// The token cache's entry for these exact bytes, if any (looked up once, whatever its key generation). An entry
    /// exists only for bytes that passed check 1 and 2 on an earlier request (docs/design.md "Token cache key").
    let known: VerifiedToken?

    /// SHA-256 of the token's bytes, computed once.
    func digest(with backend: CryptoBackend) throws(KeyboundError) -> SHA256Digest {
        if let hash { return hash }
        return try backend.sha256(bytes)
    }
}

/// What the proof checks need to know of the request besides the proof: its mode, method, canonical URL,
/// requirements and time.
struct ProofRequest {
    let mode: VerificationMode
    let method: ByteView
    let url: ByteView
    let requirements: Requirements
    let now: Int64
}

extension Verifier {
    /// Runs checks 1–6 of docs/design.md "The checks" and computes the replay key (check 7 is the caller's).
    func check(_ request: DPoPRequest, mode: VerificationMode, requirements: Requirements, now: Int64)
        throws(KeyboundError) -> Checked
    {
        try ByteView.with(utf8: request.method) { (method) throws(KeyboundError) -> Checked in
            try ByteView.with(utf8: request.url) { (url) throws(KeyboundError) -> Checked in
                try Self.withOptionalView(request.authorization) { (authorization) throws(KeyboundError) -> Checked in
                    try Self.withOptionalView(request.dpop.first) { (firstProof) throws(KeyboundError) -> Checked in
                        try check(method: method, url: url, authorization: authorization, dpopCount: request.dpop.count,
                                  firstProof: firstProof, mode: mode, requirements: requirements, now: now)
                    }
                }
            }
        }
    }

    /// Checks 1–6 over borrowed bytes (the request as the C skin receives it, or a ``DPoPRequest``'s UTF-8).
    func check(
        method: ByteView,
        url: ByteView,
        authorization: ByteView?,
        dpopCount: Int,
        firstProof: ByteView?,
        mode: VerificationMode,
        requirements: Requirements,
        now: Int64
    ) throws(KeyboundError) -> Checked {
        if !requirements.isEmpty && mode != .resource {
            throw .make(.invalidConfiguration, "requirements apply to JWT access tokens (resource mode) only")
        }
        // 1. Headers: `Authorization: DPoP <token68>` (not in token-endpoint mode), then exactly one DPoP value.
        let wantsToken = mode != .tokenEndpoint
        if wantsToken {
            guard let authorization, !authorization.isEmpty else {
                throw .make(.missingAuthorization, "no Authorization value")
            }
            // Bearer migration mode (RFC 9449 §7.2): `Authorization: Bearer` is read as a Bearer credential, never
            // as a DPoP one; with the mode off it stays 101 below.
            if policy.allowBearer, AuthorizationHeader.hasBearerScheme(authorization) {
                return try checkBearer(authorization, dpopCount: dpopCount, mode: mode, requirements: requirements,
                                       now: now)
            }
        }
        // A present value, even an empty one or two proofs folded into one line by a proxy, is parsed as one JWS and
        // refused as malformed (RFC 9449 §4.3 check 2).
        guard let proofBytes = firstProof else {
            // The scheme is decided first (RFC 6750 §3.1): another scheme without a DPoP header is 101, answered with
            // a bare challenge, not 103. The token endpoint ignores Authorization (clients authenticate there).
            if wantsToken, let authorization {
                _ = try AuthorizationHeader.dpopToken(in: authorization, maxTokenBytes: policy.maxTokenBytes)
            }
            throw .make(.missingDPoPProof, "no DPoP value")
        }
        guard dpopCount == 1 else { throw .make(.multipleDPoPProofs, "more than one DPoP header value") }
        let looksUpToken = mode == .resource && proofBytes.count <= policy.maxProofBytes
        return try withPresentedToken(authorization, wanted: wantsToken, cached: looksUpToken) {
            (token) throws(KeyboundError) -> Checked in
            try withCanonicalRequestURL(url) { (requestURL) throws(KeyboundError) -> Checked in
                try checkProof(proofBytes, token: token, mode: mode, method: method,
                               requestURL: requestURL, requirements: requirements, now: now)
            }
        }
    }

    /// Checks a Bearer request in migration mode (docs/design.md "Contracts → Bearer migration mode"): no `DPoP`
    /// header (else 102), a token68 after `Bearer`, then check 5 without the binding: a token with `cnf` is 316, and
    /// so is any token in opaque-token mode (the host said it is bound); then `exp`/`nbf`, token revocation, and the
    /// request's requirements (check 7). There is no proof, so there is no replay key. Every error it throws is
    /// marked as a Bearer failure, so the challenge puts its attributes on the Bearer scheme.
    func checkBearer(
        _ authorization: ByteView,
        dpopCount: Int,
        mode: VerificationMode,
        requirements: Requirements,
        now: Int64
    ) throws(KeyboundError) -> Checked {
        do throws(KeyboundError) {
            guard dpopCount == 0 else {
                throw .make(.malformedAuthorization, "a Bearer request carries a DPoP header")
            }
            let range = try AuthorizationHeader.bearerToken(in: authorization, maxTokenBytes: policy.maxTokenBytes)
            guard mode == .resource else {
                throw .make(.boundTokenAsBearer, "a DPoP-bound access token was sent with the Bearer scheme")
            }
            let presented = try presentedToken(authorization[range])
            let jws = try CompactJWS.split(presented.bytes, maxBytes: policy.maxTokenBytes,
                                           failingWith: .tokenMalformed)
            let token = try verifiedToken(presented, hash: try presented.digest(with: backend), jws: jws, now: now)
            guard !token.hasConfirmation else {
                throw .make(.boundTokenAsBearer, "a DPoP-bound access token was sent with the Bearer scheme")
            }
            try checkTokenTimes(token, now: now)
            try checkTokenNotRevoked(token, now: now)
            if !requirements.isEmpty { try checkRequirements(requirements, token: token, now: now) }
            return Checked(clientKey: nil, token: token, proofJTI: nil, replayKey: nil, replayExpiresAt: 0,
                           admissibleHeader: nil)
        } catch {
            throw error.onBearerRequest()
        }
    }

    /// Calls `body` with a view of `string`'s UTF-8, or with `nil`.
    static func withOptionalView<R>(
        _ string: String?,
        _ body: (ByteView?) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        guard let string else { return try body(nil) }
        return try ByteView.with(utf8: string) { (view) throws(KeyboundError) -> R in try body(view) }
    }

    /// Calls `body` with the access token from `Authorization: DPoP <token>` (nil in token-endpoint mode).
    /// A token longer than ``VerifierPolicy/maxTokenBytes`` (JWT or opaque) is refused from its length alone, before
    /// any byte of it is read, decoded or hashed. The token's characters are checked (token68) unless the token cache
    /// holds these exact bytes, which passed that check when they were first verified (docs/design.md "Token cache
    /// key"); the errors, and their order, are the same either way. Only JWT access tokens (`cached`: resource mode)
    /// are looked up, so the cache's hit and miss counts stay those of the tokens it can hold, and only beside a proof
    /// within its size limit, so a request refused for its size costs no digest.
    func withPresentedToken<R>(
        _ authorization: ByteView?,
        wanted: Bool,
        cached: Bool,
        _ body: (PresentedToken?) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        guard wanted, let authorization else { return try body(nil) }
        let range = try AuthorizationHeader.dpopTokenBounds(in: authorization, maxTokenBytes: policy.maxTokenBytes)
        let token = try presentedToken(authorization[range], cached: cached)
        if token.known == nil {
            try AuthorizationHeader.checkToken68(authorization, from: range.lowerBound, scheme: "DPoP")
        }
        return try body(token)
    }

    /// A token's bytes with their SHA-256 and the token cache's entry for them.
    func presentedToken(_ bytes: ByteView, cached: Bool = true) throws(KeyboundError) -> PresentedToken {
        guard cached else { return PresentedToken(bytes: bytes, hash: nil, known: nil) }
        let hash = try backend.sha256(bytes)
        return PresentedToken(bytes: bytes, hash: hash, known: hash.withByteView { tokens.value(for: $0) })
    }

    /// Calls `body` with the canonical form of the request URL (with the external base URL when configured).
    /// A request URL that cannot be normalised fails closed as an `htu` mismatch. Without a base URL, a URL whose
    /// canonical form is its own prefix (``HTU/canonicalPrefix(_:)``: it is written canonically, up to its query) is
    /// used as it is, without normalising.
    func withCanonicalRequestURL<R>(
        _ urlBytes: ByteView,
        _ body: (ByteView) throws(KeyboundError) -> R
    ) throws(KeyboundError) -> R {
        if externalBaseURL == nil, let length = HTU.canonicalPrefix(urlBytes) { return try body(urlBytes[0..<length]) }
        // Room for the canonical form: raw characters and non-ASCII bytes are percent-encoded (up to 3 bytes each).
        let baseCount = externalBaseURL?.count ?? 0
        let capacity = HTU.canonicalCapacity(for: urlBytes) &+ 3 &* baseCount
        return try withScratch(capacity: capacity) { (out) throws(KeyboundError) -> R in
            if let externalBaseURL {
                try ByteView.with(externalBaseURL) { (base) throws(KeyboundError) in
                    try HTU.normalize(base: base, originFormPath: urlBytes, into: &out, failingWith: .proofHTU)
                }
            } else {
                try HTU.normalize(urlBytes, into: &out, failingWith: .proofHTU)
            }
            return try body(out.view)
        }
    }

    // MARK: - The proof

    func checkProof(
        _ proofBytes: ByteView,
        token: PresentedToken?,
        mode: VerificationMode,
        method: ByteView,
        requestURL: ByteView,
        requirements: Requirements,
        now: Int64
    ) throws(KeyboundError) -> Checked {
        // 2. Both JWS: compact, three segments, within size limits (base64url is checked as each is decoded).
        let proofJWS = try CompactJWS.split(proofBytes, maxBytes: policy.maxProofBytes, failingWith: .proofMalformed)
        // A token the cache holds passed this split when it was first verified (the same bytes): it is not split again.
        var tokenJWS: CompactJWS? = nil
        if let token, mode == .resource, token.known == nil {
            tokenJWS = try CompactJWS.split(token.bytes, maxBytes: policy.maxTokenBytes, failingWith: .tokenMalformed)
        }
        let request = ProofRequest(mode: mode, method: method, url: requestURL, requirements: requirements, now: now)
        let readClaims = { (bytes: ByteView) throws(KeyboundError) -> ProofClaimMembers in
            try ProofClaimMembers.read(bytes, maxDepth: self.policy.maxJSONDepth, failingWith: .proofMalformed)
        }
        // A returning client sends the same header bytes on every proof: their checks (3) passed before with the same
        // policy, so the cached result stands for them, and the header is neither decoded nor parsed again.
        if let cached = proofKeys.value(for: proofJWS.encodedHeader) {
            return try proofJWS.withDecodedPayload(failingWith: .proofMalformed, payload: readClaims) {
                (claims, signature) throws(KeyboundError) -> Checked in
                try checkProof(proofJWS, header: cached, admitting: false, claims: claims, signature: signature,
                               token: token, tokenJWS: tokenJWS, request: request)
            }
        }
        let readHeader = { (bytes: ByteView) throws(KeyboundError) -> JOSEHeaderMembers in
            try JOSEHeaderMembers.read(bytes, maxDepth: self.policy.maxJSONDepth, failingWith: .proofMalformed)
        }
        return try proofJWS.withDecoded(failingWith: .proofMalformed, header: readHeader, payload: readClaims) {
            (header, claims, signature) throws(KeyboundError) -> Checked in
            // 3. Proof header.
            let alg = try checkProofHeader(header)
            let checkedHeader = CheckedProofHeader(clientKey: try clientKey(header, alg: alg), alg: alg)
            // A header checked here is cached only once the whole request has verified, and never from the token
            // endpoint, where anyone may present any key (docs/design.md, "Contracts → Defaults").
            return try checkProof(proofJWS, header: checkedHeader, admitting: mode != .tokenEndpoint, claims: claims,
                                  signature: signature, token: token, tokenJWS: tokenJWS, request: request)
        }
    }

    /// Checks 4–7 of a proof whose header passed check 3 (now or, for the same bytes, on an earlier request).
    func checkProof(
        _ proofJWS: CompactJWS,
        header: CheckedProofHeader,
        admitting: Bool,
        claims: ProofClaimMembers,
        signature: ByteView,
        token: PresentedToken?,
        tokenJWS: CompactJWS?,
        request: ProofRequest
    ) throws(KeyboundError) -> Checked {
        let clientKey = header.clientKey, alg = header.alg
        let (mode, method, requestURL, requirements, now) = (request.mode, request.method, request.url,
                                                             request.requirements, request.now)
        // 4. Proof claims.
        let jti = try proofClaims(claims, method: method, requestURL: requestURL)
        let iat = try checkIAT(claims, now: now)
        // The token's SHA-256 is computed once: `ath` is its base64url and the token cache is keyed by it.
        var tokenHash: SHA256Digest? = nil
        if let token {
            let hash = try token.digest(with: backend)
            try checkATH(claims, tokenHash: hash)
            tokenHash = hash
        }
        try checkNonce(claims, clientKey: clientKey, now: now)
        // 5. The access token and its binding.
        var verifiedToken: VerifiedToken? = nil
        switch mode {
        case .resource:
            guard let token, let tokenHash else { throw .make(.missingAuthorization, "no access token") }
            let verified = try self.verifiedToken(token, hash: tokenHash, jws: tokenJWS, now: now)
            try checkTokenUse(verified, clientKey: clientKey, now: now)
            verifiedToken = verified
        case .opaqueToken(let boundJKT):
            let bound = ByteView.with(utf8: boundJKT) { bound in
                ByteView.with(clientKey.jktBytes) { constantTimeEquals(bound, $0) }
            }
            guard bound else { throw .make(.tokenBinding, "Invalid DPoP key binding") }
            try checkKeyNotRevoked(clientKey, now: now)
        case .tokenEndpoint:
            try checkKeyNotRevoked(clientKey, now: now)
        }
        // 6. The proof's signature, with the proof's own key.
        guard try SignatureVerifier.verify(alg, key: clientKey.key, signingInput: proofJWS.signingInput,
                                           signature: signature)
        else { throw .make(.proofSignature, "DPoP proof signature is not valid") }
        // 7. The request's own requirements, after every signature check, before the replay insert.
        if !requirements.isEmpty, let verifiedToken {
            try checkRequirements(requirements, token: verifiedToken, now: now)
        }
        // 7 (prepared here, done by the caller): the replay key and the last instant the proof is acceptable.
        let (replayKey, capturedJTI) = try jti.withUnescapedString {
            (jtiBytes) throws(KeyboundError) -> (ReplayKey, ProofJTI) in
            (try Self.replayKey(jkt: clientKey.jktBytes, jti: jtiBytes, backend: backend), ProofJTI(jtiBytes))
        }
        let expiry = (iat + Double(policy.proofMaxAgeSeconds) + Double(policy.clockSkewSeconds)).rounded(.up)
        // Safe conversion: iat passed the window check, so |expiry| is far below 2^63.
        let replayExpiresAt = Int64(exactly: expiry) ?? Int64.max
        return Checked(clientKey: clientKey, token: verifiedToken, proofJTI: capturedJTI, replayKey: replayKey,
                       replayExpiresAt: replayExpiresAt,
                       admissibleHeader: admitting ? (proofJWS.encodedHeader.copyToArray(), header) : nil)
    }

    /// Check 7: step-up (RFC 9470, 314) then scope (RFC 6750 §3.1, 315), on a verified JWT access token.
    func checkRequirements(_ requirements: Requirements, token: VerifiedToken, now: Int64) throws(KeyboundError) {
        if requirements.requiresStepUp {
            var parameters: [KeyboundError.ChallengeParameter] = []
            if !requirements.acrValues.isEmpty {
                parameters.append(.init(name: "acr_values", value: requirements.acrValues.joined(separator: " ")))
            }
            if let maxAge = requirements.maxAge { parameters.append(.init(name: "max_age", value: String(maxAge))) }
            func refuse(_ reason: String) -> KeyboundError {
                KeyboundError.make(.insufficientUserAuthentication, reason).withChallengeParameters(parameters)
            }
            if let maxAge = requirements.maxAge {
                guard let authTime = token.authTime ?? (policy.authTimeFromIAT ? token.issuedAt : nil) else {
                    throw refuse("the access token has no auth_time")
                }
                // now − auth_time ≤ max_age + skew, as numbers (docs/design.md "Contracts → Time edges").
                guard Double(now) - authTime <= Double(maxAge) + Double(policy.clockSkewSeconds) else {
                    throw refuse("the user authentication is older than max_age")
                }
            }
            if !requirements.acrValues.isEmpty {
                guard let acr = token.acr else { throw refuse("the access token has no acr") }
                guard requirements.acrValues.contains(acr) else {
                    throw refuse("the authentication context class is not one the request accepts")
                }
            }
        }
        try Self.checkScopes(requirements.scopes, granted: token.scope)
    }

    /// The scope part of check 7 (RFC 6750 §3.1): every one of `required` among the space-separated `granted`
    /// (exact, case-sensitive tokens; RFC 6749 §3.3), else 315 with `scope="…"` naming what was required.
    static func checkScopes(_ required: [String], granted: String?) throws(KeyboundError) {
        guard !required.isEmpty else { return }
        let tokens = (granted ?? "").split(separator: " ", omittingEmptySubsequences: true)
        guard required.allSatisfy({ scope in tokens.contains { $0 == scope } }) else {
            throw KeyboundError.make(.insufficientScope, "the access token lacks a scope this request requires")
                .withChallengeParameters([.init(name: "scope", value: required.joined(separator: " "))])
        }
    }

    /// Check 3: `typ`, `alg`, `crit` (RFC 9449 §4.3 checks 4–6, RFC 7515 §4.1.11). Returns the algorithm.
    func checkProofHeader(_ header: JOSEHeaderMembers) throws(KeyboundError) -> JWSAlgorithm {
        guard let typ = header.typ, typ.stringEquals("dpop+jwt") else {
            throw .make(.proofTyp, "DPoP proof typ is not dpop+jwt")
        }
        guard let algValue = header.alg, algValue.kind == .string else {
            throw .make(.proofAlg, "DPoP proof alg is missing or not a string")
        }
        let named: JWSAlgorithm? = algValue.withUnescapedString { JWSAlgorithm.named($0) }
        guard let alg = named, policy.proofAlgorithms.contains(alg) else {
            throw .make(.proofAlg, "DPoP proof alg is not allowed")
        }
        guard header.crit == nil else {
            throw .make(.proofCrit, "DPoP proof has a crit header Keybound does not understand")
        }
        return alg
    }

    /// Check 3, continued: the public key in `jwk`, built from it; its type, curve and declared `alg` must agree with
    /// the proof's `alg`. The result is not cached here: ``finish(_:_:now:)`` admits the whole checked header once
    /// the request has verified.
    func clientKey(_ header: JOSEHeaderMembers, alg: JWSAlgorithm) throws(KeyboundError) -> ClientKey {
        guard let jwk = header.jwk, jwk.kind == .object else {
            throw .make(.proofJWK, "DPoP proof has no jwk object")
        }
        // One pass over the JWK for the key, its declared alg and its thumbprint.
        let members = JWKMembers(jwk)
        let key = try JWK.publicKey(members, modulusBits: policy.rsaModulusBits, rejectingAs: .proofJWK,
                                    backend: backend)
        var declared: JWSAlgorithm? = nil
        if let alg = try JWK.declaredAlgorithmName(members, rejectingAs: .proofJWK) {
            declared = alg.withUnescapedString { JWSAlgorithm.named($0) }
            guard declared != nil else { throw .make(.proofJWK, "DPoP proof jwk declares an unknown alg") }
        }
        let jkt = try JWKThumbprint.string(of: members, byteCount: jwk.bytes.count, rejectingAs: .proofJWK,
                                           backend: backend)
        let clientKey = ClientKey(key: key, jkt: jkt, declaredAlgorithm: declared,
                                  owner: try ReplayOwner(jkt: jkt, backend: backend))
        guard clientKey.key.supports(alg) else {
            throw .make(.proofJWK, "DPoP proof jwk does not match the proof alg")
        }
        if let declared = clientKey.declaredAlgorithm, declared != alg {
            throw .make(.proofJWK, "DPoP proof jwk declares another alg")
        }
        return clientKey
    }

    /// Check 4: `jti`, `htm`, `htu` (RFC 9449 §4.3 checks 8–9). Returns the `jti`.
    func proofClaims(
        _ claims: ProofClaimMembers,
        method: ByteView,
        requestURL: ByteView
    ) throws(KeyboundError) -> JSONValue {
        guard let jti = claims.jti, jti.kind == .string else {
            throw .make(.proofClaims, "DPoP proof jti is missing or not a string")
        }
        let jtiCount = jti.unescapedStringCount
        guard jtiCount > 0 && jtiCount <= policy.maxJTIBytes else {
            throw .make(.proofClaims, "DPoP proof jti is empty or too long")
        }
        guard let htm = claims.htm, htm.kind == .string else {
            throw .make(.proofClaims, "DPoP proof htm is missing or not a string")
        }
        guard let htu = claims.htu, htu.kind == .string else {
            throw .make(.proofClaims, "DPoP proof htu is missing or not a string")
        }
        guard let iat = claims.iat, iat.kind == .number else {
            throw .make(.proofClaims, "DPoP proof iat is missing or not a number")
        }
        _ = iat
        guard htm.stringEquals(method) else { throw .make(.proofHTM, "DPoP proof htm differs from the request method") }
        let matches = try htu.withUnescapedString { (htuBytes) throws(KeyboundError) -> Bool in
            try HTU.matches(htu: htuBytes, canonicalRequestURL: requestURL)
        }
        guard matches else { throw .make(.proofHTU, "DPoP proof htu differs from the request URL") }
        return jti
    }

    /// Check 4, continued: `now − maxAge − skew ≤ iat ≤ now + skew` (docs/design.md "Contracts → Time edges").
    func checkIAT(_ claims: ProofClaimMembers, now: Int64) throws(KeyboundError) -> Double {
        guard let iat = claims.iat?.numericDate() else {
            throw .make(.proofIAT, "DPoP proof iat is out of range")
        }
        let current = Double(now)
        let earliest = current - Double(policy.proofMaxAgeSeconds) - Double(policy.clockSkewSeconds)
        let latest = current + Double(policy.clockSkewSeconds)
        guard iat >= earliest && iat <= latest else { throw .make(.proofIAT, "DPoP proof iat is outside the window") }
        return iat
    }

    /// Check 4, continued: `ath` is base64url(SHA-256(access token)) (RFC 9449 §4.3 check 12 and §7); `tokenHash`
    /// is that SHA-256.
    func checkATH(_ claims: ProofClaimMembers, tokenHash digest: SHA256Digest) throws(KeyboundError) {
        guard let ath = claims.ath, ath.kind == .string else {
            throw .make(.proofATH, "DPoP proof ath is missing")
        }
        let equal = withScratch(capacity: 43) { expected -> Bool in
            digest.withByteView { Base64URL.encode($0, into: &expected) }
            return ath.withUnescapedString { constantTimeEquals($0, expected.view) }
        }
        guard equal else { throw .make(.proofATH, "DPoP proof ath differs from the access token hash") }
    }

    /// Check 4, continued: the nonce, when the policy requires one (RFC 9449 §8, §9). Failures carry a fresh nonce.
    func checkNonce(_ claims: ProofClaimMembers, clientKey: ClientKey, now: Int64) throws(KeyboundError) {
        guard let nonces = policy.nonces else { return }
        let context = nonces.boundToKey ? clientKey.jktBytes : []
        try ByteView.with(context) { (context) throws(KeyboundError) in
            guard let nonce = claims.nonce else {
                let fresh = try nonces.mint(now: now, context: context)
                throw KeyboundError.make(.nonceRequired, "Resource server requires nonce in DPoP proof")
                    .withDPoPNonce(fresh)
            }
            var valid = false
            if nonce.kind == .string && !nonce.hasEscapes {
                valid = try nonces.isValid(nonce.rawStringContent, now: now, context: context)
            }
            if !valid {
                let fresh = try nonces.mint(now: now, context: context)
                throw KeyboundError.make(.nonceInvalid, "DPoP proof nonce is invalid or stale").withDPoPNonce(fresh)
            }
        }
    }

    /// The fleet-wide replay key `SHA-256(u16be(len jkt) ‖ jkt ‖ u16be(len jti) ‖ jti)` (docs/design.md "Contracts").
    static func replayKey(jkt: [UInt8], jti: ByteView, backend: CryptoBackend) throws(KeyboundError) -> ReplayKey {
        guard jkt.count <= 0xFFFF && jti.count <= 0xFFFF else { throw .make(.proofClaims, "jti is too long") }
        let capacity = 4 &+ jkt.count &+ jti.count
        let digest = try withScratch(capacity: capacity) { (input) throws(KeyboundError) -> SHA256Digest in
            input.append(UInt8(truncatingIfNeeded: jkt.count >> 8))
            input.append(UInt8(truncatingIfNeeded: jkt.count))
            ByteView.with(jkt) { input.append($0) }
            input.append(UInt8(truncatingIfNeeded: jti.count >> 8))
            input.append(UInt8(truncatingIfNeeded: jti.count))
            input.append(jti)
            return try backend.sha256(input.view)
        }
        return ReplayKey(digest: digest)
    }
}
