/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
#ifndef KEYBOUND_COPENSSL_SHIM_H
#define KEYBOUND_COPENSSL_SHIM_H

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

static inline int COpenSSL_CRYPTO_memcmp(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len);
}

static inline int COpenSSL_SHA256(const void *data, size_t len, void *out) {
    return SHA256((const unsigned char *)data, len, (unsigned char *)out) != NULL;
}

static inline int COpenSSL_EVP_Digest(const void *data, size_t len, void *out, const EVP_MD *md) {
    unsigned int outLen = 0;
    return EVP_Digest(data, len, (unsigned char *)out, &outLen, md, NULL);
}

#endif
