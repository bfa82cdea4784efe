/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/seal/sse.c, the incremental line reader of streams.
 *
 * Properties: the lines read do not depend on where the input is split
 * (whole, byte by byte, and at the split points the input itself picks);
 * they are exactly the lines of an independent one-pass splitter of this
 * file (LF, CRLF and CR end a line); no line holds a CR or LF; a line over
 * the cap is refused however the input is split; sse_data_value agrees
 * with the definition in sse.h.
 */
#include "config.h"

#include <string.h>

#include "core/buf.h"
#include "fuzz.h"
#include "seal/sse.h"

#define MAX_LINE 64

static pserr
collect(void *arg, const char *line, size_t len)
{
	struct buf *b = arg;
	const char *v;
	size_t vlen;
	pserr rc;

	FUZZ_CHECK(memchr(line, '\n', len) == NULL);
	FUZZ_CHECK(memchr(line, '\r', len) == NULL);
	if (sse_data_value(line, len, &v, &vlen)) {
		int bare = len == 4 && memcmp(line, "data", 4) == 0;

		FUZZ_CHECK(bare || (len >= 5 && memcmp(line, "data:", 5) == 0));
		FUZZ_CHECK(v >= line && v + vlen == line + len);
		FUZZ_CHECK(bare ? vlen == 0 : (size_t)(v - line) ==
		    (len > 5 && line[5] == ' ' ? 6u : 5u));
	} else {
		FUZZ_CHECK(!(len == 4 && memcmp(line, "data", 4) == 0));
		FUZZ_CHECK(!(len >= 5 && memcmp(line, "data:", 5) == 0));
	}
	/* Each line as its length and bytes, so lines cannot run together. */
	if ((rc = buf_append(b, &len, sizeof(len))) != PS_OK)
		return rc;
	return buf_append(b, line, len);
}

/* Feed p in pieces of fixed bytes, or (fixed 0) of 1 to 17 bytes as the
 * bytes of cut say.  Returns the reader's verdict; out gets the lines. */
static pserr
read_split(const char *p, size_t n, size_t fixed, const uint8_t *cut,
    size_t ncut, struct buf *out)
{
	struct sse_reader r;
	size_t off = 0, k = 0;
	pserr rc = PS_OK;

	sse_reader_init(&r, MAX_LINE);
	while (off < n && rc == PS_OK) {
		size_t step = fixed != 0 ? fixed : 1 + (size_t)cut[k++ % ncut] % 17;

		if (step > n - off)
			step = n - off;
		rc = sse_reader_feed(&r, p + off, step, collect, out);
		off += step;
	}
	if (rc == PS_OK)
		rc = sse_reader_finish(&r, collect, out);
	sse_reader_free(&r);
	return rc;
}

/* The reference: split at LF, CRLF and CR in one pass. */
static pserr
read_ref(const char *p, size_t n, struct buf *out)
{
	size_t i = 0, start = 0;
	pserr rc;

	while (i < n) {
		if (p[i] != '\n' && p[i] != '\r') {
			if (i - start >= MAX_LINE)
				return PS_ERR_TOO_LARGE;
			i++;
			continue;
		}
		if ((rc = collect(out, p + start, i - start)) != PS_OK)
			return rc;
		i += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
		start = i;
	}
	if (start < n)
		return collect(out, p + start, n - start);
	return PS_OK;
}

static int
same(const struct buf *x, const struct buf *y)
{
	return x->len == y->len && (x->len == 0 || memcmp(x->p, y->p, x->len)
	    == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct buf a, b, c, d;
	pserr ra, rb, rc, rd;

	if (size > 4096)
		return 0;
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	buf_init(&c, 1 << 20);
	buf_init(&d, 1 << 20);
	ra = read_ref(p, size, &a);
	rb = read_split(p, size, size + 1, NULL, 0, &b);   /* whole */
	rc = read_split(p, size, 1, NULL, 0, &c);          /* byte by byte */
	rd = read_split(p, size, 0, data, size, &d);       /* where it says */
	FUZZ_CHECK(ra == rb && rb == rc && rc == rd);
	FUZZ_CHECK(ra == PS_OK || ra == PS_ERR_TOO_LARGE);
	if (ra == PS_OK) {
		FUZZ_CHECK(same(&a, &b));
		FUZZ_CHECK(same(&a, &c));
		FUZZ_CHECK(same(&a, &d));
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&d);
	return 0;
}
