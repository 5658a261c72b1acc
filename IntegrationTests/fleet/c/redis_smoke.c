/*===----------------------------------------------------------------------===*
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
/* The Redis flavour of the C library: kb_redis_store_new / kb_config_set_redis_store / kb_redis_store_free.
 * Usage: redis_smoke redis://127.0.0.1:PORT/0   (built by IntegrationTests/fleet/c/run.sh against libkeybound-redis) */
#include <keybound_redis.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "redis_smoke: failed: %s (line %d)\n", #cond, __LINE__); return 1; } } while (0)

int main(int argc, char **argv) {
    CHECK(argc == 2);
    const char *bad = "http://nowhere";
    kb_redis_store *store = NULL;
    CHECK(kb_redis_store_new((const uint8_t *)bad, strlen(bad), 0, 0, &store) == KB_ERR_INVALID_CONFIG && store == NULL);
    /* The fleet-wide per-key share rides on the URL's query: a bad value is refused, a good one accepted. */
    const char *bad_share = "redis://127.0.0.1:6379/0?key_share=-1";
    CHECK(kb_redis_store_new((const uint8_t *)bad_share, strlen(bad_share), 0, 0, &store) == KB_ERR_INVALID_CONFIG);
    const char *share = "redis://127.0.0.1:6379/0?key_share=100";
    CHECK(kb_redis_store_new((const uint8_t *)share, strlen(share), 0, 0, &store) == KB_OK && store != NULL);
    kb_redis_store_free(store);
    store = NULL;
    CHECK(kb_redis_store_new((const uint8_t *)argv[1], strlen(argv[1]), 4, 200, NULL) == KB_ERR_INVALID_ARGUMENT);
    CHECK(kb_redis_store_new((const uint8_t *)argv[1], strlen(argv[1]), 4, 200, &store) == KB_OK && store != NULL);

    kb_config *cfg = NULL;
    CHECK(kb_config_new(&cfg) == KB_OK);
    CHECK(kb_config_set_redis_store(NULL, store) == KB_ERR_INVALID_ARGUMENT);
    CHECK(kb_config_set_redis_store(cfg, store) == KB_OK);
    kb_redis_store_free(store); /* the config keeps its own reference */
    kb_verifier *verifier = NULL;
    char err[256] = {0};
    CHECK(kb_verifier_new(cfg, &verifier, err, sizeof err) == KB_OK);
    kb_config_free(cfg);

    kb_metrics metrics = KB_METRICS_INIT;
    CHECK(kb_verifier_metrics(verifier, &metrics) == KB_OK);
    CHECK(metrics.replay_cache_capacity == UINT64_MAX); /* an external store */
    kb_verifier_free(verifier); /* the last holder: the store goes too */
    kb_redis_store_free(NULL);
    printf("redis_smoke: kb_redis_store_new, kb_config_set_redis_store, kb_redis_store_free: ok\n");
    return 0;
}
