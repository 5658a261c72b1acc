//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import Keybound
import KeyboundSigning

#if SwiftCrypto
import Crypto
import KeyboundSwiftCrypto
import _CryptoExtras
#endif

/// The backends `keybound bench --backend` can name in this build.
package enum BenchBackends {
    package static func named(_ name: String) throws -> [CryptoBackend] {
        switch name {
        case "openssl":
            guard CryptoBackend.isOpenSSLAvailable else { throw BenchError("bench: this build has no OpenSSL backend") }
            return [.default]
        case "swift-crypto":
            #if SwiftCrypto
            return [.swiftCrypto]
            #else
            throw BenchError("bench: this build has no swift-crypto backend (build with --traits default,SwiftCrypto)")
            #endif
        case "all":
            #if SwiftCrypto
            return CryptoBackend.isOpenSSLAvailable ? [.default, .swiftCrypto] : [.swiftCrypto]
            #else
            return [.default]
            #endif
        default:
            throw BenchError("bench: --backend takes openssl, swift-crypto or all")
        }
    }

    static var swiftCryptoAvailable: Bool {
        #if SwiftCrypto
        true
        #else
        false
        #endif
    }
}

/// The raw swift-crypto baseline: swift-crypto's own API with prebuilt keys, nothing of Keybound's (what the
/// swift-crypto rows' "× raw swift-crypto" ratios are taken against).
enum RawSwiftCrypto {
    #if SwiftCrypto
    enum Key: @unchecked Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    static func key(_ members: BenchPublicMembers) -> Key? {
        switch members.kty {
        case "EC":
            let raw = members.first + members.second
            switch members.group {
            case "prime256v1": return (try? P256.Signing.PublicKey(rawRepresentation: raw)).map(Key.p256)
            case "secp384r1": return (try? P384.Signing.PublicKey(rawRepresentation: raw)).map(Key.p384)
            default: return (try? P521.Signing.PublicKey(rawRepresentation: raw)).map(Key.p521)
            }
        case "RSA":
            return (try? _RSA.Signing.PublicKey(n: members.first, e: members.second)).map(Key.rsa)
        default:
            return (try? Curve25519.Signing.PublicKey(rawRepresentation: members.first)).map(Key.ed25519)
        }
    }

    @inline(__always)
    static func verify(_ key: Key, _ algorithm: BenchAlgorithm, _ signature: BenchSignature) -> Bool {
        switch key {
        case .p256(let k):
            guard let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature.raw) else { return false }
            return k.isValidSignature(s, for: SHA256.hash(data: signature.tbs))
        case .p384(let k):
            guard let s = try? P384.Signing.ECDSASignature(rawRepresentation: signature.raw) else { return false }
            return k.isValidSignature(s, for: SHA384.hash(data: signature.tbs))
        case .p521(let k):
            guard let s = try? P521.Signing.ECDSASignature(rawRepresentation: signature.raw) else { return false }
            return k.isValidSignature(s, for: SHA512.hash(data: signature.tbs))
        case .rsa(let k):
            let s = _RSA.Signing.RSASignature(rawRepresentation: signature.raw)
            let padding: _RSA.Signing.Padding = algorithm.pss ? .PSS : .insecurePKCS1v1_5
            switch algorithm.digestName {
            case "SHA384": return k.isValidSignature(s, for: SHA384.hash(data: signature.tbs), padding: padding)
            case "SHA512": return k.isValidSignature(s, for: SHA512.hash(data: signature.tbs), padding: padding)
            default: return k.isValidSignature(s, for: SHA256.hash(data: signature.tbs), padding: padding)
            }
        case .ed25519(let k):
            return k.isValidSignature(signature.raw, for: signature.tbs)
        }
    }
    #endif
}

extension BenchFixtures {
    /// Raw swift-crypto verifies per second for `algorithm` (1 thread, prebuilt key), or nil without swift-crypto.
    static func rawSwiftCryptoRate(_ algorithm: JWSAlgorithm, seconds: Double) throws -> BenchMeasurement? {
        #if SwiftCrypto
        let signer = try SigningKey.generate(algorithm)
        let bench = BenchAlgorithm(algorithm)
        guard let key = RawSwiftCrypto.key(try BenchPublicMembers(jwk: signer.publicJWK)) else {
            throw BenchError("bench: swift-crypto refused a generated key")
        }
        let signatures = try benchParallelMap(64) { index in
            try BenchSignature(
                compact: JWS.compact(headerJSON: "{\"alg\":\"\(algorithm.rawValue)\"}", payloadJSON: "{\"i\":\(index)}",
                                     key: signer),
                algorithm: bench)
        }
        return benchRun(threads: 1, count: signatures.count, seconds: seconds, cycle: true) { index in
            RawSwiftCrypto.verify(key, bench, signatures[index]) ? nil : "raw swift-crypto verify failed"
        }
        #else
        return nil
        #endif
    }

    /// The raw swift-crypto baseline of `scenario` over the pool's signatures (the same work as ``runBaseline``, on
    /// swift-crypto): warm one verify, new-token the token's and the proof's verifies, new-client-key the token's
    /// verify, a key build and the proof's verify. Nil without swift-crypto.
    func runSwiftCryptoBaseline(_ scenario: BenchScenario, _ pool: BenchPool, threads: Int, walk: BenchWalk) throws
        -> BenchMeasurement?
    {
        #if SwiftCrypto
        let proofs = pool.proofs
        let proofAlgorithm = self.proofAlgorithm
        switch scenario {
        case .warm:
            guard let members = pool.clientKey, let key = RawSwiftCrypto.key(members) else {
                throw BenchError("bench: no client key")
            }
            return benchRun(threads: threads, count: proofs.count, walk: walk) { index in
                RawSwiftCrypto.verify(key, proofAlgorithm, proofs[index]) ? nil : "raw swift-crypto verify failed"
            }
        case .newToken:
            guard let members = pool.clientKey, let client = RawSwiftCrypto.key(members),
                let issuerKey = RawSwiftCrypto.key(issuerMembers)
            else { throw BenchError("bench: no client key") }
            let tokens = pool.tokens
            let tokenAlgorithm = self.tokenAlgorithm
            return benchRun(threads: threads, count: proofs.count, walk: walk) { index in
                guard RawSwiftCrypto.verify(issuerKey, tokenAlgorithm, tokens[index]),
                    RawSwiftCrypto.verify(client, proofAlgorithm, proofs[index])
                else { return "raw swift-crypto verify failed" }
                return nil
            }
        case .newClientKey:
            guard let issuerKey = RawSwiftCrypto.key(issuerMembers) else { throw BenchError("bench: no issuer key") }
            let keys = pool.clientKeys
            let tokens = pool.tokens
            let tokenAlgorithm = self.tokenAlgorithm
            return benchRun(threads: threads, count: proofs.count, walk: walk) { index in
                guard RawSwiftCrypto.verify(issuerKey, tokenAlgorithm, tokens[index]) else {
                    return "raw swift-crypto verify failed"
                }
                guard let key = RawSwiftCrypto.key(keys[index]) else { return "swift-crypto key build failed" }
                return RawSwiftCrypto.verify(key, proofAlgorithm, proofs[index]) ? nil : "raw swift-crypto verify failed"
            }
        }
        #else
        return nil
        #endif
    }
}
