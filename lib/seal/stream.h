/* SPDX-License-Identifier: ISC */
/*
 * stream: sealing (worker) and checking (client) a streamed reply, event
 * by event (protocol.md section 5).
 *
 * Both sides take bytes split anywhere and write to an output callback,
 * one call per complete event with flush set, so the caller can pass each
 * event on at once.  Memory stays bounded by the longest event, however
 * long the stream runs.
 */
#ifndef PROMPTSEAL_STREAM_H
#define PROMPTSEAL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/envelope.h"
#include "seal/message.h"
#include "seal/sse.h"

/* The largest padding bucket for stream events (--pad-stream). */
#define STREAM_BUCKET_MAX ((size_t)64 << 10)

/* Receives output bytes.  flush is 1 at the end of each event.  A
 * non-zero return (the peer went away) stops the stream. */
typedef pserr (*stream_out_fn)(void *arg, const char *p, size_t n, int flush);

struct stream {
	struct envelope_ctx c;     /* dir R: kid, nonce, reply, key, bind */
	enum message_endpoint ep;
	uint32_t msg;              /* events sealed or checked so far */
	size_t bucket;             /* worker: padding of events */
	message_lookup_fn lookup;  /* client: keys c on the first message */
	void *lookup_arg;
	struct sse_events events;  /* worker: the upstream's raw events */
	struct sse_reader reader;  /* client: the wire's lines */
	struct buf out;            /* worker: the wire event being built;
	                              client: the event being checked */
	int have_event;            /* client: out holds an opened event */
	stream_out_fn emit;
	void *arg;
	int done;                  /* final record written or checked */
	int failed;                /* an error ended the stream */
	pserr error;               /* the code of the error event written,
	                              PS_OK while none was (also when the
	                              peer went away) */
};

/*
 * Worker side.  c must be keyed for the reply (dir ENVELOPE_RESPONSE, its
 * reply value, the bind of status 200 and text/event-stream); it is
 * copied.  bucket pads each event (at most STREAM_BUCKET_MAX); max_event
 * caps one upstream event.
 */
void stream_seal_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, size_t bucket, size_t max_event,
    stream_out_fn emit, void *arg);

/*
 * Upstream bytes in, wire events out: each upstream event becomes
 * "data: <wire JSON>\n\n", sealed as the next message.  Returns PS_OK
 * when the input was handled, also when it ended the stream: an event
 * over max_event is answered with a sealed error event (body_too_large)
 * and the final record, after which s->done is set and input is ignored.
 * Returns an error only when the output could not be written (emit's
 * error, s->failed set) or on a local failure (PS_ERR_NOMEM,
 * PS_ERR_CRYPTO; the error event and final record are still attempted).
 */
pserr stream_seal_feed(struct stream *s, const char *p, size_t n)
    PS_WARN_UNUSED;

/*
 * Worker side, end of upstream input.  why is PS_OK when the upstream's
 * body ended, else the reason it broke off (PS_ERR_UPSTREAM,
 * PS_ERR_TIMEOUT, ...), which is sealed as an error event first.  A
 * partial event is dropped.  Then the final record.  Does nothing after
 * the final record or a failure.
 */
pserr stream_seal_finish(struct stream *s, pserr why) PS_WARN_UNUSED;

/*
 * Client side.  c holds the request's kid and nonce and the reply bind
 * (the status and media type received), dir ENVELOPE_RESPONSE; it is
 * copied, and keyed with lookup's secret and the reply value of the first
 * message.  max_event caps one event as the user gets it.
 */
void stream_open_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, message_lookup_fn lookup, void *larg,
    size_t max_event, stream_out_fn emit, void *arg);

/*
 * The worker's bytes in, the inference server's events out.  Each wire
 * event must authenticate as the next message; its content is written as
 * it is.  A valid final record with the right count ends the stream
 * normally (s->done; later input is ignored).  Anything else is answered
 * with one error event and ends the stream (s->failed): decrypt_failed
 * for an event that does not authenticate, any line that is not a wire
 * event's data line or its empty line, or a second data line;
 * stream_truncated for a final record that does not check;
 * bad_upstream_response for a version 1 event.  Return values as for
 * stream_seal_feed.
 */
pserr stream_open_feed(struct stream *s, const char *p, size_t n)
    PS_WARN_UNUSED;

/*
 * Client side, end of input.  A stream without a valid final record ends
 * in an error event (stream_truncated), never a clean end; an event whose
 * empty line did not come is not written.
 */
pserr stream_open_finish(struct stream *s) PS_WARN_UNUSED;

/* Client side: drop the event being checked, write one plain error event
 * data: {"error": {...}} for rc (pserr_json) and mark s failed.  Does
 * nothing when s is over already.  Returns PS_OK, emit's error, or
 * PS_ERR_NOMEM. */
pserr stream_error(struct stream *s, pserr rc) PS_WARN_UNUSED;

/* Wipe and free s's memory. */
void stream_free(struct stream *s);

#endif
