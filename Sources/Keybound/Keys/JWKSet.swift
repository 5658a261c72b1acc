//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// An issuer's signing keys, read from a JWK Set document (RFC 7517 §5).
///
/// Real issuers publish more than signing keys: encryption keys, certificates, algorithms Keybound does not
/// verify. RFC 7517 §5 says to ignore what cannot be used, so (docs/design.md, "Contracts → Defaults"):
/// - an entry Keybound cannot use for verifying is **skipped and reported** in ``skippedKeys`` with its reason: a
///   `kty` or `crv` it does not support (`oct` without key material, `X25519`, `Ed448`, `secp256k1`, ...), `use`
///   other than `sig`, `key_ops` without `verify`, an `alg` that is not a supported JWS algorithm or disagrees with
///   the key, an RSA modulus outside the configured bounds, a key that fails validation, a `kid` that is not a string;
/// - the whole set fails (``KeyboundError/Code/invalidJWKS``) only when the document is not a JWK Set, when any entry
///   carries private key material (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`: publishing it is a leak), when two
///   usable keys share a `kid` (a lookup must be unambiguous), or when no usable key is left;
/// - at most ``maximumKeyCount`` entries and ``maximumDocumentBytes`` bytes.
///
/// Keys are found by their exact `kid` bytes (no normalisation, SECURITY.md A5). Key material named inside a token
/// (`jwk`, `jku`, `x5u`, `x5c`) never adds or selects a key (SECURITY.md A4, A6).
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

    /// An entry of the document that was skipped because Keybound cannot use it for verifying.
    public struct SkippedKey: Sendable, Equatable, CustomStringConvertible {
        /// The entry's position in the `keys` array, from 0.
        public let index: Int
        /// The entry's `kid`, when it has a string one.
        public let kid: String?
        /// Why it was skipped, in Keybound's words (never the entry's bytes other than its `kid`).
        public let reason: String

        public init(index: Int, kid: String?, reason: String) {
            self.index = index
            self.kid = kid
            self.reason = reason
        }

        /// `key 3 (kid "enc-1"): use is not sig`.
        public var description: String {
            "key \(index)" + (kid.map { " (kid \(JSONTree.quoted($0)))" } ?? "") + ": " + reason
        }
    }

    /// The entries that were skipped, in document order.
    public let skippedKeys: [SkippedKey]

    /// One line per skipped entry (``SkippedKey/description``).
    public var skipped: [String] { skippedKeys.map(\.description) }

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
    public convenience init(
        json: [UInt8],
        rsaModulusBits: ClosedRange<Int> = 2048...4096,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        guard json.count <= Self.maximumDocumentBytes else { throw .make(.invalidJWKS, "JWKS document is too large") }
        let code = KeyboundError.Code.invalidJWKS
        var entries: [Entry] = []
        var skipped: [SkippedKey] = []
        try ByteView.with(json) { (bytes) throws(KeyboundError) in
            let root = try JSON.parseObject(bytes, maxDepth: 16, failingWith: code)
            guard let keys = root.member("keys"), keys.kind == .array else {
                throw .make(code, "JWKS has no keys array")
            }
            guard keys.elementCount <= Self.maximumKeyCount else { throw .make(code, "JWKS has too many keys") }
            var index = 0
            try keys.forEachElement { (jwk) throws(KeyboundError) in
                defer { index += 1 }
                let kid = Self.stringKid(jwk)
                if jwk.kind == .object {
                    // Private material fails the whole set, whatever else is wrong with the entry.
                    try JWK.refusePrivateMembers(jwk, rejectingAs: code)
                }
                do throws(KeyboundError) {
                    entries.append(try Self.entry(jwk, modulusBits: rsaModulusBits, backend: backend))
                } catch where error.code == code {
                    skipped.append(SkippedKey(index: index, kid: kid, reason: error.reason))
                }
            }
        }
        guard !entries.isEmpty else {
            throw .make(code, skipped.isEmpty ? "JWKS has no keys" : "JWKS has no usable key (\(skipped.count) skipped)")
        }
        try Self.refuseDuplicateKids(entries, as: code)
        self.init(entries: entries, skippedKeys: skipped, backend: backend)
    }

    /// A set of entries already checked (``refuseDuplicateKids(_:as:)`` included).
    init(entries: [Entry], skippedKeys: [SkippedKey], backend: CryptoBackend) {
        self.entries = entries
        self.skippedKeys = skippedKeys
        self.backend = backend
    }

    /// Refuses two entries with the same `kid` (a lookup must be unambiguous).
    static func refuseDuplicateKids(_ entries: [Entry], as code: KeyboundError.Code) throws(KeyboundError) {
        var seen = Set<[UInt8]>()
        for entry in entries {
            if let kid = entry.kid, !seen.insert(kid).inserted {
                throw .make(code, "two usable keys have the same kid")
            }
        }
    }

    /// Reads a JWKS document from its text.
    public convenience init(
        json: String,
        rsaModulusBits: ClosedRange<Int> = 2048...4096,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        try self.init(json: Array(json.utf8), rsaModulusBits: rsaModulusBits, backend: backend)
    }

    /// The usable key an entry describes.
    ///
    /// - Throws: `KeyboundError(.invalidJWKS)` with the reason the entry cannot be used (the caller skips it);
    ///   `.internal` when the backend fails.
    static func entry(_ jwk: JSONValue, modulusBits: ClosedRange<Int>, backend: CryptoBackend)
        throws(KeyboundError) -> Entry
    {
        let code = KeyboundError.Code.invalidJWKS
        guard jwk.kind == .object else { throw .make(code, "entry is not a JSON object") }
        guard let kty = jwk.member("kty"), kty.kind == .string else { throw .make(code, "kty is missing") }
        if kty.stringEquals("oct") { throw .make(code, "kty oct (a symmetric key) is not a verification key") }
        guard try JWK.keyType(of: jwk, rejectingAs: code) != nil else { throw .make(code, "kty is not supported") }
        if let use = jwk.member("use") {
            guard use.kind == .string, use.stringEquals("sig") else { throw .make(code, "use is not sig") }
        }
        if let ops = jwk.member("key_ops") {
            guard ops.kind == .array else { throw .make(code, "key_ops is not an array") }
            var verify = false
            ops.forEachElement { op in if op.stringEquals("verify") { verify = true } }
            if !verify { throw .make(code, "key_ops lacks verify") }
        }
        var algorithm: JWSAlgorithm? = nil
        if let alg = jwk.member("alg") {
            guard alg.kind == .string else { throw .make(code, "alg is not a string") }
            algorithm = alg.withUnescapedString { JWSAlgorithm.named($0) }
            if algorithm == nil { throw .make(code, "alg is not a supported JWS signature algorithm") }
        }
        var kid: [UInt8]? = nil
        if let kidValue = jwk.member("kid") {
            guard kidValue.kind == .string else { throw .make(code, "kid is not a string") }
            kid = kidValue.withUnescapedString { $0.copyToArray() }
        }
        let key = try JWK.publicKey(jwk, modulusBits: modulusBits, rejectingAs: code, backend: backend)
        if let algorithm, !key.supports(algorithm) { throw .make(code, "alg disagrees with the key") }
        return Entry(kid: kid, key: key, algorithm: algorithm, kidHash: kid.map(Self.hash) ?? 0)
    }

    /// The entry's `kid` as text, when it is a string, for the report.
    static func stringKid(_ jwk: JSONValue) -> String? {
        guard jwk.kind == .object, let kid = jwk.member("kid"), kid.kind == .string else { return nil }
        return kid.stringValue()
    }

    /// The pre-filter of a `kid` lookup: keyed per process (``KeyedHash``), since the looked-up `kid` comes from a
    /// request and must not be able to aim full comparisons at the set's entries (docs/design.md "Contracts →
    /// Bounded work").
    static func hash(_ kid: [UInt8]) -> UInt64 {
        ByteView.with(kid) { KeyedHash.hash($0) }
    }

    static func hash(_ kid: ByteView) -> UInt64 {
        KeyedHash.hash(kid)
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
