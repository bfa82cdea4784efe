/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/seal/jscan.c, the validating scanner on the hot path.
 *
 * Properties: jscan_value accepts exactly what the independent
 * recursive-descent validator of this file accepts (RFC 8259, strict
 * UTF-8, the escape and surrogate rules and the depth limit of jscan.h),
 * at two depth limits; walking an object member by member accepts exactly
 * the objects jscan_value accepts, each member's value is itself one
 * valid value, and each name unescapes to the bytes the reference gets;
 * the string paths (16 bytes at a time, 32 and 64 with AVX2, 64 with
 * AVX-512) agree.
 */
#include "config.h"

#include <string.h>

#include "core/buf.h"
#include "fuzz.h"
#include "seal/jscan.h"
#include "seal/jscan_impl.h"

struct ref {
	const unsigned char *s;
	size_t n, i;
	unsigned max_depth;
	unsigned char *un;       /* unescaped bytes of the last string */
	size_t unlen;
};

static int value(struct ref *r, unsigned depth);

static void
ws(struct ref *r)
{
	while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' ||
	    r->s[r->i] == '\n' || r->s[r->i] == '\r'))
		r->i++;
}

static int
lit(struct ref *r, const char *w)
{
	size_t k = strlen(w);

	if (r->n - r->i < k || memcmp(r->s + r->i, w, k) != 0)
		return 0;
	r->i += k;
	return 1;
}

static int
digits(struct ref *r)
{
	size_t start = r->i;

	while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
		r->i++;
	return r->i > start;
}

static int
number(struct ref *r)
{
	if (r->i < r->n && r->s[r->i] == '-')
		r->i++;
	if (r->i < r->n && r->s[r->i] == '0')
		r->i++;
	else if (r->i >= r->n || r->s[r->i] < '1' || r->s[r->i] > '9' ||
	    !digits(r))
		return 0;
	if (r->i < r->n && r->s[r->i] == '.') {
		r->i++;
		if (!digits(r))
			return 0;
	}
	if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
		r->i++;
		if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-'))
			r->i++;
		if (!digits(r))
			return 0;
	}
	return 1;
}

static void
put_utf8(struct ref *r, unsigned long c)
{
	if (c < 0x80) {
		r->un[r->unlen++] = (unsigned char)c;
	} else if (c < 0x800) {
		r->un[r->unlen++] = (unsigned char)(0xc0 | c >> 6);
		r->un[r->unlen++] = (unsigned char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		r->un[r->unlen++] = (unsigned char)(0xe0 | c >> 12);
		r->un[r->unlen++] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		r->un[r->unlen++] = (unsigned char)(0x80 | (c & 0x3f));
	} else {
		r->un[r->unlen++] = (unsigned char)(0xf0 | c >> 18);
		r->un[r->unlen++] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		r->un[r->unlen++] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		r->un[r->unlen++] = (unsigned char)(0x80 | (c & 0x3f));
	}
}

static long
hex4(struct ref *r)
{
	unsigned long v = 0;
	int k;

	if (r->n - r->i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		int c = r->s[r->i++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned long)(c - 'A' + 10);
		else
			return -1;
	}
	return (long)v;
}

/* One UTF-8 sequence starting at r->i, by the Unicode table of well-formed
 * byte sequences. */
static int
utf8(struct ref *r)
{
	const unsigned char *p = r->s + r->i;
	size_t left = r->n - r->i, k, len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (left < len || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	memcpy(r->un + r->unlen, p, len);
	r->unlen += len;
	r->i += len;
	return 1;
}

static int
string(struct ref *r)
{
	r->unlen = 0;
	if (r->i >= r->n || r->s[r->i] != '"')
		return 0;
	r->i++;
	for (;;) {
		unsigned char c;

		if (r->i >= r->n)
			return 0;
		c = r->s[r->i];
		if (c == '"') {
			r->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c >= 0x80) {
			if (!utf8(r))
				return 0;
			continue;
		}
		r->i++;
		if (c != '\\') {
			r->un[r->unlen++] = c;
			continue;
		}
		if (r->i >= r->n)
			return 0;
		c = r->s[r->i++];
		switch (c) {
		case '"': case '\\': case '/':
			r->un[r->unlen++] = c;
			break;
		case 'b': r->un[r->unlen++] = '\b'; break;
		case 'f': r->un[r->unlen++] = '\f'; break;
		case 'n': r->un[r->unlen++] = '\n'; break;
		case 'r': r->un[r->unlen++] = '\r'; break;
		case 't': r->un[r->unlen++] = '\t'; break;
		case 'u': {
			long u = hex4(r), lo;

			if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
				return 0;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (!lit(r, "\\u") || (lo = hex4(r)) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return 0;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			put_utf8(r, (unsigned long)u);
			break;
		}
		default:
			return 0;
		}
	}
}

static int
value(struct ref *r, unsigned depth)
{
	unsigned char c;

	ws(r);
	if (r->i >= r->n)
		return 0;
	c = r->s[r->i];
	if (c == '{' || c == '[') {
		unsigned char close = c == '{' ? '}' : ']';

		if (depth + 1 > r->max_depth)
			return 0;
		r->i++;
		ws(r);
		if (r->i < r->n && r->s[r->i] == close) {
			r->i++;
			return 1;
		}
		for (;;) {
			if (c == '{') {
				ws(r);
				if (!string(r))
					return 0;
				ws(r);
				if (!lit(r, ":"))
					return 0;
			}
			if (!value(r, depth + 1))
				return 0;
			ws(r);
			if (lit(r, ","))
				continue;
			return lit(r, close == '}' ? "}" : "]");
		}
	}
	if (c == '"')
		return string(r);
	if (c == 't')
		return lit(r, "true");
	if (c == 'f')
		return lit(r, "false");
	if (c == 'n')
		return lit(r, "null");
	return number(r);
}

static int
ref_valid(const uint8_t *s, size_t n, unsigned max_depth, unsigned char *un)
{
	struct ref r = {s, n, 0, max_depth, un, 0};

	if (!value(&r, 0))
		return 0;
	ws(&r);
	return r.i == n;
}

/* Walk the object member by member, checking each member on the way;
 * returns 1 when the whole walk succeeds. */
static int
walk(const char *s, size_t n, unsigned char *un)
{
	struct jscan_object it;
	struct jscan_member m;
	struct buf name;
	int more = 1, ok = 1;

	if (jscan_object_begin(&it, s, n) != PS_OK)
		return 0;
	buf_init(&name, n + 1);
	while (ok && more) {
		if (jscan_object_next(&it, &m, &more) != PS_OK) {
			ok = 0;
			break;
		}
		if (!more)
			break;
		FUZZ_CHECK(jscan_value(m.value, m.value_len,
		    JSCAN_MAX_DEPTH - 1) == PS_OK);
		/* The name's bytes are inside the text, its value after it. */
		FUZZ_CHECK(m.name > s && m.name + m.name_len < m.value);
		FUZZ_CHECK(m.value + m.value_len <= s + n);
		buf_reset(&name);
		FUZZ_CHECK(jscan_unescape(m.name, m.name_len, &name) == PS_OK);
		{
			/* The reference reading of the same name agrees. */
			struct ref r = {(const unsigned char *)m.name - 1,
			    m.name_len + 2, 0, 1, un, 0};

			FUZZ_CHECK(string(&r) && r.unlen == name.len &&
			    memcmp(r.un, name.p, name.len) == 0);
		}
		FUZZ_CHECK(m.name_escaped ==
		    (memchr(m.name, '\\', m.name_len) != NULL));
	}
	buf_free(&name);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	unsigned char *un;
	size_t i = 0;
	int want, k;

	if (size > 65536 || (un = malloc(size * 4 + 8)) == NULL)
		return 0;
	want = ref_valid(data, size, JSCAN_MAX_DEPTH, un);
	/* Every string path the machine has; the rest below on whichever
	 * the input's first byte picks. */
	for (k = JSCAN_IMPL_AVX512; k > JSCAN_IMPL_SSE2; k--)
		if (jscan_impl_select((enum jscan_impl)k) == 0)
			FUZZ_CHECK((jscan_value(s, size, JSCAN_MAX_DEPTH) ==
			    PS_OK) == want);
	for (k = size > 0 ? data[0] % 3 : 0; k > 0; k--)
		if (jscan_impl_select((enum jscan_impl)k) == 0)
			break;
	FUZZ_CHECK(jscan_impl_select((enum jscan_impl)k) == 0);
	FUZZ_CHECK((jscan_value(s, size, JSCAN_MAX_DEPTH) == PS_OK) == want);
	FUZZ_CHECK((jscan_value(s, size, 3) == PS_OK) ==
	    ref_valid(data, size, 3, un));
	FUZZ_CHECK((jscan_value(s, size, 0) == PS_OK) ==
	    ref_valid(data, size, 0, un));
	while (i < size && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	if (i < size && s[i] == '{')
		FUZZ_CHECK(walk(s, size, un) == want);
	free(un);
	return 0;
}
