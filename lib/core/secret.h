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

/* Fill p with n bytes from the CSPRNG.  Returns PS_ERR_CRYPTO on failure. */
pserr secret_random(void *p, size_t n) PS_WARN_UNUSED;

#endif
