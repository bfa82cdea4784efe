#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "core/buf.h"
#include "core/privfile.h"
#include "testutil.h"

START_TEST(read_private)
{
	char *d = tu_tmpdir(), p[256], why[128];
	struct buf b;

	snprintf(p, sizeof(p), "%s/f", d);
	tu_write(p, "hello", 5, 0600);
	buf_init(&b, 16);
	ck_assert_int_eq(buf_puts(&b, ">"), PS_OK);
	ck_assert_int_eq(privfile_read(p, &b, why, sizeof(why)), PS_OK);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_mem_eq(b.p, ">hello", 6);
	buf_free(&b);
	tu_rmdir(d);
}
END_TEST

START_TEST(refusals)
{
	static const mode_t loose[] = {0640, 0604, 0660, 0700 | 0010, 0601};
	char *d = tu_tmpdir(), p[256], l[256], why[128];
	struct buf b;
	size_t i;

	snprintf(p, sizeof(p), "%s/f", d);
	buf_init(&b, 16);
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		tu_write(p, "hello", 5, loose[i]);
		why[0] = 0;
		ck_assert_int_eq(privfile_read(p, &b, why, sizeof(why)),
		    PS_ERR_PERM);
		ck_assert_str_eq(why,
		    "group or others have access (want mode 0600)");
		ck_assert_uint_eq(b.len, 0);
	}
	/* Too large for the cap: nothing kept. */
	tu_write(p, "0123456789abcdefX", 17, 0600);
	ck_assert_int_eq(privfile_read(p, &b, why, sizeof(why)),
	    PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	/* Exactly the cap is fine. */
	tu_write(p, "0123456789abcdef", 16, 0600);
	ck_assert_int_eq(privfile_read(p, &b, why, sizeof(why)), PS_OK);
	ck_assert_uint_eq(b.len, 16);
	buf_reset(&b);
	/* A symbolic link and a directory are refused, a missing file named. */
	snprintf(l, sizeof(l), "%s/link", d);
	ck_assert_int_eq(symlink(p, l), 0);
	ck_assert_int_eq(privfile_read(l, &b, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_int_eq(privfile_read(d, &b, why, sizeof(why)), PS_ERR_PERM);
	snprintf(l, sizeof(l), "%s/none", d);
	ck_assert_int_eq(privfile_read(l, &b, why, sizeof(why)),
	    PS_ERR_NOT_FOUND);
	ck_assert_str_eq(why, "no such file");
	buf_free(&b);
	tu_rmdir(d);
}
END_TEST

START_TEST(create_exclusive)
{
	char *d = tu_tmpdir(), p[256];
	struct stat st;
	mode_t old;

	snprintf(p, sizeof(p), "%s/k", d);
	old = umask(0);
	ck_assert_int_eq(privfile_create(p, "secret", 6), PS_OK);
	umask(old);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 6);
	ck_assert_int_eq(privfile_create(p, "other", 5), PS_ERR_EXISTS);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 6);
	tu_rmdir(d);
}
END_TEST

static Suite *
privfile_suite(void)
{
	Suite *s = suite_create("privfile");
	TCase *t = tcase_create("core");

	tcase_add_test(t, read_private);
	tcase_add_test(t, refusals);
	tcase_add_test(t, create_exclusive);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(privfile_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
