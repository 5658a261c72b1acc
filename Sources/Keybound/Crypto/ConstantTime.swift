//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Constant-time equality for secrets and secret-derived values: HMAC tags, `ath`, `jkt` (RFC 9449 §4.3,
/// docs/design.md "Nonces"). The lengths are compared first (they are public); then every byte pair is XORed into one
/// accumulator, with no early exit and no data-dependent branch, so the time depends only on the length.
///
/// Plain Swift, the same on every ``CryptoBackend``.
@inline(never)
func constantTimeEquals(_ a: ByteView, _ b: ByteView) -> Bool {
    probeConstantTimeComparison(a, b)
    guard a.count == b.count else { return false }
    return a.accumulatedDifference(b) == 0
}
