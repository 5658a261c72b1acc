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

/// Why a C argument was refused; every case becomes `KB_ERR_INVALID_ARGUMENT`.
struct InvalidArgument: Error {}

/// Checks a C buffer (`ptr`, `len`) before any Swift buffer is formed over it.
///
/// `size_t` arrives as `Int`, so a length above `PTRDIFF_MAX` (`SIZE_MAX` included) is negative here and refused, as
/// are a NULL pointer with a non-zero length and a range that would wrap the address space. NULL with length 0 is an
/// empty buffer.
@unsafe
func cBuffer(_ pointer: UnsafePointer<UInt8>?, _ count: Int) throws(InvalidArgument) -> UnsafeRawBufferPointer {
    guard count >= 0 else { throw InvalidArgument() }
    guard let pointer = unsafe pointer else {
        guard count == 0 else { throw InvalidArgument() }
        return unsafe UnsafeRawBufferPointer(start: nil, count: 0)
    }
    let (_, overflow) = UInt(bitPattern: pointer).addingReportingOverflow(UInt(count))
    guard !overflow else { throw InvalidArgument() }
    return unsafe UnsafeRawBufferPointer(start: pointer, count: count)
}

/// Like ``cBuffer(_:_:)``, but NULL with length 0 means "absent" (`nil`).
@unsafe
func cOptionalBuffer(_ pointer: UnsafePointer<UInt8>?, _ count: Int) throws(InvalidArgument) -> UnsafeRawBufferPointer? {
    if unsafe pointer == nil && count == 0 { return nil }
    return try unsafe cBuffer(pointer, count)
}

/// A C buffer's bytes as a `String`, refusing bytes that are not UTF-8 (configuration and revocation values compare
/// exact bytes, so no replacement character may be substituted).
@unsafe
func cString(_ pointer: UnsafePointer<UInt8>?, _ count: Int) throws(InvalidArgument) -> String {
    let buffer = try unsafe cBuffer(pointer, count)
    guard let string = unsafe String(validating: buffer, as: UTF8.self) else { throw InvalidArgument() }
    return string
}

/// A C buffer's bytes, copied.
@unsafe
func cBytes(_ pointer: UnsafePointer<UInt8>?, _ count: Int) throws(InvalidArgument) -> [UInt8] {
    unsafe Array(try unsafe cBuffer(pointer, count))
}

/// An optional caller buffer for details (`char *errbuf, size_t errbuf_len`).
@safe
struct ErrorBuffer {
    private let base: UnsafeMutablePointer<CChar>?
    private let capacity: Int

    /// Refuses a length above `PTRDIFF_MAX` or one that would wrap the address space; NULL means "no details wanted".
    @unsafe
    init(_ base: UnsafeMutablePointer<CChar>?, _ capacity: Int) throws(InvalidArgument) {
        guard capacity >= 0 else { throw InvalidArgument() }
        if let base = unsafe base {
            let (_, overflow) = UInt(bitPattern: base).addingReportingOverflow(UInt(capacity))
            guard !overflow else { throw InvalidArgument() }
        }
        unsafe self.base = base
        self.capacity = capacity
    }

    /// Writes `text`, truncated at a UTF-8 boundary to fit, always NUL-terminated when there is room for a byte.
    func write(_ text: String) {
        guard let base = unsafe base, capacity > 0 else { return }
        var text = text
        text.withUTF8 { utf8 in
            var n = min(utf8.count, capacity &- 1)
            // Do not cut a multi-byte character in two.
            while unsafe n > 0 && n < utf8.count && utf8[n] & 0xC0 == 0x80 { n &-= 1 }
            if n > 0, let source = utf8.baseAddress {
                // Safe because n < capacity (the caller's buffer) and n <= utf8.count.
                unsafe UnsafeMutableRawPointer(base).copyMemory(from: UnsafeRawPointer(source), byteCount: n)
            }
            unsafe base[n] = 0
        }
    }
}

/// Bytes owned by a result handle, reused from one verification to the next so that a warm verification does not
/// allocate: the storage only grows.
@safe
struct OwnedBytes {
    private(set) var base: UnsafeMutableRawPointer? = nil
    private(set) var capacity = 0
    private(set) var count = 0
    /// False when the field is absent (the C view is then NULL/0).
    private(set) var isPresent = false

    mutating func clear() {
        count = 0
        isPresent = false
    }

    /// Replaces the contents with `bytes`.
    mutating func set(_ bytes: UnsafeRawBufferPointer) {
        let needed = bytes.count
        if unsafe needed > capacity || base == nil {
            let newCapacity = max(needed, 2 &* capacity, 64)
            unsafe base?.deallocate()
            unsafe base = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 1)
            capacity = newCapacity
        }
        if needed > 0, let source = bytes.baseAddress, let base = unsafe base {
            unsafe base.copyMemory(from: source, byteCount: needed)
        }
        count = needed
        isPresent = true
    }

    mutating func set(_ string: String) {
        var string = string
        string.withUTF8 { unsafe set(UnsafeRawBufferPointer($0)) }
    }

    mutating func set(_ string: StaticString) {
        unsafe set(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    /// Releases the storage (the owner's deinit).
    mutating func release() {
        unsafe base?.deallocate()
        unsafe base = nil
        capacity = 0
        clear()
    }
}
