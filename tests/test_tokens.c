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
	ck_assert_str_eq(why, "line 2: a token is 16 to 512 printable "
	    "characters without blanks");
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

static Suite *
tokens_suite(void)
{
	Suite *s = suite_create("tokens");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, load_and_check);
	tcase_add_test(t, header);
	tcase_add_test(t, refusals);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(tokens_suite());
}
