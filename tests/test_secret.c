/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/secret.c: wiping, constant-time comparison, random
 * bytes, sorting without scratch copies, and nonces from the per-thread
 * reserve.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "core/pserr.h"
#include "core/secret.h"

START_TEST(test_secret_equal)
{
	uint8_t a[32], b[32];
	size_t i;

	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(secret_equal(a, b, sizeof(a)), 1);
	ck_assert_int_eq(secret_equal(a, b, 0), 1);
	for (i = 0; i < 8 * sizeof(a); i++) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_int_eq(secret_equal(a, b, sizeof(a)), 0);
		ck_assert_int_eq(secret_equal(b, a, sizeof(a)), 0);
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Only the first n bytes count. */
	b[31] ^= 1;
	ck_assert_int_eq(secret_equal(a, b, 31), 1);
	ck_assert_int_eq(secret_equal(a, b, 32), 0);
}
END_TEST

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

START_TEST(test_secret_random)
{
	uint8_t a[32] = {0}, b[32] = {0};
	const size_t big = (1u << 20) * 2 + 33;
	uint8_t *p;
	size_t i;

	ck_assert_int_eq(secret_random(a, sizeof(a)), PS_OK);
	ck_assert_int_eq(secret_random(b, sizeof(b)), PS_OK);
	ck_assert(!all_zero(a, sizeof(a)));
	ck_assert(!all_zero(b, sizeof(b)));
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
	ck_assert_int_eq(secret_random(a, 0), PS_OK);

	/* Larger than one draw: every piece, including the tail, is filled. */
	p = calloc(1, big);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(secret_random(p, big), PS_OK);
	for (i = 0; i + 64 <= big; i += 1u << 19)
		ck_assert(!all_zero(p + i, 64));
	ck_assert(!all_zero(p + big - 32, 32));
	free(p);
}
END_TEST

START_TEST(test_secret_wipe)
{
	uint8_t a[16];
	uint8_t *p;

	memset(a, 0xaa, sizeof(a));
	secret_wipe(a + 4, 8);
	ck_assert_mem_eq(a, "\xaa\xaa\xaa\xaa\0\0\0\0\0\0\0\0\xaa\xaa\xaa\xaa",
	    16);
	secret_wipe(NULL, 0);
	secret_wipe(a, 0);
	ck_assert_uint_eq(a[0], 0xaa);
	secret_free(NULL, 0);
	secret_free(NULL, 16);
	p = malloc(16);
	ck_assert_ptr_nonnull(p);
	memset(p, 1, 16);
	secret_free(p, 16);
}
END_TEST

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

#define SORT_SIZE 40

/* Orders on the first two bytes only, so that ties abound. */
static int
cmp_head(const void *a, const void *b)
{
	return memcmp(a, b, 2);
}

static int
cmp_all(const void *a, const void *b)
{
	return memcmp(a, b, SORT_SIZE);
}

/* secret_sort orders as qsort does, and only permutes: every element
 * comes out whole, none lost or doubled. */
START_TEST(test_secret_sort)
{
	static const size_t ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 100,
	    1000};
	size_t i, k, n;
	uint8_t *a, *b;

	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		n = ns[k];
		a = malloc(n * SORT_SIZE + 1);
		b = malloc(n * SORT_SIZE + 1);
		ck_assert(a != NULL && b != NULL);
		ck_assert_int_eq(secret_random(a, n * SORT_SIZE + 1), PS_OK);
		for (i = 0; i < n; i++)
			a[i * SORT_SIZE] &= 0x03;  /* few distinct heads */
		memcpy(b, a, n * SORT_SIZE + 1);
		secret_sort(a, n, SORT_SIZE, cmp_head);
		for (i = 1; i < n; i++)
			ck_assert_int_le(cmp_head(a + (i - 1) * SORT_SIZE,
			    a + i * SORT_SIZE), 0);
		ck_assert_uint_eq(a[n * SORT_SIZE], b[n * SORT_SIZE]);
		/* The same elements: in a total order, the same bytes. */
		secret_sort(a, n, SORT_SIZE, cmp_all);
		qsort(b, n, SORT_SIZE, cmp_all);
		ck_assert(n == 0 || memcmp(a, b, n * SORT_SIZE) == 0);
		free(a);
		free(b);
	}
}
END_TEST

/* In a child of its own: no core files, for good, and not dumpable. */
START_TEST(test_secret_no_dumps)
{
	struct rlimit rl, more = {1 << 20, 1 << 20};
	pid_t pid;
	int st;

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		if (secret_no_dumps() != PS_OK ||
		    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 ||
		    getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 ||
		    rl.rlim_max != 0 ||
		    /* Nobody raises it again without privilege. */
		    (geteuid() != 0 && setrlimit(RLIMIT_CORE, &more) == 0))
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(test_secret_nonce)
{
	enum { N = 1000 };
	static uint8_t n[N][16];
	uint8_t big[SECRET_NONCE_MAX + 1];
	size_t i;

	ck_assert_uint_eq(secret_nonce_refills(), 0);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(secret_nonce(n[i], 16), PS_OK);
	/* One RAND_bytes per SECRET_RESERVE bytes, not one per nonce. */
	ck_assert_uint_eq(secret_nonce_refills(),
	    (N * 16 + SECRET_RESERVE - 1) / SECRET_RESERVE);
	/* No nonce handed out twice. */
	qsort(n, N, 16, cmp16);
	for (i = 1; i < N; i++)
		ck_assert_int_ne(memcmp(n[i - 1], n[i], 16), 0);
	ck_assert_int_eq(secret_nonce(big, 0), PS_ERR_ARG);
	ck_assert_int_eq(secret_nonce(big, sizeof(big)), PS_ERR_ARG);
	ck_assert_int_eq(secret_nonce(NULL, 16), PS_ERR_ARG);
	ck_assert_int_eq(secret_nonce(big, SECRET_NONCE_MAX), PS_OK);
}
END_TEST

static void *
other_thread(void *arg)
{
	unsigned long *refills = arg;
	uint8_t a[16];

	refills[0] = secret_nonce_refills();
	if (secret_nonce(a, sizeof(a)) != PS_OK)
		refills[0] = 99;
	refills[1] = secret_nonce_refills();
	return NULL;
}

START_TEST(test_secret_nonce_threads_and_fork)
{
	uint8_t a[16], mine[16], child[16];
	unsigned long refills[2];
	pthread_t t;
	int fds[2], st;
	pid_t pid;

	ck_assert_int_eq(secret_nonce(a, sizeof(a)), PS_OK);
	/* Another thread starts with a reserve of its own. */
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, refills), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(refills[0], 0);
	ck_assert_uint_eq(refills[1], 1);
	/* A child after fork() does not hand out what the parent will. */
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		if (secret_nonce(child, sizeof(child)) != PS_OK ||
		    write(fds[1], child, sizeof(child)) != sizeof(child))
			_exit(1);
		_exit(secret_nonce_refills() == 2 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(read(fds[0], child, sizeof(child)), sizeof(child));
	ck_assert_int_eq(secret_nonce(mine, sizeof(mine)), PS_OK);
	ck_assert_int_ne(memcmp(mine, child, sizeof(mine)), 0);
	ck_assert_uint_eq(secret_nonce_refills(), 1);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("secret");

	tcase_add_test(tc, test_secret_equal);
	tcase_add_test(tc, test_secret_random);
	tcase_add_test(tc, test_secret_wipe);
	tcase_add_test(tc, test_secret_sort);
	tcase_add_test(tc, test_secret_no_dumps);
	tcase_add_test(tc, test_secret_nonce);
	tcase_add_test(tc, test_secret_nonce_threads_and_fork);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(secret_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
