/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *
 * The C ABI test: every function of include/keybound.h and every status, against the installed header and
 * library (dist/). Built with -std=c11 -Wall -Wextra -Werror -pedantic; run plain, under ASan+UBSan and under
 * valgrind by scripts/ci/capi.sh.
 *
 * Usage: test_capi FIXTURES LIVE   (FIXTURES: the output of IntegrationTests/c/gen_fixtures.py; LIVE: the output of
 *                                  IntegrationTests/c/gen_live_fixtures.py, requests signed at the real time)
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L

#include <keybound.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ===== Harness ===== */

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                                       \
    do {                                                                                                   \
        kb_status got_ = (expr);                                                                           \
        checks++;                                                                                          \
        if (got_ != (expected)) {                                                                          \
            failures++;                                                                                    \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__, __LINE__, #expr, \
                    got_, kb_status_name(got_), (int)(expected), kb_status_name(expected));                \
        }                                                                                                  \
        note_status(got_);                                                                                 \
    } while (0)

#define B(s) ((const uint8_t *)(s))

/* ===== The status table: each status and the call that produces it ===== */

struct status_row {
    kb_status status;
    const char *produced_by;
    int seen;
};

static struct status_row status_table[] = {
    {KB_OK, "kb_verify of a valid fixture request", 0},
    {KB_ERR_MISSING_AUTHORIZATION, "fixture: no Authorization value", 0},
    {KB_ERR_UNSUPPORTED_SCHEME, "fixture: Bearer scheme; Bearer without a DPoP header (scheme before proof)", 0},
    {KB_ERR_MALFORMED_AUTHORIZATION, "fixture: DPoP without token68", 0},
    {KB_ERR_MISSING_DPOP_PROOF, "fixture: no DPoP value", 0},
    {KB_ERR_MULTIPLE_DPOP_PROOFS, "fixture: two DPoP values", 0},
    {KB_ERR_PROOF_MALFORMED, "fixture: proof not a compact JWS", 0},
    {KB_ERR_PROOF_TYP, "fixture: proof typ", 0},
    {KB_ERR_PROOF_ALG, "fixture: proof alg", 0},
    {KB_ERR_PROOF_JWK, "fixture: proof jwk", 0},
    {KB_ERR_PROOF_CRIT, "fixture: proof crit", 0},
    {KB_ERR_PROOF_SIGNATURE, "fixture: proof signature", 0},
    {KB_ERR_PROOF_CLAIMS, "fixture: proof claims", 0},
    {KB_ERR_PROOF_HTM, "fixture: proof htm", 0},
    {KB_ERR_PROOF_HTU, "fixture: proof htu", 0},
    {KB_ERR_PROOF_IAT, "fixture: proof iat", 0},
    {KB_ERR_PROOF_ATH, "fixture: proof ath", 0},
    {KB_ERR_PROOF_REPLAYED, "kb_verify of the same request twice", 0},
    {KB_ERR_NONCE_REQUIRED, "kb_verify_token_endpoint, KB_NONCE_REQUIRED, proof without nonce", 0},
    {KB_ERR_NONCE_INVALID, "kb_verify_token_endpoint, KB_NONCE_REQUIRED, proof with a forged nonce", 0},
    {KB_ERR_TOKEN_MALFORMED, "fixture: token not a compact JWS", 0},
    {KB_ERR_TOKEN_TYP, "fixture: token typ", 0},
    {KB_ERR_TOKEN_ALG, "fixture: token alg", 0},
    {KB_ERR_TOKEN_KID_UNKNOWN, "fixture: unknown kid; and kb_verify after kb_verifier_replace_jwks", 0},
    {KB_ERR_TOKEN_KEY_MISMATCH, "fixture: token alg vs key", 0},
    {KB_ERR_TOKEN_SIGNATURE, "fixture: token signature", 0},
    {KB_ERR_TOKEN_ISSUER, "fixture: token iss", 0},
    {KB_ERR_TOKEN_AUDIENCE, "fixture: token aud", 0},
    {KB_ERR_TOKEN_EXPIRED, "fixture: token exp", 0},
    {KB_ERR_TOKEN_NOT_YET_VALID, "fixture: token nbf", 0},
    {KB_ERR_TOKEN_CLAIMS, "fixture: token claim types", 0},
    {KB_ERR_TOKEN_BINDING, "fixture: cnf.jkt; kb_verify_opaque with another jkt", 0},
    {KB_ERR_TOKEN_REVOKED, "kb_verify after kb_revoke_token_jti", 0},
    {KB_ERR_KEY_REVOKED, "kb_verify after kb_revoke_jkt", 0},
    {KB_ERR_REPLAY_CACHE_FULL, "kb_verify with an external store answering KB_REPLAY_FULL", 0},
    {KB_ERR_REPLAY_STORE_UNAVAILABLE, "kb_verify with an external store answering KB_REPLAY_UNAVAILABLE", 0},
    /* 502 is a crypto-backend failure that no input can cause: only its names are checked. */
    {KB_ERR_INTERNAL, "(not producible by input: names checked only)", 1},
    {KB_ERR_INVALID_ARGUMENT, "NULL handles, NULL+length, SIZE_MAX lengths, unknown options", 0},
    {KB_ERR_BUFFER_TOO_SMALL, "kb_mint_nonce into a 10-byte buffer", 0},
    {KB_ERR_INVALID_CONFIG, "kb_config_set_int(STRICT_TOKEN_TYPE, 2); kb_verifier_new with max age 10^6", 0},
    {KB_ERR_INVALID_JWKS, "kb_verifier_new with an issuer whose JWKS has no keys array", 0},
    {KB_ERR_INVALID_KEY_ENCODING, "kb_verifier_new with a PEM key that is not PEM", 0},
    {KB_ERR_PRIVATE_KEY_GIVEN, "kb_verifier_new with a PEM private key", 0},
    {KB_ERR_UNUSABLE_KEY, "kb_verifier_new with an X25519 PEM key", 0},
    {KB_ERR_INSUFFICIENT_USER_AUTHENTICATION, "kb_verify_with_requirements: max_age 10, acr_values", 0},
    {KB_ERR_INSUFFICIENT_SCOPE, "kb_verify_with_requirements: scope admin", 0},
    /* 950 belongs to the CLI: only its names are checked. */
    {KB_ERR_INVALID_INPUT_LINE, "(the CLI's: names checked only)", 1},
    /* The rows appended after 950. */
    {KB_ERR_REPLAY_QUOTA_EXCEEDED, "KB_OPT_REPLAY_KEY_SHARE 2; insert_owned answering KB_REPLAY_QUOTA", 0},
    {KB_ERR_BOUND_TOKEN_AS_BEARER, "KB_OPT_ALLOW_BEARER: a token with cnf sent as Bearer", 0},
    {KB_ERR_REPLAY_STORE_RESTARTED, "kb_verify with an external store answering KB_REPLAY_RESTARTED", 0},
};

#define STATUS_COUNT (sizeof status_table / sizeof status_table[0])

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_status(kb_status status) {
    pthread_mutex_lock(&status_lock);
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        if (status_table[i].status == status) status_table[i].seen = 1;
    }
    pthread_mutex_unlock(&status_lock);
}

/* ===== Fixtures ===== */

struct bytes {
    uint8_t *data; /* NULL when absent */
    size_t len;
    int present;
};

struct request_case {
    char mode; /* 'r' resource, 't' token endpoint */
    kb_status expected;
    struct bytes method, url, authorization, jkt, sub, name;
    size_t dpop_count;
    struct bytes *dpop;
    const uint8_t **dpop_ptrs;
    size_t *dpop_lens;
};

static int64_t fixture_now;
static struct bytes fixture_issuer, fixture_audience, fixture_jwks, fixture_pem;
static struct request_case *cases;
static size_t case_count;

static struct bytes from_hex(const char *hex) {
    struct bytes b = {NULL, 0, 0};
    if (strcmp(hex, "-") == 0) return b;
    b.present = 1;
    if (strcmp(hex, "=") == 0) {
        b.data = malloc(1);
        return b;
    }
    size_t n = strlen(hex) / 2;
    b.data = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        b.data[i] = (uint8_t)v;
    }
    b.data[n] = 0;
    b.len = n;
    return b;
}

static int bytes_equal(const uint8_t *p, size_t n, const char *s) {
    return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* The lines both fixture files start with (now, issuer, audience, jwks): 1 when `kind` was one of them. */
struct fixture_header {
    int64_t now;
    struct bytes issuer, audience, jwks;
};

static int parse_header_line(const char *kind, char **save, struct fixture_header *h) {
    char *value = strtok_r(NULL, " ", save);
    if (!value) return 0;
    if (strcmp(kind, "now") == 0) {
        h->now = strtoll(value, NULL, 10);
    } else if (strcmp(kind, "issuer") == 0) {
        h->issuer = from_hex(value);
    } else if (strcmp(kind, "audience") == 0) {
        h->audience = from_hex(value);
    } else if (strcmp(kind, "jwks") == 0) {
        h->jwks = from_hex(value);
    } else {
        return 0;
    }
    return 1;
}

static int load_fixtures(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, f);
    fclose(f);
    text[got] = 0;
    cases = calloc(1024, sizeof *cases);
    char *save_line = NULL;
    for (char *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
        char *save = NULL;
        char *kind = strtok_r(line, " ", &save);
        if (!kind) continue;
        if (strcmp(kind, "case") == 0 && case_count < 1024) {
            struct request_case *c = &cases[case_count++];
            c->mode = strtok_r(NULL, " ", &save)[0];
            c->expected = (kb_status)atoi(strtok_r(NULL, " ", &save));
            c->method = from_hex(strtok_r(NULL, " ", &save));
            c->url = from_hex(strtok_r(NULL, " ", &save));
            c->authorization = from_hex(strtok_r(NULL, " ", &save));
            c->dpop_count = (size_t)atoi(strtok_r(NULL, " ", &save));
            c->dpop = calloc(c->dpop_count + 1, sizeof *c->dpop);
            c->dpop_ptrs = calloc(c->dpop_count + 1, sizeof *c->dpop_ptrs);
            c->dpop_lens = calloc(c->dpop_count + 1, sizeof *c->dpop_lens);
            for (size_t i = 0; i < c->dpop_count; i++) {
                c->dpop[i] = from_hex(strtok_r(NULL, " ", &save));
                c->dpop_ptrs[i] = c->dpop[i].data;
                c->dpop_lens[i] = c->dpop[i].len;
            }
            c->jkt = from_hex(strtok_r(NULL, " ", &save));
            c->sub = from_hex(strtok_r(NULL, " ", &save));
            c->name = from_hex(strtok_r(NULL, " ", &save));
        } else if (strcmp(kind, "pem") == 0) {
            fixture_pem = from_hex(strtok_r(NULL, " ", &save));
        } else {
            struct fixture_header h = {fixture_now, fixture_issuer, fixture_audience, fixture_jwks};
            if (parse_header_line(kind, &save, &h)) {
                fixture_now = h.now;
                fixture_issuer = h.issuer;
                fixture_audience = h.audience;
                fixture_jwks = h.jwks;
            }
        }
    }
    free(text);
    return case_count > 0 && fixture_jwks.present && fixture_pem.present;
}

static void free_fixtures(void) {
    for (size_t i = 0; i < case_count; i++) {
        struct request_case *c = &cases[i];
        free(c->method.data);
        free(c->url.data);
        free(c->authorization.data);
        for (size_t k = 0; k < c->dpop_count; k++) free(c->dpop[k].data);
        free(c->dpop);
        free(c->dpop_ptrs);
        free(c->dpop_lens);
        free(c->jkt.data);
        free(c->sub.data);
        free(c->name.data);
    }
    free(cases);
    free(fixture_issuer.data);
    free(fixture_audience.data);
    free(fixture_jwks.data);
    free(fixture_pem.data);
}

/* ----- Live requests (gen_live_fixtures.py): signed at the real time, GET https://api.example.com/items ----- */

struct live_request {
    char name[32];
    struct bytes authorization, dpop;
};

static struct fixture_header live_header;
#define live_now (live_header.now)
#define live_issuer (live_header.issuer)
#define live_audience (live_header.audience)
#define live_jwks (live_header.jwks)
static struct live_request lives[32];
static size_t live_count;

static int load_live(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char line[16384];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *save = NULL;
        char *kind = strtok_r(line, " ", &save);
        if (!kind) continue;
        if (strcmp(kind, "live") == 0 && live_count < 32) {
            struct live_request *l = &lives[live_count++];
            snprintf(l->name, sizeof l->name, "%s", strtok_r(NULL, " ", &save));
            l->authorization = from_hex(strtok_r(NULL, " ", &save));
            l->dpop = from_hex(strtok_r(NULL, " ", &save));
        } else {
            parse_header_line(kind, &save, &live_header);
        }
    }
    fclose(f);
    return live_count > 0 && live_jwks.present;
}

static void free_live(void) {
    for (size_t i = 0; i < live_count; i++) {
        free(lives[i].authorization.data);
        free(lives[i].dpop.data);
    }
    free(live_issuer.data);
    free(live_audience.data);
    free(live_jwks.data);
}

static const struct live_request *live(const char *name) {
    for (size_t i = 0; i < live_count; i++) {
        if (strcmp(lives[i].name, name) == 0) return &lives[i];
    }
    fprintf(stderr, "no live request %s\n", name);
    return NULL;
}

/* A config for the live requests' issuer and audience. */
static kb_config *live_config(void) {
    kb_config *cfg = NULL;
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_config_add_issuer(cfg, live_issuer.data, live_issuer.len, live_jwks.data, live_jwks.len), KB_OK);
    CHECK_STATUS(kb_config_add_audience(cfg, live_issuer.data, live_issuer.len, live_audience.data, live_audience.len),
                 KB_OK);
    return cfg;
}

static kb_verifier *live_verifier(kb_config *cfg) {
    kb_verifier *v = NULL;
    char err[256] = "";
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_OK);
    kb_config_free(cfg);
    return v;
}

/* Verifies a live request as a resource request (no DPoP header when it has none), with requirements (NULL: none,
 * the same as kb_verify). */
static kb_status verify_live_at(kb_verifier *v, const char *name, const kb_requirements *req, int64_t now,
                                kb_result *r) {
    const struct live_request *l = live(name);
    CHECK(l != NULL);
    if (!l) return -1;
    const uint8_t *dpop[1] = {l->dpop.data};
    size_t dpop_len[1] = {l->dpop.len};
    const char *url = "https://api.example.com/items";
    return kb_verify_with_requirements(v, B("GET"), 3, B(url), strlen(url), l->authorization.data,
                                       l->authorization.len, dpop, dpop_len, l->dpop.present ? 1 : 0, req, now, r);
}

static kb_status verify_live(kb_verifier *v, const char *name, int64_t now, kb_result *r) {
    return verify_live_at(v, name, NULL, now, r);
}

/* Verifies a fixture case in its mode. */
static kb_status verify_case(kb_verifier *v, const struct request_case *c, int64_t now, kb_result *r) {
    if (c->mode == 't') {
        return kb_verify_token_endpoint(v, c->method.data, c->method.len, c->url.data, c->url.len, c->dpop_ptrs,
                                        c->dpop_lens, c->dpop_count, now, r);
    }
    return kb_verify(v, c->method.data, c->method.len, c->url.data, c->url.len, c->authorization.data,
                     c->authorization.len, c->dpop_ptrs, c->dpop_lens, c->dpop_count, now, r);
}

static kb_config *fixture_config(void) {
    kb_config *cfg = NULL;
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_config_add_issuer(cfg, fixture_issuer.data, fixture_issuer.len, fixture_jwks.data,
                                      fixture_jwks.len),
                 KB_OK);
    CHECK_STATUS(kb_config_add_audience(cfg, fixture_issuer.data, fixture_issuer.len, fixture_audience.data,
                                        fixture_audience.len),
                 KB_OK);
    return cfg;
}

static kb_verifier *fixture_verifier(void) {
    kb_config *cfg = fixture_config();
    kb_verifier *v = NULL;
    char err[256] = "";
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_OK);
    kb_config_free(cfg);
    return v;
}

/* The first valid case of a mode. */
static const struct request_case *first_valid(char mode, size_t skip) {
    for (size_t i = 0; i < case_count; i++) {
        if (cases[i].expected == KB_OK && cases[i].mode == mode) {
            if (skip == 0) return &cases[i];
            skip--;
        }
    }
    return NULL;
}

/* A new result object (a failed kb_result_new is a failed check, and NULL). */
static kb_result *new_result(void) {
    kb_result *r = NULL;
    CHECK_STATUS(kb_result_new(&r), KB_OK);
    return r;
}

static void field(kb_result *r, kb_field f, const uint8_t **p, size_t *n) {
    CHECK_STATUS(kb_result_field(r, f, p, n), KB_OK);
}

/* ===== Tests ===== */

static void test_version_and_names(void) {
    CHECK(kb_version_number() == KB_VERSION_NUMBER);
    CHECK(strcmp(kb_version_string(), KB_VERSION_STRING) == 0);
    CHECK(strcmp(kb_status_name(KB_OK), "ok") == 0);
    CHECK(strcmp(kb_status_name(KB_ERR_PROOF_REPLAYED), "proof_replayed") == 0);
    CHECK(strcmp(kb_status_name(KB_ERR_INTERNAL), "internal") == 0);
    CHECK(strcmp(kb_status_name(KB_ERR_INVALID_INPUT_LINE), "invalid_input_line") == 0);
    CHECK(strcmp(kb_status_name(12345), "unknown") == 0);
    CHECK(strcmp(kb_status_string(KB_ERR_TOKEN_BINDING), "Invalid DPoP key binding") == 0);
    CHECK(strcmp(kb_status_string(-1), "unknown status") == 0);
    CHECK(strcmp(kb_status_rfc_error(KB_ERR_NONCE_REQUIRED), "use_dpop_nonce") == 0);
    CHECK(strcmp(kb_status_rfc_error(KB_ERR_INVALID_INPUT_LINE), "invalid_request") == 0);
    CHECK(kb_status_rfc_error(KB_ERR_MISSING_AUTHORIZATION) == NULL);
    CHECK(kb_status_rfc_error(KB_ERR_INTERNAL) == NULL);
    CHECK(kb_status_rfc_error(7) == NULL);
    CHECK(kb_status_http_status(KB_OK) == 200);
    CHECK(kb_status_http_status(KB_ERR_MULTIPLE_DPOP_PROOFS) == 400);
    CHECK(kb_status_http_status(KB_ERR_INTERNAL) == 500);
    CHECK(kb_status_http_status(KB_ERR_REPLAY_CACHE_FULL) == 503);
    CHECK(kb_status_http_status(999) == 0);
    /* The reserved rows: names, RFC errors and HTTP statuses of docs/design.md "Errors". */
    CHECK(KB_ERR_REPLAY_QUOTA_EXCEEDED == 212 && KB_ERR_INSUFFICIENT_USER_AUTHENTICATION == 314);
    CHECK(KB_ERR_INSUFFICIENT_SCOPE == 315 && KB_ERR_BOUND_TOKEN_AS_BEARER == 316);
    CHECK(KB_ERR_REPLAY_STORE_RESTARTED == 503);
    CHECK(strcmp(kb_status_name(KB_ERR_REPLAY_QUOTA_EXCEEDED), "replay_quota_exceeded") == 0);
    CHECK(kb_status_rfc_error(KB_ERR_REPLAY_QUOTA_EXCEEDED) == NULL);
    CHECK(kb_status_http_status(KB_ERR_REPLAY_QUOTA_EXCEEDED) == 429);
    CHECK(strcmp(kb_status_name(KB_ERR_INSUFFICIENT_USER_AUTHENTICATION), "insufficient_user_authentication") == 0);
    CHECK(strcmp(kb_status_rfc_error(KB_ERR_INSUFFICIENT_USER_AUTHENTICATION), "insufficient_user_authentication") == 0);
    CHECK(kb_status_http_status(KB_ERR_INSUFFICIENT_USER_AUTHENTICATION) == 401);
    CHECK(strcmp(kb_status_name(KB_ERR_INSUFFICIENT_SCOPE), "insufficient_scope") == 0);
    CHECK(strcmp(kb_status_rfc_error(KB_ERR_INSUFFICIENT_SCOPE), "insufficient_scope") == 0);
    CHECK(kb_status_http_status(KB_ERR_INSUFFICIENT_SCOPE) == 403);
    CHECK(strcmp(kb_status_name(KB_ERR_BOUND_TOKEN_AS_BEARER), "bound_token_as_bearer") == 0);
    CHECK(strcmp(kb_status_rfc_error(KB_ERR_BOUND_TOKEN_AS_BEARER), "invalid_token") == 0);
    CHECK(kb_status_http_status(KB_ERR_BOUND_TOKEN_AS_BEARER) == 401);
    CHECK(strcmp(kb_status_name(KB_ERR_REPLAY_STORE_RESTARTED), "replay_store_restarted") == 0);
    CHECK(kb_status_rfc_error(KB_ERR_REPLAY_STORE_RESTARTED) == NULL);
    CHECK(kb_status_http_status(KB_ERR_REPLAY_STORE_RESTARTED) == 503);
    /* Every row of the table has a name, a description and an HTTP status. */
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        CHECK(strcmp(kb_status_name(status_table[i].status), "unknown") != 0);
        CHECK(strlen(kb_status_string(status_table[i].status)) > 0);
        CHECK(kb_status_http_status(status_table[i].status) >= 200);
    }
}

static void test_invalid_arguments(void) {
    kb_config *cfg = NULL;
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    char err[64];
    const uint8_t *p = NULL;
    size_t n = 0;
    uint64_t count = 0;
    int present = 0;
    double exp = 0;
    kb_metrics metrics = KB_METRICS_INIT;
    kb_replay_store_vtable bad_table = {sizeof(kb_replay_store_vtable), NULL, NULL, NULL};

    CHECK_STATUS(kb_config_new(NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_int(NULL, KB_OPT_CLOCK_SKEW_SECONDS, 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_str(NULL, KB_OPT_EXTERNAL_BASE_URL, B("x"), 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer(NULL, B("i"), 1, B("{}"), 2), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_audience(NULL, B("i"), 1, B("a"), 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_nonce_secret(NULL, B("s"), 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_replay_store(NULL, NULL, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_key_miss_callback(NULL, NULL, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_new(NULL, &v, err, sizeof err), KB_ERR_INVALID_ARGUMENT);
    CHECK(v == NULL);
    CHECK(strlen(err) > 0);
    CHECK_STATUS(kb_result_new(NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK(kb_result_status(NULL) == KB_ERR_INVALID_ARGUMENT);
    CHECK(kb_result_http_status(NULL) == 0);
    CHECK_STATUS(kb_result_field(NULL, KB_FIELD_SUB, &p, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_exp(NULL, &present, &exp), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim(NULL, B("sub"), 3, &p, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify(NULL, B("GET"), 3, B("https://a/"), 10, NULL, 0, NULL, NULL, 0, 0, NULL),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify_token_endpoint(NULL, B("GET"), 3, B("u"), 1, NULL, NULL, 0, 0, NULL),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify_opaque(NULL, B("GET"), 3, B("u"), 1, NULL, 0, NULL, NULL, 0, NULL, 0, 0, NULL),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_mint_nonce(NULL, 0, NULL, 0, NULL, 0, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_revoke_token_jti(NULL, B("j"), 1, 0, 0), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_revoke_jkt(NULL, B("j"), 1, 0, 0), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_metrics(NULL, &metrics), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_refusals(NULL, KB_ERR_PROOF_HTM, &count), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_replace_jwks(NULL, B("i"), 1, B("{}"), 2, err, sizeof err), KB_ERR_INVALID_ARGUMENT);

    /* Frees accept NULL. */
    kb_config_free(NULL);
    kb_verifier_free(NULL);
    kb_result_free(NULL);

    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    /* Unknown options and options of the other type. */
    CHECK_STATUS(kb_config_set_int(cfg, 0, 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_EXTERNAL_BASE_URL, 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_str(cfg, KB_OPT_CLOCK_SKEW_SECONDS, B("1"), 1), KB_ERR_INVALID_ARGUMENT);
    /* NULL with a length, SIZE_MAX lengths, and bytes that are not UTF-8. */
    CHECK_STATUS(kb_config_set_str(cfg, KB_OPT_EXTERNAL_BASE_URL, NULL, 5), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_str(cfg, KB_OPT_EXTERNAL_BASE_URL, B("x"), SIZE_MAX), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer(cfg, B("\xff\xfe"), 2, B("{}"), 2), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer(cfg, B("i"), 1, B("{}"), SIZE_MAX), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer(cfg, B("i"), (size_t)PTRDIFF_MAX + 1, B("{}"), 2), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_nonce_secret(cfg, NULL, 32), KB_ERR_INVALID_ARGUMENT);
    /* A replay-store table without insert, or too short. */
    CHECK_STATUS(kb_config_set_replay_store(cfg, &bad_table, NULL), KB_ERR_INVALID_ARGUMENT);
    bad_table.struct_size = 4;
    CHECK_STATUS(kb_config_set_replay_store(cfg, &bad_table, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_replay_store(cfg, NULL, NULL), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, NULL, err, sizeof err), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, SIZE_MAX), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);

    CHECK_STATUS(kb_result_new(&r), KB_OK);
    CHECK(kb_result_status(r) == KB_ERR_INVALID_ARGUMENT); /* unused */
    CHECK(kb_result_http_status(r) == 0);
    CHECK_STATUS(kb_result_field(r, 0, &p, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_field(r, 99, &p, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_field(r, KB_FIELD_SUB, NULL, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_field(r, KB_FIELD_SUB, &p, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_exp(r, NULL, &exp), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_exp(r, &present, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim(r, NULL, 3, &p, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim(r, B("sub"), SIZE_MAX, &p, &n), KB_ERR_INVALID_ARGUMENT);

    /* kb_verify: the result records the misuse. */
    const uint8_t *values[2] = {B("a.b.c"), NULL};
    size_t lens[2] = {5, 3};
    CHECK_STATUS(kb_verify(v, NULL, 3, B("https://a/"), 10, NULL, 0, values, lens, 1, 0, r), KB_ERR_INVALID_ARGUMENT);
    CHECK(kb_result_status(r) == KB_ERR_INVALID_ARGUMENT);
    field(r, KB_FIELD_ERROR_NAME, &p, &n);
    CHECK(bytes_equal(p, n, "invalid_argument"));
    CHECK_STATUS(kb_verify(v, B("GET"), SIZE_MAX, B("https://a/"), 10, NULL, 0, values, lens, 1, 0, r),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify(v, B("GET"), 3, B("https://a/"), 10, NULL, 0, NULL, lens, 1, 0, r),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify(v, B("GET"), 3, B("https://a/"), 10, NULL, 0, values, NULL, 1, 0, r),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify(v, B("GET"), 3, B("https://a/"), 10, NULL, 0, values, lens, 2, 0, r),
                 KB_ERR_INVALID_ARGUMENT); /* values[1] is NULL with length 3 */
    CHECK_STATUS(kb_verify(v, B("GET"), 3, B("https://a/"), 10, NULL, 0, values, lens, SIZE_MAX, 0, r),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify(v, B("GET"), 3, B("https://a/"), 10, B("DPoP x"), 6, values, lens, 1, 0, NULL),
                 KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verify_opaque(v, B("GET"), 3, B("https://a/"), 10, B("DPoP x"), 6, values, lens, 1,
                                  B("\xc3\x28"), 2, 0, r),
                 KB_ERR_INVALID_ARGUMENT);
    /* Absent headers are not misuse. */
    CHECK_STATUS(kb_verify(v, B("GET"), 3, B("https://a/"), 10, NULL, 0, NULL, NULL, 0, 0, r),
                 KB_ERR_MISSING_AUTHORIZATION);
    CHECK_STATUS(kb_mint_nonce(v, 0, NULL, 0, NULL, 0, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_mint_nonce(v, 0, NULL, 0, NULL, 5, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_revoke_token_jti(v, NULL, 1, 0, 0), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_revoke_jkt(v, B("\xff"), 1, 0, 0), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_metrics(v, NULL), KB_ERR_INVALID_ARGUMENT);
    metrics.struct_size = 16;
    CHECK_STATUS(kb_verifier_metrics(v, &metrics), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_refusals(v, KB_OK, &count), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_refusals(v, KB_ERR_INVALID_ARGUMENT, &count), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_refusals(v, KB_ERR_PROOF_HTM, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_replace_jwks(v, NULL, 4, B("{}"), 2, err, sizeof err), KB_ERR_INVALID_ARGUMENT);
    kb_result_free(r);
    kb_verifier_free(v);
}

static void test_configuration_errors(void) {
    kb_config *cfg = NULL;
    kb_verifier *v = NULL;
    char err[128];
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    /* Checked at once. */
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_STRICT_TOKEN_TYPE, 2), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_ADVERTISE_ALGORITHMS, -1), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_PROOF_ALGORITHMS, 0), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_TOKEN_ALGORITHMS, KB_ALG_ALL + 1), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_NONCE_MODE, 3), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_add_issuer(cfg, B(""), 0, B("{}"), 2), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_add_audience(cfg, B("nobody"), 6, B("a"), 1), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_add_nonce_secret(cfg, B("short"), 5), KB_ERR_INVALID_CONFIG);
    /* Checked by kb_verifier_new, with the reason in errbuf. */
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_PROOF_MAX_AGE_SECONDS, 1000000), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_ERR_INVALID_CONFIG);
    CHECK(v == NULL && strstr(err, "proofMaxAgeSeconds") != NULL);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_PROOF_MAX_AGE_SECONDS, 60), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_RSA_MIN_BITS, 4096), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_RSA_MAX_BITS, 2048), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_RSA_MAX_BITS, 4096), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_NONCE_MODE, KB_NONCE_REQUIRED), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_ERR_INVALID_CONFIG); /* no secret */
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_NONCE_MODE, KB_NONCE_OFF), KB_OK);
    CHECK_STATUS(kb_config_set_str(cfg, KB_OPT_EXTERNAL_BASE_URL, B("ftp://x"), 7), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_str(cfg, KB_OPT_EXTERNAL_BASE_URL, NULL, 0), KB_OK);
    /* A JWKS that is not one. */
    CHECK_STATUS(kb_config_add_issuer(cfg, B("https://bad.example"), 19, B("{\"nokeys\":[]}"), 13), KB_OK);
    CHECK_STATUS(kb_config_add_issuer(cfg, B("https://bad.example"), 19, B("{}"), 2), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_ERR_INVALID_JWKS);
    CHECK(strstr(err, "keys") != NULL);
    /* errbuf is truncated, NUL-terminated, and untouched when its length is 0. */
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK_STATUS(kb_verifier_new(cfg, &v, tiny, sizeof tiny), KB_ERR_INVALID_JWKS);
    CHECK(tiny[3] == 0 && strlen(tiny) == 3);
    tiny[0] = 'y';
    CHECK_STATUS(kb_verifier_new(cfg, &v, tiny, 0), KB_ERR_INVALID_JWKS);
    CHECK(tiny[0] == 'y');
    kb_config_free(cfg);
}

/* Issuer keys given as PEM (kb_config_add_issuer_pem): the fixture issuer's ES256 key es-1 as PEM verifies the
 * fixture's ES256 requests; refused keys give their own statuses from kb_verifier_new. */
static kb_status verifier_with_pem(const char *kid, const char *alg, const uint8_t *pem, size_t pem_len,
                                   kb_verifier **v, char *err, size_t err_len) {
    kb_config *cfg = NULL;
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, fixture_issuer.data, fixture_issuer.len, B(kid), strlen(kid), B(alg),
                                          alg ? strlen(alg) : 0, pem, pem_len),
                 KB_OK);
    CHECK_STATUS(kb_config_add_audience(cfg, fixture_issuer.data, fixture_issuer.len, fixture_audience.data,
                                        fixture_audience.len),
                 KB_OK);
    kb_status status = kb_verifier_new(cfg, v, err, err_len);
    kb_config_free(cfg);
    return status;
}

static void test_issuer_pem(void) {
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    char err[256] = "";
    CHECK_STATUS(kb_result_new(&r), KB_OK);
    const struct request_case *es256 = NULL;
    for (size_t i = 0; i < case_count && !es256; i++) {
        if (cases[i].expected == KB_OK && cases[i].mode == 'r' && cases[i].name.len > 26 &&
            memcmp(cases[i].name.data, "valid: ES256 token (es-1) ", 26) == 0)
            es256 = &cases[i];
    }
    CHECK(es256 != NULL);
    CHECK_STATUS(verifier_with_pem("es-1", "ES256", fixture_pem.data, fixture_pem.len, &v, err, sizeof err), KB_OK);
    if (v && es256) CHECK_STATUS(verify_case(v, es256, fixture_now, r), KB_OK);
    kb_verifier_free(v);
    v = NULL;
    /* Another kid: the token's es-1 is unknown. */
    CHECK_STATUS(verifier_with_pem("other", NULL, fixture_pem.data, fixture_pem.len, &v, err, sizeof err), KB_OK);
    if (v && es256) CHECK_STATUS(verify_case(v, es256, fixture_now, r), KB_ERR_TOKEN_KID_UNKNOWN);
    kb_verifier_free(v);
    v = NULL;

    const char *not_pem = "not a key";
    const char *private_key = "-----BEGIN PRIVATE KEY-----\n"
                              "MC4CAQAwBQYDK2VwBCIEIGRhbmdlcm91cy10ZXN0LWtleS1kby1ub3QtdXNlISE=\n"
                              "-----END PRIVATE KEY-----\n";
    const char *x25519 = "-----BEGIN PUBLIC KEY-----\n"
                         "MCowBQYDK2VuAyEAZQdRTdxnwXYw2fS/tcimpLTLWs6mjHK2crUyhVvc1ww=\n"
                         "-----END PUBLIC KEY-----\n";
    CHECK_STATUS(verifier_with_pem("k", NULL, B(not_pem), strlen(not_pem), &v, err, sizeof err),
                 KB_ERR_INVALID_KEY_ENCODING);
    CHECK(v == NULL && strstr(err, "PEM") != NULL);
    CHECK_STATUS(verifier_with_pem("k", NULL, B(private_key), strlen(private_key), &v, err, sizeof err),
                 KB_ERR_PRIVATE_KEY_GIVEN);
    CHECK_STATUS(verifier_with_pem("k", NULL, B(x25519), strlen(x25519), &v, err, sizeof err), KB_ERR_UNUSABLE_KEY);
    CHECK_STATUS(verifier_with_pem("k", "ES384", fixture_pem.data, fixture_pem.len, &v, err, sizeof err),
                 KB_ERR_UNUSABLE_KEY);
    CHECK(v == NULL);

    /* The JWK Set and PEM keys of one issuer share one kid space. */
    kb_config *cfg = fixture_config();
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, fixture_issuer.data, fixture_issuer.len, B("es-1"), 4, NULL, 0,
                                          fixture_pem.data, fixture_pem.len),
                 KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_ERR_INVALID_CONFIG);
    CHECK(strstr(err, "kid") != NULL);
    /* An issuer that only kb_config_add_issuer_pem added may get a JWK Set, once. */
    const char *other = "https://pem-first.example";
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, B(other), strlen(other), B("p1"), 2, B("ES256"), 5, fixture_pem.data,
                                          fixture_pem.len), KB_OK);
    CHECK_STATUS(kb_config_add_issuer(cfg, B(other), strlen(other), fixture_jwks.data, fixture_jwks.len), KB_OK);
    CHECK_STATUS(kb_config_add_issuer(cfg, B(other), strlen(other), fixture_jwks.data, fixture_jwks.len),
                 KB_ERR_INVALID_CONFIG);
    /* Arguments. */
    CHECK_STATUS(kb_config_add_issuer_pem(NULL, B("i"), 1, B("k"), 1, NULL, 0, B("x"), 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, NULL, 1, B("k"), 1, NULL, 0, B("x"), 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, B("i"), 1, B("k"), 1, NULL, 0, NULL, SIZE_MAX), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, B("i"), 1, B("\xff"), 1, NULL, 0, B("x"), 1), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, B("i"), 1, NULL, 0, NULL, 0, B("x"), 1), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, NULL, 0, B("k"), 1, NULL, 0, B("x"), 1), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_add_issuer_pem(cfg, B("i"), 1, B("k"), 1, B("HS256"), 5, B("x"), 1), KB_ERR_INVALID_CONFIG);
    kb_config_free(cfg);
    kb_result_free(r);
}

/* Runs every fixture case through a fresh verifier (each is verified on its own: no replays among them). */
static void test_fixture_cases(void) {
    kb_verifier *v = fixture_verifier();
    kb_result *r = new_result();
    size_t ok = 0;
    for (size_t i = 0; i < case_count; i++) {
        const struct request_case *c = &cases[i];
        kb_status status = verify_case(v, c, fixture_now, r);
        note_status(status);
        checks++;
        if (status != c->expected) {
            failures++;
            fprintf(stderr, "case %zu (%.*s): got %d %s, expected %d\n", i, (int)c->name.len,
                    (const char *)c->name.data, status, kb_status_name(status), c->expected);
            continue;
        }
        CHECK(kb_result_status(r) == status);
        const uint8_t *p = NULL;
        size_t n = 0;
        if (status == KB_OK) {
            ok++;
            CHECK(kb_result_http_status(r) == 200);
            field(r, KB_FIELD_JKT, &p, &n);
            CHECK(c->jkt.present && n == c->jkt.len && memcmp(p, c->jkt.data, n) == 0);
            field(r, KB_FIELD_SUB, &p, &n);
            if (c->sub.present) {
                CHECK(n == c->sub.len && memcmp(p, c->sub.data, n) == 0);
            } else {
                CHECK(p == NULL && n == 0);
            }
            field(r, KB_FIELD_PROOF_JTI, &p, &n);
            CHECK(p != NULL && n > 0);
            field(r, KB_FIELD_ERROR_NAME, &p, &n);
            CHECK(p == NULL && n == 0);
        } else {
            field(r, KB_FIELD_ERROR_NAME, &p, &n);
            CHECK(bytes_equal(p, n, kb_status_name(status)));
            field(r, KB_FIELD_ERROR_DESCRIPTION, &p, &n);
            CHECK(p != NULL && n > 0);
            field(r, KB_FIELD_SUB, &p, &n);
            CHECK(p == NULL);
            if (c->mode == 't') {
                CHECK(kb_result_http_status(r) == 400);
                field(r, KB_FIELD_ERROR_BODY, &p, &n);
                CHECK(p != NULL && n > 10 && p[0] == '{');
                field(r, KB_FIELD_WWW_AUTHENTICATE, &p, &n);
                CHECK(p == NULL);
            } else {
                CHECK(kb_result_http_status(r) == kb_status_http_status(status));
                field(r, KB_FIELD_WWW_AUTHENTICATE, &p, &n);
                CHECK(n > 4 && memcmp(p, "DPoP", 4) == 0);
                const char *rfc = kb_status_rfc_error(status);
                field(r, KB_FIELD_RFC_ERROR, &p, &n);
                CHECK(rfc ? bytes_equal(p, n, rfc) : p == NULL);
            }
        }
    }
    printf("  fixtures: %zu cases, %zu verified\n", case_count, ok);
    CHECK(ok > 50);
    kb_metrics m = KB_METRICS_INIT;
    CHECK_STATUS(kb_verifier_metrics(v, &m), KB_OK);
    CHECK(m.verified == ok && m.refused == case_count - ok);
    CHECK(m.replay_cache_capacity == 1048576 && m.replay_cache_count == ok);
    CHECK(m.token_cache_misses > 0 && m.proof_key_cache_misses > 0);
    uint64_t htm = 0;
    CHECK_STATUS(kb_verifier_refusals(v, KB_ERR_PROOF_HTM, &htm), KB_OK);
    size_t expected_htm = 0;
    for (size_t i = 0; i < case_count; i++) expected_htm += cases[i].expected == KB_ERR_PROOF_HTM;
    CHECK(htm == expected_htm && htm > 0);
    kb_result_free(r);
    kb_verifier_free(v);
}

static void test_result_replay_revocation(void) {
    kb_verifier *v = fixture_verifier();
    kb_result *r = new_result();
    const struct request_case *c = first_valid('r', 0);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_OK);
    const uint8_t *p = NULL;
    size_t n = 0;
    field(r, KB_FIELD_SUB, &p, &n);
    CHECK(bytes_equal(p, n, "user-42"));
    field(r, KB_FIELD_CLIENT_ID, &p, &n);
    CHECK(bytes_equal(p, n, "client-1"));
    field(r, KB_FIELD_SCOPE, &p, &n);
    CHECK(bytes_equal(p, n, "read write"));
    field(r, KB_FIELD_ISSUER, &p, &n);
    CHECK(n == fixture_issuer.len && memcmp(p, fixture_issuer.data, n) == 0);
    field(r, KB_FIELD_DPOP_NONCE, &p, &n);
    CHECK(p == NULL); /* nonces off */
    int present = 0;
    double exp = 0;
    CHECK_STATUS(kb_result_exp(r, &present, &exp), KB_OK);
    CHECK(present == 1 && exp == 1700000600.0);
    CHECK_STATUS(kb_result_claim(r, B("scope"), 5, &p, &n), KB_OK);
    CHECK(bytes_equal(p, n, "\"read write\""));
    CHECK_STATUS(kb_result_claim(r, B("cnf"), 3, &p, &n), KB_OK);
    CHECK(n > 10 && p[0] == '{');
    CHECK_STATUS(kb_result_claim(r, B("exp"), 3, &p, &n), KB_OK);
    CHECK(bytes_equal(p, n, "1700000600"));
    CHECK_STATUS(kb_result_claim(r, B("nope"), 4, &p, &n), KB_OK);
    CHECK(p == NULL && n == 0);
    CHECK_STATUS(kb_result_claim(r, NULL, 0, &p, &n), KB_OK);
    CHECK(p == NULL);

    /* Token jti for revocation, jkt for key revocation (copied: the views end at the next verify). */
    char token_jti[300] = "", jkt[100] = "";
    field(r, KB_FIELD_TOKEN_JTI, &p, &n);
    CHECK(n > 0 && n < sizeof token_jti);
    memcpy(token_jti, p, n);
    field(r, KB_FIELD_JKT, &p, &n);
    memcpy(jkt, p, n);

    /* The same request again: a replay (RFC 9449 §11.1). */
    CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_ERR_PROOF_REPLAYED);
    CHECK(kb_result_http_status(r) == 401);
    field(r, KB_FIELD_WWW_AUTHENTICATE, &p, &n);
    CHECK(bytes_equal(p, n, "DPoP error=\"invalid_dpop_proof\", error_description=\"this proof was already used\", "
                            "algs=\"ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA Ed25519\""));
    present = 1;
    CHECK_STATUS(kb_result_exp(r, &present, &exp), KB_OK);
    CHECK(present == 0 && exp == 0);
    CHECK_STATUS(kb_result_claim(r, B("scope"), 5, &p, &n), KB_OK);
    CHECK(p == NULL);

    /* Revocation is checked before the replay store, so the same request shows it. */
    CHECK_STATUS(kb_revoke_token_jti(v, B(token_jti), strlen(token_jti), fixture_now + 600, fixture_now), KB_OK);
    CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_ERR_TOKEN_REVOKED);
    CHECK_STATUS(kb_revoke_jkt(v, B(jkt), strlen(jkt), fixture_now + 600, fixture_now), KB_OK);
    const struct request_case *t = first_valid('t', 0); /* same client key, token endpoint */
    CHECK(t != NULL);
    if (t) CHECK_STATUS(verify_case(v, t, fixture_now, r), KB_ERR_KEY_REVOKED);
    kb_result_free(r);
    kb_verifier_free(v);

    /* A revocation list of one entry is full at the second. */
    kb_config *cfg = fixture_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_MAX_REVOCATIONS, 1), KB_OK);
    char err[128];
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_OK);
    kb_config_free(cfg);
    CHECK_STATUS(kb_revoke_token_jti(v, B("a"), 1, 100, 0), KB_OK);
    CHECK_STATUS(kb_revoke_token_jti(v, B("b"), 1, 100, 0), KB_ERR_INVALID_CONFIG);
    kb_verifier_free(v);
}

/* ----- RFC 9449 examples: token endpoint (Figure 2) and opaque token (Figure 13) ----- */

static const char fig2_proof[] =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJo"
    "RjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJ"
    "qdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0Ijo"
    "xNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
static const char fig13_proof[] =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJo"
    "RjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJ"
    "qdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXN"
    "vdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yR"
    "qzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
static const char fig_jkt[] = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

static void test_rfc_examples(void) {
    kb_config *cfg = NULL;
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    CHECK_STATUS(kb_result_new(&r), KB_OK);
    const uint8_t *values[1] = {B(fig2_proof)};
    size_t lens[1] = {strlen(fig2_proof)};
    const char *token_url = "https://server.example.com/token";
    CHECK_STATUS(kb_verify_token_endpoint(v, B("POST"), 4, B(token_url), strlen(token_url), values, lens, 1,
                                          1562262616, r),
                 KB_OK);
    const uint8_t *p = NULL;
    size_t n = 0;
    field(r, KB_FIELD_JKT, &p, &n);
    CHECK(bytes_equal(p, n, fig_jkt));
    field(r, KB_FIELD_PROOF_JTI, &p, &n);
    CHECK(bytes_equal(p, n, "-BwC3ESc6acc2lTc"));
    field(r, KB_FIELD_SUB, &p, &n);
    CHECK(p == NULL);

    const char *access_token = "DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    const char *resource = "https://resource.example.org/protectedresource";
    values[0] = B(fig13_proof);
    lens[0] = strlen(fig13_proof);
    CHECK_STATUS(kb_verify_opaque(v, B("GET"), 3, B(resource), strlen(resource), B(access_token),
                                  strlen(access_token), values, lens, 1, B("wrong-jkt"), 9, 1562262618, r),
                 KB_ERR_TOKEN_BINDING);
    field(r, KB_FIELD_WWW_AUTHENTICATE, &p, &n);
    CHECK(n > 0 && strstr((const char *)p, "Invalid DPoP key binding") != NULL);
    CHECK_STATUS(kb_verify_opaque(v, B("GET"), 3, B(resource), strlen(resource), B(access_token),
                                  strlen(access_token), values, lens, 1, B(fig_jkt), strlen(fig_jkt), 1562262618, r),
                 KB_OK);
    field(r, KB_FIELD_PROOF_JTI, &p, &n);
    CHECK(bytes_equal(p, n, "e1j3V_bKic8-LAEB"));
    field(r, KB_FIELD_TOKEN_JTI, &p, &n);
    CHECK(p == NULL);
    kb_result_free(r);
    kb_verifier_free(v);
}

/* ----- Nonces ----- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t base64url(const char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(uint8_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(uint8_t)in[i + 1] << 8;
        if (i + 2 < n) v |= (uint32_t)(uint8_t)in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n) out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n) out[o++] = b64url[v & 63];
    }
    out[o] = 0;
    return o;
}

static void test_nonces(void) {
    static const char secret[] = "0123456789abcdef0123456789abcdef";
    kb_config *cfg = NULL;
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_config_add_nonce_secret(cfg, B(secret), 32), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_NONCE_MODE, KB_NONCE_REQUIRED), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_NONCE_WINDOW_SECONDS, 300), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    CHECK_STATUS(kb_result_new(&r), KB_OK);

    uint8_t nonce[KB_NONCE_LENGTH];
    uint8_t small[10];
    size_t n = 0;
    CHECK_STATUS(kb_mint_nonce(v, 1562262616, NULL, 0, small, sizeof small, &n), KB_ERR_BUFFER_TOO_SMALL);
    CHECK(n == KB_NONCE_LENGTH);
    n = 0;
    CHECK_STATUS(kb_mint_nonce(v, 1562262616, NULL, 0, NULL, 0, &n), KB_ERR_BUFFER_TOO_SMALL);
    CHECK(n == KB_NONCE_LENGTH);
    CHECK_STATUS(kb_mint_nonce(v, 1562262616, NULL, 0, nonce, sizeof nonce, &n), KB_OK);
    CHECK(n == KB_NONCE_LENGTH);

    /* Figure 2's proof has no nonce: 220, with a fresh nonce for the DPoP-Nonce header (RFC 9449 §8). */
    const uint8_t *values[1] = {B(fig2_proof)};
    size_t lens[1] = {strlen(fig2_proof)};
    const char *url = "https://server.example.com/token";
    CHECK_STATUS(kb_verify_token_endpoint(v, B("POST"), 4, B(url), strlen(url), values, lens, 1, 1562262616, r),
                 KB_ERR_NONCE_REQUIRED);
    const uint8_t *p = NULL;
    field(r, KB_FIELD_DPOP_NONCE, &p, &n);
    CHECK(n == KB_NONCE_LENGTH && memcmp(p, nonce, n) == 0);
    field(r, KB_FIELD_ERROR_BODY, &p, &n);
    CHECK(n > 0 && strstr((const char *)p, "use_dpop_nonce") != NULL);

    /* A proof with a forged nonce: the nonce check comes before the proof signature, so the old signature suffices
     * to reach it. */
    char header[400], payload[300], forged[1200];
    const char *dot = strchr(fig2_proof, '.');
    size_t header_len = (size_t)(dot - fig2_proof);
    memcpy(header, fig2_proof, header_len);
    header[header_len] = 0;
    const char *claims = "{\"jti\":\"forged-1\",\"htm\":\"POST\",\"htu\":\"https://server.example.com/token\","
                         "\"iat\":1562262616,\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
    base64url(claims, strlen(claims), payload);
    snprintf(forged, sizeof forged, "%s.%s.%s", header, payload, strrchr(fig2_proof, '.') + 1);
    values[0] = B(forged);
    lens[0] = strlen(forged);
    CHECK_STATUS(kb_verify_token_endpoint(v, B("POST"), 4, B(url), strlen(url), values, lens, 1, 1562262616, r),
                 KB_ERR_NONCE_INVALID);
    field(r, KB_FIELD_DPOP_NONCE, &p, &n);
    CHECK(n == KB_NONCE_LENGTH);
    kb_result_free(r);
    kb_verifier_free(v);

    /* Nonces off: minting is a configuration error. */
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    CHECK_STATUS(kb_mint_nonce(v, 0, NULL, 0, nonce, sizeof nonce, &n), KB_ERR_INVALID_CONFIG);
    kb_verifier_free(v);
}

/* ----- JWKS replacement and the key-miss callback ----- */

struct key_miss_log {
    int calls;
    char issuer[128];
    char kid[64];
};

static void on_key_miss(void *ctx, const uint8_t *issuer, size_t issuer_len, const uint8_t *kid, size_t kid_len) {
    struct key_miss_log *log = ctx;
    log->calls++;
    snprintf(log->issuer, sizeof log->issuer, "%.*s", (int)issuer_len, (const char *)issuer);
    snprintf(log->kid, sizeof log->kid, "%.*s", (int)kid_len, kid ? (const char *)kid : "");
}

static void test_replace_jwks_and_key_miss(void) {
    struct key_miss_log log = {0, "", ""};
    kb_config *cfg = fixture_config();
    CHECK_STATUS(kb_config_set_key_miss_callback(cfg, on_key_miss, &log), KB_OK);
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    char err[128];
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_OK);
    kb_config_free(cfg);
    CHECK_STATUS(kb_result_new(&r), KB_OK);

    /* A set whose only key has another kid: the fixture token's kid is then unknown. */
    static const char empty_jwks[] =
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"other\","
        "\"x\":\"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs\",\"y\":\"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA\"}]}";
    CHECK_STATUS(kb_verifier_replace_jwks(v, B("https://other.example"), 21, B(empty_jwks), strlen(empty_jwks), err,
                                          sizeof err),
                 KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_verifier_replace_jwks(v, fixture_issuer.data, fixture_issuer.len, B("[]"), 2, err, sizeof err),
                 KB_ERR_INVALID_JWKS);
    CHECK(strlen(err) > 0);
    CHECK_STATUS(kb_verifier_replace_jwks(v, fixture_issuer.data, fixture_issuer.len, B(empty_jwks),
                                          strlen(empty_jwks), err, sizeof err),
                 KB_OK);
    const struct request_case *c = first_valid('r', 0);
    if (c) CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_ERR_TOKEN_KID_UNKNOWN);
    CHECK(log.calls == 1);
    CHECK(strcmp(log.issuer, "https://issuer.example") == 0 && strcmp(log.kid, "es-1") == 0);
    /* Put the keys back: the same request verifies. */
    CHECK_STATUS(kb_verifier_replace_jwks(v, fixture_issuer.data, fixture_issuer.len, fixture_jwks.data,
                                          fixture_jwks.len, NULL, 0),
                 KB_OK);
    if (c) CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_OK);
    kb_result_free(r);
    kb_verifier_free(v);
}

/* ----- An external replay store ----- */

struct test_store {
    pthread_mutex_t lock;
    uint8_t keys[64][32];
    int64_t expiries[64];
    size_t count;
    int answer; /* -1: behave as a store; else return this */
    int inserts;
    int destroyed;
};

static int store_insert(void *ctx, const uint8_t *key, int64_t expires_at, int64_t now) {
    struct test_store *s = ctx;
    pthread_mutex_lock(&s->lock);
    s->inserts++;
    int result = s->answer;
    if (result < 0) {
        result = KB_REPLAY_INSERTED;
        for (size_t i = 0; i < s->count; i++) {
            if (memcmp(s->keys[i], key, 32) == 0 && now <= s->expiries[i]) result = KB_REPLAY_REPLAYED;
        }
        if (result == KB_REPLAY_INSERTED) {
            if (s->count == 64) {
                result = KB_REPLAY_FULL;
            } else {
                memcpy(s->keys[s->count], key, 32);
                s->expiries[s->count++] = expires_at;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static void store_destroy(void *ctx) {
    struct test_store *s = ctx;
    s->destroyed++;
}

/* The first published layouts (keybound.h: fields are only ever appended). A caller built against an older header
 * passes the first layout's size; one built against a newer header passes a bigger size. */
struct first_replay_store_vtable {
    uint32_t struct_size;
    int (*insert)(void *ctx, const uint8_t *key, int64_t expires_at, int64_t now);
    void (*destroy)(void *ctx);
};
struct future_replay_store_vtable {
    kb_replay_store_vtable current;
    void (*newer[2])(void);
};
#define METRICS_FIRST_LAYOUT 72
struct future_metrics {
    kb_metrics current;
    uint64_t newer[3];
};

static void test_struct_sizes(void) {
    struct test_store own;
    memset(&own, 0, sizeof own);
    pthread_mutex_init(&own.lock, NULL);
    own.answer = -1;
    struct test_store *store = &own;
    CHECK(sizeof(struct first_replay_store_vtable) <= sizeof(kb_replay_store_vtable));
    CHECK(METRICS_FIRST_LAYOUT <= sizeof(kb_metrics));
    const struct request_case *a = first_valid('r', 3), *b = first_valid('r', 4);
    CHECK(a && b);
    if (!(a && b)) return;
    kb_result *r = new_result();

    /* An older caller's replay-store table (the first layout): accepted, and its insert is the one used. */
    struct first_replay_store_vtable first = {sizeof first, store_insert, store_destroy};
    kb_config *cfg = fixture_config();
    int destroyed = store->destroyed, inserts = store->inserts;
    CHECK_STATUS(kb_config_set_replay_store(cfg, (const kb_replay_store_vtable *)(const void *)&first, store), KB_OK);
    kb_verifier *v = NULL;
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    CHECK_STATUS(verify_case(v, a, fixture_now, r), KB_OK);
    CHECK(store->inserts == inserts + 1);

    /* An older caller's metrics: only the first layout is written; one byte short of it is refused. */
    union {
        kb_metrics metrics;
        unsigned char bytes[sizeof(struct future_metrics)];
    } out;
    memset(&out, 0xAB, sizeof out);
    out.metrics.struct_size = METRICS_FIRST_LAYOUT;
    CHECK_STATUS(kb_verifier_metrics(v, &out.metrics), KB_OK);
    CHECK(out.metrics.struct_size == METRICS_FIRST_LAYOUT && out.metrics.verified == 1 && out.metrics.reserved == 0);
    for (size_t i = METRICS_FIRST_LAYOUT; i < sizeof out.bytes; i++) CHECK(out.bytes[i] == 0xAB);
    out.metrics.struct_size = METRICS_FIRST_LAYOUT - 1;
    out.metrics.verified = 77;
    CHECK_STATUS(kb_verifier_metrics(v, &out.metrics), KB_ERR_INVALID_ARGUMENT);
    CHECK(out.metrics.verified == 77);

    /* A newer caller's metrics: accepted; the fields this library does not know are left alone. */
    struct future_metrics future_metrics;
    memset(&future_metrics, 0xCD, sizeof future_metrics);
    future_metrics.current.struct_size = sizeof future_metrics;
    CHECK_STATUS(kb_verifier_metrics(v, &future_metrics.current), KB_OK);
    CHECK(future_metrics.current.struct_size == sizeof future_metrics && future_metrics.current.verified == 1);
    CHECK(future_metrics.newer[0] == 0xCDCDCDCDCDCDCDCDull && future_metrics.newer[2] == 0xCDCDCDCDCDCDCDCDull);
    kb_verifier_free(v);
    CHECK(store->destroyed == destroyed + 1);

    /* A newer caller's replay-store table (bigger, with fields this library does not know): accepted. */
    struct future_replay_store_vtable future;
    memset(&future, 0, sizeof future);
    future.current.struct_size = sizeof future;
    future.current.insert = store_insert;
    future.current.destroy = store_destroy;
    cfg = fixture_config();
    CHECK_STATUS(kb_config_set_replay_store(cfg, &future.current, store), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    inserts = store->inserts;
    CHECK_STATUS(verify_case(v, b, fixture_now, r), KB_OK);
    CHECK(store->inserts == inserts + 1);
    kb_verifier_free(v);
    CHECK(store->destroyed == destroyed + 2);
    kb_result_free(r);
    pthread_mutex_destroy(&own.lock);
}

static void test_external_replay_store(void) {
    struct test_store store;
    memset(&store, 0, sizeof store);
    pthread_mutex_init(&store.lock, NULL);
    store.answer = -1;
    kb_replay_store_vtable table = {sizeof(kb_replay_store_vtable), store_insert, store_destroy, NULL};
    kb_config *cfg = fixture_config();
    CHECK_STATUS(kb_config_set_replay_store(cfg, &table, &store), KB_OK);
    table.insert = NULL; /* the table was copied */
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    CHECK(store.destroyed == 0); /* the verifier still holds it */
    CHECK_STATUS(kb_result_new(&r), KB_OK);

    const struct request_case *a = first_valid('r', 0), *b = first_valid('r', 1), *c = first_valid('r', 2);
    CHECK(a && b && c);
    if (!(a && b && c)) return;
    CHECK_STATUS(verify_case(v, a, fixture_now, r), KB_OK);
    CHECK(store.count == 1 && store.expiries[0] == fixture_now + 65);
    CHECK_STATUS(verify_case(v, a, fixture_now, r), KB_ERR_PROOF_REPLAYED);
    store.answer = KB_REPLAY_FULL;
    CHECK_STATUS(verify_case(v, b, fixture_now, r), KB_ERR_REPLAY_CACHE_FULL);
    CHECK(kb_result_http_status(r) == 503);
    store.answer = KB_REPLAY_UNAVAILABLE;
    CHECK_STATUS(verify_case(v, b, fixture_now, r), KB_ERR_REPLAY_STORE_UNAVAILABLE);
    store.answer = KB_REPLAY_RESTARTED;
    CHECK_STATUS(verify_case(v, b, fixture_now, r), KB_ERR_REPLAY_STORE_RESTARTED);
    CHECK(kb_result_http_status(r) == 503);
    store.answer = 77; /* not a KB_REPLAY_* value: fails closed */
    CHECK_STATUS(verify_case(v, b, fixture_now, r), KB_ERR_REPLAY_STORE_UNAVAILABLE);
    store.answer = -1;
    CHECK_STATUS(verify_case(v, b, fixture_now, r), KB_OK);
    /* Scheme before proof: another scheme with no DPoP header is 101 (a bare challenge), not 103. */
    static const char bearer[] = "Bearer abc.def.ghi";
    CHECK_STATUS(kb_verify(v, a->method.data, a->method.len, a->url.data, a->url.len, (const uint8_t *)bearer,
                           strlen(bearer), NULL, NULL, 0, fixture_now, r),
                 KB_ERR_UNSUPPORTED_SCHEME);
    /* A request refused before the store is never recorded. */
    int before = store.inserts;
    CHECK_STATUS(verify_case(v, c, fixture_now + 10000, r), KB_ERR_PROOF_IAT);
    CHECK(store.inserts == before);
    kb_metrics m = KB_METRICS_INIT;
    CHECK_STATUS(kb_verifier_metrics(v, &m), KB_OK);
    CHECK(m.replay_cache_count == UINT64_MAX && m.replay_cache_capacity == UINT64_MAX);
    kb_result_free(r);
    kb_verifier_free(v);
    CHECK(store.destroyed == 1);

    /* Replacing a store on a config releases the previous one; freeing the config releases the last. */
    struct test_store other;
    memset(&other, 0, sizeof other);
    pthread_mutex_init(&other.lock, NULL);
    table.insert = store_insert;
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_config_set_replay_store(cfg, &table, &other), KB_OK);
    CHECK_STATUS(kb_config_set_replay_store(cfg, &table, &store), KB_OK);
    CHECK(other.destroyed == 1);
    kb_config_free(cfg);
    CHECK(store.destroyed == 2);
    pthread_mutex_destroy(&store.lock);
    pthread_mutex_destroy(&other.lock);

    test_struct_sizes();
}

/* ----- The per-key replay share (212) ----- */

struct owned_store {
    uint8_t owners[8][32];
    int owner_count;
    int calls;
    int answer_quota;
};

static int owned_insert(void *ctx, const uint8_t *key, const uint8_t *owner, int64_t expires_at, int64_t now,
                        int64_t *retry_after) {
    (void)key, (void)expires_at, (void)now;
    struct owned_store *s = ctx;
    s->calls++;
    int seen = 0;
    for (int i = 0; i < s->owner_count; i++) seen |= memcmp(s->owners[i], owner, 32) == 0;
    if (!seen && s->owner_count < 8) memcpy(s->owners[s->owner_count++], owner, 32);
    if (s->answer_quota) {
        *retry_after = 9;
        return KB_REPLAY_QUOTA;
    }
    return KB_REPLAY_INSERTED;
}

static int unused_insert(void *ctx, const uint8_t *key, int64_t expires_at, int64_t now) {
    (void)ctx, (void)key, (void)expires_at, (void)now;
    return 77; /* never called when insert_owned is set: would fail closed */
}

static void test_replay_key_share(void) {
    /* Appended after main's options: 21..23 keep their meaning (append-only, docs/c-api.md). */
    CHECK(KB_OPT_READ_CLOCK == 21 && KB_OPT_AUTH_TIME_FROM_IAT == 22 && KB_OPT_ALLOW_BEARER == 23);
    CHECK(KB_OPT_REPLAY_KEY_SHARE == 24 && KB_REPLAY_QUOTA == 5);
    /* In process: a share of 2 per key; one key's flood never blocks another key's first proof. */
    kb_config *cfg = fixture_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_REPLAY_CACHE_CAPACITY, 64), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_REPLAY_KEY_SHARE, 2), KB_OK);
    kb_verifier *v = NULL;
    kb_result *r = NULL;
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    CHECK_STATUS(kb_result_new(&r), KB_OK);
    struct bytes seen_jkts[64];
    int seen_counts[64];
    size_t distinct = 0;
    int quota = 0, firsts = 0;
    for (size_t i = 0; i < case_count; i++) {
        const struct request_case *c = &cases[i];
        if (c->expected != KB_OK || c->mode != 'r') continue;
        size_t k = 0;
        while (k < distinct && !(seen_jkts[k].len == c->jkt.len && memcmp(seen_jkts[k].data, c->jkt.data, c->jkt.len) == 0))
            k++;
        if (k == distinct && distinct < 64) {
            seen_jkts[distinct] = c->jkt;
            seen_counts[distinct++] = 0;
        }
        kb_status status = verify_case(v, c, fixture_now, r);
        if (seen_counts[k] < 2) {
            CHECK_STATUS(status, KB_OK); /* every key's first two proofs verify, whoever flooded before */
            firsts += seen_counts[k] == 0;
            seen_counts[k]++;
        } else {
            CHECK_STATUS(status, KB_ERR_REPLAY_QUOTA_EXCEEDED);
            CHECK(kb_result_http_status(r) == 429);
            int64_t retry = 0;
            CHECK_STATUS(kb_result_retry_after(r, &retry), KB_OK);
            CHECK(retry == 70); /* the proof window: max age 60 + 2 x skew 5 */
            const uint8_t *p = NULL;
            size_t n = 0;
            CHECK_STATUS(kb_result_field(r, KB_FIELD_RFC_ERROR, &p, &n), KB_OK);
            CHECK(p == NULL && n == 0);
            CHECK_STATUS(kb_result_field(r, KB_FIELD_WWW_AUTHENTICATE, &p, &n), KB_OK);
            CHECK(p != NULL && n > 0);
            quota++;
        }
    }
    CHECK(quota > 50 && firsts >= 5);
    printf("in-process share 2: %d proofs refused with 212, %d keys' first proofs verified\n", quota, firsts);
    int64_t retry = -5;
    const struct request_case *a = first_valid('r', 0);
    CHECK_STATUS(verify_case(v, a, fixture_now, r), KB_ERR_PROOF_REPLAYED); /* a replay stays a replay */
    CHECK_STATUS(kb_result_retry_after(r, &retry), KB_OK);
    CHECK(retry == 0);
    CHECK_STATUS(kb_result_retry_after(NULL, &retry), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_retry_after(r, NULL), KB_ERR_INVALID_ARGUMENT);
    kb_verifier_free(v);
    kb_config_free(cfg);

    /* A per-key override lifts the first key's share; 0 turns the share off. */
    cfg = fixture_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_REPLAY_CACHE_CAPACITY, 64), KB_OK);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_REPLAY_KEY_SHARE, 1), KB_OK);
    CHECK_STATUS(kb_config_set_replay_key_share(cfg, a->jkt.data, a->jkt.len, 0), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    for (size_t skip = 0; skip < 5; skip++) {
        const struct request_case *c = first_valid('r', skip);
        if (c && c->jkt.len == a->jkt.len && memcmp(c->jkt.data, a->jkt.data, a->jkt.len) == 0)
            CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_OK);
    }
    kb_verifier_free(v);
    /* Bad values: refused at once, or by kb_verifier_new. */
    CHECK_STATUS(kb_config_set_replay_key_share(cfg, NULL, 0, 3), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_replay_key_share(cfg, a->jkt.data, a->jkt.len, -2), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_replay_key_share(NULL, a->jkt.data, a->jkt.len, 3), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_REPLAY_KEY_SHARE, 65), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_REPLAY_KEY_SHARE, -1), KB_OK); /* back to capacity / 8 */
    CHECK_STATUS(kb_config_set_replay_key_share(cfg, a->jkt.data, a->jkt.len, 65), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_replay_key_share(cfg, a->jkt.data, a->jkt.len, -1), KB_OK); /* removed */
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_verifier_free(v);
    kb_config_free(cfg);

    /* An external store with insert_owned: it gets the owner (one per key) and its KB_REPLAY_QUOTA and
     * Retry-After reach the result. */
    struct owned_store owned;
    memset(&owned, 0, sizeof owned);
    kb_replay_store_vtable table = {sizeof(kb_replay_store_vtable), unused_insert, NULL, owned_insert};
    cfg = fixture_config();
    CHECK_STATUS(kb_config_set_replay_store(cfg, &table, &owned), KB_OK);
    CHECK_STATUS(kb_verifier_new(cfg, &v, NULL, 0), KB_OK);
    kb_config_free(cfg);
    size_t same = 0;
    for (size_t skip = 0; skip < 4; skip++) {
        const struct request_case *c = first_valid('r', skip);
        if (!c) continue;
        CHECK_STATUS(verify_case(v, c, fixture_now, r), KB_OK);
        same += c->jkt.len == a->jkt.len && memcmp(c->jkt.data, a->jkt.data, a->jkt.len) == 0;
    }
    CHECK(owned.calls == 4);
    CHECK(owned.owner_count == (int)(4 - same + 1));
    owned.answer_quota = 1;
    CHECK_STATUS(verify_case(v, first_valid('r', 5), fixture_now, r), KB_ERR_REPLAY_QUOTA_EXCEEDED);
    CHECK(kb_result_http_status(r) == 429);
    CHECK_STATUS(kb_result_retry_after(r, &retry), KB_OK);
    CHECK(retry == 9);
    const struct request_case *t = first_valid('t', 0);
    CHECK(t != NULL);
    if (t) {
        CHECK_STATUS(verify_case(v, t, fixture_now, r), KB_ERR_REPLAY_QUOTA_EXCEEDED);
        CHECK(kb_result_http_status(r) == 429); /* the token endpoint too */
    }
    kb_verifier_free(v);
    kb_result_free(r);
}

/* ----- Many threads, one verifier ----- */

#define THREADS 4

struct thread_job {
    kb_verifier *verifier;
    size_t verified;
    size_t replayed;
    size_t wrong;
};

static void *thread_main(void *arg) {
    struct thread_job *job = arg;
    kb_result *r = NULL;
    if (kb_result_new(&r) != KB_OK) {
        job->wrong++;
        return NULL;
    }
    for (size_t i = 0; i < case_count; i++) {
        const struct request_case *c = &cases[i];
        kb_status status = verify_case(job->verifier, c, fixture_now, r);
        if (c->expected != KB_OK) {
            job->wrong += status != c->expected;
        } else if (status == KB_OK) {
            const uint8_t *p = NULL;
            size_t n = 0;
            job->verified++;
            if (kb_result_field(r, KB_FIELD_JKT, &p, &n) != KB_OK || n != c->jkt.len || memcmp(p, c->jkt.data, n))
                job->wrong++;
        } else if (status == KB_ERR_PROOF_REPLAYED) {
            job->replayed++;
        } else {
            job->wrong++;
        }
    }
    kb_result_free(r);
    return NULL;
}

static void test_threads(void) {
    kb_verifier *v = fixture_verifier();
    pthread_t threads[THREADS];
    struct thread_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i].verifier = v;
        jobs[i].verified = jobs[i].replayed = jobs[i].wrong = 0;
        CHECK(pthread_create(&threads[i], NULL, thread_main, &jobs[i]) == 0);
    }
    size_t verified = 0, replayed = 0, wrong = 0, valid = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        verified += jobs[i].verified;
        replayed += jobs[i].replayed;
        wrong += jobs[i].wrong;
    }
    for (size_t i = 0; i < case_count; i++) valid += cases[i].expected == KB_OK;
    /* Each valid request is accepted exactly once across all threads; every other attempt is a replay. */
    printf("  threads: %d threads, %zu verified, %zu replays refused, %zu wrong\n", THREADS, verified, replayed, wrong);
    CHECK(verified == valid);
    CHECK(replayed == valid * (THREADS - 1));
    CHECK(wrong == 0);
    kb_verifier_free(v);
}

/* The crypto backends: the library's default, the availability query, and a verifier per backend.
 * KB_EXPECT_BACKEND (openssl or swift-crypto), when set, is the default this flavour must report. */
static void test_backends(void) {
    const char *name = kb_backend_name();
    CHECK(strcmp(name, "openssl") == 0 || strcmp(name, "swift-crypto") == 0);
    const char *expected = getenv("KB_EXPECT_BACKEND");
    if (expected != NULL) CHECK(strcmp(name, expected) == 0);
    CHECK(kb_backend_available(KB_BACKEND_DEFAULT) == 1);
    CHECK(kb_backend_available(42) == 0);
    CHECK(kb_backend_available(-1) == 0);
    CHECK_STATUS(kb_config_set_backend(NULL, KB_BACKEND_DEFAULT), KB_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(kb_verifier_backend_name(NULL), "") == 0);
    kb_config *cfg = NULL;
    kb_verifier *v = NULL;
    char err[128];
    CHECK_STATUS(kb_config_new(&cfg), KB_OK);
    CHECK_STATUS(kb_config_set_backend(cfg, 42), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_OK);
    CHECK(strcmp(kb_verifier_backend_name(v), name) == 0);
    kb_verifier_free(v);
    v = NULL;
    const kb_backend backends[] = {KB_BACKEND_OPENSSL, KB_BACKEND_SWIFT_CRYPTO};
    const char *names[] = {"openssl", "swift-crypto"};
    for (size_t i = 0; i < 2; i++) {
        if (kb_backend_available(backends[i])) {
            CHECK_STATUS(kb_config_set_backend(cfg, backends[i]), KB_OK);
            CHECK_STATUS(kb_verifier_new(cfg, &v, err, sizeof err), KB_OK);
            CHECK(strcmp(kb_verifier_backend_name(v), names[i]) == 0);
            kb_verifier_free(v);
            v = NULL;
        } else {
            CHECK_STATUS(kb_config_set_backend(cfg, backends[i]), KB_ERR_INVALID_CONFIG);
        }
    }
    kb_config_free(cfg);
}

/* ----- KB_NOW_CLOCK: the library reads the clock when the verifier was made with KB_OPT_READ_CLOCK ----- */

static void test_default_clock(void) {
    kb_result *r = new_result();
    kb_config *cfg = live_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_READ_CLOCK, 2), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_READ_CLOCK, 1), KB_OK);
    /* The requests were signed when the test started; a long max age keeps them fresh under valgrind too, while the
     * hour-old proof stays stale. */
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_PROOF_MAX_AGE_SECONDS, 3000), KB_OK);
    kb_verifier *v = live_verifier(cfg);
    /* Made at the real time: verified with the library's clock; an hour old: stale (209). */
    CHECK_STATUS(verify_live(v, "rich-1", KB_NOW_CLOCK, r), KB_OK);
    CHECK_STATUS(verify_live(v, "rich-stale", KB_NOW_CLOCK, r), KB_ERR_PROOF_IAT);
    /* A given `now` still wins: an hour and a half later the fresh proof is stale too. */
    CHECK_STATUS(verify_live(v, "rich-2", live_now + 5400, r), KB_ERR_PROOF_IAT);
    /* Revocation and nonces take the sentinel too. */
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_STATUS(verify_live(v, "rich-2", KB_NOW_CLOCK, r), KB_OK);
    char jkt[100] = "";
    field(r, KB_FIELD_JKT, &p, &n);
    CHECK(n > 0 && n < sizeof jkt);
    if (n > 0 && n < sizeof jkt) memcpy(jkt, p, n);
    CHECK_STATUS(kb_revoke_jkt(v, B(jkt), strlen(jkt), live_now + 600, KB_NOW_CLOCK), KB_OK);
    CHECK_STATUS(verify_live(v, "rich-3", KB_NOW_CLOCK, r), KB_ERR_KEY_REVOKED);
    kb_verifier_free(v);

    /* Without the option the sentinel is an ordinary time, far in the past: the proof is "from the future". */
    v = live_verifier(live_config());
    CHECK_STATUS(verify_live(v, "rich-4", KB_NOW_CLOCK, r), KB_ERR_PROOF_IAT);
    CHECK_STATUS(verify_live(v, "rich-4", live_now, r), KB_OK);
    kb_verifier_free(v);
    kb_result_free(r);
}

/* ----- Per-request requirements (314, 315) and the claim rules (310) ----- */

static void expect_challenge(kb_result *r, const char *expected) {
    const uint8_t *p = NULL;
    size_t n = 0;
    field(r, KB_FIELD_WWW_AUTHENTICATE, &p, &n);
    CHECK(bytes_equal(p, n, expected));
    if (!bytes_equal(p, n, expected)) fprintf(stderr, "  got: %.*s\n", (int)n, p ? (const char *)p : "");
}

static kb_status verify_live_with(kb_verifier *v, const char *name, const kb_requirements *req, kb_result *r) {
    return verify_live_at(v, name, req, live_now, r);
}

static void test_requirements(void) {
    kb_result *r = new_result();
    kb_verifier *v = live_verifier(live_config());

    /* Scope: held -> OK; missing -> 315, HTTP 403, scope= in the challenge. NULL and an empty struct require nothing. */
    kb_requirements req = KB_REQUIREMENTS_INIT;
    CHECK_STATUS(verify_live_with(v, "rich-5", NULL, r), KB_OK);
    CHECK_STATUS(verify_live_with(v, "rich-6", &req, r), KB_OK);
    req.scope = B("write read");
    req.scope_len = 10;
    CHECK_STATUS(verify_live_with(v, "rich-7", &req, r), KB_OK);
    req.scope = B("read admin");
    CHECK_STATUS(verify_live_with(v, "rich-8", &req, r), KB_ERR_INSUFFICIENT_SCOPE);
    CHECK(kb_result_http_status(r) == 403);
    expect_challenge(r, "DPoP error=\"insufficient_scope\", error_description=\"the access token lacks a scope this "
                        "request requires\", scope=\"read admin\"");
    /* Step-up: auth_time is now - 100. */
    kb_requirements step = KB_REQUIREMENTS_INIT;
    step.flags = KB_REQUIRE_MAX_AGE;
    step.max_age = 10;
    CHECK_STATUS(verify_live_with(v, "rich-8", &step, r), KB_ERR_INSUFFICIENT_USER_AUTHENTICATION);
    CHECK(kb_result_http_status(r) == 401);
    expect_challenge(r, "DPoP error=\"insufficient_user_authentication\", error_description=\"the user authentication "
                        "is older than max_age\", max_age=\"10\"");
    step.acr_values = B("urn:hw urn:bio");
    step.acr_values_len = 14;
    step.max_age = 600;
    CHECK_STATUS(verify_live_with(v, "rich-8", &step, r), KB_ERR_INSUFFICIENT_USER_AUTHENTICATION);
    expect_challenge(r, "DPoP error=\"insufficient_user_authentication\", error_description=\"the authentication "
                        "context class is not one the request accepts\", acr_values=\"urn:hw urn:bio\", "
                        "max_age=\"600\"");
    step.acr_values = B("urn:mfa");
    step.acr_values_len = 7;
    step.scope = B("read");
    step.scope_len = 4;
    CHECK_STATUS(verify_live_with(v, "rich-8", &step, r), KB_OK); /* the refusals above recorded nothing */
    /* No auth_time: 314, unless KB_OPT_AUTH_TIME_FROM_IAT (iat is now). */
    step = (kb_requirements)KB_REQUIREMENTS_INIT;
    step.flags = KB_REQUIRE_MAX_AGE;
    step.max_age = 60;
    CHECK_STATUS(verify_live_with(v, "plain-1", &step, r), KB_ERR_INSUFFICIENT_USER_AUTHENTICATION);
    /* Misuse: unknown flags, a negative max_age, a small struct_size, NULL with a length. */
    kb_requirements bad = KB_REQUIREMENTS_INIT;
    bad.flags = 4;
    CHECK_STATUS(verify_live_with(v, "plain-1", &bad, r), KB_ERR_INVALID_ARGUMENT);
    bad = (kb_requirements)KB_REQUIREMENTS_INIT;
    bad.flags = KB_REQUIRE_MAX_AGE;
    bad.max_age = -1;
    CHECK_STATUS(verify_live_with(v, "plain-1", &bad, r), KB_ERR_INVALID_ARGUMENT);
    bad = (kb_requirements)KB_REQUIREMENTS_INIT;
    bad.struct_size = 8;
    CHECK_STATUS(verify_live_with(v, "plain-1", &bad, r), KB_ERR_INVALID_ARGUMENT);
    bad = (kb_requirements)KB_REQUIREMENTS_INIT;
    bad.scope_len = 3;
    CHECK_STATUS(verify_live_with(v, "plain-1", &bad, r), KB_ERR_INVALID_ARGUMENT);
    kb_verifier_free(v);

    kb_config *cfg = live_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_AUTH_TIME_FROM_IAT, 2), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_AUTH_TIME_FROM_IAT, 1), KB_OK);
    v = live_verifier(cfg);
    CHECK_STATUS(verify_live_with(v, "plain-1", &step, r), KB_OK);
    kb_verifier_free(v);

    /* Claim rules: a required claim, allowed client ids. */
    cfg = live_config();
    CHECK_STATUS(kb_config_add_required_claim(cfg, B("tenant"), 6), KB_OK);
    CHECK_STATUS(kb_config_add_required_claim(cfg, B(""), 0), KB_ERR_INVALID_CONFIG);
    CHECK_STATUS(kb_config_add_required_claim(NULL, B("x"), 1), KB_ERR_INVALID_ARGUMENT);
    v = live_verifier(cfg);
    CHECK_STATUS(verify_live(v, "plain-2", live_now, r), KB_ERR_TOKEN_CLAIMS);
    const uint8_t *p = NULL;
    size_t n = 0;
    field(r, KB_FIELD_ERROR_DESCRIPTION, &p, &n);
    CHECK(bytes_equal(p, n, "access token has no tenant claim"));
    kb_verifier_free(v);
    cfg = live_config();
    CHECK_STATUS(kb_config_add_allowed_client_id(cfg, B("c-2"), 3), KB_OK);
    CHECK_STATUS(kb_config_add_allowed_client_id(cfg, NULL, 2), KB_ERR_INVALID_ARGUMENT);
    v = live_verifier(cfg);
    CHECK_STATUS(verify_live(v, "plain-2", live_now, r), KB_ERR_TOKEN_CLAIMS); /* no client_id */
    kb_verifier_free(v);
    cfg = live_config();
    CHECK_STATUS(kb_config_add_allowed_client_id(cfg, B("c-1"), 3), KB_OK);
    v = live_verifier(cfg);
    CHECK_STATUS(verify_live(v, "plain-2", live_now, r), KB_ERR_TOKEN_CLAIMS);
    CHECK_STATUS(verify_live(v, "rich-1", live_now, r), KB_OK);
    kb_verifier_free(v);
    kb_result_free(r);
}

/* ----- Bearer migration mode (316) and the typed claim readers ----- */

/* A verifier for the live requests with ES256 proofs only (short challenges) and, when `bearer`, migration mode. */
static kb_verifier *bearer_verifier(int bearer) {
    kb_config *cfg = live_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_PROOF_ALGORITHMS, KB_ALG_ES256), KB_OK);
    if (bearer) CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_ALLOW_BEARER, 1), KB_OK);
    return live_verifier(cfg);
}

/* Verifies live request `auth_name`'s Authorization with live request `dpop_name`'s DPoP value. */
static kb_status verify_mixed(kb_verifier *v, const char *auth_name, const char *dpop_name, kb_result *r) {
    const struct live_request *a = live(auth_name), *d = live(dpop_name);
    CHECK(a != NULL && d != NULL);
    if (!a || !d) return -1;
    const uint8_t *dpop[1] = {d->dpop.data};
    size_t dpop_len[1] = {d->dpop.len};
    const char *url = "https://api.example.com/items";
    return kb_verify(v, B("GET"), 3, B(url), strlen(url), a->authorization.data, a->authorization.len, dpop, dpop_len,
                     1, live_now, r);
}

static void test_bearer_migration(void) {
    kb_result *r = new_result();
    const uint8_t *p = NULL;
    size_t n = 0;
    kb_config *cfg = live_config();
    CHECK_STATUS(kb_config_set_int(cfg, KB_OPT_ALLOW_BEARER, 2), KB_ERR_INVALID_CONFIG);
    kb_config_free(cfg);

    /* Off (the default): Bearer is 101 with a bare DPoP challenge. */
    kb_verifier *v = bearer_verifier(0);
    CHECK_STATUS(verify_live(v, "bearer-unbound", live_now, r), KB_ERR_UNSUPPORTED_SCHEME);
    expect_challenge(r, "DPoP algs=\"ES256\"");
    CHECK_STATUS(verify_live(v, "bearer-bound", live_now, r), KB_ERR_UNSUPPORTED_SCHEME);
    kb_verifier_free(v);

    v = bearer_verifier(1);
    /* A token without cnf as Bearer: verified, no jkt and no proof jti (absent, not empty), twice (no replay entry). */
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(verify_live(v, "bearer-unbound", live_now, r), KB_OK);
        field(r, KB_FIELD_JKT, &p, &n);
        CHECK(p == NULL && n == 0);
        field(r, KB_FIELD_PROOF_JTI, &p, &n);
        CHECK(p == NULL && n == 0);
        field(r, KB_FIELD_SUB, &p, &n);
        CHECK(bytes_equal(p, n, "alice"));
    }
    kb_metrics m = KB_METRICS_INIT;
    CHECK_STATUS(kb_verifier_metrics(v, &m), KB_OK);
    CHECK(m.replay_cache_count == 0 && m.verified == 2);
    /* A token with cnf as Bearer: 316, HTTP 401, the error on the Bearer scheme. */
    CHECK_STATUS(verify_live(v, "bearer-bound", live_now, r), KB_ERR_BOUND_TOKEN_AS_BEARER);
    note_status(KB_ERR_BOUND_TOKEN_AS_BEARER);
    CHECK(kb_result_http_status(r) == 401);
    expect_challenge(r, "DPoP algs=\"ES256\", Bearer error=\"invalid_token\", error_description=\"a DPoP-bound access "
                        "token was sent with the Bearer scheme\"");
    /* Bearer with a DPoP header: 102, HTTP 400. */
    CHECK_STATUS(verify_mixed(v, "bearer-unbound", "plain-1", r), KB_ERR_MALFORMED_AUTHORIZATION);
    CHECK(kb_result_http_status(r) == 400);
    expect_challenge(r, "DPoP algs=\"ES256\", Bearer error=\"invalid_request\", error_description=\"a Bearer request "
                        "carries a DPoP header\"");
    /* DPoP requests as always; their challenges add a bare Bearer. */
    CHECK_STATUS(verify_live(v, "plain-1", live_now, r), KB_OK);
    field(r, KB_FIELD_JKT, &p, &n);
    CHECK(p != NULL && n == 43);
    CHECK_STATUS(verify_live(v, "plain-1", live_now, r), KB_ERR_PROOF_REPLAYED);
    expect_challenge(r, "DPoP error=\"invalid_dpop_proof\", error_description=\"this proof was already used\", "
                        "algs=\"ES256\", Bearer");
    kb_verifier_free(v);
    kb_result_free(r);
}

static void test_typed_claims(void) {
    kb_result *r = new_result();
    kb_verifier *v = bearer_verifier(1);
    uint8_t buf[64];
    size_t n = 99;
    int present = 9;
    int64_t value = 99;
    /* Before any verification: absent. */
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, &present, buf, sizeof buf, &n), KB_OK);
    CHECK(present == 0 && n == 0);
    CHECK_STATUS(verify_live(v, "rich-1", live_now, r), KB_OK);
    /* Strings, unescaped. */
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, &present, buf, sizeof buf, &n), KB_OK);
    CHECK(present == 1 && bytes_equal(buf, n, "alice"));
    CHECK_STATUS(kb_result_claim_string(r, B("esc"), 3, &present, buf, sizeof buf, &n), KB_OK);
    CHECK(present == 1 && bytes_equal(buf, n, "q\"u\xc3\xa9"));
    /* Too small: 901 with the length needed, nothing written. */
    buf[0] = 'Z';
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, &present, buf, 2, &n), KB_ERR_BUFFER_TOO_SMALL);
    CHECK(present == 1 && n == 5 && buf[0] == 'Z');
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, &present, NULL, 0, &n), KB_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 5);
    /* Absent: KB_OK with present 0. Another JSON type: 310. */
    CHECK_STATUS(kb_result_claim_string(r, B("nope"), 4, &present, buf, sizeof buf, &n), KB_OK);
    CHECK(present == 0 && n == 0);
    CHECK_STATUS(kb_result_claim_string(r, B("n"), 1, &present, buf, sizeof buf, &n), KB_ERR_TOKEN_CLAIMS);
    CHECK(present == 1 && n == 0);
    CHECK_STATUS(kb_result_claim_string(r, B("roles"), 5, &present, buf, sizeof buf, &n), KB_ERR_TOKEN_CLAIMS);
    /* Integers. */
    CHECK_STATUS(kb_result_claim_int64(r, B("n"), 1, &present, &value), KB_OK);
    CHECK(present == 1 && value == 42);
    CHECK_STATUS(kb_result_claim_int64(r, B("neg"), 3, &present, &value), KB_OK);
    CHECK(present == 1 && value == -7);
    CHECK_STATUS(kb_result_claim_int64(r, B("nope"), 4, &present, &value), KB_OK);
    CHECK(present == 0 && value == 0);
    CHECK_STATUS(kb_result_claim_int64(r, B("big"), 3, &present, &value), KB_ERR_TOKEN_CLAIMS); /* beyond 2^53 */
    CHECK(present == 1 && value == 0);
    CHECK_STATUS(kb_result_claim_int64(r, B("f"), 1, &present, &value), KB_ERR_TOKEN_CLAIMS);
    CHECK_STATUS(kb_result_claim_int64(r, B("b"), 1, &present, &value), KB_ERR_TOKEN_CLAIMS);
    CHECK_STATUS(kb_result_claim_int64(r, B("sub"), 3, &present, &value), KB_ERR_TOKEN_CLAIMS);
    /* Misuse. */
    CHECK_STATUS(kb_result_claim_string(NULL, B("sub"), 3, &present, buf, sizeof buf, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, NULL, buf, sizeof buf, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, &present, buf, sizeof buf, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_string(r, B("sub"), 3, &present, NULL, 8, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_string(r, NULL, 3, &present, buf, sizeof buf, &n), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_int64(r, B("n"), 1, NULL, &value), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_int64(r, B("n"), 1, &present, NULL), KB_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(kb_result_claim_int64(r, B("n"), SIZE_MAX, &present, &value), KB_ERR_INVALID_ARGUMENT);
    /* A Bearer result reads its claims the same way; a failed verification has none. */
    CHECK_STATUS(verify_live(v, "bearer-unbound", live_now, r), KB_OK);
    CHECK_STATUS(kb_result_claim_string(r, B("scope"), 5, &present, buf, sizeof buf, &n), KB_OK);
    CHECK(present == 1 && bytes_equal(buf, n, "read"));
    CHECK_STATUS(verify_live(v, "bearer-bound", live_now, r), KB_ERR_BOUND_TOKEN_AS_BEARER);
    CHECK_STATUS(kb_result_claim_int64(r, B("n"), 1, &present, &value), KB_OK);
    CHECK(present == 0);
    kb_verifier_free(v);
    kb_result_free(r);
}

int main(int argc, char **argv) {
    if (argc != 3 || !load_fixtures(argv[1]) || !load_live(argv[2])) {
        fprintf(stderr, "usage: test_capi FIXTURES LIVE (from IntegrationTests/c/gen_fixtures.py and "
                        "gen_live_fixtures.py)\n");
        return 2;
    }
    printf("test_capi: keybound %s, %zu fixture cases\n", kb_version_string(), case_count);
    test_version_and_names();
    test_backends();
    test_invalid_arguments();
    test_configuration_errors();
    test_fixture_cases();
    test_issuer_pem();
    test_result_replay_revocation();
    test_rfc_examples();
    test_nonces();
    test_replace_jwks_and_key_miss();
    test_external_replay_store();
    test_replay_key_share();
    test_threads();
    test_default_clock();
    test_requirements();
    test_bearer_migration();
    test_typed_claims();

    printf("  status table:\n");
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        printf("    %3d %-26s %s %s\n", status_table[i].status, kb_status_name(status_table[i].status),
               status_table[i].seen ? "ok     " : "MISSING", status_table[i].produced_by);
        checks++;
        if (!status_table[i].seen) failures++;
    }
    free_fixtures();
    free_live();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
