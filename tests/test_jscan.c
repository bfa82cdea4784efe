/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "seal/jscan.h"
#include "seal/jscan_impl.h"

/* Every text is scanned from a heap copy of exactly its length, so a read
 * past the end shows up under AddressSanitizer. */
static char *
dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	return p;
}

static pserr
scan_n(const char *s, size_t n, unsigned depth)
{
	char *p = dup_exact(s, n);
	pserr rc = jscan_value(p, n, depth);

	free(p);
	return rc;
}

static pserr
scan(const char *s)
{
	return scan_n(s, strlen(s), JSCAN_MAX_DEPTH);
}

/* JSONTestSuite-style y_ cases: texts every parser must accept. */
static const char *const valid[] = {
	"[]", "{}", "[1]", "\"\"", "\"a\"", "0", "-0", "1", "-1", "0.5",
	"1e5", "1E+5", "1e-5", "-0.0e0", "1.0E+2", "1.5e308", "-123.456e-789",
	"123456789012345678901234567890", "true", "false", "null",
	" [ ] ", "\t\n\r [1,2]\r\n", "[ 1 , 2 ]", "[-1]", "[0,-0,0.0,0e0]",
	"{\"a\":1}", "{\"a\" : 1 , \"b\" : 2}", "{\"\":0}",
	"{\"a\":{\"b\":[1,{\"c\":null}]}}", "[[],[[]],{}]",
	"{\"a\":[],\"b\":{}}", "{\"a\":1,\"a\":2}",
	"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\u0000\"]", "[\"\\u00e9\"]",
	"[\"\\u00E9\"]", "[\"\\uD834\\uDD1E\"]", "[\"\\ud834\\udd1e\"]",
	"[\"\\uDBFF\\uDFFF\"]", "[\"\\uD800\\uDC00\"]", "[\"\\uFFFF\"]",
	"\"\\uFEFF\"", "\"\\u0041\\u0042\"", "[\"a/b\"]", "\"\x7f\"",
	"[\"\xc3\xa9\"]",                 /* e acute, 2 bytes */
	"[\"\xe2\x82\xac\"]",             /* euro sign, 3 bytes */
	"[\"\xf0\x9d\x84\x9e\"]",         /* G clef, 4 bytes */
	"\"\xc2\x80\"", "\"\xdf\xbf\"",   /* U+0080, U+07FF */
	"\"\xe0\xa0\x80\"", "\"\xed\x9f\xbf\"",         /* U+0800, U+D7FF */
	"\"\xee\x80\x80\"", "\"\xef\xbf\xbf\"",         /* U+E000, U+FFFF */
	"\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"", /* U+10000, U+10FFFF */
	"[1,\"\xc3\xa9\",{\"\xc3\xa9\":\"\\u00e9\"}]",
	"\"\xe4\xb8\xad\xe6\x96\x87\xc3\xa9\xf0\x9f\x98\x80\xdf\xbf\"",
	"\"\xc3\xa9\\n\xc3\xa9\\u00e9\xc3\xa9\"",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
};

/* n_ cases: texts every parser must refuse. */
static const char *const invalid[] = {
	"", " ", "\n", "[", "]", "{", "}", "[1", "[1,", "[1,]", "[,1]",
	"[,]", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}",
	"{\"a\":1,,\"b\":2}", "{1:1}", "{'a':1}", "['a']", "{a:1}",
	"{null:1}", "[1 2]", "[1,,2]", "[1:2]", "{\"a\",1}", "{\"a\"::1}",
	"\"abc", "\"\\\"", "\"\\", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
	"\"\\U0041\"", "\"\\'\"", "\"\\a\"", "\"\\0\"", "\"\\u\"",
	"\"\\u00e\"", "01", "00", "-", "-a", "--1", "+1", ".5", "1.", "1.e1",
	"1e", "1e+", "1e-", "1E", "0x1", "1e5.5", "1.5.5", "-01", "2.", "0.e1",
	"Infinity", "-Infinity", "NaN", "tru", "truex", "True", "TRUE",
	"nul", "nulll", "fals", "falsee", "[true false]", "1 2", "[] []",
	"{\"a\":1}x", "{\"a\":1}}", "[]]", "[}", "{]", "[1}", "{\"a\":1]",
	"\"\t\"", "\"\n\"", "\"\r\"", "\"\x1f\"", "\"\x01\"",
	"\"\\uD800\"", "\"\\uDC00\"", "\"\\uDFFF\"", "\"\\uD800\\u0041\"",
	"\"\\uD800\\uD800\"", "\"\\uD800x\"", "\"\\uDBFF\\uE000\"",
	"\"\\uD800\\\"", "\"\\uD800\\n\"", "\"\\uD800\\u\"",
	"\"\\uD800\\uDC0\"", "\"\\uDC00\\uD800\"",
	"\xef\xbb\xbf{}",                 /* byte order mark */
	"\"\x80\"", "\"\xbf\"",           /* lone continuation bytes */
	"\"\xc0\x80\"", "\"\xc1\xbf\"",   /* overlong 2 bytes */
	"\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"",         /* overlong 3 bytes */
	"\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",         /* UTF-8 surrogates */
	"\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"", /* overlong 4 bytes */
	"\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", /* above U+10FFFF */
	"\"\xf8\x88\x80\x80\x80\"", "\"\xfe\"", "\"\xff\"",
	"\"\xc3\"", "\"\xc3", "\"\xe2\x82\"", "\"\xe2\x82", "\"\xf0\x9d\x84\"",
	"\"\xc3\x28\"", "\"\xe2\x28\xa1\"", "\"\xe2\x82\x28\"",
	"\"\xf0\x28\x8c\xbc\"", "\"\xf0\x90\x28\xbc\"", "\"\xf0\x9d\x84\x28\"",
	"\"\xe4\xb8\xad\xe6\x96\"", "\"\xe4\xb8\xad\x80\"",
	"\"\xc3\xa9\xed\xa0\x80\"", "\"\xe4\xb8\xad\x1f\"",
	"\"\xe4\xb8\xad\xe6\x96\x87",
	"/* */ 1", "[1] // c", "# 1", "\xc3\xa9", "[\xc3\xa9]", "[\\u00e9]",
	"[1,2]\n,", "\x0c[]", "[\x0b]", "[\xa0]", "'a'", "\"a\"\"",
	"[\"a\",]", "{\"a\":1 \"b\":2}", "[01]", "[-]", "[1.]", "{\"a\":tru}",
	"{\"a\":nul", "{\"a\":\"b}", "{\"a", "{\"", "{\"\\",
};

START_TEST(test_valid)
{
	const char *s = valid[_i];

	ck_assert_msg(scan(s) == PS_OK, "refused valid text #%d", _i);
}
END_TEST

START_TEST(test_invalid)
{
	const char *s = invalid[_i];

	ck_assert_msg(scan(s) == PS_ERR_INVALID_JSON,
	    "accepted invalid text #%d", _i);
}
END_TEST

/* Texts with a NUL byte in them, which C string literals cannot carry. */
START_TEST(test_nul_bytes)
{
	ck_assert_int_eq(scan_n("\0", 1, 512), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("[1]\0", 4, 512), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("\"a\0b\"", 5, 512), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("[\0]", 3, 512), PS_ERR_INVALID_JSON);
	/* Only the n bytes given are read: what follows is not looked at. */
	ck_assert_int_eq(scan_n("[1]\0garbage", 3, 512), PS_OK);
	ck_assert_int_eq(scan_n("[1]x", 3, 512), PS_OK);
	ck_assert_int_eq(scan_n("[1]", 2, 512), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("true", 3, 512), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("\"\\u0041\"", 7, 512), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("\"\\uD834\\uDD1E\"", 13, 512),
	    PS_ERR_INVALID_JSON);
}
END_TEST

static char *
nested(const char *open, const char *inner, const char *close, unsigned d,
    size_t *n)
{
	size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
	char *s = malloc(d * (lo + lc) + li);
	size_t i, k = 0;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < d; i++, k += lo)
		memcpy(s + k, open, lo);
	memcpy(s + k, inner, li);
	k += li;
	for (i = 0; i < d; i++, k += lc)
		memcpy(s + k, close, lc);
	*n = k;
	return s;
}

START_TEST(test_depth)
{
	size_t n;
	char *s;

	s = nested("[", "", "]", 512, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH), PS_OK);
	ck_assert_int_eq(jscan_value(s, n, 511), PS_ERR_INVALID_JSON);
	/* Above the cap is taken as the cap. */
	ck_assert_int_eq(jscan_value(s, n, 100000), PS_OK);
	free(s);
	s = nested("[", "", "]", 513, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH),
	    PS_ERR_INVALID_JSON);
	ck_assert_int_eq(jscan_value(s, n, 100000), PS_ERR_INVALID_JSON);
	free(s);
	s = nested("{\"a\":", "1", "}", 512, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH), PS_OK);
	free(s);
	s = nested("{\"a\":", "1", "}", 513, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH),
	    PS_ERR_INVALID_JSON);
	free(s);
	/* Mixed kinds: the stack must remember each level's kind past 64. */
	s = nested("[{\"k\":", "[]", "}]", 256, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH),
	    PS_ERR_INVALID_JSON);
	free(s);
	s = nested("[{\"k\":", "null", "}]", 256, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH), PS_OK);
	free(s);
	s = nested("{\"k\":[", "0", "]}", 200, &n);
	s[n - 1] = ']';  /* close the outer object with ']' */
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH),
	    PS_ERR_INVALID_JSON);
	free(s);
	/* Scalars only with 0; one level with 1. */
	ck_assert_int_eq(scan_n("1", 1, 0), PS_OK);
	ck_assert_int_eq(scan_n("[]", 2, 0), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("[1]", 3, 1), PS_OK);
	ck_assert_int_eq(scan_n("[[1]]", 5, 1), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(scan_n("{\"a\":{}}", 8, 1), PS_ERR_INVALID_JSON);
	/* A deep document that never closes is refused, not overflowed. */
	s = nested("[", "", "", 100000, &n);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH),
	    PS_ERR_INVALID_JSON);
	free(s);
}
END_TEST

/*
 * The string loop takes 16 or 8 bytes at a time: put each kind of special
 * byte at every position of strings of every length around those sizes,
 * and end the buffer at every point of a string.
 */
START_TEST(test_string_positions)
{
	char s[140];
	size_t len, pos;

	/* Past two 32-byte blocks, so that each path meets every offset. */
	for (len = 0; len < 100; len++) {
		memset(s, 'a', sizeof(s));
		s[0] = '"';
		s[len + 1] = '"';
		ck_assert_int_eq(scan_n(s, len + 2, 512), PS_OK);
		/* Cut anywhere inside: an unterminated string. */
		for (pos = 1; pos < len + 2; pos++)
			ck_assert_int_eq(scan_n(s, pos, 512),
			    PS_ERR_INVALID_JSON);
		for (pos = 1; pos <= len; pos++) {
			memset(s + 1, 'a', len);
			s[pos] = 0x1f;
			ck_assert_int_eq(scan_n(s, len + 2, 512),
			    PS_ERR_INVALID_JSON);
			s[pos] = 0x00;
			ck_assert_int_eq(scan_n(s, len + 2, 512),
			    PS_ERR_INVALID_JSON);
			s[pos] = (char)0x80;
			ck_assert_int_eq(scan_n(s, len + 2, 512),
			    PS_ERR_INVALID_JSON);
			s[pos] = (char)0xff;
			ck_assert_int_eq(scan_n(s, len + 2, 512),
			    PS_ERR_INVALID_JSON);
			s[pos] = 0x7f;
			ck_assert_int_eq(scan_n(s, len + 2, 512), PS_OK);
			s[pos] = ' ';
			ck_assert_int_eq(scan_n(s, len + 2, 512), PS_OK);
			/* A quote ends the string early: garbage follows. */
			s[pos] = '"';
			ck_assert_int_eq(scan_n(s, len + 2, 512),
			    PS_ERR_INVALID_JSON);
			/* A lone backslash escapes the next byte. */
			s[pos] = '\\';
			ck_assert_int_eq(scan_n(s, len + 2, 512),
			    PS_ERR_INVALID_JSON);
			if (pos + 1 <= len) {
				s[pos + 1] = 'n';
				ck_assert_int_eq(scan_n(s, len + 2, 512),
				    PS_OK);
				s[pos + 1] = '"';
				ck_assert_int_eq(scan_n(s, len + 2, 512),
				    PS_OK);
				s[pos] = (char)0xc3;
				s[pos + 1] = (char)0xa9;
				ck_assert_int_eq(scan_n(s, len + 2, 512),
				    PS_OK);
				s[pos + 1] = 'a';
				ck_assert_int_eq(scan_n(s, len + 2, 512),
				    PS_ERR_INVALID_JSON);
			}
			if (pos + 3 <= len) {
				memcpy(s + pos, "\xf0\x9f\x98\x80", 4);
				ck_assert_int_eq(scan_n(s, len + 2, 512),
				    PS_OK);
				/* Cut inside the sequence. */
				ck_assert_int_eq(scan_n(s, pos + 2, 512),
				    PS_ERR_INVALID_JSON);
			}
		}
	}
}
END_TEST

/* Each escape, valid or not, at every offset of a string long enough for
 * the 32-byte path and of each 64-byte block after it (across a block's
 * end too), and the string right after it still scanned; as a member
 * name, a valid one is reported as escaped. */
START_TEST(test_escape_positions)
{
	static const char *const good[] = { "\\n", "\\\\", "\\\"",
	    "\\/", "\\t", "\\u0041", "\\ud83d\\ude00", "\\n\\n",
	    "\\\\\\\\", "\\\\\\\"" };
	static const char *const bad[] = { "\\x", "\\u00g0", "\\ud83d",
	    "\\'", "\\\x01", "\\u", "\\\\\\", "\\n\x1f",
	    "\\\\\\\\\\", "\\\xc3\xa9" };
	static const size_t tails[] = { 140, 3 };
	char s[400];
	size_t pos, i, k, t;

	for (pos = 0; pos < 200; pos++)
		for (k = 0; k < 2; k++)
			for (i = 0; i < 20; i++) {
				const char *e = k == 0 ? good[i / 2] : bad[i / 2];
				struct jscan_object it;
				struct jscan_member m;
				int more;
				size_t n = 0;

				s[n++] = '{';
				s[n++] = '"';
				memset(s + n, 'a', pos);
				n += pos;
				memcpy(s + n, e, strlen(e));
				n += strlen(e);
				/* A long tail, or the closing quote in the
				 * escape's block. */
				t = tails[i % 2];
				memset(s + n, 'z', t);
				n += t;
				s[n++] = '"';
				ck_assert_msg(scan_n(s + 1, n - 1, 512) == (k == 0 ?
				    PS_OK : PS_ERR_INVALID_JSON),
				    "%s escape %zu at %zu, tail %zu",
				    k == 0 ? "good" : "bad", i / 2, pos, t);
				memcpy(s + n, ":1}", 3);
				ck_assert_int_eq(jscan_object_begin(&it, s, n + 3),
				    PS_OK);
				ck_assert_int_eq(jscan_object_next(&it, &m, &more),
				    k == 0 ? PS_OK : PS_ERR_INVALID_JSON);
				if (k == 0)
					ck_assert_msg(more && m.name_escaped &&
					    m.name_len == n - 3, "escape %zu at "
					    "%zu, tail %zu, as a name", i / 2, pos,
					    t);
				/* A quote inside the tail ends it early. */
				s[n - 2] = '"';
				ck_assert_int_eq(scan_n(s + 1, n - 1, 512),
				    PS_ERR_INVALID_JSON);
			}
}
END_TEST

/* Runs of multi-byte sequences are checked in a loop of their own: spoil
 * each byte of a run in turn, and cut the run at each byte. */
START_TEST(test_utf8_runs)
{
	static const char run[] = "\xe4\xb8\xad\xe6\x96\x87\xc3\xa9"
	    "\xf0\x9f\x98\x80\xd0\x96\xe2\x82\xac";
	static const uint8_t spoil[] = { 0x00, 0x1f, 0x22, 0x41, 0x5c, 0xc0,
	    0xf5, 0xff };
	char s[64];
	size_t n = sizeof(run) - 1, i, k;

	s[0] = '"';
	memcpy(s + 1, run, n);
	s[n + 1] = '"';
	ck_assert_int_eq(scan_n(s, n + 2, 512), PS_OK);
	for (i = 1; i <= n; i++) {
		ck_assert_int_eq(scan_n(s, i, 512), PS_ERR_INVALID_JSON);
		for (k = 0; k < sizeof(spoil); k++) {
			s[i] = (char)spoil[k];
			/* No replacement leaves both valid UTF-8 and one
			 * whole string: an ASCII byte for a lead byte leaves
			 * its continuation bytes stray. */
			ck_assert_msg(scan_n(s, n + 2, 512) ==
			    PS_ERR_INVALID_JSON, "byte %zu set to %02x", i,
			    spoil[k]);
			s[i] = run[i - 1];
		}
	}
}
END_TEST

START_TEST(test_large_string)
{
	size_t n = 3 << 20, i;
	char *s = malloc(n);

	ck_assert_ptr_nonnull(s);
	s[0] = '"';
	for (i = 1; i < n - 1; i++)
		s[i] = (char)(' ' + i % 95);
	for (i = 1; i < n - 1; i++)
		if (s[i] == '"' || s[i] == '\\')
			s[i] = 'x';
	s[n - 1] = '"';
	ck_assert_int_eq(jscan_value(s, n, 512), PS_OK);
	s[n / 2 + 7] = '\n';
	ck_assert_int_eq(jscan_value(s, n, 512), PS_ERR_INVALID_JSON);
	s[n / 2 + 7] = '\\';
	s[n / 2 + 8] = 't';
	ck_assert_int_eq(jscan_value(s, n, 512), PS_OK);
	s[n - 2] = (char)0xe2;
	ck_assert_int_eq(jscan_value(s, n, 512), PS_ERR_INVALID_JSON);
	free(s);
}
END_TEST

struct want_member {
	const char *name;
	int escaped;
	const char *value;
};

static void
check_members(const char *text, const struct want_member *want, size_t nw)
{
	size_t n = strlen(text), i;
	char *s = dup_exact(text, n);
	struct jscan_object it;
	struct jscan_member m;
	int more;

	ck_assert_int_eq(jscan_object_begin(&it, s, n), PS_OK);
	for (i = 0; i < nw; i++) {
		ck_assert_int_eq(jscan_object_next(&it, &m, &more), PS_OK);
		ck_assert_int_eq(more, 1);
		ck_assert_uint_eq(m.name_len, strlen(want[i].name));
		ck_assert(memcmp(m.name, want[i].name, m.name_len) == 0);
		ck_assert_int_eq(m.name_escaped, want[i].escaped);
		ck_assert_uint_eq(m.value_len, strlen(want[i].value));
		ck_assert(memcmp(m.value, want[i].value, m.value_len) == 0);
	}
	ck_assert_int_eq(jscan_object_next(&it, &m, &more), PS_OK);
	ck_assert_int_eq(more, 0);
	/* The end stays the end. */
	ck_assert_int_eq(jscan_object_next(&it, &m, &more), PS_OK);
	ck_assert_int_eq(more, 0);
	free(s);
}

START_TEST(test_object_members)
{
	static const struct want_member w1[] = {
		{ "a", 0, "1" },
		{ "b", 0, "[true , {\"x\":[]}]" },
		{ "c\\n", 1, "\"x\"" },
		{ "", 0, "-0.5e+3" },
		{ "\xc3\xa9", 0, "{ }" },
		{ "\\u00e9\\ud834\\udd1e", 1, "\"\\\"\"" },
		{ "n", 0, "null" },
	};
	static const struct want_member w2[] = {
		{ "model", 0, "\"m\"" },
	};

	check_members(" \r\n{\"a\":1, \"b\" :\t[true , {\"x\":[]}] ,"
	    "\"c\\n\":\"x\",\"\":-0.5e+3,\"\xc3\xa9\":{ },"
	    "\"\\u00e9\\ud834\\udd1e\":\"\\\"\",\"n\":null}\n", w1, 7);
	check_members("{\"model\":\"m\"}", w2, 1);
	check_members("{}", NULL, 0);
	check_members(" { \n } ", NULL, 0);
}
END_TEST

/* Walk to the end; return the first error or PS_OK. */
static pserr
walk(const char *text, size_t n)
{
	char *s = dup_exact(text, n);
	struct jscan_object it;
	struct jscan_member m;
	int more = 1;
	pserr rc;

	if ((rc = jscan_object_begin(&it, s, n)) == PS_OK)
		while (more &&
		    (rc = jscan_object_next(&it, &m, &more)) == PS_OK)
			;
	if (rc != PS_OK) {
		/* A failed walk stays failed. */
		ck_assert_int_eq(jscan_object_next(&it, &m, &more),
		    PS_ERR_INVALID_JSON);
		ck_assert_int_eq(more, 0);
	}
	free(s);
	return rc;
}

static const char *const bad_objects[] = {
	"", "  ", "[1]", "[]", "\"a\"", "1", "null", "{", "{\"a\":1",
	"{\"a\":1,", "{\"a\":1,}", "{,\"a\":1}", "{\"a\":1}x", "{\"a\":1}}",
	"{\"a\":1} {}", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":[}", "x{}",
	"{\"a\":1 \"b\":2}", "{\"a\":\"\\uD800\"}", "{\"\\uDC00\":1}",
	"{\"a\x01\":1}", "{\"a\":\"\xff\"}", "{\"\xc0\xaf\":1}",
	"\xef\xbb\xbf{}", "{}\x00",
};

START_TEST(test_object_invalid)
{
	const char *s = bad_objects[_i];
	size_t n = strlen(s);

	if (strcmp(s, "{}\x00") == 0)
		n = 3;
	ck_assert_msg(walk(s, n) == PS_ERR_INVALID_JSON,
	    "accepted invalid object #%d", _i);
}
END_TEST

START_TEST(test_object_depth)
{
	size_t n, k;
	char *inner, *s;

	/* The object itself is one level: members may nest 511 more. */
	inner = nested("[", "", "]", 511, &k);
	s = malloc(k + 6);
	ck_assert_ptr_nonnull(s);
	memcpy(s, "{\"a\":", 5);
	memcpy(s + 5, inner, k);
	s[k + 5] = '}';
	n = k + 6;
	ck_assert_int_eq(walk(s, n), PS_OK);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH), PS_OK);
	free(s);
	free(inner);
	inner = nested("[", "", "]", 512, &k);
	s = malloc(k + 6);
	ck_assert_ptr_nonnull(s);
	memcpy(s, "{\"a\":", 5);
	memcpy(s + 5, inner, k);
	s[k + 5] = '}';
	n = k + 6;
	ck_assert_int_eq(walk(s, n), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(jscan_value(s, n, JSCAN_MAX_DEPTH),
	    PS_ERR_INVALID_JSON);
	free(s);
	free(inner);
}
END_TEST

static void
check_unescape(const char *in, const char *want, size_t want_len)
{
	size_t n = strlen(in);
	char *s = dup_exact(in, n);
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_append(&b, "pre", 3), PS_OK);
	ck_assert_int_eq(jscan_unescape(s, n, &b), PS_OK);
	ck_assert_uint_eq(b.len, 3 + want_len);
	ck_assert(memcmp(b.p, "pre", 3) == 0);
	ck_assert(memcmp(b.p + 3, want, want_len) == 0);
	buf_free(&b);
	free(s);
}

START_TEST(test_unescape)
{
	check_unescape("", "", 0);
	check_unescape("abc", "abc", 3);
	check_unescape("a\\\"b", "a\"b", 3);
	check_unescape("\\\\\\/\\b\\f\\n\\r\\t", "\\/\b\f\n\r\t", 7);
	check_unescape("\\u0041", "A", 1);
	check_unescape("\\u007f\\u0080", "\x7f\xc2\x80", 3);
	check_unescape("\\u00e9", "\xc3\xa9", 2);
	check_unescape("\\u07FF\\u0800", "\xdf\xbf\xe0\xa0\x80", 5);
	check_unescape("\\u20ac", "\xe2\x82\xac", 3);
	check_unescape("\\uffff", "\xef\xbf\xbf", 3);
	check_unescape("\\ud834\\udd1e", "\xf0\x9d\x84\x9e", 4);
	check_unescape("\\uD800\\uDC00", "\xf0\x90\x80\x80", 4);
	check_unescape("\\uDBFF\\uDFFF", "\xf4\x8f\xbf\xbf", 4);
	check_unescape("\\u0000", "\0", 1);
	check_unescape("m\xc3\xa9ssages", "m\xc3\xa9ssages", 9);
	check_unescape("x\\u0065y\\n", "xey\n", 4);
}
END_TEST

START_TEST(test_unescape_invalid)
{
	static const char *const bad[] = {
		"\\", "a\\", "\\x", "\\u", "\\u12", "\\u12g4", "\\ud800",
		"\\udc00", "\\ud800\\u0041", "\\ud800x", "\\ud800\\",
	};
	struct buf b;
	size_t i;

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_append(&b, "pre", 3), PS_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		char *s = dup_exact(bad[i], n);

		ck_assert_int_eq(jscan_unescape(s, n, &b), PS_ERR_INVALID_JSON);
		ck_assert_uint_eq(b.len, 3);
		free(s);
	}
	buf_free(&b);
	/* Past the buffer's cap. */
	buf_init(&b, 4);
	ck_assert_int_eq(jscan_unescape("abcde", 5, &b), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_valid, 0,
	    (int)(sizeof(valid) / sizeof(valid[0])));
	tcase_add_loop_test(tc, test_invalid, 0,
	    (int)(sizeof(invalid) / sizeof(invalid[0])));
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_string_positions);
	tcase_add_test(tc, test_escape_positions);
	tcase_add_test(tc, test_utf8_runs);
	tcase_add_test(tc, test_large_string);
	tcase_add_test(tc, test_object_members);
	tcase_add_loop_test(tc, test_object_invalid, 0,
	    (int)(sizeof(bad_objects) / sizeof(bad_objects[0])));
	tcase_add_test(tc, test_object_depth);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_unescape_invalid);
	tcase_set_timeout(tc, 60);
}

static void
use_sse2(void)
{
	ck_assert_int_eq(jscan_impl_select(JSCAN_IMPL_SSE2), 0);
}

static void
use_avx2(void)
{
	ck_assert_int_eq(jscan_impl_select(JSCAN_IMPL_AVX2), 0);
}

static void
use_avx512(void)
{
	ck_assert_int_eq(jscan_impl_select(JSCAN_IMPL_AVX512), 0);
}

/* Every test on each string path the machine has. */
static Suite *
jscan_suite(void)
{
	static const struct {
		const char *name;
		enum jscan_impl which;
		void (*use)(void);
	} path[] = {
		{"sse2", JSCAN_IMPL_SSE2, use_sse2},
		{"avx2", JSCAN_IMPL_AVX2, use_avx2},
		{"avx512", JSCAN_IMPL_AVX512, use_avx512},
	};
	Suite *s = suite_create("jscan");
	size_t i;

	for (i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		TCase *tc;

		if (jscan_impl_select(path[i].which) != 0) {
			fprintf(stderr, "test_jscan: no %s here, its path is "
			    "not tested\n", path[i].name);
			continue;
		}
		tc = tcase_create(path[i].name);
		tcase_add_checked_fixture(tc, path[i].use, NULL);
		add_tests(tc);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jscan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
