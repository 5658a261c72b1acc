//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

/// What a `kb_config` holds: a builder read by `kb_verifier_new`. Used by one thread at a time (the header says so).
final class ConfigBox: OpaqueHandle {
    struct Issuer {
        let identifier: String
        /// `nil` for an issuer added by `kb_config_add_issuer_pem` alone (until `kb_config_add_issuer` gives it one).
        var jwks: [UInt8]?
        var audiences: [String]
        /// Keys given as PEM (`kb_config_add_issuer_pem`), in the order added.
        var pemKeys: [PEMKey] = []
    }

    struct PEMKey {
        let kid: String
        /// The JWS algorithm's name, or "" for any algorithm of the key's type.
        let algorithmName: String
        let pem: [UInt8]
    }

    /// `kb_config_add_issuer_pem`: the key goes to the issuer, which is added when it was not.
    func addPEMKey(_ key: PEMKey, toIssuer identifier: String) -> kb_status {
        guard !identifier.isEmpty, !key.kid.isEmpty else { return Status.invalidConfig }
        guard key.algorithmName.isEmpty || JWSAlgorithm(rawValue: key.algorithmName) != nil else {
            return Status.invalidConfig
        }
        if let index = issuers.firstIndex(where: { $0.identifier == identifier }) {
            issuers[index].pemKeys.append(key)
        } else {
            issuers.append(Issuer(identifier: identifier, jwks: nil, audiences: [], pemKeys: [key]))
        }
        return Status.ok
    }

    var policy = VerifierPolicy()
    var rsaMinimumBits = 2048
    var rsaMaximumBits = 4096
    var issuers: [Issuer] = []
    var nonceMode: Int64 = 0
    var nonceWindowSeconds: Int64 = 300
    var nonceSecrets: [[UInt8]] = []
    var replayStore: CReplayStore? = nil
    var keyMiss: KeyMissCallback? = nil
    /// The crypto backend of the verifiers made from this config (kb_config_set_backend).
    var backend: CryptoBackend = CABIBackend.libraryDefault
    /// KB_OPT_READ_CLOCK: whether `now == KB_NOW_CLOCK` means "read the system clock".
    var readsClock = false

    /// The algorithms of a `KB_ALG_*` mask, in bit order.
    static let algorithmBits: [JWSAlgorithm] = [
        .es256, .es384, .es512, .rs256, .rs384, .rs512, .ps256, .ps384, .ps512, .edDSA, .ed25519,
    ]

    static func algorithms(mask: Int64) -> [JWSAlgorithm]? {
        let all = Int64(1) << Int64(algorithmBits.count) - 1
        guard mask > 0 && mask & ~all == 0 else { return nil }
        var result: [JWSAlgorithm] = []
        for (bit, alg) in algorithmBits.enumerated() where mask & (Int64(1) << Int64(bit)) != 0 {
            result.append(alg)
        }
        return result
    }
}

// MARK: - Exports

@c @implementation
public func kb_config_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> kb_status {
    unsafe ConfigBox.publish(ConfigBox(), to: out)
}

@c @implementation
public func kb_config_free(_ cfg: OpaquePointer?) {
    unsafe ConfigBox.release(cfg)
}

@c @implementation
public func kb_config_set_int(_ cfg: OpaquePointer?, _ option: kb_option, _ value: Int64) -> kb_status {
    guard let box = unsafe ConfigBox.from(cfg) else { return Status.invalidArgument }
    // Int is 64 bits on every platform Keybound supports; a narrower Int refuses what it cannot hold.
    let int = Int(exactly: value)
    func setInt(_ assign: (Int) -> Void) -> kb_status {
        guard let int else { return Status.invalidConfig }
        assign(int)
        return Status.ok
    }
    switch option {
    case Int32(KB_OPT_PROOF_MAX_AGE_SECONDS): box.policy.proofMaxAgeSeconds = value
    case Int32(KB_OPT_CLOCK_SKEW_SECONDS): box.policy.clockSkewSeconds = value
    case Int32(KB_OPT_STRICT_TOKEN_TYPE):
        guard value == 0 || value == 1 else { return Status.invalidConfig }
        box.policy.strictTokenType = value == 1
    case Int32(KB_OPT_MAX_TOKEN_BYTES): return setInt { box.policy.maxTokenBytes = $0 }
    case Int32(KB_OPT_MAX_PROOF_BYTES): return setInt { box.policy.maxProofBytes = $0 }
    case Int32(KB_OPT_MAX_JSON_DEPTH): return setInt { box.policy.maxJSONDepth = $0 }
    case Int32(KB_OPT_MAX_JTI_BYTES): return setInt { box.policy.maxJTIBytes = $0 }
    case Int32(KB_OPT_RSA_MIN_BITS): return setInt { box.rsaMinimumBits = $0 }
    case Int32(KB_OPT_RSA_MAX_BITS): return setInt { box.rsaMaximumBits = $0 }
    case Int32(KB_OPT_PROOF_KEY_CACHE_SIZE): return setInt { box.policy.proofKeyCacheSize = $0 }
    case Int32(KB_OPT_TOKEN_CACHE_SIZE): return setInt { box.policy.tokenCacheSize = $0 }
    case Int32(KB_OPT_REPLAY_CACHE_CAPACITY): return setInt { box.policy.replayCacheCapacity = $0 }
    case Int32(KB_OPT_KEY_MISS_INTERVAL_SECONDS): box.policy.keyMissIntervalSeconds = value
    case Int32(KB_OPT_MAX_REVOCATIONS): return setInt { box.policy.maxRevocations = $0 }
    case Int32(KB_OPT_ADVERTISE_ALGORITHMS):
        guard value == 0 || value == 1 else { return Status.invalidConfig }
        box.policy.advertiseAlgorithms = value == 1
    case Int32(KB_OPT_PROOF_ALGORITHMS):
        guard let algs = ConfigBox.algorithms(mask: value) else { return Status.invalidConfig }
        box.policy.proofAlgorithms = algs
    case Int32(KB_OPT_TOKEN_ALGORITHMS):
        guard let algs = ConfigBox.algorithms(mask: value) else { return Status.invalidConfig }
        box.policy.tokenAlgorithms = algs
    case Int32(KB_OPT_NONCE_MODE):
        guard (0...2).contains(value) else { return Status.invalidConfig }
        box.nonceMode = value
    case Int32(KB_OPT_NONCE_WINDOW_SECONDS): box.nonceWindowSeconds = value
    case Int32(KB_OPT_READ_CLOCK):
        guard value == 0 || value == 1 else { return Status.invalidConfig }
        box.readsClock = value == 1
    case Int32(KB_OPT_AUTH_TIME_FROM_IAT):
        guard value == 0 || value == 1 else { return Status.invalidConfig }
        box.policy.authTimeFromIAT = value == 1
    case Int32(KB_OPT_ALLOW_BEARER):
        guard value == 0 || value == 1 else { return Status.invalidConfig }
        box.policy.allowBearer = value == 1
    case Int32(KB_OPT_REPLAY_KEY_SHARE):
        if value == -1 {
            box.policy.replayKeyShare = nil
        } else {
            return setInt { box.policy.replayKeyShare = $0 }
        }
    default: return Status.invalidArgument  // unknown, or a string option
    }
    return Status.ok
}

@c @implementation
public func kb_config_set_str(
    _ cfg: OpaquePointer?,
    _ option: kb_option,
    _ value: UnsafePointer<UInt8>?, _ valueLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
            switch option {
            case Int32(KB_OPT_EXTERNAL_BASE_URL):
                if unsafe value == nil && valueLength == 0 {
                    box.policy.externalBaseURL = nil
                } else {
                    box.policy.externalBaseURL = try unsafe cString(value, valueLength)
                }
                return Status.ok
            default:
                return Status.invalidArgument
            }
    }
}

@c @implementation
public func kb_config_add_issuer(
    _ cfg: OpaquePointer?,
    _ issuer: UnsafePointer<UInt8>?, _ issuerLength: Int,
    _ jwksJSON: UnsafePointer<UInt8>?,
    _ jwksLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
            let identifier = try unsafe cString(issuer, issuerLength)
            let jwks = try unsafe cBytes(jwksJSON, jwksLength)
            guard !identifier.isEmpty else { return Status.invalidConfig }
            if let index = box.issuers.firstIndex(where: { $0.identifier == identifier }) {
                // An issuer made by kb_config_add_issuer_pem may still get its JWK Set, once.
                guard box.issuers[index].jwks == nil else { return Status.invalidConfig }
                box.issuers[index].jwks = jwks
                return Status.ok
            }
            box.issuers.append(ConfigBox.Issuer(identifier: identifier, jwks: jwks, audiences: []))
            return Status.ok
    }
}

@c @implementation
public func kb_config_add_issuer_pem(
    _ cfg: OpaquePointer?, _ issuer: UnsafePointer<UInt8>?, _ issuerLength: Int, _ kid: UnsafePointer<UInt8>?,
    _ kidLength: Int, _ alg: UnsafePointer<UInt8>?, _ algLength: Int, _ pem: UnsafePointer<UInt8>?, _ pemLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
            let key = ConfigBox.PEMKey(
                kid: try unsafe cString(kid, kidLength), algorithmName: try unsafe cString(alg, algLength),
                pem: try unsafe cBytes(pem, pemLength))
            return box.addPEMKey(key, toIssuer: try unsafe cString(issuer, issuerLength))
    }
}

@c @implementation
public func kb_config_add_audience(
    _ cfg: OpaquePointer?,
    _ issuer: UnsafePointer<UInt8>?, _ issuerLength: Int,
    _ audience: UnsafePointer<UInt8>?,
    _ audienceLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
            let identifier = try unsafe cString(issuer, issuerLength)
            let audience = try unsafe cString(audience, audienceLength)
            guard let index = box.issuers.firstIndex(where: { $0.identifier == identifier }) else {
                return Status.invalidConfig
            }
            box.issuers[index].audiences.append(audience)
            return Status.ok
    }
}

@c @implementation
public func kb_config_add_nonce_secret(
    _ cfg: OpaquePointer?,
    _ secret: UnsafePointer<UInt8>?, _ secretLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
            let bytes = try unsafe cBytes(secret, secretLength)
            guard bytes.count >= 32 else { return Status.invalidConfig }
            box.nonceSecrets.append(bytes)
            return Status.ok
    }
}

@c @implementation
public func kb_config_add_required_claim(
    _ cfg: OpaquePointer?,
    _ name: UnsafePointer<UInt8>?, _ nameLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
        let claim = try unsafe cString(name, nameLength)
        guard !claim.isEmpty else { return Status.invalidConfig }
        box.policy.requiredClaims.append(claim)
        return Status.ok
    }
}

@c @implementation
public func kb_config_add_allowed_client_id(
    _ cfg: OpaquePointer?,
    _ clientID: UnsafePointer<UInt8>?, _ clientIDLength: Int
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
        let id = try unsafe cString(clientID, clientIDLength)
        box.policy.allowedClientIDs = (box.policy.allowedClientIDs ?? []) + [id]
        return Status.ok
    }
}

@c @implementation
public func kb_config_set_replay_store(
    _ cfg: OpaquePointer?,
    _ vtable: UnsafePointer<kb_replay_store_vtable>?,
    _ ctx: UnsafeMutableRawPointer?
) -> kb_status {
    guard let box = unsafe ConfigBox.from(cfg) else { return Status.invalidArgument }
    guard let vtable = unsafe vtable else {
        box.replayStore = nil
        return Status.ok
    }
    // Read the size first, then only the fields it covers.
    guard let table = unsafe AppendOnly.read(vtable) else { return Status.invalidArgument }
    guard let insert = unsafe table.insert else { return Status.invalidArgument }
    box.replayStore = unsafe CReplayStore(insert: insert, insertOwned: table.insert_owned, destroy: table.destroy,
                                          context: ctx)
    return Status.ok
}

@c @implementation
public func kb_config_set_replay_key_share(
    _ cfg: OpaquePointer?,
    _ jkt: UnsafePointer<UInt8>?, _ jktLength: Int,
    _ share: Int64
) -> kb_status {
    unsafe ConfigBox.with(cfg) { (box) throws(InvalidArgument) -> kb_status in
        let jkt = try unsafe cString(jkt, jktLength)
        guard !jkt.isEmpty, share >= -1, let value = Int(exactly: share) else { return Status.invalidConfig }
        box.policy.replayKeyShareOverrides[jkt] = value == -1 ? nil : value
        return Status.ok
    }
}

@c @implementation
public func kb_config_set_key_miss_callback(
    _ cfg: OpaquePointer?,
    _ fn: kb_key_miss_fn?,
    _ ctx: UnsafeMutableRawPointer?
) -> kb_status {
    guard let box = unsafe ConfigBox.from(cfg) else { return Status.invalidArgument }
    if let fn = unsafe fn {
        box.keyMiss = unsafe KeyMissCallback(function: fn, context: ctx)
    } else {
        box.keyMiss = nil
    }
    return Status.ok
}
