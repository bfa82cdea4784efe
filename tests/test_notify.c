/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the worker's "fetch now" to keysync: the datagram, the
 * socket keysync listens on, and what neither may do (block, or replace
 * a file that is not a socket).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "keys/notify.h"
#include "testutil.h"

static char *dir;
static char sock[256];

static void
setup(void)
{
	dir = tu_tmpdir();
	tu_path(sock, sizeof(sock), dir, "notify.sock");
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

START_TEST(send_open_drain)
{
	struct stat st;
	char longp[200];
	int fd = -1, i;

	/* Nobody listens yet. */
	ck_assert_int_eq(notify_send(sock), PS_ERR_IO);
	ck_assert_int_eq(notify_open(sock, &fd), PS_OK);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(notify_drain(fd), 0);
	ck_assert_int_eq(notify_send(sock), PS_OK);
	ck_assert_int_eq(notify_send(sock), PS_OK);
	ck_assert_int_eq(notify_drain(fd), 2);
	ck_assert_int_eq(notify_drain(fd), 0);
	/* A full queue does not block the worker, nor fail it. */
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(notify_send(sock), PS_OK);
	ck_assert_int_gt(notify_drain(fd), 0);
	close(fd);
	/* The socket file left behind is replaced by the next keysync. */
	ck_assert_int_eq(notify_open(sock, &fd), PS_OK);
	ck_assert_int_eq(notify_send(sock), PS_OK);
	ck_assert_int_eq(notify_drain(fd), 1);
	close(fd);
	/* But no other kind of file is. */
	unlink(sock);
	tu_write(sock, "x", 1, 0600);
	ck_assert_int_eq(notify_open(sock, &fd), PS_ERR_EXISTS);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ck_assert_int_eq(notify_send(longp), PS_ERR_ARG);
	ck_assert_int_eq(notify_send(NULL), PS_ERR_ARG);
}
END_TEST

START_TEST(arguments)
{
	int fd = -1;

	ck_assert_int_eq(notify_open(NULL, &fd), PS_ERR_ARG);
	ck_assert_int_eq(notify_open("", &fd), PS_ERR_ARG);
	ck_assert_int_eq(notify_send(""), PS_ERR_ARG);
	ck_assert_int_eq(fd, -1);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, send_open_drain);
	tcase_add_test(t, arguments);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(notify_suite());
}
