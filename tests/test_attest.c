/* SPDX-License-Identifier: ISC */
/*
 * attest: the report data, the whole check of the AS (format, binding,
 * allowlist) with the sim verifier, measurements and allowlist files.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "attest_kat.h"
#include "core/buf.h"
#include "core/caps.h"
#include "testutil.h"

START_TEST(report_data_kat)
{
	uint8_t rd[64], want[64];

	kat_fill(REPORT_DATA, want, 64);
	ck_assert_int_eq(attest_report_data(challenge, 32, pubkey, rd), PS_OK);
	ck_assert_mem_eq(rd, want, 64);
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

	/* The fixture of the vectors: tests/attest_kat.h. */
	tcase_add_checked_fixture(t, kat_setup, kat_teardown);
	tcase_add_test(t, report_data_kat);
	tcase_add_test(t, good_evidence_accepted);
	tcase_add_test(t, wrong_measurement_refused);
	tcase_add_test(t, report_data_binding);
	tcase_add_test(t, unknown_format_refused);
	tcase_add_test(t, empty_allowlist_refuses);
	tcase_add_test(t, measurement_parse);
	tcase_add_test(t, allowlist_file);
	tcase_add_test(t, fail_strings_distinct);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(attest_suite());
}
