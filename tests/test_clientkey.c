/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "keys/clientkey.h"
#include "keys/keyfile.h"
#include "testutil.h"

static char *dir;
static char state[256], lockpath[256];

/* The AS, as far as clientkey sees it. */
struct fake_as {
	int calls;
	pserr rc;                 /* what the next uploads return */
	int64_t skew;             /* the AS's expiry minus the client's */
	struct keycache_entry last;
};

static pserr
fake_upload(void *arg, const struct keycache_entry *key, int64_t *expires,
    char *why, size_t whylen)
{
	struct fake_as *f = arg;

	f->calls++;
	f->last = *key;
	if (f->rc != PS_OK) {
		snprintf(why, whylen, "the fake AS refuses");
		return f->rc;
	}
	*expires = key->expires + f->skew;
	return PS_OK;
}

static void
setup(void)
{
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state.json", dir);
	snprintf(lockpath, sizeof(lockpath), "%s/state.json.lock", dir);
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static struct clientkey *
open_ck(struct fake_as *f, int64_t ttl)
{
	struct clientkey_cfg cfg = {state, ttl, fake_upload, f};
	struct clientkey *ck = NULL;

	ck_assert_int_eq(clientkey_new(&cfg, &ck), PS_OK);
	return ck;
}

/* The state file's keys, in file order. */
static size_t
read_state(struct keycache_entry **keys)
{
	return tu_read_keys(state, keys);
}

static int
same_key(const struct keycache_entry *a, const struct keycache_entry *b)
{
	return memcmp(a->kid, b->kid, sizeof(a->kid)) == 0 &&
	    memcmp(a->secret, b->secret, sizeof(a->secret)) == 0 &&
	    a->expires == b->expires;
}

START_TEST(grace_and_lead)
{
	ck_assert_int_eq(clientkey_grace(8), 1);
	ck_assert_int_eq(clientkey_grace(19), 1);
	ck_assert_int_eq(clientkey_grace(20), 2);
	ck_assert_int_eq(clientkey_grace(3600), 2);
	ck_assert_int_eq(clientkey_lead(8), 5);
	ck_assert_int_eq(clientkey_lead(9), 6);
	ck_assert_int_eq(clientkey_lead(30), 14);
	ck_assert_int_eq(clientkey_lead(3600), 1204);
}
END_TEST

START_TEST(due)
{
	struct keycache_entry k[2];

	ck_assert_int_eq(clientkey_due(NULL, 0, 9, 1000), 1);
	k[0] = tu_entry(1, 1000);
	/* ttl 9: lead 6. */
	ck_assert_int_eq(clientkey_due(k, 1, 9, 993), 0);
	ck_assert_int_eq(clientkey_due(k, 1, 9, 994), 0);
	ck_assert_int_eq(clientkey_due(k, 1, 9, 995), 1);
	ck_assert_int_eq(clientkey_due(k, 1, 9, 1000), 1);
	ck_assert_int_eq(clientkey_due(k, 1, 9, 2000), 1);
	/* The key that expires last decides, wherever it is. */
	k[1] = tu_entry(2, 1006);
	ck_assert_int_eq(clientkey_due(k, 2, 9, 1000), 0);
	ck_assert_int_eq(clientkey_due(k, 2, 9, 1001), 1);
}
END_TEST

START_TEST(pick)
{
	struct keycache_entry k[3];

	ck_assert_int_eq(clientkey_pick(NULL, 0, 9, 1000), -1);
	/* b was uploaded at 1005 - 9 = 996; grace 1 s. */
	k[0] = tu_entry(1, 1000);
	k[1] = tu_entry(2, 1005);
	ck_assert_int_eq(clientkey_pick(k, 2, 9, 996), 0);
	ck_assert_int_eq(clientkey_pick(k, 2, 9, 997), 0);
	ck_assert_int_eq(clientkey_pick(k, 2, 9, 998), 1);
	ck_assert_int_eq(clientkey_pick(k, 2, 9, 1004), 1);
	ck_assert_int_eq(clientkey_pick(k, 2, 9, 1005), -1);
	/* The only key, in its grace: used all the same. */
	ck_assert_int_eq(clientkey_pick(k + 1, 1, 9, 996), 0);
	/* The old key expired during the new one's grace. */
	ck_assert_int_eq(clientkey_pick(k, 2, 9, 1000), 1);
	/* Of several ready keys, the one that expires last. */
	k[2] = tu_entry(3, 1003);
	ck_assert_int_eq(clientkey_pick(k, 3, 9, 997), 2);
}
END_TEST

START_TEST(first_key_is_made_on_demand)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct clientkey *ck = open_ck(&f, 9);
	struct keycache_entry got, *keys = NULL;
	struct stat st;
	size_t n;

	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_OK);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_int_eq(f.last.expires, 1009);
	ck_assert_int_eq(got.expires, 1009);
	ck_assert(same_key(&got, &f.last));
	n = read_state(&keys);
	ck_assert_uint_eq(n, 1);
	ck_assert(same_key(&keys[0], &got));
	keyfile_entries_free(keys, n);
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* Not due: nothing more goes to the AS. */
	ck_assert_int_eq(clientkey_get(ck, 1001, &got), PS_OK);
	ck_assert_int_eq(clientkey_tick(ck, 1003, NULL), PS_OK);
	ck_assert_int_eq(f.calls, 1);
	clientkey_free(ck);
}
END_TEST

START_TEST(rotation_keeps_the_old_key)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct clientkey *ck = open_ck(&f, 9);
	struct keycache_entry first, second, got, *keys = NULL;
	size_t n;
	int rotated = -1;

	ck_assert_int_eq(clientkey_get(ck, 1000, &first), PS_OK);
	ck_assert_int_eq(clientkey_tick(ck, 1003, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 0);
	/* first expires at 1009, lead 6: due from 1004. */
	ck_assert_int_eq(clientkey_tick(ck, 1004, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 1);
	ck_assert_int_eq(f.calls, 2);
	second = f.last;
	ck_assert_int_eq(second.expires, 1013);
	n = read_state(&keys);
	ck_assert_uint_eq(n, 2);
	ck_assert(same_key(&keys[0], &second));
	ck_assert(same_key(&keys[1], &first));
	keyfile_entries_free(keys, n);
	/* The old key encrypts during the grace, the new one after it. */
	ck_assert_int_eq(clientkey_get(ck, 1004, &got), PS_OK);
	ck_assert(same_key(&got, &first));
	ck_assert_int_eq(clientkey_get(ck, 1005, &got), PS_OK);
	ck_assert(same_key(&got, &first));
	ck_assert_int_eq(clientkey_get(ck, 1006, &got), PS_OK);
	ck_assert(same_key(&got, &second));
	/* second expires at 1013: due from 1008. */
	ck_assert_int_eq(clientkey_tick(ck, 1007, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 0);
	ck_assert_int_eq(clientkey_tick(ck, 1008, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 1);
	n = read_state(&keys);
	ck_assert_uint_eq(n, 3);
	keyfile_entries_free(keys, n);
	/* The next rotation drops the first key, expired at 1009. */
	ck_assert_int_eq(clientkey_tick(ck, 1012, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 1);
	n = read_state(&keys);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(keys[0].expires, 1021);
	ck_assert_int_eq(keys[1].expires, 1017);
	ck_assert(same_key(&keys[2], &second));
	keyfile_entries_free(keys, n);
	ck_assert_int_eq(f.calls, 4);
	clientkey_free(ck);
}
END_TEST

START_TEST(failed_upload_changes_nothing)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct clientkey *ck = open_ck(&f, 9);
	struct keycache_entry first, got, *keys = NULL;
	size_t n;
	int rotated = -1;

	ck_assert_int_eq(clientkey_get(ck, 1000, &first), PS_OK);
	f.rc = PS_ERR_UPSTREAM;
	ck_assert_int_eq(clientkey_tick(ck, 1004, &rotated), PS_ERR_UPSTREAM);
	ck_assert_int_eq(rotated, 0);
	ck_assert_int_eq(f.calls, 2);
	n = read_state(&keys);
	ck_assert_uint_eq(n, 1);
	ck_assert(same_key(&keys[0], &first));
	keyfile_entries_free(keys, n);
	/* The current key goes on until it expires ... */
	ck_assert_int_eq(clientkey_get(ck, 1008, &got), PS_OK);
	ck_assert(same_key(&got, &first));
	/* ... and then there is none: one try a second on demand. */
	f.calls = 0;
	ck_assert_int_eq(clientkey_get(ck, 1009, &got), PS_ERR_NO_KEY);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_int_eq(clientkey_get(ck, 1009, &got), PS_ERR_NO_KEY);
	ck_assert_int_eq(f.calls, 1);
	/* The AS is back. */
	f.rc = PS_OK;
	ck_assert_int_eq(clientkey_get(ck, 1010, &got), PS_OK);
	ck_assert_int_eq(f.calls, 2);
	ck_assert(same_key(&got, &f.last));
	ck_assert_int_eq(got.expires, 1019);
	clientkey_free(ck);
}
END_TEST

START_TEST(the_as_expiry_wins_when_earlier)
{
	struct fake_as f = {0, PS_OK, -2, {{0}, {0}, 0}};
	struct clientkey *ck = open_ck(&f, 9);
	struct keycache_entry got;

	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_OK);
	ck_assert_int_eq(got.expires, 1007);
	clientkey_free(ck);
	/* A later one does not stretch the key's life. */
	unlink(state);
	f.skew = 5;
	ck = open_ck(&f, 9);
	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_OK);
	ck_assert_int_eq(got.expires, 1009);
	clientkey_free(ck);
	/* An expiry in the past is refused. */
	unlink(state);
	f.skew = -20;
	ck = open_ck(&f, 9);
	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_ERR_NO_KEY);
	ck_assert_int_eq(access(state, F_OK), -1);
	clientkey_free(ck);
}
END_TEST

START_TEST(processes_share_one_key)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct clientkey *a = open_ck(&f, 9), *b = open_ck(&f, 9);
	struct keycache_entry ka, kb;
	int rotated = -1;

	ck_assert_int_eq(clientkey_get(a, 1000, &ka), PS_OK);
	ck_assert_int_eq(clientkey_get(b, 1000, &kb), PS_OK);
	ck_assert(same_key(&ka, &kb));
	ck_assert_int_eq(f.calls, 1);
	/* Both find the rotation due; the second re-reads under the lock. */
	ck_assert_int_eq(clientkey_tick(a, 1004, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 1);
	ck_assert_int_eq(clientkey_tick(b, 1004, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 0);
	ck_assert_int_eq(f.calls, 2);
	ck_assert_int_eq(clientkey_get(a, 1006, &ka), PS_OK);
	ck_assert_int_eq(clientkey_get(b, 1006, &kb), PS_OK);
	ck_assert(same_key(&ka, &kb));
	ck_assert(same_key(&ka, &f.last));
	clientkey_free(a);
	clientkey_free(b);
}
END_TEST

START_TEST(a_held_lock_is_not_waited_for)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct clientkey *ck = open_ck(&f, 9);
	struct keycache_entry got;
	int fd, rotated = -1;

	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_OK);
	fd = open(lockpath, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(clientkey_tick(ck, 1004, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 0);
	ck_assert_int_eq(f.calls, 1);
	close(fd);
	ck_assert_int_eq(clientkey_tick(ck, 1004, &rotated), PS_OK);
	ck_assert_int_eq(rotated, 1);
	ck_assert_int_eq(f.calls, 2);
	clientkey_free(ck);
}
END_TEST

START_TEST(reupload)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct clientkey *ck = open_ck(&f, 9);
	struct keycache_entry k = tu_entry(7, 1009);

	ck_assert_int_eq(clientkey_reupload(ck, &k, 1003), PS_OK);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_int_eq(f.last.expires, 1009);
	ck_assert(same_key(&f.last, &k));
	f.rc = PS_ERR_EXISTS;
	ck_assert_int_eq(clientkey_reupload(ck, &k, 1003), PS_OK);
	f.rc = PS_ERR_AUTH;
	ck_assert_int_eq(clientkey_reupload(ck, &k, 1003), PS_ERR_AUTH);
	ck_assert_int_eq(f.calls, 3);
	ck_assert_int_eq(clientkey_reupload(ck, &k, 1009), PS_ERR_NO_KEY);
	ck_assert_int_eq(f.calls, 3);
	/* The state file is not touched by an upload again. */
	ck_assert_int_eq(access(state, F_OK), -1);
	clientkey_free(ck);
}
END_TEST

START_TEST(a_refused_state_file_is_left_alone)
{
	struct fake_as f = {0, PS_OK, 0, {{0}, {0}, 0}};
	struct keycache_entry k = tu_entry(1, 1009), got;
	struct clientkey *ck;
	struct stat st;

	ck_assert_int_eq(keyfile_write(state, &k, 1), PS_OK);
	ck_assert_int_eq(chmod(state, 0644), 0);
	ck = open_ck(&f, 9);
	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_ERR_NO_KEY);
	ck_assert_int_eq(clientkey_tick(ck, 1001, NULL), PS_ERR_PERM);
	ck_assert_int_eq(f.calls, 0);
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	clientkey_free(ck);
	/* Corrupt content: the same. */
	tu_write(state, "{\"version\": 1, \"keys\": [", 24, 0600);
	ck = open_ck(&f, 9);
	ck_assert_int_eq(clientkey_get(ck, 1000, &got), PS_ERR_NO_KEY);
	ck_assert_int_eq(clientkey_tick(ck, 1001, NULL), PS_ERR_CORRUPT);
	ck_assert_int_eq(f.calls, 0);
	clientkey_free(ck);
}
END_TEST

START_TEST(arguments)
{
	struct fake_as f;
	struct clientkey_cfg cfg = {state, 7, fake_upload, &f};
	struct clientkey *ck = NULL;

	ck_assert_int_eq(clientkey_new(&cfg, &ck), PS_ERR_ARG);
	cfg.ttl = CLIENTKEY_MAX_TTL + 1;
	ck_assert_int_eq(clientkey_new(&cfg, &ck), PS_ERR_ARG);
	cfg.ttl = 9;
	cfg.upload = NULL;
	ck_assert_int_eq(clientkey_new(&cfg, &ck), PS_ERR_ARG);
	cfg.upload = fake_upload;
	cfg.state_path = NULL;
	ck_assert_int_eq(clientkey_new(&cfg, &ck), PS_ERR_ARG);
	ck_assert_ptr_null(ck);
	clientkey_free(NULL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("clientkey");
	TCase *tc = tcase_create("clientkey");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, grace_and_lead);
	tcase_add_test(tc, due);
	tcase_add_test(tc, pick);
	tcase_add_test(tc, first_key_is_made_on_demand);
	tcase_add_test(tc, rotation_keeps_the_old_key);
	tcase_add_test(tc, failed_upload_changes_nothing);
	tcase_add_test(tc, the_as_expiry_wins_when_earlier);
	tcase_add_test(tc, processes_share_one_key);
	tcase_add_test(tc, a_held_lock_is_not_waited_for);
	tcase_add_test(tc, reupload);
	tcase_add_test(tc, a_refused_state_file_is_left_alone);
	tcase_add_test(tc, arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
