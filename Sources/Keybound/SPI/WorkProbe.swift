//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Synchronization

/// Test instrumentation for the resource-bound tests (SECURITY.md C6, D13; docs/design.md "Contracts → Bounded work"):
/// counts the work a verification does on the current task, so a test can assert that an oversized input was refused
/// before any decoding or crypto, that hostile JSON member names cost no more than random ones, and that `ath`, `jkt`
/// and nonce tags went through ``constantTimeEquals(_:_:)``.
///
/// Bind one with `WorkProbe.$current.withValue(probe) { … }`. Only debug builds record (``isRecording``): in
/// release builds ``probeWork(_:_:)`` and ``probeConstantTimeComparison(_:_:)`` are empty and inlined away, so the
/// hot path pays nothing.
@usableFromInline
package final class WorkProbe: Sendable {
    /// The probe of the current task, if a test bound one.
    @TaskLocal package static var current: WorkProbe?

    /// Whether this build records anything (debug builds).
    package static var isRecording: Bool {
        #if DEBUG
        true
        #else
        false
        #endif
    }

    /// What is counted.
    @usableFromInline
    package enum Event: Int, Sendable, CaseIterable {
        /// Bytes of base64url input decoded.
        case base64URLDecodedBytes
        /// Bytes of JSON text parsed.
        case jsonParsedBytes
        /// Bytes hashed with SHA-256.
        case digestedBytes
        /// Public keys handed to OpenSSL (EC, RSA, Ed25519 imports).
        case publicKeyImports
        /// Signature verifications that reached OpenSSL.
        case signatureVerifications
        /// JSON member-name hash tags checked against a new name (the duplicate pre-filter).
        case jsonNameTagChecks
        /// JSON member names compared in full, after their hash tags agreed.
        case jsonNameComparisons
        /// Bytes of JSON member names read by those full comparisons (both names, unescaping included).
        case jsonNameComparedBytes
    }

    private let state = Mutex<(counts: [Int], comparisons: [(lhs: [UInt8], rhs: [UInt8])])>(
        (Array(repeating: 0, count: Event.allCases.count), []))

    package init() {}

    /// The total recorded for `event`.
    package func count(_ event: Event) -> Int { state.withLock { $0.counts[event.rawValue] } }

    /// The operands of every constant-time comparison, in order.
    package var constantTimeComparisons: [(lhs: [UInt8], rhs: [UInt8])] { state.withLock { $0.comparisons } }

    func add(_ event: Event, _ amount: Int) { state.withLock { $0.counts[event.rawValue] &+= amount } }

    func addComparison(_ lhs: [UInt8], _ rhs: [UInt8]) { state.withLock { $0.comparisons.append((lhs, rhs)) } }
}

/// Records `amount` of `event` on the current task's ``WorkProbe`` (debug builds only).
@usableFromInline
@inline(__always)
func probeWork(_ event: WorkProbe.Event, _ amount: Int = 1) {
    #if DEBUG
    WorkProbe.current?.add(event, amount)
    #endif
}

/// Records the operands of a constant-time comparison on the current task's ``WorkProbe`` (debug builds only).
@inline(__always)
func probeConstantTimeComparison(_ lhs: ByteView, _ rhs: ByteView) {
    #if DEBUG
    WorkProbe.current?.addComparison(lhs.copyToArray(), rhs.copyToArray())
    #endif
}
