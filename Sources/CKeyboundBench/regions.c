/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *===----------------------------------------------------------------------===*/
#include "ckeybound_bench.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

int kbb_p256_public_from_scalar(const uint8_t *d, uint8_t *x, uint8_t *y) {
    int ok = 0;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *scalar = BN_bin2bn(d, 32, NULL);
    BIGNUM *bx = BN_new();
    BIGNUM *by = BN_new();
    EC_POINT *point = group != NULL ? EC_POINT_new(group) : NULL;
    if (group != NULL && scalar != NULL && bx != NULL && by != NULL && point != NULL && !BN_is_zero(scalar)
        && BN_cmp(scalar, EC_GROUP_get0_order(group)) < 0
        && EC_POINT_mul(group, point, scalar, NULL, NULL, NULL) == 1
        && EC_POINT_get_affine_coordinates(group, point, bx, by, NULL) == 1
        && BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32) {
        ok = 1;
    }
    EC_POINT_free(point);
    BN_free(by);
    BN_free(bx);
    BN_clear_free(scalar);
    EC_GROUP_free(group);
    return ok;
}

/* Kept out of line and distinct, so that callgrind sees each region as its own function. */
__attribute__((noinline)) void kbb_region_keybound(kbb_region_body body, void *context) {
    body(context);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void kbb_region_crypto(kbb_region_body body, void *context) {
    body(context);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void kbb_region_digest(kbb_region_body body, void *context) {
    body(context);
    __asm__ volatile("" ::: "memory");
}
