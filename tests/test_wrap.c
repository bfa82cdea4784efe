/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

/*
 * The known-answer tests seal with a fixed ephemeral key, which only the
 * static seal_eph() takes: this suite compiles wrap.c itself to reach it,
 * and links only core (tests/local.mk), so there is one wrap.c in it.
 */
#include "attest/wrap.c"

#include "core/buf.h"
#include "core/secret.h"
#include "testutil.h"
#include "wrap_kat.h"

static uint8_t rpriv[32], rpub[32], epriv[32];

static void
setup(void)
{
	uint8_t *p;
	size_t n;

	p = tu_hex(WRAP_KAT_RCPT_PRIV, &n);
	memcpy(rpriv, p, 32);
	free(p);
	p = tu_hex(WRAP_KAT_RCPT_PUB, &n);
	memcpy(rpub, p, 32);
	free(p);
	p = tu_hex(WRAP_KAT_EPH_PRIV, &n);
	memcpy(epriv, p, 32);
	free(p);
}

START_TEST(public_key_matches)
{
	uint8_t pub[32];

	ck_assert_int_eq(wrap_public(rpriv, pub), PS_OK);
	ck_assert_mem_eq(pub, rpub, 32);
}
END_TEST

START_TEST(kat_seal)
{
	struct buf out;
	uint8_t *aad, *pt, *blob;
	size_t aadn, ptn, blobn;

	aad = tu_hex(wrap_kat[_i].aad, &aadn);
	pt = tu_hex(wrap_kat[_i].pt, &ptn);
	blob = tu_hex(wrap_kat[_i].blob, &blobn);
	buf_init(&out, 4096);
	ck_assert_int_eq(seal_eph(epriv, rpub, aad, aadn, pt, ptn, &out),
	    PS_OK);
	ck_assert_uint_eq(out.len, blobn);
	ck_assert_uint_eq(out.len, ptn + WRAP_OVERHEAD);
	ck_assert_mem_eq(out.p, blob, blobn);
	buf_free(&out);
	free(aad);
	free(pt);
	free(blob);
}
END_TEST

START_TEST(kat_open)
{
	struct buf out;
	uint8_t *aad, *pt, *blob;
	size_t aadn, ptn, blobn;

	aad = tu_hex(wrap_kat[_i].aad, &aadn);
	pt = tu_hex(wrap_kat[_i].pt, &ptn);
	blob = tu_hex(wrap_kat[_i].blob, &blobn);
	buf_init(&out, 4096);
	ck_assert_int_eq(buf_puts(&out, "keep"), PS_OK);
	ck_assert_int_eq(wrap_open(rpriv, aad, aadn, blob, blobn, &out), PS_OK);
	ck_assert_uint_eq(out.len, 4 + ptn);
	ck_assert_mem_eq(out.p, "keep", 4);
	if (ptn > 0)
		ck_assert_mem_eq(out.p + 4, pt, ptn);
	buf_free(&out);
	free(aad);
	free(pt);
	free(blob);
}
END_TEST

/* Any flipped bit anywhere in the blob, and every truncation, fails and
 * leaves the output buffer exactly as it was. */
START_TEST(tamper_every_byte)
{
	struct buf out;
	uint8_t *aad, *pt, *blob;
	size_t aadn, ptn, blobn, i;
	int bit;

	aad = tu_hex(wrap_kat[2].aad, &aadn);
	pt = tu_hex(wrap_kat[2].pt, &ptn);
	blob = tu_hex(wrap_kat[2].blob, &blobn);
	buf_init(&out, 4096);
	ck_assert_int_eq(buf_puts(&out, "keep"), PS_OK);
	for (i = 0; i < blobn; i++) {
		for (bit = 0; bit < 8; bit += 7) {
			blob[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(wrap_open(rpriv, aad, aadn, blob, blobn,
			    &out), PS_ERR_DECRYPT);
			ck_assert_uint_eq(out.len, 4);
			ck_assert_mem_eq(out.p, "keep", 4);
			blob[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (i = 0; i < blobn; i++)
		ck_assert_int_eq(wrap_open(rpriv, aad, aadn, blob, i, &out),
		    PS_ERR_DECRYPT);
	ck_assert_uint_eq(out.len, 4);
	/* The untouched blob still opens: the loop restored every byte. */
	ck_assert_int_eq(wrap_open(rpriv, aad, aadn, blob, blobn, &out), PS_OK);
	ck_assert_uint_eq(out.len, 4 + ptn);
	buf_free(&out);
	free(aad);
	free(pt);
	free(blob);
}
END_TEST

START_TEST(tamper_context)
{
	struct buf out;
	uint8_t *aad, *blob, other[32], opub[32];
	size_t aadn, blobn;

	aad = tu_hex(wrap_kat[2].aad, &aadn);
	blob = tu_hex(wrap_kat[2].blob, &blobn);
	buf_init(&out, 4096);
	/* Another aad, a missing aad, an extra byte after the blob. */
	aad[31] ^= 1;
	ck_assert_int_eq(wrap_open(rpriv, aad, aadn, blob, blobn, &out),
	    PS_ERR_DECRYPT);
	aad[31] ^= 1;
	ck_assert_int_eq(wrap_open(rpriv, NULL, 0, blob, blobn, &out),
	    PS_ERR_DECRYPT);
	blob = realloc(blob, blobn + 1);
	blob[blobn] = 0;
	ck_assert_int_eq(wrap_open(rpriv, aad, aadn, blob, blobn + 1, &out),
	    PS_ERR_DECRYPT);
	/* Another recipient. */
	ck_assert_int_eq(wrap_keypair(other, opub), PS_OK);
	ck_assert_int_eq(wrap_open(other, aad, aadn, blob, blobn, &out),
	    PS_ERR_DECRYPT);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	free(aad);
	free(blob);
}
END_TEST

/* A low-order ephemeral key in the blob, or as a recipient: the shared
 * secret would be all zero and is refused. */
START_TEST(low_order_keys)
{
	static const uint8_t zero[32];
	struct buf out;
	uint8_t *blob;
	size_t blobn;

	blob = tu_hex(wrap_kat[1].blob, &blobn);
	memset(blob + 4, 0, 32);
	buf_init(&out, 4096);
	ck_assert_int_eq(wrap_open(rpriv, NULL, 0, blob, blobn, &out),
	    PS_ERR_DECRYPT);
	ck_assert_int_eq(wrap_seal(zero, NULL, 0, "x", 1, &out), PS_ERR_CRYPTO);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	free(blob);
}
END_TEST

START_TEST(roundtrip_fresh)
{
	uint8_t priv[32], pub[32];
	char pt[3000];
	struct buf a, b, c;

	memset(pt, 'p', sizeof(pt));
	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);
	buf_init(&a, 8192);
	buf_init(&b, 8192);
	buf_init(&c, 8192);
	ck_assert_int_eq(wrap_seal(pub, "ctx", 3, pt, sizeof(pt), &a), PS_OK);
	ck_assert_int_eq(wrap_seal(pub, "ctx", 3, pt, sizeof(pt), &b), PS_OK);
	/* A fresh ephemeral key each time: never the same blob. */
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_ne(memcmp(a.p, b.p, a.len), 0);
	ck_assert_int_eq(wrap_open(priv, "ctx", 3, a.p, a.len, &c), PS_OK);
	ck_assert_uint_eq(c.len, sizeof(pt));
	ck_assert_mem_eq(c.p, pt, sizeof(pt));
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	secret_wipe(priv, sizeof(priv));
}
END_TEST

START_TEST(caps)
{
	struct buf small, out;
	uint8_t *blob;
	size_t blobn;

	blob = tu_hex(wrap_kat[2].blob, &blobn);
	/* The plaintext (56 bytes) does not fit: nothing is written. */
	buf_init(&small, 55);
	ck_assert_int_eq(wrap_open(rpriv, NULL, 0, blob, blobn, &small),
	    PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(small.len, 0);
	/* Nor does a blob for a full buffer. */
	buf_init(&out, 40);
	ck_assert_int_eq(wrap_seal(rpub, NULL, 0, "abc", 3, &out),
	    PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&small);
	buf_free(&out);
	free(blob);
}
END_TEST

static Suite *
wrap_suite(void)
{
	Suite *s = suite_create("wrap");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, public_key_matches);
	tcase_add_loop_test(t, kat_seal, 0, WRAP_KAT_N);
	tcase_add_loop_test(t, kat_open, 0, WRAP_KAT_N);
	tcase_add_test(t, tamper_every_byte);
	tcase_add_test(t, tamper_context);
	tcase_add_test(t, low_order_keys);
	tcase_add_test(t, roundtrip_fresh);
	tcase_add_test(t, caps);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(wrap_suite());
}
