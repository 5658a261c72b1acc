/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *
 * keybound_redis.h: the Redis replay store of Keybound's C API. Only libkeybound-redis.so.0 exports these
 * functions (scripts/build-capi.sh --with-redis, which links hiredis; `pkg-config keybound-redis`); the default
 * libkeybound.so.0 has none of them. Everything in keybound.h holds here too, conventions included.
 *===----------------------------------------------------------------------===*/
#ifndef KEYBOUND_REDIS_H
#define KEYBOUND_REDIS_H

#include "keybound.h"

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-extension"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A replay store shared by many instances: a pool of hiredis connections to one Redis (`SET key 1 NX PX ms`), with
 * an in-process cache in front. Thread-safe. When Redis cannot be reached or does not answer within the command
 * timeout, verification fails closed with KB_ERR_REPLAY_STORE_UNAVAILABLE (501); it recovers by itself. */
typedef struct kb_redis_store kb_redis_store;

/* Makes a store for `url`: redis://[[user]:password@]HOST[:PORT][/DB][?QUERY] or unix://PATH[?QUERY], where QUERY
 * holds db=N, password=P, user=U and key_share=N (the fleet-wide per-key replay share: a proof key past N live
 * entries gets KB_ERR_REPLAY_QUOTA_EXCEEDED; 0, the default, is off; docs/design.md "Per-key replay share").
 * pool_size: connections (0 means 8; size it to the verifying threads); timeout_ms: per command (0 means 100).
 * Connects lazily. Returns KB_OK and *out (free with kb_redis_store_free), KB_ERR_INVALID_CONFIG for a bad URL
 * or value, KB_ERR_INVALID_ARGUMENT for NULL pointers. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_redis_store_new(const uint8_t *KB_NULLABLE url, size_t url_len,
                                                          uint32_t pool_size, uint32_t timeout_ms,
                                                          kb_redis_store *KB_NULLABLE *KB_NULLABLE out);

/* Makes cfg use the store (as kb_config_set_replay_store does). The config and every verifier made from it keep
 * their own reference, so the store may be freed any time after this call. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_redis_store(kb_config *KB_NULLABLE cfg,
                                                                 kb_redis_store *KB_NULLABLE store);

/* Releases the caller's reference. NULL is a no-op. */
KB_API void kb_redis_store_free(kb_redis_store *KB_NULLABLE store);

#ifdef __cplusplus
}
#endif

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#endif /* KEYBOUND_REDIS_H */
