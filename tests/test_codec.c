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
#include "core/codec_impl.h"
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

/* Every byte value in each place of a pair: exactly the lowercase digits
 * decode, each to its value. */
START_TEST(test_hex_every_byte)
{
	static const char digits[] = "0123456789abcdef";
	char t[4] = {'5', 'a', 'c', '3'};
	uint8_t out[2];
	int b, pos;

	for (pos = 0; pos < 4; pos++)
		for (b = 0; b < 256; b++) {
			const char *d = b != 0 ? strchr(digits, b) : NULL;
			char keep = t[pos];

			t[pos] = (char)b;
			if (d == NULL) {
				ck_assert_msg(codec_hex_decode(t, 4, out, 2) ==
				    PS_ERR_CORRUPT, "byte %d at %d", b, pos);
			} else {
				unsigned v = (unsigned)(d - digits);

				ck_assert_int_eq(codec_hex_decode(t, 4, out, 2),
				    PS_OK);
				ck_assert_uint_eq(out[pos / 2], pos % 2 == 0 ?
				    (v << 4 | (pos < 2 ? 0xa : 0x3)) :
				    ((pos < 2 ? 0x5 : 0xc) << 4 | v));
			}
			t[pos] = keep;
		}
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

/* ----------------------------------------------------- codec paths */

/*
 * Every base64url path this machine runs (scalar, SSSE3, AVX2, AVX-512;
 * selected through the test-only codec_impl.h) against the plain
 * references above and below and against each other: random text of every length, each
 * byte value at every position of short text and around the block edges
 * of long text.  _i is the path; a path the machine cannot run is noted
 * and passes.
 */

/* A plain bit-at-a-time decoder: the length, or -1 for text the codec
 * must refuse (a byte outside the alphabet, n % 4 == 1, unused bits set). */
static long
ref_b64url_decode(const char *s, size_t n, uint8_t *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static int8_t val[256];
	uint32_t acc = 0;
	size_t i, bits = 0, len = 0;

	if (val[0] == 0) {
		memset(val, -1, sizeof(val));
		for (i = 0; i < 64; i++)
			val[(uint8_t)a[i]] = (int8_t)i;
	}
	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int v = val[(uint8_t)s[i]];

		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (uint8_t)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)len;
}

static uint64_t rng_state;

static uint8_t
rng8(void)
{
	/* xorshift64*: reproducible, so a failure can be replayed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint8_t)((rng_state * 0x2545f4914f6cdd1dull) >> 56);
}

static int
select_path(int which)
{
	enum codec_impl best = codec_impl_best();

	if (which > (int)best) {
		ck_assert_int_eq(codec_impl_select((enum codec_impl)which),
		    PS_ERR_ARG);
		fprintf(stderr, "test_codec: path %d not on this machine "
		    "(best %d), not tested\n", which, (int)best);
		return 0;
	}
	ck_assert_int_eq(codec_impl_select((enum codec_impl)which), PS_OK);
	return 1;
}

/* Text t of n characters on the selected path: decode (with exactly the
 * room needed) and check agree with the reference, and with the scalar
 * path.  Plain tests with one ck_abort_msg, since every passing ck_assert
 * costs a write to Check's pipe and this runs millions of times. */
static void
agree(const char *t, size_t n, int which, uint8_t *want, uint8_t *got)
{
	long wlen = ref_b64url_decode(t, n, want);
	pserr ok = wlen >= 0 ? PS_OK : PS_ERR_CORRUPT, rc, rs, cc, cs;
	size_t glen = 0, room = wlen >= 0 ? (size_t)wlen : n;

	rc = codec_b64url_decode(t, n, got, room, &glen);
	cc = codec_b64url_check(t, n);
	if (rc != ok || cc != ok || (wlen >= 0 && (glen != (size_t)wlen ||
	    memcmp(got, want, glen) != 0)))
		ck_abort_msg("path %d, %zu chars: decode %d, check %d, want %d",
		    which, n, (int)rc, (int)cc, (int)ok);
	if (which == CODEC_IMPL_SCALAR)
		return;
	if (codec_impl_select(CODEC_IMPL_SCALAR) != PS_OK)
		ck_abort_msg("no scalar path");
	rs = codec_b64url_decode(t, n, got, room, &glen);
	cs = codec_b64url_check(t, n);
	if (codec_impl_select((enum codec_impl)which) != PS_OK)
		ck_abort_msg("path %d gone", which);
	if (rs != rc || cs != cc)
		ck_abort_msg("path %d and scalar disagree on %zu chars", which,
		    n);
}

START_TEST(test_paths_random)
{
	static const size_t big[] = {
		1000, 1023, 1024, 4095, 4096, 4097, 65536 + 7, 1048576 + 1,
	};
	const size_t maxn = 1048576 + 1;
	uint8_t *in = malloc(maxn), *back = malloc(maxn + 64);
	uint8_t *want = malloc(maxn + 64);
	char *enc = malloc(CODEC_B64URL_LEN(maxn) + 64);
	char *ref = malloc(CODEC_B64URL_LEN(maxn) + 64);
	size_t k, n, i, len, got;

	ck_assert(in && back && want && enc && ref);
	if (!select_path(_i))
		goto out;
	/* Known answers on this path too. */
	for (k = 0; k < sizeof(rfc4648) / sizeof(rfc4648[0]); k++) {
		n = strlen(rfc4648[k].in);
		len = codec_b64url_encode((const uint8_t *)rfc4648[k].in, n,
		    enc);
		ck_assert_uint_eq(len, strlen(rfc4648[k].b64url));
		ck_assert_mem_eq(enc, rfc4648[k].b64url, len);
		ck_assert_int_eq(codec_b64url_decode(enc, len, back, n, &got),
		    PS_OK);
		ck_assert_uint_eq(got, n);
		ck_assert_mem_eq(back, rfc4648[k].in, n);
	}
	rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	for (k = 0; k <= 300 + sizeof(big) / sizeof(big[0]); k++) {
		n = k <= 300 ? k : big[k - 301];
		for (i = 0; i < n; i++)
			in[i] = rng8();
		/* Slack after the text is marked, to see nothing runs over. */
		memset(enc, '#', CODEC_B64URL_LEN(n) + 64);
		len = codec_b64url_encode(in, n, enc);
		ck_assert_uint_eq(len, CODEC_B64URL_LEN(n));
		ck_assert_uint_eq(ref_b64url(in, n, ref), len);
		ck_assert_msg(memcmp(enc, ref, len) == 0,
		    "path %d encode of %zu bytes", _i, n);
		for (i = len; i < len + 64; i++)
			ck_assert_int_eq(enc[i], '#');
		agree(enc, len, _i, want, back);
		/* Room for exactly the output, so the last step has none. */
		memset(back, 0xa5, n + 64);
		ck_assert_int_eq(codec_b64url_decode(enc, len, back, n, &got),
		    PS_OK);
		ck_assert_uint_eq(got, n);
		ck_assert_mem_eq(back, in, n);
		for (i = n; i < n + 64; i++)
			ck_assert_uint_eq(back[i], 0xa5);
		if (n > 0)
			ck_assert_int_eq(codec_b64url_decode(enc, len, back,
			    n - 1, &got), PS_ERR_ARG);
		/* One character fewer or more than a whole text. */
		if (len > 0)
			agree(enc, len - 1, _i, want, back);
		enc[len] = 'A';
		agree(enc, len + 1, _i, want, back);
	}
out:
	free(in);
	free(back);
	free(want);
	free(enc);
	free(ref);
}
END_TEST

/* One byte replaced by each of the 256 values: at every position of every
 * text up to 100 characters, and at the positions around each 16-, 32-,
 * 64- and 128-character edge of a 1100-character text and its last ones. */
START_TEST(test_paths_one_bad_byte)
{
	uint8_t in[825], want[900], back[900];
	char enc[1100 + 1], t[1100 + 1];
	size_t m, len, pos, i;
	int b;

	if (!select_path(_i))
		return;
	rng_state = 0x243f6a8885a308d3ull;
	for (i = 0; i < sizeof(in); i++)
		in[i] = rng8();
	for (m = 0; m <= 75; m++) {
		len = codec_b64url_encode(in, m, enc);
		for (pos = 0; pos < len; pos++)
			for (b = 0; b < 256; b++) {
				memcpy(t, enc, len);
				t[pos] = (char)b;
				agree(t, len, _i, want, back);
			}
	}
	len = codec_b64url_encode(in, sizeof(in), enc);
	ck_assert_uint_eq(len, 1100);
	for (pos = 0; pos < len; pos++) {
		if (pos % 16 > 1 && pos % 16 < 15 && pos + 40 < len)
			continue;
		for (b = 0; b < 256; b++) {
			memcpy(t, enc, len);
			t[pos] = (char)b;
			agree(t, len, _i, want, back);
			/* The same in a text ending at every split of the
			 * vector loop and the scalar tail. */
			agree(t, pos + 1 + (size_t)b % 37 < len ?
			    pos + 1 + (size_t)b % 37 : len, _i, want, back);
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
	tcase_add_test(tc, test_hex_every_byte);
	tcase_add_test(tc, test_decode_room);
	tcase_add_test(tc, test_b64url_long_lengths);
	tcase_add_test(tc, test_b64url_every_byte_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("paths");
	/* A few seconds per path; far more under the sanitizers. */
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_paths_random, CODEC_IMPL_SCALAR,
	    CODEC_IMPL_AVX512 + 1);
	tcase_add_loop_test(tc, test_paths_one_bad_byte, CODEC_IMPL_SCALAR,
	    CODEC_IMPL_AVX512 + 1);
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
