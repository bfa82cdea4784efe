#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/buf.h"
#include "core/caps.h"
#include "core/secret.h"
#include "testutil.h"
#include "attest/wrap.h"

/* From tests/attest_vectors.py (python3-cryptography, hashlib). */
#define CHALLENGE "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define PUBKEY "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
#define REPORT_DATA "b4c18bceda2a0a6608a1c660320e7c3c3802116469fd1ea28d64710f18038747" \
	"64a8352b086f98cad8aab25eda4f7d386b1b35b53cc46ed08bdfb7f99849f501"
#define PLATFORM_PRIV "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
#define PLATFORM_PUB "1ce56a48c82ff99162a14bc544612674e5d61fb9317e65d4055780fdbcb4dc35"
#define MEASUREMENT "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" \
	"202122232425262728292a2b2c2d2e2f"
#define REPORT "5053494d013000001ce56a48c82ff99162a14bc544612674e5d61fb9317e65d4" \
	"055780fdbcb4dc35b4c18bceda2a0a6608a1c660320e7c3c3802116469fd1ea2" \
	"8d64710f1803874764a8352b086f98cad8aab25eda4f7d386b1b35b53cc46ed0" \
	"8bdfb7f99849f501000102030405060708090a0b0c0d0e0f101112131415161718" \
	"191a1b1c1d1e1f202122232425262728292a2b2c2d2e2ffed024eac4757c896537" \
	"9121d0116b21e88db77e9d5eee95817cfbd2f8bdf1cc39a3a615f84916a09649f8" \
	"35c10c1281a33b30097b6a7a6f50c5bc0d7aba790c"
#define MEASURE_FILES "5403a7108f6fc414fbc61cc36dd6311c1a21e2dfecdaf476a0020e5a9a96f5de" \
	"28a9df6056bc72ee855be3c403a4786f"

static uint8_t challenge[32], pubkey[32], ppriv[32], ppub[32];
static struct attest_measurement meas;
static struct attest_verifier *ver;
static struct attest_allowlist allow;

static void
fill(const char *hex, uint8_t *out, size_t want)
{
	uint8_t *p;
	size_t n;

	p = tu_hex(hex, &n);
	ck_assert_uint_eq(n, want);
	memcpy(out, p, n);
	free(p);
}

static void
setup(void)
{
	fill(CHALLENGE, challenge, 32);
	fill(PUBKEY, pubkey, 32);
	fill(PLATFORM_PRIV, ppriv, 32);
	fill(PLATFORM_PUB, ppub, 32);
	ck_assert_int_eq(attest_measurement_parse(MEASUREMENT,
	    strlen(MEASUREMENT), &meas), PS_OK);
	ck_assert_int_eq(attest_sim_verifier_new(&ppub, 1, &ver), PS_OK);
	memset(&allow, 0, sizeof(allow));
	ck_assert_int_eq(attest_allowlist_add(&allow, &meas), PS_OK);
}

static void
teardown(void)
{
	attest_verifier_free(ver);
	attest_allowlist_free(&allow);
}

/* The report the vectors describe, made by the C code. */
static uint8_t *
make_report(size_t *n)
{
	uint8_t rd[64], *r;
	struct buf b;

	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	buf_init(&b, PS_CAP_EVIDENCE);
	ck_assert_int_eq(attest_sim_report(ppriv, &meas, rd, &b), PS_OK);
	r = malloc(b.len);
	memcpy(r, b.p, b.len);
	*n = b.len;
	buf_free(&b);
	return r;
}

static pserr
check(const uint8_t *ev, size_t n, enum attest_fail *why)
{
	const struct attest_verifier *vs[] = {ver};

	return attest_check(vs, 1, &allow, "sim", ev, n, challenge, 32, pubkey,
	    NULL, why);
}

START_TEST(report_data_kat)
{
	uint8_t rd[64], want[64];

	fill(REPORT_DATA, want, 64);
	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	ck_assert_mem_eq(rd, want, 64);
}
END_TEST

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

START_TEST(good_evidence_accepted)
{
	const struct attest_verifier *vs[] = {ver};
	struct attest_measurement got;
	enum attest_fail why = ATTEST_FAIL_MALFORMED;
	uint8_t *r;
	size_t n;

	/* The python-made report, not only our own. */
	r = tu_hex(REPORT, &n);
	ck_assert_int_eq(attest_check(vs, 1, &allow, "sim", r, n, challenge, 32,
	    pubkey, &got, &why), PS_OK);
	ck_assert_int_eq(why, ATTEST_FAIL_NONE);
	ck_assert_uint_eq(got.len, 48);
	ck_assert_mem_eq(got.b, meas.b, 48);
	free(r);
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

START_TEST(wrong_measurement_refused)
{
	uint8_t rd[64];
	struct attest_measurement m = meas;
	enum attest_fail why;
	struct buf b;

	m.b[47] ^= 1;
	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	buf_init(&b, PS_CAP_EVIDENCE);
	ck_assert_int_eq(attest_sim_report(ppriv, &m, rd, &b), PS_OK);
	ck_assert_int_eq(check((uint8_t *)b.p, b.len, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MEASUREMENT);
	buf_reset(&b);
	/* A prefix of an allowed measurement is another measurement. */
	m = meas;
	m.len = 32;
	ck_assert_int_eq(attest_sim_report(ppriv, &m, rd, &b), PS_OK);
	ck_assert_int_eq(check((uint8_t *)b.p, b.len, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MEASUREMENT);
	buf_free(&b);
}
END_TEST

START_TEST(report_data_binding)
{
	const struct attest_verifier *vs[] = {ver};
	enum attest_fail why;
	uint8_t *r, other[32];
	size_t n;

	r = make_report(&n);
	/* Another challenge. */
	memcpy(other, challenge, 32);
	other[0] ^= 1;
	ck_assert_int_eq(attest_check(vs, 1, &allow, "sim", r, n, other, 32,
	    pubkey, NULL, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_REPORT_DATA);
	/* Another worker public key. */
	memcpy(other, pubkey, 32);
	other[31] ^= 0x80;
	ck_assert_int_eq(attest_check(vs, 1, &allow, "sim", r, n, challenge, 32,
	    other, NULL, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_REPORT_DATA);
	/* A shorter challenge. */
	ck_assert_int_eq(attest_check(vs, 1, &allow, "sim", r, n, challenge, 31,
	    pubkey, NULL, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_REPORT_DATA);
	free(r);
}
END_TEST

START_TEST(unknown_format_refused)
{
	const struct attest_verifier *vs[] = {ver};
	enum attest_fail why;
	uint8_t *r;
	size_t n;

	r = make_report(&n);
	ck_assert_int_eq(attest_check(vs, 1, &allow, "sev-snp", r, n, challenge,
	    32, pubkey, NULL, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_FORMAT);
	ck_assert_int_eq(attest_check(vs, 0, &allow, "sim", r, n, challenge,
	    32, pubkey, NULL, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_FORMAT);
	free(r);
}
END_TEST

START_TEST(empty_allowlist_refuses)
{
	struct attest_allowlist none = {NULL, 0};
	const struct attest_verifier *vs[] = {ver};
	enum attest_fail why;
	uint8_t *r;
	size_t n;

	r = make_report(&n);
	ck_assert_int_eq(attest_check(vs, 1, &none, "sim", r, n, challenge, 32,
	    pubkey, NULL, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_MEASUREMENT);
	free(r);
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

START_TEST(measurement_parse)
{
	struct attest_measurement m;
	char hex[2 * ATTEST_MEASUREMENT_MAX + 1];
	const char *up = "000102030405060708090A0B0C0D0E0F"
	    "101112131415161718191A1B1C1D1E1F";

	ck_assert_int_eq(attest_measurement_parse(up, 64, &m), PS_OK);
	ck_assert_uint_eq(m.len, 32);
	attest_measurement_hex(&m, hex);
	ck_assert_str_eq(hex, "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f");
	ck_assert_int_eq(attest_measurement_parse(up, 62, &m), PS_ERR_CORRUPT);
	ck_assert_int_eq(attest_measurement_parse(up, 63, &m), PS_ERR_CORRUPT);
	ck_assert_int_eq(attest_measurement_parse(MEASUREMENT "00", 98, &m),
	    PS_ERR_CORRUPT);
	ck_assert_int_eq(attest_measurement_parse("0g0102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f", 64, &m), PS_ERR_CORRUPT);
}
END_TEST

START_TEST(allowlist_file)
{
	char *d = tu_tmpdir(), path[256], why[128];
	struct attest_allowlist al = {NULL, 0};
	struct attest_measurement m;
	const char *good = "# builds that may run\n\n  " MEASUREMENT "  \n"
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    MEASUREMENT "\n";
	const char *bad = MEASUREMENT "\nnot hex\n";

	snprintf(path, sizeof(path), "%s/m", d);
	tu_write(path, good, strlen(good), 0644);
	ck_assert_int_eq(attest_allowlist_load(&al, path, why, sizeof(why)),
	    PS_OK);
	ck_assert_uint_eq(al.n, 2);
	ck_assert_int_eq(attest_allowlist_has(&al, &meas), 1);
	ck_assert_int_eq(attest_measurement_parse(MEASUREMENT, 64, &m), PS_OK);
	ck_assert_int_eq(attest_allowlist_has(&al, &m), 1);
	m.b[0] = 9;
	ck_assert_int_eq(attest_allowlist_has(&al, &m), 0);
	attest_allowlist_free(&al);
	tu_write(path, bad, strlen(bad), 0644);
	ck_assert_int_eq(attest_allowlist_load(&al, path, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "line 2: not a measurement of 32 to 48 bytes in hex");
	ck_assert_uint_eq(al.n, 0);
	snprintf(path, sizeof(path), "%s/none", d);
	ck_assert_int_eq(attest_allowlist_load(&al, path, why, sizeof(why)),
	    PS_ERR_IO);
	tu_rmdir(d);
}
END_TEST

START_TEST(fail_strings_distinct)
{
	int i, j;

	for (i = ATTEST_FAIL_NONE; i <= ATTEST_FAIL_CHALLENGE_EXPIRED; i++)
		for (j = i + 1; j <= ATTEST_FAIL_CHALLENGE_EXPIRED; j++)
			ck_assert_str_ne(attest_fail_str((enum attest_fail)i),
			    attest_fail_str((enum attest_fail)j));
}
END_TEST

static Suite *
attest_suite(void)
{
	Suite *s = suite_create("attest");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, report_data_kat);
	tcase_add_test(t, sim_report_kat);
	tcase_add_test(t, good_evidence_accepted);
	tcase_add_test(t, garbage_refused);
	tcase_add_test(t, unsigned_refused);
	tcase_add_test(t, other_platform_refused);
	tcase_add_test(t, wrong_measurement_refused);
	tcase_add_test(t, report_data_binding);
	tcase_add_test(t, unknown_format_refused);
	tcase_add_test(t, empty_allowlist_refuses);
	tcase_add_test(t, producer_round_trip);
	tcase_add_test(t, keygen_and_load);
	tcase_add_test(t, measure_files_kat);
	tcase_add_test(t, measurement_parse);
	tcase_add_test(t, allowlist_file);
	tcase_add_test(t, fail_strings_distinct);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(attest_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
