/* SPDX-License-Identifier: ISC */
/*
 * The known-answer vectors of lib/attest/attest.c and attest_sim.c, made
 * by tests/attest_vectors.py, and the fixture both suites share: a sim
 * verifier that trusts the vectors' platform key and an allowlist of the
 * vectors' measurement.
 */
#ifndef PROMPTSEAL_ATTEST_KAT_H
#define PROMPTSEAL_ATTEST_KAT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/buf.h"
#include "core/caps.h"
#include "testutil.h"

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

static inline void
kat_fill(const char *hex, uint8_t *out, size_t want)
{
	uint8_t *p;
	size_t n;

	p = tu_hex(hex, &n);
	ck_assert_uint_eq(n, want);
	memcpy(out, p, n);
	free(p);
}

static inline void
kat_setup(void)
{
	kat_fill(CHALLENGE, challenge, 32);
	kat_fill(PUBKEY, pubkey, 32);
	kat_fill(PLATFORM_PRIV, ppriv, 32);
	kat_fill(PLATFORM_PUB, ppub, 32);
	ck_assert_int_eq(attest_measurement_parse(MEASUREMENT,
	    strlen(MEASUREMENT), &meas), PS_OK);
	ck_assert_int_eq(attest_sim_verifier_new(&ppub, 1, &ver), PS_OK);
	memset(&allow, 0, sizeof(allow));
	ck_assert_int_eq(attest_allowlist_add(&allow, &meas), PS_OK);
}

static inline void
kat_teardown(void)
{
	attest_verifier_free(ver);
	attest_allowlist_free(&allow);
}

/* The report the vectors describe, made by the C code. */
static inline uint8_t *
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

static inline pserr
check(const uint8_t *ev, size_t n, enum attest_fail *why)
{
	const struct attest_verifier *vs[] = {ver};

	return attest_check(vs, 1, &allow, "sim", ev, n, challenge, 32, pubkey,
	    NULL, why);
}

#endif
