/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/seal/stream.c, both directions of a streamed reply
 * (protocol.md section 5).
 *
 * The first byte picks the endpoint, the padding and the mode; the rest
 * is the upstream's SSE bytes (mode 0) or bytes a relay sends the client
 * (mode 1).  Properties:
 *  - seal side: the wire does not depend on where the upstream's bytes
 *    are split (whole, byte by byte, where the input says); it is a run
 *    of "data: " lines each followed by an empty line, ending in the
 *    final record;
 *  - open side, fed that wire split anywhere: the user gets exactly the
 *    upstream's complete events (as an independent collector of
 *    sse_events hands them over), and the stream ends cleanly;
 *  - the wire with one byte changed, dropped, or cut short never ends
 *    cleanly and never shows the user anything but a prefix of the
 *    events followed by one error event;
 *  - any bytes fed to the open side: output is a prefix of whole events
 *    that authenticated (here: none, nothing was sealed under this key)
 *    and then exactly one error event.
 */
#include "config.h"

#include <string.h>

#include "core/buf.h"
#include "fuzz.h"
#include "seal/envelope.h"
#include "seal/sse.h"
#include "seal/stream.h"

#define OUT_MAX (4u << 20)
#define MAX_EVENT 2048

static const uint8_t SECRET[32] = { 4, 4, 4 };
static const uint8_t KID[16] = { 0xc0, 0xff, 0xee };
static const uint8_t NONCE[16] = { 0x0d };
static const uint8_t REPLY[16] = { 0xab, 0xcd };

struct sink {
	struct buf text;
	int events;
};

static pserr
emit(void *arg, const char *p, size_t n, int flush)
{
	struct sink *k = arg;
	pserr rc;

	if ((rc = buf_append(&k->text, p, n)) != PS_OK)
		return rc;
	k->events += flush;
	return PS_OK;
}

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	(void)arg;
	if (memcmp(kid, KID, 16) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, SECRET, 32);
	return PS_OK;
}

static void
ctx(struct envelope_ctx *c, int worker)
{
	envelope_init(c, ENVELOPE_RESPONSE);
	memcpy(c->kid, KID, 16);
	memcpy(c->nonce, NONCE, 16);
	FUZZ_CHECK(envelope_bind_reply(c, 200, "text/event-stream", 17) ==
	    PS_OK);
	if (worker) {
		memcpy(c->reply, REPLY, 16);
		FUZZ_CHECK(envelope_derive(c, SECRET) == PS_OK);
	}
}

/* Feed p in pieces: fixed bytes, or (fixed 0) as the bytes of cut say. */
static void
feed(struct stream *s, int worker, const char *p, size_t n, size_t fixed,
    const uint8_t *cut, size_t ncut)
{
	size_t off = 0, k = 0;

	while (off < n) {
		size_t step = fixed ? fixed : 1 + (size_t)cut[k++ % ncut] % 29;

		if (step > n - off)
			step = n - off;
		FUZZ_CHECK((worker ? stream_seal_feed(s, p + off, step) :
		    stream_open_feed(s, p + off, step)) == PS_OK);
		off += step;
	}
}

static void
seal(enum message_endpoint ep, size_t bucket, const char *p, size_t n,
    size_t fixed, const uint8_t *cut, size_t ncut, struct sink *k)
{
	struct envelope_ctx c;
	struct stream s;

	ctx(&c, 1);
	stream_seal_init(&s, ep, &c, bucket, MAX_EVENT, emit, k);
	feed(&s, 1, p, n, fixed, cut, ncut);
	FUZZ_CHECK(stream_seal_finish(&s, PS_OK) == PS_OK);
	FUZZ_CHECK(s.done && !s.failed);
	stream_free(&s);
	envelope_wipe(&c);
}

/* Returns 1 when the stream ended cleanly, 0 when it ended in an error. */
static int
open_(enum message_endpoint ep, const char *p, size_t n, size_t fixed,
    const uint8_t *cut, size_t ncut, struct sink *k)
{
	struct envelope_ctx c;
	struct stream s;
	int done;

	ctx(&c, 0);
	stream_open_init(&s, ep, &c, lookup, NULL, MAX_EVENT, emit, k);
	feed(&s, 0, p, n, fixed, cut, ncut);
	FUZZ_CHECK(stream_open_finish(&s) == PS_OK);
	FUZZ_CHECK(s.done != s.failed);
	done = s.done;
	stream_free(&s);
	envelope_wipe(&c);
	return done;
}

static pserr
collect(void *arg, const char *ev, size_t len)
{
	return buf_append(arg, ev, len);
}

/* The upstream's events as sse_events hands them over, the partial one
 * at the end dropped; 0 when one is over the cap (the seal side then
 * ends the stream with an error event). */
static int
events_of(const char *p, size_t n, struct buf *out)
{
	struct sse_events r;
	pserr rc;

	sse_events_init(&r, MAX_EVENT);
	rc = sse_events_feed(&r, p, n, collect, out);
	sse_events_free(&r);
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_TOO_LARGE);
	return rc == PS_OK;
}

static int
same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len)
	    == 0);
}

/* Line ends as SSE reads them: CRLF, CR and LF all become LF. */
static void
normalize(struct buf *b)
{
	size_t i, k = 0;

	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\r') {
			b->p[k++] = '\n';
			if (i + 1 < b->len && b->p[i + 1] == '\n')
				i++;
		} else {
			b->p[k++] = b->p[i];
		}
	}
	b->len = k;
}

/* The user got a prefix of the events that were let through (whole
 * ones: the client writes an event only once it opened) and then one
 * error event: "data: {"error":...}" and an empty line. */
static void
check_error_tail(const struct sink *u, const struct buf *events)
{
	static const char pat[] = "data: {\"error\":";
	size_t n = 0, i;
	const char *t;

	for (i = 0; i + 15 <= u->text.len; i++)
		if (memcmp(u->text.p + i, pat, 15) == 0)
			n = i + 1;
	FUZZ_CHECK(n > 0);
	n--;
	FUZZ_CHECK(n <= events->len && (n == 0 || memcmp(u->text.p,
	    events->p, n) == 0));
	t = u->text.p + n;
	FUZZ_CHECK(u->text.len - n > 17);
	FUZZ_CHECK(memcmp(u->text.p + u->text.len - 2, "\n\n", 2) == 0);
	FUZZ_CHECK(memchr(t, '\n', u->text.len - n - 2) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t buckets[] = { 0, 1, 16, 256 };
	enum message_endpoint ep;
	struct sink w1, w2, w3, u, m;
	struct buf events, mut;
	const char *p = (const char *)data + 1;
	size_t n, bucket, i;
	int whole;

	if (size < 1 || size > 6000)
		return 0;
	ep = (enum message_endpoint)(data[0] % 3);
	bucket = buckets[(data[0] >> 2) & 3];
	n = size - 1;
	memset(&w1, 0, sizeof(w1));
	memset(&w2, 0, sizeof(w2));
	memset(&w3, 0, sizeof(w3));
	memset(&u, 0, sizeof(u));
	memset(&m, 0, sizeof(m));
	buf_init(&w1.text, OUT_MAX);
	buf_init(&w2.text, OUT_MAX);
	buf_init(&w3.text, OUT_MAX);
	buf_init(&u.text, OUT_MAX);
	buf_init(&m.text, OUT_MAX);
	buf_init(&events, OUT_MAX);
	buf_init(&mut, OUT_MAX);

	if (data[0] & 0x80) {
		/* Bytes of a relay: nothing authenticates under this key. */
		FUZZ_CHECK(open_(ep, p, n, 0, data, size, &u) == 0);
		check_error_tail(&u, &events);
		goto out;
	}
	whole = events_of(p, n, &events);
	seal(ep, bucket, p, n, n + 1, NULL, 0, &w1);
	seal(ep, bucket, p, n, 1, NULL, 0, &w2);
	seal(ep, bucket, p, n, 0, data, size, &w3);
	/* Split differently, the wire is the same, except that an LF after
	 * the CR that ended an event, cut off into the next piece, is not
	 * part of that event (sse.h): the user sees the same events once
	 * line ends are read as SSE reads them. */
	FUZZ_CHECK(w1.events == w2.events && w1.events == w3.events);
	if (!same(&w1.text, &w2.text) || !same(&w1.text, &w3.text)) {
		FUZZ_CHECK(memchr(p, '\r', n) != NULL);
		FUZZ_CHECK(open_(ep, w2.text.p, w2.text.len, 1, NULL, 0, &m) ==
		    1);
		normalize(&m.text);
		buf_reset(&mut);
		FUZZ_CHECK(buf_append(&mut, events.p, events.len) == PS_OK);
		normalize(&mut);
		if (whole)
			FUZZ_CHECK(same(&m.text, &mut));
		buf_reset(&m.text);
		m.events = 0;
		FUZZ_CHECK(open_(ep, w3.text.p, w3.text.len, 7, NULL, 0, &m) ==
		    1);
		normalize(&m.text);
		if (whole)
			FUZZ_CHECK(same(&m.text, &mut));
		buf_reset(&m.text);
		m.events = 0;
	}
	FUZZ_CHECK(w1.text.len >= 8 && memcmp(w1.text.p, "data: ", 6) == 0);
	FUZZ_CHECK(memcmp(w1.text.p + w1.text.len - 2, "\n\n", 2) == 0);

	/* The round trip, fed whole and in pieces. */
	FUZZ_CHECK(open_(ep, w1.text.p, w1.text.len, 0, data, size, &u) ==
	    1);
	if (whole)
		FUZZ_CHECK(same(&u.text, &events));
	else
		/* An event over the cap: the events before it, then the
		 * worker's error event (sealed, so it authenticates). */
		check_error_tail(&u, &events);

	/* Mutations: never a clean end, nothing but whole events and one
	 * error. */
	for (i = 0; i < 8; i++) {
		size_t at = ((size_t)data[(i * 11) % size] << 8 |
		    data[(i * 29 + 3) % size]) % w1.text.len;

		buf_reset(&mut);
		buf_reset(&m.text);
		FUZZ_CHECK(buf_append(&mut, w1.text.p, w1.text.len) == PS_OK);
		if (i % 3 == 0)
			mut.p[at] ^= (char)(1 + i);
		else if (i % 3 == 1) {
			memmove(mut.p + at, mut.p + at + 1, mut.len - at - 1);
			mut.len--;
		} else
			mut.len = at;
		if (open_(ep, mut.p, mut.len, 0, data + i % size, size - i % size,
		    &m) == 1) {
			/* Only a change the SSE reading undoes may pass: a
			 * CR for an LF at a line end, say.  Then the user
			 * sees the very same events. */
			FUZZ_CHECK(same(&m.text, &u.text));
			continue;
		}
		check_error_tail(&m, &u.text);
	}
out:
	buf_free(&w1.text);
	buf_free(&w2.text);
	buf_free(&w3.text);
	buf_free(&u.text);
	buf_free(&m.text);
	buf_free(&events);
	buf_free(&mut);
	return 0;
}
