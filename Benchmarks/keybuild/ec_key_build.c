/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
/* Ways to build an EC public key from JWK coordinates on OpenSSL 3, each timed for the build, the first verify with
 * the new key (OpenSSL 3 may defer work to it) and a second verify, in thread CPU time (BENCHMARKS.md "A new client
 * key at the crypto library's speed"). Every route must also refuse a point off the curve, which is checked first.
 *
 *   cc -O2 -o /tmp/ec_key_build Benchmarks/keybuild/ec_key_build.c -lcrypto && /tmp/ec_key_build P-256 3
 *
 * Arguments: the curve (P-256, P-384, P-521; default P-256) and the number of rounds (default 3). */
#define OPENSSL_SUPPRESS_DEPRECATED /* the legacy EC_KEY route is one of the candidates */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

enum { KEYS = 500, MAX_POINT = 1 + 2 * 66, MAX_SPKI = 200 };

static const char *group;
static int nid;
static size_t pointLength;
static unsigned char points[KEYS][MAX_POINT];
static unsigned char signatures[KEYS][160];
static size_t signatureLengths[KEYS];
static const unsigned char message[] = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJiZW5jaG1hcmsifQ";
static const EVP_MD *md;
static EVP_PKEY *parameters;    /* parameters-only key of the curve */
static EVP_PKEY_CTX *reusedCtx; /* one EVP_PKEY_fromdata context for every key */
static EC_GROUP *ecGroup;
static unsigned char spki[MAX_SPKI];
static size_t spkiPrefix; /* the SPKI's bytes before the point */

static double cpuSeconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int verify(EVP_PKEY *key, int i) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1
             && EVP_DigestVerify(ctx, signatures[i], signatureLengths[i], message, sizeof message - 1) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void pointParams(OSSL_PARAM *params, const unsigned char *point) {
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, pointLength);
    params[2] = OSSL_PARAM_construct_end();
}

static EVP_PKEY *viaFromdata(const unsigned char *point) {
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[3];
    pointParams(params, point);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static EVP_PKEY *viaReusedFromdata(const unsigned char *point) {
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[3];
    pointParams(params, point);
    return EVP_PKEY_fromdata(reusedCtx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1 ? key : NULL;
}

static EVP_PKEY *viaParametersTemplate(const unsigned char *point) {
    EVP_PKEY *key = EVP_PKEY_new();
    if (key == NULL || EVP_PKEY_copy_parameters(key, parameters) != 1
        || EVP_PKEY_set1_encoded_public_key(key, point, pointLength) != 1) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

static EVP_PKEY *viaDERTemplate(const unsigned char *point) {
    unsigned char der[MAX_SPKI];
    memcpy(der, spki, spkiPrefix);
    memcpy(der + spkiPrefix, point, pointLength);
    const unsigned char *cursor = der;
    return d2i_PUBKEY(NULL, &cursor, (long)(spkiPrefix + pointLength));
}

static EVP_PKEY *viaDecoder(const unsigned char *point) {
    unsigned char der[MAX_SPKI];
    memcpy(der, spki, spkiPrefix);
    memcpy(der + spkiPrefix, point, pointLength);
    EVP_PKEY *key = NULL;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "SubjectPublicKeyInfo", "EC", EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    const unsigned char *cursor = der;
    size_t length = spkiPrefix + pointLength;
    if (dctx == NULL || OSSL_DECODER_from_data(dctx, &cursor, &length) != 1) key = NULL;
    OSSL_DECODER_CTX_free(dctx);
    return key;
}

static EVP_PKEY *viaLegacyECKey(const unsigned char *point) {
    EC_KEY *ec = EC_KEY_new();
    EVP_PKEY *key = NULL;
    if (ec != NULL && EC_KEY_set_group(ec, ecGroup) == 1 && EC_KEY_oct2key(ec, point, pointLength, NULL) == 1
        && (key = EVP_PKEY_new()) != NULL && EVP_PKEY_assign_EC_KEY(key, ec) == 1)
        return key;
    EVP_PKEY_free(key);
    EC_KEY_free(ec);
    return NULL;
}

typedef EVP_PKEY *(*Route)(const unsigned char *point);

static void measure(const char *name, Route build) {
    static EVP_PKEY *keys[KEYS];
    unsigned char offCurve[MAX_POINT];
    memcpy(offCurve, points[0], pointLength);
    offCurve[pointLength - 1] ^= 1;
    EVP_PKEY *refused = build(offCurve);
    ERR_clear_error();
    if (refused != NULL) {
        printf("%-22s ACCEPTED A POINT OFF THE CURVE\n", name);
        EVP_PKEY_free(refused);
        return;
    }
    double t0 = cpuSeconds();
    for (int i = 0; i < KEYS; i++)
        if ((keys[i] = build(points[i])) == NULL) {
            printf("%-22s build failed\n", name);
            exit(1);
        }
    double t1 = cpuSeconds();
    for (int i = 0; i < KEYS; i++)
        if (!verify(keys[i], i)) {
            printf("%-22s verify failed\n", name);
            exit(1);
        }
    double t2 = cpuSeconds();
    for (int i = 0; i < KEYS; i++) (void)verify(keys[i], i);
    double t3 = cpuSeconds();
    for (int i = 0; i < KEYS; i++) EVP_PKEY_free(keys[i]);
    double us = 1e6 / KEYS;
    printf("%-22s build %7.2f µs   first verify %7.2f µs   second verify %7.2f µs   build + first %7.2f µs\n", name,
           (t1 - t0) * us, (t2 - t1) * us, (t3 - t2) * us, (t2 - t0) * us);
}

int main(int argc, char **argv) {
    const char *curve = argc > 1 ? argv[1] : "P-256";
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    const char *digest = "SHA256";
    if (strcmp(curve, "P-384") == 0) group = "secp384r1", nid = NID_secp384r1, pointLength = 97, digest = "SHA384";
    else if (strcmp(curve, "P-521") == 0) group = "secp521r1", nid = NID_secp521r1, pointLength = 133, digest = "SHA512";
    else curve = "P-256", group = "prime256v1", nid = NID_X9_62_prime256v1, pointLength = 65;
    md = EVP_MD_fetch(NULL, digest, NULL);
    for (int i = 0; i < KEYS; i++) {
        EVP_PKEY *private = EVP_EC_gen(curve);
        size_t length = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        signatureLengths[i] = sizeof signatures[i];
        if (private == NULL || ctx == NULL
            || EVP_PKEY_get_octet_string_param(private, OSSL_PKEY_PARAM_PUB_KEY, points[i], MAX_POINT, &length) != 1
            || length != pointLength || EVP_DigestSignInit(ctx, NULL, md, NULL, private) != 1
            || EVP_DigestSign(ctx, signatures[i], &signatureLengths[i], message, sizeof message - 1) != 1)
            return 1;
        EVP_MD_CTX_free(ctx);
        if (i == 0) {
            unsigned char *der = NULL;
            int derLength = i2d_PUBKEY(private, &der);
            if (derLength <= (int)pointLength || derLength > MAX_SPKI) return 1;
            memcpy(spki, der, (size_t)derLength);
            spkiPrefix = (size_t)derLength - pointLength;
            OPENSSL_free(der);
        }
        EVP_PKEY_free(private);
    }
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
                            OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &parameters, EVP_PKEY_KEY_PARAMETERS, params) != 1)
        return 1;
    EVP_PKEY_CTX_free(ctx);
    reusedCtx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (reusedCtx == NULL || EVP_PKEY_fromdata_init(reusedCtx) != 1) return 1;
    ecGroup = EC_GROUP_new_by_curve_name(nid);
    printf("%s, %s, %d keys, thread CPU time per key\n", curve, OpenSSL_version(OPENSSL_VERSION), KEYS);
    for (int round = 0; round < rounds; round++) {
        measure("EVP_PKEY_fromdata", viaFromdata);
        measure("fromdata, reused ctx", viaReusedFromdata);
        measure("parameters template", viaParametersTemplate);
        measure("legacy EC_KEY", viaLegacyECKey);
        measure("d2i_PUBKEY template", viaDERTemplate);
        measure("OSSL_DECODER", viaDecoder);
    }
    return 0;
}
