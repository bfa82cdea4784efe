/*
 * Unit tests of lib/core/options.c: the option values every program
 * parses (sizes with K/M/G, bounded whole numbers).
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include <check.h>

#include "core/options.h"
#include "core/pserr.h"

static const struct {
	const char *in;
	size_t max;
	size_t want;
} good_sizes[] = {
	{"1", 10, 1},
	{"10", 10, 10},
	{"1k", 1 << 20, 1024},
	{"2K", 1 << 20, 2048},
	{"1m", 1 << 20, 1 << 20},
	{"10M", 1u << 30, 10u << 20},
	{"1G", 1u << 30, 1u << 30},
	{"007", 10, 7},
};

START_TEST(test_size_good)
{
	size_t v = 12345;

	ck_assert_int_eq(options_size(good_sizes[_i].in, good_sizes[_i].max,
	    &v), PS_OK);
	ck_assert_uint_eq(v, good_sizes[_i].want);
}
END_TEST

static const struct {
	const char *in;
	size_t max;
} bad_sizes[] = {
	{"", 10}, {"0", 10}, {"0K", 1 << 20}, {"11", 10}, {"2M", 1 << 20},
	{"-1", 10}, {"+1", 10}, {" 1", 10}, {"1 ", 10}, {"1KB", 1 << 20},
	{"1T", SIZE_MAX}, {"K", 1 << 20}, {"1.5M", 1u << 30}, {"0x10", 100},
	/* Past SIZE_MAX after the shift, and past strtoull. */
	{"18446744073709551615K", SIZE_MAX},
	{"99999999999999999999999", SIZE_MAX},
};

START_TEST(test_size_bad)
{
	size_t v = 12345;

	ck_assert_int_eq(options_size(bad_sizes[_i].in, bad_sizes[_i].max, &v),
	    PS_ERR_ARG);
	ck_assert_uint_eq(v, 12345);              /* untouched on failure */
}
END_TEST

START_TEST(test_size_null)
{
	size_t v = 1;

	ck_assert_int_eq(options_size(NULL, 10, &v), PS_ERR_ARG);
	ck_assert_uint_eq(v, 1);
}
END_TEST

START_TEST(test_long_bounds)
{
	long v = 99;

	ck_assert_int_eq(options_long("5", 1, 5, &v), PS_OK);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(options_long("1", 1, 5, &v), PS_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(options_long("-3", -5, 5, &v), PS_OK);
	ck_assert_int_eq(v, -3);
	v = 99;
	ck_assert_int_eq(options_long("6", 1, 5, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long("0", 1, 5, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long("", 1, 5, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long(NULL, 1, 5, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long("3x", 1, 5, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long("3 ", 1, 5, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long("99999999999999999999", 1, LONG_MAX, &v),
	    PS_ERR_ARG);
	ck_assert_int_eq(v, 99);
}
END_TEST

static Suite *
options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");

	tcase_add_loop_test(tc, test_size_good, 0,
	    (int)(sizeof(good_sizes) / sizeof(good_sizes[0])));
	tcase_add_loop_test(tc, test_size_bad, 0,
	    (int)(sizeof(bad_sizes) / sizeof(bad_sizes[0])));
	tcase_add_test(tc, test_size_null);
	tcase_add_test(tc, test_long_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
