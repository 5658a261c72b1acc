/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
#ifndef CKEYBOUND_BENCH_H
#define CKEYBOUND_BENCH_H

/* The raw-OpenSSL baseline of `keybound bench`: nothing of Keybound's, only libcrypto calls, so the
 * benchmark can say how far the verifier is from the floor it is built on. Keys are opaque `EVP_PKEY *`. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An EC public key from its JWK coordinates: the curve's parameters copied from a parameters-only key built once
 * (EVP_PKEY_copy_parameters), then the point 04 || x || y (EVP_PKEY_set1_encoded_public_key, which refuses a point
 * off the curve); no decoder. `group` is the OpenSSL group name ("prime256v1", "secp384r1", "secp521r1"). NULL on
 * failure. */
void *kbb_ec_key_new(const char *group, const uint8_t *x, const uint8_t *y, size_t coordinateLength);

/* An RSA public key from its big-endian modulus and exponent with EVP_PKEY_fromdata. NULL on failure. */
void *kbb_rsa_key_fromdata(const uint8_t *n, size_t nLength, const uint8_t *e, size_t eLength);

/* An Ed25519 public key from its 32 raw bytes with EVP_PKEY_fromdata. NULL on failure. */
void *kbb_ed25519_key_fromdata(const uint8_t *x, size_t length);

void kbb_key_free(void *key);

/* A fetched EVP_MD for "SHA256", "SHA384" or "SHA512" (fetched once, never freed); NULL for none (Ed25519). */
const void *kbb_fetch_md(const char *name);

/* Converts a JWS ECDSA signature (r || s, two halves of equal length) into DER. Returns the DER length, 0 on error. */
size_t kbb_ecdsa_jws_to_der(const uint8_t *rs, size_t length, uint8_t *out, size_t capacity);

/* One verification as a plain OpenSSL user writes it: a fresh EVP_MD_CTX, EVP_DigestVerifyInit (with PSS padding,
 * salt = digest length, when `pss` is non-zero), EVP_DigestVerify, free. Returns 1 for a valid signature. */
int kbb_digest_verify(void *key, const void *md, int pss, const uint8_t *sig, size_t sigLength,
                      const uint8_t *tbs, size_t tbsLength);

/* The public point of a P-256 private scalar `d` (32 big-endian bytes, 1 <= d < n): x and y, 32 bytes each.
 * Returns 1 on success. For the fixed-seed inputs of `keybound bench --callgrind-inputs`. */
int kbb_p256_public_from_scalar(const uint8_t *d, uint8_t *x, uint8_t *y);

/* The regions `scripts/ci/callgrind.sh` counts: each runs `body(context)` and nothing else. callgrind collects only
 * inside them (--toggle-collect) and dumps after each (--dump-after), so each region's instructions are one dump. */
typedef void (*kbb_region_body)(void *context);
void kbb_region_keybound(kbb_region_body body, void *context);
void kbb_region_crypto(kbb_region_body body, void *context);
void kbb_region_digest(kbb_region_body body, void *context);

/* OpenSSL_version(OPENSSL_VERSION) of the library actually loaded. */
const char *kbb_openssl_version(void);

#ifdef __cplusplus
}
#endif

#endif
