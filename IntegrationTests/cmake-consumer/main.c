/*===----------------------------------------------------------------------===*
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
/* Built by CMake through find_package(Keybound) (IntegrationTests/cmake-consumer/CMakeLists.txt): checks that the
 * header, the library and the CMake package agree on the version, and makes and frees a verifier. */
#include <keybound.h>
#ifdef KEYBOUND_CONSUMER_REDIS
#include <keybound_redis.h>
#endif

#include <stdio.h>
#include <string.h>

int main(void) {
    if (kb_version_number() != KB_VERSION_NUMBER || strcmp(kb_version_string(), KB_VERSION_STRING) != 0 ||
        strcmp(KEYBOUND_PACKAGE_VERSION, KB_VERSION_STRING) != 0) {
        fprintf(stderr, "version mismatch: header %s, library %s, CMake package %s\n", KB_VERSION_STRING,
                kb_version_string(), KEYBOUND_PACKAGE_VERSION);
        return 1;
    }
    kb_config *cfg = NULL;
    kb_verifier *verifier = NULL;
    char err[128] = "";
    if (kb_config_new(&cfg) != KB_OK) return 1;
    kb_status status = kb_verifier_new(cfg, &verifier, err, sizeof err);
    kb_config_free(cfg);
    if (status != KB_OK) {
        fprintf(stderr, "kb_verifier_new: %s (%s)\n", kb_status_name(status), err);
        return 1;
    }
#ifdef KEYBOUND_CONSUMER_REDIS
    kb_redis_store *store = NULL;
    if (kb_redis_store_new((const uint8_t *)"http://nowhere", 14, 0, 0, &store) != KB_ERR_INVALID_CONFIG || store) {
        fprintf(stderr, "kb_redis_store_new accepted a URL that is not redis://\n");
        return 1;
    }
    printf("cmake-consumer: the Redis flavour's kb_redis_store_new links and answers\n");
#endif
    printf("cmake-consumer: Keybound %s, backend %s, %s\n", kb_version_string(), kb_verifier_backend_name(verifier),
           kb_status_string(KB_ERR_PROOF_REPLAYED));
    kb_verifier_free(verifier);
    return 0;
}
