/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/options.c: the option values every program
 * parses (sizes with K/M/G, bounded whole numbers), what the programs tell
 * the user about a bad one, and repeatable options.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/log.h"
#include "core/options.h"
#include "core/pserr.h"
#include "testutil.h"

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

static char *dir;
static char errpath[256];
static int saved = -1;

/* stderr into a file, for the messages of the programs. */
static void
setup(void)
{
	int fd;

	dir = tu_tmpdir();
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	log_setup("promptseal-test", LOG_INFO);
}

static void
teardown(void)
{
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	tu_rmdir(dir);
}

/* What went to stderr since the last call. */
static const char *
said(void)
{
	static char out[512];
	FILE *f;
	size_t n;

	fflush(stderr);
	f = fopen(errpath, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	ck_assert_int_eq(ftruncate(STDERR_FILENO, 0), 0);
	ck_assert_int_ge(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
	return out;
}

START_TEST(number_ok)
{
	long v = 0;

	ck_assert_int_eq(options_number("--threads", "4", 1, 256, &v), 0);
	ck_assert_int_eq(v, 4);
	ck_assert_int_eq(options_number("--threads", "256", 1, 256, &v), 0);
	ck_assert_int_eq(v, 256);
	ck_assert_int_eq(options_number("--x", "-5", -10, 10, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_str_eq(said(), "");
}
END_TEST

START_TEST(number_refused)
{
	static const char *bad[] = {"", "0", "257", "4x", "x4", "1.5", "1e2",
	    "99999999999999999999999"};
	long v = 77;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(options_number("--threads", bad[i], 1, 256,
		    &v), -1);
		ck_assert_str_eq(said(), "promptseal-test: --threads wants a "
		    "number from 1 to 256\n");
	}
	ck_assert_int_eq(v, 77);
	ck_assert_int_eq(options_number("--max-ttl", "316224001", 1,
	    10L * 366 * 86400, &v), -1);
	ck_assert_str_eq(said(), "promptseal-test: --max-ttl wants a number "
	    "from 1 to 316224000\n");
}
END_TEST

START_TEST(log_level)
{
	int level = -5;

	ck_assert_int_eq(options_log_level("debug", &level), 0);
	ck_assert_int_eq(level, LOG_DEBUG);
	ck_assert_int_eq(options_log_level("error", &level), 0);
	ck_assert_int_eq(level, LOG_ERROR);
	ck_assert_str_eq(said(), "");
	ck_assert_int_eq(options_log_level("loud", &level), -1);
	ck_assert_int_eq(level, LOG_ERROR);
	ck_assert_str_eq(said(), "promptseal-test: --log-level is error, warn, "
	    "info or debug\n");
}
END_TEST

START_TEST(append)
{
	const char **list = NULL;
	size_t n = 0;

	ck_assert_int_eq(options_append(&list, &n, "a"), 0);
	ck_assert_int_eq(options_append(&list, &n, "b"), 0);
	ck_assert_int_eq(options_append(&list, &n, "a"), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0], "a");
	ck_assert_str_eq(list[1], "b");
	ck_assert_str_eq(list[2], "a");
	free(list);
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
	tc = tcase_create("messages");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, number_ok);
	tcase_add_test(tc, number_refused);
	tcase_add_test(tc, log_level);
	tcase_add_test(tc, append);
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
