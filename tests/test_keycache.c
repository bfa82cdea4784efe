/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the live cache: the keys of one key cache file, shared
 * by threads and reloaded when the file changes.  Every test works in its
 * own temporary directory.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "keys/keycache.h"
#include "keys/keyfile.h"
#include "testutil.h"

static char *dir;
static char cache[PATH_MAX];

static void
setup(void)
{
	dir = tu_tmpdir();
	tu_path(cache, sizeof(cache), dir, "keys.json");
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

/* ------------------------------------------------------ the live cache */

START_TEST(live_refresh_picks_up_rewrite)
{
	struct keycache_entry a[2], b[2], got;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];

	tu_mk(&a[0], 1, 1000);
	tu_mk(&a[1], 2, 2000);
	tu_mk(&b[0], 3, 3000);
	tu_mk(&b[1], 2, 2000);
	ck_assert_int_eq(keyfile_write(cache, a, 2), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	ck_assert_int_eq(keycache_find(kc, a[0].kid, 500, s), PS_OK);
	ck_assert_mem_eq(s, a[0].secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_newest(kc, 500, &got), PS_OK);
	ck_assert_mem_eq(&got, &a[1], sizeof(got));

	ck_assert_int_eq(keyfile_write(cache, b, 2), PS_OK);
	/* find and newest do not look at the file themselves. */
	ck_assert_int_eq(keycache_find(kc, b[0].kid, 500, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, a[0].kid, 500, s), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b[0].kid, 500, s), PS_OK);
	ck_assert_mem_eq(s, b[0].secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_find(kc, a[0].kid, 500, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_newest(kc, 500, &got), PS_OK);
	ck_assert_mem_eq(&got, &b[0], sizeof(got));
	/* No change, no reload: still the same keys. */
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b[1].kid, 500, s), PS_OK);
	ck_assert_mem_eq(s, b[1].secret, ENVELOPE_KEY_LEN);
	keycache_close(kc);
	keycache_close(NULL);
}
END_TEST

START_TEST(live_keeps_keys_on_bad_file)
{
	struct keycache_entry a, b;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];
	char real[PATH_MAX];

	tu_mk(&a, 1, 1000);
	tu_mk(&b, 2, 1000);
	ck_assert_int_eq(keyfile_write(cache, &a, 1), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
#define STILL_A() do { \
		memset(s, 0, sizeof(s)); \
		ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK); \
		ck_assert_mem_eq(s, a.secret, ENVELOPE_KEY_LEN); \
		ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), \
		    PS_ERR_UNKNOWN_KEY); \
	} while (0)

	tu_put_text(cache, "{\"version\": 1, \"keys\": [", 0600);
	keycache_refresh(kc);
	STILL_A();
	tu_put_text(cache, "{\"version\": 2, \"keys\": []}", 0600);
	keycache_refresh(kc);
	STILL_A();
	/* A valid file with b, but group-readable. */
	ck_assert_int_eq(keyfile_write(cache, &b, 1), PS_OK);
	{
		char *text = tu_slurp(cache, NULL);

		tu_put_text(cache, text, 0640);
		free(text);
	}
	keycache_refresh(kc);
	STILL_A();
	if (geteuid() == 0) {
		ck_assert_int_eq(keyfile_write(cache, &b, 1), PS_OK);
		ck_assert_int_eq(chown(cache, 65534, 65534), 0);
		keycache_refresh(kc);
		STILL_A();
	}
	tu_path(real, sizeof(real), dir, "real.json");
	ck_assert_int_eq(keyfile_write(real, &b, 1), PS_OK);
	ck_assert_int_eq(unlink(cache), 0);
	ck_assert_int_eq(symlink("real.json", cache), 0);
	keycache_refresh(kc);
	STILL_A();
	ck_assert_int_eq(unlink(cache), 0);
	keycache_refresh(kc);
	STILL_A();
#undef STILL_A

	ck_assert_int_eq(keyfile_write(cache, &b, 1), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), PS_OK);
	ck_assert_mem_eq(s, b.secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_UNKNOWN_KEY);
	keycache_close(kc);
}
END_TEST

START_TEST(live_starts_empty)
{
	struct keycache_entry a, got;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];

	tu_mk(&a, 1, 1000);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_NO_KEY);
	ck_assert_int_eq(keycache_newest(kc, 0, &got), PS_ERR_NO_KEY);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_NO_KEY);
	ck_assert_int_eq(keyfile_write(cache, &a, 1), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK);
	ck_assert_mem_eq(s, a.secret, ENVELOPE_KEY_LEN);
	/* An empty key set is a set with no keys, not an error. */
	ck_assert_int_eq(keyfile_write(cache, NULL, 0), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_NO_KEY);
	keycache_close(kc);
	ck_assert_int_eq(keycache_open(NULL, &kc), PS_ERR_ARG);
}
END_TEST

START_TEST(live_expiry)
{
	struct keycache_entry k[4], got;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];

	tu_mk(&k[0], 1, 100);
	tu_mk(&k[1], 2, 200);
	tu_mk(&k[2], 3, 300);
	tu_mk(&k[3], 4, 300);
	ck_assert_int_eq(keyfile_write(cache, k, 4), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);

	ck_assert_int_eq(keycache_find(kc, k[0].kid, 99, s), PS_OK);
	ck_assert_mem_eq(s, k[0].secret, ENVELOPE_KEY_LEN);
	/* expires <= now is expired: at 100, k0 is gone. */
	ck_assert_int_eq(keycache_find(kc, k[0].kid, 100, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, k[1].kid, 150, s), PS_OK);
	ck_assert_mem_eq(s, k[1].secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_find(kc, k[1].kid, 200, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, k[3].kid, 299, s), PS_OK);
	ck_assert_mem_eq(s, k[3].secret, ENVELOPE_KEY_LEN);
	/* Nothing left unexpired: no key at all, for any kid. */
	ck_assert_int_eq(keycache_find(kc, k[2].kid, 300, s), PS_ERR_NO_KEY);
	ck_assert_int_eq(keycache_find(kc, k[0].kid, 300, s), PS_ERR_NO_KEY);

	/* Newest: the unexpired key that expires last; of equals the
	 * first in the file. */
	ck_assert_int_eq(keycache_newest(kc, 0, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[2], sizeof(got));
	ck_assert_int_eq(keycache_newest(kc, 299, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[2], sizeof(got));
	ck_assert_int_eq(keycache_newest(kc, 300, &got), PS_ERR_NO_KEY);

	tu_mk(&k[0], 1, 500);
	ck_assert_int_eq(keyfile_write(cache, k, 3), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_newest(kc, 0, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[0], sizeof(got));
	ck_assert_int_eq(keycache_newest(kc, 499, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[0], sizeof(got));
	ck_assert_int_eq(keycache_find(kc, k[3].kid, 0, s), PS_ERR_UNKNOWN_KEY);
	keycache_close(kc);
}
END_TEST

/* Send stderr to a file until capture_log_end, which returns the text. */
static void
capture_log_begin(int *saved)
{
	char p[PATH_MAX];
	int fd;

	tu_path(p, sizeof(p), dir, "log.txt");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	*saved = dup(STDERR_FILENO);
	ck_assert_int_ge(*saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

static char *
capture_log_end(int saved)
{
	char p[PATH_MAX];
	char *text;

	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	tu_path(p, sizeof(p), dir, "log.txt");
	text = tu_slurp(p, NULL);
	unlink(p);
	return text;
}

static int
count_lines(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

START_TEST(live_logs_once_per_change)
{
	struct keycache_entry a, b;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];
	char *log;
	int saved, i;

	log_setup("test_keycache", LOG_WARN);
	tu_mk(&a, 1, 1000);
	tu_mk(&b, 2, 1000);
	ck_assert_int_eq(keyfile_write(cache, &a, 1), PS_OK);
	capture_log_begin(&saved);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	/* A corrupt file that holds a secret: the reason must not show it. */
	tu_put_text(cache, TU_WRAP("{" TU_KID ", " TU_SEC ", \"expires\": 1.5}"),
	    0600);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	tu_put_text(cache, TU_ONE, 0644);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	ck_assert_int_eq(unlink(cache), 0);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK);
	ck_assert_int_eq(keyfile_write(cache, &b, 1), PS_OK);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), PS_OK);
	log = capture_log_end(saved);
	keycache_close(kc);

	ck_assert_msg(count_lines(log, " warn: ") == 3, "log:\n%s", log);
	ck_assert_int_eq(count_lines(log, "\n"), 3);
	ck_assert_int_eq(count_lines(log, "key 0: expires is not an integer in "
	    "0..9223372036854775806; keeping the 1 keys in use"), 1);
	ck_assert_int_eq(count_lines(log, "mode 0644 is group/world accessible; "
	    "chmod 600; keeping the 1 keys in use"), 1);
	ck_assert_int_eq(count_lines(log, "cannot stat: No such file or "
	    "directory; keeping the 1 keys in use"), 1);
	ck_assert_int_eq(count_lines(log, cache), 3);
	ck_assert_ptr_null(strstr(log, TU_SECRET_B64_STEM));
	free(log);
}
END_TEST

/* A read that fails for a passing reason (here: no file descriptor left)
 * is tried again from the next second on, though the file did not change
 * again: keysync rewrites it only when the keys change. */
START_TEST(live_retries_passing_failure)
{
	struct rlimit rl = {64, 64}, old;
	struct keycache_entry a, b;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];
	int fds[64], n = 0, i;

	tu_mk(&a, 1, 1000);
	tu_mk(&b, 2, 1000);
	ck_assert_int_eq(keyfile_write(cache, &a, 1), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	ck_assert_int_eq(keyfile_write(cache, &b, 1), PS_OK);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	ck_assert_int_lt(n, 64);
	keycache_refresh(kc);
	for (i = 0; i < n; i++)
		close(fds[i]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK);
	for (i = 0; i < 40; i++) {
		keycache_refresh(kc);
		if (keycache_find(kc, b.kid, 0, s) == PS_OK)
			break;
		usleep(100 * 1000);
	}
	ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), PS_OK);
	ck_assert_mem_eq(s, b.secret, ENVELOPE_KEY_LEN);
	keycache_close(kc);
}
END_TEST

struct race {
	struct keycache *kc;
	struct keycache_entry a[2], b[3];
	int errors;
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	struct keycache_entry got;
	uint8_t s[ENVELOPE_KEY_LEN];
	int i;

	for (i = 0; i < 2000; i++) {
		keycache_refresh(r->kc);
		/* The stable key is in both sets. */
		if (keycache_find(r->kc, r->a[0].kid, 1000, s) != PS_OK ||
		    memcmp(s, r->a[0].secret, ENVELOPE_KEY_LEN) != 0)
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
		if (keycache_newest(r->kc, 1000, &got) != PS_OK ||
		    (memcmp(&got, &r->a[1], sizeof(got)) != 0 &&
		    memcmp(&got, &r->b[1], sizeof(got)) != 0))
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *
race_writer(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < 150; i++)
		if (keyfile_write(cache, i % 2 ? r->a : r->b, i % 2 ? 2 : 3)
		    != PS_OK)
			__atomic_add_fetch(&r->errors, 1000000, __ATOMIC_RELAXED);
	return NULL;
}

START_TEST(live_concurrent_readers)
{
	static struct race r;
	pthread_t readers[4], writer;
	int i;

	memset(&r, 0, sizeof(r));
	tu_mk(&r.a[0], 1, 5000);
	tu_mk(&r.a[1], 2, 9000);
	r.b[0] = r.a[0];
	tu_mk(&r.b[1], 3, 9500);
	tu_mk(&r.b[2], 4, 100);
	ck_assert_int_eq(keyfile_write(cache, r.a, 2), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &r.kc), PS_OK);
	ck_assert_int_eq(pthread_create(&writer, NULL, race_writer, &r), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&readers[i], NULL, race_reader,
		    &r), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(readers[i], NULL), 0);
	ck_assert_int_eq(pthread_join(writer, NULL), 0);
	ck_assert_int_eq(r.errors, 0);
	/* After the last write (set a), one refresh settles on it. */
	keycache_refresh(r.kc);
	{
		struct keycache_entry got;

		ck_assert_int_eq(keycache_newest(r.kc, 1000, &got), PS_OK);
		ck_assert_mem_eq(&got, &r.a[1], sizeof(got));
	}
	keycache_close(r.kc);
	ck_assert_int_eq(tu_dir_entries(dir), 1);
}
END_TEST

static Suite *
keycache_suite(void)
{
	Suite *s = suite_create("keycache");
	TCase *live = tcase_create("live");

	tcase_add_checked_fixture(live, setup, teardown);
	/* Not a timed assertion: a guard against a hang, generous for
	 * sanitizer builds. */
	tcase_set_timeout(live, 120);

	tcase_add_test(live, live_refresh_picks_up_rewrite);
	tcase_add_test(live, live_keeps_keys_on_bad_file);
	tcase_add_test(live, live_starts_empty);
	tcase_add_test(live, live_expiry);
	tcase_add_test(live, live_logs_once_per_change);
	tcase_add_test(live, live_retries_passing_failure);
	tcase_add_test(live, live_concurrent_readers);

	suite_add_tcase(s, live);
	return s;
}

int
main(void)
{
	/* Warnings only: every reload would log a line. */
	log_setup("test_keycache", LOG_WARN);
	return tu_run(keycache_suite());
}
