/* SPDX-License-Identifier: ISC */
/*
 * multipart: the wire form of the multipart/form-data endpoints
 * (protocol.md section 4, "Multipart bodies"): the audio transcription
 * and translation requests, and the replies of theirs that are not JSON.
 *
 * The sender seals the original Content-Type and body whole, once, and
 * sends a JSON object with copies of the plain fields (as JSON strings,
 * one canonical escaping) and the envelope last.  The receiver opens it,
 * parses the original with the strict parser below, recomputes that
 * object and refuses the message unless it is byte for byte what it
 * received; then it uses the original bytes.
 *
 * The parser accepts a strict subset of RFC 7578 / RFC 2046: no
 * preamble, CRLF line ends, the close delimiter last (an optional CRLF
 * after it, nothing else), each part with exactly one
 * Content-Disposition: form-data; name="..." [; filename="..."] and at
 * most one Content-Type, no other part header, at most
 * PS_CAP_MULTIPART_PARTS parts of at most PS_CAP_MULTIPART_HEADER header
 * bytes each.
 */
#ifndef PROMPTSEAL_MULTIPART_H
#define PROMPTSEAL_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/envelope.h"
#include "seal/message.h"

/* 1 when requests to ep are multipart/form-data bodies. */
int multipart_endpoint(enum message_endpoint ep);

/*
 * The boundary of a request Content-Type (ct, ctlen bytes, not
 * NUL-terminated): *b points into ct, *blen bytes.  PS_ERR_MEDIA_TYPE
 * when the media type is not multipart/form-data; PS_ERR_INVALID_MULTIPART
 * when ct is longer than PS_CAP_MULTIPART_CTYPE, holds a byte outside
 * 0x20..0x7E and HTAB, a parameter other than one boundary, or a boundary
 * that RFC 2046 does not allow (1..70 bchars, not ending in a space).
 */
pserr multipart_boundary(const char *ct, size_t ctlen, const char **b,
    size_t *blen) PS_WARN_UNUSED;

/* One part, pointers into the body. */
struct multipart_part {
	const char *name;          /* the bytes between the quotes */
	size_t name_len;
	const char *filename;      /* NULL when there is no filename */
	size_t filename_len;
	const char *value;         /* the part's content */
	size_t value_len;
};

/* Walks a body part by part. */
struct multipart_iter {
	const char *b;             /* boundary */
	size_t blen;
	const char *p;             /* the body */
	size_t len;
	size_t pos;                /* where the next part starts */
	size_t parts;
	int done;
};

/*
 * Start walking body (len bytes) of a request whose Content-Type is ct
 * (ctlen bytes).  Errors as multipart_boundary(), and
 * PS_ERR_INVALID_MULTIPART when the body does not start with the first
 * delimiter.
 */
pserr multipart_begin(struct multipart_iter *it, const char *ct,
    size_t ctlen, const char *body, size_t len) PS_WARN_UNUSED;

/*
 * The next part in *p and *more = 1, or *more = 0 after the close
 * delimiter (and nothing but an optional CRLF after it).
 * PS_ERR_INVALID_MULTIPART for anything the subset above refuses.
 */
pserr multipart_next(struct multipart_iter *it, struct multipart_part *p,
    int *more) PS_WARN_UNUSED;

/*
 * Check a whole body: every part as multipart_next() wants it, at least
 * one part, and for ep's plain fields (message_is_plain) no filename, no
 * second field of the same name and a value of valid UTF-8.  Returns
 * PS_OK, PS_ERR_MEDIA_TYPE or PS_ERR_INVALID_MULTIPART.
 */
pserr multipart_check(enum message_endpoint ep, const char *ct,
    size_t ctlen, const char *body, size_t len) PS_WARN_UNUSED;

/*
 * Append the wire form's JSON string for a plain field value (v, n bytes
 * of valid UTF-8): '"', each byte as is except '"' -> \" , '\' -> \\ and
 * 0x00..0x1F -> \u00xx (lowercase hex), '"'.
 */
pserr multipart_json_string(const char *v, size_t n, struct buf *out)
    PS_WARN_UNUSED;

/*
 * Seal a multipart request under c (dir ENVELOPE_REQUEST, keyed, request
 * bind set): content ts | qlen | query | ctlen (u16) | ct | body, padded
 * to bucket, and append its wire form to out.  Returns
 * PS_ERR_MEDIA_TYPE, PS_ERR_INVALID_MULTIPART, PS_ERR_QUERY_TOO_LONG,
 * PS_ERR_BAD_QUERY, PS_ERR_ARG, PS_ERR_TOO_LARGE (out's cap),
 * PS_ERR_NOMEM or envelope_seal()'s error; on failure out is left as it
 * was.
 */
pserr multipart_seal_request(enum message_endpoint ep,
    const struct envelope_ctx *c, uint64_t ts, const char *query,
    size_t qlen, const char *ct, size_t ctlen, const char *body, size_t len,
    size_t bucket, struct buf *out) PS_WARN_UNUSED;

/* A multipart request as opened: pointers into the output buffer. */
struct multipart_request {
	uint64_t ts;
	const char *query;
	size_t qlen;
	const char *ct;            /* the original Content-Type, ctlen bytes */
	size_t ctlen;
	const char *body;          /* the original body, len bytes */
	size_t len;
};

/*
 * Open a multipart request's wire body under c (as
 * message_open_request()) and append its content to out; r points into
 * out.  Errors as message_open_request(); a content that is not
 * ts | qlen | query | ctlen | ct | body with a body that
 * multipart_check() accepts, or a wire that is not exactly the one
 * recomputed from it, is PS_ERR_DECRYPT.  On failure out is left as it
 * was and c is not keyed.
 */
pserr multipart_open_request(enum message_endpoint ep,
    struct envelope_ctx *c, message_lookup_fn lookup, void *arg,
    const char *wire, size_t wlen, struct buf *out,
    struct multipart_request *r) PS_WARN_UNUSED;

/*
 * A reply that is not JSON (text/plain from the audio endpoints): sealed
 * whole as message 0 under c (dir ENVELOPE_RESPONSE, keyed, reply bind
 * set to its status and media type), no plain member: the wire form
 * {"ps2":"<envelope>"} is appended to out.  Errors as envelope_seal().
 */
pserr multipart_seal_text_reply(const struct envelope_ctx *c,
    const char *body, size_t len, size_t bucket, struct buf *out)
    PS_WARN_UNUSED;

/*
 * Open such a reply (as message_open_reply(): c keyed or keyed from the
 * envelope with lookup's secret) and append the original body to out.
 * PS_ERR_INVALID_ENVELOPE when no envelope is found or it names another
 * exchange, PS_ERR_DECRYPT when it does not authenticate or the wire is
 * not exactly {"ps2":"<envelope>"}.  On failure out is left as it was
 * and c as it came.
 */
pserr multipart_open_text_reply(struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, size_t wlen,
    struct buf *out) PS_WARN_UNUSED;

#endif
