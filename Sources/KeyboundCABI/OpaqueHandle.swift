//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import CKeybound

/// A Swift object behind an opaque C handle (`kb_config *`, `kb_verifier *`, `kb_result *`, `kb_redis_store *`):
/// made and retained by its `_new`, borrowed by every other call, released by its `_free`.
protocol OpaqueHandle: AnyObject {}

extension OpaqueHandle {
    /// The handle's object, borrowed for the call; `nil` for a NULL handle.
    @unsafe
    static func from(_ handle: OpaquePointer?) -> Self? {
        guard let handle = unsafe handle else { return nil }
        return unsafe Unmanaged<Self>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// Runs `body` with the handle's object. A NULL handle, or an argument `body` finds invalid (it throws
    /// ``InvalidArgument``), is `KB_ERR_INVALID_ARGUMENT`.
    @unsafe
    static func with(_ handle: OpaquePointer?, _ body: (Self) throws(InvalidArgument) -> kb_status) -> kb_status {
        guard let object = unsafe from(handle) else { return Status.invalidArgument }
        do {
            return try body(object)
        } catch {
            return Status.invalidArgument
        }
    }

    /// A `_new`: stores a retained handle to `object` in `*out`, or answers `KB_ERR_INVALID_ARGUMENT` for a NULL `out`.
    @unsafe
    static func publish(_ object: @autoclosure () -> Self, to out: UnsafeMutablePointer<OpaquePointer?>?) -> kb_status {
        guard let out = unsafe out else { return Status.invalidArgument }
        unsafe out.pointee = OpaquePointer(Unmanaged.passRetained(object()).toOpaque())
        return Status.ok
    }

    /// A `_free`: releases the handle's reference; NULL is a no-op.
    @unsafe
    static func release(_ handle: OpaquePointer?) {
        guard let handle = unsafe handle else { return }
        unsafe Unmanaged<Self>.fromOpaque(UnsafeRawPointer(handle)).release()
    }
}
