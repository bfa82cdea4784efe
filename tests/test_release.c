/* SPDX-License-Identifier: ISC */
/*
 * release: the records of the secrets the AS releases, and their wrap to
 * the worker's key, against the record vector of tests/wrap_vectors.py.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "attest/release.h"
#include "attest/wrap.h"
#include "core/buf.h"
#include "core/secret.h"
#include "testutil.h"
#include "wrap_kat.h"

START_TEST(records)
{
	struct keycache_entry in[2], *out = NULL;
	struct buf b;
	size_t n;

	memset(in, 0, sizeof(in));
	memset(in[0].kid, 1, 16);
	memset(in[0].secret, 2, 32);
	in[0].expires = 0x0102030405060708;
	memset(in[1].kid, 3, 16);
	memset(in[1].secret, 4, 32);
	in[1].expires = -1;
	buf_init(&b, 4096);
	ck_assert_int_eq(release_encode(in, 2, &b), PS_OK);
	ck_assert_uint_eq(b.len, 112);
	ck_assert_mem_eq(b.p + 48, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ck_assert_int_eq(release_decode((uint8_t *)b.p, b.len, &out, &n),
	    PS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(out, in, sizeof(in));
	keyfile_entries_free(out, n);
	ck_assert_int_eq(release_decode((uint8_t *)b.p, 111, &out, &n),
	    PS_ERR_CORRUPT);
	/* Records in any order come back ordered by kid. */
	buf_reset(&b);
	ck_assert_int_eq(release_encode(&in[1], 1, &b), PS_OK);
	ck_assert_int_eq(release_encode(&in[0], 1, &b), PS_OK);
	ck_assert_int_eq(release_decode((uint8_t *)b.p, b.len, &out, &n),
	    PS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(out, in, sizeof(in));
	keyfile_entries_free(out, n);
	/* The same kid twice. */
	memcpy(b.p + 56, b.p, 16);
	ck_assert_int_eq(release_decode((uint8_t *)b.p, 112, &out, &n),
	    PS_ERR_CORRUPT);
	buf_free(&b);
}
END_TEST

/* No records at all: an empty array, and nothing allocated. */
START_TEST(records_empty)
{
	struct keycache_entry *out = (struct keycache_entry *)&out;
	struct buf b;
	size_t n = 99;

	buf_init(&b, 4096);
	ck_assert_int_eq(release_encode(NULL, 0, &b), PS_OK);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(release_decode((const uint8_t *)"", 0, &out, &n),
	    PS_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(out);
	keyfile_entries_free(NULL, 0);
	buf_free(&b);
}
END_TEST

/* A record that does not fit leaves the buffer as it was. */
START_TEST(records_cap)
{
	struct keycache_entry in[2];
	struct buf b;

	memset(in, 7, sizeof(in));
	buf_init(&b, RELEASE_RECORD_LEN + 10);
	ck_assert_int_eq(buf_puts(&b, "keep"), PS_OK);
	ck_assert_int_eq(release_encode(in, 2, &b), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.p, "keep", 4);
	buf_free(&b);
}
END_TEST

/* The Python-made blob of one record opens to that record. */
START_TEST(open_kat)
{
	const struct wrap_kat *k = &wrap_kat[WRAP_KAT_RECORD];
	struct keycache_entry *out = NULL;
	uint8_t *priv, *aad, *blob, want[RELEASE_RECORD_LEN];
	size_t pn, an, bn, n, i;

	priv = tu_hex(WRAP_KAT_RCPT_PRIV, &pn);
	aad = tu_hex(k->aad, &an);
	blob = tu_hex(k->blob, &bn);
	ck_assert_uint_eq(an, RELEASE_CHALLENGE_LEN);
	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)i;
	ck_assert_int_eq(release_open(priv, aad, blob, bn, &out, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(out[0].kid, want, 16);
	ck_assert_mem_eq(out[0].secret, want + 16, 32);
	ck_assert_int_eq(out[0].expires, 0x3031323334353637);
	keyfile_entries_free(out, n);
	/* Another challenge, a flipped bit, a cut blob: nothing opens. */
	out = NULL;
	aad[0] ^= 1;
	ck_assert_int_eq(release_open(priv, aad, blob, bn, &out, &n),
	    PS_ERR_DECRYPT);
	aad[0] ^= 1;
	blob[bn - 1] ^= 1;
	ck_assert_int_eq(release_open(priv, aad, blob, bn, &out, &n),
	    PS_ERR_DECRYPT);
	blob[bn - 1] ^= 1;
	ck_assert_int_eq(release_open(priv, aad, blob, bn - 1, &out, &n),
	    PS_ERR_DECRYPT);
	ck_assert_ptr_null(out);
	secret_wipe(priv, pn);
	free(priv);
	free(aad);
	free(blob);
}
END_TEST

START_TEST(seal_open)
{
	uint8_t priv[32], pub[32], other[32], opub[32], ch[32];
	struct keycache_entry in[3], *out = NULL;
	struct buf blob;
	size_t n = 0, i;

	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);
	ck_assert_int_eq(wrap_keypair(other, opub), PS_OK);
	memset(ch, 0xc4, sizeof(ch));
	for (i = 0; i < 3; i++)
		in[i] = tu_entry((uint8_t)(3 - i), 1000 + (int64_t)i);
	buf_init(&blob, 4096);
	ck_assert_int_eq(release_seal(pub, ch, in, 3, &blob), PS_OK);
	ck_assert_uint_eq(blob.len, 3 * RELEASE_RECORD_LEN + WRAP_OVERHEAD);
	/* No secret byte stands in the blob in the clear. */
	ck_assert_ptr_null(memmem(blob.p, blob.len, in[0].secret, 8));
	ck_assert_int_eq(release_open(priv, ch, blob.p, blob.len, &out, &n),
	    PS_OK);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 3; i++)
		ck_assert_mem_eq(&out[i], &in[2 - i], sizeof(in[0]));
	keyfile_entries_free(out, n);
	/* Only the holder of the key, and only for this challenge. */
	out = NULL;
	ck_assert_int_eq(release_open(other, ch, blob.p, blob.len, &out, &n),
	    PS_ERR_DECRYPT);
	ch[31] ^= 1;
	ck_assert_int_eq(release_open(priv, ch, blob.p, blob.len, &out, &n),
	    PS_ERR_DECRYPT);
	ck_assert_ptr_null(out);
	/* An empty release is still a wrapped, authenticated blob. */
	buf_reset(&blob);
	ck_assert_int_eq(release_seal(pub, ch, NULL, 0, &blob), PS_OK);
	ck_assert_uint_eq(blob.len, WRAP_OVERHEAD);
	n = 99;
	ck_assert_int_eq(release_open(priv, ch, blob.p, blob.len, &out, &n),
	    PS_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(out);
	buf_free(&blob);
	secret_wipe(priv, sizeof(priv));
	secret_wipe(other, sizeof(other));
}
END_TEST

/* A wrapped blob whose plaintext is not whole records. */
START_TEST(open_refuses_bad_records)
{
	uint8_t priv[32], pub[32], ch[32], junk[RELEASE_RECORD_LEN + 1];
	struct keycache_entry *out = NULL;
	struct buf blob;
	size_t n;

	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);
	memset(ch, 1, sizeof(ch));
	memset(junk, 2, sizeof(junk));
	buf_init(&blob, 4096);
	ck_assert_int_eq(wrap_seal(pub, ch, sizeof(ch), junk, sizeof(junk),
	    &blob), PS_OK);
	ck_assert_int_eq(release_open(priv, ch, blob.p, blob.len, &out, &n),
	    PS_ERR_CORRUPT);
	ck_assert_ptr_null(out);
	buf_free(&blob);
	secret_wipe(priv, sizeof(priv));
}
END_TEST

START_TEST(seal_refuses_bad_key)
{
	static const uint8_t zero[32];
	uint8_t ch[32] = {0};
	struct keycache_entry e = tu_entry(1, 5);
	struct buf blob;

	buf_init(&blob, 4096);
	ck_assert_int_eq(release_seal(zero, ch, &e, 1, &blob), PS_ERR_CRYPTO);
	ck_assert_uint_eq(blob.len, 0);
	buf_free(&blob);
}
END_TEST

static Suite *
release_suite(void)
{
	Suite *s = suite_create("release");
	TCase *t = tcase_create("core");

	tcase_add_test(t, records);
	tcase_add_test(t, records_empty);
	tcase_add_test(t, records_cap);
	tcase_add_test(t, open_kat);
	tcase_add_test(t, seal_open);
	tcase_add_test(t, open_refuses_bad_records);
	tcase_add_test(t, seal_refuses_bad_key);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(release_suite());
}
