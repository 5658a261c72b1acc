//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound
import Keybound

/// What a `kb_verifier` holds: the Swift verifier (thread-safe) and whether nonces are on.
final class VerifierBox: OpaqueHandle, Sendable {
    let verifier: Verifier
    let noncesOn: Bool
    /// The accepted RSA modulus sizes, for JWKS replacements.
    let rsaModulusBits: ClosedRange<Int>
    /// KB_OPT_READ_CLOCK was set: a `now` of KB_NOW_CLOCK reads the system clock.
    let readsClock: Bool

    init(verifier: Verifier, noncesOn: Bool, rsaModulusBits: ClosedRange<Int>, readsClock: Bool) {
        self.verifier = verifier
        self.noncesOn = noncesOn
        self.rsaModulusBits = rsaModulusBits
        self.readsClock = readsClock
    }

    /// The `now` to hand to the Swift API: `nil` (the verifier's clock) for KB_NOW_CLOCK when the verifier was made
    /// with KB_OPT_READ_CLOCK, else the caller's value as it is.
    func time(_ now: Int64) -> Int64? {
        readsClock && now == Int64.min ? nil : now
    }

    /// Builds a verifier from a configuration; every failure is a `KeyboundError` with a reason for `errbuf`.
    static func make(_ config: ConfigBox) throws(KeyboundError) -> VerifierBox {
        var policy = config.policy
        guard config.rsaMinimumBits <= config.rsaMaximumBits else {
            throw KeyboundError(.invalidConfiguration, reason: "RSA_MIN_BITS is above RSA_MAX_BITS")
        }
        policy.rsaModulusBits = config.rsaMinimumBits...config.rsaMaximumBits
        if config.nonceMode != 0 {
            policy.nonces = try NonceIssuer(secrets: config.nonceSecrets, windowSeconds: config.nonceWindowSeconds,
                                            boundToKey: config.nonceMode == 2, backend: config.backend)
        }
        var issuers: [TrustedIssuer] = []
        for (index, issuer) in config.issuers.enumerated() {
            let keys: JWKSet
            do throws(KeyboundError) {
                var sets: [JWKSet] = []
                if let jwks = issuer.jwks {
                    sets.append(try JWKSet(json: jwks, rsaModulusBits: policy.rsaModulusBits, backend: config.backend))
                }
                for key in issuer.pemKeys {
                    sets.append(
                        try JWKSet(pem: key.pem, kid: key.kid, alg: JWSAlgorithm(rawValue: key.algorithmName),
                                   rsaModulusBits: policy.rsaModulusBits, backend: config.backend))
                }
                keys = sets.count == 1 ? sets[0] : try JWKSet(merging: sets)
            } catch {
                throw KeyboundError(error.code, reason: "issuer \(index): \(error.reason)")
            }
            issuers.append(TrustedIssuer(identifier: issuer.identifier, audiences: issuer.audiences, keys: keys))
        }
        let keyMiss = config.keyMiss
        var onKeyMiss: (@Sendable (KeyMiss) -> Void)? = nil
        if let keyMiss {
            onKeyMiss = { miss in keyMiss.call(miss) }
        }
        let verifier = try Verifier(issuers: issuers, policy: policy, replayStore: config.replayStore,
                                    onKeyMiss: onKeyMiss, backend: config.backend)
        return VerifierBox(verifier: verifier, noncesOn: policy.nonces != nil, rsaModulusBits: policy.rsaModulusBits,
                           readsClock: config.readsClock)
    }
}

// MARK: - Exports

@c @implementation
public func kb_verifier_new(
    _ cfg: OpaquePointer?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ errbuf: UnsafeMutablePointer<CChar>?, _ errbufLength: Int
) -> kb_status {
    if let out = unsafe out { unsafe out.pointee = nil }
    guard let errors = try? unsafe ErrorBuffer(errbuf, errbufLength) else { return Status.invalidArgument }
    guard let config = unsafe ConfigBox.from(cfg), let out = unsafe out else {
        errors.write("cfg and out must not be NULL")
        return Status.invalidArgument
    }
    do throws(KeyboundError) {
        let box = try VerifierBox.make(config)
        unsafe out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
        return Status.ok
    } catch {
        errors.write(error.reason)
        return Status.of(error)
    }
}

@c @implementation
public func kb_verifier_free(_ verifier: OpaquePointer?) {
    unsafe VerifierBox.release(verifier)
}

@c @implementation
public func kb_verifier_replace_jwks(
    _ verifier: OpaquePointer?,
    _ issuer: UnsafePointer<UInt8>?, _ issuerLength: Int,
    _ jwksJSON: UnsafePointer<UInt8>?,
    _ jwksLength: Int,
    _ errbuf: UnsafeMutablePointer<CChar>?, _ errbufLength: Int
) -> kb_status {
    guard let errors = try? unsafe ErrorBuffer(errbuf, errbufLength) else { return Status.invalidArgument }
    guard let box = unsafe VerifierBox.from(verifier),
        let identifier = try? unsafe cString(issuer, issuerLength),
        let json = try? unsafe cBytes(jwksJSON, jwksLength)
    else {
        errors.write("a NULL verifier, an invalid buffer or a non-UTF-8 issuer")
        return Status.invalidArgument
    }
    do throws(KeyboundError) {
        let keys = try JWKSet(json: json, rsaModulusBits: box.rsaModulusBits, backend: box.verifier.backend)
        try box.verifier.replaceKeys(forIssuer: identifier, with: keys)
        return Status.ok
    } catch {
        errors.write(error.reason)
        return Status.of(error)
    }
}

@c @implementation
public func kb_mint_nonce(
    _ verifier: OpaquePointer?,
    _ now: Int64,
    _ jkt: UnsafePointer<UInt8>?, _ jktLength: Int,
    _ out: UnsafeMutablePointer<UInt8>?,
    _ outCapacity: Int,
    _ outLength: UnsafeMutablePointer<Int>?
) -> kb_status {
    guard let box = unsafe VerifierBox.from(verifier), let outLength = unsafe outLength else {
        return Status.invalidArgument
    }
    guard let jkt = try? unsafe cString(jkt, jktLength),
        let destination = try? unsafe cBuffer(UnsafePointer(out), outCapacity)
    else { return Status.invalidArgument }
    guard box.noncesOn else { return Status.invalidConfig }
    do throws(KeyboundError) {
        guard var nonce = try box.verifier.mintNonce(now: box.time(now), jkt: jkt.isEmpty ? nil : jkt) else {
            return Status.invalidConfig
        }
        return nonce.withUTF8 { bytes -> kb_status in
            unsafe outLength.pointee = bytes.count
            guard bytes.count <= destination.count, let out = unsafe out else { return Status.bufferTooSmall }
            if let source = bytes.baseAddress {
                // Safe because `out` has `outCapacity` bytes, checked to hold `bytes.count`.
                unsafe UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: bytes.count)
            }
            return Status.ok
        }
    } catch {
        return Status.of(error)
    }
}

@c @implementation
public func kb_revoke_token_jti(
    _ verifier: OpaquePointer?,
    _ jti: UnsafePointer<UInt8>?, _ jtiLength: Int,
    _ until: Int64,
    _ now: Int64
) -> kb_status {
    unsafe revoke(verifier, jti, jtiLength) { (box, id) throws(KeyboundError) in
        try box.verifier.revokeToken(jti: id, until: until, now: box.time(now))
    }
}

@c @implementation
public func kb_revoke_jkt(
    _ verifier: OpaquePointer?,
    _ jkt: UnsafePointer<UInt8>?, _ jktLength: Int,
    _ until: Int64,
    _ now: Int64
) -> kb_status {
    unsafe revoke(verifier, jkt, jktLength) { (box, id) throws(KeyboundError) in
        try box.verifier.revokeKey(jkt: id, until: until, now: box.time(now))
    }
}

/// The shared body of the revocation exports: the verifier and the identifier's text, then `body`'s status.
@unsafe
private func revoke(
    _ verifier: OpaquePointer?,
    _ id: UnsafePointer<UInt8>?, _ idLength: Int,
    _ body: (VerifierBox, String) throws(KeyboundError) -> Void
) -> kb_status {
    guard let box = unsafe VerifierBox.from(verifier), let text = try? unsafe cString(id, idLength) else {
        return Status.invalidArgument
    }
    do throws(KeyboundError) {
        try body(box, text)
        return Status.ok
    } catch {
        return Status.of(error)
    }
}

@c @implementation
public func kb_verifier_metrics(_ verifier: OpaquePointer?, _ out: UnsafeMutablePointer<kb_metrics>?) -> kb_status {
    guard let box = unsafe VerifierBox.from(verifier), let out = unsafe out else { return Status.invalidArgument }
    // Check the caller's size before anything is computed or written.
    guard unsafe AppendOnly.callerSize(out) != nil else { return Status.invalidArgument }
    let metrics = box.verifier.metrics
    func count(_ n: Int) -> UInt64 { UInt64(clamping: n) }
    func optionalCount(_ n: Int?) -> UInt64 { n.map(count) ?? UInt64.max }
    var refused = 0
    for (_, n) in metrics.refused { refused = refused.addingReportingOverflow(n).partialValue }
    var snapshot = kb_metrics()
    snapshot.verified = count(metrics.verified)
    snapshot.refused = count(refused)
    snapshot.replay_cache_count = optionalCount(metrics.replayCacheCount)
    snapshot.replay_cache_capacity = optionalCount(metrics.replayCacheCapacity)
    snapshot.proof_key_cache_hits = count(metrics.proofKeyCacheHits)
    snapshot.proof_key_cache_misses = count(metrics.proofKeyCacheMisses)
    snapshot.token_cache_hits = count(metrics.tokenCacheHits)
    snapshot.token_cache_misses = count(metrics.tokenCacheMisses)
    return unsafe AppendOnly.write(snapshot, to: out) ? Status.ok : Status.invalidArgument
}

@c @implementation
public func kb_verifier_refusals(
    _ verifier: OpaquePointer?,
    _ status: kb_status,
    _ out: UnsafeMutablePointer<UInt64>?
) -> kb_status {
    guard let box = unsafe VerifierBox.from(verifier), let out = unsafe out, Status.isVerificationStatus(status),
        let code = KeyboundError.Code(rawValue: Int(status))
    else { return Status.invalidArgument }
    unsafe out.pointee = UInt64(clamping: box.verifier.metrics.refusals(code))
    return Status.ok
}
