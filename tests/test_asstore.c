#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "as/asstore.h"
#include "testutil.h"

static char *dir;
static char path[256];
static const struct asstore_limits lim = {100, 100};

static void
setup(void)
{
	dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/as.db", dir);
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static struct asstore *
open_store(const struct asstore_limits *l)
{
	struct asstore *s = NULL;
	char why[256] = "";

	ck_assert_msg(asstore_sqlite_open(path, l, &s, why, sizeof(why)) ==
	    PS_OK, "open: %s", why);
	return s;
}

START_TEST(put_list)
{
	struct asstore *s = open_store(&lim);
	struct keycache_entry e, *l = NULL;
	struct stat st;
	size_t n = 99;

	ck_assert_int_eq(asstore_list(s, 1000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(l);
	e = tu_entry(3, 2000);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	e = tu_entry(1, 3000);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	e = tu_entry(2, 1500);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	ck_assert_int_eq(asstore_list(s, 1000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 3);
	/* Ordered by kid, every field back as stored. */
	e = tu_entry(1, 3000);
	ck_assert_mem_eq(&l[0], &e, sizeof(e));
	e = tu_entry(2, 1500);
	ck_assert_mem_eq(&l[1], &e, sizeof(e));
	e = tu_entry(3, 2000);
	ck_assert_mem_eq(&l[2], &e, sizeof(e));
	keyfile_entries_free(l, n);
	/* At 1500 the kid 2 has expired: not listed. */
	ck_assert_int_eq(asstore_list(s, 1500, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(l[0].kid[0], 1);
	ck_assert_uint_eq(l[1].kid[0], 3);
	keyfile_entries_free(l, n);
	asstore_close(s);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(kid_taken)
{
	struct asstore *s = open_store(&lim);
	struct keycache_entry e, *l = NULL;
	size_t n;

	e = tu_entry(7, 2000);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	/* The same kid, even with the same secret or another one. */
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_ERR_EXISTS);
	memset(e.secret, 0x11, sizeof(e.secret));
	e.expires = 5000;
	ck_assert_int_eq(asstore_put(s, &e, 1999), PS_ERR_EXISTS);
	ck_assert_int_eq(asstore_list(s, 1000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(l[0].secret[0], 0x87);
	ck_assert_int_eq(l[0].expires, 2000);
	keyfile_entries_free(l, n);
	/* Once expired the secret is gone and the kid free again. */
	ck_assert_int_eq(asstore_put(s, &e, 2000), PS_OK);
	ck_assert_int_eq(asstore_list(s, 2000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(l[0].secret[0], 0x11);
	ck_assert_int_eq(l[0].expires, 5000);
	keyfile_entries_free(l, n);
	asstore_close(s);
}
END_TEST

START_TEST(purge_and_persist)
{
	struct asstore *s = open_store(&lim);
	struct keycache_entry e, *l = NULL;
	uint8_t c[32];
	size_t n;

	e = tu_entry(1, 1100);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	e = tu_entry(2, 1300);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	memset(c, 5, sizeof(c));
	ck_assert_int_eq(asstore_challenge_put(s, c, 1060, 1000), PS_OK);
	ck_assert_int_eq(asstore_purge(s, 1200), PS_OK);
	asstore_close(s);
	/* Another handle sees the purge: kid 1 is gone even for a clock
	 * that runs behind, kid 2 and nothing else is left. */
	s = open_store(&lim);
	ck_assert_int_eq(asstore_list(s, 0, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(l[0].kid[0], 2);
	keyfile_entries_free(l, n);
	ck_assert_int_eq(asstore_challenge_take(s, c, 0), PS_ERR_NOT_FOUND);
	asstore_close(s);
}
END_TEST

START_TEST(secret_limit)
{
	const struct asstore_limits small = {2, 2};
	struct asstore *s = open_store(&small);
	struct keycache_entry e;

	e = tu_entry(1, 1100);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	e = tu_entry(2, 2000);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_OK);
	e = tu_entry(3, 2000);
	ck_assert_int_eq(asstore_put(s, &e, 1000), PS_ERR_TOO_LARGE);
	/* An expired secret does not count. */
	ck_assert_int_eq(asstore_put(s, &e, 1100), PS_OK);
	asstore_close(s);
}
END_TEST

START_TEST(challenges)
{
	const struct asstore_limits small = {2, 2};
	struct asstore *s = open_store(&small);
	uint8_t a[32], b[32], c[32];

	memset(a, 1, 32);
	memset(b, 2, 32);
	memset(c, 3, 32);
	ck_assert_int_eq(asstore_challenge_put(s, a, 1060, 1000), PS_OK);
	ck_assert_int_eq(asstore_challenge_put(s, b, 1030, 1000), PS_OK);
	/* Two outstanding: a third is refused until one expires. */
	ck_assert_int_eq(asstore_challenge_put(s, c, 1060, 1000),
	    PS_ERR_TOO_LARGE);
	ck_assert_int_eq(asstore_challenge_take(s, c, 1001), PS_ERR_NOT_FOUND);
	/* Single use. */
	ck_assert_int_eq(asstore_challenge_take(s, a, 1059), PS_OK);
	ck_assert_int_eq(asstore_challenge_take(s, a, 1059), PS_ERR_NOT_FOUND);
	/* Stale, then gone. */
	ck_assert_int_eq(asstore_challenge_take(s, b, 1030), PS_ERR_EXPIRED);
	ck_assert_int_eq(asstore_challenge_take(s, b, 1000), PS_ERR_NOT_FOUND);
	ck_assert_int_eq(asstore_challenge_put(s, c, 1060, 1000), PS_OK);
	asstore_close(s);
}
END_TEST

START_TEST(file_refused)
{
	struct asstore *s = NULL;
	char why[256], link[300];

	s = open_store(&lim);
	asstore_close(s);
	ck_assert_int_eq(chmod(path, 0640), 0);
	s = NULL;
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, &s, why, sizeof(why)),
	    PS_ERR_PERM);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(why, "group or others have access (want mode 0600)");
	ck_assert_int_eq(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/link.db", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(asstore_sqlite_open(link, &lim, &s, why, sizeof(why)),
	    PS_ERR_PERM);
	snprintf(link, sizeof(link), "%s/nodir/as.db", dir);
	ck_assert_int_eq(asstore_sqlite_open(link, &lim, &s, why, sizeof(why)),
	    PS_ERR_IO);
}
END_TEST

/*
 * Several processes on one new file at once: each opens it (racing to set
 * it up), tries to put every kid and to take every challenge.  Each kid
 * must be stored exactly once and each challenge taken exactly once.
 */
#define PROCS 4
#define ITEMS 40

START_TEST(processes_share_the_file)
{
	const struct asstore_limits big = {1000, 1000};
	struct keycache_entry e, *l = NULL;
	struct asstore *s;
	int fds[2], i, status, won_put = 0, won_take = 0;
	uint8_t c[32];
	pid_t pid[PROCS];
	size_t n;

	s = open_store(&big);
	for (i = 0; i < ITEMS; i++) {
		memset(c, 0, sizeof(c));
		c[0] = (uint8_t)i;
		ck_assert_int_eq(asstore_challenge_put(s, c, 5000, 1000), PS_OK);
	}
	asstore_close(s);
	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < PROCS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			struct asstore *cs = NULL;
			char why[256];
			int j, got[2] = {0, 0};
			pserr rc;

			close(fds[0]);
			if (asstore_sqlite_open(path, &big, &cs, why,
			    sizeof(why)) != PS_OK)
				_exit(2);
			for (j = 0; j < ITEMS; j++) {
				struct keycache_entry ce = tu_entry((uint8_t)j, 5000);
				uint8_t cc[32];

				ce.secret[0] = (uint8_t)i;
				rc = asstore_put(cs, &ce, 1000);
				if (rc == PS_OK)
					got[0]++;
				else if (rc != PS_ERR_EXISTS)
					_exit(3);
				memset(cc, 0, sizeof(cc));
				cc[0] = (uint8_t)((j + 7 * i) % ITEMS);
				rc = asstore_challenge_take(cs, cc, 1000);
				if (rc == PS_OK)
					got[1]++;
				else if (rc != PS_ERR_NOT_FOUND)
					_exit(4);
			}
			asstore_close(cs);
			if (write(fds[1], got, sizeof(got)) != sizeof(got))
				_exit(5);
			_exit(0);
		}
	}
	close(fds[1]);
	for (i = 0; i < PROCS; i++) {
		int got[2];

		ck_assert_int_eq(read(fds[0], got, sizeof(got)), sizeof(got));
		won_put += got[0];
		won_take += got[1];
	}
	close(fds[0]);
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(won_put, ITEMS);
	ck_assert_int_eq(won_take, ITEMS);
	s = open_store(&big);
	ck_assert_int_eq(asstore_list(s, 1000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, ITEMS);
	for (i = 0; i < ITEMS; i++) {
		e = tu_entry((uint8_t)i, 5000);
		ck_assert_mem_eq(l[i].kid, e.kid, sizeof(e.kid));
	}
	keyfile_entries_free(l, n);
	asstore_close(s);
}
END_TEST

static Suite *
asstore_suite(void)
{
	Suite *s = suite_create("asstore");
	TCase *t = tcase_create("sqlite");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, put_list);
	tcase_add_test(t, kid_taken);
	tcase_add_test(t, purge_and_persist);
	tcase_add_test(t, secret_limit);
	tcase_add_test(t, challenges);
	tcase_add_test(t, file_refused);
	tcase_add_test(t, processes_share_the_file);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(asstore_suite());
}
