//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound

/// A struct of keybound.h that begins with `uint32_t struct_size` and only ever gets fields appended.
///
/// The caller's `struct_size` says which layout it was built against. Every size from the first published layout's
/// up is accepted: an older caller (smaller) gets the fields it knows, a newer one (bigger) keeps its newer fields
/// untouched. Every `struct_size` check of the C ABI goes through ``AppendOnly``.
/// `struct_size` is the first field of each (the header's layout), so it is read as the first four bytes.
protocol AppendOnlyStruct {
    /// The size of the first published layout: the end of its last field. The smallest `struct_size` accepted.
    static var firstLayoutSize: Int { get }
    var struct_size: UInt32 { get set }
    init()
}

extension kb_metrics: AppendOnlyStruct {
    /// First layout: `struct_size` … `token_cache_misses` (72 bytes).
    static var firstLayoutSize: Int {
        MemoryLayout<kb_metrics>.offset(of: \.token_cache_misses)! + MemoryLayout<UInt64>.size
    }
}

extension kb_replay_store_vtable: AppendOnlyStruct {
    /// First layout: `struct_size`, `insert`, `destroy` (24 bytes on a 64-bit platform); `insert_owned` was appended.
    static var firstLayoutSize: Int {
        unsafe MemoryLayout<kb_replay_store_vtable>.offset(of: \.destroy)! + MemoryLayout<UnsafeRawPointer?>.size
    }
}

extension kb_requirements: AppendOnlyStruct {
    /// First layout: `struct_size` … `acr_values_len` (56 bytes on a 64-bit platform).
    static var firstLayoutSize: Int {
        unsafe MemoryLayout<kb_requirements>.offset(of: \.acr_values_len)! + MemoryLayout<Int>.size
    }
}

enum AppendOnly {
    /// The caller's `struct_size`, or `nil` when it is smaller than the first layout (KB_ERR_INVALID_ARGUMENT).
    /// Only the size field is read.
    @unsafe
    static func callerSize<T: AppendOnlyStruct>(_ pointer: UnsafePointer<T>) -> Int? {
        let size = Int(unsafe UnsafeRawPointer(pointer).load(as: UInt32.self))
        return size >= T.firstLayoutSize ? size : nil
    }

    /// Reads a caller's struct: the bytes its `struct_size` covers, up to this library's layout; fields the caller's
    /// layout lacks are zero. `nil` when `struct_size` is smaller than the first layout.
    @unsafe
    static func read<T: AppendOnlyStruct>(_ pointer: UnsafePointer<T>) -> T? {
        guard let size = unsafe callerSize(pointer) else { return nil }
        var value = T()
        let count = min(size, MemoryLayout<T>.size)
        unsafe withUnsafeMutableBytes(of: &value) { target in
            unsafe target.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: count))
        }
        return value
    }

    /// Writes `value` into a caller's struct: the fields both layouts have, after `struct_size`, which is left as the
    /// caller set it; bytes past this library's layout are not touched. `false` (and nothing written) when
    /// `struct_size` is smaller than the first layout.
    @unsafe
    static func write<T: AppendOnlyStruct>(_ value: T, to pointer: UnsafeMutablePointer<T>) -> Bool {
        guard let size = unsafe callerSize(pointer) else { return false }
        let start = MemoryLayout<UInt32>.size
        let end = min(size, MemoryLayout<T>.size)
        var value = value
        unsafe withUnsafeBytes(of: &value) { source in
            unsafe (UnsafeMutableRawPointer(pointer) + start).copyMemory(
                from: source.baseAddress! + start, byteCount: end - start)
        }
        return true
    }
}
