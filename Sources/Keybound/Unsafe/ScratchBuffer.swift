//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// A fixed-capacity, append-only byte writer over temporary memory (the stack when it fits).
///
/// Decoders write into it instead of growing an array, so a request under the size limits allocates nothing.
/// It is only vended through ``withScratch(capacity:_:)`` and never outlives that closure.
///
/// - Warning: Do not escape a `ScratchBuffer`, or a ``ByteView`` of it, from the closure that vends it.
@safe
@usableFromInline
struct ScratchBuffer {
    @usableFromInline
    let _base: UnsafeMutableRawBufferPointer
    /// How many bytes have been written.
    @usableFromInline
    private(set) var count: Int = 0

    @unsafe
    @inlinable
    init(_unsafeBytes base: UnsafeMutableRawBufferPointer) {
        unsafe self._base = base
    }

    /// How many bytes the buffer can hold.
    @inlinable
    var capacity: Int { unsafe _base.count }

    /// How many more bytes fit.
    @inlinable
    var remaining: Int { capacity &- count }

    /// Appends one byte; traps when full (callers size the buffer from the input's checked bound first).
    @inlinable
    mutating func append(_ byte: UInt8) {
        precondition(count < capacity, "ScratchBuffer overflow")
        // Safe because count < capacity was just checked.
        unsafe _base[count] = byte
        count &+= 1
    }

    /// Appends the bytes of a view; traps when they do not fit.
    @inlinable
    mutating func append(_ bytes: ByteView) {
        precondition(bytes.count <= remaining, "ScratchBuffer overflow")
        var i = 0
        while i < bytes.count {
            // Safe because count + bytes.count <= capacity was checked above.
            unsafe _base[count &+ i] = bytes[i]
            i &+= 1
        }
        count &+= bytes.count
    }

    /// Appends the UTF-8 of a static string; traps when it does not fit.
    @inlinable
    mutating func append(_ literal: StaticString) {
        // Safe because the literal's storage is immortal and `utf8CodeUnitCount` bytes long.
        let view = unsafe ByteView(
            _unsafeBytes: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        )
        append(view)
    }

    /// The byte at `index`, which must be below ``count``.
    @inlinable
    subscript(index: Int) -> UInt8 {
        get {
            precondition(index >= 0 && index < count, "ScratchBuffer index out of range")
            return unsafe _base[index]
        }
        set {
            precondition(index >= 0 && index < count, "ScratchBuffer index out of range")
            unsafe _base[index] = newValue
        }
    }

    /// Forgets the last `n` bytes (`n` ≤ ``count``).
    @inlinable
    mutating func removeLast(_ n: Int) {
        precondition(n >= 0 && n <= count, "ScratchBuffer underflow")
        count &-= n
    }

    /// Forgets everything written.
    @inlinable
    mutating func removeAll() { count = 0 }

    /// A view of the bytes written so far. Valid only while this buffer's closure runs and until the next write.
    @inlinable
    var view: ByteView {
        // Safe because the first `count` bytes are initialised and the memory outlives the closure's body.
        unsafe ByteView(_unsafeBytes: UnsafeRawBufferPointer(rebasing: _base[0..<count]))
    }

    /// Calls `body` with the raw writable memory (all of it) and then records how many bytes it wrote.
    ///
    /// - Warning: Do not escape the pointer from the closure. `body` must return a count ≤ ``remaining``.
    @unsafe
    @inlinable
    mutating func withUnsafeUninitializedTail<E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> Int
    ) throws(E) {
        let tail = unsafe UnsafeMutableRawBufferPointer(rebasing: _base[count...])
        let written = try unsafe body(tail)
        precondition(written >= 0 && written <= remaining, "ScratchBuffer overflow")
        count &+= written
    }
}

/// Calls `body` with an empty scratch buffer of `capacity` bytes, taken from the calling thread's arena.
///
/// The arena is allocated once per thread (on first use) and reused, so decoding a request allocates nothing on
/// the heap. Requests bigger than the arena's free space fall back to a heap block, freed when `body` returns.
@inlinable
func withScratch<R, E: Error>(capacity: Int, _ body: (inout ScratchBuffer) throws(E) -> R) throws(E) -> R {
    precondition(capacity >= 0, "negative scratch capacity")
    return try unsafe ScratchArena.withRegion(byteCount: capacity) { (region) throws(E) -> R in
        // Safe because the region is exclusively ours until this closure returns, and `body` may not escape it.
        var scratch = unsafe ScratchBuffer(_unsafeBytes: region)
        return try body(&scratch)
    }
}

// MARK: - Fixed-width words

extension ScratchBuffer {
    /// Appends a `UInt32` in native byte order (for small tables kept in scratch memory).
    @inlinable
    @inline(__always)
    mutating func appendWord(_ value: UInt32) {
        precondition(remaining >= 4, "ScratchBuffer overflow")
        // Safe because 4 bytes remain; the store is unaligned-tolerant.
        unsafe _base.storeBytes(of: value, toByteOffset: count, as: UInt32.self)
        count &+= 4
    }

    /// The `UInt32` stored at byte offset `offset` by ``appendWord(_:)``.
    @inlinable
    func word(at offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset &+ 4 <= count, "ScratchBuffer word out of range")
        // Safe because [offset, offset + 4) was checked to be written.
        return unsafe _base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }
}
