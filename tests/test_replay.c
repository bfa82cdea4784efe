/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/seal/replay.c: the worker's record of accepted
 * requests (protocol.md section 4), shared by the processes of a node.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/pserr.h"
#include "seal/replay.h"

static char dir[] = "/tmp/test_replay.XXXXXX";

static void
path_of(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", dir, name);
}

static void
pair(unsigned i, uint8_t kid[16], uint8_t nonce[16])
{
	memset(kid, 0x11, 16);
	memset(nonce, 0, 16);
	memcpy(nonce, &i, sizeof(i));
}

static struct replay *
open_ok(const char *name, size_t slots)
{
	char p[512], why[256];
	struct replay *r = NULL;
	pserr rc;

	path_of(p, sizeof(p), name);
	rc = replay_open(p, slots, &r, why, sizeof(why));
	ck_assert_msg(rc == PS_OK, "replay_open: %s: %s", pserr_code(rc), why);
	return r;
}

START_TEST(test_record_and_replay)
{
	struct replay *r = open_ok("a", 1024);
	uint8_t kid[16], nonce[16];
	struct stat st;
	char p[512];

	pair(1, kid, nonce);
	ck_assert_int_eq(replay_check(r, kid, nonce, 1300, 1000), PS_OK);
	ck_assert_int_eq(replay_check(r, kid, nonce, 1300, 1000),
	    PS_ERR_REPLAYED);
	ck_assert_int_eq(replay_check(r, kid, nonce, 1300, 1300),
	    PS_ERR_REPLAYED);
	/* Another nonce, another kid: not seen. */
	nonce[15] = 1;
	ck_assert_int_eq(replay_check(r, kid, nonce, 1300, 1000), PS_OK);
	kid[0] = 0;
	ck_assert_int_eq(replay_check(r, kid, nonce, 1300, 1000), PS_OK);
	/* Once expired, the pair may come again (its ts check refuses it
	 * in the worker). */
	pair(1, kid, nonce);
	ck_assert_int_eq(replay_check(r, kid, nonce, 1700, 1301), PS_OK);
	ck_assert_int_eq(replay_check(r, kid, nonce, 1700, 1400),
	    PS_ERR_REPLAYED);
	ck_assert_uint_eq(replay_slots(r), 1024);
	replay_close(r);

	/* Made with mode 0600. */
	path_of(p, sizeof(p), "a");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

/* The record outlives the process that wrote it. */
START_TEST(test_persists)
{
	struct replay *r = open_ok("b", 1024);
	uint8_t kid[16], nonce[16];

	pair(7, kid, nonce);
	ck_assert_int_eq(replay_check(r, kid, nonce, 2000, 1000), PS_OK);
	replay_close(r);
	r = open_ok("b", 1024);
	ck_assert_int_eq(replay_check(r, kid, nonce, 2000, 1000),
	    PS_ERR_REPLAYED);
	replay_close(r);
}
END_TEST

/* 1 when every byte of the file at p has a block on disk. */
static int
allocated(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return (off_t)st.st_blocks * 512 >= st.st_size;
}

/*
 * Every block of a table is allocated when it is opened, so that a write
 * through the mapping never needs a block from a full file system (that
 * would be SIGBUS), a new table and one left sparse alike.
 */
START_TEST(test_allocated)
{
	struct replay *r = open_ok("sparse", 4096);
	uint8_t kid[16], nonce[16], head[64];
	char p[512], q[512];
	struct stat st;
	int fd, gd;

	path_of(p, sizeof(p), "sparse");
	ck_assert(allocated(p));
	pair(3, kid, nonce);
	ck_assert_int_eq(replay_check(r, kid, nonce, 2000, 1000), PS_OK);
	replay_close(r);

	/* The same table, sparse: its header copied into a file of the
	 * same size with holes everywhere else. */
	path_of(q, sizeof(q), "sparse.copy");
	ck_assert_int_ge(fd = open(p, O_RDONLY), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_ge(gd = open(q, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(ftruncate(gd, st.st_size), 0);
	ck_assert_int_eq(pread(fd, head, sizeof(head), 0), sizeof(head));
	ck_assert_int_eq(pwrite(gd, head, sizeof(head), 0), sizeof(head));
	close(gd);
	close(fd);
	ck_assert_int_eq(rename(q, p), 0);
	ck_assert(!allocated(p));

	r = open_ok("sparse", 4096);
	ck_assert(allocated(p));
	replay_close(r);
}
END_TEST

/* A full table fails closed; expired slots are used again. */
START_TEST(test_full)
{
	struct replay *r = open_ok("c", 64);
	uint8_t kid[16], nonce[16];
	unsigned i, ok = 0, full = 0;

	for (i = 0; i < 200; i++) {
		pserr rc;

		pair(i, kid, nonce);
		rc = replay_check(r, kid, nonce, 5000, 1000);
		ck_assert(rc == PS_OK || rc == PS_ERR_REPLAY_FULL);
		ok += rc == PS_OK;
		full += rc == PS_ERR_REPLAY_FULL;
	}
	/* 64 slots, every one reachable from every bucket. */
	ck_assert_uint_eq(ok, 64);
	ck_assert_uint_eq(full, 136);
	/* Every recorded pair is still seen. */
	for (i = 0, ok = 0; i < 200; i++) {
		pair(i, kid, nonce);
		if (replay_check(r, kid, nonce, 5000, 1000) == PS_ERR_REPLAYED)
			ok++;
	}
	ck_assert_uint_eq(ok, 64);
	/* After expiry there is room again. */
	pair(1000, kid, nonce);
	ck_assert_int_eq(replay_check(r, kid, nonce, 9000, 5001), PS_OK);
	replay_close(r);
}
END_TEST

/* Records go to buckets by a keyed hash: a big table takes many pairs. */
START_TEST(test_spread)
{
	struct replay *r = open_ok("d", 1 << 14);
	uint8_t kid[16], nonce[16];
	unsigned i;

	for (i = 0; i < 8000; i++) {
		pair(i, kid, nonce);
		ck_assert_int_eq(replay_check(r, kid, nonce, 5000, 1000), PS_OK);
	}
	for (i = 0; i < 8000; i += 97) {
		pair(i, kid, nonce);
		ck_assert_int_eq(replay_check(r, kid, nonce, 5000, 1000),
		    PS_ERR_REPLAYED);
	}
	replay_close(r);
}
END_TEST

/* Two processes share one table: what one records, the other refuses. */
START_TEST(test_two_processes)
{
	struct replay *r = open_ok("e", 4096);
	uint8_t kid[16], nonce[16];
	unsigned i;
	pid_t pid;
	int status, refused = 0;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The child opens the table itself, as a worker process does. */
		char p[512], why[256];
		struct replay *c = NULL;

		path_of(p, sizeof(p), "e");
		if (replay_open(p, 4096, &c, why, sizeof(why)) != PS_OK)
			_exit(2);
		for (i = 0; i < 500; i++) {
			pair(i, kid, nonce);
			if (replay_check(c, kid, nonce, 5000, 1000) ==
			    PS_ERR_REPLAY_FULL)
				_exit(3);
		}
		replay_close(c);
		_exit(0);
	}
	for (i = 0; i < 500; i++) {
		pserr rc;

		pair(i, kid, nonce);
		rc = replay_check(r, kid, nonce, 5000, 1000);
		ck_assert(rc == PS_OK || rc == PS_ERR_REPLAYED);
		refused += rc == PS_ERR_REPLAYED;
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Each pair was accepted exactly once by the two together: all of
	 * them are seen now. */
	for (i = 0; i < 500; i++) {
		pair(i, kid, nonce);
		ck_assert_int_eq(replay_check(r, kid, nonce, 5000, 1000),
		    PS_ERR_REPLAYED);
	}
	(void)refused;
	replay_close(r);
}
END_TEST

struct race {
	struct replay *r;
	unsigned accepted;
};

static void *
racer(void *arg)
{
	struct race *x = arg;
	uint8_t kid[16], nonce[16];
	unsigned i;

	for (i = 0; i < 2000; i++) {
		pair(i, kid, nonce);
		if (replay_check(x->r, kid, nonce, 5000, 1000) == PS_OK)
			x->accepted++;
	}
	return NULL;
}

/* Threads of one process: each pair is accepted once in all. */
START_TEST(test_threads)
{
	struct replay *r = open_ok("f", 1 << 14);
	struct race x[4];
	pthread_t t[4];
	unsigned total = 0;
	int i;

	for (i = 0; i < 4; i++) {
		x[i].r = r;
		x[i].accepted = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, racer, &x[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += x[i].accepted;
	}
	ck_assert_uint_eq(total, 2000);
	replay_close(r);
}
END_TEST

START_TEST(test_refused_files)
{
	char p[512], why[256];
	struct replay *r = NULL;
	int fd;

	/* Another number of slots than it was made with. */
	replay_close(open_ok("g", 1024));
	path_of(p, sizeof(p), "g");
	ck_assert_int_eq(replay_open(p, 2048, &r, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "slots"));
	/* Not a table. */
	path_of(p, sizeof(p), "h");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello world", 11), 11);
	close(fd);
	ck_assert_int_eq(replay_open(p, 1024, &r, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	/* Readable by others. */
	path_of(p, sizeof(p), "i");
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	close(fd);
	ck_assert_int_eq(replay_open(p, 1024, &r, why, sizeof(why)),
	    PS_ERR_PERM);
	ck_assert(why[0] != '\0');
	/* A symbolic link. */
	path_of(p, sizeof(p), "j");
	{
		char target[512];

		path_of(target, sizeof(target), "a");
		ck_assert_int_eq(symlink(target, p), 0);
	}
	ck_assert_int_ne(replay_open(p, 1024, &r, why, sizeof(why)), PS_OK);
	/* A directory that does not exist. */
	path_of(p, sizeof(p), "nowhere/x");
	ck_assert_int_eq(replay_open(p, 1024, &r, why, sizeof(why)),
	    PS_ERR_IO);
	/* A directory others may write in: refused before the table is
	 * made there. */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	path_of(p, sizeof(p), "in-open-dir");
	ck_assert_int_eq(replay_open(p, 1024, &r, why, sizeof(why)),
	    PS_ERR_PERM);
	ck_assert_str_eq(why, "group or others may write in its directory "
	    "(chmod go-w), mode 0777");
	ck_assert_int_eq(access(p, F_OK), -1);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	/* Sizes. */
	path_of(p, sizeof(p), "k");
	ck_assert_int_eq(replay_open(p, 63, &r, why, sizeof(why)), PS_ERR_ARG);
	ck_assert_int_eq(replay_open(p, 100, &r, why, sizeof(why)), PS_ERR_ARG);
	ck_assert_int_eq(replay_open(p, REPLAY_SLOTS_MAX + 8, &r, why,
	    sizeof(why)), PS_ERR_ARG);
	ck_assert_ptr_null(r);
}
END_TEST

/* The timestamp bounds the window: [now - W, now + 60]. */
START_TEST(test_admit)
{
	struct replay *r = open_ok("l", 1024);
	uint8_t kid[16], nonce[16];
	unsigned i = 0;

	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1000, 1000, 300), PS_OK);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1000, 1000, 300),
	    PS_ERR_REPLAYED);
	/* Until ts + W the record stands. */
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1000, 1300, 300),
	    PS_ERR_REPLAYED);
	/* After that the ts check refuses it, not the record. */
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1000, 1301, 300),
	    PS_ERR_STALE);
	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 700, 1000, 300), PS_OK);
	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 699, 1000, 300),
	    PS_ERR_STALE);
	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1060, 1000, 300), PS_OK);
	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1061, 1000, 300),
	    PS_ERR_STALE);
	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, UINT64_MAX, 1000, 300),
	    PS_ERR_STALE);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 0, 1000, 300),
	    PS_ERR_STALE);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 0, -1, 300), PS_ERR_STALE);
	/* A future ts is remembered until ts + W, past now + W. */
	pair(i++, kid, nonce);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1050, 1000, 300), PS_OK);
	ck_assert_int_eq(replay_admit(r, kid, nonce, 1050, 1349, 300),
	    PS_ERR_REPLAYED);
	replay_close(r);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_record_and_replay);
	tcase_add_test(tc, test_persists);
	tcase_add_test(tc, test_allocated);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_spread);
	tcase_add_test(tc, test_two_processes);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_refused_files);
	tcase_add_test(tc, test_admit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;
	char cmd[600];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	sr = srunner_create(replay_suite());
	/* The tests share files: one process, in order. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return failed == 0 ? 0 : 1;
}
