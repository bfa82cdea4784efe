/* SPDX-License-Identifier: ISC */
/*
 * buf: a byte buffer that carries its length and a hard cap.
 *
 * Every buffer that grows from input is created with the most it may ever
 * hold; an append past that fails with PS_ERR_TOO_LARGE and leaves the
 * buffer as it was.  The content is not NUL-terminated unless the caller
 * appends one; buf_cstr() does that without counting it in len.
 */
#ifndef PROMPTSEAL_BUF_H
#define PROMPTSEAL_BUF_H

#include <stddef.h>

#include "core/pserr.h"

struct buf {
	char *p;      /* NULL until the first byte is stored */
	size_t len;   /* bytes in use */
	size_t cap;   /* bytes allocated */
	size_t max;   /* the most len may ever reach */
};

/* Set b up empty with cap max.  Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Make room for n more bytes.  PS_ERR_TOO_LARGE past max, PS_ERR_NOMEM. */
pserr buf_reserve(struct buf *b, size_t n) PS_WARN_UNUSED;

/* Append n bytes (p may be NULL only when n is 0). */
pserr buf_append(struct buf *b, const void *p, size_t n) PS_WARN_UNUSED;

/* Append a NUL-terminated string, without its NUL. */
pserr buf_puts(struct buf *b, const char *s) PS_WARN_UNUSED;

/* Append a single byte. */
pserr buf_putc(struct buf *b, char c) PS_WARN_UNUSED;

/* Make sure a NUL follows the content (not counted in len) and return p;
 * returns NULL when that cannot be done. */
const char *buf_cstr(struct buf *b);

/* Forget the content, keep the memory (wiping what was there). */
void buf_reset(struct buf *b);

/* Drop the first n bytes, moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);

/* Wipe and free the memory; b is empty afterwards with the same max. */
void buf_free(struct buf *b);

#endif
