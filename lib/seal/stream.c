#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/secret.h"
#include "seal/stream.h"

/*
 * One line of input may grow when its members are sealed: a member as small
 * as "a":1, (6 bytes) becomes about 105 bytes of envelope.  The event
 * buffer holds one event, so its cap is a multiple of the line cap.
 */
#define OUT_FACTOR 32
#define OUT_SLACK 4096

#define DONE_NAME "[DONE]"
#define DONE_NAME_LEN 6
/* The decimal form of a u32 and a spare byte. */
#define COUNT_MAX 11

/* What the line callback tells the feed or finish call that drives it. */
struct line_ctx {
	struct stream *s;
	pserr rc;   /* the result for the caller once the reader is stopped */
	int stop;   /* the callback stopped the reader */
};

static size_t
out_max(size_t max_line)
{
	if (max_line > (SIZE_MAX - OUT_SLACK) / OUT_FACTOR)
		return SIZE_MAX;
	return max_line * OUT_FACTOR + OUT_SLACK;
}

void
stream_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, size_t max_line, stream_out_fn emit,
    void *arg)
{
	s->c = *c;
	s->c.final = 0;
	s->ep = ep;
	sse_reader_init(&s->reader, max_line);
	buf_init(&s->out, out_max(max_line));
	s->emit = emit;
	s->arg = arg;
	s->done = 0;
	s->failed = 0;
	s->error = PS_OK;
}

/* Hand the event built in s->out to the peer and forget it.  A peer that
 * went away ends the stream. */
static pserr
emit_event(struct stream *s)
{
	pserr rc;

	rc = s->emit(s->arg, s->out.p, s->out.len, 1);
	buf_reset(&s->out);
	if (rc != PS_OK)
		s->failed = 1;
	return rc;
}

/* Drop the partial event and write json as one event of its own, after
 * which the stream is over. */
static pserr
end_with(struct stream *s, const char *json, size_t len)
{
	pserr rc;

	buf_reset(&s->out);
	s->failed = 1;
	if ((rc = buf_puts(&s->out, "data: ")) != PS_OK ||
	    (rc = buf_append(&s->out, json, len)) != PS_OK ||
	    (rc = buf_puts(&s->out, "\n\n")) != PS_OK) {
		buf_reset(&s->out);
		return rc;
	}
	return emit_event(s);
}

pserr
stream_error(struct stream *s, pserr rc)
{
	struct buf j;
	pserr e;

	if (s->failed)
		return PS_OK;
	s->error = rc;
	buf_init(&j, 256);
	if ((e = pserr_json(rc, &j)) == PS_OK)
		e = end_with(s, j.p, j.len);
	s->failed = 1;
	buf_free(&j);
	return e;
}

/* A line that is neither a data line nor a blank line. */
static pserr
pass_line(struct stream *s, const char *line, size_t len)
{
	pserr rc;
	size_t start = s->out.len;

	if ((rc = buf_append(&s->out, line, len)) != PS_OK ||
	    (rc = buf_putc(&s->out, '\n')) != PS_OK)
		s->out.len = start;
	return rc;
}

/* The blank line that ends an event: the event goes out at once. */
static pserr
end_event(struct stream *s)
{
	pserr rc;

	if ((rc = buf_putc(&s->out, '\n')) != PS_OK)
		return rc;
	return emit_event(s);
}

/* Stop the reader after an error found in the stream: it is answered with
 * an error event, and the call that fed the input succeeds unless that
 * event could not be written. */
static pserr
stop_with_error(struct line_ctx *x, pserr code)
{
	x->rc = stream_error(x->s, code);
	x->stop = 1;
	return PS_ERR_ARG;   /* any non-zero value stops the reader */
}

/*
 * Stop the reader after a failure that is not the stream's content: the
 * peer went away (s is failed already, nothing more can be written), or
 * memory or the crypto library failed (the peer still gets an error event
 * if one can be written, and the caller gets rc to log).  An event over the
 * cap is the input's fault and is answered like any bad input.
 */
static pserr
stop_with(struct line_ctx *x, pserr rc)
{
	if (rc == PS_ERR_TOO_LARGE && !x->s->failed)
		return stop_with_error(x, rc);
	if (!x->s->failed) {
		/* Best effort: the caller gets rc whatever this gives. */
		pserr e = stream_error(x->s, rc);

		(void)e;
	}
	x->s->failed = 1;
	x->rc = rc;
	x->stop = 1;
	return rc;
}

static size_t
count_text(uint32_t n, char *out)
{
	int k = snprintf(out, COUNT_MAX, "%u", (unsigned)n);

	return k > 0 ? (size_t)k : 0;
}

/* ------------------------------------------------------------ worker */

static pserr
seal_end_record(struct stream *s)
{
	char count[COUNT_MAX];
	size_t start = s->out.len, n;
	pserr rc;

	n = count_text(s->c.msg, count);
	s->c.final = 1;
	if ((rc = buf_puts(&s->out, "data: ")) == PS_OK &&
	    (rc = envelope_seal(&s->c, DONE_NAME, DONE_NAME_LEN, count, n,
	    &s->out)) == PS_OK)
		rc = buf_puts(&s->out, "\n\n");
	s->c.final = 0;
	if (rc != PS_OK)
		s->out.len = start;
	return rc;
}

static pserr
seal_line(void *arg, const char *line, size_t len)
{
	struct line_ctx *x = arg;
	struct stream *s = x->s;
	const char *val;
	size_t vlen, start;
	pserr rc;

	if (len == 0) {
		if ((rc = end_event(s)) != PS_OK)
			return stop_with(x, rc);
		return PS_OK;
	}
	if (!sse_data_value(line, len, &val, &vlen)) {
		if ((rc = pass_line(s, line, len)) != PS_OK)
			return stop_with(x, rc);
		return PS_OK;
	}
	if (vlen == DONE_NAME_LEN && memcmp(val, DONE_NAME, vlen) == 0) {
		/* The end record closes its event itself and goes out now;
		 * whatever the upstream sends after it is ignored. */
		if ((rc = seal_end_record(s)) != PS_OK)
			return stop_with(x, rc);
		s->done = 1;
		x->stop = 1;
		x->rc = emit_event(s);
		return PS_ERR_ARG;
	}
	if (s->c.msg == UINT32_MAX)
		return stop_with_error(x, PS_ERR_TOO_LARGE);
	start = s->out.len;
	if ((rc = buf_puts(&s->out, "data: ")) != PS_OK)
		return stop_with(x, rc);
	rc = message_seal(s->ep, &s->c, val, vlen, &s->out);
	if (rc == PS_OK)
		rc = buf_putc(&s->out, '\n');
	if (rc != PS_OK) {
		s->out.len = start;
		if (rc == PS_ERR_INVALID_JSON)
			return stop_with_error(x, PS_ERR_BAD_UPSTREAM);
		return stop_with(x, rc);
	}
	s->c.msg++;
	return PS_OK;
}

/* Run the reader over input (or its end) with line handler fn. */
static pserr
drive(struct stream *s, const char *p, size_t n, int finish, sse_line_fn fn)
{
	struct line_ctx x = { s, PS_OK, 0 };
	pserr rc;

	if (finish)
		rc = sse_reader_finish(&s->reader, fn, &x);
	else
		rc = sse_reader_feed(&s->reader, p, n, fn, &x);
	if (x.stop)
		return x.rc;
	if (rc != PS_OK) {
		/* The reader's own error: a line over the cap. */
		if (rc == PS_ERR_TOO_LARGE)
			return stream_error(s, rc);
		s->failed = 1;
	}
	return rc;
}

pserr
stream_seal_feed(struct stream *s, const char *p, size_t n)
{
	if (s->failed || s->done)
		return PS_OK;
	return drive(s, p, n, 0, seal_line);
}

/* The upstream's last line had no line end: only a [DONE] is taken from
 * it.  Anything else belongs to an event that never ended, which an SSE
 * reader would drop too. */
static pserr
seal_last_line(void *arg, const char *line, size_t len)
{
	const char *val;
	size_t vlen;

	if (sse_data_value(line, len, &val, &vlen) &&
	    vlen == DONE_NAME_LEN && memcmp(val, DONE_NAME, vlen) == 0)
		return seal_line(arg, line, len);
	return PS_OK;
}

pserr
stream_seal_finish(struct stream *s)
{
	pserr rc;

	if (s->failed || s->done)
		return PS_OK;
	if ((rc = drive(s, NULL, 0, 1, seal_last_line)) != PS_OK)
		return rc;
	if (s->failed || s->done)
		return PS_OK;
	/* An event left without its blank line is dropped with the rest. */
	return stream_error(s, PS_ERR_UPSTREAM);
}

/* ------------------------------------------------------------ client */

/* Check the end-of-stream record: it must authenticate as record number
 * s->c.msg with final set, and say how many events came before it. */
static int
end_record_ok(struct stream *s, const char *val, size_t vlen)
{
	struct envelope_ctx c = s->c;
	char count[COUNT_MAX];
	struct buf pt;
	size_t n;
	int ok = 0;

	buf_init(&pt, COUNT_MAX);
	c.final = 1;
	n = count_text(s->c.msg, count);
	if (envelope_open(&c, DONE_NAME, DONE_NAME_LEN, val, vlen, &pt) == PS_OK)
		ok = pt.len == n && memcmp(pt.p, count, n) == 0;
	buf_free(&pt);
	secret_wipe(&c, sizeof(c));
	return ok;
}

static pserr
open_data(struct line_ctx *x, const char *val, size_t vlen)
{
	struct stream *s = x->s;
	struct buf plain;
	pserr code = PS_OK;
	size_t start;
	pserr rc;

	if (s->done)
		/* Nothing authenticates after the end record. */
		return stop_with_error(x, PS_ERR_DECRYPT);
	if (vlen >= ENVELOPE_PREFIX_LEN &&
	    memcmp(val, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN) == 0) {
		/* Any end record that fails, whatever the cause (a count that
		 * does not match, a record of another exchange, a flipped
		 * byte), means the stream has no valid end. */
		if (!end_record_ok(s, val, vlen))
			return stop_with_error(x, PS_ERR_STREAM_TRUNCATED);
		if ((rc = buf_puts(&s->out, "data: [DONE]\n")) != PS_OK)
			return stop_with(x, rc);
		s->done = 1;
		return PS_OK;
	}
	if (vlen == DONE_NAME_LEN && memcmp(val, DONE_NAME, vlen) == 0)
		/* A plain [DONE] claims an end it cannot prove. */
		return stop_with_error(x, PS_ERR_STREAM_TRUNCATED);
	if (s->c.msg == UINT32_MAX)
		return stop_with_error(x, PS_ERR_TOO_LARGE);

	start = s->out.len;
	if ((rc = buf_puts(&s->out, "data: ")) != PS_OK)
		return stop_with(x, rc);
	rc = message_open(s->ep, &s->c, NULL, NULL, val, vlen, &s->out);
	if (rc == PS_OK)
		rc = buf_putc(&s->out, '\n');
	if (rc == PS_OK) {
		s->c.msg++;
		return PS_OK;
	}
	secret_wipe(s->out.p + start, s->out.len - start);
	s->out.len = start;
	switch (rc) {
	case PS_ERR_NOMEM:
	case PS_ERR_CRYPTO:
	case PS_ERR_TOO_LARGE:
		return stop_with(x, rc);
	default:
		break;
	}
	/* What passes on in place of a plain error event is decided by
	 * whoever links the stream (see stream_plain_error()). */
	buf_init(&plain, s->out.max);
	rc = stream_plain_error(val, vlen, &plain, &code);
	if (rc == PS_ERR_INVALID_JSON) {
		buf_free(&plain);
		return stop_with_error(x, PS_ERR_DECRYPT);
	}
	if (rc == PS_OK) {
		s->error = code;
		rc = end_with(s, plain.p, plain.len);
	} else if (rc == PS_ERR_TOO_LARGE) {
		/* As end_with() does when the event does not fit. */
		buf_reset(&s->out);
		s->failed = 1;
	}
	buf_free(&plain);
	x->rc = rc;
	x->stop = 1;
	return PS_ERR_ARG;
}

static pserr
open_line(void *arg, const char *line, size_t len)
{
	struct line_ctx *x = arg;
	struct stream *s = x->s;
	const char *val;
	size_t vlen;
	pserr rc;

	if (len == 0)
		rc = end_event(s);
	else if (sse_data_value(line, len, &val, &vlen))
		return open_data(x, val, vlen);
	else
		rc = pass_line(s, line, len);
	if (rc != PS_OK)
		return stop_with(x, rc);
	return PS_OK;
}

pserr
stream_open_feed(struct stream *s, const char *p, size_t n)
{
	if (s->failed)
		return PS_OK;
	return drive(s, p, n, 0, open_line);
}

pserr
stream_open_finish(struct stream *s)
{
	if (s->failed)
		return PS_OK;
	/* A last line without its line end was cut off: it is not looked
	 * at, so a stream cut inside a line or inside the end record reads
	 * as truncated, whatever the cut left. */
	if (!s->done)
		return stream_error(s, PS_ERR_STREAM_TRUNCATED);
	/* The end record came but its blank line did not: close the event
	 * so the peer's reader dispatches [DONE]. */
	if (s->out.len > 0)
		return end_event(s);
	return PS_OK;
}

void
stream_free(struct stream *s)
{
	sse_reader_free(&s->reader);
	buf_free(&s->out);
	secret_wipe(&s->c, sizeof(s->c));
}
