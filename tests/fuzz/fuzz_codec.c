/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/core/codec.c, on every base64url path the machine
 * runs (scalar, SSSE3, AVX2, AVX-512, selected through the test-only
 * codec_impl.h).
 *
 * Properties: each decoder accepts exactly what an independent reference
 * decoder of this file accepts, and yields the same bytes; what decodes
 * encodes back to the same text (the decoders accept canonical text
 * only); any bytes encode and decode back to themselves; codec_b64url_check
 * accepts a text exactly when codec_b64url_decode does (envelope_peek
 * relies on it), on each path.
 */
#include "config.h"

#include <string.h>

#include "core/codec.h"
#include "core/codec_impl.h"
#include "fuzz.h"

static int
val64(int c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* A plain bit-at-a-time decoder: -1 for text the codec must refuse. */
static long
ref_decode(const char *s, size_t n, uint8_t *out, int url)
{
	unsigned long acc = 0;
	size_t i, pad = 0, bits = 0, len = 0;

	if (!url) {
		if (n % 4 != 0)
			return -1;
		while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
			pad++;
		n -= pad;
	} else if (n % 4 == 1) {
		return -1;
	}
	for (i = 0; i < n; i++) {
		int v = val64((unsigned char)s[i], url);

		if (v < 0)
			return -1;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (canonical), and padding must match. */
	if ((acc & ((1ul << bits) - 1)) != 0)
		return -1;
	if (!url && pad != (4 - (n % 4)) % 4)
		return -1;
	return (long)len;
}

static void
check_b64(const char *s, size_t n, int url)
{
	uint8_t got[1024], want[1024];
	char again[1400];
	size_t glen = 0;
	long wlen = ref_decode(s, n, want, url);
	pserr rc = url ? codec_b64url_decode(s, n, got, sizeof(got), &glen) :
	    codec_b64_decode(s, n, got, sizeof(got), &glen);

	FUZZ_CHECK((rc == PS_OK) == (wlen >= 0));
	if (url)
		FUZZ_CHECK((codec_b64url_check(s, n) == PS_OK) == (rc == PS_OK));
	if (rc != PS_OK)
		return;
	FUZZ_CHECK(glen == (size_t)wlen && memcmp(got, want, glen) == 0);
	FUZZ_CHECK((url ? codec_b64url_encode(got, glen, again) :
	    codec_b64_encode(got, glen, again)) == n);
	FUZZ_CHECK(memcmp(again, s, n) == 0);
}

static void
check_bytes(const uint8_t *p, size_t n)
{
	char t[1400];
	uint8_t back[1024];
	size_t len, tl;

	tl = codec_b64url_encode(p, n, t);
	FUZZ_CHECK(tl == CODEC_B64URL_LEN(n));
	FUZZ_CHECK(codec_b64url_decode(t, tl, back, sizeof(back), &len) ==
	    PS_OK && len == n && memcmp(back, p, n) == 0);
	tl = codec_b64_encode(p, n, t);
	FUZZ_CHECK(tl == CODEC_B64_LEN(n));
	FUZZ_CHECK(codec_b64_decode(t, tl, back, sizeof(back), &len) ==
	    PS_OK && len == n && memcmp(back, p, n) == 0);
	tl = codec_hex_encode(p, n, t);
	FUZZ_CHECK(tl == 2 * n);
	FUZZ_CHECK(codec_hex_decode(t, tl, back, n) == PS_OK &&
	    memcmp(back, p, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint8_t out[512];
	size_t i;
	int ok = size % 2 == 0;

	enum codec_impl best = codec_impl_best();
	int which;

	if (size > 1000)
		return 0;
	for (which = CODEC_IMPL_SCALAR; which <= (int)best; which++) {
		FUZZ_CHECK(codec_impl_select((enum codec_impl)which) == PS_OK);
		check_b64(s, size, 1);
		if (size <= 700)
			check_bytes(data, size);
	}
	check_b64(s, size, 0);
	/* hex: exactly lowercase digits, two per byte. */
	for (i = 0; i < size; i++)
		ok &= (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
	if (size / 2 <= sizeof(out))
		FUZZ_CHECK((codec_hex_decode(s, size, out, size / 2) == PS_OK) ==
		    ok);
	return 0;
}
