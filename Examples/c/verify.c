/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *
 * A minimal server-side use of libkeybound, to copy: one verifier for the process, one result per thread, and
 * the response values on refusal. Build it with this exact command (scripts/ci/capi.sh runs it as written), with
 * PKG_CONFIG_PATH=DIR/lib/pkgconfig for a library installed by scripts/build-capi.sh --prefix DIR; the rpath lets
 * ./verify find libkeybound.so.0 there:
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic verify.c $(pkg-config --cflags --libs keybound) -Wl,-rpath,"$(pkg-config --variable=libdir keybound)" -o verify
 * It verifies the RFC 9449 Figure 2 token-request proof (token-endpoint mode) at that proof's time.
 *===----------------------------------------------------------------------===*/
#include <keybound.h>

#include <stdio.h>
#include <string.h>

static const char proof[] =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0Rs"
    "cEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2"
    "In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2"
    "VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37"
    "xRZT3Lg";

/* Handles one request: returns the HTTP status to answer with. */
static int handle(kb_verifier *verifier, kb_result *result, const char *method, const char *url, const char *dpop,
                  int64_t now) {
    const uint8_t *values[1] = {(const uint8_t *)dpop};
    size_t lengths[1] = {strlen(dpop)};
    kb_status status = kb_verify_token_endpoint(verifier, (const uint8_t *)method, strlen(method),
                                                (const uint8_t *)url, strlen(url), values, lengths, 1, now, result);
    const uint8_t *value = NULL;
    size_t length = 0;
    if (status == KB_OK) {
        if (kb_result_field(result, KB_FIELD_JKT, &value, &length) == KB_OK)
            printf("verified: bind the new token to cnf.jkt = %.*s\n", (int)length, (const char *)value);
    } else {
        printf("refused: %d %s\n", status, kb_status_name(status));
        if (kb_result_field(result, KB_FIELD_ERROR_BODY, &value, &length) == KB_OK && value)
            printf("  body: %.*s\n", (int)length, (const char *)value);
    }
    return kb_result_http_status(result);
}

int main(void) {
    if (kb_version_number() != KB_VERSION_NUMBER) {
        fprintf(stderr, "keybound.h %s does not match the library %s\n", KB_VERSION_STRING, kb_version_string());
        return 1;
    }
    kb_config *cfg = NULL;
    kb_verifier *verifier = NULL;
    kb_result *result = NULL;
    char err[256] = "";
    if (kb_config_new(&cfg) != KB_OK || kb_config_set_int(cfg, KB_OPT_PROOF_ALGORITHMS, KB_ALG_ES256 | KB_ALG_EDDSA) != KB_OK ||
        kb_verifier_new(cfg, &verifier, err, sizeof err) != KB_OK) {
        fprintf(stderr, "configuration failed: %s\n", err);
        kb_config_free(cfg);
        return 1;
    }
    kb_config_free(cfg); /* the verifier keeps what it needs */
    if (kb_result_new(&result) != KB_OK) return 1;

    const char *url = "https://server.example.com/token";
    int first = handle(verifier, result, "POST", url, proof, 1562262616);
    int again = handle(verifier, result, "POST", url, proof, 1562262616); /* the same proof again: a replay */
    printf("HTTP %d, then HTTP %d\n", first, again);

    kb_result_free(result);
    kb_verifier_free(verifier);
    return first == 200 && again == 400 ? 0 : 1;
}
