/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "core/log.h"
#include "core/secret.h"
#include "seal/stream.h"

#define DATA "data: "
#define DATA_LEN 6

/* A wire event holds a copy of the plain members (never more than the
 * event), the envelope (4/3 of the padded event) and a few bytes. */
static size_t
wire_max(size_t max_event)
{
	size_t slack = 2 * STREAM_BUCKET_MAX + 4096;

	if (max_event > (SIZE_MAX - slack) / 3)
		return SIZE_MAX;
	return 3 * max_event + slack;
}

static void
common_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, stream_out_fn emit, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->c = *c;
	s->ep = ep;
	s->emit = emit;
	s->arg = arg;
	sse_events_init(&s->events, 0);
	sse_reader_init(&s->reader, 0);
}

void
stream_free(struct stream *s)
{
	sse_events_free(&s->events);
	sse_reader_free(&s->reader);
	buf_free(&s->out);
	envelope_wipe(&s->c);
}

/* Hand what s->out holds to the peer as one event and forget it.  A peer
 * that went away ends the stream. */
static pserr
emit_out(struct stream *s)
{
	pserr rc;

	rc = s->emit(s->arg, s->out.p, s->out.len, 1);
	buf_reset(&s->out);
	if (rc != PS_OK)
		s->failed = 1;
	return rc;
}

/* ------------------------------------------------------------ worker */

void
stream_seal_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, size_t bucket, size_t max_event,
    stream_out_fn emit, void *arg)
{
	common_init(s, ep, c, emit, arg);
	s->bucket = bucket > STREAM_BUCKET_MAX ? STREAM_BUCKET_MAX : bucket;
	sse_events_init(&s->events, max_event);
	buf_init(&s->out, wire_max(max_event));
}

/* Seal one raw event as the next message and send it. */
static pserr
seal_one(struct stream *s, const char *ev, size_t len)
{
	pserr rc;

	buf_reset(&s->out);
	if ((rc = buf_append(&s->out, DATA, DATA_LEN)) != PS_OK ||
	    (rc = message_seal_event(s->ep, &s->c, s->msg, ev, len, s->bucket,
	    &s->out)) != PS_OK ||
	    (rc = buf_append(&s->out, "\n\n", 2)) != PS_OK) {
		buf_reset(&s->out);
		return rc;
	}
	s->msg++;
	return emit_out(s);
}

/* The final record: message s->msg, final set, content the count. */
static pserr
seal_final(struct stream *s)
{
	struct envelope_part part;
	uint8_t count[4];
	pserr rc;

	count[0] = (uint8_t)(s->msg >> 24);
	count[1] = (uint8_t)(s->msg >> 16);
	count[2] = (uint8_t)(s->msg >> 8);
	count[3] = (uint8_t)s->msg;
	part.p = count;
	part.n = sizeof(count);
	buf_reset(&s->out);
	if ((rc = buf_append(&s->out, DATA, DATA_LEN)) != PS_OK ||
	    (rc = envelope_seal(&s->c, s->msg, 1, &part, 1, s->bucket,
	    &s->out)) != PS_OK ||
	    (rc = buf_append(&s->out, "\n\n", 2)) != PS_OK) {
		buf_reset(&s->out);
		return rc;
	}
	s->done = 1;
	return emit_out(s);
}

/*
 * A typed stream's error event is named "error": Anthropic's SDK skips an
 * event without a name, so a data line alone would let a broken stream
 * end as if it were whole (OpenAI's SDKs raise either).
 */
static pserr
error_name(const struct stream *s, struct buf *out)
{
	static const char name[] = "event: error\n";

	return message_typed_stream(s->ep) ? buf_append(out, name,
	    sizeof(name) - 1) : PS_OK;
}

/*
 * End the stream with a sealed error event for code, then the final
 * record; the stream is over whatever this gives.  The error event is
 * an event like the upstream's: the user's SDK raises it.
 */
static pserr
seal_end_with(struct stream *s, pserr code)
{
	struct buf j;
	pserr rc;

	s->error = code;
	buf_init(&j, 512);
	if ((rc = error_name(s, &j)) == PS_OK &&
	    (rc = buf_append(&j, DATA, DATA_LEN)) == PS_OK &&
	    (rc = pserr_json(code, &j)) == PS_OK &&
	    (rc = buf_append(&j, "\n\n", 2)) == PS_OK)
		rc = seal_one(s, j.p, j.len);
	buf_free(&j);
	if (rc == PS_OK)
		rc = seal_final(s);
	s->done = 1;
	if (rc != PS_OK)
		s->failed = 1;
	return rc;
}

/* What the event splitter calls per complete upstream event. */
static pserr
seal_event(void *arg, const char *ev, size_t len)
{
	struct stream *s = arg;

	/* Room must stay for an error event and the final record. */
	if (s->msg >= UINT32_MAX - 1)
		return PS_ERR_TOO_LARGE;
	return seal_one(s, ev, len);
}

pserr
stream_seal_feed(struct stream *s, const char *p, size_t n)
{
	pserr rc;

	if (s->failed || s->done)
		return PS_OK;
	rc = sse_events_feed(&s->events, p, n, seal_event, s);
	if (rc == PS_OK || s->failed)
		return rc;
	/* An event over the cap is the upstream's fault; anything else is
	 * a local failure the caller gets to log.  Both end the stream with
	 * an error event, if one can still be sealed. */
	if (rc == PS_ERR_TOO_LARGE)
		return seal_end_with(s, PS_ERR_TOO_LARGE);
	{
		pserr e = seal_end_with(s, rc);

		(void)e;
	}
	return rc;
}

pserr
stream_seal_finish(struct stream *s, pserr why)
{
	if (s->failed || s->done)
		return PS_OK;
	/* A partial event is dropped, as an SSE reader would drop it. */
	sse_events_free(&s->events);
	if (why != PS_OK)
		return seal_end_with(s, why);
	return seal_final(s);
}

/* ------------------------------------------------------------ client */

void
stream_open_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, message_lookup_fn lookup, void *larg,
    size_t max_event, stream_out_fn emit, void *arg)
{
	common_init(s, ep, c, emit, arg);
	s->lookup = lookup;
	s->lookup_arg = larg;
	sse_reader_init(&s->reader, wire_max(max_event));
	/* The content of one event, with room for its padding. */
	buf_init(&s->out, max_event > SIZE_MAX - STREAM_BUCKET_MAX - 16 ?
	    SIZE_MAX : max_event + STREAM_BUCKET_MAX + 16);
}

pserr
stream_error(struct stream *s, pserr code)
{
	pserr rc;

	if (s->failed || s->done)
		return PS_OK;
	secret_wipe(s->out.p, s->out.len);
	buf_reset(&s->out);
	s->have_event = 0;
	s->failed = 1;
	s->error = code;
	/* The error event is the client's own, so its cap does not apply. */
	buf_free(&s->out);
	buf_init(&s->out, 1024);
	if ((rc = error_name(s, &s->out)) != PS_OK ||
	    (rc = buf_append(&s->out, DATA, DATA_LEN)) != PS_OK ||
	    (rc = pserr_json(code, &s->out)) != PS_OK ||
	    (rc = buf_append(&s->out, "\n\n", 2)) != PS_OK) {
		buf_reset(&s->out);
		return rc;
	}
	return emit_out(s);
}

/* What the line callback tells the feed call that drives it. */
struct line_ctx {
	struct stream *s;
	pserr rc;   /* the result for the caller once the reader is stopped */
	int stop;   /* the callback stopped the reader */
};

/* Stop the reader after a fault in the stream: it is answered with an
 * error event, and the feed call succeeds unless that event could not be
 * written. */
static pserr
stop_with_error(struct line_ctx *x, pserr code)
{
	x->rc = stream_error(x->s, code);
	x->stop = 1;
	return PS_ERR_ARG;   /* any non-zero value stops the reader */
}

/* Stop the reader after a failure that is not the stream's content: the
 * peer still gets an error event if one can be written, the caller gets
 * rc to log. */
static pserr
stop_local(struct line_ctx *x, pserr rc)
{
	pserr e = stream_error(x->s, rc);

	(void)e;
	x->s->failed = 1;
	x->rc = rc;
	x->stop = 1;
	return rc;
}

/* The final record: message s->msg with final set, holding the count. */
static pserr
open_final(struct line_ctx *x, const char *val, size_t vlen)
{
	struct stream *s = x->s;
	struct buf pt;
	pserr rc;

	/* The count, padded to the stream bucket. */
	buf_init(&pt, STREAM_BUCKET_MAX);
	rc = message_key_reply(&s->c, s->lookup, s->lookup_arg, val, vlen);
	if (rc == PS_OK)
		rc = envelope_open(&s->c, s->msg, 1, val, vlen, &pt);
	if (rc == PS_OK && (pt.len != 4 || (uint8_t)pt.p[0] !=
	    (uint8_t)(s->msg >> 24) || (uint8_t)pt.p[1] !=
	    (uint8_t)(s->msg >> 16) || (uint8_t)pt.p[2] !=
	    (uint8_t)(s->msg >> 8) || (uint8_t)pt.p[3] != (uint8_t)s->msg))
		rc = PS_ERR_DECRYPT;
	buf_free(&pt);
	switch (rc) {
	case PS_OK:
		s->done = 1;
		return PS_OK;
	case PS_ERR_NOMEM:
	case PS_ERR_CRYPTO:
		return stop_local(x, rc);
	default:
		/* Whatever the cause (a wrong count, another reply's record,
		 * a changed byte), the stream has no valid end. */
		return stop_with_error(x, PS_ERR_STREAM_TRUNCATED);
	}
}

static pserr
open_data(struct line_ctx *x, const char *val, size_t vlen)
{
	struct stream *s = x->s;
	pserr rc;

	if (s->have_event)
		/* A wire event is one data line. */
		return stop_with_error(x, PS_ERR_DECRYPT);
	if (vlen >= ENVELOPE_PREFIX_LEN &&
	    memcmp(val, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN) == 0)
		return open_final(x, val, vlen);
	if (s->msg >= UINT32_MAX)
		return stop_with_error(x, PS_ERR_DECRYPT);
	rc = message_open_event(s->ep, &s->c, s->lookup, s->lookup_arg,
	    s->msg, val, vlen, &s->out);
	switch (rc) {
	case PS_OK:
		s->have_event = 1;
		s->msg++;
		return PS_OK;
	case PS_ERR_NOMEM:
	case PS_ERR_CRYPTO:
		return stop_local(x, rc);
	case PS_ERR_VERSION:
		log_warn("the worker speaks wire format version 1; this client "
		    "speaks version 2");
		return stop_with_error(x, PS_ERR_BAD_UPSTREAM);
	default:
		return stop_with_error(x, PS_ERR_DECRYPT);
	}
}

static pserr
open_line(void *arg, const char *line, size_t len)
{
	struct line_ctx *x = arg;
	struct stream *s = x->s;
	const char *val;
	size_t vlen;
	pserr rc;

	if (s->done) {
		/* Nothing after the final record is passed on. */
		x->stop = 1;
		x->rc = PS_OK;
		return PS_ERR_ARG;
	}
	if (sse_data_value(line, len, &val, &vlen))
		return open_data(x, val, vlen);
	if (len != 0 || !s->have_event)
		/* event:, id:, a comment, retry:, or an empty event: none of
		 * them is sealed, none is passed on. */
		return stop_with_error(x, PS_ERR_DECRYPT);
	s->have_event = 0;
	if ((rc = emit_out(s)) != PS_OK) {
		x->rc = rc;
		x->stop = 1;
		return rc;
	}
	return PS_OK;
}

pserr
stream_open_feed(struct stream *s, const char *p, size_t n)
{
	struct line_ctx x = { s, PS_OK, 0 };
	pserr rc;

	if (s->failed || s->done)
		return PS_OK;
	rc = sse_reader_feed(&s->reader, p, n, open_line, &x);
	if (x.stop)
		return x.rc;
	if (rc == PS_ERR_TOO_LARGE)
		/* A line over the cap: no event of ours is that long. */
		return stream_error(s, PS_ERR_DECRYPT);
	if (rc != PS_OK) {
		/* Best effort: the caller gets rc whatever this gives. */
		pserr e = stream_error(s, rc);

		(void)e;
		s->failed = 1;
	}
	return rc;
}

pserr
stream_open_finish(struct stream *s)
{
	if (s->failed || s->done)
		return PS_OK;
	/* A last line without its line end was cut off and is not looked
	 * at, nor is an event whose empty line did not come. */
	return stream_error(s, PS_ERR_STREAM_TRUNCATED);
}
