#include "config.h"

#include <string.h>

#include "codec.h"

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
encode(const char *alpha, int pad, const uint8_t *in, size_t n, char *out)
{
	char *o = out;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = alpha[(v >> 6) & 63];
		*o++ = alpha[v & 63];
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
	return encode(b64url_alpha, 0, in, n, out);
}

size_t
codec_b64_encode(const uint8_t *in, size_t n, char *out)
{
	return encode(b64_alpha, 1, in, n, out);
}

/* Reverse tables: 0..63 for alphabet characters, 0xff for anything else. */
static uint8_t rev_url[256], rev_std[256];

static void
init_rev(void)
{
	static int done;
	int i;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	memset(rev_url, 0xff, sizeof(rev_url));
	memset(rev_std, 0xff, sizeof(rev_std));
	for (i = 0; i < 64; i++) {
		rev_url[(uint8_t)b64url_alpha[i]] = (uint8_t)i;
		rev_std[(uint8_t)b64_alpha[i]] = (uint8_t)i;
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

static pserr
decode(const uint8_t *rev, const char *in, size_t n, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t full = n / 4, rem = n % 4, need, i;
	uint8_t *o = out;

	if (rem == 1)
		return PS_ERR_CORRUPT;
	need = full * 3 + (rem ? rem - 1 : 0);
	if (need > outcap)
		return PS_ERR_ARG;
	for (i = 0; i < full; i++, s += 4) {
		uint32_t a = rev[s[0]], b = rev[s[1]], c = rev[s[2]], d = rev[s[3]];

		if ((a | b | c | d) & 0xc0)
			return PS_ERR_CORRUPT;
		uint32_t v = a << 18 | b << 12 | c << 6 | d;
		*o++ = (uint8_t)(v >> 16);
		*o++ = (uint8_t)(v >> 8);
		*o++ = (uint8_t)v;
	}
	if (rem >= 2) {
		uint32_t a = rev[s[0]], b = rev[s[1]];
		uint32_t c = rem == 3 ? rev[s[2]] : 0;

		if ((a | b | c) & 0xc0)
			return PS_ERR_CORRUPT;
		/* Canonical form only: the unused low bits must be zero. */
		if (rem == 2 && (b & 0x0f))
			return PS_ERR_CORRUPT;
		if (rem == 3 && (c & 0x03))
			return PS_ERR_CORRUPT;
		*o++ = (uint8_t)(a << 2 | b >> 4);
		if (rem == 3)
			*o++ = (uint8_t)(b << 4 | c >> 2);
	}
	*outlen = (size_t)(o - out);
	return PS_OK;
}

pserr
codec_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	init_rev();
	return decode(rev_url, in, n, out, outcap, outlen);
}

pserr
codec_b64_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	size_t pad = 0;

	init_rev();
	if (n % 4 != 0)
		return PS_ERR_CORRUPT;
	if (n >= 1 && in[n - 1] == '=')
		pad++;
	if (n >= 2 && in[n - 2] == '=')
		pad++;
	return decode(rev_std, in, n - pad, out, outcap, outlen);
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
