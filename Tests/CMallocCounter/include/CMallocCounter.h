/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *
 * Counts heap allocations made by the calling thread, for tests that assert a code path allocates nothing.
 * The test binary's own malloc family forwards to glibc's and counts while the thread asked it to.
 *===----------------------------------------------------------------------===*/
#ifndef CMALLOC_COUNTER_H
#define CMALLOC_COUNTER_H

/* 1 when this build counts (a normal build on glibc), 0 in sanitizer builds, whose runtimes own malloc. */
int CMallocCounter_available(void);
/* Starts counting this thread's allocations from zero. */
void CMallocCounter_begin(void);
/* Stops counting and returns how many allocations (malloc, calloc, realloc, aligned) this thread made. */
long CMallocCounter_end(void);

#endif
