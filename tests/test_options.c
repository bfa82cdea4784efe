/*
 * options: sizes and numbers of option values, what the programs tell the
 * user about a bad one, and repeatable options.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/log.h"
#include "core/options.h"
#include "testutil.h"

static char *dir;
static char errpath[256];
static int saved = -1;

/* stderr into a file, for the messages. */
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

START_TEST(long_and_size)
{
	size_t sz;
	long v;

	ck_assert_int_eq(options_long("12", 1, 20, &v), PS_OK);
	ck_assert_int_eq(v, 12);
	ck_assert_int_eq(options_long("21", 1, 20, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long("", 1, 20, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_long(NULL, 1, 20, &v), PS_ERR_ARG);
	ck_assert_int_eq(options_size("4K", 1 << 20, &sz), PS_OK);
	ck_assert_uint_eq(sz, 4096);
	ck_assert_int_eq(options_size("1m", 1 << 20, &sz), PS_OK);
	ck_assert_uint_eq(sz, 1 << 20);
	ck_assert_int_eq(options_size("2M", 1 << 20, &sz), PS_ERR_ARG);
	ck_assert_int_eq(options_size("0", 1 << 20, &sz), PS_ERR_ARG);
	ck_assert_int_eq(options_size("1KB", 1 << 20, &sz), PS_ERR_ARG);
	ck_assert_int_eq(options_size("-1", 1 << 20, &sz), PS_ERR_ARG);
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
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, number_ok);
	tcase_add_test(t, number_refused);
	tcase_add_test(t, log_level);
	tcase_add_test(t, long_and_size);
	tcase_add_test(t, append);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(options_suite());
}
