/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/http.c: the one application/json check of the
 * proxies and the attestation service.
 */
#include "config.h"

#include <stddef.h>

#include <check.h>

#include "core/http.h"

START_TEST(test_is_json)
{
	ck_assert_int_eq(http_is_json("application/json"), 1);
	ck_assert_int_eq(http_is_json("Application/JSON"), 1);
	ck_assert_int_eq(http_is_json("  application/json  "), 1);
	ck_assert_int_eq(http_is_json("application/json; charset=utf-8"), 1);
	ck_assert_int_eq(http_is_json("application/json;"), 1);
	ck_assert_int_eq(http_is_json(NULL), 0);
	ck_assert_int_eq(http_is_json(""), 0);
	ck_assert_int_eq(http_is_json("application/jsonx"), 0);
	ck_assert_int_eq(http_is_json("application/json x"), 0);
	ck_assert_int_eq(http_is_json("text/plain"), 0);
	ck_assert_int_eq(http_is_json("application/js"), 0);
	ck_assert_int_eq(http_is_json("\tapplication/json\t;x=1"), 1);
	ck_assert_int_eq(http_is_json("application/json\n"), 0);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");

	tcase_add_test(tc, test_is_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
