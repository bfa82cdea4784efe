/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/conffile.c: the configuration file's lines
 * (key = value, key value, flags, quotes, comments), its errors naming
 * file and line, and conffile_getopt: the file's options before the
 * command line's, the command line winning, operands, --version.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "core/conffile.h"
#include "core/pserr.h"
#include "testutil.h"

enum { O_BODY = 0x300, O_UP, O_ONCE, O_MEAS, O_OPT };

static const struct option opts[] = {
	CONFFILE_LONG_OPTIONS,
	{"max-body", required_argument, NULL, O_BODY},
	{"upstream", required_argument, NULL, O_UP},
	{"once", no_argument, NULL, O_ONCE},
	{"measurement", required_argument, NULL, O_MEAS},
	{"maybe", optional_argument, NULL, O_OPT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}
};

static char *dir;
static char path[512];

static void
setup(void)
{
	dir = tu_tmpdir();
	tu_path(path, sizeof(path), dir, "test.conf");
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static void
put(const char *text)
{
	tu_put_text(path, text, 0644);
}

START_TEST(lines)
{
	struct conffile_args a;
	char why[256] = "";

	put("# a comment\n"
	    "\n"
	    "   max-body = 512K\n"
	    "upstream unix:/run/x.sock   # trailing comment\n"
	    "once\n"
	    "measurement=\"ab#c d\"\n"
	    "maybe\n"
	    "maybe = v\n"
	    "upstream = http://h/p#frag\n"
	    "\tonce = true\r\n"
	    "once = false\n"
	    "measurement   last");
	ck_assert_int_eq(conffile_read(path, opts, NULL, &a, why,
	    sizeof(why)), PS_OK);
	ck_assert_uint_eq(a.n, 9);
	ck_assert_str_eq(a.argv[0], "--max-body=512K");
	ck_assert_uint_eq(a.line[0], 3);
	ck_assert_str_eq(a.argv[1], "--upstream=unix:/run/x.sock");
	ck_assert_uint_eq(a.line[1], 4);
	ck_assert_str_eq(a.argv[2], "--once");
	ck_assert_str_eq(a.argv[3], "--measurement=ab#c d");
	ck_assert_str_eq(a.argv[4], "--maybe");
	ck_assert_str_eq(a.argv[5], "--maybe=v");
	ck_assert_str_eq(a.argv[6], "--upstream=http://h/p#frag");
	ck_assert_str_eq(a.argv[7], "--once");
	ck_assert_uint_eq(a.line[7], 10);
	ck_assert_str_eq(a.argv[8], "--measurement=last");
	ck_assert_uint_eq(a.line[8], 12);
	conffile_args_free(&a);
	ck_assert_uint_eq(a.n, 0);
}
END_TEST

/* Options the command line names are left out of the file's. */
START_TEST(skip)
{
	static const unsigned char sk[9] = {0, 0, 1, 0, 0, 0, 0, 0, 0};
	struct conffile_args a;
	char why[256] = "";

	put("max-body 1K\nupstream x\nmeasurement m\n");
	ck_assert_int_eq(conffile_read(path, opts, sk, &a, why,
	    sizeof(why)), PS_OK);
	/* sk[2] is max-body (index 2 after config and version). */
	ck_assert_uint_eq(a.n, 2);
	ck_assert_str_eq(a.argv[0], "--upstream=x");
	ck_assert_str_eq(a.argv[1], "--measurement=m");
	conffile_args_free(&a);
}
END_TEST

static const struct {
	const char *text;
	const char *why;
} bad[] = {
	{"max-body 1K\nno-such = 1\n", ":2: unknown key \"no-such\""},
	{"max-bod = 1\n", ":1: unknown key \"max-bod\""},
	{"config = /etc/x\n", ":1: unknown key \"config\""},
	{"help\n", ":1: unknown key \"help\""},
	{"version\n", ":1: unknown key \"version\""},
	{"\n\nupstream\n", ":3: upstream wants a value"},
	{"upstream =\n", ":1: upstream wants a value"},
	{"once = yes\n", ":1: once is a flag: true or false"},
	{"upstream \"abc\n", ":1: no closing quote"},
	{"upstream \"abc\" d\n", ":1: text after the quoted value"},
};

START_TEST(bad_lines)
{
	struct conffile_args a = {NULL, NULL, 7};
	char why[256] = "", want[700];

	put(bad[_i].text);
	ck_assert_int_eq(conffile_read(path, opts, NULL, &a, why,
	    sizeof(why)), PS_ERR_ARG);
	snprintf(want, sizeof(want), "%s%s", path, bad[_i].why);
	ck_assert_str_eq(why, want);
}
END_TEST

/* A NUL byte in a line is refused, wherever the line is: it used to end
 * the line unseen (the last line's rest was dropped, another line was
 * called too long). */
START_TEST(nul_byte)
{
	static const char last[] = "once\nupstream unix:/a\0/evil";
	static const char mid[] = "upstream unix:/a\0b\nonce\n";
	struct conffile_args a = {NULL, NULL, 0};
	char why[256] = "", want[600];

	tu_write(path, last, sizeof(last) - 1, 0644);
	ck_assert_int_eq(conffile_read(path, opts, NULL, &a, why,
	    sizeof(why)), PS_ERR_ARG);
	snprintf(want, sizeof(want), "%s:2: a NUL byte", path);
	ck_assert_str_eq(why, want);
	ck_assert_uint_eq(a.n, 0);
	tu_write(path, mid, sizeof(mid) - 1, 0644);
	ck_assert_int_eq(conffile_read(path, opts, NULL, &a, why,
	    sizeof(why)), PS_ERR_ARG);
	snprintf(want, sizeof(want), "%s:1: a NUL byte", path);
	ck_assert_str_eq(why, want);
}
END_TEST

START_TEST(bad_files)
{
	struct conffile_args a;
	char why[256] = "", *big;
	size_t i;

	ck_assert_int_eq(conffile_read("/nonexistent/x.conf", opts, NULL, &a,
	    why, sizeof(why)), PS_ERR_IO);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/x.conf: "));
	big = malloc(5000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	put(big);
	ck_assert_int_eq(conffile_read(path, opts, NULL, &a, why,
	    sizeof(why)), PS_ERR_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(why, ":1: longer than"));
	free(big);
	big = malloc(70000);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i + 8 < 70000; i += 8)
		memcpy(big + i, "#......\n", 8);
	big[i] = '\0';
	put(big);
	ck_assert_int_eq(conffile_read(path, opts, NULL, &a, why,
	    sizeof(why)), PS_ERR_TOO_LARGE);
	free(big);
}
END_TEST

/* The option loop of a program, recording what it saw. */
struct seen {
	char body[64], up[64], meas[4][64];
	int once, nmeas, help;
	int rc;
};

static void
loop(int argc, char **argv, struct seen *s)
{
	int opt;

	memset(s, 0, sizeof(*s));
	while ((opt = conffile_getopt(argc, argv, "h", opts)) != -1) {
		switch (opt) {
		case O_BODY:
			snprintf(s->body, sizeof(s->body), "%s", optarg);
			break;
		case O_UP:
			snprintf(s->up, sizeof(s->up), "%s", optarg);
			break;
		case O_ONCE:
			s->once++;
			break;
		case O_MEAS:
			ck_assert_int_lt(s->nmeas, 4);
			snprintf(s->meas[s->nmeas++], 64, "%s", optarg);
			break;
		case 'h':
			s->help = 1;
			break;
		default:
			s->rc = 2;
			return;
		}
	}
}

START_TEST(getopt_file_then_command_line)
{
	char *argv[] = {"prog", "--max-body", "2K", "operand", "--config",
	    path, "--measurement=c1", NULL};
	struct seen s;

	put("max-body = 1K\nupstream = unix:/x\nonce\n"
	    "measurement = f1\nmeasurement = f2\n");
	loop(7, argv, &s);
	ck_assert_int_eq(s.rc, 0);
	/* The command line wins, for a repeatable option too. */
	ck_assert_str_eq(s.body, "2K");
	ck_assert_str_eq(s.up, "unix:/x");
	ck_assert_int_eq(s.once, 1);
	ck_assert_int_eq(s.nmeas, 1);
	ck_assert_str_eq(s.meas[0], "c1");
	/* The operand, as getopt_long would leave it. */
	ck_assert_int_eq(optind, 6);
	ck_assert_str_eq(argv[optind], "operand");
}
END_TEST

START_TEST(getopt_without_file)
{
	char *argv[] = {"prog", "--upstream=u", "--once", NULL};
	struct seen s;

	loop(3, argv, &s);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_str_eq(s.up, "u");
	ck_assert_int_eq(s.once, 1);
	ck_assert_int_eq(optind, 3);
}
END_TEST

START_TEST(getopt_bad_file)
{
	char *argv[] = {"prog", "--config", path, NULL};
	struct seen s;

	put("nope\n");
	loop(3, argv, &s);
	ck_assert_int_eq(s.rc, 2);
}
END_TEST

START_TEST(getopt_twice)
{
	char *argv[] = {"prog", "--config", path, "--config", path, NULL};
	struct seen s;

	put("once\n");
	loop(5, argv, &s);
	ck_assert_int_eq(s.rc, 2);
}
END_TEST

/* Run a loop in a child with stderr to a file; its status and stderr. */
static int
child(int argc, char **argv, const char *errpath, int exit_on_body)
{
	pid_t pid;
	int st, opt;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ck_assert_ptr_nonnull(freopen(errpath, "w", stderr));
		ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
		while ((opt = conffile_getopt(argc, argv, "h", opts)) != -1)
			if (opt == O_BODY && exit_on_body) {
				fprintf(stderr, "--max-body wants a size\n");
				exit(2);
			}
		exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(bad_value_names_line)
{
	char *argv[] = {"/usr/bin/promptseal-x", "--config", path, NULL};
	char errpath[600], want[700], *err;
	size_t n;

	tu_path(errpath, sizeof(errpath), dir, "err");
	put("# c\nonce\nmax-body = lots\n");
	ck_assert_int_eq(child(3, argv, errpath, 1), 2);
	err = tu_slurp(errpath, &n);
	snprintf(want, sizeof(want), "--max-body wants a size\n"
	    "promptseal-x: %s:3: bad value for max-body\n", path);
	ck_assert_str_eq(err, want);
	free(err);
}
END_TEST

START_TEST(bad_value_on_command_line)
{
	char *argv[] = {"promptseal-x", "--config", path, "--max-body=x",
	    NULL};
	char errpath[600], *err;
	size_t n;

	tu_path(errpath, sizeof(errpath), dir, "err");
	put("once\n");
	ck_assert_int_eq(child(4, argv, errpath, 1), 2);
	err = tu_slurp(errpath, &n);
	ck_assert_str_eq(err, "--max-body wants a size\n");
	free(err);
}
END_TEST

START_TEST(version)
{
	char *argv[] = {"/x/lt-promptseal-y", "--once", "--version", NULL};
	char outpath[600], want[128], *out;
	size_t n;
	pid_t pid;
	int st;

	tu_path(outpath, sizeof(outpath), dir, "out");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ck_assert_ptr_nonnull(freopen(outpath, "w", stdout));
		while (conffile_getopt(3, argv, "h", opts) != -1)
			;
		exit(3);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	out = tu_slurp(outpath, &n);
	snprintf(want, sizeof(want), "promptseal-y %s\n", PACKAGE_VERSION);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

static Suite *
conffile_suite(void)
{
	Suite *s = suite_create("conffile");
	TCase *tc = tcase_create("read");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lines);
	tcase_add_test(tc, skip);
	tcase_add_loop_test(tc, bad_lines, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, bad_files);
	tcase_add_test(tc, nul_byte);
	suite_add_tcase(s, tc);
	tc = tcase_create("getopt");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, getopt_file_then_command_line);
	tcase_add_test(tc, getopt_without_file);
	tcase_add_test(tc, getopt_bad_file);
	tcase_add_test(tc, getopt_twice);
	tcase_add_test(tc, bad_value_names_line);
	tcase_add_test(tc, bad_value_on_command_line);
	tcase_add_test(tc, version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(conffile_suite());
}
