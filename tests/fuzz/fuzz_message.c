/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/seal/message.c, the wire form of one message
 * (protocol.md section 4) in both directions.
 *
 * The first byte picks the endpoint (any whose body is JSON: its bits
 * 0-1 and 5-7), the direction (bit 2) and the padding (bits 3-4); the
 * rest is taken as an original body (a request's or a reply's).
 * Properties: sealing fails only for a body jscan refuses as one object
 * (or for a duplicate name or a member ps2), and then leaves the output
 * as it was; a sealed body opens to exactly the original; every change
 * of one byte of the wire, a byte dropped, a byte added, the wire cut
 * short, or the wire opened for another endpoint is refused, and a
 * refused open leaves the output as it was; the body itself, sent as a
 * wire, never opens.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/caps.h"
#include "fuzz.h"
#include "seal/envelope.h"
#include "seal/jscan.h"
#include "seal/message.h"

#define OUT_MAX (1u << 20)
#define SENTINEL "sentinel:"
#define SENTINEL_LEN 9

static const uint8_t SECRET[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t KID[16] = { 0xaa, 0xbb };
static const uint8_t NONCE[16] = { 0x11, 0x22, 0x33 };
static const uint8_t REPLY[16] = { 0x77, 0x66 };

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	int *calls = arg;

	(*calls)++;
	if (memcmp(kid, KID, sizeof(KID)) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, SECRET, sizeof(SECRET));
	return PS_OK;
}

static void
ctx(struct envelope_ctx *c, enum message_endpoint ep, int request,
    int sealer)
{
	envelope_init(c, request ? ENVELOPE_REQUEST : ENVELOPE_RESPONSE);
	if (request) {
		const char *path = message_path(ep);

		FUZZ_CHECK(envelope_bind_request(c, message_method(ep), path,
		    strlen(path)) == PS_OK);
	} else {
		FUZZ_CHECK(envelope_bind_reply(c, 200, "application/json",
		    16) == PS_OK);
	}
	if (!sealer && request)
		return;
	memcpy(c->kid, KID, sizeof(KID));
	memcpy(c->nonce, NONCE, sizeof(NONCE));
	if (!sealer)
		return;
	if (!request)
		memcpy(c->reply, REPLY, sizeof(REPLY));
	FUZZ_CHECK(envelope_derive(c, SECRET) == PS_OK);
}

/* Open wire under a fresh receiver context; on failure out must be just
 * the sentinel.  Returns the verdict; on PS_OK, *body and *len give the
 * original. */
static pserr
open_wire(enum message_endpoint ep, int request, const char *wire,
    size_t wlen, struct buf *out, const char **body, size_t *len)
{
	struct envelope_ctx c;
	struct message_request r;
	int calls = 0;
	pserr rc;

	buf_reset(out);
	FUZZ_CHECK(buf_append(out, SENTINEL, SENTINEL_LEN) == PS_OK);
	ctx(&c, ep, request, 0);
	if (request) {
		rc = message_open_request(ep, &c, lookup, &calls, wire, wlen,
		    out, &r);
		if (rc == PS_OK) {
			*body = r.body;
			*len = r.len;
			FUZZ_CHECK(r.ts == 1700000000 && r.qlen == 0);
		}
	} else {
		rc = message_open_reply(ep, &c, lookup, &calls, wire, wlen, out);
		if (rc == PS_OK) {
			*body = out->p + SENTINEL_LEN;
			*len = out->len - SENTINEL_LEN;
		}
	}
	FUZZ_CHECK(calls <= 1);
	FUZZ_CHECK(c.keyed == (rc == PS_OK));
	if (rc != PS_OK)
		FUZZ_CHECK(out->len == SENTINEL_LEN &&
		    memcmp(out->p, SENTINEL, SENTINEL_LEN) == 0);
	envelope_wipe(&c);
	return rc;
}

/*
 * The input as a request path: whatever message_route() accepts keeps
 * the rule of protocol.md section 4 (*Paths and path parameters*): no
 * "\\", no encoded "%", "\\" or "/" outside a model id, no byte outside
 * visible ASCII, no empty, "." or ".." segment, at most the id cap.
 */
static void
route_invariants(const char *p, size_t n)
{
	static const char *const methods[] = { "GET", "POST", "DELETE" };
	enum message_endpoint ep;
	size_t i, k, seg;

	for (k = 0; k < 3; k++) {
		if (message_route(methods[k], p, n, &ep) != PS_OK)
			continue;
		FUZZ_CHECK(strcmp(message_method(ep), methods[k]) == 0);
		FUZZ_CHECK(n <= 64 + PS_CAP_PATH_ID);
		FUZZ_CHECK(n > 0 && p[0] == '/');
		for (i = 0, seg = 1; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '\\' &&
			    c != '?' && c != '#');
			if (c == '%') {
				FUZZ_CHECK(i + 2 < n);
				FUZZ_CHECK(strncasecmp(p + i, "%25", 3) != 0 &&
				    strncasecmp(p + i, "%5c", 3) != 0);
				if (strncasecmp(p + i, "%2f", 3) == 0)
					FUZZ_CHECK(ep == MESSAGE_MODEL);
			}
			if (c == '/') {
				/* no empty, "." or ".." segment */
				FUZZ_CHECK(i + 1 < n && p[i + 1] != '/');
				FUZZ_CHECK(!(i + 2 == n && p[i + 1] == '.'));
				FUZZ_CHECK(!(i + 2 < n && p[i + 1] == '.' &&
				    p[i + 2] == '/'));
				FUZZ_CHECK(!(i + 3 == n && p[i + 1] == '.' &&
				    p[i + 2] == '.'));
				FUZZ_CHECK(!(i + 3 < n && p[i + 1] == '.' &&
				    p[i + 2] == '.' && p[i + 3] == '/'));
				seg++;
			}
		}
		FUZZ_CHECK(seg <= 5);
	}
}

/* Every endpoint whose body is JSON, in both directions: they share the
 * wire form and differ in their allowlists and their bound path. */
static const enum message_endpoint body_endpoints[] = {
	MESSAGE_CHAT, MESSAGE_COMPLETIONS, MESSAGE_EMBEDDINGS,
	MESSAGE_RESPONSES, MESSAGE_MESSAGES, MESSAGE_COUNT_TOKENS,
	MESSAGE_RERANK, MESSAGE_SCORE, MESSAGE_TOKENIZE, MESSAGE_DETOKENIZE,
};
#define NBODY (sizeof(body_endpoints) / sizeof(body_endpoints[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t buckets[] = { 0, 1, 32, 256 };
	enum message_endpoint ep, other;
	struct envelope_ctx c;
	struct buf wire, out, mut;
	const char *body, *got;
	size_t len, glen, bucket, i, k;
	int request;
	pserr rc;

	if (size < 1 || size > 4096)
		return 0;
	route_invariants((const char *)data, size);
	k = ((data[0] & 3) | (data[0] >> 5) << 2) % NBODY;
	ep = body_endpoints[k];
	other = body_endpoints[(k + 1) % NBODY];
	request = (data[0] >> 2) & 1;
	bucket = buckets[(data[0] >> 3) & 3];
	body = (const char *)data + 1;
	len = size - 1;

	buf_init(&wire, OUT_MAX);
	buf_init(&out, OUT_MAX);
	buf_init(&mut, OUT_MAX);
	FUZZ_CHECK(buf_append(&wire, SENTINEL, SENTINEL_LEN) == PS_OK);
	ctx(&c, ep, request, 1);
	rc = request ? message_seal_request(ep, &c, 1700000000, "", 0, body,
	    len, bucket, &wire) : message_seal_reply(ep, &c, body, len, bucket,
	    &wire);
	envelope_wipe(&c);
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_INVALID_JSON);
	if (rc != PS_OK) {
		/* Refused: so would jscan be, unless the object is valid but
		 * not an original body (a duplicate name, a member ps2). */
		FUZZ_CHECK(wire.len == SENTINEL_LEN);
		goto out;
	}
	FUZZ_CHECK(jscan_value(body, len, JSCAN_MAX_DEPTH) == PS_OK);

	/* The round trip. */
	FUZZ_CHECK(open_wire(ep, request, wire.p + SENTINEL_LEN,
	    wire.len - SENTINEL_LEN, &out, &got, &glen) == PS_OK);
	FUZZ_CHECK(glen == len && (len == 0 || memcmp(got, body, len) == 0));
	/* The original as a wire: never. */
	FUZZ_CHECK(open_wire(ep, request, body, len, &out, &got, &glen) !=
	    PS_OK);
	/* Another endpoint (bound into the request, or the reply's plain
	 * members checked against another allowlist): refused or, for a
	 * reply whose plain members are the same for both, the same body. */
	rc = open_wire(other, request, wire.p + SENTINEL_LEN,
	    wire.len - SENTINEL_LEN, &out, &got, &glen);
	if (request)
		FUZZ_CHECK(rc != PS_OK);
	else if (rc == PS_OK)
		FUZZ_CHECK(glen == len && (len == 0 || memcmp(got, body, len) ==
		    0));

	/* Mutations at positions the input picks, and at both ends. */
	for (i = 0; i < 24; i++) {
		size_t wl = wire.len - SENTINEL_LEN, at;
		const char *w = wire.p + SENTINEL_LEN;
		unsigned kind = i < 4 ? i : data[i % size];

		at = i < 4 ? (i & 1 ? wl - 1 : 0) :
		    ((size_t)data[(i * 7) % size] << 8 | data[(i * 13) % size]) % wl;
		buf_reset(&mut);
		FUZZ_CHECK(buf_append(&mut, w, wl) == PS_OK);
		switch (kind % 4) {
		case 0:           /* change one byte */
			mut.p[at] ^= (char)(1 + data[(i * 3) % size] % 255);
			break;
		case 1:           /* drop one byte */
			memmove(mut.p + at, mut.p + at + 1, wl - at - 1);
			mut.len--;
			break;
		case 2:           /* add one byte */
			FUZZ_CHECK(buf_putc(&mut, 0) == PS_OK);
			memmove(mut.p + at + 1, mut.p + at, wl - at);
			mut.p[at] = (char)data[(i * 5) % size];
			break;
		default:          /* cut short */
			mut.len = at;
			break;
		}
		FUZZ_CHECK(open_wire(ep, request, mut.p, mut.len, &out, &got,
		    &glen) != PS_OK);
	}
out:
	buf_free(&wire);
	buf_free(&out);
	buf_free(&mut);
	return 0;
}
