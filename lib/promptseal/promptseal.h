/*
 * promptseal.h: the promptseal envelope library.
 *
 * Seals and opens what crosses between a promptseal client and a
 * promptseal worker: the request and reply of one exchange (a body, or a
 * stream of Server-Sent Events), and single values.  The wire format is
 * described in promptseal's docs/protocol.md; this interface is shaped so
 * that a program written against it does not depend on the format's
 * version: it names an exchange by its key, method and path, and hands
 * over whole bodies and raw stream bytes.
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
 * accepted only from the worker's side of the same exchange: a reply made
 * for another request, by another key or in another direction does not
 * open.
 *
 * Endpoints: POST /v1/chat/completions, POST /v1/completions, POST
 * /v1/embeddings, and GET /v1/models.  path is the request target; a query
 * string ("?...") does not select the endpoint, the rest must match
 * exactly (case-sensitive, no trailing slash), and so must the method:
 * PROMPTSEAL_E_UNKNOWN_ENDPOINT for another path, PROMPTSEAL_E_METHOD for
 * a known path with another method.  GET /v1/models has no request body
 * (json NULL, len 0; the sealed request is then empty too); its reply
 * carries no user data, and the current wire format passes it on as it is
 * (a later one seals it).
 *
 * Bodies are one JSON object each (RFC 8259, valid UTF-8, no member name
 * twice).  Whole bodies of up to 1 GiB are taken; an output over that is
 * PROMPTSEAL_E_TOO_LARGE.
 */
typedef struct promptseal_exchange promptseal_exchange;

/* Wipe and free x.  NULL is a no-op. */
void promptseal_exchange_free(promptseal_exchange *x);

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
 * method to path, with a fresh random exchange nonce.  Sets *xp; free it
 * with promptseal_exchange_free().  Returns PROMPTSEAL_E_ARG,
 * PROMPTSEAL_E_UNKNOWN_ENDPOINT, PROMPTSEAL_E_METHOD, PROMPTSEAL_E_NOMEM
 * or PROMPTSEAL_E_CRYPTO.
 */
int promptseal_exchange_new(const promptseal_key *key, const char *method,
    const char *path, promptseal_exchange **xp) PROMPTSEAL_WARN_UNUSED;

/*
 * Seal the request body json (len bytes) of x and set *out, *outlen to
 * the body to send to the worker instead (a JSON object).  Once per
 * exchange: a retry of the request is a new exchange.  Returns
 * PROMPTSEAL_E_INVALID_JSON, PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_ARG (a
 * second call, a worker's exchange, or a body for GET /v1/models),
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO; after a failure the call may
 * be repeated.
 */
int promptseal_seal_request(promptseal_exchange *x, const char *json,
    size_t len, char **out, size_t *outlen) PROMPTSEAL_WARN_UNUSED;

/*
 * Open the worker's reply body json (len bytes), which came with HTTP
 * status status (100..599), and set *out, *outlen to the plain reply.
 * Only after promptseal_seal_request(), and once per exchange, whatever
 * the result: a reply that fails is never followed by another.  Returns
 * PROMPTSEAL_E_INVALID_JSON, PROMPTSEAL_E_PLAINTEXT_MEMBER,
 * PROMPTSEAL_E_INVALID_ENVELOPE (also for a reply to another exchange),
 * PROMPTSEAL_E_DECRYPT, PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_ARG,
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO.
 *
 * The current wire format does not bind the status to the reply (a later
 * one does): it is checked for its range only.  A reply the worker's side
 * marked as not sealed is not for this function: see
 * promptseal_plain_error().
 */
int promptseal_open_reply(promptseal_exchange *x, int status,
    const char *json, size_t len, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

/*
 * Open a streamed reply (text/event-stream): feed the worker's bytes as
 * they arrive, split anywhere; each complete event is checked and written,
 * plain, through fn(arg, ...): the inference server's event stream,
 * ending in "data: [DONE]".  At the end of input call
 * promptseal_stream_open_finish(): only a stream that ends there with
 * PROMPTSEAL_OK was complete.
 *
 * Only after promptseal_seal_request(), and instead of
 * promptseal_open_reply().  The first fault in the stream ends it: one
 * error event
 *     data: {"error":{"message":"...","type":"...","code":"..."}}
 * is written (which the OpenAI SDKs raise as an API error), later input
 * is ignored, and this call and every later one return its code:
 * PROMPTSEAL_E_DECRYPT (an event that does not authenticate, or belongs to
 * another exchange), PROMPTSEAL_E_STREAM_TRUNCATED (the stream ended, or
 * claimed to end, without a valid end), PROMPTSEAL_E_TOO_LARGE (a line
 * over 4 MiB), or the error the worker reported in the stream in plain
 * (told in the library's words, never the worker's: its text is not
 * authenticated).  PROMPTSEAL_E_CALLBACK when fn failed (the stream is
 * over, nothing more is written), PROMPTSEAL_E_NOMEM, PROMPTSEAL_E_CRYPTO,
 * PROMPTSEAL_E_ARG.
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
 * Open a sealed request body json (len bytes) that came as method to path:
 * the key comes from lookup(arg, ...), called at most once and only for a
 * body that is well formed.  Sets *xp to the worker's side of the exchange
 * (to seal the reply with) and *out, *outlen to the plain body to pass to
 * the inference server.  Returns PROMPTSEAL_E_UNKNOWN_ENDPOINT,
 * PROMPTSEAL_E_METHOD, PROMPTSEAL_E_INVALID_JSON,
 * PROMPTSEAL_E_PLAINTEXT_MEMBER, PROMPTSEAL_E_INVALID_ENVELOPE,
 * PROMPTSEAL_E_UNKNOWN_KEY, PROMPTSEAL_E_NO_KEY, PROMPTSEAL_E_DECRYPT,
 * PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_CALLBACK, PROMPTSEAL_E_ARG (also
 * a body for GET /v1/models), PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO;
 * the first group is the answer for the client
 * (promptseal_error_status()).
 */
int promptseal_open_request(promptseal_lookup_fn lookup, void *arg,
    const char *method, const char *path, const char *json, size_t len,
    promptseal_exchange **xp, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

/*
 * Seal the inference server's reply body json (len bytes), to be sent with
 * HTTP status status (100..599), for the client of x; sets *out, *outlen
 * to the body to send.  Once per exchange, instead of a stream; after a
 * failure it may be repeated.  Returns PROMPTSEAL_E_INVALID_JSON (the
 * inference server's body is not a JSON object: answer the client 502
 * bad_upstream_response), PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_ARG,
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO.  As for
 * promptseal_open_reply(), the current wire format does not bind the
 * status.
 */
int promptseal_seal_reply(promptseal_exchange *x, int status,
    const char *json, size_t len, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

/*
 * Seal a streamed reply (the inference server's text/event-stream, sent
 * to the client with status 200): feed its bytes as they arrive, split
 * anywhere; each complete event is sealed and written through
 * fn(arg, ...).  The inference server's "data: [DONE]" becomes the
 * stream's sealed end, after which input is ignored.  At the end of input
 * call promptseal_stream_seal_finish().
 *
 * Instead of promptseal_seal_reply().  Faults of the inference server's
 * stream end it with one error event, as for promptseal_stream_open_feed():
 * PROMPTSEAL_E_BAD_UPSTREAM (an event whose data is not a JSON object),
 * PROMPTSEAL_E_TOO_LARGE (a line over 4 MiB), PROMPTSEAL_E_UPSTREAM (no
 * [DONE] came, from the finish call); also PROMPTSEAL_E_CALLBACK,
 * PROMPTSEAL_E_NOMEM, PROMPTSEAL_E_CRYPTO and PROMPTSEAL_E_ARG.  Once a
 * call has failed, every later one returns the same code.
 */
int promptseal_stream_seal_feed(promptseal_exchange *x, const char *p,
    size_t n, promptseal_write_fn fn, void *arg) PROMPTSEAL_WARN_UNUSED;

/* End of the inference server's stream; see above.  Later stream calls on
 * x are PROMPTSEAL_E_ARG. */
int promptseal_stream_seal_finish(promptseal_exchange *x,
    promptseal_write_fn fn, void *arg) PROMPTSEAL_WARN_UNUSED;

/* ---------------------------------------------------------- one value */

/*
 * Seal n bytes at pt as one value under key, bound to label (a
 * NUL-terminated string, may be empty: a value opens only with the label
 * it was sealed with), with a fresh nonce.  Sets *out, *outlen to the
 * sealed value, ASCII text that needs no escaping in JSON.  Returns
 * PROMPTSEAL_E_ARG, PROMPTSEAL_E_TOO_LARGE, PROMPTSEAL_E_NOMEM or
 * PROMPTSEAL_E_CRYPTO.  Today a value is one envelope of protocol.md
 * section 2 (the label in the place of the member name).
 */
int promptseal_value_seal(const promptseal_key *key, const char *label,
    const void *pt, size_t n, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

/*
 * Open the sealed value text (n bytes) under key and label; sets *out,
 * *outlen to its plaintext.  Returns PROMPTSEAL_E_INVALID_ENVELOPE (not a
 * well-formed sealed value), PROMPTSEAL_E_UNKNOWN_KEY (sealed under
 * another key ID), PROMPTSEAL_E_DECRYPT (does not authenticate under key
 * and label), PROMPTSEAL_E_ARG, PROMPTSEAL_E_TOO_LARGE,
 * PROMPTSEAL_E_NOMEM or PROMPTSEAL_E_CRYPTO.
 */
int promptseal_value_open(const promptseal_key *key, const char *label,
    const char *text, size_t n, char **out, size_t *outlen)
    PROMPTSEAL_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif
