/* SPDX-License-Identifier: ISC */
#include "config.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string.h>

#include "seal/sse.h"

void
sse_reader_init(struct sse_reader *r, size_t max_line)
{
	buf_init(&r->line, max_line);
	r->after_cr = 0;
}

/* The offset of the first CR or LF in p[i..n), or n.  Every byte of a
 * stream goes through here in both proxies: 16 at a time where SSE2 is. */
static size_t
line_end(const char *p, size_t i, size_t n)
{
#if defined(__SSE2__)
	const __m128i lf = _mm_set1_epi8('\n');
	const __m128i cr = _mm_set1_epi8('\r');

	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf),
		    _mm_cmpeq_epi8(v, cr)));

		if (mask != 0)
			return i + (size_t)__builtin_ctz((unsigned)mask);
	}
#endif
	while (i < n && p[i] != '\n' && p[i] != '\r')
		i++;
	return i;
}

pserr
sse_reader_feed(struct sse_reader *r, const char *p, size_t n,
    sse_line_fn fn, void *arg)
{
	size_t i = 0, start, end;
	pserr rc;

	if (n == 0)
		return PS_OK;
	/* A CR that ended the previous chunk already ended its line; an LF
	 * right after it belongs to the same line end. */
	if (r->after_cr) {
		r->after_cr = 0;
		if (p[0] == '\n')
			i = 1;
	}
	while (i < n) {
		start = i;
		end = line_end(p, i, n);
		if (end == n)
			/* A partial line: keep it, within the cap, for the next
			 * chunk.  buf_append refuses to pass max_line. */
			return buf_append(&r->line, p + start, n - start);

		/* Consume the line end before calling fn, so the state is
		 * right whatever fn returns. */
		i = end + 1;
		if (p[end] == '\r') {
			if (i < n) {
				if (p[i] == '\n')
					i++;
			} else {
				r->after_cr = 1;
			}
		}
		if (r->line.len == 0) {
			/* The whole line is in this chunk: no copy. */
			if (end - start > r->line.max)
				return PS_ERR_TOO_LARGE;
			rc = fn(arg, p + start, end - start);
		} else {
			if ((rc = buf_append(&r->line, p + start, end - start)) !=
			    PS_OK)
				return rc;
			rc = fn(arg, r->line.p, r->line.len);
			buf_reset(&r->line);
		}
		if (rc != PS_OK)
			return rc;
	}
	return PS_OK;
}

pserr
sse_reader_finish(struct sse_reader *r, sse_line_fn fn, void *arg)
{
	pserr rc = PS_OK;

	r->after_cr = 0;
	if (r->line.len > 0) {
		rc = fn(arg, r->line.p, r->line.len);
		buf_reset(&r->line);
	}
	return rc;
}

int
sse_reader_idle(const struct sse_reader *r)
{
	return r->line.len == 0;
}

void
sse_reader_free(struct sse_reader *r)
{
	buf_free(&r->line);
	r->after_cr = 0;
}

int
sse_data_value(const char *line, size_t len, const char **val, size_t *vlen)
{
	size_t off;

	/* A field line without a colon has the whole line as its name and
	 * an empty value: "data" alone is a data line too.  Treating it as
	 * anything else would let it pass unchecked as a comment would. */
	if (len == 4 && memcmp(line, "data", 4) == 0) {
		*val = line + 4;
		*vlen = 0;
		return 1;
	}
	if (len < 5 || memcmp(line, "data:", 5) != 0)
		return 0;
	off = 5;
	if (len > 5 && line[5] == ' ')
		off = 6;
	*val = line + off;
	*vlen = len - off;
	return 1;
}

void
sse_events_init(struct sse_events *r, size_t max_event)
{
	buf_init(&r->ev, max_event);
	r->line = 0;
	r->cr_open = 0;
	r->drop_lf = 0;
}

int
sse_events_pending(const struct sse_events *r)
{
	return r->ev.len > 0;
}

void
sse_events_free(struct sse_events *r)
{
	buf_free(&r->ev);
	r->line = 0;
	r->cr_open = 0;
	r->drop_lf = 0;
}

pserr
sse_events_feed(struct sse_events *r, const char *p, size_t n,
    sse_event_fn fn, void *arg)
{
	size_t i = 0, end, elen;
	pserr rc;

	if (n == 0)
		return PS_OK;
	/* An LF right after a CR that ended a line belongs to that line
	 * end: kept when the CR's line is still being collected, dropped
	 * when the CR ended an event that went out already. */
	if (r->drop_lf) {
		r->drop_lf = 0;
		if (p[0] == '\n')
			i = 1;
	} else if (r->cr_open) {
		r->cr_open = 0;
		if (p[0] == '\n') {
			if ((rc = buf_putc(&r->ev, '\n')) != PS_OK)
				return rc;
			i = 1;
		}
	}
	while (i < n) {
		end = line_end(p, i, n);
		if (end == n) {
			/* A partial line, kept within the cap. */
			if ((rc = buf_append(&r->ev, p + i, n - i)) != PS_OK)
				return rc;
			r->line += n - i;
			return PS_OK;
		}
		elen = 1;
		if (p[end] == '\r' && end + 1 < n && p[end + 1] == '\n')
			elen = 2;
		if (r->line == 0 && end == i) {
			/* An empty line: it ends the event, if there is one. */
			int open_cr = p[end] == '\r' && end + 1 == n;

			i = end + elen;
			if (r->ev.len == 0) {
				r->drop_lf = open_cr;
				continue;
			}
			if ((rc = buf_append(&r->ev, p + end, elen)) != PS_OK)
				return rc;
			r->drop_lf = open_cr;
			rc = fn(arg, r->ev.p, r->ev.len);
			buf_reset(&r->ev);
			if (rc != PS_OK)
				return rc;
			continue;
		}
		if ((rc = buf_append(&r->ev, p + i, end + elen - i)) != PS_OK)
			return rc;
		r->cr_open = p[end] == '\r' && end + 1 == n;
		r->line = 0;
		i = end + elen;
	}
	return PS_OK;
}

pserr
sse_event_data(const char *ev, size_t n, struct buf *scratch,
    const char **data, size_t *dlen)
{
	const char *first = NULL, *val;
	size_t i = 0, end, flen = 0, vlen, count = 0;
	pserr rc;

	*data = NULL;
	*dlen = 0;
	/* The common case, one data line, needs no copy: find it first. */
	while (i < n) {
		end = line_end(ev, i, n);
		if (sse_data_value(ev + i, end - i, &val, &vlen)) {
			if (count++ == 0) {
				first = val;
				flen = vlen;
			}
		}
		i = end + (end < n && ev[end] == '\r' && end + 1 < n &&
		    ev[end + 1] == '\n' ? 2 : 1);
	}
	if (count <= 1) {
		*data = first;
		*dlen = flen;
		return PS_OK;
	}
	buf_reset(scratch);
	for (i = 0, count = 0; i < n;) {
		end = line_end(ev, i, n);
		if (sse_data_value(ev + i, end - i, &val, &vlen)) {
			if ((count++ > 0 && (rc = buf_putc(scratch, '\n')) !=
			    PS_OK) || (rc = buf_append(scratch, val, vlen)) !=
			    PS_OK)
				return rc;
		}
		i = end + (end < n && ev[end] == '\r' && end + 1 < n &&
		    ev[end + 1] == '\n' ? 2 : 1);
	}
	*data = scratch->p != NULL ? scratch->p : "";
	*dlen = scratch->len;
	return PS_OK;
}
