/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/buf.c: capped buffers that carry their length.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/pserr.h"

START_TEST(test_buf_init)
{
	struct buf b;

	memset(&b, 0x5a, sizeof(b));
	buf_init(&b, 100);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.max, 100);
	buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.max, 100);
}
END_TEST

/* Appends up to max succeed; one byte past it fails and changes nothing. */
START_TEST(test_buf_cap)
{
	struct buf b;
	char *p;
	size_t cap;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, "0123456", 7), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "78"), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '9'), PS_OK);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_mem_eq(b.p, "0123456789", 10);
	ck_assert_uint_le(b.cap, 11);
	p = b.p;
	cap = b.cap;

	ck_assert_int_eq(buf_putc(&b, 'x'), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_puts(&b, "x"), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_append(&b, "xyz", 3), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_reserve(&b, 1), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_append(&b, "", 0), PS_OK);
	ck_assert_int_eq(buf_append(&b, NULL, 0), PS_OK);
	ck_assert_int_eq(buf_puts(&b, ""), PS_OK);
	ck_assert_int_eq(buf_reserve(&b, 0), PS_OK);
	ck_assert_ptr_eq(b.p, p);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_mem_eq(b.p, "0123456789", 10);
	/* The terminator still fits. */
	ck_assert_str_eq(buf_cstr(&b), "0123456789");
	ck_assert_uint_eq(b.len, 10);
	buf_free(&b);
}
END_TEST

/* An append that only partly fits stores nothing. */
START_TEST(test_buf_all_or_nothing)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_puts(&b, "abcde"), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "fghi"), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(b.p, "abcde", 5);
	ck_assert_int_eq(buf_puts(&b, "fgh"), PS_OK);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_mem_eq(b.p, "abcdefgh", 8);
	buf_free(&b);

	/* A first append larger than max allocates nothing. */
	buf_init(&b, 3);
	ck_assert_int_eq(buf_puts(&b, "abcd"), PS_ERR_TOO_LARGE);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_zero_max)
{
	struct buf b;
	const char *s;

	buf_init(&b, 0);
	ck_assert_int_eq(buf_putc(&b, 'a'), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	s = buf_cstr(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

/* Growing one byte at a time past several reallocations keeps the
 * content. */
START_TEST(test_buf_growth)
{
	struct buf b;
	size_t i;

	buf_init(&b, 5000);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(buf_putc(&b, (char)('a' + i % 26)), PS_OK);
	ck_assert_int_eq(buf_putc(&b, 'x'), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 5000);
	ck_assert_uint_ge(b.cap, 5001);
	ck_assert_uint_le(b.cap, 5001);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(b.p[i], 'a' + i % 26);
	ck_assert_uint_eq(strlen(buf_cstr(&b)), 5000);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve)
{
	struct buf b;

	buf_init(&b, 1000);
	ck_assert_int_eq(buf_reserve(&b, 600), PS_OK);
	ck_assert_uint_ge(b.cap, 601);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_reserve(&b, 1000), PS_OK);
	ck_assert_int_eq(buf_reserve(&b, 1001), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_puts(&b, "abc"), PS_OK);
	ck_assert_int_eq(buf_reserve(&b, 997), PS_OK);
	ck_assert_int_eq(buf_reserve(&b, 998), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_mem_eq(b.p, "abc", 3);
	buf_free(&b);
}
END_TEST

/* A buffer without a real cap: len + 1 (the terminator's room) must not
 * wrap around. */
START_TEST(test_buf_max_size_max)
{
	struct buf b;

	buf_init(&b, SIZE_MAX);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), PS_ERR_TOO_LARGE);
	ck_assert_ptr_null(b.p);
	ck_assert_int_eq(buf_puts(&b, "abc"), PS_OK);
	ck_assert_uint_ge(b.cap, 4);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 3), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 3);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_cstr)
{
	struct buf b;
	const char *s;

	buf_init(&b, 64);
	s = buf_cstr(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_int_eq(buf_append(&b, "a\0b", 3), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "cd"), PS_OK);
	s = buf_cstr(&b);
	ck_assert_ptr_eq(s, b.p);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(s, "a\0bcd\0", 6);
	/* The terminator is not content: an append overwrites it. */
	ck_assert_int_eq(buf_putc(&b, 'e'), PS_OK);
	ck_assert_mem_eq(buf_cstr(&b), "a\0bcde\0", 7);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_consume)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_puts(&b, "abcdefgh"), PS_OK);
	buf_consume(&b, 0);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_mem_eq(b.p, "abcdefgh", 8);
	buf_consume(&b, 3);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(b.p, "defgh", 5);
	/* The freed bytes are wiped. */
	ck_assert_mem_eq(b.p + 5, "\0\0\0", 3);
	/* The cap applies to len: room again for three bytes, not four. */
	ck_assert_int_eq(buf_puts(&b, "ijkl"), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(buf_puts(&b, "ijk"), PS_OK);
	ck_assert_mem_eq(b.p, "defghijk", 8);
	ck_assert_str_eq(buf_cstr(&b), "defghijk");
	buf_consume(&b, 8);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_puts(&b, "xy"), PS_OK);
	buf_consume(&b, 100);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_free(&b);

	buf_init(&b, 8);
	buf_consume(&b, 1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reset)
{
	struct buf b;
	char *p;
	size_t cap;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_puts(&b, "secret"), PS_OK);
	p = b.p;
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.p, p);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_mem_eq(p, "\0\0\0\0\0\0", 6);
	ck_assert_int_eq(buf_puts(&b, "0123456789abcdef"), PS_OK);
	ck_assert_uint_eq(b.len, 16);
	buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.max, 16);
	/* Usable again after buf_free. */
	ck_assert_int_eq(buf_puts(&b, "again"), PS_OK);
	ck_assert_str_eq(buf_cstr(&b), "again");
	buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_buf_init);
	tcase_add_test(tc, test_buf_cap);
	tcase_add_test(tc, test_buf_all_or_nothing);
	tcase_add_test(tc, test_buf_zero_max);
	tcase_add_test(tc, test_buf_growth);
	tcase_add_test(tc, test_buf_reserve);
	tcase_add_test(tc, test_buf_max_size_max);
	tcase_add_test(tc, test_buf_cstr);
	tcase_add_test(tc, test_buf_consume);
	tcase_add_test(tc, test_buf_reset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
