/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/pserr.h"
#include "core/secret.h"
#include "seal/envelope.h"
#include "seal/jscan.h"
#include "seal/message.h"
#include "seal/replay.h"
#include "seal/stream.h"
#include "promptseal/promptseal.h"

/*
 * The public library: the seal/ modules behind an interface that names an
 * exchange, not the wire format's parts, so that its programs outlive a
 * change of format.  Everything here is glue: state checks, copies of
 * keys, and the mapping of pserr to the library's own codes.
 */

#if PROMPTSEAL_KID_LEN != ENVELOPE_KID_LEN || \
    PROMPTSEAL_SECRET_LEN != ENVELOPE_SECRET_LEN || \
    PROMPTSEAL_NONCE_LEN != ENVELOPE_NONCE_LEN || \
    PROMPTSEAL_QUERY_MAX != MESSAGE_QUERY_MAX
#error "promptseal.h and seal/ disagree on sizes"
#endif
/* The same for the padding caps, which the preprocessor cannot compare. */
typedef char promptseal_pad_caps_agree[
    PROMPTSEAL_PAD_BODY_MAX == ENVELOPE_BUCKET_MAX &&
    PROMPTSEAL_PAD_STREAM_MAX == STREAM_BUCKET_MAX ? 1 : -1];

struct promptseal_key {
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t secret[ENVELOPE_SECRET_LEN];
};

enum role { CLIENT, WORKER };

enum state {
	ST_NEW,      /* client: the request is not sealed yet */
	ST_READY,    /* the reply may be made (worker) or taken (client) */
	ST_STREAM,   /* the reply is a stream, under way */
	ST_DONE      /* the reply has been made or taken */
};

/* A media type longer than this is not one a worker sends. */
#define MEDIA_MAX 128

struct promptseal_exchange {
	enum role role;
	enum state state;
	enum message_endpoint ep;
	uint8_t secret[ENVELOPE_SECRET_LEN]; /* client: keys the reply */
	struct envelope_ctx q;               /* the request direction */
	struct envelope_ctx r;               /* the reply direction */
	uint64_t ts;                         /* worker: the request's time */
	size_t pad_body, pad_stream;
	size_t qlen;
	char query[MESSAGE_QUERY_MAX + 1];
	/* the path, '?' and the query, NUL-terminated */
	char path[64 + PS_CAP_PATH_ID];      /* as given, checked by */
	size_t plen;                         /* message_route() */
	char target[64 + PS_CAP_PATH_ID + MESSAGE_QUERY_MAX + 2];
	struct stream s;                     /* set up in ST_STREAM and after */
	int have_stream;
	promptseal_write_fn fn;              /* of the stream call under way */
	void *fn_arg;
	int fn_failed;
	int stream_rc;                       /* the stream's first error */
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
	{PROMPTSEAL_E_UNSUPPORTED_VERSION, PS_ERR_VERSION, 1},
	{PROMPTSEAL_E_STALE, PS_ERR_STALE, 1},
	{PROMPTSEAL_E_PLAIN_QUERY, PS_ERR_PLAIN_QUERY, 1},
	{PROMPTSEAL_E_BAD_QUERY, PS_ERR_BAD_QUERY, 1},
	{PROMPTSEAL_E_REPLAYED, PS_ERR_REPLAYED, 1},
	{PROMPTSEAL_E_QUERY_TOO_LONG, PS_ERR_QUERY_TOO_LONG, 1},
	{PROMPTSEAL_E_REPLAY_FULL, PS_ERR_REPLAY_FULL, 1},
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
	envelope_wipe(&x->q);
	envelope_wipe(&x->r);
	secret_free(x, sizeof(*x));
}

static int
out_ok(char **out, size_t *outlen)
{
	return out != NULL && outlen != NULL;
}

static int
status_ok(int status)
{
	return status >= 100 && status <= 599;
}

/* A new exchange of role for ep, with no keys yet. */
static struct promptseal_exchange *
exchange_alloc(enum role role, enum message_endpoint ep, const char *path,
    size_t plen)
{
	struct promptseal_exchange *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->role = role;
	x->state = role == CLIENT ? ST_NEW : ST_READY;
	x->ep = ep;
	/* message_route() accepted it, so it fits. */
	memcpy(x->path, path, plen);
	x->path[plen] = '\0';
	x->plen = plen;
	x->pad_body = PROMPTSEAL_PAD_BODY_DEFAULT;
	x->pad_stream = PROMPTSEAL_PAD_STREAM_DEFAULT;
	envelope_init(&x->q, ENVELOPE_REQUEST);
	envelope_init(&x->r, ENVELOPE_RESPONSE);
	return x;
}

/* Keep the query (checked for its length by the caller) and the target
 * it makes with x's path. */
static void
set_query(struct promptseal_exchange *x, const char *query, size_t qlen)
{
	const char *path = x->path;
	size_t plen = x->plen;

	memcpy(x->query, query, qlen);
	x->query[qlen] = '\0';
	x->qlen = qlen;
	memcpy(x->target, path, plen);
	if (qlen > 0) {
		x->target[plen] = '?';
		memcpy(x->target + plen + 1, query, qlen);
		plen += 1 + qlen;
	}
	x->target[plen] = '\0';
}

int
promptseal_exchange_pad(promptseal_exchange *x, size_t body, size_t stream)
{
	if (x == NULL || body > ENVELOPE_BUCKET_MAX ||
	    stream > STREAM_BUCKET_MAX)
		return PROMPTSEAL_E_ARG;
	x->pad_body = body;
	x->pad_stream = stream;
	return PROMPTSEAL_OK;
}

const char *
promptseal_exchange_path(const promptseal_exchange *x)
{
	return x != NULL ? x->path : NULL;
}

const char *
promptseal_exchange_target(const promptseal_exchange *x)
{
	return x != NULL ? x->target : NULL;
}

/* --------------------------------------------------- client side */

int
promptseal_exchange_new(const promptseal_key *key, const char *method,
    const char *target, promptseal_exchange **xp)
{
	struct promptseal_exchange *x = NULL;
	enum message_endpoint ep;
	const char *query;
	size_t plen, qlen;
	pserr rc;
	int r;

	if (key == NULL || method == NULL || target == NULL || xp == NULL)
		return PROMPTSEAL_E_ARG;
	message_target(target, &plen, &query, &qlen);
	if ((rc = message_route(method, target, plen, &ep)) != PS_OK)
		return to_pub(rc);
	/* The query goes inside the seal: refused before anything else. */
	if (qlen > MESSAGE_QUERY_MAX)
		return PROMPTSEAL_E_QUERY_TOO_LONG;
	if (plen >= sizeof(x->path))
		return PROMPTSEAL_E_UNKNOWN_ENDPOINT;
	if ((x = exchange_alloc(CLIENT, ep, target, plen)) == NULL)
		return PROMPTSEAL_E_NOMEM;
	set_query(x, query != NULL ? query : "", qlen);
	memcpy(x->secret, key->secret, sizeof(x->secret));
	memcpy(x->q.kid, key->kid, sizeof(x->q.kid));
	if ((rc = secret_random(x->q.nonce, sizeof(x->q.nonce))) != PS_OK ||
	    (rc = envelope_bind_request(&x->q, method, x->path,
	    x->plen)) != PS_OK ||
	    (rc = envelope_derive(&x->q, x->secret)) != PS_OK) {
		r = to_pub(rc);
		goto out;
	}
	/* The reply comes under this request's kid and nonce. */
	memcpy(x->r.kid, x->q.kid, sizeof(x->r.kid));
	memcpy(x->r.nonce, x->q.nonce, sizeof(x->r.nonce));
	*xp = x;
	x = NULL;
	r = PROMPTSEAL_OK;
out:
	promptseal_exchange_free(x);
	return r;
}

static int
seal_request_call(promptseal_exchange *x, const char *json, size_t len,
    char **out, size_t *outlen)
{
	int bodyless;
	struct buf b;
	pserr rc;

	if (x == NULL || x->role != CLIENT || x->state != ST_NEW ||
	    (json == NULL && len > 0) || !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	bodyless = message_bodyless(x->ep);
	if (bodyless && (json != NULL || len > 0))
		return PROMPTSEAL_E_ARG;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	buf_init(&b, PS_CAP_API_MESSAGE);
	if ((rc = message_seal_request(x->ep, &x->q, (uint64_t)time(NULL),
	    x->query, x->qlen, bodyless ? NULL : json != NULL ? json : "",
	    len, x->pad_body, &b)) != PS_OK) {
		buf_free(&b);
		return to_pub(rc);
	}
	/* The request key is not needed again. */
	envelope_wipe(&x->q);
	memcpy(x->q.kid, x->r.kid, sizeof(x->q.kid));
	memcpy(x->q.nonce, x->r.nonce, sizeof(x->q.nonce));
	x->state = ST_READY;
	return hand_over(&b, out, outlen);
}

/* The reply is keyed with this exchange's secret, whatever kid it names:
 * another kid is another exchange. */
static pserr
client_lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	struct promptseal_exchange *x = arg;

	if (memcmp(kid, x->r.kid, ENVELOPE_KID_LEN) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, x->secret, ENVELOPE_SECRET_LEN);
	return PS_OK;
}

/* Bind the reply direction to the status and media type that arrived.
 * A Content-Type that holds no media type a worker could send binds an
 * empty one, which no worker's reply carries: it fails to authenticate,
 * as a relabelled reply does. */
static int
bind_reply(struct promptseal_exchange *x, int status,
    const char *content_type)
{
	char media[MEDIA_MAX];
	int n;

	if ((n = message_media_type(content_type, media, sizeof(media))) < 0)
		n = 0;
	return to_pub(envelope_bind_reply(&x->r, status, media, (size_t)n));
}

static int
open_reply_call(promptseal_exchange *x, int status,
    const char *content_type, const char *json, size_t len, char **out,
    size_t *outlen)
{
	struct buf b;
	pserr rc;
	int r;

	if (x == NULL || x->role != CLIENT || x->state != ST_READY ||
	    !status_ok(status) || content_type == NULL ||
	    (json == NULL && len > 0) || !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	/* One reply per exchange, whatever comes of it. */
	x->state = ST_DONE;
	if ((r = bind_reply(x, status, content_type)) != PROMPTSEAL_OK)
		return r;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	buf_init(&b, PS_CAP_API_MESSAGE);
	if ((rc = message_open_reply(x->ep, &x->r, client_lookup, x,
	    json != NULL ? json : "", len, &b)) != PS_OK) {
		buf_free(&b);
		return to_pub(rc);
	}
	return hand_over(&b, out, outlen);
}

/* --------------------------------------------------- worker side */

/* What the caller's lookup callback is called through. */
struct lookup_ctx {
	struct promptseal_exchange *x;
	promptseal_lookup_fn fn;
	void *arg;
	int failed;   /* the callback gave a value of its own */
};

static pserr
worker_lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	struct lookup_ctx *lk = arg;
	int r = lk->fn(lk->arg, kid, secret);

	if (r == PROMPTSEAL_OK) {
		/* Kept to key the reply with; wiped once it is. */
		memcpy(lk->x->secret, secret, ENVELOPE_SECRET_LEN);
		return PS_OK;
	}
	if (r == PROMPTSEAL_E_UNKNOWN_KEY)
		return PS_ERR_UNKNOWN_KEY;
	if (r == PROMPTSEAL_E_NO_KEY)
		return PS_ERR_NO_KEY;
	lk->failed = 1;
	return PS_ERR_NO_KEY;
}

/* The reply direction: the request's kid and nonce and a fresh reply
 * value, so that no two replies to one request are ever keyed alike. */
static pserr
key_reply(struct promptseal_exchange *x)
{
	pserr rc;

	memcpy(x->r.kid, x->q.kid, sizeof(x->r.kid));
	memcpy(x->r.nonce, x->q.nonce, sizeof(x->r.nonce));
	if ((rc = secret_random(x->r.reply, sizeof(x->r.reply))) != PS_OK)
		return rc;
	rc = envelope_derive(&x->r, x->secret);
	secret_wipe(x->secret, sizeof(x->secret));
	return rc;
}

static int
open_request_call(promptseal_lookup_fn fn, void *arg,
    const char *method, const char *path, const char *json, size_t len,
    promptseal_exchange **xp, char **out, size_t *outlen)
{
	struct promptseal_exchange *x = NULL;
	struct message_request mr;
	struct lookup_ctx lk;
	enum message_endpoint ep;
	const char *query;
	size_t plen, qlen;
	struct buf b;
	int r;
	pserr rc;

	memset(&mr, 0, sizeof(mr));
	buf_init(&b, PS_CAP_API_MESSAGE);
	if (fn == NULL || method == NULL || path == NULL ||
	    (json == NULL && len > 0) || xp == NULL || !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	message_target(path, &plen, &query, &qlen);
	/* A query travels sealed: one in clear is refused, never used. */
	if (query != NULL)
		return PROMPTSEAL_E_PLAIN_QUERY;
	if ((rc = message_route(method, path, plen, &ep)) != PS_OK)
		return to_pub(rc);
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	if (message_bodyless(ep) && len == 0)
		/* No Promptseal-Request header. */
		return PROMPTSEAL_E_INVALID_ENVELOPE;
	if (plen >= sizeof(x->path))
		return PROMPTSEAL_E_UNKNOWN_ENDPOINT;
	if ((x = exchange_alloc(WORKER, ep, path, plen)) == NULL)
		return PROMPTSEAL_E_NOMEM;
	if ((rc = envelope_bind_request(&x->q, method, x->path, x->plen)) !=
	    PS_OK) {
		r = to_pub(rc);
		goto out;
	}
	lk.x = x;
	lk.fn = fn;
	lk.arg = arg;
	lk.failed = 0;
	rc = message_open_request(ep, &x->q, worker_lookup, &lk,
	    json != NULL ? json : "", len, &b, &mr);
	if (rc != PS_OK) {
		r = lk.failed ? PROMPTSEAL_E_CALLBACK : to_pub(rc);
		goto out;
	}
	/* The request's key is not needed again; its kid and nonce are. */
	secret_wipe(x->q.key, sizeof(x->q.key));
	x->q.keyed = 0;
	if ((rc = key_reply(x)) != PS_OK) {
		r = to_pub(rc);
		goto out;
	}
	x->ts = mr.ts;
	set_query(x, mr.query != NULL ? mr.query : "", mr.qlen);
	/* Only the body goes to the caller: the content's head (ts and
	 * query) is dropped from the front. */
	if (mr.body != NULL)
		buf_consume(&b, (size_t)(mr.body - b.p));
	else
		buf_reset(&b);
	if ((r = hand_over(&b, out, outlen)) != PROMPTSEAL_OK)
		goto out;
	*xp = x;
	x = NULL;
out:
	secret_wipe(&mr, sizeof(mr));
	buf_free(&b);
	promptseal_exchange_free(x);
	return r;
}

int
promptseal_request_id(const promptseal_exchange *x, uint64_t *ts,
    uint8_t kid[PROMPTSEAL_KID_LEN], uint8_t nonce[PROMPTSEAL_NONCE_LEN])
{
	if (x == NULL || x->role != WORKER)
		return PROMPTSEAL_E_ARG;
	if (ts != NULL)
		*ts = x->ts;
	if (kid != NULL)
		memcpy(kid, x->q.kid, sizeof(x->q.kid));
	if (nonce != NULL)
		memcpy(nonce, x->q.nonce, sizeof(x->q.nonce));
	return PROMPTSEAL_OK;
}

int
promptseal_request_fresh(const promptseal_exchange *x, int64_t now,
    long window)
{
	if (x == NULL || x->role != WORKER || window < 0)
		return PROMPTSEAL_E_ARG;
	/* ts is a u64 from the wire: compared so that nothing wraps. */
	if (x->ts > (uint64_t)INT64_MAX ||
	    (int64_t)x->ts - REPLAY_SKEW > now ||
	    (now > (int64_t)x->ts && now - (int64_t)x->ts > window))
		return PROMPTSEAL_E_STALE;
	return PROMPTSEAL_OK;
}

static int
seal_reply_call(promptseal_exchange *x, int status, const char *json,
    size_t len, char **out, size_t *outlen)
{
	static const char media[] = "application/json";
	struct buf b;
	pserr rc;

	if (x == NULL || x->role != WORKER || x->state != ST_READY ||
	    !status_ok(status) || (json == NULL && len > 0) ||
	    !out_ok(out, outlen))
		return PROMPTSEAL_E_ARG;
	if (len > PS_CAP_API_MESSAGE)
		return PROMPTSEAL_E_TOO_LARGE;
	if ((rc = envelope_bind_reply(&x->r, status, media,
	    sizeof(media) - 1)) != PS_OK)
		return to_pub(rc);
	buf_init(&b, PS_CAP_API_MESSAGE);
	if ((rc = message_seal_reply(x->ep, &x->r, json != NULL ? json : "",
	    len, x->pad_body, &b)) != PS_OK) {
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

int
promptseal_stream_open_begin(promptseal_exchange *x, int status,
    const char *content_type)
{
	int r;

	if (x == NULL || x->role != CLIENT || x->state != ST_READY ||
	    !status_ok(status) || content_type == NULL ||
	    message_bodyless(x->ep))
		return PROMPTSEAL_E_ARG;
	if ((r = bind_reply(x, status, content_type)) != PROMPTSEAL_OK)
		return r;
	stream_open_init(&x->s, x->ep, &x->r, client_lookup, x,
	    PS_CAP_LINE_DEFAULT, emit, x);
	x->have_stream = 1;
	x->state = ST_STREAM;
	return PROMPTSEAL_OK;
}

/* Check a stream call on x by role and set the worker's stream up on the
 * first; PROMPTSEAL_OK, or the error to return at once. */
static int
stream_enter(struct promptseal_exchange *x, enum role role, const char *p,
    size_t n, promptseal_write_fn fn, void *arg)
{
	static const char sse[] = "text/event-stream";
	pserr rc;

	if (x == NULL || x->role != role || fn == NULL ||
	    (p == NULL && n > 0) || message_bodyless(x->ep))
		return PROMPTSEAL_E_ARG;
	if (role == WORKER && x->state == ST_READY) {
		/* A stream always goes out as 200, so it is bound to 200. */
		if ((rc = envelope_bind_reply(&x->r, 200, sse,
		    sizeof(sse) - 1)) != PS_OK)
			return to_pub(rc);
		stream_seal_init(&x->s, x->ep, &x->r, x->pad_stream,
		    PS_CAP_LINE_DEFAULT, emit, x);
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

/* The result of a stream call that returned rc: the code of the error
 * event that ended the stream, if one did, stays its answer. */
static int
stream_leave(struct promptseal_exchange *x, pserr rc)
{
	int r = PROMPTSEAL_OK;

	if (x->fn_failed)
		r = PROMPTSEAL_E_CALLBACK;
	else if (x->s.error != PS_OK)
		r = to_pub(x->s.error);
	else if (rc != PS_OK)
		r = to_pub(rc);
	x->fn = NULL;
	x->fn_arg = NULL;
	if (r != PROMPTSEAL_OK)
		x->stream_rc = r;
	return r;
}

static int
stream_open_feed_call(promptseal_exchange *x, const char *p, size_t n,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, CLIENT, p, n, fn, arg)) != PROMPTSEAL_OK)
		return r;
	return stream_leave(x, stream_open_feed(&x->s, p, n));
}

static int
stream_open_finish_call(promptseal_exchange *x,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, CLIENT, NULL, 0, fn, arg)) == PROMPTSEAL_OK)
		r = stream_leave(x, stream_open_finish(&x->s));
	if (x != NULL && x->role == CLIENT && x->state == ST_STREAM)
		x->state = ST_DONE;
	return r;
}

static int
stream_seal_feed_call(promptseal_exchange *x, const char *p, size_t n,
    promptseal_write_fn fn, void *arg)
{
	int r;

	if ((r = stream_enter(x, WORKER, p, n, fn, arg)) != PROMPTSEAL_OK)
		return r;
	return stream_leave(x, stream_seal_feed(&x->s, p, n));
}

static int
stream_seal_finish_call(promptseal_exchange *x, int why,
    promptseal_write_fn fn, void *arg)
{
	pserr ps = PS_OK, rc;
	int r;

	if (why != PROMPTSEAL_OK && why != PROMPTSEAL_E_UPSTREAM &&
	    why != PROMPTSEAL_E_TIMEOUT && why != PROMPTSEAL_E_TOO_LARGE)
		return PROMPTSEAL_E_ARG;
	if (why != PROMPTSEAL_OK)
		(void)to_ps(why, &ps);
	if ((r = stream_enter(x, WORKER, NULL, 0, fn, arg)) == PROMPTSEAL_OK) {
		rc = stream_seal_finish(&x->s, ps);
		/* The error event for why is what the caller asked for, not
		 * a failure of this call. */
		if (rc == PS_OK && !x->fn_failed && x->s.error == ps) {
			x->fn = NULL;
			x->fn_arg = NULL;
		} else
			r = stream_leave(x, rc);
	}
	if (x != NULL && x->role == WORKER && x->state == ST_STREAM)
		x->state = ST_DONE;
	return r;
}

/* ------------------------------------------------------ the interface */

/*
 * Each call that seals or opens leaves the calling thread holding no key:
 * the cipher contexts envelope.c keeps per thread are dropped at its end
 * (the caller's threads may idle, or never come back).
 */

int
promptseal_seal_request(promptseal_exchange *x, const char *json, size_t len,
    char **out, size_t *outlen)
{
	int r = seal_request_call(x, json, len, out, outlen);

	envelope_thread_wipe();
	return r;
}

int
promptseal_open_reply(promptseal_exchange *x, int status,
    const char *content_type, const char *json, size_t len, char **out,
    size_t *outlen)
{
	int r = open_reply_call(x, status, content_type, json, len, out, outlen);

	envelope_thread_wipe();
	return r;
}

int
promptseal_open_request(promptseal_lookup_fn fn, void *arg,
    const char *method, const char *path, const char *json, size_t len,
    promptseal_exchange **xp, char **out, size_t *outlen)
{
	int r = open_request_call(fn, arg, method, path, json, len, xp, out, outlen);

	envelope_thread_wipe();
	return r;
}

int
promptseal_seal_reply(promptseal_exchange *x, int status, const char *json,
    size_t len, char **out, size_t *outlen)
{
	int r = seal_reply_call(x, status, json, len, out, outlen);

	envelope_thread_wipe();
	return r;
}

int
promptseal_stream_open_feed(promptseal_exchange *x, const char *p, size_t n,
    promptseal_write_fn fn, void *arg)
{
	int r = stream_open_feed_call(x, p, n, fn, arg);

	envelope_thread_wipe();
	return r;
}

int
promptseal_stream_open_finish(promptseal_exchange *x,
    promptseal_write_fn fn, void *arg)
{
	int r = stream_open_finish_call(x, fn, arg);

	envelope_thread_wipe();
	return r;
}

int
promptseal_stream_seal_feed(promptseal_exchange *x, const char *p, size_t n,
    promptseal_write_fn fn, void *arg)
{
	int r = stream_seal_feed_call(x, p, n, fn, arg);

	envelope_thread_wipe();
	return r;
}

int
promptseal_stream_seal_finish(promptseal_exchange *x, int why,
    promptseal_write_fn fn, void *arg)
{
	int r = stream_seal_finish_call(x, why, fn, arg);

	envelope_thread_wipe();
	return r;
}
