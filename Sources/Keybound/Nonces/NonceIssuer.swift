//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Stateless DPoP nonces (RFC 9449 §8, §9), in the format of docs/design.md "Contracts → Nonces".
///
/// A nonce for time window `w = floor(now / W)` is
/// `base64url(u32be(w) ‖ first 16 bytes of HMAC-SHA-256(secret, "keybound-nonce-v1" ‖ u32be(w) ‖ context))`,
/// 27 characters, where `context` is empty or the proof key's `jkt`. Any instance holding a secret can check it:
/// it is valid in its own window and the next one, under any configured secret (newest first), compared in
/// constant time. Rotating secrets without a gap: add the new secret first, keep the old one for one window.
///
/// - Note: `NonceIssuer` is an immutable value and thread-safe.
public struct NonceIssuer: Sendable {
    /// The secrets, newest first; nonces are minted with the first.
    public let secrets: [[UInt8]]
    /// The window length in seconds (300 by default).
    public let windowSeconds: Int64
    /// Whether nonces are bound to the proof key's `jkt`.
    public let boundToKey: Bool
    /// The crypto backend that computes the HMACs (the tags are the same on every backend).
    public let backend: CryptoBackend

    /// The encoded length of a nonce.
    public static let encodedCount = 27
    static let label: StaticString = "keybound-nonce-v1"

    /// - Throws: `KeyboundError(.invalidConfiguration)` without secrets, with a secret under 32 bytes, or with a
    ///   window outside 1...86400 seconds.
    public init(
        secrets: [[UInt8]],
        windowSeconds: Int64 = 300,
        boundToKey: Bool = false,
        backend: CryptoBackend = .default
    ) throws(KeyboundError) {
        guard !secrets.isEmpty else { throw .make(.invalidConfiguration, "nonces need at least one secret") }
        guard secrets.allSatisfy({ $0.count >= 32 }) else {
            throw .make(.invalidConfiguration, "each nonce secret must be at least 32 bytes")
        }
        guard windowSeconds > 0 && windowSeconds <= 86_400 else {
            throw .make(.invalidConfiguration, "nonce window must be 1...86400 seconds")
        }
        self.secrets = secrets
        self.windowSeconds = windowSeconds
        self.boundToKey = boundToKey
        self.backend = backend
    }

    /// The window number of `now` (floor division, so negative times do not round toward zero), modulo 2^32.
    func window(at now: Int64) -> UInt32 {
        let (q, r) = now.quotientAndRemainder(dividingBy: windowSeconds)
        return UInt32(truncatingIfNeeded: r < 0 ? q &- 1 : q)
    }

    /// Appends the 20 raw bytes of the nonce for window `w` under `secret` and `context` to `out`.
    func appendRaw(window w: UInt32, secret: [UInt8], context: ByteView, into out: inout ScratchBuffer)
        throws(KeyboundError)
    {
        let tag = try withScratch(capacity: 32 &+ context.count) { (message) throws(KeyboundError) -> SHA256Digest in
            message.append(Self.label)
            Self.appendBigEndian(w, to: &message)
            message.append(context)
            return try ByteView.with(secret) { (key) throws(KeyboundError) -> SHA256Digest in
                try backend.hmacSHA256(key: key, message: message.view)
            }
        }
        Self.appendBigEndian(w, to: &out)
        tag.withByteView { out.append($0[0..<16]) }
    }

    static func appendBigEndian(_ w: UInt32, to out: inout ScratchBuffer) {
        out.append(UInt8(truncatingIfNeeded: w >> 24))
        out.append(UInt8(truncatingIfNeeded: w >> 16))
        out.append(UInt8(truncatingIfNeeded: w >> 8))
        out.append(UInt8(truncatingIfNeeded: w))
    }

    /// A fresh nonce for the `DPoP-Nonce` header at time `now`; `jkt` is used only when nonces are bound to keys.
    public func mint(now: Int64, jkt: String? = nil) throws(KeyboundError) -> String {
        let context = boundToKey ? Array((jkt ?? "").utf8) : []
        return try ByteView.with(context) { (context) throws(KeyboundError) -> String in
            try mint(now: now, context: context)
        }
    }

    func mint(now: Int64, context: ByteView) throws(KeyboundError) -> String {
        try withScratch(capacity: 20) { (raw) throws(KeyboundError) -> String in
            try appendRaw(window: window(at: now), secret: secrets[0], context: context, into: &raw)
            return Base64URL.encode(raw.view)
        }
    }

    /// True iff `nonce` was minted for `context` in the current or the previous window under any secret.
    /// A nonce in any non-canonical spelling is invalid (SECURITY.md D12).
    func isValid(_ nonce: ByteView, now: Int64, context: ByteView) throws(KeyboundError) -> Bool {
        guard nonce.count == Self.encodedCount else { return false }
        return try withScratch(capacity: 40) { (scratch) throws(KeyboundError) -> Bool in
            do {
                try Base64URL.decode(nonce, into: &scratch, failingWith: .nonceInvalid)
            } catch {
                return false
            }
            let presented = scratch.view
            let w = UInt32(presented[0]) << 24 | UInt32(presented[1]) << 16 | UInt32(presented[2]) << 8
                | UInt32(presented[3])
            let current = window(at: now)
            guard w == current || w == current &- 1 else { return false }
            var valid = false
            for secret in secrets {
                try appendRaw(window: w, secret: secret, context: context, into: &scratch)
                let all = scratch.view
                // Every secret is tried, so the time taken does not tell which one matched.
                if constantTimeEquals(all[0..<20], all[20..<40]) { valid = true }
                scratch.removeLast(20)
            }
            return valid
        }
    }
}
