/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/secret.h"

void
buf_init(struct buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

pserr
buf_reserve(struct buf *b, size_t n)
{
	size_t want, ncap;
	char *np;

	/* One extra byte keeps room for buf_cstr()'s terminator, so len + n
	 * must stay below SIZE_MAX even when max is SIZE_MAX. */
	if (n > b->max - b->len || n >= SIZE_MAX - b->len)
		return PS_ERR_TOO_LARGE;
	want = b->len + n + 1;
	if (want <= b->cap)
		return PS_OK;
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (ncap - 1 > b->max)
		ncap = b->max + 1;
	/* Not realloc: the old block may hold secrets and must be wiped. */
	if ((np = malloc(ncap)) == NULL)
		return PS_ERR_NOMEM;
	if (b->len)
		memcpy(np, b->p, b->len);
	secret_free(b->p, b->cap);
	b->p = np;
	b->cap = ncap;
	return PS_OK;
}

pserr
buf_append(struct buf *b, const void *p, size_t n)
{
	pserr rc;

	if (n == 0)
		return PS_OK;
	if ((rc = buf_reserve(b, n)) != PS_OK)
		return rc;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return PS_OK;
}

pserr
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

pserr
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

const char *
buf_cstr(struct buf *b)
{
	/* buf_reserve() always keeps one byte beyond len for this. */
	if (buf_reserve(b, 0) != PS_OK)
		return NULL;
	b->p[b->len] = '\0';
	return b->p;
}

void
buf_reset(struct buf *b)
{
	secret_wipe(b->p, b->len);
	b->len = 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	secret_wipe(b->p + b->len - n, n);
	b->len -= n;
}

void
buf_free(struct buf *b)
{
	secret_free(b->p, b->cap);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}
