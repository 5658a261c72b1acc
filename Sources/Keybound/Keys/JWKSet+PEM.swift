//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Issuer keys given as PEM or DER instead of a JWK Set: a public key (SubjectPublicKeyInfo, `-----BEGIN PUBLIC
/// KEY-----`) or an X.509 certificate (`-----BEGIN CERTIFICATE-----`, whose subject public key is taken), each with
/// the `kid` tokens name it by (docs/design.md "Contracts → Issuer keys as PEM").
///
/// The key passes exactly the rules of a JWK (supported type and curve, RSA modulus bounds and exponent, point on the
/// curve, Ed25519 not of small order), and the crypto backend's own decoder must read the same key. A certificate is
/// only a container for its key: its signature, validity, extensions and chain are **not** checked; trust comes from
/// configuring it, as for a JWK Set.
///
/// Unlike a JWK Set, nothing is skipped: a key Keybound cannot use is refused. The errors:
/// - ``KeyboundError/Code/invalidKeyEncoding``: no PEM block, a malformed one (armour, base64), more than one block,
///   a label other than `PUBLIC KEY` or `CERTIFICATE`, malformed or truncated DER;
/// - ``KeyboundError/Code/privateKeyGiven``: the text holds a private key block (`PRIVATE KEY`, `RSA PRIVATE KEY`,
///   `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, ...), even beside a public one;
/// - ``KeyboundError/Code/unusableKey``: an unsupported key type or curve, a key that fails a rule, or an `alg`
///   that disagrees with the key;
/// - ``KeyboundError/Code/invalidConfiguration``: an empty `kid`.
extension JWKSet {
    /// One issuer key from PEM text holding exactly one `PUBLIC KEY` or `CERTIFICATE` block.
    ///
    /// - Parameters:
    ///   - pem: the PEM text (UTF-8); text outside the block is ignored (RFC 7468 §2).
    ///   - kid: the key ID that tokens signed with this key carry in their header.
    ///   - alg: the one JWS algorithm this key may verify, when given (it must suit the key); otherwise every
    ///     algorithm of the key's type.
    ///   - rsaModulusBits: accepted RSA modulus sizes (default 2048–4096 bits).
    ///   - backend: the crypto backend that builds the key.
    public convenience init(
        pem: [UInt8], kid: String, alg: JWSAlgorithm? = nil,
        rsaModulusBits: ClosedRange<Int> = 2048...4096, backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        let blocks = try PEM.blocks(pem)
        guard blocks.count == 1 else {
            throw .make(
                .invalidKeyEncoding,
                "PEM text holds \(blocks.count) blocks; give one key or certificate per kid (a chain: its first certificate alone)"
            )
        }
        let block = blocks[0]
        let spki: [UInt8]
        switch block.label {
        case "PUBLIC KEY": spki = block.der
        case "CERTIFICATE": spki = try SubjectPublicKeyInfo.ofCertificate(block.der)
        default:
            throw .make(.invalidKeyEncoding, "PEM label \(block.label) is not PUBLIC KEY or CERTIFICATE")
        }
        try self.init(spkiDER: spki, kid: kid, alg: alg, rsaModulusBits: rsaModulusBits, backend: backend)
    }

    /// One issuer key from PEM text, as the `[UInt8]` overload.
    public convenience init(
        pem: String, kid: String, alg: JWSAlgorithm? = nil,
        rsaModulusBits: ClosedRange<Int> = 2048...4096, backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        try self.init(pem: Array(pem.utf8), kid: kid, alg: alg, rsaModulusBits: rsaModulusBits, backend: backend)
    }

    /// One issuer key from a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), as `openssl pkey -pubout -outform DER`
    /// writes it.
    public convenience init(
        spkiDER: [UInt8], kid: String, alg: JWSAlgorithm? = nil,
        rsaModulusBits: ClosedRange<Int> = 2048...4096, backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        guard !kid.isEmpty else { throw .make(.invalidConfiguration, "kid is empty") }
        guard spkiDER.count <= PEM.maximumBytes else { throw .make(.invalidKeyEncoding, "DER key is too large") }
        let key = try SubjectPublicKeyInfo.publicKey(der: spkiDER, modulusBits: rsaModulusBits, backend: backend)
        if let alg, !key.supports(alg) {
            throw .make(.unusableKey, "alg \(alg) disagrees with the key")
        }
        let kidBytes = Array(kid.utf8)
        let entry = Entry(kid: kidBytes, key: key, algorithm: alg, kidHash: Self.hash(kidBytes))
        self.init(entries: [entry], skippedKeys: [], backend: backend)
    }

    /// One issuer key from a DER X.509 certificate: its subject public key, nothing of it verified.
    public convenience init(
        certificateDER: [UInt8], kid: String, alg: JWSAlgorithm? = nil,
        rsaModulusBits: ClosedRange<Int> = 2048...4096, backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        guard certificateDER.count <= PEM.maximumBytes else {
            throw .make(.invalidKeyEncoding, "DER certificate is too large")
        }
        let spki = try SubjectPublicKeyInfo.ofCertificate(certificateDER)
        try self.init(spkiDER: spki, kid: kid, alg: alg, rsaModulusBits: rsaModulusBits, backend: backend)
    }

    /// The keys of several sets as one: a JWK Set plus PEM keys, or several PEM keys, for one issuer.
    ///
    /// - Throws: ``KeyboundError/Code/invalidConfiguration`` when `sets` is empty, when the sets were built on
    ///   different backends, or when two keys share a `kid`. Skipped entries are kept in the report, in order.
    public convenience init(merging sets: [JWKSet]) throws(KeyboundError) {
        guard let first = sets.first else { throw .make(.invalidConfiguration, "no key sets to merge") }
        guard sets.allSatisfy({ $0.backend == first.backend }) else {
            throw .make(.invalidConfiguration, "key sets built on different crypto backends")
        }
        let entries = sets.flatMap(\.entries)
        guard entries.count <= Self.maximumKeyCount else { throw .make(.invalidConfiguration, "too many keys") }
        try Self.refuseDuplicateKids(entries, as: .invalidConfiguration)
        self.init(entries: entries, skippedKeys: sets.flatMap(\.skippedKeys), backend: first.backend)
    }
}
