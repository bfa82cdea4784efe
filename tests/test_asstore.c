/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "as/asstore.h"
#include "core/codec.h"
#include "testutil.h"

static char *dir;
static char path[256];
static const struct asstore_limits lim = {100, 100};

static const uint8_t key[ASSTORE_KEY_LEN] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};

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

	ck_assert_msg(asstore_sqlite_open(path, l, key, &s, why, sizeof(why)) ==
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
	ck_assert_int_eq(asstore_challenge_use(s, c, 1060, 1000), PS_OK);
	ck_assert_int_eq(asstore_purge(s, 1200), PS_OK);
	asstore_close(s);
	/* Another handle sees the purge: kid 1 is gone even for a clock
	 * that runs behind, kid 2 and nothing else is left. */
	s = open_store(&lim);
	ck_assert_int_eq(asstore_list(s, 0, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(l[0].kid[0], 2);
	keyfile_entries_free(l, n);
	/* The used challenge expired and was purged: forgotten. */
	ck_assert_int_eq(asstore_challenge_use(s, c, 1060, 0), PS_OK);
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
	/* Single use. */
	ck_assert_int_eq(asstore_challenge_use(s, a, 1060, 1000), PS_OK);
	ck_assert_int_eq(asstore_challenge_use(s, a, 1060, 1059),
	    PS_ERR_EXISTS);
	ck_assert_int_eq(asstore_challenge_use(s, b, 1030, 1000), PS_OK);
	/* Two remembered: a third is refused until one expires. */
	ck_assert_int_eq(asstore_challenge_use(s, c, 1060, 1000),
	    PS_ERR_TOO_LARGE);
	ck_assert_int_eq(asstore_challenge_use(s, c, 1060, 1030), PS_OK);
	asstore_close(s);
}
END_TEST

/* One tenant holds at most its limit; another still gets in, and the
 * store's own maximum still holds for all. */
START_TEST(tenant_limit)
{
	const struct asstore_limits l = {5, 5};
	struct asstore *s = open_store(&l);
	struct keycache_entry e;
	int i;

	for (i = 0; i < 3; i++) {
		e = tu_entry((uint8_t)i, 2000);
		ck_assert_int_eq(asstore_put_for(s, &e, "greedy", 3, 1000),
		    PS_OK);
	}
	e = tu_entry(10, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "greedy", 3, 1000),
	    PS_ERR_PERM);
	ck_assert_int_eq(asstore_put_for(s, &e, "other", 3, 1000), PS_OK);
	e = tu_entry(11, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "other", 0, 1000), PS_OK);
	e = tu_entry(12, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "third", 0, 1000),
	    PS_ERR_TOO_LARGE);
	asstore_close(s);
}
END_TEST

/* Not a byte of a secret in the file or its WAL, in any encoding, and
 * another storage key opens nothing. */
START_TEST(sealed_at_rest)
{
	static const uint8_t other[ASSTORE_KEY_LEN] = {1};
	struct asstore *s = open_store(&lim);
	struct keycache_entry e, *l = NULL;
	char why[256], p2[300];
	size_t n, len, i;
	uint8_t *data;
	int f;

	e = tu_entry(7, 2000);
	for (i = 0; i < sizeof(e.secret); i++)
		e.secret[i] = (uint8_t)(0xa0 + i);
	ck_assert_int_eq(asstore_put_for(s, &e, "t", 0, 1000), PS_OK);
	for (f = 0; f < 2; f++) {
		char hex[65];

		snprintf(p2, sizeof(p2), "%s%s", path, f ? "-wal" : "");
		data = (uint8_t *)tu_slurp(p2, &len);
		ck_assert_ptr_nonnull(data);
		ck_assert_ptr_null(memmem(data, len, e.secret, 16));
		ck_assert_ptr_null(memmem(data, len, e.secret + 16, 16));
		hex[codec_hex_encode(e.secret, 32, hex)] = '\0';
		ck_assert_ptr_null(memmem(data, len, hex, 32));
		free(data);
	}
	asstore_close(s);
	s = NULL;
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, other, &s, why,
	    sizeof(why)), PS_OK);
	ck_assert_int_eq(asstore_list(s, 1000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 0);
	asstore_close(s);
	s = open_store(&lim);
	ck_assert_int_eq(asstore_list(s, 1000, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(l[0].secret, e.secret, 32);
	keyfile_entries_free(l, n);
	asstore_close(s);
}
END_TEST

/*
 * Rows sealed under another storage key (a restart that made a fresh one)
 * can never be released: they give way to their tenant's upload of the
 * same kid and to any upload that needs their room, but keep their kid
 * from other tenants.
 */
START_TEST(dead_rows_give_way)
{
	static const uint8_t fresh[ASSTORE_KEY_LEN] = {2};
	const struct asstore_limits l = {4, 4};
	struct asstore *s = open_store(&l);
	struct keycache_entry e, *got = NULL;
	char why[256];
	size_t n;

	e = tu_entry(7, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "t", 0, 1000), PS_OK);
	e = tu_entry(8, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "u", 0, 1000), PS_OK);
	e = tu_entry(9, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "v", 2, 1000), PS_OK);
	e = tu_entry(10, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "v", 2, 1000), PS_OK);
	asstore_close(s);
	s = NULL;
	ck_assert_int_eq(asstore_sqlite_open(path, &l, fresh, &s, why,
	    sizeof(why)), PS_OK);
	/* Still the kid of tenant t ... */
	e = tu_entry(7, 2000);
	e.secret[0] ^= 1;
	ck_assert_int_eq(asstore_put_for(s, &e, "u", 0, 1000), PS_ERR_EXISTS);
	/* ... whose client uploads it again. */
	ck_assert_int_eq(asstore_put_for(s, &e, "t", 0, 1000), PS_OK);
	ck_assert_int_eq(asstore_put_for(s, &e, "t", 0, 1000), PS_ERR_EXISTS);
	/* Tenant v's dead rows do not hold its limit, and the store is not
	 * full of dead rows. */
	e = tu_entry(11, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "v", 2, 1000), PS_OK);
	e = tu_entry(12, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "w", 0, 1000), PS_OK);
	e = tu_entry(13, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "w", 0, 1000), PS_OK);
	ck_assert_int_eq(asstore_list(s, 1000, &got, &n), PS_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(got[0].kid[0], 7);
	ck_assert_uint_eq(got[0].secret[0], (0x80 | 7) ^ 1);
	ck_assert_uint_eq(got[1].kid[0], 11);
	ck_assert_uint_eq(got[3].kid[0], 13);
	keyfile_entries_free(got, n);
	/* Four live rows: full. */
	e = tu_entry(14, 2000);
	ck_assert_int_eq(asstore_put_for(s, &e, "w", 0, 1000),
	    PS_ERR_TOO_LARGE);
	asstore_close(s);
}
END_TEST

/* Issue 12: the file was checked, then SQLite reopened it by path.  Now
 * the check is made on SQLite's own descriptor: a file swapped in before
 * SQLite opens it (here: one others may read) is refused. */
static char swap_with[300];

static void
swap_file(const char *p)
{
	ck_assert_int_eq(rename(swap_with, p), 0);
}

START_TEST(file_swapped_after_check)
{
	struct asstore *s = NULL;
	char why[256] = "";

	snprintf(swap_with, sizeof(swap_with), "%s/other.db", dir);
	tu_write(swap_with, "", 0, 0644);
	asstore_sqlite_test_between = swap_file;
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, key, &s, why,
	    sizeof(why)), PS_ERR_PERM);
	asstore_sqlite_test_between = NULL;
	ck_assert_ptr_null(s);
	ck_assert_str_eq(why, "group or others have access (want mode 0600)");
}
END_TEST

/* Every handle closed: no WAL is left behind. */
START_TEST(no_wal_after_close)
{
	struct asstore *a = open_store(&lim), *b = open_store(&lim);
	struct keycache_entry e = tu_entry(1, 2000);
	char wal[300];

	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(asstore_put(a, &e, 1000), PS_OK);
	ck_assert_int_eq(access(wal, F_OK), 0);
	asstore_close(a);
	asstore_close(b);
	ck_assert_int_ne(access(wal, F_OK), 0);
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
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, key, &s, why,
	    sizeof(why)), PS_ERR_PERM);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(why, "group or others have access (want mode 0600)");
	ck_assert_int_eq(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/link.db", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(asstore_sqlite_open(link, &lim, key, &s, why,
	    sizeof(why)), PS_ERR_PERM);
	snprintf(link, sizeof(link), "%s/nodir/as.db", dir);
	ck_assert_int_eq(asstore_sqlite_open(link, &lim, key, &s, why,
	    sizeof(why)), PS_ERR_IO);
	/* A directory others may write in: SQLite's -wal and -shm files
	 * are made and reopened there by name. */
	ck_assert_int_eq(chmod(dir, 0733), 0);
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, key, &s, why,
	    sizeof(why)), PS_ERR_PERM);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(why, "group or others may write in its directory "
	    "(chmod go-w), mode 0733");
	ck_assert_int_eq(chmod(dir, 0700), 0);
	s = open_store(&lim);
	asstore_close(s);
}
END_TEST

/*
 * Several processes on one new file at once: each opens it (racing to set
 * it up), tries to put every kid and to use every challenge.  Each kid
 * must be stored exactly once and each challenge used exactly once.
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
	memset(c, 0, sizeof(c));
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
			if (asstore_sqlite_open(path, &big, key, &cs, why,
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
				rc = asstore_challenge_use(cs, cc, 5000, 1000);
				if (rc == PS_OK)
					got[1]++;
				else if (rc != PS_ERR_EXISTS)
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
	tcase_add_test(t, tenant_limit);
	tcase_add_test(t, sealed_at_rest);
	tcase_add_test(t, dead_rows_give_way);
	tcase_add_test(t, file_swapped_after_check);
	tcase_add_test(t, no_wal_after_close);
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
