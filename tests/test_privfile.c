/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for private files: the rule, the read, the stamp that tells
 * a changed file, and the writers (a whole replacement, a new file).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

START_TEST(load_says_what_was_wrong)
{
	char *d = tu_tmpdir(), p[256], l[256];
	struct privfile_status st;
	struct buf b;

	tu_path(p, sizeof(p), d, "f");
	buf_init(&b, 8);
	ck_assert_int_eq(privfile_load(p, &b, &st), PS_ERR_NOT_FOUND);
	ck_assert_int_eq(st.fault, PRIVFILE_MISSING);
	ck_assert_int_eq(st.err, ENOENT);
	tu_write(p, "12345678", 8, 0640);
	ck_assert_int_eq(privfile_load(p, &b, &st), PS_ERR_PERM);
	ck_assert_int_eq(st.fault, PRIVFILE_MODE);
	ck_assert_uint_eq(st.mode, 0640);
	ck_assert_uint_eq(st.uid, geteuid());
	ck_assert_int_eq(chmod(p, 0600), 0);
	ck_assert_int_eq(privfile_load(p, &b, &st), PS_OK);
	ck_assert_int_eq(st.fault, PRIVFILE_OK);
	ck_assert_uint_eq(b.len, 8);
	/* One byte over the cap, told by the size before any read. */
	buf_reset(&b);
	tu_write(p, "123456789", 9, 0600);
	ck_assert_int_eq(privfile_load(p, &b, &st), PS_ERR_TOO_LARGE);
	ck_assert_int_eq(st.fault, PRIVFILE_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	tu_path(l, sizeof(l), d, "link");
	ck_assert_int_eq(symlink(p, l), 0);
	ck_assert_int_eq(privfile_load(l, &b, &st), PS_ERR_PERM);
	ck_assert_int_eq(st.fault, PRIVFILE_LINK);
	/* A directory in a private one (d itself is in /tmp, which the
	 * directory rule refuses). */
	tu_path(l, sizeof(l), d, "sub");
	ck_assert_int_eq(mkdir(l, 0700), 0);
	ck_assert_int_eq(privfile_load(l, &b, &st), PS_ERR_PERM);
	ck_assert_int_eq(st.fault, PRIVFILE_NOT_REGULAR);
	tu_path(l, sizeof(l), d, "fifo");
	ck_assert_int_eq(mkfifo(l, 0600), 0);
	ck_assert_int_eq(privfile_load(l, &b, &st), PS_ERR_PERM);
	ck_assert_int_eq(st.fault, PRIVFILE_NOT_REGULAR);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(p, 65534, 65534), 0);
		ck_assert_int_eq(privfile_load(p, &b, &st), PS_ERR_PERM);
		ck_assert_int_eq(st.fault, PRIVFILE_OWNER);
		ck_assert_uint_eq(st.uid, 65534);
	}
	buf_free(&b);
	tu_rmdir(d);
}
END_TEST

/*
 * The directory of a private file: not writable by group or others,
 * sticky or not, and owned by this user or root.  Readers and writers
 * refuse it with a reason that says so, and a writer leaves the old file
 * as it was.
 */
START_TEST(directory_rule)
{
	static const mode_t bad[] = { 0770, 0720, 0702, 01777, 01730 };
	char *d = tu_tmpdir(), sub[256], p[256], why[256];
	struct privfile_status st;
	struct buf b;
	size_t i;

	tu_path(sub, sizeof(sub), d, "keys");
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	tu_path(p, sizeof(p), sub, "cache");
	tu_write(p, "old", 3, 0600);
	buf_init(&b, 64);
	ck_assert_int_eq(privfile_check_dir(p, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(privfile_load(p, &b, &st), PS_OK);
	buf_reset(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(chmod(sub, bad[i]), 0);
		ck_assert_int_eq(privfile_load(p, &b, &st), PS_ERR_PERM);
		ck_assert_int_eq(st.fault, PRIVFILE_DIR_MODE);
		ck_assert_uint_eq(st.mode, bad[i]);
		ck_assert_uint_eq(b.len, 0);
		ck_assert_int_eq(privfile_read(p, &b, why, sizeof(why)),
		    PS_ERR_PERM);
		ck_assert_ptr_nonnull(strstr(why, "its directory"));
		ck_assert_int_eq(privfile_check_dir(p, why, sizeof(why)),
		    PS_ERR_PERM);
		ck_assert_ptr_nonnull(strstr(why, "chmod go-w"));
		ck_assert_int_eq(privfile_replace(p, "new", 3, why,
		    sizeof(why)), PS_ERR_PERM);
		ck_assert_ptr_nonnull(strstr(why, "its directory"));
		/* The old file, and nothing else. */
		ck_assert_int_eq(tu_dir_entries(sub), 1);
	}
	/* Read and execute for all are fine. */
	ck_assert_int_eq(chmod(sub, 0755), 0);
	ck_assert_int_eq(privfile_replace(p, "new", 3, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(privfile_load(p, &b, &st), PS_OK);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_mem_eq(b.p, "new", 3);
	buf_reset(&b);
	/* /tmp itself is world-writable (sticky): a file right in it is
	 * refused. */
	ck_assert_int_eq(privfile_check_dir("/tmp/x", why, sizeof(why)),
	    PS_ERR_PERM);
	/* A relative path names a file in ".". */
	ck_assert_int_eq(privfile_check_dir("no-slash", why, sizeof(why)) ==
	    PS_OK || privfile_check_dir("no-slash", why, sizeof(why)) ==
	    PS_ERR_PERM, 1);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(sub, 65534, 65534), 0);
		ck_assert_int_eq(privfile_load(p, &b, &st), PS_ERR_PERM);
		ck_assert_int_eq(st.fault, PRIVFILE_DIR_OWNER);
		ck_assert_uint_eq(st.uid, 65534);
		ck_assert_int_eq(privfile_replace(p, "x", 1, why, sizeof(why)),
		    PS_ERR_PERM);
	}
	buf_free(&b);
	tu_rmdir(d);
}
END_TEST

START_TEST(read_large_file_whole)
{
	char *d = tu_tmpdir(), p[256], why[128];
	size_t n = 3 * 4096 + 17, i;
	char *text = malloc(n);
	struct buf b;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < n; i++)
		text[i] = (char)('a' + i % 26);
	tu_path(p, sizeof(p), d, "f");
	tu_write(p, text, n, 0600);
	buf_init(&b, n);
	ck_assert_int_eq(privfile_read(p, &b, why, sizeof(why)), PS_OK);
	ck_assert_uint_eq(b.len, n);
	ck_assert_mem_eq(b.p, text, n);
	/* A NUL can follow: the buffer kept its byte for it. */
	ck_assert_ptr_nonnull(buf_cstr(&b));
	buf_free(&b);
	free(text);
	tu_rmdir(d);
}
END_TEST

START_TEST(check_fd_rule)
{
	char *d = tu_tmpdir(), p[256], why[128];
	int fd;

	tu_path(p, sizeof(p), d, "f");
	tu_write(p, "x", 1, 0600);
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(privfile_check_fd(fd, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(fchmod(fd, 0604), 0);
	ck_assert_int_eq(privfile_check_fd(fd, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "group or others have access (want mode 0600)");
	ck_assert_int_eq(privfile_check_fd(fd, NULL, 0), PS_ERR_PERM);
	close(fd);
	ck_assert_int_eq(privfile_check_fd(fd, why, sizeof(why)), PS_ERR_IO);
	ck_assert_str_eq(why, "cannot stat the file");
	fd = open(d, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(privfile_check_fd(fd, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "not a regular file");
	close(fd);
	tu_rmdir(d);
}
END_TEST

START_TEST(stamp_tells_a_change)
{
	char *d = tu_tmpdir(), p[256], q[256];
	struct privfile_stamp a, b, c;

	tu_path(p, sizeof(p), d, "f");
	tu_path(q, sizeof(q), d, "g");
	/* Missing twice: the same state, not a change. */
	privfile_stamp(p, &a);
	privfile_stamp(p, &b);
	ck_assert_int_eq(a.err, ENOENT);
	ck_assert(privfile_stamp_equal(&a, &b));
	tu_put(p, "one", 3, 0600);
	privfile_stamp(p, &b);
	ck_assert_int_eq(b.err, 0);
	ck_assert(!privfile_stamp_equal(&a, &b));
	ck_assert(!privfile_stamp_equal(&b, &a));
	privfile_stamp(p, &c);
	ck_assert(privfile_stamp_equal(&b, &c));
	/* Replaced with the same size: another inode. */
	tu_put(p, "two", 3, 0600);
	privfile_stamp(p, &c);
	ck_assert(!privfile_stamp_equal(&b, &c));
	/* A chmod changes the ctime only. */
	privfile_stamp(p, &b);
	ck_assert_int_eq(chmod(p, 0644), 0);
	privfile_stamp(p, &c);
	ck_assert_int_eq(b.ino, c.ino);
	if (b.ctim.tv_sec != c.ctim.tv_sec || b.ctim.tv_nsec != c.ctim.tv_nsec)
		ck_assert(!privfile_stamp_equal(&b, &c));
	/* Another file, and two different failures. */
	tu_put(q, "two", 3, 0600);
	privfile_stamp(q, &c);
	ck_assert(!privfile_stamp_equal(&b, &c));
	tu_path(q, sizeof(q), p, "below-a-file");
	privfile_stamp(q, &c);
	ck_assert_int_eq(c.err, ENOTDIR);
	ck_assert(!privfile_stamp_equal(&a, &c));
	tu_rmdir(d);
}
END_TEST

START_TEST(replace_whole)
{
	char *d = tu_tmpdir(), p[256], cwd[PATH_MAX], why[256];
	struct stat st;
	mode_t old;
	char *got;
	size_t len;

	tu_path(p, sizeof(p), d, "f");
	/* New, then over the old one; mode 0600 whatever the umask. */
	old = umask(0277);
	ck_assert_int_eq(privfile_replace(p, "first", 5, why, sizeof(why)),
	    PS_OK);
	umask(old);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_int_eq(chmod(p, 0644), 0);
	ck_assert_int_eq(privfile_replace(p, "second\0x", 8, why, sizeof(why)),
	    PS_OK);
	got = tu_slurp(p, &len);
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(got, "second\0x", 8);
	free(got);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(privfile_replace(p, NULL, 0, NULL, 0), PS_OK);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(tu_dir_entries(d), 1);
	/* A path without a directory part is in the current one. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(d), 0);
	ck_assert_int_eq(privfile_replace("rel", "r", 1, why, sizeof(why)),
	    PS_OK);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(tu_dir_entries(d), 2);

	ck_assert_int_eq(privfile_replace(NULL, "x", 1, why, sizeof(why)),
	    PS_ERR_ARG);
	ck_assert_int_eq(privfile_replace("", "x", 1, why, sizeof(why)),
	    PS_ERR_ARG);
	snprintf(p, sizeof(p), "%s/", d);
	ck_assert_int_eq(privfile_replace(p, "x", 1, why, sizeof(why)),
	    PS_ERR_ARG);
	tu_path(p, sizeof(p), d, "f");
	ck_assert_int_eq(privfile_replace(p, NULL, 1, why, sizeof(why)),
	    PS_ERR_ARG);
	ck_assert_int_eq(tu_dir_entries(d), 2);
	tu_rmdir(d);
}
END_TEST

START_TEST(replace_failures_keep_the_old_file)
{
	char *d = tu_tmpdir(), p[256], q[256], why[256];
	struct stat st;
	char *got;

	/* No such directory: nothing made anywhere. */
	tu_path(p, sizeof(p), d, "none/f");
	ck_assert_int_eq(privfile_replace(p, "x", 1, why, sizeof(why)),
	    PS_ERR_IO);
	ck_assert_str_eq(why, "cannot open its directory: No such file "
	    "or directory");
	ck_assert_int_eq(tu_dir_entries(d), 0);
	/* A directory in the way: the rename fails after a full write, and
	 * the temporary file goes. */
	tu_path(p, sizeof(p), d, "f");
	ck_assert_int_eq(mkdir(p, 0700), 0);
	tu_path(q, sizeof(q), p, "inner");
	tu_put(q, "x", 1, 0600);
	ck_assert_int_eq(privfile_replace(p, "new", 3, why, sizeof(why)),
	    PS_ERR_IO);
	ck_assert_str_eq(why, "cannot rename the temporary file over it: Is "
	    "a directory");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(tu_dir_entries(d), 1);
	ck_assert_int_eq(tu_dir_entries(p), 1);
	/* An unwritable directory (root writes anyway). */
	tu_path(p, sizeof(p), d, "g");
	tu_put(p, "old", 3, 0600);
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(d, 0500), 0);
		ck_assert_int_eq(privfile_replace(p, "new", 3, why,
		    sizeof(why)), PS_ERR_IO);
		ck_assert_int_eq(chmod(d, 0700), 0);
		got = tu_slurp(p, NULL);
		ck_assert_str_eq(got, "old");
		free(got);
	}
	ck_assert_int_eq(tu_dir_entries(d), 2);
	tu_rmdir(d);
}
END_TEST

START_TEST(replace_full_disk)
{
	char *d = tu_tmpdir(), p[256];
	static char big[4096];
	pid_t pid;
	char *got;
	int st;

	tu_path(p, sizeof(p), d, "f");
	tu_put(p, "old", 3, 0600);
	memset(big, 'n', sizeof(big));
	/* A file size limit makes write() fail with EFBIG part way, like a
	 * full disk; it binds root too.  In a child, so the limit does not
	 * outlive the test. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {512, 512};
		char why[256];
		pserr rc;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(99);
		rc = privfile_replace(p, big, sizeof(big), why, sizeof(why));
		if (rc == PS_ERR_IO && strcmp(why, "cannot write the temporary "
		    "file: File too large") != 0)
			_exit(98);
		_exit(rc);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), PS_ERR_IO);
	got = tu_slurp(p, NULL);
	ck_assert_str_eq(got, "old");
	free(got);
	ck_assert_int_eq(tu_dir_entries(d), 1);
	tu_rmdir(d);
}
END_TEST

START_TEST(reader_sees_old_or_new)
{
	char *d = tu_tmpdir(), p[256], why[128];
	static char a[3000], b[9000];
	int st = 0, i, bad = 0, done = 0;
	long reads;
	struct buf r;
	pid_t pid;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	tu_path(p, sizeof(p), d, "f");
	tu_put(p, a, sizeof(a), 0600);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 300; i++)
			if (privfile_replace(p, i % 2 ? a : b, i % 2 ?
			    sizeof(a) : sizeof(b), NULL, 0) != PS_OK)
				_exit(1);
		_exit(0);
	}
	buf_init(&r, sizeof(b));
	for (reads = 0; reads < 200000 && !done && !bad; reads++) {
		buf_reset(&r);
		if (privfile_read(p, &r, why, sizeof(why)) != PS_OK)
			bad = 1;
		else if (!(r.len == sizeof(a) && memcmp(r.p, a, r.len) == 0) &&
		    !(r.len == sizeof(b) && memcmp(r.p, b, r.len) == 0))
			bad = 2;
		done = waitpid(pid, &st, WNOHANG) == pid;
	}
	if (!done) {
		if (bad)
			kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
	buf_free(&r);
	ck_assert_msg(bad != 1, "read %ld failed: %s", reads, why);
	ck_assert_msg(bad != 2, "read %ld saw a file never written", reads);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(tu_dir_entries(d), 1);
	tu_rmdir(d);
}
END_TEST

START_TEST(create_failures)
{
	char *d = tu_tmpdir(), p[256];

	tu_path(p, sizeof(p), d, "none/k");
	ck_assert_int_eq(privfile_create(p, "x", 1), PS_ERR_IO);
	ck_assert_int_eq(tu_dir_entries(d), 0);
	tu_rmdir(d);
}
END_TEST

static Suite *
privfile_suite(void)
{
	Suite *s = suite_create("privfile");
	TCase *t = tcase_create("core");
	TCase *w = tcase_create("write");

	tcase_add_test(t, read_private);
	tcase_add_test(t, refusals);
	tcase_add_test(t, load_says_what_was_wrong);
	tcase_add_test(t, directory_rule);
	tcase_add_test(t, read_large_file_whole);
	tcase_add_test(t, check_fd_rule);
	tcase_add_test(t, stamp_tells_a_change);
	tcase_add_test(w, create_exclusive);
	tcase_add_test(w, create_failures);
	tcase_add_test(w, replace_whole);
	tcase_add_test(w, replace_failures_keep_the_old_file);
	tcase_add_test(w, replace_full_disk);
	tcase_add_test(w, reader_sees_old_or_new);
	/* Not a timed assertion: a guard against a hang, generous for
	 * sanitizer builds. */
	tcase_set_timeout(w, 120);
	suite_add_tcase(s, t);
	suite_add_tcase(s, w);
	return s;
}

int
main(void)
{
	return tu_run(privfile_suite());
}
