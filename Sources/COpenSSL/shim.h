/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
#ifndef KEYBOUND_COPENSSL_SHIM_H
#define KEYBOUND_COPENSSL_SHIM_H

#include <limits.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

/* Wrappers for function-like macros and for `unsigned char *` parameters, so Swift can pass raw
 * pointers without binding memory. `static inline`: nothing here is exported from our library. */

static inline void COpenSSL_OPENSSL_free(void *ptr) { OPENSSL_free(ptr); }

/* SHA-256 with a context on the caller's stack. OpenSSL 3's one-shot SHA256() goes through EVP_Q_digest, which
 * fetches the algorithm and allocates a context on every call; the low-level functions do neither. They are marked
 * deprecated in 3.0 but remain part of its API; Keybound uses them only for ath, thumbprints and replay keys (public
 * data), while signature verification always goes through EVP. */
static inline int COpenSSL_SHA256(const void *data, size_t len, void *out) {
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
    SHA256_CTX ctx;
    int ok = SHA256_Init(&ctx) && SHA256_Update(&ctx, data, len) && SHA256_Final((unsigned char *)out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return ok;
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

static inline int COpenSSL_EVP_Digest(const void *data, size_t len, void *out, const EVP_MD *md) {
    unsigned int outLen = 0;
    return EVP_Digest(data, len, (unsigned char *)out, &outLen, md, NULL);
}

/* Signatures and keys (Keybound/Crypto/OpenSSL). */

static inline int COpenSSL_EVP_DigestVerify(EVP_MD_CTX *ctx, const void *sig, size_t sigLen,
                                            const void *tbs, size_t tbsLen) {
    /* An empty message may come with a NULL pointer; give OpenSSL a real one. */
    static const unsigned char empty[1] = {0};
    if (tbsLen == 0) tbs = empty;
    if (sigLen == 0) sig = empty;
    return EVP_DigestVerify(ctx, (const unsigned char *)sig, sigLen, (const unsigned char *)tbs, tbsLen);
}

static inline BIGNUM *COpenSSL_BN_bin2bn(const void *bytes, size_t len) {
    if (len > (size_t)INT_MAX) return NULL;
    return BN_bin2bn((const unsigned char *)bytes, (int)len, NULL);
}

static inline EVP_PKEY *COpenSSL_EVP_PKEY_new_raw_public_key_ex(const char *keyType, const void *pub, size_t len) {
    return EVP_PKEY_new_raw_public_key_ex(NULL, keyType, NULL, (const unsigned char *)pub, len);
}

/* EVP_PKEY_PUBLIC_KEY is a composite macro Swift cannot import. */
static inline int COpenSSL_EVP_PKEY_PUBLIC_KEY(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline int COpenSSL_EVP_PKEY_KEY_PARAMETERS(void) { return EVP_PKEY_KEY_PARAMETERS; }

/* Sets an EC key's public point from its SEC 1 encoding; the provider decodes it with EC_POINT_oct2point, which
 * refuses a point that is not on the curve. */
static inline int COpenSSL_EVP_PKEY_set1_encoded_public_key(EVP_PKEY *pkey, const void *pub, size_t len) {
    return EVP_PKEY_set1_encoded_public_key(pkey, (const unsigned char *)pub, len);
}

/* Issuer keys given as DER (Keybound/Keys/SubjectPublicKeyInfo.swift). */

/* d2i_PUBKEY as <openssl/x509.h> declares it. That header is not included: its struct definitions clash with
 * BoringSSL's in a target that imports both this module and swift-crypto's. */
EVP_PKEY *d2i_PUBKEY(EVP_PKEY **a, const unsigned char **pp, long length);

/* Decodes a DER SubjectPublicKeyInfo with d2i_PUBKEY; NULL unless the whole buffer is exactly one. */
static inline EVP_PKEY *COpenSSL_d2i_PUBKEY_exact(const void *der, size_t len) {
    if (len == 0 || len > (size_t)LONG_MAX) return NULL;
    const unsigned char *p = (const unsigned char *)der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey != NULL && p != (const unsigned char *)der + len) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/* A key's BIGNUM parameter (`n`, `e`) as minimal big-endian bytes into out; its length, or -1 when it is missing,
 * negative or longer than cap. */
static inline int COpenSSL_EVP_PKEY_get_bn_bytes(const EVP_PKEY *pkey, const char *name, void *out, size_t cap) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1 || bn == NULL) return -1;
    int len = BN_num_bytes(bn);
    int result = -1;
    if (!BN_is_negative(bn) && len >= 0 && (size_t)len <= cap) result = BN_bn2bin(bn, (unsigned char *)out);
    BN_free(bn);
    return result;
}

/* A key's octet-string parameter (`pub`) into out; its length, or -1. */
static inline int COpenSSL_EVP_PKEY_get_octets(const EVP_PKEY *pkey, const char *name, void *out, size_t cap) {
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(pkey, name, (unsigned char *)out, cap, &len) != 1 || len > (size_t)INT_MAX)
        return -1;
    return (int)len;
}

/* The raw public key of an Ed25519 key into out; its length, or -1. */
static inline int COpenSSL_EVP_PKEY_get_raw_public(const EVP_PKEY *pkey, void *out, size_t cap) {
    size_t len = cap;
    if (EVP_PKEY_get_raw_public_key(pkey, (unsigned char *)out, &len) != 1 || len > (size_t)INT_MAX) return -1;
    return (int)len;
}

/* HMAC-SHA-256 into a 32-byte buffer; 1 on success. The key length is bounded by the caller. */
static inline int COpenSSL_HMAC_SHA256(const void *key, size_t keyLen, const void *data, size_t dataLen, void *out) {
    unsigned int outLen = 0;
    if (keyLen > (size_t)INT_MAX) return 0;
    /* HMAC() treats a NULL key as "reuse the previous key"; an empty key must still be a real pointer. */
    static const unsigned char empty[1] = {0};
    const void *k = keyLen == 0 ? (const void *)empty : key;
    const unsigned char *d = dataLen == 0 ? empty : (const unsigned char *)data;
    return HMAC(EVP_sha256(), k, (int)keyLen, d, dataLen, (unsigned char *)out, &outLen) != NULL
        && outLen == 32;
}

#endif
