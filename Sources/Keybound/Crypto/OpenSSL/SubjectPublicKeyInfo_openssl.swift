//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if OpenSSL
internal import COpenSSL

extension OpenSSLProvider {
    /// OpenSSL's reading of a DER SubjectPublicKeyInfo (`d2i_PUBKEY`, the whole buffer), as components.
    ///
    /// Configuration time only: OpenSSL 3.0's decoders take global locks (docs/design.md "Performance model"), so the
    /// key that verifies is built afterwards from these components, like a JWK's.
    func decodeSubjectPublicKeyInfo(_ der: [UInt8]) throws(KeyboundError) -> SPKIKey? {
        let decoded = unsafe der.withUnsafeBytes { unsafe COpenSSL_d2i_PUBKEY_exact($0.baseAddress, $0.count) }
        guard let pkey = unsafe decoded else {
            ERR_clear_error()
            return nil
        }
        defer {
            unsafe EVP_PKEY_free(pkey)
            ERR_clear_error()
        }
        // Room for the largest parameter read: an 8192-bit modulus, a P-521 point (133 bytes).
        var buffer = [UInt8](repeating: 0, count: 1024)
        func read(_ body: (UnsafeMutableRawBufferPointer) -> Int32) -> [UInt8]? {
            let count = unsafe buffer.withUnsafeMutableBytes { unsafe body($0) }
            return count < 0 ? nil : Array(buffer[0..<Int(count)])
        }
        switch unsafe EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            guard
                let n = unsafe read({ unsafe COpenSSL_EVP_PKEY_get_bn_bytes(pkey, "n", $0.baseAddress, $0.count) }),
                let e = unsafe read({ unsafe COpenSSL_EVP_PKEY_get_bn_bytes(pkey, "e", $0.baseAddress, $0.count) })
            else { return nil }
            return .rsa(n: n, e: e)
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let named = unsafe name.withUnsafeMutableBufferPointer {
                unsafe EVP_PKEY_get_utf8_string_param(pkey, "group", $0.baseAddress, $0.count, &length)
            }
            guard named == 1 else { return nil }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let curves: [ECCurve] = [.p256, .p384, .p521]
            guard let curve = curves.first(where: { $0.openSSLGroupName.description == group }),
                let point = unsafe read({ unsafe COpenSSL_EVP_PKEY_get_octets(pkey, "pub", $0.baseAddress, $0.count) })
            else { return nil }
            let size = curve.coordinateByteCount
            guard point.count == 1 + 2 * size, point[0] == 0x04 else { return nil }
            return .ec(curve, x: Array(point[1...size]), y: Array(point[(1 + size)...]))
        case EVP_PKEY_ED25519:
            guard let x = unsafe read({ unsafe COpenSSL_EVP_PKEY_get_raw_public(pkey, $0.baseAddress, $0.count) }) else {
                return nil
            }
            return .ed25519(x: x)
        default:
            return nil
        }
    }
}
#endif
