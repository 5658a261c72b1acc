//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//
// hiredis (Debian's libhiredis-dev 0.14): only KeyboundRedis imports it, and only with the "Redis" trait on.
#ifndef KEYBOUND_CHIREDIS_SHIM_H
#define KEYBOUND_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
