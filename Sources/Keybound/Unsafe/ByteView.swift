//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A borrowed, read-only, bounds-checked view of contiguous bytes: the one way parsing code reads input.
///
/// A `ByteView` is only ever made inside a `withByteView`-style closure over storage that outlives the
/// closure (a `String`'s UTF-8, an array, a stack scratch buffer), and is never stored past it.
/// Every read is bounds-checked, so code outside `Unsafe/` works with it as it would with an array.
///
/// - Warning: Do not escape a `ByteView` from the closure that vends it.
@safe
@usableFromInline
package struct ByteView {
    @usableFromInline
    let _base: UnsafeRawBufferPointer

    /// Wraps memory the caller keeps alive for as long as the view is used.
    @unsafe
    @inlinable
    init(_unsafeBytes base: UnsafeRawBufferPointer) {
        unsafe self._base = base
    }

    @inlinable
    package var count: Int { unsafe _base.count }

    @inlinable
    package var isEmpty: Bool { count == 0 }

    /// The byte at `index`; traps on an index outside `0..<count` (a bug, never input-driven).
    @inlinable
    package subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < count, "ByteView index out of range")
        // Safe because the index was just checked against the buffer's bounds.
        return unsafe _base[index]
    }

    /// A sub-view of `range`, which must lie within `0..<count`.
    @inlinable
    package subscript(range: Range<Int>) -> ByteView {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ByteView range out of bounds")
        // Safe because the range was checked, and the slice borrows the same storage.
        return unsafe ByteView(_unsafeBytes: UnsafeRawBufferPointer(rebasing: _base[range]))
    }

    /// True when the bytes equal `other` byte for byte.
    @inlinable
    func elementsEqual(_ other: ByteView) -> Bool {
        guard count == other.count else { return false }
        guard count > 0 else { return true }
        // Safe because both buffers have `count` readable bytes.
        return unsafe memcmp(_base.baseAddress!, other._base.baseAddress!, count) == 0
    }

    /// True when the bytes equal the UTF-8 of a static string.
    @inlinable
    func elementsEqual(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        guard count > 0 else { return true }
        // Safe because both buffers have `count` readable bytes.
        return unsafe memcmp(_base.baseAddress!, literal.utf8Start, count) == 0
    }

    /// The index of the first `byte` at or after `from`, or `nil` (`memchr`: a compact JWS is searched for its dots
    /// on every request, and the C library scans a word or a vector at a time).
    @inlinable
    func firstIndex(of byte: UInt8, from: Int = 0) -> Int? {
        guard from >= 0 && from < count, let base = unsafe _base.baseAddress else { return nil }
        // Safe because [from, count) lies inside the buffer, and memchr reads only that range.
        guard let found = unsafe memchr(base + from, Int32(byte), count &- from) else { return nil }
        return unsafe base.distance(to: UnsafeRawPointer(found))
    }

    /// The length of the longest prefix of bytes that all have a non-zero entry in `table` (256 entries, one per
    /// byte value: a ``ByteClass`` table).
    ///
    /// Tests 8 bytes per step with unchecked reads: the access token and every JSON string of a request are scanned
    /// this way on every request.
    @inlinable
    func prefixCount(inClass table: ByteClass) -> Int {
        unsafe table.members.withUnsafeBufferPointer { member in
            precondition(member.count == 256, "a byte class has 256 entries")
            // Safe because every read is below `count` and a byte indexes the 256-entry table.
            let n = count
            var i = 0
            while i &+ 8 <= n {
                let all = unsafe member[Int(_base[i])] & member[Int(_base[i &+ 1])] & member[Int(_base[i &+ 2])]
                    & member[Int(_base[i &+ 3])] & member[Int(_base[i &+ 4])] & member[Int(_base[i &+ 5])]
                    & member[Int(_base[i &+ 6])] & member[Int(_base[i &+ 7])]
                if all == 0 { break }
                i &+= 8
            }
            while i < n, unsafe member[Int(_base[i])] != 0 { i &+= 1 }
            return i
        }
    }

    /// The OR of the XOR of every byte with the byte at the same index of `other` (of the same length), 8 bytes per
    /// step: zero exactly when the views are equal. Every byte is read whatever the bytes are, with no early exit,
    /// so the time depends on the length alone (``constantTimeEquals(_:_:)``).
    @inlinable
    func accumulatedDifference(_ other: ByteView) -> UInt64 {
        precondition(count == other.count, "accumulatedDifference needs views of one length")
        var difference: UInt64 = 0
        var i = 0
        while i &+ 8 <= count {
            // Safe because [i, i + 8) lies inside both buffers; the loads need no alignment.
            difference |= unsafe _base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                ^ other._base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < count {
            // Safe because i < count for both buffers.
            difference |= UInt64(unsafe _base[i] ^ other._base[i])
            i &+= 1
        }
        return difference
    }

    /// The 8 bytes at `index` as a little-endian `UInt64`; traps when they are not all inside the view (a bug, never
    /// input-driven).
    @inlinable
    func littleEndianWord(at index: Int) -> UInt64 {
        precondition(index >= 0 && index <= count &- 8, "ByteView word out of range")
        // Safe because [index, index + 8) was just checked; the load needs no alignment.
        return UInt64(littleEndian: unsafe _base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
    }

    /// Copies the bytes into a new array (for values that must outlive the view).
    @usableFromInline
    package func copyToArray() -> [UInt8] {
        unsafe [UInt8](_base)
    }

    /// Decodes the bytes as UTF-8 (the caller has validated them), into a new `String`.
    func decodeString() -> String {
        unsafe String(decoding: _base, as: UTF8.self)
    }

    /// Calls `body` with the raw buffer, for the crypto backend and the C skin only.
    ///
    /// - Warning: Do not escape the pointer from the closure.
    @unsafe
    @inlinable
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try unsafe body(_base)
    }
}

// MARK: - Vending views

extension ByteView {
    /// Calls `body` with a view of an array's bytes.
    @inlinable
    package static func with<R, E: Error>(_ bytes: [UInt8], _ body: (ByteView) throws(E) -> R) throws(E) -> R {
        try unsafe bytes.span.withUnsafeBytes { (raw) throws(E) -> R in
            // Safe because the view lives only inside the closure, while the span borrows the array's storage.
            try body(unsafe ByteView(_unsafeBytes: raw))
        }
    }

    /// Calls `body` with a view of a string's UTF-8, without copying (a string's span is its own storage; a small
    /// string's is the value itself, borrowed for the call).
    @inlinable
    static func with<R, E: Error>(utf8 string: String, _ body: (ByteView) throws(E) -> R) throws(E) -> R {
        try unsafe string.utf8.span.withUnsafeBytes { (raw) throws(E) -> R in
            // Safe because the view lives only inside the closure, while the span borrows the string.
            try body(unsafe ByteView(_unsafeBytes: raw))
        }
    }

    /// Calls `body` with a view of a substring's UTF-8, without copying.
    @inlinable
    static func with<R, E: Error>(utf8 string: Substring, _ body: (ByteView) throws(E) -> R) throws(E) -> R {
        try unsafe string.utf8.span.withUnsafeBytes { (raw) throws(E) -> R in
            // Safe because the view lives only inside the closure, while the span borrows the substring.
            try body(unsafe ByteView(_unsafeBytes: raw))
        }
    }
}

// MARK: - Hashing

extension ByteView {
    /// SipHash-1-3 of the bytes under the process's random key (``KeyedHash``), so that clients cannot aim
    /// collisions at one bucket of a cache.
    func seededHash() -> Int {
        Int(truncatingIfNeeded: KeyedHash.hash(self))
    }
}
