/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/seal/envelope.c, the envelope text (protocol.md
 * section 2) and its sealing.
 *
 * The first byte picks the direction and whether the rest is an envelope
 * text or a content to seal.  Properties: envelope_peek accepts exactly
 * the texts an independent reading of section 2 accepts (written here
 * from the table, not from the code), and gives the same kid, nonce and
 * reply value; envelope_head accepts every text envelope_peek accepts,
 * with the same values, and the texts it accepts beyond them (a
 * malformed ciphertext) envelope_open refuses as invalid_envelope;
 * envelope_open of any such text under a key that did not
 * seal it fails and leaves the output as it was; a content sealed opens
 * to itself, for every padding bucket tried, and the text is as long as
 * envelope_text_len says; one byte changed, the text cut, or another
 * message number or final flag is refused, output unchanged.
 */
#include "config.h"

#include <string.h>

#include "core/buf.h"
#include "fuzz.h"
#include "seal/envelope.h"

#define SENTINEL "xyz"

static const uint8_t SECRET[32] = { 9, 9, 9 };
static const uint8_t KID[16] = { 0x01, 0x23, 0x45, 0x67 };
static const uint8_t NONCE[16] = { 0xfe };
static const uint8_t REPLY[16] = { 0x5a };

/* The value of a base64url character, or -1. */
static int
b64v(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Decode n characters of strict unpadded base64url into out (room for
 * n * 3 / 4 bytes); -1 when they are not that.  Returns the byte count. */
static long
ref_b64url(const char *s, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	size_t i, k = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64v(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (uint8_t)(acc >> bits);
		}
	}
	/* Unused trailing bits must be zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)k;
}

static int
ref_hex(const char *s, uint8_t *out)
{
	size_t i;

	for (i = 0; i < 32; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : -1;

		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

/* Section 2, read independently.  1 when s is an envelope of dir. */
static int
ref_envelope(enum envelope_dir dir, const char *s, size_t n, uint8_t *kid,
    uint8_t *nonce, uint8_t *reply)
{
	static uint8_t ct[8192];
	size_t at = 4;
	long k;

	if (n < 4 || memcmp(s, "ps2:", 4) != 0)
		return 0;
	if (n < at + 33 || s[at + 32] != ':' || ref_hex(s + at, kid) != 0)
		return 0;
	at += 33;
	if (n < at + 23 || s[at + 22] != ':' ||
	    ref_b64url(s + at, 22, nonce) != 16)
		return 0;
	at += 23;
	if (dir == ENVELOPE_RESPONSE) {
		if (n < at + 23 || s[at + 22] != ':' ||
		    ref_b64url(s + at, 22, reply) != 16)
			return 0;
		at += 23;
	}
	if (n - at > sizeof(ct) * 4 / 3)
		return -1;     /* beyond what this reference holds */
	k = ref_b64url(s + at, n - at, ct);
	return k >= 20;
}

static void
keyed(struct envelope_ctx *c, enum envelope_dir dir, const uint8_t *kid,
    const uint8_t *nonce, const uint8_t *reply)
{
	envelope_init(c, dir);
	memcpy(c->kid, kid, 16);
	memcpy(c->nonce, nonce, 16);
	if (dir == ENVELOPE_RESPONSE) {
		memcpy(c->reply, reply, 16);
		FUZZ_CHECK(envelope_bind_reply(c, 200, "application/json", 16) ==
		    PS_OK);
	} else {
		FUZZ_CHECK(envelope_bind_request(c, "POST", "/v1/x", 5) ==
		    PS_OK);
	}
	FUZZ_CHECK(envelope_derive(c, SECRET) == PS_OK);
}

/* envelope_open into out (holding the sentinel); on failure out must be
 * unchanged. */
static pserr
open_into(const struct envelope_ctx *c, uint32_t msg, int final,
    const char *s, size_t n, struct buf *out)
{
	pserr rc;

	buf_reset(out);
	FUZZ_CHECK(buf_puts(out, SENTINEL) == PS_OK);
	rc = envelope_open(c, msg, final, s, n, out);
	if (rc != PS_OK)
		FUZZ_CHECK(out->len == 3 && memcmp(out->p, SENTINEL, 3) == 0);
	return rc;
}

static void
text_case(enum envelope_dir dir, const char *s, size_t n)
{
	uint8_t kid[16], nonce[16], reply[16], rk[16], rn[16], rr[16];
	uint8_t hk[16], hn[16], hr[16];
	struct envelope_ctx c;
	struct buf out;
	pserr rc, hrc;
	int ref;

	rc = envelope_peek(dir, s, n, kid, nonce, reply);
	hrc = envelope_head(dir, s, n, hk, hn, hr);
	FUZZ_CHECK(hrc == PS_OK || hrc == PS_ERR_INVALID_ENVELOPE);
	FUZZ_CHECK(rc != PS_OK || hrc == PS_OK);
	if (rc == PS_OK) {
		FUZZ_CHECK(memcmp(kid, hk, 16) == 0 &&
		    memcmp(nonce, hn, 16) == 0);
		if (dir == ENVELOPE_RESPONSE)
			FUZZ_CHECK(memcmp(reply, hr, 16) == 0);
	} else if (hrc == PS_OK) {
		/* Only the ciphertext is malformed: opening it under the
		 * exchange its head names says so as it decodes. */
		buf_init(&out, 1 << 20);
		keyed(&c, dir, hk, hn, hr);
		FUZZ_CHECK(open_into(&c, 0, 0, s, n, &out) ==
		    PS_ERR_INVALID_ENVELOPE);
		envelope_wipe(&c);
		buf_free(&out);
	}
	ref = ref_envelope(dir, s, n, rk, rn, rr);
	if (ref < 0)
		return;
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_INVALID_ENVELOPE);
	FUZZ_CHECK((rc == PS_OK) == (ref == 1));
	if (rc != PS_OK)
		return;
	FUZZ_CHECK(memcmp(kid, rk, 16) == 0 && memcmp(nonce, rn, 16) == 0);
	if (dir == ENVELOPE_RESPONSE)
		FUZZ_CHECK(memcmp(reply, rr, 16) == 0);
	/* Not sealed by us: it cannot open, and releases nothing. */
	buf_init(&out, 1 << 20);
	keyed(&c, dir, kid, nonce, reply);
	rc = open_into(&c, 0, 0, s, n, &out);
	FUZZ_CHECK(rc == PS_ERR_DECRYPT || rc == PS_ERR_INVALID_ENVELOPE);
	envelope_wipe(&c);
	buf_free(&out);
}

static void
seal_case(enum envelope_dir dir, const uint8_t *p, size_t n, uint8_t sel)
{
	static const size_t buckets[] = { 0, 1, 3, 64, 1024 };
	struct envelope_part parts[2];
	struct envelope_ctx c;
	struct buf text, out;
	size_t b, cut = n / 2;
	pserr rc;

	keyed(&c, dir, KID, NONCE, REPLY);
	buf_init(&text, 1 << 20);
	buf_init(&out, 1 << 20);
	/* Two parts, split where the input says: the content is their
	 * concatenation. */
	parts[0].p = p;
	parts[0].n = cut;
	parts[1].p = p + cut;
	parts[1].n = n - cut;
	for (b = 0; b < sizeof(buckets) / sizeof(buckets[0]); b++) {
		uint32_t msg = sel;
		int final = sel & 1;
		size_t at;

		buf_reset(&text);
		FUZZ_CHECK(envelope_seal(&c, msg, final, parts, 2, buckets[b],
		    &text) == PS_OK);
		FUZZ_CHECK(text.len == envelope_text_len(dir, n, buckets[b]));
		FUZZ_CHECK(envelope_peek(dir, text.p, text.len, c.kid, c.nonce,
		    c.reply) == PS_OK);
		FUZZ_CHECK(open_into(&c, msg, final, text.p, text.len, &out) ==
		    PS_OK);
		FUZZ_CHECK(out.len == 3 + n && (n == 0 ||
		    memcmp(out.p + 3, p, n) == 0));
		FUZZ_CHECK(open_into(&c, msg + 1, final, text.p, text.len,
		    &out) != PS_OK);
		FUZZ_CHECK(open_into(&c, msg, !final, text.p, text.len, &out) !=
		    PS_OK);
		FUZZ_CHECK(open_into(&c, msg, final, text.p, text.len - 1,
		    &out) != PS_OK);
		at = (size_t)(sel * 131u + b * 17u) % text.len;
		text.p[at] = text.p[at] == 'A' ? 'B' : 'A';
		FUZZ_CHECK(open_into(&c, msg, final, text.p, text.len, &out) !=
		    PS_OK);
	}
	/* A content of more than a u32 cannot be made here; a bucket over
	 * the limit is refused. */
	rc = envelope_seal(&c, 0, 0, parts, 2, ENVELOPE_BUCKET_MAX + 1, &text);
	FUZZ_CHECK(rc == PS_ERR_ARG);
	envelope_wipe(&c);
	buf_free(&text);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum envelope_dir dir;

	if (size < 1 || size > 8192)
		return 0;
	dir = data[0] & 1 ? ENVELOPE_RESPONSE : ENVELOPE_REQUEST;
	if (data[0] & 2)
		seal_case(dir, data + 1, size - 1, data[0]);
	else
		text_case(dir, (const char *)data + 1, size - 1);
	return 0;
}
