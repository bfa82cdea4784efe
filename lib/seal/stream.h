/*
 * stream: encrypting (worker) and checking (client) a streamed response,
 * event by event (protocol.md section 5).
 *
 * Both sides take upstream bytes split anywhere and write the transformed
 * stream to an output callback, one call per complete event with flush
 * set, so the caller can pass each event on at once.  Memory stays bounded
 * by the longest line, however long the stream runs.
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

/* Receives transformed bytes.  flush is 1 at the end of each event.  A
 * non-zero return (the peer went away) stops the stream. */
typedef pserr (*stream_out_fn)(void *arg, const char *p, size_t n, int flush);

struct stream {
	struct envelope_ctx c;     /* dir, kid, nonce, key; msg counts events */
	enum message_endpoint ep;
	struct sse_reader reader;
	struct buf out;            /* the event being built */
	stream_out_fn emit;
	void *arg;
	int done;                  /* end record written (worker) or checked (client) */
	int failed;                /* an error event was written; input is ignored */
	pserr error;               /* the code of that error event; PS_OK while
	                            * none was written (also when the peer went
	                            * away) */
};

/*
 * Set s up to seal (worker) or open (client) the response stream of one
 * exchange.  c holds the key, kid, nonce; c->dir must be ENVELOPE_RESPONSE
 * and c->msg starts at 0.  max_line caps one line of input.
 */
void stream_init(struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, size_t max_line, stream_out_fn emit,
    void *arg);

/*
 * The feed and finish calls below return PS_OK when the input was handled,
 * also when it was answered with an error event: s->failed is then set,
 * the stream is over and later input is ignored (the caller may stop
 * reading).  They return an error only when the output could not be
 * written (emit's error) or on a local failure (PS_ERR_NOMEM,
 * PS_ERR_CRYPTO; an error event is still attempted).  A line over
 * max_line, or an event that would grow past the output cap, is answered
 * with an error event (body_too_large).
 *
 * Worker side: upstream bytes in, encrypted stream out.  Each
 * "data: {json}" becomes "data: <json with sealed members>", the
 * upstream's "data: [DONE]" becomes the end-of-stream record, other lines
 * pass unchanged.  Each data line that carries JSON is one message, sealed
 * with msg = its index.  A data line that is not a JSON object is answered
 * with an error event (bad_upstream_response) and ends the stream.  The end
 * record closes its event itself and is emitted at once; all upstream
 * input after [DONE] is ignored.
 */
pserr stream_seal_feed(struct stream *s, const char *p, size_t n)
    PS_WARN_UNUSED;

/*
 * Worker side, end of upstream input.  When no [DONE] came, an error
 * event (upstream_unavailable) is written instead of an end record.  A
 * last line without a line end counts only when it is "data: [DONE]"; an
 * event without its closing blank line is dropped.
 */
pserr stream_seal_finish(struct stream *s) PS_WARN_UNUSED;

/*
 * Client side: the worker's bytes in, plain stream out.  Each data event
 * is authenticated with its index; the end record becomes "data: [DONE]".
 * An event that does not authenticate gives an error event
 * (decrypt_failed) and ends the stream; a plain error event from the
 * worker ({"error": {...}} with no other member and no envelope) is passed
 * on, re-serialized, as an error and ends the stream.  An end record that
 * does not authenticate as record number <count> with plaintext <count>,
 * or a plain "data: [DONE]", is answered with stream_truncated; any data
 * line after a valid end record with decrypt_failed (nothing can
 * authenticate after it).  Other lines pass unchanged, also after the end.
 */
pserr stream_open_feed(struct stream *s, const char *p, size_t n)
    PS_WARN_UNUSED;

/*
 * Client side, end of input.  A stream without a valid end record ends in
 * an error event (stream_truncated), never a clean end.  A last line
 * without its line end is ignored (it was cut off), and so is an event
 * without its closing blank line; only the [DONE] event is closed here.
 */
pserr stream_open_finish(struct stream *s) PS_WARN_UNUSED;

/* Drop the event being built, write one error event
 * data: {"error": {...}} for rc (pserr_json) and mark s failed.  Does
 * nothing when s has failed already.  Returns PS_OK, emit's error, or
 * PS_ERR_NOMEM. */
pserr stream_error(struct stream *s, pserr rc) PS_WARN_UNUSED;

/* Wipe and free s's memory. */
void stream_free(struct stream *s);

/*
 * What the client side passes on in place of a plain error event of the
 * worker ({"error": {...}} where an encrypted event should be).  This
 * archive does not define it; whoever links the stream module does, as its
 * policy for unauthenticated text: lib/seal/stream_plain.c, linked by the
 * programs (PS_SEAL_LIBS), passes the worker's error on re-serialized, and
 * the public library (lib/promptseal/) answers it in its own words.
 *
 * json (len bytes) is the event's data value.  When it is a plain error
 * event, append the JSON text of the error event to write in its place to
 * out, set *code to the error it stands for, and return PS_OK: the stream
 * ends with that event.  Return PS_ERR_INVALID_JSON when json is not one
 * (the event then fails as decrypt_failed), or PS_ERR_NOMEM or out's
 * PS_ERR_TOO_LARGE.  On failure out is left as it was.
 */
pserr stream_plain_error(const char *json, size_t len, struct buf *out,
    pserr *code) PS_WARN_UNUSED;

#endif
