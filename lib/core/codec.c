/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <pthread.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CODEC_SSSE3 1
#define CODEC_AVX2 1
#define CODEC_AVX512 1
#endif
#include <string.h>

#include "core/codec.h"
#include "core/codec_impl.h"

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
#ifdef CODEC_AVX512
/* The byte permutations of the AVX-512 paths and their decoding table
 * (built in init_tables, from formulas a reader can check). */
static struct {
	uint8_t enc_shuf[64];   /* 48 bytes to 16 words of 3, reversed */
	uint8_t dec_pack[64];   /* 16 words of 3 reversed bytes to 48 */
	uint8_t dec_val[128];   /* a character's 6 bits, 0x80 if none */
} __attribute__((aligned(64))) v512;
#endif
/* The base64url path in use: the best this machine runs, chosen once in
 * init_tables (codec_impl_select changes it for tests only). */
static int impl_best, impl_used;

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

#ifdef CODEC_AVX512
static void
build_v512(void)
{
	int i;

	/* Word k of the encoder holds the bytes 3k+2, 3k+1, 3k (and 3k
	 * again, unused): as a little-endian number, the group's 24 bits
	 * with the first character's 6 at the top, as in the scalar code. */
	for (i = 0; i < 64; i++)
		v512.enc_shuf[i] = (uint8_t)(3 * (i / 4) +
		    (i % 4 < 3 ? 2 - i % 4 : 0));
	/* The decoder's words hold each group's 24 bits the same way: byte
	 * 2 of word k is output byte 3k. */
	for (i = 0; i < 64; i++)
		v512.dec_pack[i] = (uint8_t)(i < 48 ? 4 * (i / 3) + 2 - i % 3 :
		    0);
	memset(v512.dec_val, 0x80, sizeof(v512.dec_val));
	for (i = 0; i < 64; i++)
		v512.dec_val[(uint8_t)b64url_alpha[i]] = (uint8_t)i;
}
#endif

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
		impl_best = CODEC_IMPL_SCALAR;
#ifdef CODEC_SSSE3
		if (__builtin_cpu_supports("ssse3"))
			impl_best = CODEC_IMPL_SSSE3;
#endif
#ifdef CODEC_AVX2
		if (impl_best == CODEC_IMPL_SSSE3 &&
		    __builtin_cpu_supports("avx2"))
			impl_best = CODEC_IMPL_AVX2;
#endif
#ifdef CODEC_AVX512
		if (impl_best == CODEC_IMPL_AVX2 &&
		    __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vbmi"))
			impl_best = CODEC_IMPL_AVX512;
		build_v512();
#endif
		impl_used = impl_best;
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

/* Class bits of a character by its high nibble: 1 '-' row, 2 digits, 4
 * letters A-O / a-o rows, 8 P-Z and '_' row, 16 p-z row, 32 no valid
 * character in the row; and by its low nibble, the classes in which that
 * nibble is not in the alphabet (32 always).  A character is in the
 * alphabet exactly when the two share no bit. */
#define URL_HI_CLASS 32, 32, 1, 2, 4, 8, 4, 16, 32, 32, 32, 32, 32, 32, 32, 32
#define URL_LO_INVALID \
	32 | 1 | 4, 32 | 1, 32 | 1, 32 | 1, 32 | 1, 32 | 1, 32 | 1, 32 | 1, \
	32 | 1, 32 | 1, 32 | 1 | 2, 32 | 1 | 2 | 8 | 16, 32 | 1 | 2 | 8 | 16, \
	32 | 2 | 8 | 16, 32 | 1 | 2 | 8 | 16, 32 | 1 | 2 | 16

/*
 * One step of url_decode_ssse3: 16 base64url characters to 12 bytes at
 * the bottom of the result.  Each character is classed by its high
 * nibble: a second lookup by its low nibble says whether it is in the
 * alphabet (the two class bits never meet for a valid character), a third
 * gives the offset from ASCII to its 6 bits ('_' alone shares its class
 * with other letters).  Characters outside the alphabet set bits in
 * *invalid.
 */
__attribute__((target("ssse3")))
static inline __m128i
url_decode16(__m128i c, __m128i *invalid)
{
	const __m128i hi_class = _mm_setr_epi8(URL_HI_CLASS);
	const __m128i lo_invalid = _mm_setr_epi8(URL_LO_INVALID);
	const __m128i hi_offset = _mm_setr_epi8(0, 0, 17, 4, -65, -65, -71,
	    -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13,
	    12, -1, -1, -1, -1);
	__m128i hi = _mm_and_si128(_mm_srli_epi32(c, 4), _mm_set1_epi8(0x0f));
	__m128i lo = _mm_and_si128(c, _mm_set1_epi8(0x0f));
	__m128i us = _mm_cmpeq_epi8(c, _mm_set1_epi8('_'));
	__m128i off = _mm_shuffle_epi8(hi_offset, hi);
	__m128i v;

	*invalid = _mm_or_si128(*invalid, _mm_and_si128(
	    _mm_shuffle_epi8(hi_class, hi), _mm_shuffle_epi8(lo_invalid, lo)));
	off = _mm_or_si128(_mm_andnot_si128(us, off),
	    _mm_and_si128(us, _mm_set1_epi8(-32)));
	v = _mm_add_epi8(c, off);
	/* Pairs of 6 bits into 12, pairs of 12 into 24, then the three bytes
	 * of each 32-bit lane in big-endian order. */
	v = _mm_maddubs_epi16(v, _mm_set1_epi32(0x01400140));
	v = _mm_madd_epi16(v, _mm_set1_epi32(0x00011000));
	return _mm_shuffle_epi8(v, pack);
}

/* 16 characters to 12 bytes per step while at least 16 remain and room
 * holds 12 more bytes, stored straight into out while room holds 16 (see
 * url_decode_avx2).  Returns the number of characters consumed (a
 * multiple of 16). */
__attribute__((target("ssse3")))
static size_t
url_decode_ssse3(const uint8_t *s, size_t n, uint8_t *out, size_t room,
    uint32_t *bad)
{
	__m128i invalid = _mm_setzero_si128();
	size_t i = 0;

	for (; n - i >= 16 && room >= 16; i += 16, out += 12, room -= 12)
		_mm_storeu_si128((__m128i *)(void *)out, url_decode16(
		    _mm_loadu_si128((const __m128i *)(const void *)(s + i)),
		    &invalid));
	if (n - i >= 16 && room >= 12) {
		uint8_t tmp[16];

		_mm_storeu_si128((__m128i *)(void *)tmp, url_decode16(
		    _mm_loadu_si128((const __m128i *)(const void *)(s + i)),
		    &invalid));
		memcpy(out, tmp, 12);
		i += 16;
	}
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(invalid, _mm_setzero_si128())) !=
	    0xffff)
		*bad |= BAD;
	return i;
}

/*
 * The alphabet test of url_decode_ssse3 alone: two lookups and an AND per
 * 16 characters, ORed together and tested once at the end (the text is
 * public, and a branch per block costs more than it saves).  Sets BAD in
 * *bad for a character outside the alphabet; returns the number of
 * characters looked at (a multiple of 16, at most n).
 */
__attribute__((target("ssse3")))
static size_t
url_check_ssse3(const uint8_t *s, size_t n, uint32_t *bad)
{
	const __m128i hi_class = _mm_setr_epi8(URL_HI_CLASS);
	const __m128i lo_invalid = _mm_setr_epi8(URL_LO_INVALID);
	const __m128i nib = _mm_set1_epi8(0x0f);
	__m128i acc = _mm_setzero_si128(), acc2 = _mm_setzero_si128();
	size_t i = 0;

#define URL_CHECK16(a, p) do {						\
	__m128i c_ = _mm_loadu_si128((const __m128i *)(const void *)(p));	\
	(a) = _mm_or_si128((a), _mm_and_si128(				\
	    _mm_shuffle_epi8(hi_class, _mm_and_si128(_mm_srli_epi32(c_, 4),	\
	    nib)), _mm_shuffle_epi8(lo_invalid, _mm_and_si128(c_, nib))));	\
} while (0)
	for (; n - i >= 64; i += 64) {
		URL_CHECK16(acc, s + i);
		URL_CHECK16(acc2, s + i + 16);
		URL_CHECK16(acc, s + i + 32);
		URL_CHECK16(acc2, s + i + 48);
	}
	for (; n - i >= 16; i += 16)
		URL_CHECK16(acc, s + i);
#undef URL_CHECK16
	acc = _mm_or_si128(acc, acc2);
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128())) !=
	    0xffff)
		*bad |= BAD;
	return i;
}
#endif

#ifdef CODEC_AVX2
/*
 * The 256-bit forms of the three functions above (Mula and Lemire's AVX2
 * code): every 128-bit lane does what the SSSE3 code does, so the tables
 * are the same ones twice.  Compiled for AVX2 alone and called only when
 * init_tables found it, so the build needs no -mavx2.
 */

/* 24 bytes become 32 characters per step.  The lanes must hold bytes 0..11
 * and 12..23: a 32-byte load from 4 bytes before the step puts them at
 * 4..15 of the low lane and 0..11 of the high one, and the shuffle of
 * each lane picks its own.  The first step, with nothing before it, moves
 * the words into place with one permute instead.  Returns the number of
 * bytes consumed (a multiple of 24; every load stays inside in[0..n)). */
__attribute__((target("avx2")))
static size_t
url_encode_avx2(const uint8_t *in, size_t n, char *out)
{
	const __m256i shuf = _mm256_setr_epi8(
	    5, 4, 6, 5, 8, 7, 9, 8, 11, 10, 12, 11, 14, 13, 15, 14,
	    1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
	const __m256i lut = _mm256_setr_epi8(
	    65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -17, 32, 0, 0,
	    65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -17, 32, 0, 0);
	size_t i = 0;

	if (n < 32)
		return 0;
	for (; n - i >= 28; i += 24, out += 32) {
		__m256i x, t0, t1, t2, t3, idx, cls;

		if (i == 0)
			x = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(
			    (const __m256i *)(const void *)in),
			    _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 5));
		else
			x = _mm256_loadu_si256(
			    (const __m256i *)(const void *)(in + i - 4));
		x = _mm256_shuffle_epi8(x, shuf);
		t0 = _mm256_and_si256(x, _mm256_set1_epi32(0x0fc0fc00));
		t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
		t2 = _mm256_and_si256(x, _mm256_set1_epi32(0x003f03f0));
		t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
		idx = _mm256_or_si256(t1, t3);
		cls = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
		cls = _mm256_sub_epi8(cls, _mm256_cmpgt_epi8(idx,
		    _mm256_set1_epi8(25)));
		x = _mm256_add_epi8(idx, _mm256_shuffle_epi8(lut, cls));
		_mm256_storeu_si256((__m256i *)(void *)out, x);
	}
	return i;
}

/* One step of url_decode_avx2: 32 characters to 24 bytes at the bottom
 * of the result, the alphabet test ORed into *invalid.  Each lane packs
 * its 12 bytes to its bottom and one permute joins the two. */
__attribute__((target("avx2")))
static inline __m256i
url_decode32(__m256i c, __m256i *invalid)
{
	const __m256i hi_class = _mm256_setr_epi8(URL_HI_CLASS, URL_HI_CLASS);
	const __m256i lo_invalid = _mm256_setr_epi8(URL_LO_INVALID,
	    URL_LO_INVALID);
	const __m256i hi_offset = _mm256_setr_epi8(
	    0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i pack = _mm256_setr_epi8(
	    2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
	    2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
	const __m256i nib = _mm256_set1_epi8(0x0f);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi32(c, 4), nib);
	__m256i lo = _mm256_and_si256(c, nib);
	__m256i us = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('_'));
	__m256i off = _mm256_shuffle_epi8(hi_offset, hi);
	__m256i v;

	*invalid = _mm256_or_si256(*invalid, _mm256_and_si256(
	    _mm256_shuffle_epi8(hi_class, hi),
	    _mm256_shuffle_epi8(lo_invalid, lo)));
	off = _mm256_blendv_epi8(off, _mm256_set1_epi8(-32), us);
	v = _mm256_add_epi8(c, off);
	v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
	v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
	v = _mm256_shuffle_epi8(v, pack);
	return _mm256_permutevar8x32_epi32(v, join);
}

/* 32 characters to 24 bytes per step while at least 32 remain and room
 * holds 24 more bytes.  Each step stores 32 bytes straight into out while
 * room holds them; only a last step short of that goes through a copy
 * (one path for both made the compiler keep every result in memory, and
 * a store and reload per step halved the speed).  As url_decode_ssse3
 * otherwise. */
__attribute__((target("avx2")))
static size_t
url_decode_avx2(const uint8_t *s, size_t n, uint8_t *out, size_t room,
    uint32_t *bad)
{
	__m256i invalid = _mm256_setzero_si256();
	size_t i = 0;

	for (; n - i >= 32 && room >= 32; i += 32, out += 24, room -= 24)
		_mm256_storeu_si256((__m256i *)(void *)out, url_decode32(
		    _mm256_loadu_si256((const __m256i *)(const void *)(s + i)),
		    &invalid));
	if (n - i >= 32 && room >= 24) {
		uint8_t tmp[32];

		_mm256_storeu_si256((__m256i *)(void *)tmp, url_decode32(
		    _mm256_loadu_si256((const __m256i *)(const void *)(s + i)),
		    &invalid));
		memcpy(out, tmp, 24);
		i += 32;
	}
	if (!_mm256_testz_si256(invalid, invalid))
		*bad |= BAD;
	return i;
}

/* url_check_ssse3 on 32 characters per lookup. */
__attribute__((target("avx2")))
static size_t
url_check_avx2(const uint8_t *s, size_t n, uint32_t *bad)
{
	const __m256i hi_class = _mm256_setr_epi8(URL_HI_CLASS, URL_HI_CLASS);
	const __m256i lo_invalid = _mm256_setr_epi8(URL_LO_INVALID,
	    URL_LO_INVALID);
	const __m256i nib = _mm256_set1_epi8(0x0f);
	__m256i acc = _mm256_setzero_si256(), acc2 = _mm256_setzero_si256();
	size_t i = 0;

#define URL_CHECK32(a, p) do {						\
	__m256i c_ = _mm256_loadu_si256((const __m256i *)(const void *)(p)); \
	(a) = _mm256_or_si256((a), _mm256_and_si256(			\
	    _mm256_shuffle_epi8(hi_class, _mm256_and_si256(		\
	    _mm256_srli_epi32(c_, 4), nib)),				\
	    _mm256_shuffle_epi8(lo_invalid, _mm256_and_si256(c_, nib))));	\
} while (0)
	for (; n - i >= 128; i += 128) {
		URL_CHECK32(acc, s + i);
		URL_CHECK32(acc2, s + i + 32);
		URL_CHECK32(acc, s + i + 64);
		URL_CHECK32(acc2, s + i + 96);
	}
	for (; n - i >= 32; i += 32)
		URL_CHECK32(acc, s + i);
#undef URL_CHECK32
	acc = _mm256_or_si256(acc, acc2);
	if (!_mm256_testz_si256(acc, acc))
		*bad |= BAD;
	return i;
}
#endif

#ifdef CODEC_AVX512
/*
 * base64url with AVX-512 VBMI, after Wojciech Mula and Daniel Lemire
 * ("Base64 encoding and decoding at almost the speed of a memory copy",
 * 2019): byte permutes replace the AVX2 code's class arithmetic, so 48
 * bytes become 64 characters in one permute, one multishift (each
 * character's 6 bits moved to the bottom of its byte) and one permute
 * through the alphabet.  The loads are masked to 48 bytes: nothing is
 * read past in[n).  Returns the bytes consumed (a multiple of 48).
 */
#define V512 __attribute__((target("avx512f,avx512bw,avx512vbmi")))
V512
static size_t
url_encode_avx512(const uint8_t *in, size_t n, char *out)
{
	const __m512i shuf = _mm512_load_si512(v512.enc_shuf);
	const __m512i alpha = _mm512_loadu_si512(b64url_alpha);
	/* Per 64-bit word (two groups): the bit offset of each character's
	 * 6 bits, 18, 12, 6 and 0 in the low group, 32 more in the high. */
	const __m512i shifts = _mm512_set1_epi64(0x20262c3200060c12);
	size_t i = 0;

	for (; n - i >= 48; i += 48, out += 64) {
		__m512i x = _mm512_maskz_loadu_epi8(0xffffffffffffULL, in + i);

		x = _mm512_permutexvar_epi8(shuf, x);
		x = _mm512_multishift_epi64_epi8(shifts, x);
		_mm512_storeu_si512(out, _mm512_permutexvar_epi8(x, alpha));
	}
	return i;
}

/* One step of url_decode_avx512: 64 characters to 48 bytes at the bottom
 * of the result.  A character outside the alphabet, or of 0x80 and above,
 * sets the top bit of its byte of *invalid. */
V512
static inline __m512i
url_decode64(__m512i c, __m512i *invalid)
{
	const __m512i lo = _mm512_load_si512(v512.dec_val);
	const __m512i hi = _mm512_load_si512(v512.dec_val + 64);
	__m512i v = _mm512_permutex2var_epi8(lo, c, hi);

	*invalid = _mm512_ternarylogic_epi32(*invalid, v, c, 0xfe);
	v = _mm512_maddubs_epi16(v, _mm512_set1_epi32(0x01400140));
	v = _mm512_madd_epi16(v, _mm512_set1_epi32(0x00011000));
	return _mm512_permutexvar_epi8(_mm512_load_si512(v512.dec_pack), v);
}

/* 64 characters to 48 bytes per step while at least 64 remain and room
 * holds 48 more bytes; a step stores 64 bytes while room holds them, the
 * last one only its 48.  As url_decode_avx2 otherwise. */
V512
static size_t
url_decode_avx512(const uint8_t *s, size_t n, uint8_t *out, size_t room,
    uint32_t *bad)
{
	__m512i invalid = _mm512_setzero_si512();
	size_t i = 0;

	for (; n - i >= 64 && room >= 64; i += 64, out += 48, room -= 48)
		_mm512_storeu_si512(out, url_decode64(_mm512_loadu_si512(s + i),
		    &invalid));
	if (n - i >= 64 && room >= 48) {
		_mm512_mask_storeu_epi8(out, 0xffffffffffffULL, url_decode64(
		    _mm512_loadu_si512(s + i), &invalid));
		i += 64;
	}
	if (_mm512_movepi8_mask(invalid) != 0)
		*bad |= BAD;
	return i;
}

/* The alphabet test of url_decode_avx512 alone. */
V512
static size_t
url_check_avx512(const uint8_t *s, size_t n, uint32_t *bad)
{
	const __m512i lo = _mm512_load_si512(v512.dec_val);
	const __m512i hi = _mm512_load_si512(v512.dec_val + 64);
	__m512i acc = _mm512_setzero_si512();
	size_t i = 0;

	for (; n - i >= 64; i += 64) {
		__m512i c = _mm512_loadu_si512(s + i);

		acc = _mm512_ternarylogic_epi32(acc, c,
		    _mm512_permutex2var_epi8(lo, c, hi), 0xfe);
	}
	if (_mm512_movepi8_mask(acc) != 0)
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

#ifdef CODEC_AVX512
	if (t == &url_tab && impl_used >= CODEC_IMPL_AVX512) {
		i = url_encode_avx512(in, n, o);
		o += i / 3 * 4;
	}
#endif
#ifdef CODEC_AVX2
	if (t == &url_tab && impl_used >= CODEC_IMPL_AVX2) {
		size_t k = url_encode_avx2(in + i, n - i, o);

		i += k;
		o += k / 3 * 4;
	}
#endif
#ifdef CODEC_SSSE3
	if (t == &url_tab && impl_used >= CODEC_IMPL_SSSE3) {
		size_t k = url_encode_ssse3(in + i, n - i, o);

		i += k;
		o += k / 3 * 4;
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

pserr
codec_b64url_append(struct buf *b, const void *in, size_t n)
{
	pserr rc;

	if ((rc = buf_reserve(b, CODEC_B64URL_LEN(n))) != PS_OK)
		return rc;
	b->len += codec_b64url_encode(in, n, b->p + b->len);
	return PS_OK;
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
#ifdef CODEC_AVX512
	if (t == &url_tab && impl_used >= CODEC_IMPL_AVX512) {
		size_t k = url_decode_avx512(s, full * 4, o, outcap, &bad);

		i = k / 4;
		s += k;
		o += k / 4 * 3;
	}
#endif
#ifdef CODEC_AVX2
	if (t == &url_tab && impl_used >= CODEC_IMPL_AVX2) {
		size_t k = url_decode_avx2(s, (full - i) * 4, o,
		    outcap - (size_t)(o - out), &bad);

		i += k / 4;
		s += k;
		o += k / 4 * 3;
	}
#endif
#ifdef CODEC_SSSE3
	if (t == &url_tab && impl_used >= CODEC_IMPL_SSSE3) {
		size_t k = url_decode_ssse3(s, (full - i) * 4, o,
		    outcap - (size_t)(o - out), &bad);

		i += k / 4;
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

pserr
codec_b64url_check(const char *in, size_t n)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t full = n / 4, i = 0;
	uint32_t bad = 0;

	init_tables();
#ifdef CODEC_AVX512
	if (impl_used >= CODEC_IMPL_AVX512) {
		size_t k = url_check_avx512(s, full * 4, &bad);

		i = k / 4;
		s += k;
	}
#endif
#ifdef CODEC_AVX2
	if (impl_used >= CODEC_IMPL_AVX2) {
		size_t k = url_check_avx2(s, (full - i) * 4, &bad);

		i += k / 4;
		s += k;
	}
#endif
#ifdef CODEC_SSSE3
	if (impl_used >= CODEC_IMPL_SSSE3) {
		size_t k = url_check_ssse3(s, (full - i) * 4, &bad);

		i += k / 4;
		s += k;
	}
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

enum codec_impl
codec_impl_best(void)
{
	init_tables();
	return (enum codec_impl)impl_best;
}

pserr
codec_impl_select(enum codec_impl which)
{
	init_tables();
	if ((int)which < CODEC_IMPL_SCALAR || (int)which > impl_best)
		return PS_ERR_ARG;
	impl_used = (int)which;
	return PS_OK;
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

/* A hex digit's value plus one; 0 for any other byte (uppercase too). */
static const uint8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

pserr
codec_hex_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
	unsigned bad = 0;
	size_t i;

	if (n != 2 * outlen)
		return PS_ERR_CORRUPT;
	/* A lookup per digit, no branch per digit: every envelope has a
	 * kid of 32.  A bad digit is decided at the end (the output is not
	 * the caller's to use on failure). */
	for (i = 0; i < outlen; i++) {
		unsigned hi = hexval[(uint8_t)in[2 * i]];
		unsigned lo = hexval[(uint8_t)in[2 * i + 1]];

		bad |= (hi - 1) | (lo - 1);
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return bad > 15 ? PS_ERR_CORRUPT : PS_OK;
}
