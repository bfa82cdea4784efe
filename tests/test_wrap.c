#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/secret.h"
#include "testutil.h"
#include "attest/wrap.h"

/* From tests/wrap_vectors.py (python3-cryptography). */
#define RCPT_PRIV "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define RCPT_PUB "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
#define EPH_PRIV "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"

static const struct {
	const char *aad, *pt, *blob;
} kat[] = {
	{"", "",
	    "7073773179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	    "af85a51a6ca560fb9276151735103045441d720e"},
	{"6368616c6c656e67652d30313233343536373839616263646566303132333435",
	    "74686520736563726574206b657973",
	    "7073773179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	    "af85a51a14beb1ff85ceafb33bce98cc340764bcf12a78887254e78ec8a3bf7a"
	    "ee9065"},
	{"0000000000000000000000000000000000000000000000000000000000000000",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f3031323334353637",
	    "7073773179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	    "af85a51a60d7d6dcf2aecac656b3b2ac5d7319a462761befae280a7195f9a04d"
	    "a6524e34a0c0984394559bc70cebc4fb16917804ac25c8cf881256ddcdcaec32"
	    "b33975e2ddedc6cb6437a7bd"},
};

static uint8_t rpriv[32], rpub[32], epriv[32];

static void
setup(void)
{
	uint8_t *p;
	size_t n;

	p = tu_hex(RCPT_PRIV, &n);
	memcpy(rpriv, p, 32);
	free(p);
	p = tu_hex(RCPT_PUB, &n);
	memcpy(rpub, p, 32);
	free(p);
	p = tu_hex(EPH_PRIV, &n);
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

	aad = tu_hex(kat[_i].aad, &aadn);
	pt = tu_hex(kat[_i].pt, &ptn);
	blob = tu_hex(kat[_i].blob, &blobn);
	buf_init(&out, 4096);
	ck_assert_int_eq(wrap_seal_eph(epriv, rpub, aad, aadn, pt, ptn, &out),
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

	aad = tu_hex(kat[_i].aad, &aadn);
	pt = tu_hex(kat[_i].pt, &ptn);
	blob = tu_hex(kat[_i].blob, &blobn);
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

	aad = tu_hex(kat[2].aad, &aadn);
	pt = tu_hex(kat[2].pt, &ptn);
	blob = tu_hex(kat[2].blob, &blobn);
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

	aad = tu_hex(kat[2].aad, &aadn);
	blob = tu_hex(kat[2].blob, &blobn);
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

	blob = tu_hex(kat[1].blob, &blobn);
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

	blob = tu_hex(kat[2].blob, &blobn);
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
	tcase_add_loop_test(t, kat_seal, 0, sizeof(kat) / sizeof(kat[0]));
	tcase_add_loop_test(t, kat_open, 0, sizeof(kat) / sizeof(kat[0]));
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
	SRunner *r = srunner_create(wrap_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
