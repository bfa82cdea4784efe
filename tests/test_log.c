/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/log.c: levels, the form of a line, the length
 * cap, control bytes made harmless, and one write per line so that
 * threads' lines never mix.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/log.h"

/* Run fn with stderr sent to a temporary file; return what it wrote
 * (malloc'd, NUL terminated). */
static char *
capture(void (*fn)(void))
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	long n;
	char *text;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	fn();
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	n = lseek(fileno(f), 0, SEEK_END);
	ck_assert_int_ge(n, 0);
	text = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pread(fileno(f), text, (size_t)n, 0), n);
	fclose(f);
	return text;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)) != NULL; s += strlen(needle))
		n++;
	return n;
}

START_TEST(test_level_parse)
{
	ck_assert_int_eq(log_level_parse("error"), LOG_ERROR);
	ck_assert_int_eq(log_level_parse("warn"), LOG_WARN);
	ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
	ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("Info"), -1);
	ck_assert_int_eq(log_level_parse(""), -1);
	ck_assert_int_eq(log_level_parse("warning"), -1);
}
END_TEST

/* The name the option messages of core/options print. */
START_TEST(test_progname)
{
	ck_assert_str_eq(log_progname(), "promptseal");
	log_setup("promptseal-test", LOG_INFO);
	ck_assert_str_eq(log_progname(), "promptseal-test");
}
END_TEST

static void
at_warn(void)
{
	log_setup("prog", LOG_WARN);
	log_error("e %d", 1);
	log_warn("w %s", "two");
	log_info("i");
	log_debug("d");
}

START_TEST(test_levels_and_form)
{
	char *t = capture(at_warn);
	char pid[32];

	/* 2026-12-01T19:46:20.123Z prog[PID] error: e 1 */
	snprintf(pid, sizeof(pid), " prog[%ld] ", (long)getpid());
	ck_assert_uint_eq(count(t, "\n"), 2);
	ck_assert_uint_eq(count(t, pid), 2);
	ck_assert_ptr_nonnull(strstr(t, "] error: e 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "] warn: w two\n"));
	ck_assert_ptr_null(strstr(t, "info"));
	ck_assert_ptr_null(strstr(t, "debug"));
	ck_assert_int_eq(t[4], '-');
	ck_assert_int_eq(t[10], 'T');
	ck_assert_int_eq(t[23], 'Z');
	free(t);
}
END_TEST

static void
too_long(void)
{
	char big[4000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_setup("prog", LOG_DEBUG);
	log_info("%s", big);
	log_info("after");
}

START_TEST(test_long_line_cut)
{
	char *t = capture(too_long);
	char *nl = strchr(t, '\n');

	/* Cut to 1023 bytes and the newline; the next line stands alone. */
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_eq((size_t)(nl - t) + 1, 1023);
	ck_assert_ptr_nonnull(strstr(nl + 1, "] info: after\n"));
	ck_assert_uint_eq(count(t, "\n"), 2);
	free(t);
}
END_TEST

static void
control_bytes(void)
{
	log_setup("prog", LOG_INFO);
	log_info("GET /v1/x%s %d", "\r\n2026-01-01T00:00:00.000Z prog[1] "
	    "error: forged\x1b[2J\x7f\t", 200);
}

/* A control byte in a message never makes a second line or reaches the
 * terminal: each becomes '?'. */
START_TEST(test_control_bytes_replaced)
{
	char *t = capture(control_bytes);

	ck_assert_uint_eq(count(t, "\n"), 1);
	ck_assert_ptr_nonnull(strstr(t, "] info: GET /v1/x??2026-01-01T00:00:"
	    "00.000Z prog[1] error: forged?[2J?? 200\n"));
	ck_assert_ptr_null(strchr(t, '\r'));
	ck_assert_ptr_null(strchr(t, '\x1b'));
	ck_assert_ptr_null(strchr(t, '\t'));
	free(t);
}
END_TEST

#define THREADS 4
#define LINES 200

static void *
writer(void *arg)
{
	int i;

	for (i = 0; i < LINES; i++)
		log_info("thread %ld line %d %s", (long)(intptr_t)arg, i,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	return NULL;
}

static void
threads(void)
{
	pthread_t t[THREADS];
	long i;

	log_setup("prog", LOG_INFO);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

START_TEST(test_threads_do_not_mix)
{
	char *t = capture(threads), *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_ptr_nonnull(strstr(line, "] info: thread "));
		ck_assert_uint_eq(count(line, "prog["), 1);
		ck_assert_ptr_nonnull(strstr(line, " xxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
		n++;
	}
	ck_assert_uint_eq(n, THREADS * LINES);
	free(t);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_level_parse);
	tcase_add_test(tc, test_progname);
	tcase_add_test(tc, test_levels_and_form);
	tcase_add_test(tc, test_long_line_cut);
	tcase_add_test(tc, test_control_bytes_replaced);
	tcase_add_test(tc, test_threads_do_not_mix);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
