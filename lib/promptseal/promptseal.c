#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/pserr.h"
#include "core/secret.h"
#include "seal/envelope.h"
#include "seal/jscan.h"
#include "seal/message.h"
#include "seal/stream.h"
#include "promptseal/promptseal.h"

/*
 * The public library: the seal/ modules behind an interface that names an
 * exchange, not the wire format's parts, so that its programs outlive a
 * change of format.  Everything here is glue: state checks, copies of
 * keys, and the mapping of pserr to the library's own codes.
 */

#if PROMPTSEAL_KID_LEN != ENVELOPE_KID_LEN || \
    PROMPTSEAL_SECRET_LEN != ENVELOPE_KEY_LEN
#error "promptseal.h and seal/envelope.h disagree on key sizes"
#endif

struct promptseal_key {
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t secret[ENVELOPE_KEY_LEN];
};

enum role { CLIENT, WORKER };

enum state {
	ST_NEW,      /* client: the request is not sealed yet */
	ST_READY,    /* the reply may be made (worker) or taken (client) */
	ST_STREAM,   /* the reply is a stream, under way */
	ST_DONE      /* the reply has been made or taken */
};

struct promptseal_exchange {
	enum role role;
	enum state state;
	enum message_endpoint ep;
	uint8_t secret[ENVELOPE_KEY_LEN];   /* c.key points here */
	struct envelope_ctx c;
	struct stream s;                    /* set up in ST_STREAM and after */
	int have_stream;
	promptseal_write_fn fn;             /* of the stream call under way */
	void *fn_arg;
	int fn_failed;
	int stream_rc;                      /* the stream's first error */
};

/* ------------------------------------------------------------ errors */

static const struct {
	int pub;
	pserr ps;
	int peer;   /* a code a peer may report */
} codes[] = {
	{PROMPTSEAL_E_INVALID_JSON, PS_ERR_INVALID_JSON, 1},
	{PROMPTSEAL_E_INVALID_ENVELOPE, PS_ERR_INVALID_ENVELOPE, 1},
	{PROMPTSEAL_E_PLAINTEXT_MEMBER, PS_ERR_PLAINTEXT_MEMBER, 1},
	{PROMPTSEAL_E_DECRYPT, PS_ERR_DECRYPT, 1},
	{PROMPTSEAL_E_UNKNOWN_ENDPOINT, PS_ERR_UNKNOWN_ENDPOINT, 1},
	{PROMPTSEAL_E_METHOD, PS_ERR_METHOD, 1},
	{PROMPTSEAL_E_TOO_LARGE, PS_ERR_TOO_LARGE, 1},
	{PROMPTSEAL_E_MEDIA_TYPE, PS_ERR_MEDIA_TYPE, 1},
	{PROMPTSEAL_E_UNKNOWN_KEY, PS_ERR_UNKNOWN_KEY, 1},
	{PROMPTSEAL_E_UPSTREAM, PS_ERR_UPSTREAM, 1},
	{PROMPTSEAL_E_BAD_UPSTREAM, PS_ERR_BAD_UPSTREAM, 1},
	{PROMPTSEAL_E_NO_KEY, PS_ERR_NO_KEY, 1},
	{PROMPTSEAL_E_TIMEOUT, PS_ERR_TIMEOUT, 1},
	{PROMPTSEAL_E_STREAM_TRUNCATED, PS_ERR_STREAM_TRUNCATED, 1},
	/* Local failures: never taken from a peer's text. */
	{PROMPTSEAL_E_NOMEM, PS_ERR_NOMEM, 0},
	{PROMPTSEAL_E_ARG, PS_ERR_ARG, 0},
	{PROMPTSEAL_E_CRYPTO, PS_ERR_CRYPTO, 0},
};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static int
to_pub(pserr rc)
{
	size_t i;

	if (rc == PS_OK)
		return PROMPTSEAL_OK;
	for (i = 0; i < N_CODES; i++)
		if (codes[i].ps == rc)
			return codes[i].pub;
	return PROMPTSEAL_E_INTERNAL;
}

/* The pserr for a public code; 0 with *ps unset when it has none. */
static int
to_ps(int pub, pserr *ps)
{
	size_t i;

	for (i = 0; i < N_CODES; i++)
		if (codes[i].pub == pub) {
			*ps = codes[i].ps;
			return 1;
		}
	return 0;
}

const char *
promptseal_strerror(int rc)
{
	pserr ps;

	if (rc == PROMPTSEAL_OK)
		return "success";
	if (rc == PROMPTSEAL_E_CALLBACK)
		return "a callback of the caller failed";
	if (rc == PROMPTSEAL_E_INTERNAL)
		return "internal error";
	if (to_ps(rc, &ps))
		return pserr_str(ps);
	return "unknown error";
}

int
promptseal_error_status(int rc)
{
	pserr ps;

	if (rc == PROMPTSEAL_OK)
		return 200;
	return to_ps(rc, &ps) ? pserr_status(ps) : 500;
}

const char *
promptseal_error_code(int rc)
{
	pserr ps;

	if (rc == PROMPTSEAL_OK)
		return "ok";
	return to_ps(rc, &ps) ? pserr_code(ps) : "internal_error";
}

const char *
promptseal_version(void)
{
	return PACKAGE_VERSION;
}

void
promptseal_free(void *p, size_t n)
{
	secret_free(p, n);
}

/* Give b's content to the caller, NUL-terminated.  The bytes past it are
 * wiped first, so that promptseal_free(p, len) leaves nothing behind. */
static int
hand_over(struct buf *b, char **out, size_t *outlen)
{
	if (buf_cstr(b) == NULL) {
		buf_free(b);
		return PROMPTSEAL_E_NOMEM;
	}
	secret_wipe(b->p + b->len + 1, b->cap - b->len - 1);
	*out = b->p;
	*outlen = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return PROMPTSEAL_OK;
}

/* ------------------------------------------------ plain errors of peers */

/* 1 when s (n bytes, a JSON string's contents) unescapes to word. */
static int
string_is(const char *s, size_t n, const char *word)
{
	struct buf b;
	int yes;

	buf_init(&b, n);
	yes = jscan_unescape(s, n, &b) == PS_OK && b.len == strlen(word) &&
	    memcmp(b.p, word, b.len) == 0;
	buf_free(&b);
	return yes;
}

/* The peer's error code string s (n bytes, escaped) as a pserr, when it is
 * one a peer may report; else PS_ERR_BAD_UPSTREAM. */
static pserr
peer_code(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < N_CODES; i++)
		if (codes[i].peer && string_is(s, n, pserr_code(codes[i].ps)))
			return codes[i].ps;
	return PS_ERR_BAD_UPSTREAM;
}

/*
 * 1 when json (len bytes) is exactly {"error": {...}}, the shape of a
 * peer's plain error; *code is then the error its one "code" string names
 * (PS_ERR_BAD_UPSTREAM when it names none of ours, or more than one).
 */
static int
plain_shape(const char *json, size_t len, pserr *code)
{
	struct jscan_object top, inner;
	struct jscan_member m, e;
	int more, seen = 0, codes_seen = 0;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	memset(&e, 0, sizeof(e));
	if (jscan_object_begin(&top, json, len) != PS_OK)
		return 0;
	for (;;) {
		if (jscan_object_next(&top, &m, &more) != PS_OK)
			return 0;
		if (!more)
			break;
		if (seen++ > 0 || !string_is(m.name, m.name_len, "error") ||
		    m.value_len == 0 || m.value[0] != '{')
			return 0;
		e = m;
	}
	if (!seen)
		return 0;
	/* The inner object was checked by the walk above. */
	if (jscan_object_begin(&inner, e.value, e.value_len) != PS_OK)
		return 0;
	for (;;) {
		if (jscan_object_next(&inner, &m, &more) != PS_OK)
			return 0;
		if (!more)
			break;
		if (!string_is(m.name, m.name_len, "code"))
			continue;
		codes_seen++;
		rc = m.value_len >= 2 && m.value[0] == '"' ?
		    peer_code(m.value + 1, m.value_len - 2) : PS_ERR_BAD_UPSTREAM;
	}
	*code = codes_seen == 1 ? rc : PS_ERR_BAD_UPSTREAM;
	return 1;
}

int
promptseal_plain_error(const char *json, size_t len)
{
	pserr code;

	if ((json == NULL && len > 0) || !plain_shape(json, len, &code))
		return PROMPTSEAL_E_BAD_UPSTREAM;
	return to_pub(code);
}

/*
 * The stream module's hook (seal/stream.h): a plain error event of the
 * worker is not authenticated, so its text is never passed on; the
 * stream ends with the library's own error event for the code it names.
 */
pserr
stream_plain_error(const char *json, size_t len, struct buf *out,
    pserr *code)
{
	pserr c, rc;

	if (!plain_shape(json, len, &c))
		return PS_ERR_INVALID_JSON;
	if ((rc = pserr_json(c, out)) != PS_OK)
		return rc;
	*code = c;
	return PS_OK;
}

/* -------------------------------------------------------------- keys */

int
promptseal_key_new(const uint8_t kid[PROMPTSEAL_KID_LEN],
    const uint8_t secret[PROMPTSEAL_SECRET_LEN], promptseal_key **keyp)
{
	struct promptseal_key *k;

	if (kid == NULL || secret == NULL || keyp == NULL)
		return PROMPTSEAL_E_ARG;
	if ((k = malloc(sizeof(*k))) == NULL)
		return PROMPTSEAL_E_NOMEM;
	memcpy(k->kid, kid, sizeof(k->kid));
	memcpy(k->secret, secret, sizeof(k->secret));
	*keyp = k;
	return PROMPTSEAL_OK;
}

int
promptseal_key_generate(promptseal_key **keyp)
{
	struct promptseal_key *k;
	pserr rc;

	if (keyp == NULL)
		return PROMPTSEAL_E_ARG;
	if ((k = malloc(sizeof(*k))) == NULL)
		return PROMPTSEAL_E_NOMEM;
	if ((rc = secret_random(k, sizeof(*k))) != PS_OK) {
		secret_free(k, sizeof(*k));
		return to_pub(rc);
	}
	*keyp = k;
	return PROMPTSEAL_OK;
}

int
promptseal_key_kid(const promptseal_key *key, uint8_t kid[PROMPTSEAL_KID_LEN])
{
	if (key == NULL || kid == NULL)
		return PROMPTSEAL_E_ARG;
	memcpy(kid, key->kid, sizeof(key->kid));
	return PROMPTSEAL_OK;
}

int
promptseal_key_secret(const promptseal_key *key,
    uint8_t secret[PROMPTSEAL_SECRET_LEN])
{
	if (key == NULL || secret == NULL)
		return PROMPTSEAL_E_ARG;
	memcpy(secret, key->secret, sizeof(key->secret));
	return PROMPTSEAL_OK;
}

void
promptseal_key_free(promptseal_key *key)
{
	secret_free(key, sizeof(*key));
}

/* --------------------------------------------------------- exchanges */

void
promptseal_exchange_free(promptseal_exchange *x)
{
	if (x == NULL)
		return;
	if (x->have_stream)
		stream_free(&x->s);
	secret_free(x, sizeof(*x));
}

static int
out_ok(char **out, size_t *outlen)
{
	return out != NULL && outlen != NULL;
}

int
promptseal_exchange_new(const promptseal_key *key, const char *method,
    const char *path, promptseal_exchange **xp)
{
	struct promptseal_exchange *x;
	enum message_endpoint ep;
	pserr rc;

	if (key == NULL || method == NULL || path == NULL || xp == NULL)
		return PROMPTSEAL_E_ARG;
	if ((rc = message_route(method, path, &ep)) != PS_OK)
		return to_pub(rc);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return PROMPTSEAL_E_NOMEM;
	x->role = CLIENT;
	x->state = ST_NEW;
	x->ep = ep;
	memcpy(x->secret, key->secret, sizeof(x->secret));
	x->c.key = x->secret;
	memcpy(x->c.kid, key->kid, sizeof(x->c.kid));
	x->c.dir = ENVELOPE_REQUEST;
	if ((rc = secret_random(x->c.nonce, sizeof(x->c.nonce))) != PS_OK) {
		promptseal_exchange_free(x);
		return to_pub(rc);
	}
	*xp = x;
	return PROMPTSEAL_OK;
}

int
promptseal_seal_request(promptseal_exchange *x, const char *json, size_t len,
    char **out, size_t *outlen)
{
	struct buf b;
	pserr rc;

	if (x == NULL || x->role != CLIENT || x->state != ST_NEW ||
	    (json == NULL && len > 0) || !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	buf_init(&b, PS_CAP_API_MESSAGE);
	if (x->ep == MESSAGE_MODELS) {
		/* No body, so nothing to seal. */
		if (len > 0)
			return PROMPTSEAL_E_ARG;
	} else if ((rc = message_seal(x->ep, &x->c, json, len, &b)) != PS_OK) {
		buf_free(&b);
		return to_pub(rc);
	}
	/* From here on the exchange answers in the reply direction. */
	x->c.dir = ENVELOPE_RESPONSE;
	x->c.msg = 0;
	x->state = ST_READY;
	return hand_over(&b, out, outlen);
}

static int
status_ok(int status)
{
	return status >= 100 && status <= 599;
}

int
promptseal_open_reply(promptseal_exchange *x, int status, const char *json,
    size_t len, char **out, size_t *outlen)
{
	struct buf b;
	pserr rc;

	if (x == NULL || x->role != CLIENT || x->state != ST_READY ||
	    !status_ok(status) || (json == NULL && len > 0) ||
	    !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	/* One reply per exchange, whatever comes of it. */
	x->state = ST_DONE;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	buf_init(&b, PS_CAP_API_MESSAGE);
	if ((rc = message_open(x->ep, &x->c, NULL, NULL, json, len, &b)) !=
	    PS_OK) {
		buf_free(&b);
		return to_pub(rc);
	}
	return hand_over(&b, out, outlen);
}

/* What the worker's lookup callback is called through. */
struct lookup_ctx {
	struct promptseal_exchange *x;
	promptseal_lookup_fn fn;
	void *arg;
	int failed;   /* the callback gave a value of its own */
};

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t key[ENVELOPE_KEY_LEN])
{
	struct lookup_ctx *lk = arg;
	int r = lk->fn(lk->arg, kid, key);

	if (r == PROMPTSEAL_OK) {
		/* Kept to seal the reply with; wiped with the exchange. */
		memcpy(lk->x->secret, key, ENVELOPE_KEY_LEN);
		return PS_OK;
	}
	if (r == PROMPTSEAL_E_UNKNOWN_KEY)
		return PS_ERR_UNKNOWN_KEY;
	if (r == PROMPTSEAL_E_NO_KEY)
		return PS_ERR_NO_KEY;
	lk->failed = 1;
	return PS_ERR_NO_KEY;
}

int
promptseal_open_request(promptseal_lookup_fn fn, void *arg,
    const char *method, const char *path, const char *json, size_t len,
    promptseal_exchange **xp, char **out, size_t *outlen)
{
	struct promptseal_exchange *x = NULL;
	struct lookup_ctx lk;
	enum message_endpoint ep;
	struct buf b;
	int r;
	pserr rc;

	buf_init(&b, PS_CAP_API_MESSAGE);
	if (fn == NULL || method == NULL || path == NULL ||
	    (json == NULL && len > 0) || xp == NULL || !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	if ((rc = message_route(method, path, &ep)) != PS_OK)
		return to_pub(rc);
	if (ep == MESSAGE_MODELS && len > 0)
		return PROMPTSEAL_E_ARG;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return PROMPTSEAL_E_NOMEM;
	x->role = WORKER;
	x->ep = ep;
	x->c.dir = ENVELOPE_REQUEST;
	if (ep != MESSAGE_MODELS) {
		lk.x = x;
		lk.fn = fn;
		lk.arg = arg;
		lk.failed = 0;
		rc = message_open(ep, &x->c, lookup, &lk, json, len, &b);
		if (rc != PS_OK) {
			r = lk.failed ? PROMPTSEAL_E_CALLBACK : to_pub(rc);
			goto out;
		}
	}
	/* The reply is sealed under the request's key ID and nonce. */
	x->c.key = x->secret;
	x->c.dir = ENVELOPE_RESPONSE;
	x->c.msg = 0;
	x->state = ST_READY;
	if ((r = hand_over(&b, out, outlen)) != PROMPTSEAL_OK)
		goto out;
	*xp = x;
	x = NULL;
out:
	buf_free(&b);
	promptseal_exchange_free(x);
	return r;
}

int
promptseal_seal_reply(promptseal_exchange *x, int status, const char *json,
    size_t len, char **out, size_t *outlen)
{
	struct buf b;
	pserr rc;

	if (x == NULL || x->role != WORKER || x->state != ST_READY ||
	    !status_ok(status) || (json == NULL && len > 0) ||
	    !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	buf_init(&b, PS_CAP_API_MESSAGE);
	if ((rc = message_seal(x->ep, &x->c, json, len, &b)) != PS_OK) {
		buf_free(&b);
		return to_pub(rc);
	}
	x->state = ST_DONE;
	return hand_over(&b, out, outlen);
}

/* ----------------------------------------------------------- streams */

static pserr
emit(void *arg, const char *p, size_t n, int flush)
{
	struct promptseal_exchange *x = arg;

	(void)flush;   /* every call is one whole event */
	if (x->fn(x->fn_arg, p, n) != 0) {
		x->fn_failed = 1;
		return PS_ERR_IO;
	}
	return PS_OK;
}

/* Check a stream call on x by role and set the stream up on the first;
 * PROMPTSEAL_OK, or the error to return at once. */
static int
stream_enter(struct promptseal_exchange *x, enum role role, const char *p,
    size_t n, promptseal_write_fn fn, void *arg)
{
	if (x == NULL || x->role != role || fn == NULL ||
	    (p == NULL && n > 0) || x->ep == MESSAGE_MODELS)
		return PROMPTSEAL_E_ARG;
	if (x->state == ST_READY) {
		stream_init(&x->s, x->ep, &x->c, PS_CAP_LINE_DEFAULT, emit, x);
		x->have_stream = 1;
		x->state = ST_STREAM;
	}
	if (x->state != ST_STREAM)
		return PROMPTSEAL_E_ARG;
	if (x->stream_rc != PROMPTSEAL_OK)
		return x->stream_rc;
	x->fn = fn;
	x->fn_arg = arg;
	return PROMPTSEAL_OK;
}

/* The result of a stream call that returned rc: the stream's first error
 * stays its answer. */
static int
stream_leave(struct promptseal_exchange *x, pserr rc)
{
	int r = PROMPTSEAL_OK;

	if (x->fn_failed)
		r = PROMPTSEAL_E_CALLBACK;
	else if (x->s.failed && x->s.error != PS_OK)
		r = to_pub(x->s.error);
	else if (rc != PS_OK)
		r = to_pub(rc);
	x->fn = NULL;
	x->fn_arg = NULL;
	if (r != PROMPTSEAL_OK)
		x->stream_rc = r;
	return r;
}

int
promptseal_stream_open_feed(promptseal_exchange *x, const char *p, size_t n,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, CLIENT, p, n, fn, arg)) != PROMPTSEAL_OK)
		return r;
	return stream_leave(x, stream_open_feed(&x->s, p, n));
}

int
promptseal_stream_open_finish(promptseal_exchange *x,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, CLIENT, NULL, 0, fn, arg)) == PROMPTSEAL_OK)
		r = stream_leave(x, stream_open_finish(&x->s));
	if (x != NULL && x->state == ST_STREAM)
		x->state = ST_DONE;
	return r;
}

int
promptseal_stream_seal_feed(promptseal_exchange *x, const char *p, size_t n,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, WORKER, p, n, fn, arg)) != PROMPTSEAL_OK)
		return r;
	return stream_leave(x, stream_seal_feed(&x->s, p, n));
}

int
promptseal_stream_seal_finish(promptseal_exchange *x,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, WORKER, NULL, 0, fn, arg)) == PROMPTSEAL_OK)
		r = stream_leave(x, stream_seal_finish(&x->s));
	if (x != NULL && x->state == ST_STREAM)
		x->state = ST_DONE;
	return r;
}

/* --------------------------------------------------------- one value */

/* A value is bound to its key and label only: a request-direction
 * envelope of message 0, with a nonce of its own. */
static void
value_ctx(const struct promptseal_key *key, struct envelope_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->key = key->secret;
	memcpy(c->kid, key->kid, sizeof(c->kid));
	c->dir = ENVELOPE_REQUEST;
}

int
promptseal_value_seal(const promptseal_key *key, const char *label,
    const void *pt, size_t n, char **out, size_t *outlen)
{
	struct envelope_ctx c;
	struct buf b;
	pserr rc;
	int r;

	if (key == NULL || label == NULL || (pt == NULL && n > 0) ||
	    !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	if (n > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	value_ctx(key, &c);
	buf_init(&b, envelope_text_len(n));
	if ((rc = secret_random(c.nonce, sizeof(c.nonce))) != PS_OK ||
	    (rc = envelope_seal(&c, label, strlen(label), pt, n, &b)) != PS_OK) {
		buf_free(&b);
		r = to_pub(rc);
	} else
		r = hand_over(&b, out, outlen);
	secret_wipe(&c, sizeof(c));
	return r;
}

int
promptseal_value_open(const promptseal_key *key, const char *label,
    const char *text, size_t n, char **out, size_t *outlen)
{
	uint8_t kid[ENVELOPE_KID_LEN];
	struct envelope_ctx c;
	struct buf b;
	pserr rc;
	int r;

	if (key == NULL || label == NULL || (text == NULL && n > 0) ||
	    !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	if (n > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	value_ctx(key, &c);
	if ((rc = envelope_peek(text, n, kid, c.nonce)) != PS_OK) {
		r = to_pub(rc);
		goto out;
	}
	if (memcmp(kid, key->kid, sizeof(kid)) != 0) {
		r = PROMPTSEAL_E_UNKNOWN_KEY;
		goto out;
	}
	/* The plaintext is never longer than the text. */
	buf_init(&b, n);
	if ((rc = envelope_open(&c, label, strlen(label), text, n, &b)) !=
	    PS_OK) {
		buf_free(&b);
		r = to_pub(rc);
		goto out;
	}
	r = hand_over(&b, out, outlen);
out:
	secret_wipe(&c, sizeof(c));
	return r;
}
