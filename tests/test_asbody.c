/* SPDX-License-Identifier: ISC */
/*
 * asbody: the flat JSON objects of the AS's requests, each rule of
 * lib/as/asbody.h, and the content type.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "as/asbody.h"
#include "testutil.h"

enum { F_NAME, F_N, F_COUNT };

static struct asbody_field f[F_COUNT];

static void
setup(void)
{
	memset(f, 0, sizeof(f));
	f[F_NAME].name = "name";
	f[F_NAME].type = ASBODY_STR;
	f[F_NAME].max = 8;
	f[F_N].name = "n";
	f[F_N].type = ASBODY_INT;
}

static void
teardown(void)
{
	asbody_free(f, F_COUNT);
}

static pserr
parse(const char *s)
{
	asbody_free(f, F_COUNT);
	return asbody_parse(s, strlen(s), f, F_COUNT);
}

START_TEST(both_members)
{
	ck_assert_int_eq(parse("{\"name\":\"abc\",\"n\":42}"), PS_OK);
	ck_assert_int_eq(f[F_NAME].seen, 1);
	ck_assert_uint_eq(f[F_NAME].str.len, 3);
	ck_assert_str_eq(f[F_NAME].str.p, "abc");
	ck_assert_int_eq(f[F_N].seen, 1);
	ck_assert_int_eq(f[F_N].num, 42);
	/* Absent members are only unseen; an empty object is fine. */
	ck_assert_int_eq(parse(" { } \n"), PS_OK);
	ck_assert_int_eq(f[F_NAME].seen, 0);
	ck_assert_int_eq(f[F_N].seen, 0);
	ck_assert_int_eq(parse("{\"n\":-7}"), PS_OK);
	ck_assert_int_eq(f[F_NAME].seen, 0);
	ck_assert_int_eq(f[F_N].num, -7);
}
END_TEST

START_TEST(strings_unescape)
{
	/* Escapes count by what they stand for: 8 bytes fit. */
	ck_assert_int_eq(parse("{\"name\":"
	    "\"\\u0061\\/\\u00e9\\ud83d\\ude00\"}"), PS_OK);
	ck_assert_uint_eq(f[F_NAME].str.len, 8);
	ck_assert_mem_eq(f[F_NAME].str.p, "a/\xc3\xa9\xf0\x9f\x98\x80", 8);
	/* Member names too. */
	ck_assert_int_eq(parse("{\"na\\u006de\":\"x\",\"\\u006e\":1}"), PS_OK);
	ck_assert_str_eq(f[F_NAME].str.p, "x");
	ck_assert_int_eq(f[F_N].num, 1);
	/* A NUL is kept, and counted. */
	ck_assert_int_eq(parse("{\"name\":\"a\\u0000b\"}"), PS_OK);
	ck_assert_uint_eq(f[F_NAME].str.len, 3);
	ck_assert_mem_eq(f[F_NAME].str.p, "a\0b", 3);
	/* The empty string: seen, a valid pointer, no bytes. */
	ck_assert_int_eq(parse("{\"name\":\"\"}"), PS_OK);
	ck_assert_int_eq(f[F_NAME].seen, 1);
	ck_assert_ptr_nonnull(f[F_NAME].str.p);
	ck_assert_uint_eq(f[F_NAME].str.len, 0);
}
END_TEST

START_TEST(unknown_members)
{
	ck_assert_int_eq(parse("{\"a\":\"s\",\"b\":1.5e3,\"c\":true,"
	    "\"d\":false,\"e\":null,\"n\":3,\"a\":\"again\"}"), PS_OK);
	ck_assert_int_eq(f[F_N].num, 3);
	/* Nothing nested, anywhere. */
	ck_assert_int_eq(parse("{\"x\":{\"n\":1}}"), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"x\":[]}"), PS_ERR_INVALID_JSON);
}
END_TEST

START_TEST(numbers)
{
	ck_assert_int_eq(parse("{\"n\":9223372036854775807}"), PS_OK);
	ck_assert_int_eq(f[F_N].num, INT64_MAX);
	ck_assert_int_eq(parse("{\"n\":-9223372036854775808}"), PS_OK);
	ck_assert_int_eq(f[F_N].num, INT64_MIN);
	ck_assert_int_eq(parse("{\"n\":-0}"), PS_OK);
	ck_assert_int_eq(f[F_N].num, 0);
	ck_assert_int_eq(parse("{\"n\":9223372036854775808}"),
	    PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":-9223372036854775809}"),
	    PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":99999999999999999999}"),
	    PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":1.0}"), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":1e2}"), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":\"1\"}"), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":true}"), PS_ERR_INVALID_JSON);
	ck_assert_int_eq(parse("{\"n\":01}"), PS_ERR_INVALID_JSON);
}
END_TEST

START_TEST(refused)
{
	static const char *bad[] = {
		"", " ", "[]", "\"s\"", "1", "{", "{\"n\":1", "{\"n\":1,}",
		"{\"n\" 1}", "{\"n\":1 \"name\":\"a\"}", "{\"n\":1} x",
		"{\"n\":1}{}", "{n:1}", "{'n':1}",
		/* a wanted member twice, even with the same value */
		"{\"n\":1,\"n\":1}", "{\"name\":\"a\",\"na\\u006de\":\"a\"}",
		/* a string with the wrong type, or too long */
		"{\"name\":1}", "{\"name\":null}", "{\"name\":\"123456789\"}",
		"{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9a\"}",
		/* what jscan refuses: lone surrogates, raw control bytes,
		 * bad UTF-8 */
		"{\"x\":\"\\ud800\"}", "{\"x\":\"\\udc00\"}",
		"{\"x\":\"a\x01\"}",
		"{\"x\":\"\xc3\"}", "{\"x\":\"\xed\xa0\x80\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i]) == PS_ERR_INVALID_JSON, "case %zu",
		    i);
}
END_TEST

/* A member name longer than ASBODY_NAME_MAX is refused, escaped or not. */
START_TEST(long_names)
{
	char b[256];
	size_t i, k;

	k = (size_t)snprintf(b, sizeof(b), "{\"");
	for (i = 0; i < ASBODY_NAME_MAX; i++)
		b[k++] = 'x';
	snprintf(b + k, sizeof(b) - k, "\":1}");
	ck_assert_int_eq(parse(b), PS_OK);
	snprintf(b + k, sizeof(b) - k, "x\":1}");
	ck_assert_int_eq(parse(b), PS_ERR_INVALID_JSON);
	snprintf(b + k, sizeof(b) - k, "\\u0078\":1}");
	ck_assert_int_eq(parse(b), PS_ERR_INVALID_JSON);
}
END_TEST

/* The text is the only copy and asbody_free() wipes it. */
START_TEST(free_resets)
{
	ck_assert_int_eq(parse("{\"name\":\"secret\"}"), PS_OK);
	asbody_free(f, F_COUNT);
	ck_assert_ptr_null(f[F_NAME].str.p);
	ck_assert_uint_eq(f[F_NAME].str.len, 0);
}
END_TEST

static Suite *
asbody_suite(void)
{
	Suite *s = suite_create("asbody");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, both_members);
	tcase_add_test(t, strings_unescape);
	tcase_add_test(t, unknown_members);
	tcase_add_test(t, numbers);
	tcase_add_test(t, refused);
	tcase_add_test(t, long_names);
	tcase_add_test(t, free_resets);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(asbody_suite());
}
