/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/codec.c (base64, base64url, hex).  pserr's are in
 * test_pserr.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/evp.h>

#include "core/codec.h"
#include "core/pserr.h"
#include "core/secret.h"

/* ------------------------------------------------------------ codec */

/* RFC 4648 section 10. */
static const struct {
	const char *in, *b64, *b64url, *hex;
} rfc4648[] = {
	{"", "", "", ""},
	{"f", "Zg==", "Zg", "66"},
	{"fo", "Zm8=", "Zm8", "666f"},
	{"foo", "Zm9v", "Zm9v", "666f6f"},
	{"foob", "Zm9vYg==", "Zm9vYg", "666f6f62"},
	{"fooba", "Zm9vYmE=", "Zm9vYmE", "666f6f6261"},
	{"foobar", "Zm9vYmFy", "Zm9vYmFy", "666f6f626172"},
};

START_TEST(test_rfc4648_encode)
{
	const uint8_t *in = (const uint8_t *)rfc4648[_i].in;
	size_t n = strlen(rfc4648[_i].in);
	char out[32];

	memset(out, '#', sizeof(out));
	ck_assert_uint_eq(codec_b64_encode(in, n, out), strlen(rfc4648[_i].b64));
	ck_assert_uint_eq(CODEC_B64_LEN(n), strlen(rfc4648[_i].b64));
	ck_assert_mem_eq(out, rfc4648[_i].b64, strlen(rfc4648[_i].b64));
	ck_assert_int_eq(out[strlen(rfc4648[_i].b64)], '#');

	memset(out, '#', sizeof(out));
	ck_assert_uint_eq(codec_b64url_encode(in, n, out),
	    strlen(rfc4648[_i].b64url));
	ck_assert_uint_eq(CODEC_B64URL_LEN(n), strlen(rfc4648[_i].b64url));
	ck_assert_mem_eq(out, rfc4648[_i].b64url, strlen(rfc4648[_i].b64url));
	ck_assert_int_eq(out[strlen(rfc4648[_i].b64url)], '#');

	memset(out, '#', sizeof(out));
	ck_assert_uint_eq(codec_hex_encode(in, n, out), strlen(rfc4648[_i].hex));
	ck_assert_uint_eq(CODEC_HEX_LEN(n), strlen(rfc4648[_i].hex));
	ck_assert_mem_eq(out, rfc4648[_i].hex, strlen(rfc4648[_i].hex));
	ck_assert_int_eq(out[strlen(rfc4648[_i].hex)], '#');
}
END_TEST

START_TEST(test_rfc4648_decode)
{
	const char *want = rfc4648[_i].in;
	size_t n = strlen(want), got = 99;
	uint8_t out[16];

	ck_assert_int_eq(codec_b64_decode(rfc4648[_i].b64,
	    strlen(rfc4648[_i].b64), out, sizeof(out), &got), PS_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(out, want, n);

	got = 99;
	ck_assert_int_eq(codec_b64url_decode(rfc4648[_i].b64url,
	    strlen(rfc4648[_i].b64url), out, sizeof(out), &got), PS_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(out, want, n);

	ck_assert_int_eq(codec_hex_decode(rfc4648[_i].hex,
	    strlen(rfc4648[_i].hex), out, n), PS_OK);
	ck_assert_mem_eq(out, want, n);

	/* Exactly the decoded size is enough room, one byte less is not. */
	got = 99;
	ck_assert_int_eq(codec_b64url_decode(rfc4648[_i].b64url,
	    strlen(rfc4648[_i].b64url), out, n, &got), PS_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_int_eq(codec_b64_decode(rfc4648[_i].b64,
	    strlen(rfc4648[_i].b64), out, n, &got), PS_OK);
	ck_assert_uint_eq(got, n);
	if (n > 0) {
		ck_assert_int_eq(codec_b64url_decode(rfc4648[_i].b64url,
		    strlen(rfc4648[_i].b64url), out, n - 1, &got), PS_ERR_ARG);
		ck_assert_int_eq(codec_b64_decode(rfc4648[_i].b64,
		    strlen(rfc4648[_i].b64), out, n - 1, &got), PS_ERR_ARG);
	}
}
END_TEST

/* The two alphabets differ in exactly two characters. */
START_TEST(test_alphabets)
{
	static const uint8_t in[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83};
	static const uint8_t all[48] = {
		0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30,
		0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51, 0x55, 0x97, 0x61, 0x96,
		0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7,
		0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3, 0xd3,
		0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf,
	};
	char out[80];
	uint8_t back[48];
	size_t got;

	ck_assert_uint_eq(codec_b64_encode(in, sizeof(in), out), 8);
	ck_assert_mem_eq(out, "+/+/ABCD", 8);
	ck_assert_uint_eq(codec_b64url_encode(in, sizeof(in), out), 8);
	ck_assert_mem_eq(out, "-_-_ABCD", 8);
	ck_assert_uint_eq(codec_hex_encode(in, sizeof(in), out), 12);
	ck_assert_mem_eq(out, "fbffbf001083", 12);

	/* Every character of each alphabet, in order. */
	ck_assert_uint_eq(codec_b64_encode(all, sizeof(all), out), 64);
	ck_assert_mem_eq(out,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	    64);
	ck_assert_int_eq(codec_b64_decode(out, 64, back, sizeof(back), &got),
	    PS_OK);
	ck_assert_uint_eq(got, 48);
	ck_assert_mem_eq(back, all, 48);
	ck_assert_uint_eq(codec_b64url_encode(all, sizeof(all), out), 64);
	ck_assert_mem_eq(out,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	    64);
	ck_assert_int_eq(codec_b64url_decode(out, 64, back, sizeof(back),
	    &got), PS_OK);
	ck_assert_uint_eq(got, 48);
	ck_assert_mem_eq(back, all, 48);
}
END_TEST

/* Lengths 0..64 round trip, and the encoders agree with OpenSSL's. */
START_TEST(test_round_trip_lengths)
{
	const size_t n = (size_t)_i;
	uint8_t in[64], back[80];
	char enc[2 * 64 + 1], ref[CODEC_B64_LEN(64) + 1];
	size_t i, len, got;

	for (i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 167 + n * 13 + 5);

	len = codec_b64_encode(in, n, enc);
	ck_assert_uint_eq(len, CODEC_B64_LEN(n));
	ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)ref, in, (int)n),
	    (int)len);
	ck_assert_mem_eq(enc, ref, len);
	got = 999;
	ck_assert_int_eq(codec_b64_decode(enc, len, back, n, &got), PS_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(back, in, n);

	len = codec_b64url_encode(in, n, enc);
	ck_assert_uint_eq(len, CODEC_B64URL_LEN(n));
	ck_assert_uint_eq(len, (4 * n + 2) / 3);
	for (i = 0; i < len; i++) {
		char r = ref[i] == '+' ? '-' : ref[i] == '/' ? '_' : ref[i];

		ck_assert_int_eq(enc[i], r);
	}
	for (i = len; i < CODEC_B64_LEN(n); i++)
		ck_assert_int_eq(ref[i], '=');
	got = 999;
	ck_assert_int_eq(codec_b64url_decode(enc, len, back, n, &got), PS_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(back, in, n);
	if (n > 0)
		ck_assert_int_eq(codec_b64url_decode(enc, len, back, n - 1,
		    &got), PS_ERR_ARG);

	len = codec_hex_encode(in, n, enc);
	ck_assert_uint_eq(len, 2 * n);
	for (i = 0; i < n; i++) {
		char two[3];

		snprintf(two, sizeof(two), "%02x", in[i]);
		ck_assert_mem_eq(enc + 2 * i, two, 2);
	}
	memset(back, 0, sizeof(back));
	ck_assert_int_eq(codec_hex_decode(enc, len, back, n), PS_OK);
	ck_assert_mem_eq(back, in, n);
}
END_TEST

struct bad {
	const char *in;
	size_t n; /* 0: strlen(in) */
};

#define BAD(s) {s, sizeof(s) - 1}

static const struct bad bad_b64url[] = {
	BAD("A"), BAD("AAAAA"), BAD("Zg=="), BAD("Zg="), BAD("Zm8="),
	BAD("Zm9v+A"), BAD("Zm9v/A"), BAD("Zm9v=A"), BAD("Zm9v A"),
	BAD(" Zm9v"), BAD("Zm9v\n"), BAD("Zm9v\r\n"), BAD("Zm\0v"),
	BAD("Zm9v.A"), BAD("Zm9v:A"), BAD("Zm9v\x80" "A"), BAD("Zm9v\xff" "A"),
	BAD("Zm9v\"A"), BAD("Zm9v\\A"),
	/* non-canonical: unused low bits set */
	BAD("Zh"), BAD("Zv"), BAD("Zm9"), BAD("Zm-"), BAD("Zm9vYh"),
	BAD("Zm9vYmF"), BAD("AB"), BAD("AAB"), BAD("__"), BAD("___"),
};

static const struct bad bad_b64[] = {
	BAD("A"), BAD("Zg"), BAD("Zg="), BAD("Zm8"), BAD("Zm9vYg"),
	BAD("Zm9vYg="), BAD("Zm9v-A=="), BAD("Zm9v_A=="), BAD("Zm9v A=="),
	BAD("Zm9v\nYg=="), BAD("Zm9vYg==\n"), BAD("Zg==Zg=="), BAD("Zg=a"),
	BAD("Z==="), BAD("===="), BAD("=Zg="), BAD("Zm=v"), BAD("Zm\0v"),
	BAD("Zm9v\x80" "A=="),
	/* non-canonical */
	BAD("Zh=="), BAD("Zv=="), BAD("Zm9="), BAD("Zm+="), BAD("AB=="),
	BAD("AAB="), BAD("//=="), BAD("///="),
};

static const struct bad bad_hex[] = {
	BAD("0"), BAD("abc"), BAD("AB"), BAD("aB"), BAD("0A"), BAD("0g"),
	BAD("g0"), BAD(" 0"), BAD("0 "), BAD("0x"), BAD("\0" "0"),
	BAD("-1"), BAD("0\n"),
};

START_TEST(test_b64url_strict)
{
	const struct bad *b = &bad_b64url[_i];
	uint8_t out[16];
	size_t got = 77;

	ck_assert_msg(codec_b64url_decode(b->in, b->n, out, sizeof(out), &got)
	    == PS_ERR_CORRUPT, "base64url accepted case %d", _i);
	ck_assert_uint_eq(got, 77);
}
END_TEST

START_TEST(test_b64_strict)
{
	const struct bad *b = &bad_b64[_i];
	uint8_t out[16];
	size_t got = 77;

	ck_assert_msg(codec_b64_decode(b->in, b->n, out, sizeof(out), &got) ==
	    PS_ERR_CORRUPT, "base64 accepted case %d", _i);
	ck_assert_uint_eq(got, 77);
}
END_TEST

START_TEST(test_hex_strict)
{
	const struct bad *b = &bad_hex[_i];
	uint8_t out[16];

	ck_assert_msg(codec_hex_decode(b->in, b->n, out, b->n / 2) ==
	    PS_ERR_CORRUPT, "hex accepted case %d", _i);
}
END_TEST

START_TEST(test_hex_length)
{
	uint8_t out[4];

	/* Exactly 2 * outlen characters, no more, no fewer. */
	ck_assert_int_eq(codec_hex_decode("00112233", 8, out, 4), PS_OK);
	ck_assert_int_eq(codec_hex_decode("00112233", 8, out, 3),
	    PS_ERR_CORRUPT);
	ck_assert_int_eq(codec_hex_decode("001122", 6, out, 4), PS_ERR_CORRUPT);
	ck_assert_int_eq(codec_hex_decode("", 0, out, 0), PS_OK);
	ck_assert_int_eq(codec_hex_decode("", 0, out, 1), PS_ERR_CORRUPT);
	ck_assert_int_eq(codec_hex_decode("09afAF", 4, out, 2), PS_OK);
	ck_assert_uint_eq(out[0], 0x09);
	ck_assert_uint_eq(out[1], 0xaf);
}
END_TEST

/* Output without room is PS_ERR_ARG, apart from bad input; exactly enough
 * room is enough, and empty input needs none. */
START_TEST(test_decode_room)
{
	uint8_t out[8];
	size_t got = 5;

	ck_assert_int_eq(codec_b64url_decode("Zm9vYmFy", 8, out, 5, &got),
	    PS_ERR_ARG);
	ck_assert_int_eq(codec_b64_decode("Zm9vYmFy", 8, out, 5, &got),
	    PS_ERR_ARG);
	ck_assert_int_eq(codec_b64_decode("Zm9vYg==", 8, out, 3, &got),
	    PS_ERR_ARG);
	ck_assert_int_eq(codec_b64_decode("Zm9vYg==", 8, out, 4, &got), PS_OK);
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(codec_b64url_decode("", 0, NULL, 0, &got), PS_OK);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(codec_b64_decode("", 0, NULL, 0, &got), PS_OK);
	ck_assert_uint_eq(got, 0);
}
END_TEST

/*
 * The vector paths of base64url (16 characters / 12 bytes per step) against
 * a plain one-character-at-a-time reference, at every length up to 300,
 * so every split between the vector loop and the tail is crossed.
 */
static size_t
ref_b64url(const uint8_t *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 63];
	return o;
}

START_TEST(test_b64url_long_lengths)
{
	uint8_t in[300] = {0}, back[300];
	char enc[400], ref[400];
	size_t n, i, len, got;

	for (n = 0; n <= sizeof(in); n++) {
		for (i = 0; i < n; i++)
			in[i] = (uint8_t)(i * 131 + n * 7 + 1);
		len = codec_b64url_encode(in, n, enc);
		ck_assert_uint_eq(len, ref_b64url(in, n, ref));
		ck_assert_mem_eq(enc, ref, len);
		ck_assert_uint_eq(len, CODEC_B64URL_LEN(n));
		ck_assert_int_eq(codec_b64url_check(enc, len), PS_OK);
		/* Exactly enough room, so the last vector step has no slack. */
		ck_assert_int_eq(codec_b64url_decode(enc, len, back, n, &got), PS_OK);
		ck_assert_uint_eq(got, n);
		ck_assert_mem_eq(back, in, n);
	}
}
END_TEST

/* Every byte value at every position of a 64-character text: accepted
 * exactly when it is in the alphabet, by decode and by check alike. */
START_TEST(test_b64url_every_byte_everywhere)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t in[48], back[48];
	char enc[64], t[64];
	size_t pos, got, i;
	int b;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 29 + 3);
	ck_assert_uint_eq(codec_b64url_encode(in, sizeof(in), enc), 64);
	for (pos = 0; pos < sizeof(enc); pos++) {
		for (b = 0; b < 256; b++) {
			int valid = b != 0 && memchr(a, b, 64) != NULL;

			memcpy(t, enc, sizeof(t));
			t[pos] = (char)b;
			ck_assert_int_eq(codec_b64url_decode(t, sizeof(t), back,
			    sizeof(back), &got), valid ? PS_OK : PS_ERR_CORRUPT);
			ck_assert_int_eq(codec_b64url_check(t, sizeof(t)),
			    valid ? PS_OK : PS_ERR_CORRUPT);
			if (valid) {
				/* The character's own 6 bits land in place. */
				char re[64];

				ck_assert_uint_eq(got, sizeof(back));
				ck_assert_uint_eq(codec_b64url_encode(back,
				    sizeof(back), re), 64);
				ck_assert_mem_eq(re, t, 64);
			}
		}
	}
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tcase_create("codec");
	tcase_add_loop_test(tc, test_rfc4648_encode, 0,
	    (int)(sizeof(rfc4648) / sizeof(rfc4648[0])));
	tcase_add_loop_test(tc, test_rfc4648_decode, 0,
	    (int)(sizeof(rfc4648) / sizeof(rfc4648[0])));
	tcase_add_test(tc, test_alphabets);
	tcase_add_loop_test(tc, test_round_trip_lengths, 0, 65);
	tcase_add_loop_test(tc, test_b64url_strict, 0,
	    (int)(sizeof(bad_b64url) / sizeof(bad_b64url[0])));
	tcase_add_loop_test(tc, test_b64_strict, 0,
	    (int)(sizeof(bad_b64) / sizeof(bad_b64[0])));
	tcase_add_loop_test(tc, test_hex_strict, 0,
	    (int)(sizeof(bad_hex) / sizeof(bad_hex[0])));
	tcase_add_test(tc, test_hex_length);
	tcase_add_test(tc, test_decode_room);
	tcase_add_test(tc, test_b64url_long_lengths);
	tcase_add_test(tc, test_b64url_every_byte_everywhere);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
