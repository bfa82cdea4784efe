/*
 * Helpers shared by the Check suites: hex, private directories and files,
 * key entries, and main().
 */
#ifndef PROMPTSEAL_TESTUTIL_H
#define PROMPTSEAL_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "keys/keycache.h"

/* Decode lowercase hex into a malloc'd buffer; aborts the test on bad
 * input.  *n gets the length. */
static inline uint8_t *
tu_hex(const char *h, size_t *n)
{
	size_t len = strlen(h), i;
	uint8_t *p;

	ck_assert_uint_eq(len % 2, 0);
	p = malloc(len / 2 + 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len / 2; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		p[i] = (uint8_t)v;
	}
	*n = len / 2;
	return p;
}

/* A fresh private directory for one test (mode 0700).  Returns a malloc'd
 * path. */
static inline char *
tu_tmpdir(void)
{
	char *d = strdup("/tmp/ps-test-XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* rm -r of a directory made by tu_tmpdir (one level deep). */
static inline void
tu_rmdir(char *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	ck_assert_int_eq(system(cmd), 0);
	free(d);
}

/* Write n bytes to path with the given mode. */
static inline void
tu_write(const char *path, const void *p, size_t n, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A key entry: kid all k, secret all 0x80 | k. */
static inline struct keycache_entry
tu_entry(uint8_t k, int64_t expires)
{
	struct keycache_entry e;

	memset(e.kid, k, sizeof(e.kid));
	memset(e.secret, 0x80 | k, sizeof(e.secret));
	e.expires = expires;
	return e;
}

/* Run the suite: main()'s exit status. */
static inline int
tu_run(Suite *s)
{
	SRunner *r = srunner_create(s);
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
