/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

/*
 * The known-answer tests seal with a fixed ephemeral key, which only the
 * static seal_ikm() takes: this suite compiles hpke.c itself to reach it,
 * and links only core (tests/local.mk), so there is one hpke.c in it.
 */
#include "attest/hpke.c"

#include "core/buf.h"
#include "core/secret.h"
#include "testutil.h"

/* RFC 9180 appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-128-GCM, mode_base, the first encryption (sequence number 0). */
#define A1_INFO "4f6465206f6e2061204772656369616e2055726e"
#define A1_IKME "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234"
#define A1_PKEM "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"
#define A1_SKEM "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736"
#define A1_IKMR "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037"
#define A1_PKRM "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
#define A1_SKRM "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8"
#define A1_PT "4265617574792069732074727574682c20747275746820626561757479"
#define A1_AAD "436f756e742d30"
#define A1_CT "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9" \
	"6d8770ac83d07bea87e13c512a"

/* The suite promptseal uses (AEAD 0x0002), from the independent
 * implementation in tests/e2e/simas.py (tests/hpke_vectors.py), with the
 * keys of A.1.1: A.1.1's inputs, and a 32-byte secret. */
static const struct {
	const char *info, *aad, *pt, *ct;
} kat256[] = {
	{A1_INFO, A1_AAD, A1_PT,
	 "090b7dc225419f7da9e8b460becfbb96a26c7964d79b8010d397fa838530a32a"
	 "397b14f5776db19ff5e57734e0"},
	{"70726f6d70747365616c2061732075706c6f6164207631",
	 "000102030405060708090a0b0c0d0e0f",
	 "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	 "ea6a4e5e7939b0a3d2c0c5eadd28007cdb288039d1ee0a966997442715c4e669"
	 "e2cac8c8ab0da91dad7e091f458d5dae"},
};

static const struct hpke_suite s128 = {
	HPKE_KEM_X25519_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES128GCM
};

static uint8_t *
hx(const char *h, size_t *n)
{
	return tu_hex(h, n);
}

static void
check_hex(const uint8_t *p, size_t n, const char *want)
{
	size_t wn;
	uint8_t *w = hx(want, &wn);

	ck_assert_uint_eq(n, wn);
	ck_assert_int_eq(memcmp(p, w, n), 0);
	free(w);
}

START_TEST(a1_derive_keypair)
{
	uint8_t sk[32], pk[32], *ikm;
	size_t n;

	ikm = hx(A1_IKMR, &n);
	ck_assert_int_eq(hpke_derive_keypair(&s128, ikm, n, sk, pk), PS_OK);
	check_hex(sk, 32, A1_SKRM);
	check_hex(pk, 32, A1_PKRM);
	free(ikm);
	ikm = hx(A1_IKME, &n);
	ck_assert_int_eq(hpke_derive_keypair(&s128, ikm, n, sk, pk), PS_OK);
	check_hex(sk, 32, A1_SKEM);
	check_hex(pk, 32, A1_PKEM);
	free(ikm);
}
END_TEST

static void
kat(const struct hpke_suite *s, const char *info_h, const char *aad_h,
    const char *pt_h, const char *ct_h)
{
	uint8_t enc[32], *info, *aad, *pt, *ikme, *pkr, *skr;
	size_t ni, na, np, n;
	struct buf ct, out;

	info = hx(info_h, &ni);
	aad = hx(aad_h, &na);
	pt = hx(pt_h, &np);
	ikme = hx(A1_IKME, &n);
	pkr = hx(A1_PKRM, &n);
	skr = hx(A1_SKRM, &n);
	buf_init(&ct, 4096);
	buf_init(&out, 4096);
	ck_assert_int_eq(seal_ikm(s, pkr, ikme, info, ni, aad, na, pt, np, enc,
	    &ct), PS_OK);
	check_hex(enc, 32, A1_PKEM);
	check_hex((uint8_t *)ct.p, ct.len, ct_h);
	ck_assert_int_eq(hpke_open(s, skr, enc, info, ni, aad, na, ct.p, ct.len,
	    &out), PS_OK);
	ck_assert_uint_eq(out.len, np);
	ck_assert_int_eq(memcmp(out.p, pt, np), 0);
	buf_free(&ct);
	buf_free(&out);
	free(info);
	free(aad);
	free(pt);
	free(ikme);
	free(pkr);
	free(skr);
}

START_TEST(a1_seal_open)
{
	kat(&s128, A1_INFO, A1_AAD, A1_PT, A1_CT);
}
END_TEST

START_TEST(aes256_kat)
{
	kat(&hpke_suite_default, kat256[_i].info, kat256[_i].aad,
	    kat256[_i].pt, kat256[_i].ct);
}
END_TEST

/* Every byte of enc and ct, and the info and aad, authenticated: a flip
 * anywhere opens nothing and leaves the output as it was. */
START_TEST(tamper)
{
	uint8_t sk[32], pk[32], enc[32], e2[32], ikm[32];
	const char info[] = "info", aad[] = "aad", pt[] = "a secret of 32 bytes, exactly!!";
	struct buf ct, out;
	size_t i;

	memset(ikm, 7, sizeof(ikm));
	ck_assert_int_eq(hpke_derive_keypair(&hpke_suite_default, ikm, 32, sk,
	    pk), PS_OK);
	buf_init(&ct, 4096);
	buf_init(&out, 4096);
	ck_assert_int_eq(hpke_seal(&hpke_suite_default, pk, info, 4, aad, 3, pt,
	    32, enc, &ct), PS_OK);
	ck_assert_int_eq(buf_append(&out, "x", 1), PS_OK);
	for (i = 0; i < ct.len; i++) {
		ct.p[i] ^= 1;
		ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, info, 4,
		    aad, 3, ct.p, ct.len, &out), PS_ERR_DECRYPT);
		ck_assert_uint_eq(out.len, 1);
		ct.p[i] ^= 1;
	}
	for (i = 0; i < 32; i++) {
		memcpy(e2, enc, 32);
		e2[i] ^= 1;
		ck_assert_int_ne(hpke_open(&hpke_suite_default, sk, e2, info, 4,
		    aad, 3, ct.p, ct.len, &out), PS_OK);
		ck_assert_uint_eq(out.len, 1);
	}
	ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, "infx", 4,
	    aad, 3, ct.p, ct.len, &out), PS_ERR_DECRYPT);
	ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, info, 4,
	    "aax", 3, ct.p, ct.len, &out), PS_ERR_DECRYPT);
	ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, info, 4,
	    aad, 3, ct.p, 15, &out), PS_ERR_DECRYPT);
	/* Another suite with the same keys does not open it either. */
	ck_assert_int_eq(hpke_open(&s128, sk, enc, info, 4, aad, 3, ct.p,
	    ct.len, &out), PS_ERR_DECRYPT);
	ck_assert_uint_eq(out.len, 1);
	ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, info, 4, aad,
	    3, ct.p, ct.len, &out), PS_OK);
	ck_assert_uint_eq(out.len, 33);
	ck_assert_int_eq(memcmp(out.p + 1, pt, 32), 0);
	buf_free(&ct);
	buf_free(&out);
}
END_TEST

START_TEST(low_order_and_suites)
{
	static const uint8_t zero[32];
	struct hpke_suite bad = hpke_suite_default;
	uint8_t enc[32], sk[32], pk[32], ikm[32] = {1};
	struct buf ct;

	buf_init(&ct, 4096);
	ck_assert_int_eq(hpke_seal(&hpke_suite_default, zero, NULL, 0, NULL, 0,
	    "x", 1, enc, &ct), PS_ERR_CRYPTO);
	ck_assert_uint_eq(ct.len, 0);
	bad.aead = 0x0003;
	ck_assert_int_eq(hpke_suite_supported(&bad), 0);
	ck_assert_int_eq(hpke_derive_keypair(&bad, ikm, 32, sk, pk),
	    PS_ERR_ARG);
	ck_assert_int_eq(hpke_derive_keypair(&hpke_suite_default, ikm, 16, sk,
	    pk), PS_ERR_ARG);
	bad = hpke_suite_default;
	bad.kem = 0x0041;              /* ML-KEM-768: not (yet) here */
	ck_assert_int_eq(hpke_suite_supported(&bad), 0);
	buf_free(&ct);
}
END_TEST

/* The plaintext fits an output buffer of exactly its size. */
START_TEST(exact_fit)
{
	uint8_t sk[32], pk[32], enc[32], ikm[32], pt[32];
	struct buf ct, out;

	memset(ikm, 3, sizeof(ikm));
	memset(pt, 0x5a, sizeof(pt));
	ck_assert_int_eq(hpke_derive_keypair(&hpke_suite_default, ikm, 32, sk,
	    pk), PS_OK);
	buf_init(&ct, 48);
	buf_init(&out, 32);
	ck_assert_int_eq(hpke_seal(&hpke_suite_default, pk, NULL, 0, NULL, 0,
	    pt, 32, enc, &ct), PS_OK);
	ck_assert_uint_eq(ct.len, 48);
	ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, NULL, 0, NULL,
	    0, ct.p, ct.len, &out), PS_OK);
	ck_assert_mem_eq(out.p, pt, 32);
	buf_free(&ct);
	buf_free(&out);
	buf_init(&out, 31);
	ck_assert_int_eq(hpke_open(&hpke_suite_default, sk, enc, NULL, 0, NULL,
	    0, ct.p, 48, &out), PS_ERR_TOO_LARGE);
	buf_free(&out);
}
END_TEST

static Suite *
hpke_suite(void)
{
	Suite *s = suite_create("hpke");
	TCase *t = tcase_create("core");

	tcase_add_test(t, a1_derive_keypair);
	tcase_add_test(t, a1_seal_open);
	tcase_add_loop_test(t, aes256_kat, 0,
	    (int)(sizeof(kat256) / sizeof(kat256[0])));
	tcase_add_test(t, tamper);
	tcase_add_test(t, low_order_and_suites);
	tcase_add_test(t, exact_fit);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(hpke_suite());
}
