/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
#include "ckeybound_bench.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM *params) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pkey = NULL;
        ERR_clear_error();
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* The fastest correct EC public-key build we found on OpenSSL 3 (BENCHMARKS.md "A new client key"): a
 * parameters-only key per curve, built once; each key copies its parameters (EVP_PKEY_copy_parameters) and takes
 * the encoded point (EVP_PKEY_set1_encoded_public_key, which decodes it with EC_POINT_oct2point and refuses a point
 * that is not on the curve). EVP_PKEY_fromdata builds the curve's group from its name on every call instead. */
static const char *const kbb_groups[3] = {"prime256v1", "secp384r1", "secp521r1"};
static EVP_PKEY *kbb_group_templates[3];
static pthread_once_t kbb_group_templates_once = PTHREAD_ONCE_INIT;

static void kbb_make_group_templates(void) {
    for (int i = 0; i < 3; i++) {
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)kbb_groups[i], 0);
        params[1] = OSSL_PARAM_construct_end();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1) {
            if (EVP_PKEY_fromdata(ctx, &kbb_group_templates[i], EVP_PKEY_KEY_PARAMETERS, params) != 1) {
                kbb_group_templates[i] = NULL;
            }
        }
        EVP_PKEY_CTX_free(ctx);
    }
    ERR_clear_error();
}

void *kbb_ec_key_new(const char *group, const uint8_t *x, const uint8_t *y, size_t coordinateLength) {
    unsigned char point[1 + 2 * 66];
    EVP_PKEY *template = NULL;
    if (coordinateLength > 66 || pthread_once(&kbb_group_templates_once, kbb_make_group_templates) != 0) return NULL;
    for (int i = 0; i < 3; i++) {
        if (strcmp(group, kbb_groups[i]) == 0) template = kbb_group_templates[i];
    }
    if (template == NULL) return NULL;
    point[0] = 0x04;
    memcpy(point + 1, x, coordinateLength);
    memcpy(point + 1 + coordinateLength, y, coordinateLength);
    EVP_PKEY *pkey = EVP_PKEY_new();
    if (pkey == NULL || EVP_PKEY_copy_parameters(pkey, template) != 1
        || EVP_PKEY_set1_encoded_public_key(pkey, point, 1 + 2 * coordinateLength) != 1) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return NULL;
    }
    return pkey;
}

void *kbb_rsa_key_fromdata(const uint8_t *n, size_t nLength, const uint8_t *e, size_t eLength) {
    /* OSSL_PARAM integers are native-endian: go through BIGNUMs, as OSSL_PARAM_BLD would. */
    BIGNUM *bn = BN_bin2bn(n, (int)nLength, NULL);
    BIGNUM *be = BN_bin2bn(e, (int)eLength, NULL);
    unsigned char nBuf[1024], eBuf[16];
    EVP_PKEY *pkey = NULL;
    if (bn != NULL && be != NULL && nLength <= sizeof nBuf && eLength <= sizeof eBuf
        && BN_bn2nativepad(bn, nBuf, (int)nLength) > 0 && BN_bn2nativepad(be, eBuf, (int)eLength) > 0) {
        OSSL_PARAM params[3];
        params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, nBuf, nLength);
        params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, eBuf, eLength);
        params[2] = OSSL_PARAM_construct_end();
        pkey = fromdata("RSA", params);
    }
    BN_free(bn);
    BN_free(be);
    return pkey;
}

void *kbb_ed25519_key_fromdata(const uint8_t *x, size_t length) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)x, length);
    params[1] = OSSL_PARAM_construct_end();
    return fromdata("ED25519", params);
}

void kbb_key_free(void *key) { EVP_PKEY_free((EVP_PKEY *)key); }

const void *kbb_fetch_md(const char *name) {
    if (name == NULL) return NULL;
    return EVP_MD_fetch(NULL, name, NULL);
}

size_t kbb_ecdsa_jws_to_der(const uint8_t *rs, size_t length, uint8_t *out, size_t capacity) {
    size_t half = length / 2, written = 0;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(rs + half, (int)half, NULL);
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* owned by sig now */
        int needed = i2d_ECDSA_SIG(sig, NULL);
        if (needed > 0 && (size_t)needed <= capacity) {
            unsigned char *cursor = out;
            written = (size_t)i2d_ECDSA_SIG(sig, &cursor);
        }
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return written;
}

int kbb_digest_verify(void *key, const void *md, int pss, const uint8_t *sig, size_t sigLength,
                      const uint8_t *tbs, size_t tbsLength) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;
    if (ctx == NULL) return 0;
    if (EVP_DigestVerifyInit(ctx, &pctx, (const EVP_MD *)md, NULL, (EVP_PKEY *)key) == 1) {
        if (pss) {
            if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
                goto done;
            }
        }
        ok = EVP_DigestVerify(ctx, sig, sigLength, tbs, tbsLength) == 1;
    }
done:
    if (!ok) ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return ok;
}

const char *kbb_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }
