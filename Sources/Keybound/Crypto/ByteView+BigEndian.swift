//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Comparisons of unsigned big-endian integers, for the range checks on keys and signatures.
///
/// The values compared are public (coordinates, signature scalars), so these are not constant-time.
extension ByteView {
    /// True when every byte is zero (also for an empty view).
    var isAllZero: Bool { firstIndex { self[$0] != 0 } == nil }

    /// True when these bytes, read as an unsigned big-endian integer, are less than `bound`, which has the same
    /// length (a field prime or a group order). False when the lengths differ.
    func isBigEndianLess(than bound: [UInt8]) -> Bool {
        guard count == bound.count, let i = firstIndex(where: { self[$0] != bound[$0] }) else { return false }
        return self[i] < bound[i]
    }

    /// True when the bytes equal `other` byte for byte.
    func elementsEqual(_ other: [UInt8]) -> Bool {
        count == other.count && firstIndex { self[$0] != other[$0] } == nil
    }

    /// The first index in `0..<count` for which `holds` is true, or `nil`.
    private func firstIndex(where holds: (_ index: Int) -> Bool) -> Int? {
        var i = 0
        while i < count {
            if holds(i) { return i }
            i &+= 1
        }
        return nil
    }
}
