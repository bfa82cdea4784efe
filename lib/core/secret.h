/* SPDX-License-Identifier: ISC */
/*
 * secret: hygiene for key material and plaintext.
 */
#ifndef PROMPTSEAL_SECRET_H
#define PROMPTSEAL_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "core/pserr.h"

/* Overwrite n bytes at p with zeros in a way the compiler cannot elide.
 * p may be NULL when n is 0. */
void secret_wipe(void *p, size_t n);

/* Wipe n bytes at p, then free(p).  p may be NULL. */
void secret_free(void *p, size_t n);

/* Compare n bytes in time independent of their content.  Returns 1 when
 * equal, 0 otherwise. */
int secret_equal(const void *a, const void *b, size_t n);

/*
 * Sort n elements of size bytes at base in place, as qsort would but
 * without its scratch copies: glibc's qsort moves elements through a
 * buffer on the stack or the heap that it never wipes, which for key
 * entries leaves copies of secrets behind.  A heapsort whose swaps go a
 * byte at a time; O(n log n), not stable.
 */
void secret_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *));

/*
 * Keep this process's memory out of core files and away from other
 * processes of its user (ptrace, /proc/PID/mem): no core dumps
 * (RLIMIT_CORE 0, for good) and not dumpable.  Called first thing by each
 * program: besides the buffers it wipes, libcurl, libfcgi and the C
 * library leave copies of secrets and plaintext in memory they free.
 * PS_ERR_IO when either cannot be set.
 */
pserr secret_no_dumps(void) PS_WARN_UNUSED;

/* Fill p with n bytes from the CSPRNG.  Returns PS_ERR_CRYPTO on failure. */
pserr secret_random(void *p, size_t n) PS_WARN_UNUSED;

/*
 * Fill p with n (1..SECRET_NONCE_MAX) bytes for a nonce, taken from a
 * per-thread reserve that is refilled from the CSPRNG (RAND_bytes) once
 * per SECRET_RESERVE bytes.  The bytes are exactly as unpredictable as
 * secret_random's: they are CSPRNG output, each byte handed out once and
 * wiped from the reserve as it is taken; only the number of RAND_bytes
 * calls (and their per-call cost: locks, the DRBG's fork check) drops.
 * The rest of a reserve is wiped when its thread exits and, in a child
 * after fork(), discarded, so parent and child never share a nonce.
 * Returns PS_ERR_ARG for a bad n, PS_ERR_CRYPTO when the CSPRNG fails.
 */
#define SECRET_NONCE_MAX 64
#define SECRET_RESERVE   1024
pserr secret_nonce(void *p, size_t n) PS_WARN_UNUSED;

/* How many times this thread's reserve has been refilled (for tests). */
unsigned long secret_nonce_refills(void);

#endif
