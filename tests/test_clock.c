/* SPDX-License-Identifier: ISC */
/*
 * clock: the monotonic clock moves on and never back; the Unix clock is
 * the time of day.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include <check.h>

#include "core/clock.h"
#include "testutil.h"

START_TEST(mono_moves_on)
{
	struct timespec nap = {0, 20 * 1000000};
	int64_t a, b, c;
	int i;

	a = clock_mono_ms();
	ck_assert_int_ge(a, 0);
	for (i = 0, b = a; i < 1000; i++) {
		c = clock_mono_ms();
		ck_assert_int_ge(c, b);
		b = c;
	}
	nanosleep(&nap, NULL);
	c = clock_mono_ms();
	ck_assert_int_ge(c - a, 20);
	ck_assert_int_lt(c - a, 10000);
}
END_TEST

START_TEST(unix_is_time_of_day)
{
	int64_t before = (int64_t)time(NULL), t = clock_unix();

	ck_assert_int_ge(t, before);
	ck_assert_int_le(t, (int64_t)time(NULL));
	/* Later than this code was written. */
	ck_assert_int_gt(t, 1700000000);
}
END_TEST

static Suite *
clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *t = tcase_create("core");

	tcase_add_test(t, mono_moves_on);
	tcase_add_test(t, unix_is_time_of_day);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(clock_suite());
}
