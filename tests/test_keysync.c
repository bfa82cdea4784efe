/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "keys/keyfile.h"
#include "keys/keysync.h"
#include "testutil.h"

static char *dir;
static char cache[256];

static void
setup(void)
{
	dir = tu_tmpdir();
	snprintf(cache, sizeof(cache), "%s/keys.json", dir);
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static void
assert_file_holds(const struct keycache_entry *want, size_t n)
{
	struct keycache_entry *got = NULL;
	size_t gn = tu_read_keys(cache, &got), i, j;

	ck_assert_uint_eq(gn, n);
	for (i = 0; i < n; i++) {
		int found = 0;

		for (j = 0; j < gn; j++)
			found |= memcmp(&got[j], &want[i], sizeof(*want)) == 0;
		ck_assert_msg(found, "key %zu missing", i);
	}
	keyfile_entries_free(got, gn);
}

static ino_t
inode(void)
{
	struct stat st;

	ck_assert_int_eq(stat(cache, &st), 0);
	return st.st_ino;
}

START_TEST(writes_only_on_change)
{
	struct keycache_entry a[3], b[3];
	struct keysync *ks = NULL;
	ino_t ino;
	int changed = -1;

	a[0] = tu_entry(3, 2000);
	a[1] = tu_entry(1, 3000);
	a[2] = tu_entry(2, 4000);
	memcpy(b, a, sizeof(a));
	ck_assert_int_eq(keysync_new(cache, &ks), PS_OK);
	/* No file yet: the first set is written. */
	ck_assert_int_eq(keysync_apply(ks, a, 3, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	assert_file_holds(b, 3);
	ino = inode();
	/* The same keys in another order: nothing written (a write
	 * replaces the file, so its inode would change). */
	b[0] = tu_entry(2, 4000);
	b[1] = tu_entry(3, 2000);
	b[2] = tu_entry(1, 3000);
	ck_assert_int_eq(keysync_apply(ks, b, 3, &changed), PS_OK);
	ck_assert_int_eq(changed, 0);
	ck_assert_uint_eq(inode(), ino);
	/* One expiry differs: written. */
	b[0].expires = 4001;
	ck_assert_int_eq(keysync_apply(ks, b, 3, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	assert_file_holds(b, 3);
	/* One key fewer: written.  No key at all: written too. */
	ck_assert_int_eq(keysync_apply(ks, b, 2, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	assert_file_holds(b, 2);
	ck_assert_int_eq(keysync_apply(ks, NULL, 0, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	assert_file_holds(NULL, 0);
	ck_assert_int_eq(keysync_apply(ks, NULL, 0, &changed), PS_OK);
	ck_assert_int_eq(changed, 0);
	keysync_free(ks);
}
END_TEST

START_TEST(restart_does_not_rewrite)
{
	struct keycache_entry a[2];
	struct keysync *ks = NULL;
	ino_t ino;
	int changed = -1;

	a[0] = tu_entry(1, 2000);
	a[1] = tu_entry(2, 3000);
	ck_assert_int_eq(keysync_new(cache, &ks), PS_OK);
	ck_assert_int_eq(keysync_apply(ks, a, 2, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	keysync_free(ks);
	ino = inode();
	ck_assert_int_eq(keysync_new(cache, &ks), PS_OK);
	ck_assert_int_eq(keysync_apply(ks, a, 2, &changed), PS_OK);
	ck_assert_int_eq(changed, 0);
	ck_assert_uint_eq(inode(), ino);
	keysync_free(ks);
	/* A file others can read is not taken as current: rewritten with
	 * the right mode. */
	ck_assert_int_eq(chmod(cache, 0644), 0);
	ck_assert_int_eq(keysync_new(cache, &ks), PS_OK);
	ck_assert_int_eq(keysync_apply(ks, a, 2, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	assert_file_holds(a, 2);
	keysync_free(ks);
}
END_TEST

START_TEST(write_failure_keeps_trying)
{
	struct keycache_entry a[1];
	struct keysync *ks = NULL;
	char sub[300];
	int changed = -1;

	a[0] = tu_entry(1, 2000);
	snprintf(sub, sizeof(sub), "%s/later", dir);
	snprintf(cache, sizeof(cache), "%s/later/keys.json", dir);
	ck_assert_int_eq(keysync_new(cache, &ks), PS_OK);
	ck_assert_int_ne(keysync_apply(ks, a, 1, &changed), PS_OK);
	ck_assert_int_eq(changed, 0);
	/* Once the directory is there, the same keys are written. */
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(keysync_apply(ks, a, 1, &changed), PS_OK);
	ck_assert_int_eq(changed, 1);
	assert_file_holds(a, 1);
	keysync_free(ks);
}
END_TEST

START_TEST(backoff)
{
	struct keysync_backoff b;

	keysync_backoff_init(&b, 1000, 60000);
	ck_assert_int_eq(keysync_backoff_next(&b), 1000);
	ck_assert_int_eq(keysync_backoff_next(&b), 2000);
	ck_assert_int_eq(keysync_backoff_next(&b), 4000);
	ck_assert_int_eq(keysync_backoff_next(&b), 8000);
	ck_assert_int_eq(keysync_backoff_next(&b), 16000);
	ck_assert_int_eq(keysync_backoff_next(&b), 32000);
	ck_assert_int_eq(keysync_backoff_next(&b), 60000);
	ck_assert_int_eq(keysync_backoff_next(&b), 60000);
	keysync_backoff_reset(&b);
	ck_assert_int_eq(keysync_backoff_next(&b), 1000);
	/* A cap below the start is raised to it. */
	keysync_backoff_init(&b, 5000, 10);
	ck_assert_int_eq(keysync_backoff_next(&b), 5000);
	ck_assert_int_eq(keysync_backoff_next(&b), 5000);
}
END_TEST

static Suite *
keysync_suite(void)
{
	Suite *s = suite_create("keysync");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, writes_only_on_change);
	tcase_add_test(t, restart_does_not_rewrite);
	tcase_add_test(t, write_failure_keeps_trying);
	tcase_add_test(t, backoff);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(keysync_suite());
}
