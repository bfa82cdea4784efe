/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/seal/multipart.c, the strict multipart/form-data
 * parser and the multipart wire form (protocol.md section 4, "Multipart
 * bodies").
 *
 * The first byte picks the endpoint and the padding; the rest, up to
 * its first LF (when there is one in the first 300 bytes), is the
 * request's Content-Type, else a fixed one; what follows is the body.
 * Properties: the parser's parts lie inside the body, in order, and no
 * value holds the delimiter; sealing fails exactly when the parser
 * refuses the form (with its code) and then leaves the output as it was;
 * a sealed form opens to exactly the Content-Type and body; a byte of
 * the wire changed or the wire cut short is refused, leaving the output
 * as it was; the body itself, sent as a wire, never opens; a text reply
 * of the input opens to the input.
 */
#include "config.h"

#include <string.h>

#include "core/buf.h"
#include "fuzz.h"
#include "seal/envelope.h"
#include "seal/message.h"
#include "seal/multipart.h"

#define OUT_MAX (1u << 20)
#define SENTINEL "sentinel:"
#define SENTINEL_LEN 9
#define CT_FIXED "multipart/form-data; boundary=XyZ"

static const uint8_t SECRET[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t KID[16] = { 0xaa, 0xbb };
static const uint8_t NONCE[16] = { 0x11, 0x22, 0x33 };
static const uint8_t REPLY[16] = { 0x77, 0x66 };

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	(void)arg;
	if (memcmp(kid, KID, sizeof(KID)) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, SECRET, sizeof(SECRET));
	return PS_OK;
}

static void
request_ctx(struct envelope_ctx *c, enum message_endpoint ep, int sealer)
{
	const char *path = message_path(ep);

	envelope_init(c, ENVELOPE_REQUEST);
	FUZZ_CHECK(envelope_bind_request(c, "POST", path, strlen(path)) ==
	    PS_OK);
	if (!sealer)
		return;
	memcpy(c->kid, KID, sizeof(KID));
	memcpy(c->nonce, NONCE, sizeof(NONCE));
	FUZZ_CHECK(envelope_derive(c, SECRET) == PS_OK);
}

/* Open wire; on failure out must be the sentinel alone. */
static pserr
open_wire(enum message_endpoint ep, const char *wire, size_t wlen,
    struct buf *out, struct multipart_request *r)
{
	struct envelope_ctx c;
	pserr rc;

	buf_reset(out);
	FUZZ_CHECK(buf_append(out, SENTINEL, SENTINEL_LEN) == PS_OK);
	request_ctx(&c, ep, 0);
	rc = multipart_open_request(ep, &c, lookup, NULL, wire, wlen, out, r);
	if (rc != PS_OK)
		FUZZ_CHECK(out->len == SENTINEL_LEN && !c.keyed);
	envelope_wipe(&c);
	return rc;
}

/* Walk the form; its verdict. */
static pserr
walk_parts(const char *ct, size_t ctlen, const char *body, size_t len)
{
	struct multipart_iter it;
	struct multipart_part p;
	const char *b, *prev = body;
	size_t blen;
	int more;
	pserr rc;

	if ((rc = multipart_begin(&it, ct, ctlen, body, len)) != PS_OK)
		return rc;
	FUZZ_CHECK(multipart_boundary(ct, ctlen, &b, &blen) == PS_OK);
	for (;;) {
		size_t i;

		if ((rc = multipart_next(&it, &p, &more)) != PS_OK || !more)
			return rc;
		FUZZ_CHECK(p.name_len > 0 && p.name >= prev &&
		    p.name + p.name_len <= body + len);
		FUZZ_CHECK(p.value >= p.name && p.value + p.value_len <=
		    body + len);
		FUZZ_CHECK(p.filename == NULL || (p.filename > p.name - 1 ||
		    p.filename < p.value));
		for (i = 0; i + 4 + blen <= p.value_len; i++)
			FUZZ_CHECK(!(memcmp(p.value + i, "\r\n--", 4) == 0 &&
			    memcmp(p.value + i + 4, b, blen) == 0));
		/* The delimiter follows the value. */
		FUZZ_CHECK(p.value + p.value_len + 4 + blen <= body + len &&
		    memcmp(p.value + p.value_len, "\r\n--", 4) == 0 &&
		    memcmp(p.value + p.value_len + 4, b, blen) == 0);
		prev = p.value + p.value_len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum message_endpoint ep;
	struct envelope_ctx c;
	struct multipart_request r;
	struct buf wire, out;
	const char *ct = CT_FIXED, *body, *nl;
	size_t ctlen = strlen(CT_FIXED), len, bucket, i;
	pserr verdict, rc;

	if (size < 1)
		return 0;
	ep = data[0] & 1 ? MESSAGE_TRANSLATIONS : MESSAGE_TRANSCRIPTIONS;
	bucket = data[0] & 2 ? 64 : 0;
	body = (const char *)data + 1;
	len = size - 1;
	if ((nl = memchr(body, '\n', len < 300 ? len : 300)) != NULL) {
		ct = body;
		ctlen = (size_t)(nl - body);
		body = nl + 1;
		len -= ctlen + 1;
	}
	verdict = walk_parts(ct, ctlen, body, len);
	FUZZ_CHECK(verdict == PS_OK || verdict == PS_ERR_INVALID_MULTIPART ||
	    verdict == PS_ERR_MEDIA_TYPE);
	rc = multipart_check(ep, ct, ctlen, body, len);
	/* The plain fields' rules refuse more, never less. */
	FUZZ_CHECK(verdict != PS_OK ? rc == verdict : (rc == PS_OK ||
	    rc == PS_ERR_INVALID_MULTIPART));
	verdict = rc;

	buf_init(&wire, OUT_MAX);
	buf_init(&out, OUT_MAX);
	FUZZ_CHECK(buf_append(&wire, SENTINEL, SENTINEL_LEN) == PS_OK);
	request_ctx(&c, ep, 1);
	rc = multipart_seal_request(ep, &c, 7, "q", 1, ct, ctlen, body, len,
	    bucket, &wire);
	envelope_wipe(&c);
	if (rc != PS_OK) {
		FUZZ_CHECK(rc == verdict || rc == PS_ERR_TOO_LARGE);
		FUZZ_CHECK(wire.len == SENTINEL_LEN);
		goto text;
	}
	FUZZ_CHECK(verdict == PS_OK);
	{
		const char *w = wire.p + SENTINEL_LEN;
		size_t wlen = wire.len - SENTINEL_LEN;

		FUZZ_CHECK(open_wire(ep, w, wlen, &out, &r) == PS_OK);
		FUZZ_CHECK(r.ts == 7 && r.qlen == 1 && r.ctlen == ctlen &&
		    memcmp(r.ct, ct, ctlen) == 0 && r.len == len &&
		    (len == 0 || memcmp(r.body, body, len) == 0));
		/* The other endpoint's bind does not open it. */
		FUZZ_CHECK(open_wire(ep == MESSAGE_TRANSCRIPTIONS ?
		    MESSAGE_TRANSLATIONS : MESSAGE_TRANSCRIPTIONS, w, wlen, &out,
		    &r) != PS_OK);
		/* A few single-byte changes across the wire, and cuts. */
		for (i = 0; i < wlen; i += 1 + wlen / 16) {
			char save = wire.p[SENTINEL_LEN + i];

			wire.p[SENTINEL_LEN + i] = (char)(save ^ 0x01);
			FUZZ_CHECK(open_wire(ep, w, wlen, &out, &r) != PS_OK);
			wire.p[SENTINEL_LEN + i] = save;
			FUZZ_CHECK(open_wire(ep, w, i, &out, &r) != PS_OK);
		}
	}
text:
	/* The body itself is never a wire. */
	FUZZ_CHECK(open_wire(ep, body, len, &out, &r) != PS_OK);
	/* A text reply of the input. */
	envelope_init(&c, ENVELOPE_RESPONSE);
	memcpy(c.kid, KID, sizeof(KID));
	memcpy(c.nonce, NONCE, sizeof(NONCE));
	memcpy(c.reply, REPLY, sizeof(REPLY));
	FUZZ_CHECK(envelope_bind_reply(&c, 200, "text/plain", 10) == PS_OK);
	FUZZ_CHECK(envelope_derive(&c, SECRET) == PS_OK);
	buf_reset(&wire);
	if (multipart_seal_text_reply(&c, body, len, bucket, &wire) == PS_OK) {
		struct envelope_ctx o;

		envelope_init(&o, ENVELOPE_RESPONSE);
		memcpy(o.kid, KID, sizeof(KID));
		memcpy(o.nonce, NONCE, sizeof(NONCE));
		FUZZ_CHECK(envelope_bind_reply(&o, 200, "text/plain", 10) ==
		    PS_OK);
		buf_reset(&out);
		FUZZ_CHECK(multipart_open_text_reply(&o, lookup, NULL, wire.p,
		    wire.len, &out) == PS_OK);
		FUZZ_CHECK(out.len == len && (len == 0 ||
		    memcmp(out.p, body, len) == 0));
		envelope_wipe(&o);
	}
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&out);
	return 0;
}
