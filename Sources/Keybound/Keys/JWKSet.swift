//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// An issuer's signing keys, read from a JWK Set document (RFC 7517 §5).
///
/// Rules (DESIGN "Contracts → Defaults"):
/// - an entry whose `kty` Keybound does not know, whose `use` is not `sig`, whose `key_ops` lacks `verify`, or whose
///   `alg` is not a JWS algorithm Keybound supports is **skipped and reported** in ``skipped``;
/// - an entry of a known `kty` that fails validation (private members, a symmetric key, a weak or malformed key, an
///   `alg` that disagrees with the key) **fails the whole set**, so a misconfiguration is loud;
/// - a `kid` may appear only once: a duplicate `kid` fails the whole set (a key lookup must be unambiguous);
/// - at most ``maximumKeyCount`` entries and ``maximumDocumentBytes`` bytes.
///
/// Keys are found by their exact `kid` bytes (no normalisation, ATTACKS A5). Key material named inside a token
/// (`jwk`, `jku`, `x5u`, `x5c`) never adds or selects a key (ATTACKS A4, A6).
///
/// - Note: `JWKSet` is immutable and thread-safe.
public final class JWKSet: Sendable {
    /// The largest JWKS document read.
    public static let maximumDocumentBytes = 1 << 20
    /// The most entries a JWKS may have.
    public static let maximumKeyCount = 1024

    struct Entry: Sendable {
        let kid: [UInt8]?
        let key: PublicKey
        let algorithm: JWSAlgorithm?
        let kidHash: UInt64
    }

    let entries: [Entry]

    /// The crypto backend the keys were built on (a ``Verifier`` accepts only sets built on its own backend).
    public let backend: CryptoBackend

    /// One line per entry that was skipped, naming its position and the reason.
    public let skipped: [String]

    /// The number of usable keys.
    public var count: Int { entries.count }

    /// The `kid`s of the usable keys (`nil` for keys without one), in document order.
    public var keyIDs: [String?] { entries.map { $0.kid.map { String(decoding: $0, as: UTF8.self) } } }

    /// Reads a JWKS document.
    ///
    /// - Parameters:
    ///   - json: the document's bytes (UTF-8 JSON).
    ///   - rsaModulusBits: accepted RSA modulus sizes (default 2048–4096 bits).
    ///   - backend: the crypto backend that builds the keys (``CryptoBackend/default`` unless given).
    /// - Throws: `KeyboundError(.invalidJWKS)` naming the problem; `.internal` when the backend fails.
    public init(
        json: [UInt8],
        rsaModulusBits: ClosedRange<Int> = 2048...4096,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        guard json.count <= Self.maximumDocumentBytes else { throw .make(.invalidJWKS, "JWKS document is too large") }
        let code = KeyboundError.Code.invalidJWKS
        var entries: [Entry] = []
        var skipped: [String] = []
        try ByteView.with(json) { (bytes) throws(KeyboundError) in
            let root = try JSON.parseObject(bytes, maxDepth: 16, failingWith: code)
            guard let keys = root.member("keys"), keys.kind == .array else {
                throw .make(code, "JWKS has no keys array")
            }
            guard keys.elementCount <= Self.maximumKeyCount else { throw .make(code, "JWKS has too many keys") }
            var index = 0
            try keys.forEachElement { (jwk) throws(KeyboundError) in
                defer { index += 1 }
                if let reason = try Self.skipReason(jwk) {
                    skipped.append("key \(index): \(reason)")
                    return
                }
                let key = try JWK.publicKey(jwk, modulusBits: rsaModulusBits, rejectingAs: code, backend: backend)
                var algorithm: JWSAlgorithm? = nil
                if let alg = try JWK.declaredAlgorithmName(jwk, rejectingAs: code) {
                    algorithm = alg.withUnescapedString { JWSAlgorithm.named($0) }
                    guard let algorithm, key.supports(algorithm) else {
                        throw .make(code, "JWKS key \(index) declares an alg that disagrees with the key")
                    }
                }
                var kid: [UInt8]? = nil
                if let kidValue = jwk.member("kid") {
                    guard kidValue.kind == .string else { throw .make(code, "JWKS key \(index) has a non-string kid") }
                    kid = kidValue.withUnescapedString { $0.copyToArray() }
                }
                entries.append(Entry(kid: kid, key: key, algorithm: algorithm, kidHash: kid.map(Self.hash) ?? 0))
            }
        }
        var seen = Set<[UInt8]>()
        for entry in entries {
            if let kid = entry.kid, !seen.insert(kid).inserted {
                throw .make(code, "JWKS has a duplicate kid")
            }
        }
        self.entries = entries
        self.skipped = skipped
        self.backend = backend
    }

    /// Reads a JWKS document from its text.
    public convenience init(
        json: String,
        rsaModulusBits: ClosedRange<Int> = 2048...4096,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        try self.init(json: Array(json.utf8), rsaModulusBits: rsaModulusBits, backend: backend)
    }

    /// Why an entry is skipped rather than used, or `nil` when it is a signing key to validate.
    static func skipReason(_ jwk: JSONValue) throws(KeyboundError) -> String? {
        let code = KeyboundError.Code.invalidJWKS
        guard jwk.kind == .object else { throw .make(code, "JWKS entry is not an object") }
        guard try JWK.keyType(of: jwk, rejectingAs: code) != nil else {
            // Refuse private material even in entries we would skip: publishing it is a leak.
            try JWK.refusePrivateMembers(jwk, rejectingAs: code)
            return "kty not supported"
        }
        if let use = jwk.member("use") {
            guard use.kind == .string else { throw .make(code, "JWKS entry use is not a string") }
            if !use.stringEquals("sig") { return "use is not sig" }
        }
        if let ops = jwk.member("key_ops") {
            guard ops.kind == .array else { throw .make(code, "JWKS entry key_ops is not an array") }
            var verify = false
            ops.forEachElement { op in if op.stringEquals("verify") { verify = true } }
            if !verify { return "key_ops lacks verify" }
        }
        if let alg = try JWK.declaredAlgorithmName(jwk, rejectingAs: code) {
            let known = alg.withUnescapedString { JWSAlgorithm.named($0) }
            if known == nil { return "alg is not a supported JWS signature algorithm" }
        }
        return nil
    }

    static func hash(_ kid: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in kid { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    static func hash(_ kid: ByteView) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<kid.count { h = (h ^ UInt64(kid[i])) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The key for a token's `kid` (exact bytes), or, when the token has no `kid`, the only key of a one-key set.
    func entry(forKid kid: ByteView?) -> Entry? {
        guard let kid else { return entries.count == 1 ? entries[0] : nil }
        let h = Self.hash(kid)
        for entry in entries where entry.kidHash == h {
            if let stored = entry.kid, ByteView.with(stored, { $0.elementsEqual(kid) }) { return entry }
        }
        return nil
    }
}
