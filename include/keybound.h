/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *
 * keybound.h: the public C API of Keybound, a verifier of RFC 9449 DPoP requests.
 * This hand-written header is the specification of the C ABI: a function that is not declared here
 * is not part of it.
 *===----------------------------------------------------------------------===*/
#ifndef KEYBOUND_H
#define KEYBOUND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Version ===== */

#define KB_VERSION_MAJOR 0
#define KB_VERSION_MINOR 1
#define KB_VERSION_PATCH 0
#define KB_VERSION_NUMBER (KB_VERSION_MAJOR * 10000 + KB_VERSION_MINOR * 100 + KB_VERSION_PATCH)
#define KB_VERSION_STRING "0.1.0"

#ifdef __cplusplus
}
#endif

#endif /* KEYBOUND_H */
