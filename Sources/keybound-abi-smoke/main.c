/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/

/* A pure-C consumer of include/keybound.h, built by `swift build` and run by `swift run keybound-abi-smoke`:
 * verifies the RFC 9449 Figure 2 token-request proof in token-endpoint mode, then its replay. */
#include "../../include/keybound.h"

#include <stdio.h>
#include <string.h>

static const char *const proof =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "keybound-abi-smoke: failed: %s\n", #cond); \
            return 1;                                                 \
        }                                                             \
    } while (0)

int main(void) {
    CHECK(kb_version_number() == KB_VERSION_NUMBER);
    CHECK(strcmp(kb_version_string(), KB_VERSION_STRING) == 0);

    kb_config *cfg = NULL;
    kb_verifier *verifier = NULL;
    kb_result *result = NULL;
    char err[256];
    CHECK(kb_config_new(&cfg) == KB_OK);
    CHECK(kb_verifier_new(cfg, &verifier, err, sizeof err) == KB_OK);
    kb_config_free(cfg);
    CHECK(kb_result_new(&result) == KB_OK);

    const uint8_t *values[1] = {(const uint8_t *)proof};
    size_t lengths[1] = {strlen(proof)};
    const char *url = "https://server.example.com/token";
    kb_status status = kb_verify_token_endpoint(verifier, (const uint8_t *)"POST", 4, (const uint8_t *)url,
                                                strlen(url), values, lengths, 1, 1562262616, result);
    CHECK(status == KB_OK);
    const uint8_t *jkt = NULL;
    size_t jkt_len = 0;
    CHECK(kb_result_field(result, KB_FIELD_JKT, &jkt, &jkt_len) == KB_OK);
    CHECK(jkt_len == 43 && memcmp(jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", 43) == 0);

    status = kb_verify_token_endpoint(verifier, (const uint8_t *)"POST", 4, (const uint8_t *)url, strlen(url), values,
                                      lengths, 1, 1562262616, result);
    CHECK(status == KB_ERR_PROOF_REPLAYED);
    CHECK(kb_result_http_status(result) == 400);

    printf("keybound-abi-smoke: %s ok (jkt %.*s, replay refused: %s)\n", kb_version_string(), (int)jkt_len,
           (const char *)jkt, kb_status_name(status));
    kb_result_free(result);
    kb_verifier_free(verifier);
    return 0;
}
