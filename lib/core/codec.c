/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <pthread.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <tmmintrin.h>
#define CODEC_SSSE3 1
#endif
#include <string.h>

#include "core/codec.h"

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Tables, built once: enc2 maps 12 bits to their two characters, so three
 * bytes take two lookups; dec0..dec3 map a character to its 6 bits already
 * shifted into place, with every bit above the 24 set for a character
 * outside the alphabet, so four characters take four lookups and one OR.
 */
struct tables {
	uint16_t enc2[4096];
	uint32_t dec[4][256];
};
static struct tables url_tab, std_tab;
static int have_ssse3;

#define BAD 0xff000000u

static void
build(struct tables *t, const char *alpha)
{
	int i, k;

	for (i = 0; i < 4096; i++) {
		char pair[2] = {alpha[i >> 6], alpha[i & 63]};

		memcpy(&t->enc2[i], pair, 2);
	}
	for (k = 0; k < 4; k++)
		for (i = 0; i < 256; i++)
			t->dec[k][i] = BAD;
	for (i = 0; i < 64; i++)
		for (k = 0; k < 4; k++)
			t->dec[k][(uint8_t)alpha[i]] = (uint32_t)i << (18 - 6 * k);
}

static void
init_tables(void)
{
	static int done;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&lock);
	if (!done) {
		build(&url_tab, b64url_alpha);
		build(&std_tab, b64_alpha);
#ifdef CODEC_SSSE3
		have_ssse3 = __builtin_cpu_supports("ssse3");
#endif
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lock);
}

#ifdef CODEC_SSSE3
/*
 * base64url with SSSE3, after Wojciech Mula and Daniel Lemire ("Faster
 * Base64 Encoding and Decoding Using AVX2 Instructions", 2018) in their
 * 128-bit form: 12 bytes become 16 characters per step.  Returns the
 * number of input bytes consumed (a multiple of 12; it reads 16 bytes per
 * step, so it stops while at least 16 remain).
 */
__attribute__((target("ssse3")))
static size_t
url_encode_ssse3(const uint8_t *in, size_t n, char *out)
{
	const __m128i shuf = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3,
	    4, 1, 2, 0, 1);
	/* Offsets to ASCII per class: A-Z, a-z, 0-9 (ten), '-', '_'. */
	const __m128i lut = _mm_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4,
	    -4, -4, -4, -17, 32, 0, 0);
	size_t i = 0;

	for (; n - i >= 16; i += 12, out += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
		__m128i t0, t1, t2, t3, idx, cls;

		x = _mm_shuffle_epi8(x, shuf);
		t0 = _mm_and_si128(x, _mm_set1_epi32(0x0fc0fc00));
		t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
		t2 = _mm_and_si128(x, _mm_set1_epi32(0x003f03f0));
		t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
		idx = _mm_or_si128(t1, t3);
		cls = _mm_subs_epu8(idx, _mm_set1_epi8(51));
		cls = _mm_sub_epi8(cls, _mm_cmpgt_epi8(idx, _mm_set1_epi8(25)));
		x = _mm_add_epi8(idx, _mm_shuffle_epi8(lut, cls));
		_mm_storeu_si128((__m128i *)(void *)out, x);
	}
	return i;
}

/*
 * 16 base64url characters to 12 bytes per step while at least 16 remain
 * and room holds 12 more bytes.  Each character is classed by its high
 * nibble: a second lookup by its low nibble says whether it is in the
 * alphabet (the two class bits never meet for a valid character), a
 * third gives the offset from ASCII to its 6 bits ('_' alone shares its
 * class with other letters).  Characters outside the alphabet set bits in
 * *bad.  Returns the number of characters consumed (a multiple of 16).
 */
__attribute__((target("ssse3")))
static size_t
url_decode_ssse3(const uint8_t *s, size_t n, uint8_t *out, size_t room,
    uint32_t *bad)
{
	/* Class bits: 1 '-' row, 2 digits, 4 letters A-O / a-o rows, 8 P-Z
	 * and '_' row, 16 p-z row, 32 no valid character in the row. */
	const __m128i hi_class = _mm_setr_epi8(32, 32, 1, 2, 4, 8, 4, 16, 32,
	    32, 32, 32, 32, 32, 32, 32);
	const __m128i lo_invalid = _mm_setr_epi8(
	    32 | 1 | 4, 32 | 1, 32 | 1, 32 | 1, 32 | 1, 32 | 1, 32 | 1, 32 | 1,
	    32 | 1, 32 | 1, 32 | 1 | 2, 32 | 1 | 2 | 8 | 16,
	    32 | 1 | 2 | 8 | 16, 32 | 2 | 8 | 16, 32 | 1 | 2 | 8 | 16,
	    32 | 1 | 2 | 16);
	const __m128i hi_offset = _mm_setr_epi8(0, 0, 17, 4, -65, -65, -71,
	    -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13,
	    12, -1, -1, -1, -1);
	__m128i invalid = _mm_setzero_si128();
	uint8_t tmp[16];
	size_t i = 0;

	for (; n - i >= 16 && room >= 12; i += 16, out += 12, room -= 12) {
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i hi = _mm_and_si128(_mm_srli_epi32(c, 4), _mm_set1_epi8(0x0f));
		__m128i lo = _mm_and_si128(c, _mm_set1_epi8(0x0f));
		__m128i us = _mm_cmpeq_epi8(c, _mm_set1_epi8('_'));
		__m128i off = _mm_shuffle_epi8(hi_offset, hi);
		__m128i v;

		invalid = _mm_or_si128(invalid, _mm_and_si128(
		    _mm_shuffle_epi8(hi_class, hi), _mm_shuffle_epi8(lo_invalid, lo)));
		off = _mm_or_si128(_mm_andnot_si128(us, off),
		    _mm_and_si128(us, _mm_set1_epi8(-32)));
		v = _mm_add_epi8(c, off);
		/* Pairs of 6 bits into 12, pairs of 12 into 24, then the three
		 * bytes of each 32-bit lane in big-endian order. */
		v = _mm_maddubs_epi16(v, _mm_set1_epi32(0x01400140));
		v = _mm_madd_epi16(v, _mm_set1_epi32(0x00011000));
		v = _mm_shuffle_epi8(v, pack);
		if (room >= 16) {
			_mm_storeu_si128((__m128i *)(void *)out, v);
		} else {
			_mm_storeu_si128((__m128i *)(void *)tmp, v);
			memcpy(out, tmp, 12);
		}
	}
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(invalid, _mm_setzero_si128())) !=
	    0xffff)
		*bad |= BAD;
	return i;
}
#endif

static size_t
encode(const struct tables *t, const char *alpha, int pad, const uint8_t *in,
    size_t n, char *out)
{
	char *o = out;
	size_t i = 0;

#ifdef CODEC_SSSE3
	if (t == &url_tab && have_ssse3) {
		i = url_encode_ssse3(in, n, out);
		o += i / 3 * 4;
	}
#endif
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		memcpy(o, &t->enc2[v >> 12], 2);
		memcpy(o + 2, &t->enc2[v & 0xfff], 2);
		o += 4;
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = alpha[(v >> 6) & 63];
		if (pad)
			*o++ = '=';
	}
	return (size_t)(o - out);
}

size_t
codec_b64url_encode(const uint8_t *in, size_t n, char *out)
{
	init_tables();
	return encode(&url_tab, b64url_alpha, 0, in, n, out);
}

size_t
codec_b64_encode(const uint8_t *in, size_t n, char *out)
{
	init_tables();
	return encode(&std_tab, b64_alpha, 1, in, n, out);
}

/* The 1..3 characters after the last whole group: their value, or BAD,
 * and BAD too when the unused low bits are not zero (canonical form). */
static uint32_t
tail(const struct tables *t, const uint8_t *s, size_t rem)
{
	uint32_t v;

	if (rem == 1)
		return BAD;
	v = t->dec[0][s[0]] | t->dec[1][s[1]];
	if (rem == 3)
		v |= t->dec[2][s[2]];
	if ((rem == 2 && (v & 0xffff)) || (rem == 3 && (v & 0xff)))
		return BAD;
	return v;
}

static pserr
decode(const struct tables *t, const char *in, size_t n, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t full = n / 4, rem = n % 4, need, i;
	uint32_t bad = 0, v;
	uint8_t *o = out;

	if (rem == 1)
		return PS_ERR_CORRUPT;
	need = full * 3 + (rem ? rem - 1 : 0);
	if (need > outcap)
		return PS_ERR_ARG;
	/* No branch per group: a bad character is noted and decided at the
	 * end (the output is not the caller's to use on failure). */
	i = 0;
#ifdef CODEC_SSSE3
	if (t == &url_tab && have_ssse3) {
		size_t k = url_decode_ssse3(s, full * 4, o, outcap, &bad);

		i = k / 4;
		s += k;
		o += k / 4 * 3;
	}
#endif
	for (; i < full; i++, s += 4) {
		v = t->dec[0][s[0]] | t->dec[1][s[1]] | t->dec[2][s[2]] |
		    t->dec[3][s[3]];
		bad |= v;
		if (i + 1 < full) {
			/* One 4-byte store; its last byte is overwritten by
			 * the next group. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			uint32_t w = __builtin_bswap32(v << 8);
#else
			uint32_t w = v << 8;
#endif

			memcpy(o, &w, 4);
		} else {
			o[0] = (uint8_t)(v >> 16);
			o[1] = (uint8_t)(v >> 8);
			o[2] = (uint8_t)v;
		}
		o += 3;
	}
	if (rem >= 2) {
		v = tail(t, s, rem);
		bad |= v;
		*o++ = (uint8_t)(v >> 16);
		if (rem == 3)
			*o++ = (uint8_t)(v >> 8);
	}
	if (bad & BAD)
		return PS_ERR_CORRUPT;
	*outlen = (size_t)(o - out);
	return PS_OK;
}

pserr
codec_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	init_tables();
	return decode(&url_tab, in, n, out, outcap, outlen);
}

#if defined(__SSE2__)
/* 16 characters at a time: 1 when all are in [A-Za-z0-9_-]. */
static int
url_chars16(const uint8_t *s)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
	    _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
	__m128i lo = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)),
	    _mm_cmplt_epi8(x, _mm_set1_epi8('z' + 1)));
	__m128i dg = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
	    _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	__m128i ok = _mm_or_si128(_mm_or_si128(up, lo), _mm_or_si128(dg,
	    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')),
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('_')))));

	return _mm_movemask_epi8(ok) == 0xffff;
}
#endif

pserr
codec_b64url_check(const char *in, size_t n)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t full = n / 4, i = 0;
	uint32_t bad = 0;

	init_tables();
#if defined(__SSE2__)
	for (; i + 4 <= full; i += 4, s += 16)
		if (!url_chars16(s))
			return PS_ERR_CORRUPT;
#endif
	for (; i < full; i++, s += 4)
		bad |= url_tab.dec[0][s[0]] | url_tab.dec[0][s[1]] |
		    url_tab.dec[0][s[2]] | url_tab.dec[0][s[3]];
	if (n % 4)
		bad |= tail(&url_tab, s, n % 4);
	return bad & BAD ? PS_ERR_CORRUPT : PS_OK;
}

pserr
codec_b64_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	size_t pad = 0;

	init_tables();
	if (n % 4 != 0)
		return PS_ERR_CORRUPT;
	if (n >= 1 && in[n - 1] == '=')
		pad++;
	if (n >= 2 && in[n - 2] == '=')
		pad++;
	return decode(&std_tab, in, n - pad, out, outcap, outlen);
}

size_t
codec_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	return 2 * n;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

pserr
codec_hex_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
	size_t i;

	if (n != 2 * outlen)
		return PS_ERR_CORRUPT;
	for (i = 0; i < outlen; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return PS_ERR_CORRUPT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return PS_OK;
}
