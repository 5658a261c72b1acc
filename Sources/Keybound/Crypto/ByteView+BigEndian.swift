//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Comparisons of unsigned big-endian integers, for the range checks on keys and signatures.
///
/// The values compared are public (coordinates, signature scalars), so these are not constant-time.
extension ByteView {
    /// True when every byte is zero (also for an empty view).
    var isAllZero: Bool {
        var i = 0
        while i < count {
            if self[i] != 0 { return false }
            i &+= 1
        }
        return true
    }

    /// True when these bytes, read as an unsigned big-endian integer, are less than `bound`, which has the same
    /// length (a field prime or a group order). False when the lengths differ.
    func isBigEndianLess(than bound: [UInt8]) -> Bool {
        guard count == bound.count else { return false }
        var i = 0
        while i < count {
            let a = self[i]
            let b = bound[i]
            if a != b { return a < b }
            i &+= 1
        }
        return false
    }

    /// True when the bytes equal `other` byte for byte.
    func elementsEqual(_ other: [UInt8]) -> Bool {
        guard count == other.count else { return false }
        var i = 0
        while i < count {
            if self[i] != other[i] { return false }
            i &+= 1
        }
        return true
    }
}
