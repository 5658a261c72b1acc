//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if Redis
public import CKeyboundRedis
import Keybound
import KeyboundRedis

/// What a `kb_redis_store` holds: the Redis store with an in-process cache in front.
final class RedisStoreBox: OpaqueHandle, Sendable {
    let store: LayeredReplayStore

    init(_ store: LayeredReplayStore) {
        self.store = store
    }
}

@c @implementation
public func kb_redis_store_new(
    _ url: UnsafePointer<UInt8>?, _ urlLength: Int,
    _ poolSize: UInt32,
    _ timeoutMilliseconds: UInt32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> kb_status {
    guard let out = unsafe out else { return Status.invalidArgument }
    unsafe out.pointee = nil
    let text: String
    do throws(InvalidArgument) {
        text = try unsafe cString(url, urlLength)
    } catch {
        return Status.invalidArgument
    }
    do throws(KeyboundError) {
        var configuration = try RedisConfiguration(url: text)
        if poolSize != 0 { configuration.poolSize = Int(poolSize) }
        if timeoutMilliseconds != 0 { configuration.commandTimeoutMilliseconds = Int(timeoutMilliseconds) }
        let store = try RedisReplayStore(configuration: configuration)
        let box = RedisStoreBox(LayeredReplayStore(shared: store))
        unsafe out.pointee = OpaquePointer(Unmanaged.passRetained(box).toOpaque())
        return Status.ok
    } catch {
        return Status.invalidConfig
    }
}

@c @implementation
public func kb_config_set_redis_store(_ cfg: OpaquePointer?, _ store: OpaquePointer?) -> kb_status {
    guard let cfg = unsafe cfg, let store = unsafe store else { return Status.invalidArgument }
    // The config's reference: released by the table's destroy when no config or verifier holds the store.
    let context = unsafe Unmanaged<RedisStoreBox>.fromOpaque(UnsafeRawPointer(store)).retain().toOpaque()
    var table = kb_replay_store_vtable()
    table.struct_size = UInt32(MemoryLayout<kb_replay_store_vtable>.size)
    unsafe table.insert = { context, key, expiresAt, now in
        guard let context = unsafe context, let key = unsafe key else { return Int32(KB_REPLAY_UNAVAILABLE) }
        let box = unsafe Unmanaged<RedisStoreBox>.fromOpaque(context).takeUnretainedValue()
        guard let replayKey = unsafe ReplayKey(bytes: Array(UnsafeBufferPointer(start: key, count: 32))) else {
            return Int32(KB_REPLAY_UNAVAILABLE)
        }
        return unsafe replayCode(box.store.insert(replayKey, expiresAt: expiresAt, now: now), retryAfter: nil)
    }
    // The owner goes on to the store, which counts it against RedisConfiguration.keyShare when one is set (from C,
    // the URL's `key_share` query item; off by default, as in Swift).
    unsafe table.insert_owned = { context, key, owner, expiresAt, now, retryAfter in
        guard let context = unsafe context, let key = unsafe key, let owner = unsafe owner else {
            return Int32(KB_REPLAY_UNAVAILABLE)
        }
        let box = unsafe Unmanaged<RedisStoreBox>.fromOpaque(context).takeUnretainedValue()
        guard let replayKey = unsafe ReplayKey(bytes: Array(UnsafeBufferPointer(start: key, count: 32))),
            let replayOwner = unsafe ReplayOwner(bytes: Array(UnsafeBufferPointer(start: owner, count: 32)))
        else { return Int32(KB_REPLAY_UNAVAILABLE) }
        let result = box.store.insert(replayKey, owner: replayOwner, expiresAt: expiresAt, now: now)
        return unsafe replayCode(result, retryAfter: retryAfter)
    }
    unsafe table.destroy = { context in
        guard let context = unsafe context else { return }
        unsafe Unmanaged<RedisStoreBox>.fromOpaque(context).release()
    }
    let status = unsafe kb_config_set_replay_store(cfg, &table, context)
    if status != Status.ok { unsafe Unmanaged<RedisStoreBox>.fromOpaque(context).release() }
    return status
}

/// The `KB_REPLAY_*` answer for a store's result; a quota's known wait goes to `retryAfter` when given.
private func replayCode(_ result: ReplayInsertResult, retryAfter: UnsafeMutablePointer<Int64>?) -> Int32 {
    switch result {
    case .inserted: return Int32(KB_REPLAY_INSERTED)
    case .replayed: return Int32(KB_REPLAY_REPLAYED)
    case .full: return Int32(KB_REPLAY_FULL)
    case .unavailable: return Int32(KB_REPLAY_UNAVAILABLE)
    case .restarted: return Int32(KB_REPLAY_RESTARTED)
    case .quota(let seconds):
        if let seconds, let retryAfter = unsafe retryAfter { unsafe retryAfter.pointee = seconds }
        return Int32(KB_REPLAY_QUOTA)
    }
}

@c @implementation
public func kb_redis_store_free(_ store: OpaquePointer?) {
    unsafe RedisStoreBox.release(store)
}
#endif
