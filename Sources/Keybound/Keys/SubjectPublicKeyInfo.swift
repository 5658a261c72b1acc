//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The components of a public key read from a SubjectPublicKeyInfo, in the form JWK members carry them.
package enum SPKIKey: Equatable, Sendable {
    /// An uncompressed point on a supported NIST curve: each coordinate exactly the field size.
    case ec(ECCurve, x: [UInt8], y: [UInt8])
    /// Minimal big-endian unsigned `n` and `e`.
    case rsa(n: [UInt8], e: [UInt8])
    /// The 32-byte Ed25519 public key.
    case ed25519(x: [UInt8])
}

/// Issuer keys given as DER: a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) or an X.509 certificate that carries one
/// (docs/design.md "Contracts → Issuer keys as PEM").
///
/// Keybound reads the structure (``DERReader``) to classify the key and pin the error codes identically on every
/// backend; the crypto backend's own decoder (OpenSSL's `d2i_PUBKEY`, BoringSSL's `EVP_parse_public_key`) must then
/// accept the same bytes and read the same components; the key is built from those components by the JWK path,
/// so every rule of ``PublicKey`` applies unchanged. A certificate is only a container here: its signature,
/// validity and chain are not checked.
enum SubjectPublicKeyInfo {
    // Object identifiers, as DER contents (RFC 3279, RFC 5480, RFC 8410).
    static let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    static let ecPublicKey: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    static let ed25519: [UInt8] = [0x2B, 0x65, 0x70]
    static let namedCurves: [(oid: [UInt8], curve: ECCurve)] = [
        ([0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07], .p256),  // prime256v1
        ([0x2B, 0x81, 0x04, 0x00, 0x22], .p384),  // secp384r1
        ([0x2B, 0x81, 0x04, 0x00, 0x23], .p521),  // secp521r1
    ]
    /// Keys recognised only to name them in the refusal.
    static let otherKeyTypes: [(oid: [UInt8], name: String)] = [
        ([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A], "RSASSA-PSS (id-RSASSA-PSS)"),
        ([0x2B, 0x65, 0x6E], "X25519"),
        ([0x2B, 0x65, 0x6F], "X448"),
        ([0x2B, 0x65, 0x71], "Ed448"),
        ([0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01], "DSA"),
    ]

    // MARK: - Keys

    /// Builds the public key of a DER SubjectPublicKeyInfo.
    ///
    /// - Throws: ``KeyboundError/Code/invalidKeyEncoding`` for malformed DER;
    ///   ``KeyboundError/Code/unusableKey`` for a key type or curve Keybound does not verify with, a key that fails
    ///   a rule of ``PublicKey``, or a key the backend refuses; `.internal` when the backend fails.
    static func publicKey(der: [UInt8], modulusBits: ClosedRange<Int>, backend: CryptoBackend)
        throws(KeyboundError) -> PublicKey
    {
        let components = try read(der)
        let code = KeyboundError.Code.unusableKey
        // Keybound's rules first, so a key is refused alike on every backend whatever its decoder tolerates.
        let key: PublicKey
        switch components {
        case .ec(let curve, let x, let y):
            try ByteView.with(x) { (x) throws(KeyboundError) in
                try ByteView.with(y) { (y) throws(KeyboundError) in
                    try PublicKey.checkECCoordinates(curve: curve, x: x, y: y, rejectingAs: code)
                }
            }
        case .rsa(let n, let e):
            _ = try ByteView.with(n) { (n) throws(KeyboundError) in
                try ByteView.with(e) { (e) throws(KeyboundError) in
                    try PublicKey.checkRSAParameters(n: n, e: e, modulusBits: modulusBits, rejectingAs: code)
                }
            }
        case .ed25519(let x):
            try ByteView.with(x) { (x) throws(KeyboundError) in try PublicKey.checkEd25519(x: x, rejectingAs: code) }
        }
        // The backend's decoder is the authority on the encoding: it must accept it and read the same key.
        guard let theirs = try backend.provider.decodeSubjectPublicKeyInfo(der) else {
            throw .make(code, "the \(backend.name) backend refuses the key (for EC: the point is not on the curve)")
        }
        guard theirs == components else {
            throw .make(.invalidKeyEncoding, "the \(backend.name) backend reads the key differently from Keybound")
        }
        switch components {
        case .ec(let curve, let x, let y):
            key = try ByteView.with(x) { (x) throws(KeyboundError) in
                try ByteView.with(y) { (y) throws(KeyboundError) in
                    try PublicKey.ec(curve: curve, x: x, y: y, rejectingAs: code, backend: backend)
                }
            }
        case .rsa(let n, let e):
            key = try ByteView.with(n) { (n) throws(KeyboundError) in
                try ByteView.with(e) { (e) throws(KeyboundError) in
                    try PublicKey.rsa(n: n, e: e, modulusBits: modulusBits, rejectingAs: code, backend: backend)
                }
            }
        case .ed25519(let x):
            key = try ByteView.with(x) { (x) throws(KeyboundError) in
                try PublicKey.ed25519(x: x, rejectingAs: code, backend: backend)
            }
        }
        return key
    }

    /// Reads the components of a DER SubjectPublicKeyInfo.
    ///
    /// - Throws: ``KeyboundError/Code/invalidKeyEncoding`` for malformed DER; ``KeyboundError/Code/unusableKey``
    ///   for a key type, curve or point form Keybound does not verify with.
    static func read(_ der: [UInt8]) throws(KeyboundError) -> SPKIKey {
        let malformed = KeyboundError.Code.invalidKeyEncoding
        let unusable = KeyboundError.Code.unusableKey
        var outer = DERReader(der)
        let spki = try outer.read(DERReader.sequence, "SubjectPublicKeyInfo")
        try outer.expectEnd("SubjectPublicKeyInfo")
        var fields = outer.reader(of: spki)
        let algorithm = try fields.read(DERReader.sequence, "AlgorithmIdentifier")
        let bitString = try fields.read(DERReader.bitString, "subjectPublicKey")
        try fields.expectEnd("SubjectPublicKeyInfo")
        var algorithmFields = fields.reader(of: algorithm)
        let oid = algorithmFields.copy(try algorithmFields.read(DERReader.objectIdentifier, "algorithm OID"))
        let bits = fields.copy(bitString)
        guard bits.first == 0 else { throw .make(malformed, "subjectPublicKey BIT STRING has unused bits") }
        let key = Array(bits.dropFirst())

        if oid == rsaEncryption {
            // RFC 3279 §2.3.1: the parameters are NULL.
            let null = try algorithmFields.read(DERReader.null, "rsaEncryption parameters (NULL)")
            guard null.contents.isEmpty else { throw .make(malformed, "rsaEncryption NULL is not empty") }
            try algorithmFields.expectEnd("AlgorithmIdentifier")
            var outerKey = DERReader(key)
            let sequence = try outerKey.read(DERReader.sequence, "RSAPublicKey")
            try outerKey.expectEnd("RSAPublicKey")
            var numbers = outerKey.reader(of: sequence)
            let n = try unsignedInteger(&numbers, "RSA modulus")
            let e = try unsignedInteger(&numbers, "RSA exponent")
            try numbers.expectEnd("RSAPublicKey")
            return .rsa(n: n, e: e)
        }
        if oid == ecPublicKey {
            // RFC 5480 §2.1.1: a named curve; explicit parameters are not used with PKIX.
            guard algorithmFields.nextTag == DERReader.objectIdentifier else {
                throw .make(unusable, "EC key with explicit or absent curve parameters (a named curve is required)")
            }
            let curveOID = algorithmFields.copy(try algorithmFields.read(DERReader.objectIdentifier, "namedCurve"))
            try algorithmFields.expectEnd("AlgorithmIdentifier")
            guard let curve = namedCurves.first(where: { $0.oid == curveOID })?.curve else {
                throw .make(unusable, "EC curve is not P-256, P-384 or P-521")
            }
            let size = curve.coordinateByteCount
            if key.first == 0x02 || key.first == 0x03 {
                throw .make(unusable, "EC point is compressed (Keybound reads uncompressed points, RFC 5480 §2.2)")
            }
            guard key.first == 0x04, key.count == 1 + 2 * size else {
                throw .make(malformed, "EC point is not an uncompressed point of the curve's size")
            }
            return .ec(curve, x: Array(key[1...size]), y: Array(key[(1 + size)...]))
        }
        if oid == ed25519 {
            // RFC 8410 §3: the parameters are absent; the key is the 32 raw bytes.
            try algorithmFields.expectEnd("AlgorithmIdentifier")
            guard key.count == 32 else { throw .make(malformed, "Ed25519 public key is not 32 bytes") }
            return .ed25519(x: key)
        }
        if let other = otherKeyTypes.first(where: { $0.oid == oid }) {
            throw .make(unusable, "\(other.name) keys are not supported (EC P-256/384/521, RSA, Ed25519 are)")
        }
        throw .make(unusable, "the key type is not supported (EC P-256/384/521, RSA, Ed25519 are)")
    }

    /// A DER INTEGER that must be positive, returned minimal and unsigned (its sign octet dropped).
    private static func unsignedInteger(_ reader: inout DERReader, _ what: String) throws(KeyboundError) -> [UInt8] {
        let malformed = KeyboundError.Code.invalidKeyEncoding
        let value = reader.copy(try reader.read(DERReader.integer, what))
        guard let first = value.first else { throw .make(malformed, "\(what) is an empty INTEGER") }
        guard first & 0x80 == 0 else { throw .make(malformed, "\(what) is negative") }
        if first == 0 {
            guard value.count > 1, value[1] & 0x80 != 0 else {
                throw .make(malformed, "\(what) is zero or not minimally encoded")
            }
            return Array(value.dropFirst())
        }
        return value
    }

    // MARK: - Certificates

    /// The DER SubjectPublicKeyInfo of a DER X.509 certificate (RFC 5280 §4.1), checking the certificate's outer
    /// structure (three fields, nothing after them) and the fields of `tbsCertificate` up to the key. Nothing is
    /// verified: not the signature, the validity period, the extensions or any chain.
    ///
    /// - Throws: ``KeyboundError/Code/invalidKeyEncoding`` when the bytes are not a certificate.
    static func ofCertificate(_ der: [UInt8]) throws(KeyboundError) -> [UInt8] {
        var outer = DERReader(der)
        let certificate = try outer.read(DERReader.sequence, "Certificate")
        try outer.expectEnd("Certificate")
        var fields = outer.reader(of: certificate)
        let tbs = try fields.read(DERReader.sequence, "tbsCertificate")
        _ = try fields.read(DERReader.sequence, "signatureAlgorithm")
        _ = try fields.read(DERReader.bitString, "signatureValue")
        try fields.expectEnd("Certificate")
        var tbsFields = fields.reader(of: tbs)
        if tbsFields.nextTag == DERReader.contextZero { try tbsFields.skip("version") }
        _ = try tbsFields.read(DERReader.integer, "serialNumber")
        _ = try tbsFields.read(DERReader.sequence, "signature")
        _ = try tbsFields.read(DERReader.sequence, "issuer")
        _ = try tbsFields.read(DERReader.sequence, "validity")
        _ = try tbsFields.read(DERReader.sequence, "subject")
        let spki = try tbsFields.read(DERReader.sequence, "subjectPublicKeyInfo")
        // The optional unique identifiers and extensions follow; each must still be a whole element.
        while !tbsFields.isAtEnd { try tbsFields.skip("tbsCertificate field") }
        return Array(der[spki.encoding])
    }
}
