//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// CPU hints the Swift core cannot spell: nothing here reads or writes memory, so nothing here is unsafe.
// Internal to the core (not part of the C ABI; no symbol is exported: every function is static inline).

#ifndef KEYBOUND_HINTS_H
#define KEYBOUND_HINTS_H

// Asks the CPU to start loading the cache line holding `address`, for writing, and return at once. A hint only: any
// address may be given (a prefetch never faults), and the program means the same with or without it.
static inline __attribute__((always_inline)) void kb_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
