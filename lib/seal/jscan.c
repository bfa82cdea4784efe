/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define JSCAN_AVX2 1
#define JSCAN_AVX512 1
#endif

#include "core/secret.h"
#include "seal/jscan.h"
#include "seal/jscan_impl.h"

/*
 * A 1 MiB prompt is mostly the inside of one string, so the string loop
 * decides the speed: it looks at 64 (AVX-512 or AVX2, past a string's
 * first 32 bytes), 32 (AVX2), 16 (SSE2) or 8 (portable) bytes at a time
 * and stops
 * only at a quote, a backslash, a control byte or a non-ASCII byte.
 * Everything else is a byte loop over short tokens.
 */

#define IS_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

enum { OBJ_FIRST = 0, OBJ_NEXT, OBJ_DONE, OBJ_FAILED };

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && IS_WS(*p))
		p++;
	return p;
}

#ifdef JSCAN_AVX2
/* The string path in use (enum jscan_impl): decided once, when the
 * library is loaded (jscan_impl_select() changes it for tests only). */
static int impl_best, impl_used;

__attribute__((constructor))
static void
impl_init(void)
{
	__builtin_cpu_init();
	impl_best = JSCAN_IMPL_SSE2;
	if (__builtin_cpu_supports("avx2")) {
		impl_best = JSCAN_IMPL_AVX2;
		if (__builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("bmi"))
			impl_best = JSCAN_IMPL_AVX512;
	}
	impl_used = impl_best;
}
#endif

int
jscan_impl_select(enum jscan_impl which)
{
#ifdef JSCAN_AVX2
	if ((int)which < JSCAN_IMPL_SSE2 || (int)which > impl_best)
		return -1;
	impl_used = (int)which;
	return 0;
#else
	return which == JSCAN_IMPL_SSE2 ? 0 : -1;
#endif
}

/* Skip plain string bytes; stop at the first byte that needs a look. */
static const char *
skip_plain(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* A signed compare: bytes >= 0x80 are negative, so one
		 * compare catches control bytes and non-ASCII bytes alike. */
		__m128i hit = _mm_or_si128(_mm_or_si128(
		    _mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
		    _mm_cmplt_epi8(v, space));
		int mask = _mm_movemask_epi8(hit);

		if (mask != 0)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#else
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;

	while (end - p >= 8) {
		uint64_t w, q, b, hit;

		memcpy(&w, p, 8);
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		/* Zero-byte and less-than tests from "Bit Twiddling Hacks";
		 * their lowest flag is exact, later ones may be spurious. */
		hit = ((q - ones) & ~q) | ((b - ones) & ~b) |
		    ((w - ones * 0x20) & ~w) | w;
		hit &= highs;
		if (hit != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(hit) >> 3);
#else
			return p;
#endif
		}
		p += 8;
	}
#endif
	while (p < end) {
		uint8_t c = (uint8_t)*p;

		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
			break;
		p++;
	}
	return p;
}

static int
hex4(const char *p, unsigned *v)
{
	unsigned r = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			r |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*v = r;
	return 0;
}

/*
 * p is just past a backslash.  Returns the end of the escape, or NULL.
 * *cp receives the code point (a surrogate pair combined).
 */
static const char *
scan_escape(const char *p, const char *end, unsigned *cp)
{
	unsigned u, lo;

	if (p >= end)
		return NULL;
	switch (*p) {
	case '"': *cp = '"'; return p + 1;
	case '\\': *cp = '\\'; return p + 1;
	case '/': *cp = '/'; return p + 1;
	case 'b': *cp = '\b'; return p + 1;
	case 'f': *cp = '\f'; return p + 1;
	case 'n': *cp = '\n'; return p + 1;
	case 'r': *cp = '\r'; return p + 1;
	case 't': *cp = '\t'; return p + 1;
	case 'u': break;
	default: return NULL;
	}
	if (end - p < 5 || hex4(p + 1, &u) != 0)
		return NULL;
	p += 5;
	if (u >= 0xdc00 && u <= 0xdfff)
		return NULL;
	if (u >= 0xd800 && u <= 0xdbff) {
		if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
		    hex4(p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return NULL;
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	*cp = u;
	return p;
}

/* p is at a byte >= 0x80.  Returns the end of one well-formed UTF-8
 * sequence (Unicode table 3-7), or NULL. */
static inline const char *
scan_utf8(const char *p, const char *end)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t left = (size_t)(end - p);
	uint8_t lo = 0x80, hi = 0xbf;

	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		if (left < 2 || (u[1] & 0xc0) != 0x80)
			return NULL;
		return p + 2;
	}
	if (u[0] >= 0xe0 && u[0] <= 0xef) {
		if (u[0] == 0xe0)
			lo = 0xa0;
		else if (u[0] == 0xed)
			hi = 0x9f;
		if (left < 3 || u[1] < lo || u[1] > hi ||
		    (u[2] & 0xc0) != 0x80)
			return NULL;
		return p + 3;
	}
	if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		if (u[0] == 0xf0)
			lo = 0x90;
		else if (u[0] == 0xf4)
			hi = 0x8f;
		if (left < 4 || u[1] < lo || u[1] > hi ||
		    (u[2] & 0xc0) != 0x80 || (u[3] & 0xc0) != 0x80)
			return NULL;
		return p + 4;
	}
	return NULL;
}

/* p is just past the opening quote.  Returns the position just past the
 * closing quote, or NULL; sets *esc when an escape was seen. */
/* The characters that may follow a backslash, but for 'u'. */
static const uint8_t simple_escape[256] = {
	['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1,
	['r'] = 1, ['t'] = 1,
};

#ifdef JSCAN_AVX2
/* The bytes that may follow a backslash in a two-character escape
 * (simple_escape), as nibble classes for a pair of lookups: a byte is
 * one of them exactly when the class of its high nibble (1: row 2, 2:
 * row 5, 4: row 6, 8: row 7) is among the classes of its low nibble. */
#define ESC_HI 0, 0, 1, 0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0
#define ESC_LO 0, 0, 1 | 4 | 8, 0, 8, 0, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1
#define ODD_BITS 0xaaaaaaaaaaaaaaaaULL

__attribute__((target("avx2")))
static inline uint64_t
mask64(__m256i lo, __m256i hi)
{
	return (uint32_t)_mm256_movemask_epi8(lo) |
	    (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
}

/* The bytes of v that are one of simple_escape's, as a 32-bit mask. */
__attribute__((target("avx2")))
static inline uint32_t
simple_escapes32(__m256i v)
{
	const __m256i hi_class = _mm256_setr_epi8(ESC_HI, ESC_HI);
	const __m256i lo_class = _mm256_setr_epi8(ESC_LO, ESC_LO);
	const __m256i nib = _mm256_set1_epi8(0x0f);
	__m256i c = _mm256_and_si256(
	    _mm256_shuffle_epi8(hi_class,
	    _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)),
	    _mm256_shuffle_epi8(lo_class, _mm256_and_si256(v, nib)));

	return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(c,
	    _mm256_setzero_si256()));
}

/*
 * The mask arithmetic of the 64-byte block at p, for both block loops: bs
 * its backslashes, look its quotes, control and non-ASCII bytes, simple
 * its bytes that may follow a backslash in a two-character escape.
 * Returns where the string loop stops in the block (as skip_blocks_avx2
 * says), or NULL and *next, where the next block starts.  Sets *esc when
 * it passed an escape.
 */
static inline __attribute__((always_inline)) const char *
block_step(const char *p, uint64_t bs, uint64_t look, uint64_t simple,
    int *esc, const char **next)
{
	/* Backslashes that start an escape (escape) and the bytes they
	 * escape (escaped).  No branch: most blocks of a prompt hold a
	 * backslash. */
	uint64_t code = (((bs << 1) | ODD_BITS) - bs) ^ ODD_BITS;
	uint64_t escaped = code ^ bs, escape = code & bs;
	/* An escaped quote goes on; an escaped control byte is bad, and its
	 * backslash comes first. */
	uint64_t bad = escaped & ~simple;
	uint64_t stop = (look & ~escaped) | bad >> 1;

	if (stop != 0) {
		if (escape & ((stop & -stop) - 1))
			*esc = 1;
		return p + __builtin_ctzll(stop);
	}
	if (escape != 0)
		*esc = 1;
	/* A branch, not arithmetic: the address of the next load must not
	 * wait for this block's masks.  The empty asm keeps GCC from turning
	 * it into arithmetic. */
	if (__builtin_expect((escape >> 63) != 0, 0)) {
		__asm__ volatile("");
		*next = p + 63;
	} else {
		*next = p + 64;
	}
	return NULL;
}

/*
 * The inside of a long string 64 bytes at a time, with no branch per
 * escape: the bytes escaped by a backslash come from bit arithmetic on
 * the mask of backslashes (odd runs escape the next byte, as in simdjson),
 * so a prompt's "\n" every line costs no mispredicted branch.  Stops at an
 * unescaped quote, a control or non-ASCII byte, or the backslash of an
 * escape that is not two characters ("\u", or a bad one); else where
 * fewer than 64 bytes are left, never between a backslash and the byte it
 * escapes.  Sets *esc when it passed an escape.
 *
 * No block starts at an escaped byte: one whose last byte starts an
 * escape is followed by the block that starts at that backslash, 63
 * bytes on.  So a block's escapes depend on its own bytes alone, and no
 * chain of arithmetic runs from one block to the next.
 */
__attribute__((target("avx2")))
static const char *
skip_blocks_avx2(const char *p, const char *end, int *esc)
{
	const __m256i quote = _mm256_set1_epi8('"');
	const __m256i bslash = _mm256_set1_epi8('\\');
	const __m256i space = _mm256_set1_epi8(0x20);

	while (end - p >= 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
		__m256i b = _mm256_loadu_si256(
		    (const __m256i *)(const void *)(p + 32));
		uint64_t bs = mask64(_mm256_cmpeq_epi8(a, bslash),
		    _mm256_cmpeq_epi8(b, bslash));
		/* Quotes, and (signed, as in skip_plain(): 0x80..0xff are
		 * below a space) control and non-ASCII bytes. */
		uint64_t look = mask64(_mm256_or_si256(
		    _mm256_cmpeq_epi8(a, quote), _mm256_cmpgt_epi8(space, a)),
		    _mm256_or_si256(_mm256_cmpeq_epi8(b, quote),
		    _mm256_cmpgt_epi8(space, b)));
		uint64_t simple = simple_escapes32(a) |
		    (uint64_t)simple_escapes32(b) << 32;
		const char *stop;

		if ((stop = block_step(p, bs, look, simple, esc, &p)) != NULL)
			return stop;
	}
	return p;
}

#ifdef JSCAN_AVX512
/*
 * skip_blocks_avx2 with AVX-512 BW: the byte compares and the nibble
 * lookups of a whole block in one register each, their results straight
 * into 64-bit masks.  The same contract, and the same block_step().
 * With BMI's andn: without it GCC did that arithmetic in mask registers,
 * and the moves between them and general registers made this path slower
 * than AVX2's.
 */
__attribute__((target("avx512f,avx512bw,bmi")))
static const char *
skip_blocks_avx512(const char *p, const char *end, int *esc)
{
	const __m512i quote = _mm512_set1_epi8('"');
	const __m512i bslash = _mm512_set1_epi8('\\');
	const __m512i space = _mm512_set1_epi8(0x20);
	const __m512i hi_class = _mm512_broadcast_i32x4(
	    _mm_setr_epi8(ESC_HI));
	const __m512i lo_class = _mm512_broadcast_i32x4(
	    _mm_setr_epi8(ESC_LO));
	const __m512i nib = _mm512_set1_epi8(0x0f);

	while (end - p >= 64) {
		__m512i a = _mm512_loadu_si512(p);
		uint64_t bs = _mm512_cmpeq_epi8_mask(a, bslash);
		/* Signed: 0x80..0xff are below a space. */
		uint64_t look = _mm512_cmpeq_epi8_mask(a, quote) |
		    _mm512_cmplt_epi8_mask(a, space);
		uint64_t simple = _mm512_test_epi8_mask(
		    _mm512_shuffle_epi8(hi_class,
		    _mm512_and_si512(_mm512_srli_epi16(a, 4), nib)),
		    _mm512_shuffle_epi8(lo_class, _mm512_and_si512(a, nib)));
		const char *stop;

		if ((stop = block_step(p, bs, look, simple, esc, &p)) != NULL)
			return stop;
	}
	return p;
}
#endif

/*
 * The inside of a string 32 bytes at a time, two-character escapes
 * included: a prompt has "\n" every line, and going back to the caller
 * for each cost more than the bytes between them.  Stops at the first
 * other byte that needs a look (a quote, "\u", a bad escape, a control or
 * non-ASCII byte), or where fewer than 32 bytes are left; sets *esc when
 * it passed an escape.
 */
__attribute__((target("avx2")))
static const char *
skip_plain_avx2(const char *p, const char *end, int *esc)
{
	const __m256i quote = _mm256_set1_epi8('"');
	const __m256i bslash = _mm256_set1_epi8('\\');
	const __m256i space = _mm256_set1_epi8(0x20);

	while (end - p >= 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
		/* Signed, as in skip_plain(): 0x80..0xff are below a space. */
		__m256i hit = _mm256_or_si256(_mm256_or_si256(
		    _mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, bslash)),
		    _mm256_cmpgt_epi8(space, v));
		unsigned mask = (unsigned)_mm256_movemask_epi8(hit);
		const char *q;

		if (mask == 0) {
			/* Past 32 plain bytes the string is a long one. */
			p += 32;
			if (end - p < 64)
				continue;
#ifdef JSCAN_AVX512
			if (impl_used == JSCAN_IMPL_AVX512)
				p = skip_blocks_avx512(p, end, esc);
			else
#endif
				p = skip_blocks_avx2(p, end, esc);
			continue;
		}
		q = p + __builtin_ctz(mask);
		if (*q != '\\' || end - q < 2 ||
		    !simple_escape[(uint8_t)q[1]])
			return q;
		*esc = 1;
		p = q + 2;
	}
	return p;
}
#endif

static const char *
scan_string(const char *p, const char *end, int *esc)
{
	unsigned cp;

	for (;;) {
		uint8_t c;

#ifdef JSCAN_AVX2
		if (impl_used >= JSCAN_IMPL_AVX2)
			p = skip_plain_avx2(p, end, esc);
#endif
		p = skip_plain(p, end);
		if (p >= end)
			return NULL;
		c = (uint8_t)*p;
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			/* The two-character escapes (a newline every line of a
			 * prompt) stay in this loop; only \u goes out. */
			if (end - p >= 2 && simple_escape[(uint8_t)p[1]]) {
				p += 2;
			} else if ((p = scan_escape(p + 1, end, &cp)) == NULL) {
				return NULL;
			}
			*esc = 1;
		} else if (c < 0x20) {
			return NULL;
		} else {
			/* Text in most scripts is runs of multi-byte
			 * sequences: stay here for the whole run. */
			do {
				if ((p = scan_utf8(p, end)) == NULL)
					return NULL;
			} while (p < end && (uint8_t)*p >= 0x80);
		}
	}
}

static const char *
scan_number(const char *p, const char *end)
{
	if (*p == '-')
		p++;
	if (p >= end)
		return NULL;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (++p < end && IS_DIGIT(*p))
			;
	else
		return NULL;
	if (p < end && *p == '.') {
		if (++p >= end || !IS_DIGIT(*p))
			return NULL;
		while (++p < end && IS_DIGIT(*p))
			;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !IS_DIGIT(*p))
			return NULL;
		while (++p < end && IS_DIGIT(*p))
			;
	}
	/* What may follow (a delimiter) is checked by the caller. */
	return p;
}

static const char *
scan_literal(const char *p, const char *end, const char *lit, size_t n)
{
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

/*
 * Scan one value starting exactly at p.  Returns the position just past
 * it, or NULL.  Iterative: a bit per open container (1 = object) keeps the
 * stack at 64 bytes whatever the input.
 */
static const char *
scan_value(const char *p, const char *end, unsigned max_depth)
{
	uint64_t stack[JSCAN_MAX_DEPTH / 64];
	unsigned depth = 0;
	int esc;

	if (max_depth > JSCAN_MAX_DEPTH)
		max_depth = JSCAN_MAX_DEPTH;
	for (;;) {
		/* Here p is where a value must start. */
		if (p >= end)
			return NULL;
		switch (*p) {
		case '{':
			if (depth == max_depth)
				return NULL;
			stack[depth / 64] |= (uint64_t)1 << (depth % 64);
			depth++;
			p = skip_ws(p + 1, end);
			if (p < end && *p == '}') {
				p++;
				depth--;
				break;
			}
			goto member;
		case '[':
			if (depth == max_depth)
				return NULL;
			stack[depth / 64] &= ~((uint64_t)1 << (depth % 64));
			depth++;
			p = skip_ws(p + 1, end);
			if (p < end && *p == ']') {
				p++;
				depth--;
				break;
			}
			continue;
		case '"':
			if ((p = scan_string(p + 1, end, &esc)) == NULL)
				return NULL;
			break;
		case 't':
			if ((p = scan_literal(p, end, "true", 4)) == NULL)
				return NULL;
			break;
		case 'f':
			if ((p = scan_literal(p, end, "false", 5)) == NULL)
				return NULL;
			break;
		case 'n':
			if ((p = scan_literal(p, end, "null", 4)) == NULL)
				return NULL;
			break;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			if ((p = scan_number(p, end)) == NULL)
				return NULL;
			break;
		default:
			return NULL;
		}

		/* A value has ended: close containers until one goes on. */
		for (;;) {
			int obj;

			if (depth == 0)
				return p;
			obj = stack[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;
			p = skip_ws(p, end);
			if (p >= end)
				return NULL;
			if (*p == ',') {
				p = skip_ws(p + 1, end);
				if (obj)
					goto member;
				break;
			}
			if (*p != (obj ? '}' : ']'))
				return NULL;
			p++;
			depth--;
		}
		continue;
member:
		/* Here p is where a member name must start. */
		if (p >= end || *p != '"')
			return NULL;
		if ((p = scan_string(p + 1, end, &esc)) == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = skip_ws(p + 1, end);
	}
}

pserr
jscan_value(const char *s, size_t n, unsigned max_depth)
{
	const char *end = s + n, *p;

	p = skip_ws(s, end);
	if ((p = scan_value(p, end, max_depth)) == NULL)
		return PS_ERR_INVALID_JSON;
	if (skip_ws(p, end) != end)
		return PS_ERR_INVALID_JSON;
	return PS_OK;
}

pserr
jscan_object_begin(struct jscan_object *it, const char *s, size_t n)
{
	const char *p = skip_ws(s, s + n);

	it->s = s;
	it->n = n;
	it->pos = 0;
	it->state = OBJ_FAILED;
	if (p == s + n || *p != '{')
		return PS_ERR_INVALID_JSON;
	it->pos = (size_t)(p + 1 - s);
	it->state = OBJ_FIRST;
	return PS_OK;
}

pserr
jscan_object_next(struct jscan_object *it, struct jscan_member *m, int *more)
{
	const char *end = it->s + it->n, *p = it->s + it->pos, *q;
	int first = it->state == OBJ_FIRST, esc = 0;

	*more = 0;
	if (it->state == OBJ_DONE)
		return PS_OK;
	if (it->state == OBJ_FAILED)
		return PS_ERR_INVALID_JSON;
	/* Stays failed unless a whole member or the end is scanned. */
	it->state = OBJ_FAILED;
	p = skip_ws(p, end);
	if (p >= end)
		return PS_ERR_INVALID_JSON;
	if (*p == '}') {
		if (skip_ws(p + 1, end) != end)
			return PS_ERR_INVALID_JSON;
		it->pos = it->n;
		it->state = OBJ_DONE;
		return PS_OK;
	}
	if (!first) {
		if (*p != ',')
			return PS_ERR_INVALID_JSON;
		p = skip_ws(p + 1, end);
	}
	if (p >= end || *p != '"')
		return PS_ERR_INVALID_JSON;
	if ((q = scan_string(p + 1, end, &esc)) == NULL)
		return PS_ERR_INVALID_JSON;
	m->name = p + 1;
	m->name_len = (size_t)(q - 1 - (p + 1));
	m->name_escaped = esc;
	p = skip_ws(q, end);
	if (p >= end || *p != ':')
		return PS_ERR_INVALID_JSON;
	p = skip_ws(p + 1, end);
	if ((q = scan_value(p, end, JSCAN_MAX_DEPTH - 1)) == NULL)
		return PS_ERR_INVALID_JSON;
	m->value = p;
	m->value_len = (size_t)(q - p);
	it->pos = (size_t)(q - it->s);
	it->state = OBJ_NEXT;
	*more = 1;
	return PS_OK;
}

/* Encode a scalar value (never a surrogate) as UTF-8. */
static size_t
utf8_put(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

pserr
jscan_unescape(const char *s, size_t n, struct buf *out)
{
	const char *p = s, *end = s + n, *bs;
	size_t start = out->len;
	unsigned cp;
	char *o;
	pserr rc;

	/* Each escape is at least as long as the UTF-8 it stands for. */
	if ((rc = buf_reserve(out, n)) != PS_OK)
		return rc;
	o = out->p + out->len;
	while (p < end) {
		if ((bs = memchr(p, '\\', (size_t)(end - p))) == NULL)
			bs = end;
		memcpy(o, p, (size_t)(bs - p));
		o += bs - p;
		if (bs == end)
			break;
		if ((p = scan_escape(bs + 1, end, &cp)) == NULL) {
			secret_wipe(out->p + start,
			    (size_t)(o - (out->p + start)));
			return PS_ERR_INVALID_JSON;
		}
		o += utf8_put(cp, o);
	}
	out->len = (size_t)(o - out->p);
	return PS_OK;
}
