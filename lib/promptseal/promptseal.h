/* SPDX-License-Identifier: ISC */
/*
 * promptseal.h: the promptseal envelope library.
 *
 * Seals and opens what crosses between a promptseal client and a
 * promptseal worker: the request and reply of one exchange (a body, or a
 * stream of Server-Sent Events).  The wire format (version 2) is
 * described in promptseal's docs/protocol.md; this interface is shaped so
 * that a program written against it does not depend on the format's
 * details: it names an exchange by its key, method and request target,
 * hands over whole bodies and raw stream bytes, and takes the HTTP status
 * and content type that the format authenticates.
 *
 * Conventions of every function below:
 *  - Functions that can fail return 0 (PROMPTSEAL_OK) or one of the
 *    codes of enum promptseal_error; promptseal_strerror() describes it.
 *  - Outputs are set only on success.  On failure *out and *outlen are
 *    left as they were, and nothing of a plaintext that did not
 *    authenticate is released: what the library wrote of it is wiped.
 *  - Output buffers are allocated by the library with malloc(), hold
 *    *outlen bytes followed by a NUL that is not counted (so a JSON text
 *    can be printed as a string), and belong to the caller, who frees
 *    them with promptseal_free(p, *outlen), which wipes them.
 *  - A NULL pointer where one is required is PROMPTSEAL_E_ARG.  A length
 *    of 0 admits a NULL data pointer.
 *  - Objects (keys, exchanges) are opaque.  Different objects may be used
 *    from different threads at once; one exchange is used by one thread
 *    at a time.  A key is read-only once made and may be shared.
 *  - No error message and no callback argument of the library's own ever
 *    holds a secret, a prompt or a reply.
 */
#ifndef PROMPTSEAL_H
#define PROMPTSEAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PROMPTSEAL_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define PROMPTSEAL_WARN_UNUSED
#endif

/* The sizes of a key ID and of a secret, in bytes. */
#define PROMPTSEAL_KID_LEN 16
#define PROMPTSEAL_SECRET_LEN 32
/* The size of an exchange's nonce, which with the key ID names a request
 * (promptseal_request_id()). */
#define PROMPTSEAL_NONCE_LEN 16

/*
 * Error codes.  Their values are part of the library's ABI and never
 * change; later versions add codes.  The first group is what a peer
 * reports (docs/protocol.md section 6: the HTTP status and code string
 * are given by promptseal_error_status() and promptseal_error_code()),
 * the second local failures (500 internal_error if they reach a peer).
 */
enum promptseal_error {
	PROMPTSEAL_OK = 0,
	PROMPTSEAL_E_INVALID_JSON = 1,       /* 400 invalid_json: not one
	                                      * JSON object */
	PROMPTSEAL_E_INVALID_ENVELOPE = 2,   /* 400 invalid_envelope: a sealed
	                                      * part is malformed, missing, or
	                                      * names another exchange */
	PROMPTSEAL_E_PLAINTEXT_MEMBER = 3,   /* 400 plaintext_member: a part
	                                      * that must be sealed is not */
	PROMPTSEAL_E_DECRYPT = 4,            /* 400 decrypt_failed: does not
	                                      * authenticate (any cause) */
	PROMPTSEAL_E_UNKNOWN_ENDPOINT = 5,   /* 404 unknown_endpoint */
	PROMPTSEAL_E_METHOD = 6,             /* 405 method_not_allowed */
	PROMPTSEAL_E_TOO_LARGE = 7,          /* 413 body_too_large */
	PROMPTSEAL_E_MEDIA_TYPE = 8,         /* 415 unsupported_media_type */
	PROMPTSEAL_E_UNKNOWN_KEY = 9,        /* 422 unknown_key: no secret
	                                      * for this key ID */
	PROMPTSEAL_E_UPSTREAM = 10,          /* 502 upstream_unavailable: the
	                                      * next hop broke off */
	PROMPTSEAL_E_BAD_UPSTREAM = 11,      /* 502 bad_upstream_response */
	PROMPTSEAL_E_NO_KEY = 12,            /* 503 no_key: no usable secret
	                                      * at all */
	PROMPTSEAL_E_TIMEOUT = 13,           /* 504 upstream_timeout */
	PROMPTSEAL_E_STREAM_TRUNCATED = 14,  /* a stream ended without a valid
	                                      * end (502 stream_truncated) */
	PROMPTSEAL_E_UNSUPPORTED_VERSION = 15, /* 400 unsupported_version: a
	                                      * peer of wire format 1 */
	PROMPTSEAL_E_STALE = 16,             /* 400 stale_request: sealed
	                                      * outside the replay window */
	PROMPTSEAL_E_PLAIN_QUERY = 17,       /* 400 plain_query: a query in
	                                      * clear on the wire */
	PROMPTSEAL_E_BAD_QUERY = 18,         /* 400 invalid_query: a query
	                                      * byte the format does not carry */
	PROMPTSEAL_E_REPLAYED = 19,          /* 409 replayed: a request seen
	                                      * before (the caller's record) */
	PROMPTSEAL_E_QUERY_TOO_LONG = 20,    /* 414 query_too_long */
	PROMPTSEAL_E_REPLAY_FULL = 21,       /* 503 replay_table_full: the
	                                      * caller's record is full */

	PROMPTSEAL_E_NOMEM = 100,            /* out of memory */
	PROMPTSEAL_E_ARG = 101,              /* a NULL or out-of-range
	                                      * argument, or a call the object
	                                      * is not in the state for */
	PROMPTSEAL_E_CRYPTO = 102,           /* the cryptographic library
	                                      * failed */
	PROMPTSEAL_E_CALLBACK = 103,         /* a callback of the caller
	                                      * failed */
	PROMPTSEAL_E_INTERNAL = 104          /* any other local failure */
};

/* A short English sentence for rc; never NULL, never holds user data.
 * Unknown values give "unknown error". */
const char *promptseal_strerror(int rc);

/* The HTTP status a proxy answers with for rc: 400..504 for the first
 * group, 500 for local failures and unknown values, 200 for PROMPTSEAL_OK. */
int promptseal_error_status(int rc);

/* The protocol's code string for rc ("invalid_json", ...), "internal_error"
 * for local failures and unknown values, "ok" for PROMPTSEAL_OK.  Never
 * NULL. */
const char *promptseal_error_code(int rc);

/* The library's version, e.g. "0.1.0"; never NULL. */
const char *promptseal_version(void);

/*
 * Wipe n bytes at p, then free(p).  For every buffer the library hands
 * out, with n its length.  p may be NULL.
 */
void promptseal_free(void *p, size_t n);

/* ------------------------------------------------------------------ keys */

/* A secret and the key ID that names it. */
typedef struct promptseal_key promptseal_key;

/*
 * Make a key from a key ID and a secret (copied; the caller may wipe its
 * copies at once).  Sets *keyp; free it with promptseal_key_free().
 * Returns PROMPTSEAL_E_ARG (a NULL) or PROMPTSEAL_E_NOMEM.
 */
int promptseal_key_new(const uint8_t kid[PROMPTSEAL_KID_LEN],
    const uint8_t secret[PROMPTSEAL_SECRET_LEN], promptseal_key **keyp)
    PROMPTSEAL_WARN_UNUSED;

/* Make a key with a fresh random key ID and secret.  Sets *keyp.  Returns
 * PROMPTSEAL_E_ARG, PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO. */
int promptseal_key_generate(promptseal_key **keyp) PROMPTSEAL_WARN_UNUSED;

/* Copy key's key ID to kid.  Returns PROMPTSEAL_E_ARG for a NULL. */
int promptseal_key_kid(const promptseal_key *key,
    uint8_t kid[PROMPTSEAL_KID_LEN]) PROMPTSEAL_WARN_UNUSED;

/* Copy key's secret to secret (to hand it to the attestation service,
 * say); the caller wipes it.  Returns PROMPTSEAL_E_ARG for a NULL. */
int promptseal_key_secret(const promptseal_key *key,
    uint8_t secret[PROMPTSEAL_SECRET_LEN]) PROMPTSEAL_WARN_UNUSED;

/* Wipe and free key.  NULL is a no-op.  Exchanges made with key keep their
 * own copy and stay usable. */
void promptseal_key_free(promptseal_key *key);

/* ------------------------------------------------------------- exchanges */

/*
 * One exchange: one request and its one reply (a body or a stream).  The
 * client makes it with promptseal_exchange_new() and seals the request;
 * the worker gets its own from promptseal_open_request().  The reply is
 * accepted only from the worker's side of the same exchange, as the one
 * reply that side made: a reply made for another request, by another
 * key, in another direction, under another status or media type, or
 * mixed from two replies does not open.  What the request was sent as
 * (method and path) is authenticated too.
 *
 * Endpoints: those of protocol.md section 4 (revision 2.1): POST
 * /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses,
 * /v1/messages, /v1/messages/count_tokens, /v1/rerank (and /rerank,
 * /v2/rerank), /v1/score, /tokenize, /detokenize; GET /v1/models, GET
 * /v1/models/{id}, GET and DELETE /v1/responses/{id}, GET
 * /v1/responses/{id}/input_items, POST /v1/responses/{id}/cancel.  The
 * path must match exactly (case-sensitive, no trailing slash, nothing
 * decoded; an {id} under the rule of protocol.md section 4), and so must
 * the method: PROMPTSEAL_E_UNKNOWN_ENDPOINT for another path,
 * PROMPTSEAL_E_METHOD for a known path with another method.  The path as
 * given is bound and kept for the exchange.  The GET and DELETE ones and
 * the cancel have no request body: the sealed request travels in the
 * header PROMPTSEAL_REQUEST_HEADER instead, and the reply is sealed like
 * any other.
 *
 * Bodies are one JSON object each (RFC 8259, valid UTF-8, no member name
 * twice, no member named "ps2").  Whole bodies of up to 1 GiB are taken;
 * an output over that is PROMPTSEAL_E_TOO_LARGE.
 */
typedef struct promptseal_exchange promptseal_exchange;

/* The HTTP header that carries the sealed request of a bodyless endpoint
 * (GET /v1/models). */
#define PROMPTSEAL_REQUEST_HEADER "Promptseal-Request"

/* The longest query string a request may carry, in bytes. */
#define PROMPTSEAL_QUERY_MAX 4096

/* The padding buckets an exchange uses unless told otherwise (see
 * promptseal_exchange_pad()), and the largest ones it takes. */
#define PROMPTSEAL_PAD_BODY_DEFAULT 0
#define PROMPTSEAL_PAD_STREAM_DEFAULT 256
#define PROMPTSEAL_PAD_BODY_MAX (1024 * 1024)
#define PROMPTSEAL_PAD_STREAM_MAX (64 * 1024)

/* Wipe and free x.  NULL is a no-op. */
void promptseal_exchange_free(promptseal_exchange *x);

/*
 * Set the padding of what x seals: a sealed body (the client's request,
 * the worker's reply body) is padded to a multiple of body bytes, each
 * sealed stream event and the stream's end to a multiple of stream bytes
 * (0 or 1: no padding).  Padding hides the length of what is sealed, a
 * streamed token's above all.  Defaults PROMPTSEAL_PAD_BODY_DEFAULT and
 * PROMPTSEAL_PAD_STREAM_DEFAULT; the receiver needs no setting.  Before
 * the call that seals.  Returns PROMPTSEAL_E_ARG for a NULL x or a bucket
 * over PROMPTSEAL_PAD_BODY_MAX or PROMPTSEAL_PAD_STREAM_MAX.
 */
int promptseal_exchange_pad(promptseal_exchange *x, size_t body,
    size_t stream) PROMPTSEAL_WARN_UNUSED;

/*
 * The path of x's endpoint ("/v1/chat/completions"), without a query:
 * the request target the client sends to the worker.  NULL for a NULL x.
 * The string belongs to x.
 */
const char *promptseal_exchange_path(const promptseal_exchange *x);

/*
 * The request target with its query ("/v1/completions?x=1"; the path
 * alone when there is no query): on the client's side what the user
 * asked for, on the worker's side what to ask the inference server for
 * (the query travels sealed).  NULL for a NULL x.  The string belongs to
 * x, which wipes it.
 */
const char *promptseal_exchange_target(const promptseal_exchange *x);

/*
 * Receives output of a stream: one call per complete event, n bytes at p
 * (valid only during the call), to be passed on at once.  Return 0 to go
 * on; any other value stops the stream (the calling function then returns
 * PROMPTSEAL_E_CALLBACK).
 */
typedef int (*promptseal_write_fn)(void *arg, const char *p, size_t n);

/* --------------------------------------------------- client side */

/*
 * Start an exchange under key (copied into the exchange) for a request of
 * method to target, the user's request target: the endpoint's path and,
 * after a '?', a query of up to PROMPTSEAL_QUERY_MAX bytes, which is
 * sealed with the request.  Draws a fresh random exchange nonce.  Sets
 * *xp; free it with promptseal_exchange_free().  Returns
 * PROMPTSEAL_E_ARG, PROMPTSEAL_E_UNKNOWN_ENDPOINT, PROMPTSEAL_E_METHOD,
 * PROMPTSEAL_E_QUERY_TOO_LONG, PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO.
 */
int promptseal_exchange_new(const promptseal_key *key, const char *method,
    const char *target, promptseal_exchange **xp) PROMPTSEAL_WARN_UNUSED;

/*
 * Seal the request of x, with its body json (len bytes), its query and
 * the current time, and set *out, *outlen to what to send to the worker
 * as method to promptseal_exchange_path(x): the request body (a JSON
 * object, sent as application/json), or for a bodyless endpoint (json
 * NULL, len 0) the value of the header PROMPTSEAL_REQUEST_HEADER, with no
 * body.  Once per exchange: a retry of the request is a new exchange.
 * Returns PROMPTSEAL_E_INVALID_JSON, PROMPTSEAL_E_BAD_QUERY (a query byte
 * outside 0x21..0x7E, or '#'), PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_ARG
 * (a second call, a worker's exchange, or a body for a bodyless
 * endpoint), PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO; after a failure
 * the call may be repeated.
 */
int promptseal_seal_request(promptseal_exchange *x, const char *json,
    size_t len, char **out, size_t *outlen) PROMPTSEAL_WARN_UNUSED;

/*
 * Open the worker's reply body json (len bytes), which came with HTTP
 * status status (100..599) and the Content-Type header content_type (as
 * received: the library takes the media type before any ';', trims and
 * lowercases it), and set *out, *outlen to the plain reply, to be shown
 * with that status as application/json.  Both are authenticated: a reply
 * relabelled on the way does not open.  Only after
 * promptseal_seal_request(), and once per exchange, whatever the result:
 * a reply that fails is never followed by another.  Returns
 * PROMPTSEAL_E_INVALID_JSON, PROMPTSEAL_E_PLAINTEXT_MEMBER,
 * PROMPTSEAL_E_INVALID_ENVELOPE (also for a reply to another exchange),
 * PROMPTSEAL_E_UNSUPPORTED_VERSION (a worker of wire format version 1),
 * PROMPTSEAL_E_DECRYPT, PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_ARG,
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO.
 *
 * A reply the worker's side marked as not sealed is not for this
 * function: see promptseal_plain_error().
 */
int promptseal_open_reply(promptseal_exchange *x, int status,
    const char *content_type, const char *json, size_t len, char **out,
    size_t *outlen) PROMPTSEAL_WARN_UNUSED;

/*
 * Start taking a streamed reply that came with HTTP status status
 * (100..599; the worker sends streams as 200) and the Content-Type
 * content_type (as for promptseal_open_reply(); the worker sends
 * text/event-stream): both are authenticated with every event.  Only
 * after promptseal_seal_request(), instead of promptseal_open_reply(),
 * and before the first promptseal_stream_open_feed(); not for a bodyless
 * endpoint (GET /v1/models is never streamed).  Returns
 * PROMPTSEAL_E_ARG.
 */
int promptseal_stream_open_begin(promptseal_exchange *x, int status,
    const char *content_type) PROMPTSEAL_WARN_UNUSED;

/*
 * Open a streamed reply (text/event-stream): feed the worker's bytes as
 * they arrive, split anywhere; each complete event is checked and written,
 * plain, through fn(arg, ...): the inference server's events exactly as
 * it sent them (their data, event:, id: and comment lines alike, and its
 * own "data: [DONE]").  At the end of input call
 * promptseal_stream_open_finish(): only a stream that ends there with
 * PROMPTSEAL_OK was complete.
 *
 * Only after promptseal_stream_open_begin().  The first fault in the
 * stream ends it: one error event
 *     data: {"error":{"message":"...","type":"...","code":"..."}}
 * is written (which the OpenAI SDKs raise as an API error), later input
 * is ignored, and this call and every later one return its code:
 * PROMPTSEAL_E_DECRYPT (an event that does not authenticate, belongs to
 * another exchange or another reply, is out of its place, or is anything
 * but a sealed event: the worker's side's plain errors too, whose text
 * is never passed on), PROMPTSEAL_E_STREAM_TRUNCATED (the stream's end is
 * missing, or does not count the events before it),
 * PROMPTSEAL_E_BAD_UPSTREAM (a worker of wire format version 1).
 * PROMPTSEAL_E_CALLBACK when fn failed (the stream is over, nothing more
 * is written), PROMPTSEAL_E_NOMEM, PROMPTSEAL_E_CRYPTO, PROMPTSEAL_E_ARG.
 * An error of the worker's side or of the inference server that the
 * worker sealed into the stream (upstream_unavailable, say) is an event
 * like any other: written as it came, and no error of this call.
 */
int promptseal_stream_open_feed(promptseal_exchange *x, const char *p,
    size_t n, promptseal_write_fn fn, void *arg) PROMPTSEAL_WARN_UNUSED;

/*
 * End of the worker's stream.  PROMPTSEAL_OK when the stream ended with a
 * valid end; else its error as for promptseal_stream_open_feed() (a stream
 * without a valid end gets its stream_truncated error event here).  Later
 * stream calls on x are PROMPTSEAL_E_ARG.
 */
int promptseal_stream_open_finish(promptseal_exchange *x,
    promptseal_write_fn fn, void *arg) PROMPTSEAL_WARN_UNUSED;

/*
 * The error that a plain (unsealed) error body of the worker's side names:
 * json (len bytes) of the form {"error": {..., "code": "..."}} with code
 * one of the first group of enum promptseal_error gives that code (so the
 * caller can tell unknown_key, say, and upload its secret again); any
 * other text gives PROMPTSEAL_E_BAD_UPSTREAM.  Nothing is authenticated:
 * show the user the code's own words (promptseal_strerror()), never the
 * body's.  Never returns PROMPTSEAL_OK.
 */
int promptseal_plain_error(const char *json, size_t len);

/* --------------------------------------------------- worker side */

/*
 * Finds the secret for a key ID met in a request: write it to secret and
 * return 0, or return PROMPTSEAL_E_UNKNOWN_KEY (no secret for kid) or
 * PROMPTSEAL_E_NO_KEY (no usable secret at all).  Any other value is
 * taken as a failure of the callback (PROMPTSEAL_E_CALLBACK).  The library
 * wipes secret after use.
 */
typedef int (*promptseal_lookup_fn)(void *arg,
    const uint8_t kid[PROMPTSEAL_KID_LEN],
    uint8_t secret[PROMPTSEAL_SECRET_LEN]);

/*
 * Open a sealed request that came as method to path (the request target
 * as received: a query there is PROMPTSEAL_E_PLAIN_QUERY, since a query
 * travels sealed).  json (len bytes) is the request body, or for a
 * bodyless endpoint the value of the header PROMPTSEAL_REQUEST_HEADER
 * (NULL, len 0 when there was none: PROMPTSEAL_E_INVALID_ENVELOPE).  The
 * key comes from lookup(arg, ...), called at most once and only for a
 * request that is well formed.  Sets *xp to the worker's side of the
 * exchange (to seal the reply with; promptseal_exchange_target() gives
 * the path and query to ask the inference server for) and *out, *outlen
 * to the plain body to pass to it (empty for a bodyless endpoint).
 *
 * The request is not checked for freshness here: do that with
 * promptseal_request_fresh() and keep a record of the requests accepted
 * (promptseal_request_id()) before the request goes on.
 *
 * Returns PROMPTSEAL_E_UNKNOWN_ENDPOINT, PROMPTSEAL_E_METHOD,
 * PROMPTSEAL_E_PLAIN_QUERY, PROMPTSEAL_E_INVALID_JSON,
 * PROMPTSEAL_E_PLAINTEXT_MEMBER, PROMPTSEAL_E_INVALID_ENVELOPE,
 * PROMPTSEAL_E_UNSUPPORTED_VERSION, PROMPTSEAL_E_UNKNOWN_KEY,
 * PROMPTSEAL_E_NO_KEY, PROMPTSEAL_E_DECRYPT (also a request sealed for
 * another method or path), PROMPTSEAL_E_BAD_QUERY,
 * PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_CALLBACK, PROMPTSEAL_E_ARG,
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO; the first group is the
 * answer for the client (promptseal_error_status()).
 */
int promptseal_open_request(promptseal_lookup_fn lookup, void *arg,
    const char *method, const char *path, const char *json, size_t len,
    promptseal_exchange **xp, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

/*
 * What names the opened request of the worker's exchange x: the time the
 * client sealed it (*ts, Unix seconds), its key ID and its nonce.  A
 * worker refuses a (kid, nonce) it accepted before
 * (PROMPTSEAL_E_REPLAYED) and keeps each record until ts plus its window;
 * any of ts, kid, nonce may be NULL.  Returns PROMPTSEAL_E_ARG for a NULL
 * x or a client's exchange.
 */
int promptseal_request_id(const promptseal_exchange *x, uint64_t *ts,
    uint8_t kid[PROMPTSEAL_KID_LEN], uint8_t nonce[PROMPTSEAL_NONCE_LEN])
    PROMPTSEAL_WARN_UNUSED;

/*
 * Whether the opened request of x is fresh as of now (Unix seconds):
 * sealed within the last window seconds (docs/protocol.md suggests 300)
 * and no more than 60 s ahead of now (a client clock slightly fast).
 * Returns PROMPTSEAL_OK, PROMPTSEAL_E_STALE, or PROMPTSEAL_E_ARG (a NULL
 * x, a client's exchange, a negative window).
 */
int promptseal_request_fresh(const promptseal_exchange *x, int64_t now,
    long window) PROMPTSEAL_WARN_UNUSED;

/*
 * Seal the inference server's reply body json (len bytes), to be sent with
 * HTTP status status (100..599) and Content-Type application/json, for
 * the client of x; sets *out, *outlen to the body to send.  The status is
 * authenticated with it.  Once per exchange, instead of a stream; after a
 * failure it may be repeated.  Returns PROMPTSEAL_E_INVALID_JSON (the
 * inference server's body is not a JSON object: answer the client 502
 * bad_upstream_response), PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_ARG,
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO.
 */
int promptseal_seal_reply(promptseal_exchange *x, int status,
    const char *json, size_t len, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

/*
 * Seal a streamed reply (the inference server's text/event-stream, sent
 * to the client with status 200 and Content-Type text/event-stream): feed
 * its bytes as they arrive, split anywhere; each complete event (its
 * lines up to its empty line, as received) is sealed whole and written
 * through fn(arg, ...).  At the end of input call
 * promptseal_stream_seal_finish(), which writes the stream's sealed end.
 *
 * Instead of promptseal_seal_reply().  An event over 4 MiB ends the
 * stream: a sealed error event (body_too_large) and the end are written,
 * and this call and every later one return PROMPTSEAL_E_TOO_LARGE.  Also
 * PROMPTSEAL_E_CALLBACK, PROMPTSEAL_E_NOMEM, PROMPTSEAL_E_CRYPTO and
 * PROMPTSEAL_E_ARG; once a call has failed, every later one returns the
 * same code.
 */
int promptseal_stream_seal_feed(promptseal_exchange *x, const char *p,
    size_t n, promptseal_write_fn fn, void *arg) PROMPTSEAL_WARN_UNUSED;

/*
 * End of the inference server's stream.  why is PROMPTSEAL_OK when its
 * body ended, else why it broke off (PROMPTSEAL_E_UPSTREAM,
 * PROMPTSEAL_E_TIMEOUT, PROMPTSEAL_E_TOO_LARGE), which is written first
 * as a sealed error event that the client passes on to the user.  An
 * event left without its empty line is dropped.  Returns PROMPTSEAL_OK
 * when the end was written, else as for promptseal_stream_seal_feed() (a
 * why outside those codes is PROMPTSEAL_E_ARG, and nothing is written).
 * Later stream calls on x are PROMPTSEAL_E_ARG.
 */
int promptseal_stream_seal_finish(promptseal_exchange *x, int why,
    promptseal_write_fn fn, void *arg) PROMPTSEAL_WARN_UNUSED;

/*
 * There is no function for one value: wire format 2 seals whole messages
 * of an exchange only, each bound to its exchange, direction, place and
 * HTTP context, and defines no envelope of a value on its own.
 */

#ifdef __cplusplus
}
#endif

#endif
