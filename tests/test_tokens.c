/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "testutil.h"
#include "as/tokens.h"

#define T1 "tok-0123456789abcdef"
#define T2 "another-token-with-more-characters-XYZ"

static char *dir;
static char path[256];

static void
setup(void)
{
	dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/tokens", dir);
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

START_TEST(load_and_check)
{
	const char *f = "# client tokens\n\n  " T1 "  \r\n" T2 "\n";
	struct tokens *t = NULL;
	char why[128];

	tu_write(path, f, strlen(f), 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(tokens_check(t, T1, strlen(T1)), 1);
	ck_assert_int_eq(tokens_check(t, T2, strlen(T2)), 1);
	/* A prefix, an extension, another case, nothing. */
	ck_assert_int_eq(tokens_check(t, T1, strlen(T1) - 1), 0);
	ck_assert_int_eq(tokens_check(t, T1 "x", strlen(T1) + 1), 0);
	ck_assert_int_eq(tokens_check(t, "TOK-0123456789ABCDEF", strlen(T1)), 0);
	ck_assert_int_eq(tokens_check(t, "", 0), 0);
	ck_assert_int_eq(tokens_check(t, NULL, 0), 0);
	/* A comment line is not a token. */
	ck_assert_int_eq(tokens_check(t, "# client tokens", 15), 0);
	tokens_free(t);
}
END_TEST

START_TEST(header)
{
	const char *f = T1 "\n";
	struct tokens *t = NULL;
	char why[128];

	tu_write(path, f, strlen(f), 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(tokens_check_header(t, "Bearer " T1), 1);
	ck_assert_int_eq(tokens_check_header(t, "bearer   " T1 " "), 1);
	ck_assert_int_eq(tokens_check_header(t, "BEARER\t" T1), 1);
	ck_assert_int_eq(tokens_check_header(t, "Bearer" T1), 0);
	ck_assert_int_eq(tokens_check_header(t, "Basic " T1), 0);
	ck_assert_int_eq(tokens_check_header(t, T1), 0);
	ck_assert_int_eq(tokens_check_header(t, "Bearer " T1 " x"), 0);
	ck_assert_int_eq(tokens_check_header(t, "Bearer "), 0);
	ck_assert_int_eq(tokens_check_header(t, NULL), 0);
	tokens_free(t);
}
END_TEST

START_TEST(refusals)
{
	const char *shortt = T1 "\nshort\n";
	const char *blank = T1 "\nhas a blank inside it\n";
	struct tokens *t = NULL;
	char why[128];

	tu_write(path, T1 "\n", strlen(T1) + 1, 0644);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)), PS_ERR_PERM);
	tu_write(path, shortt, strlen(shortt), 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "line 2: not TOKEN or NAME LIMIT TOKEN "
	    "(docs/as-api.md)");
	tu_write(path, blank, strlen(blank), 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	tu_write(path, "# nothing\n\n", 11, 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "the file holds no token");
	ck_assert_ptr_null(t);
}
END_TEST

/* Names and limits; a plain token is the tenant "default" without a
 * limit of its own. */
START_TEST(names_and_limits)
{
	const char *text = "# tenants\n"
	    "alice 10 " T1 "\n"
	    "  bob.b_2 0\t" T2 "  \n"
	    "plain-token-0123456789\n";
	struct tokens *t = NULL;
	const char *name = NULL;
	size_t limit = 99;
	char why[128];

	tu_write(path, text, strlen(text), 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(tokens_find_header(t, "Bearer " T1, &name, &limit),
	    1);
	ck_assert_str_eq(name, "alice");
	ck_assert_uint_eq(limit, 10);
	ck_assert_int_eq(tokens_find_header(t, "Bearer " T2, &name, &limit),
	    1);
	ck_assert_str_eq(name, "bob.b_2");
	ck_assert_uint_eq(limit, 0);
	ck_assert_int_eq(tokens_find_header(t,
	    "Bearer plain-token-0123456789", &name, &limit), 1);
	ck_assert_str_eq(name, "default");
	ck_assert_uint_eq(limit, 0);
	ck_assert_int_eq(tokens_find_header(t, "Bearer alice", &name, &limit),
	    0);
	tokens_free(t);
	t = NULL;
	tu_write(path, "al/ce 10 " T1 "\n", strlen(T1) + 10, 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	tu_write(path, "alice ten " T1 "\n", strlen(T1) + 11, 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	tu_write(path, "alice 99999 " T1 "\n", strlen(T1) + 13, 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_ptr_null(t);
}
END_TEST

/* Issue 12: an empty file left the buffer NULL and the scan computed
 * NULL + 0 (undefined; UBSan reports it).  It is refused cleanly. */
START_TEST(empty_file)
{
	struct tokens *t = NULL;
	char why[128] = "";

	tu_write(path, "", 0, 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "the file holds no token");
	ck_assert_ptr_null(t);
}
END_TEST

static Suite *
tokens_suite(void)
{
	Suite *s = suite_create("tokens");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, load_and_check);
	tcase_add_test(t, header);
	tcase_add_test(t, refusals);
	tcase_add_test(t, names_and_limits);
	tcase_add_test(t, empty_file);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(tokens_suite());
}
