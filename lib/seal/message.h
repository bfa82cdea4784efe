/* SPDX-License-Identifier: ISC */
/*
 * message: the wire form of one message (protocol.md section 4): a
 * request body (or a bodyless request's header), a reply body, or one
 * stream event.
 *
 * The sender seals the whole original once and sends, in its place, a
 * JSON object with copies of the original's plain members and the
 * envelope as its last member "ps2".  The receiver opens the envelope,
 * recomputes that object from the original it decrypted and refuses the
 * message unless it is byte for byte what it received; then it uses the
 * original bytes.  Members are located by a validating scanner (jscan):
 * nothing is parsed into a tree or re-serialized.
 */
#ifndef PROMPTSEAL_MESSAGE_H
#define PROMPTSEAL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/envelope.h"

/* The longest query string a request may carry (protocol.md section 4). */
#define MESSAGE_QUERY_MAX 4096

enum message_endpoint {
	MESSAGE_CHAT = 0,        /* POST /v1/chat/completions */
	MESSAGE_COMPLETIONS,     /* POST /v1/completions */
	MESSAGE_EMBEDDINGS,      /* POST /v1/embeddings */
	MESSAGE_MODELS,          /* GET  /v1/models (bodyless) */
	MESSAGE_MODEL,           /* GET  /v1/models/{id} (bodyless) */
	MESSAGE_RESPONSES,       /* POST /v1/responses */
	MESSAGE_RESPONSE_GET,    /* GET  /v1/responses/{id} (bodyless) */
	MESSAGE_RESPONSE_DELETE, /* DELETE /v1/responses/{id} (bodyless) */
	MESSAGE_RESPONSE_INPUT_ITEMS, /* GET /v1/responses/{id}/input_items */
	MESSAGE_RESPONSE_CANCEL, /* POST /v1/responses/{id}/cancel (bodyless) */
	MESSAGE_MESSAGES,        /* POST /v1/messages (Anthropic) */
	MESSAGE_COUNT_TOKENS,    /* POST /v1/messages/count_tokens */
	MESSAGE_RERANK,          /* POST /v1/rerank, /rerank, /v2/rerank */
	MESSAGE_SCORE,           /* POST /v1/score */
	MESSAGE_TOKENIZE,        /* POST /tokenize */
	MESSAGE_DETOKENIZE,      /* POST /detokenize */
	MESSAGE_TRANSCRIPTIONS,  /* POST /v1/audio/transcriptions (multipart) */
	MESSAGE_TRANSLATIONS,    /* POST /v1/audio/translations (multipart) */
	MESSAGE_ENDPOINT_COUNT   /* not an endpoint: how many there are */
};

/*
 * Split a request target (a REQUEST_URI) at its first '?': *path_len is
 * the length of the path; *query points after the '?' (NULL when there
 * is none) with *query_len bytes.
 */
void message_target(const char *uri, size_t *path_len, const char **query,
    size_t *query_len);

/*
 * The media type a reply is bound to (protocol.md section 3): the part of
 * content_type before any ';', spaces and tabs trimmed, ASCII lowercased,
 * written to out (outlen bytes, NUL-terminated).  Returns its length, or
 * -1 when it does not fit or holds a control byte.
 */
int message_media_type(const char *content_type, char *out, size_t outlen);

/*
 * Map a request method and path (path_len bytes, no query) to an
 * endpoint.  The path must match exactly (no trailing slash, no
 * percent-decoding, case-sensitive; so must the method), an "{id}" of a
 * template matching only a path parameter of protocol.md section 4
 * (*Path parameters*), checked here: so the path that matched is the one
 * to bind and to forward, as it came.  Returns PS_ERR_UNKNOWN_ENDPOINT for
 * any other path (an id outside the rule included), PS_ERR_METHOD for a
 * known path with the wrong method, PS_ERR_ARG when method or path is
 * NULL.
 */
pserr message_route(const char *method, const char *path, size_t path_len,
    enum message_endpoint *ep) PS_WARN_UNUSED;

/* The method and the canonical path of ep ("POST",
 * "/v1/chat/completions"; a template such as "/v1/responses/{id}" for an
 * endpoint with a path parameter): "" for an endpoint not routed.  The
 * path a request is bound to and forwarded to is the one it came with. */
const char *message_method(enum message_endpoint ep);
const char *message_path(enum message_endpoint ep);

/* A name unique to ep (its path, or method and path where two endpoints
 * share one), for metrics; "" for an endpoint not routed. */
const char *message_name(enum message_endpoint ep);

/* 1 when requests to ep have no body (their envelope travels in the
 * Promptseal-Request header). */
int message_bodyless(enum message_endpoint ep);

/* 1 when ep's streams are typed events (Responses, Anthropic Messages):
 * a proxy's own error event in them is named "error" (protocol.md
 * section 5). */
int message_typed_stream(enum message_endpoint ep);

/* 1 when member name (name_len bytes, unescaped UTF-8) stays plain for ep
 * and dir, 0 when it is sealed. */
int message_is_plain(enum message_endpoint ep, enum envelope_dir dir,
    const char *name, size_t name_len);

/*
 * What counts as an original body: exactly one JSON object, with optional
 * whitespace around it, as jscan.h defines JSON (strict RFC 8259, valid
 * UTF-8, no lone surrogates, at most JSCAN_MAX_DEPTH levels in all), with
 * no two members of the same name once escapes are undone ("a" and
 * "\u0061" are the same name) and no member named "ps2".  Member names
 * are compared with the allowlist in their unescaped form and copied to
 * the wire as they came.
 */

/*
 * Seal a request under c (dir ENVELOPE_REQUEST, keyed, request bind set):
 * content ts | qlen | query | body, padded to bucket.  For a body
 * endpoint, body must be an original body and the wire form is appended
 * to out; for a bodyless one, len must be 0 and the bare envelope text is
 * appended (the Promptseal-Request header value).  The query must be at
 * most MESSAGE_QUERY_MAX bytes of 0x21..0x7E other than '#'.  A multipart
 * endpoint is PS_ERR_ARG: its requests are seal/multipart.h's.  Returns
 * PS_ERR_INVALID_JSON, PS_ERR_QUERY_TOO_LONG, PS_ERR_BAD_QUERY,
 * PS_ERR_ARG, PS_ERR_TOO_LARGE (out's cap), PS_ERR_NOMEM or
 * envelope_seal()'s error; on failure out is left as it was.
 */
pserr message_seal_request(enum message_endpoint ep,
    const struct envelope_ctx *c, uint64_t ts, const char *query,
    size_t qlen, const char *body, size_t len, size_t bucket,
    struct buf *out) PS_WARN_UNUSED;

/*
 * Seal a reply body (an original body) under c (dir ENVELOPE_RESPONSE,
 * keyed, reply bind set) as message 0 and append its wire form to out.
 * Errors as message_seal_request.
 */
pserr message_seal_reply(enum message_endpoint ep,
    const struct envelope_ctx *c, const char *body, size_t len,
    size_t bucket, struct buf *out) PS_WARN_UNUSED;

/*
 * Seal one raw SSE event (ev, len bytes) as message msg under c and
 * append its wire JSON (no "data: ", no line end) to out.  The plain
 * members come from the event's data when that is an original body, else
 * there are none.  Errors as message_seal_request, except that the event
 * is never refused as JSON.
 */
pserr message_seal_event(enum message_endpoint ep,
    const struct envelope_ctx *c, uint32_t msg, const char *ev, size_t len,
    size_t bucket, struct buf *out) PS_WARN_UNUSED;

/*
 * Look up the secret for a kid met in a message.  Writes the secret
 * (ENVELOPE_SECRET_LEN bytes) and returns PS_OK, or PS_ERR_UNKNOWN_KEY /
 * PS_ERR_NO_KEY.
 */
typedef pserr (*message_lookup_fn)(void *arg,
    const uint8_t kid[ENVELOPE_KID_LEN], uint8_t secret[ENVELOPE_SECRET_LEN]);

/* A request as opened: pointers into the output buffer. */
struct message_request {
	uint64_t ts;
	const char *query;    /* qlen bytes, checked as for sealing */
	size_t qlen;
	const char *body;     /* the original body, len bytes */
	size_t len;
};

/*
 * Open a request (the wire body, or a bodyless request's header value)
 * under c (dir ENVELOPE_REQUEST, request bind set) and append its content
 * to out; r points into out.  The kid and nonce are taken from the
 * envelope and, on success, left in c with the derived key; the secret
 * comes from lookup(arg, kid) (called at most once, only for a wire whose
 * envelope is well-formed) and is wiped before return.
 *
 * Returns, the first fault deciding:
 *  - no envelope can be located: PS_ERR_INVALID_JSON (not a JSON object),
 *    PS_ERR_INVALID_ENVELOPE (a member named ps2, but misplaced),
 *    PS_ERR_VERSION (a string member starting with "ps1:"),
 *    PS_ERR_PLAINTEXT_MEMBER (a member that is not plain),
 *    PS_ERR_INVALID_ENVELOPE (anything else);
 *  - the envelope is malformed: PS_ERR_INVALID_ENVELOPE;
 *  - lookup's error;
 *  - it does not authenticate, its content is not ts | qlen | query |
 *    body, the body is not an original body (or, bodyless, not empty),
 *    or the wire is not exactly the one recomputed from it:
 *    PS_ERR_DECRYPT; a query that is not valid: PS_ERR_BAD_QUERY;
 *  - PS_ERR_TOO_LARGE (out's cap), PS_ERR_NOMEM, PS_ERR_CRYPTO.
 * On failure out is left as it was (no plaintext released) and c is not
 * keyed.
 */
pserr message_open_request(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, size_t wlen,
    struct buf *out, struct message_request *r) PS_WARN_UNUSED;

/*
 * Open a reply body under c (dir ENVELOPE_RESPONSE, the request's kid and
 * nonce, reply bind set) and append the original body to out.  When c is
 * not keyed yet, the reply value is taken from the envelope and the key
 * derived with lookup's secret; when it is, the envelope must carry c's
 * reply value.  Errors as message_open_request (a kid, nonce or reply
 * value other than c's is PS_ERR_INVALID_ENVELOPE); on failure out is
 * left as it was and c as it came.
 */
pserr message_open_reply(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, size_t wlen,
    struct buf *out) PS_WARN_UNUSED;

/*
 * Open the wire JSON of stream event msg (the value of its data line)
 * like a reply and append the raw event to out.  The wire's plain members
 * must be those of the event's data (none when the data is not an
 * original body).
 */
pserr message_open_event(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, uint32_t msg, const char *wire,
    size_t wlen, struct buf *out) PS_WARN_UNUSED;

/*
 * For a reply or event envelope (text s, n bytes) met by a receiver that
 * knows the request's kid and nonce but not yet the reply value: check
 * its form, that it carries c's kid and nonce, and key c with its reply
 * value and lookup's secret.  When c is keyed already, only checks that
 * the reply value is c's.  PS_ERR_INVALID_ENVELOPE, lookup's error or
 * PS_ERR_CRYPTO; c is left as it came on failure.  The ciphertext's
 * base64url is checked only when there is no key: envelope_open(), which
 * is to follow, refuses it otherwise.
 */
pserr message_key_reply(struct envelope_ctx *c, message_lookup_fn lookup,
    void *arg, const char *s, size_t n) PS_WARN_UNUSED;

#endif
