/* SPDX-License-Identifier: ISC */
/*
 * attest_sim: the sim report against the Python-made vector, every way a
 * report can be malformed or badly signed, the producer, the key files and
 * the measurement of files.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "attest/wrap.h"
#include "attest_kat.h"
#include "core/buf.h"
#include "core/caps.h"
#include "core/secret.h"
#include "testutil.h"

START_TEST(sim_report_kat)
{
	uint8_t *r, *want;
	size_t n, wn;

	r = make_report(&n);
	want = tu_hex(REPORT, &wn);
	ck_assert_uint_eq(n, wn);
	ck_assert_uint_eq(n, ATTEST_SIM_HDR_LEN + 48 + ATTEST_SIM_SIG_LEN);
	ck_assert_mem_eq(r, want, wn);
	free(r);
	free(want);
}
END_TEST

START_TEST(garbage_refused)
{
	enum attest_fail why;
	uint8_t junk[232];
	uint8_t *r;
	size_t n, i;

	memset(junk, 0x5a, sizeof(junk));
	ck_assert_int_eq(check(junk, sizeof(junk), &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MALFORMED);
	ck_assert_int_eq(check(junk, 0, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MALFORMED);
	r = tu_hex(REPORT, &n);
	/* Every truncation, one byte too many, a bad version or length. */
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(check(r, i, &why), PS_ERR_AUTH);
		ck_assert_int_eq(why, ATTEST_FAIL_MALFORMED);
	}
	r = realloc(r, n + 1);
	r[n] = 0;
	ck_assert_int_eq(check(r, n + 1, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MALFORMED);
	r[4] = 2;
	ck_assert_int_eq(check(r, n, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MALFORMED);
	r[4] = 1;
	r[5] = 31;
	ck_assert_int_eq(check(r, n, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MALFORMED);
	free(r);
}
END_TEST

START_TEST(unsigned_refused)
{
	enum attest_fail why;
	uint8_t *r;
	size_t n, i;

	r = make_report(&n);
	memset(r + n - 64, 0, 64);
	ck_assert_int_eq(check(r, n, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_SIGNATURE);
	free(r);
	/* A flipped bit in any signed byte after the key, or in the
	 * signature, breaks the signature. */
	r = make_report(&n);
	for (i = 40; i < n; i++) {
		r[i] ^= 0x01;
		ck_assert_int_eq(check(r, n, &why), PS_ERR_AUTH);
		ck_assert_int_eq(why, ATTEST_FAIL_SIGNATURE);
		r[i] ^= 0x01;
	}
	ck_assert_int_eq(check(r, n, &why), PS_OK);
	free(r);
}
END_TEST

START_TEST(other_platform_refused)
{
	uint8_t rd[64], opriv[32];
	struct attest_measurement m = meas;
	enum attest_fail why;
	struct buf b;

	/* A report signed by a platform key the AS does not trust. */
	ck_assert_int_eq(secret_random(opriv, 32), PS_OK);
	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	buf_init(&b, PS_CAP_EVIDENCE);
	ck_assert_int_eq(attest_sim_report(opriv, &m, rd, &b), PS_OK);
	ck_assert_int_eq(check((uint8_t *)b.p, b.len, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_UNTRUSTED_PLATFORM);
	/* ... that claims to come from the trusted key. */
	memcpy(b.p + 8, ppub, 32);
	ck_assert_int_eq(check((uint8_t *)b.p, b.len, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_SIGNATURE);
	buf_free(&b);
}
END_TEST

START_TEST(producer_round_trip)
{
	const struct attest_verifier *vs[] = {ver};
	struct attest_producer *p;
	enum attest_fail why;
	uint8_t wpriv[32], wpub[32], rd[64];
	struct buf ev;

	ck_assert_int_eq(wrap_keypair(wpriv, wpub), PS_OK);
	ck_assert_int_eq(attest_sim_producer_new(ppriv, &meas, &p), PS_OK);
	ck_assert_str_eq(p->format, "sim");
	ck_assert_int_eq(attest_report_data(challenge, 32, wpub, rd), PS_OK);
	buf_init(&ev, PS_CAP_EVIDENCE);
	ck_assert_int_eq(p->produce(p, rd, &ev), PS_OK);
	ck_assert_int_eq(attest_check(vs, 1, &allow, p->format,
	    (uint8_t *)ev.p, ev.len, challenge, 32, wpub, NULL, &why), PS_OK);
	buf_free(&ev);
	attest_producer_free(p);
}
END_TEST

START_TEST(keygen_and_load)
{
	char *d = tu_tmpdir(), priv[256], pub[256], pem[256], why[128];
	uint8_t k1[32], k2[32], pk[32], rd[64];
	struct attest_verifier *v;
	enum attest_fail f;
	struct stat st;
	struct buf ev;
	char cmd[600];

	snprintf(priv, sizeof(priv), "%s/platform.key", d);
	snprintf(pub, sizeof(pub), "%s/platform.pub", d);
	ck_assert_int_eq(attest_sim_keygen(priv, pub), PS_OK);
	ck_assert_int_eq(stat(priv, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(attest_sim_keygen(priv, pub), PS_ERR_EXISTS);
	ck_assert_int_eq(attest_sim_load_private(priv, k1, why, sizeof(why)),
	    PS_OK);
	ck_assert_int_eq(attest_sim_load_public(pub, pk, why, sizeof(why)),
	    PS_OK);
	/* The two files are one pair. */
	ck_assert_int_eq(attest_sim_verifier_new(&pk, 1, &v), PS_OK);
	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	buf_init(&ev, PS_CAP_EVIDENCE);
	ck_assert_int_eq(attest_sim_report(k1, &meas, rd, &ev), PS_OK);
	ck_assert_int_eq(v->verify(v, (uint8_t *)ev.p, ev.len, rd, &meas, &f),
	    PS_OK);
	buf_free(&ev);
	attest_verifier_free(v);
	/* A private key others can read is refused and the reason given. */
	ck_assert_int_eq(chmod(priv, 0640), 0);
	why[0] = 0;
	ck_assert_int_eq(attest_sim_load_private(priv, k2, why, sizeof(why)),
	    PS_ERR_PERM);
	ck_assert_ptr_nonnull(strstr(why, "0600"));
	/* A public key file is not a private key, and the reverse. */
	ck_assert_int_eq(chmod(pub, 0600), 0);
	ck_assert_int_eq(attest_sim_load_private(pub, k2, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_int_eq(chmod(priv, 0600), 0);
	ck_assert_int_eq(attest_sim_load_public(priv, k2, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	/* Keys made by the openssl command load too. */
	snprintf(pem, sizeof(pem), "%s/o.key", d);
	snprintf(cmd, sizeof(cmd), "umask 077 && openssl genpkey -algorithm "
	    "ed25519 -out '%s' 2>/dev/null", pem);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(attest_sim_load_private(pem, k2, why, sizeof(why)),
	    PS_OK);
	/* Not an Ed25519 key. */
	snprintf(cmd, sizeof(cmd), "umask 077 && openssl genpkey -algorithm "
	    "x25519 -out '%s/x.key' 2>/dev/null", d);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(pem, sizeof(pem), "%s/x.key", d);
	ck_assert_int_eq(attest_sim_load_private(pem, k2, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	snprintf(pem, sizeof(pem), "%s/missing.key", d);
	ck_assert_int_eq(attest_sim_load_private(pem, k2, why, sizeof(why)),
	    PS_ERR_NOT_FOUND);
	secret_wipe(k1, 32);
	secret_wipe(k2, 32);
	tu_rmdir(d);
}
END_TEST

START_TEST(measure_files_kat)
{
	char *d = tu_tmpdir(), a[256], b[256], c[256], *x;
	const char *paths[3] = {a, b, c};
	struct attest_measurement m;
	uint8_t *want;
	size_t n;

	snprintf(a, sizeof(a), "%s/a", d);
	snprintf(b, sizeof(b), "%s/b", d);
	snprintf(c, sizeof(c), "%s/c", d);
	x = malloc(20000);
	memset(x, 'x', 20000);
	tu_write(a, "abc", 3, 0644);
	tu_write(b, "", 0, 0644);
	tu_write(c, x, 20000, 0644);
	ck_assert_int_eq(attest_sim_measure_files(paths, 3, &m), PS_OK);
	want = tu_hex(MEASURE_FILES, &n);
	ck_assert_uint_eq(m.len, n);
	ck_assert_mem_eq(m.b, want, n);
	/* The order matters. */
	paths[0] = c;
	paths[2] = a;
	ck_assert_int_eq(attest_sim_measure_files(paths, 3, &m), PS_OK);
	ck_assert_int_ne(memcmp(m.b, want, n), 0);
	paths[1] = "/nonexistent/file";
	ck_assert_int_eq(attest_sim_measure_files(paths, 3, &m), PS_ERR_IO);
	free(want);
	free(x);
	tu_rmdir(d);
}
END_TEST

/* The private key file and a producer in one step; the key file's
 * problems come back with their reason. */
START_TEST(producer_load)
{
	const struct attest_verifier *vs[] = {ver};
	char *d = tu_tmpdir(), priv[256], pub[256], why[128] = "";
	struct attest_measurement short_m = meas;
	struct attest_producer *p = NULL;
	struct attest_verifier *v;
	uint8_t pk[32], rd[64];
	enum attest_fail f;
	struct buf ev;

	snprintf(priv, sizeof(priv), "%s/platform.key", d);
	snprintf(pub, sizeof(pub), "%s/platform.pub", d);
	ck_assert_int_eq(attest_sim_keygen(priv, pub), PS_OK);
	ck_assert_int_eq(attest_sim_producer_load(priv, &meas, &p, why,
	    sizeof(why)), PS_OK);
	ck_assert_str_eq(p->format, "sim");
	ck_assert_int_eq(attest_sim_load_public(pub, pk, why, sizeof(why)),
	    PS_OK);
	ck_assert_int_eq(attest_sim_verifier_new(&pk, 1, &v), PS_OK);
	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	buf_init(&ev, PS_CAP_EVIDENCE);
	ck_assert_int_eq(p->produce(p, rd, &ev), PS_OK);
	vs[0] = v;
	ck_assert_int_eq(attest_check(vs, 1, &allow, p->format,
	    (uint8_t *)ev.p, ev.len, challenge, 32, pubkey, NULL, &f), PS_OK);
	buf_free(&ev);
	attest_verifier_free(v);
	attest_producer_free(p);
	/* A key others can read, a file that is not a key, no file. */
	p = NULL;
	ck_assert_int_eq(chmod(priv, 0640), 0);
	ck_assert_int_eq(attest_sim_producer_load(priv, &meas, &p, why,
	    sizeof(why)), PS_ERR_PERM);
	ck_assert_ptr_nonnull(strstr(why, "0600"));
	ck_assert_int_eq(chmod(pub, 0600), 0);
	ck_assert_int_eq(attest_sim_producer_load(pub, &meas, &p, why,
	    sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "not an unencrypted PEM Ed25519 private key");
	ck_assert_int_eq(attest_sim_producer_load("/nonexistent/key", &meas,
	    &p, why, sizeof(why)), PS_ERR_NOT_FOUND);
	/* A measurement outside 32..48 bytes. */
	ck_assert_int_eq(chmod(priv, 0600), 0);
	short_m.len = 31;
	ck_assert_int_eq(attest_sim_producer_load(priv, &short_m, &p, why,
	    sizeof(why)), PS_ERR_ARG);
	ck_assert_ptr_null(p);
	tu_rmdir(d);
}
END_TEST

static Suite *
attest_sim_suite(void)
{
	Suite *s = suite_create("attest_sim");
	TCase *t = tcase_create("core");

	/* The fixture of the vectors: tests/attest_kat.h. */
	tcase_add_checked_fixture(t, kat_setup, kat_teardown);
	tcase_add_test(t, sim_report_kat);
	tcase_add_test(t, garbage_refused);
	tcase_add_test(t, unsigned_refused);
	tcase_add_test(t, other_platform_refused);
	tcase_add_test(t, producer_round_trip);
	tcase_add_test(t, keygen_and_load);
	tcase_add_test(t, measure_files_kat);
	tcase_add_test(t, producer_load);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(attest_sim_suite());
}
