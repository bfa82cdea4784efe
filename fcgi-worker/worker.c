/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/caps.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/secret.h"
#include "keys/notify.h"
#include "net/metrics.h"
#include "net/server.h"
#include "net/upstream.h"
#include "seal/message.h"
#include "seal/multipart.h"
#include "seal/stream.h"
#include "worker.h"

#define SEALED_HEADERS "Promptseal-Encrypted: true\r\n" PROXY_VERSION_HEADER

/* One exchange: the request's kid and nonce, and a reply value of our
 * own, key the reply. */
struct exchange {
	struct worker *w;
	struct proxy_thread *t;
	FCGX_Request *req;
	enum message_endpoint ep;
	const char *path;                    /* as received, checked by */
	size_t plen;                         /* message_route() */
	uint8_t secret[ENVELOPE_SECRET_LEN]; /* the request's, until the
	                                      * reply's keys are derived */
	uint8_t kid[ENVELOPE_KID_LEN];       /* the kid last looked up */
	struct envelope_ctx q;               /* the request */
	struct envelope_ctx r;               /* the reply */
	struct message_request mr;
	struct multipart_request mp;         /* a multipart request's */
	long status;
	char media[128];                     /* of the inference server's reply */
	int media_ok;
	int streaming;
	struct stream s;
	struct proxy_sink sink;
};

void *
worker_thread_init(void *app)
{
	struct worker *w = app;

	return proxy_thread_new(&w->opts, PROXY_WIRE_WORKER);
}

void
worker_thread_fini(void *app, void *ts)
{
	proxy_thread_free(ts);
}

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	struct exchange *x = arg;
	pserr rc;

	memcpy(x->kid, kid, ENVELOPE_KID_LEN);
	if ((rc = keycache_find(x->w->keys, kid, (int64_t)time(NULL),
	    secret)) != PS_OK)
		return rc;
	/* Kept for keying the reply; wiped when the exchange ends. */
	memcpy(x->secret, secret, ENVELOPE_SECRET_LEN);
	return PS_OK;
}

static pserr
on_head(void *arg, const struct upstream_reply *r)
{
	static const char sse[] = "text/event-stream";
	struct exchange *x = arg;
	pserr rc;

	x->status = r->status;
	x->media_ok = proxy_media_type(r->content_type, x->media,
	    sizeof(x->media)) >= 0;
	if (!PROXY_OK_STATUS(r->status) || !proxy_is_sse(r->content_type)) {
		proxy_reply_presize(x->t, r->length);
		return PS_OK;
	}
	/* A stream always goes out as 200, so it is bound to 200. */
	if ((rc = envelope_bind_reply(&x->r, 200, sse, sizeof(sse) - 1)) !=
	    PS_OK)
		return rc;
	x->streaming = 1;
	if ((rc = proxy_stream_begin(&x->sink, x->req, SEALED_HEADERS)) !=
	    PS_OK)
		return rc;
	stream_seal_init(&x->s, x->ep, &x->r, x->w->pad_stream,
	    x->w->opts.max_line, proxy_sink_emit, &x->sink);
	return PS_OK;
}

static pserr
on_data(void *arg, const char *p, size_t n)
{
	struct exchange *x = arg;
	pserr rc;

	if (x->streaming) {
		if ((rc = stream_seal_feed(&x->s, p, n)) != PS_OK)
			return rc;
		return proxy_stream_flush(&x->sink);
	}
	return buf_append(&x->t->reply, p, n);
}

/* 1 at most once in 10 s per *last: a run of unknown kids must not flood
 * the log. */
static int
warn_now(int64_t *last)
{
	int64_t now = clock_mono_ms(), prev;

	prev = __atomic_load_n(last, __ATOMIC_RELAXED);
	return (prev < 0 || now - prev >= 10000) &&
	    __atomic_compare_exchange_n(last, &prev, now, 0, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED);
}

/*
 * Who waits for which unknown kid.  Anybody can send a kid nobody has, and
 * each wait holds a request thread, so at most max distinct kids are
 * waited for at once.  A client's new key, met by many requests at once
 * during a rotation, is one kid: requests for a kid already waited for
 * wait too (so many requests naming one unknown kid can still hold the
 * threads for one --key-wait).
 */
struct worker_waits {
	pthread_mutex_t lock;
	size_t max;              /* distinct kids */
	struct {
		uint8_t kid[ENVELOPE_KID_LEN];
		size_t n;            /* requests waiting for it; 0: free slot */
	} *kid;
};

int
worker_waits_new(struct worker *w)
{
	struct worker_waits *ws;

	if ((ws = calloc(1, sizeof(*ws))) == NULL)
		return -1;
	ws->max = (size_t)w->key_waiters_max;
	if ((ws->kid = calloc(ws->max, sizeof(*ws->kid))) == NULL ||
	    pthread_mutex_init(&ws->lock, NULL) != 0) {
		free(ws->kid);
		free(ws);
		return -1;
	}
	w->waits = ws;
	return 0;
}

void
worker_waits_free(struct worker *w)
{
	if (w->waits == NULL)
		return;
	pthread_mutex_destroy(&w->waits->lock);
	free(w->waits->kid);
	free(w->waits);
	w->waits = NULL;
}

/* Take a place among the waiters for kid: its slot, or -1 when there is
 * none to have. */
static long
waits_enter(struct worker_waits *ws, const uint8_t *kid)
{
	long slot = -1, free_slot = -1;
	size_t i;

	pthread_mutex_lock(&ws->lock);
	for (i = 0; i < ws->max; i++) {
		if (ws->kid[i].n == 0) {
			if (free_slot < 0)
				free_slot = (long)i;
		} else if (memcmp(ws->kid[i].kid, kid, ENVELOPE_KID_LEN) == 0) {
			slot = (long)i;
		}
	}
	if (slot < 0 && free_slot >= 0) {
		slot = free_slot;
		memcpy(ws->kid[slot].kid, kid, ENVELOPE_KID_LEN);
	}
	if (slot >= 0)
		ws->kid[slot].n++;
	pthread_mutex_unlock(&ws->lock);
	return slot;
}

static void
waits_leave(struct worker_waits *ws, long slot)
{
	pthread_mutex_lock(&ws->lock);
	ws->kid[slot].n--;
	pthread_mutex_unlock(&ws->lock);
}

/*
 * The request's kid is not in the cache (rc): ask keysync for a fetch and
 * look again every 50 ms, up to --key-wait.  A client's new key reaches
 * the worker this way when keysync has not fetched it yet.  When no place
 * among the waiters is free (struct worker_waits), rc is returned at
 * once.  Returns the lookup's last error, or PS_OK once the kid is there.
 */
static pserr
wait_for_key(struct exchange *x, pserr rc)
{
	static int64_t last_warn = -1, last_full = -1;
	struct worker *w = x->w;
	struct timespec pause = {0, 50 * 1000000L};
	uint8_t key[ENVELOPE_SECRET_LEN];
	int64_t end = clock_mono_ms() + w->key_wait_ms;
	long slot;

	if ((slot = waits_enter(w->waits, x->kid)) < 0) {
		if (warn_now(&last_full))
			log_warn("%ld unknown kids are already waited for: "
			    "answering the others at once (--key-waiters)",
			    w->key_waiters_max);
		return rc;
	}
	if (notify_send(w->keysync_notify) != PS_OK && warn_now(&last_warn))
		log_warn("cannot ask keysync for a fetch: nobody listens on %s",
		    w->keysync_notify);
	while (clock_mono_ms() < end) {
		nanosleep(&pause, NULL);
		keycache_refresh(w->keys);
		rc = keycache_find(w->keys, x->kid, (int64_t)time(NULL), key);
		if (rc != PS_ERR_UNKNOWN_KEY && rc != PS_ERR_NO_KEY)
			break;
	}
	secret_wipe(key, sizeof(key));
	waits_leave(w->waits, slot);
	return rc;
}

/*
 * Only a fresh request goes on (protocol.md section 4): its ts within
 * [now - W, now + skew], its (kid, nonce) not accepted before.  Checked
 * after authentication, so nobody without the key can fill the record.
 */
static pserr
check_fresh(struct exchange *x)
{
	struct worker *w = x->w;
	pserr rc;

	rc = replay_admit(w->replay, x->q.kid, x->q.nonce, x->mr.ts,
	    (int64_t)time(NULL), w->replay_window);
	if (rc == PS_ERR_REPLAY_FULL)
		log_error("the replay table is full: requests are refused until "
		    "records expire (raise --replay-slots)");
	else if (rc != PS_OK && rc != PS_ERR_REPLAYED && rc != PS_ERR_STALE) {
		log_error("the replay table cannot be used: %s", pserr_str(rc));
		rc = PS_ERR_REPLAY_FULL;
	}
	return rc;
}

/* The reply direction: the request's kid and nonce, a fresh reply value,
 * so that no two replies to one request are ever keyed alike. */
static pserr
key_reply(struct exchange *x)
{
	pserr rc;

	envelope_init(&x->r, ENVELOPE_RESPONSE);
	memcpy(x->r.kid, x->q.kid, ENVELOPE_KID_LEN);
	memcpy(x->r.nonce, x->q.nonce, ENVELOPE_NONCE_LEN);
	if ((rc = secret_nonce(x->r.reply, ENVELOPE_REPLY_LEN)) != PS_OK)
		return rc;
	rc = envelope_derive(&x->r, x->secret);
	/* The reply's keys are derived: the secret itself is done with,
	 * however long the reply takes (a stream may outlive it). */
	secret_wipe(x->secret, sizeof(x->secret));
	return rc;
}

/* The inference server's whole reply, sealed with its status; its errors
 * too. */
/* GET /healthz, GET /metrics: ready with a usable key in the cache and
 * the inference server's socket answering. */
static void
ops(struct worker *w, FCGX_Request *req, enum proxy_ops_route route,
    const char *method)
{
	struct metrics_gauges g;
	size_t usable;
	int64_t mtime, now = (int64_t)time(NULL);
	int up;

	keycache_refresh(w->keys);
	keycache_stats(w->keys, now, &usable, &mtime);
	up = upstream_reachable(&w->opts.upstream) == PS_OK;
	memset(&g, 0, sizeof(g));
	g.keys = (long)usable;
	g.key_age = mtime > 0 ? (now > mtime ? now - mtime : 0) : -1;
	g.ready = usable > 0 && up;
	proxy_ops_answer(req, route, method, &g, up);
}

/* An audio endpoint's text/plain reply (response_format text, srt,
 * vtt): sealed whole, bound to its status and media type. */
static void
send_sealed_text(struct exchange *x)
{
	static const char text[] = "text/plain";
	struct proxy_thread *t = x->t;
	pserr rc;

	if ((rc = envelope_bind_reply(&x->r, (int)x->status, text,
	    sizeof(text) - 1)) == PS_OK)
		rc = multipart_seal_text_reply(&x->r, t->reply.p, t->reply.len,
		    x->w->opts.pad_body, &t->out);
	if (rc != PS_OK) {
		proxy_send_error(x->req, rc);
		return;
	}
	server_send(x->req, (int)x->status, text, SEALED_HEADERS, t->out.p,
	    t->out.len);
}

static void
send_sealed(struct exchange *x)
{
	static const char json[] = "application/json";
	struct proxy_thread *t = x->t;
	pserr rc;

	if (x->status < 200 || x->status > 599) {
		proxy_send_error(x->req, PS_ERR_BAD_UPSTREAM);
		return;
	}
	/* The opened request is done with: the sealed reply, JSON or text,
	 * goes where it was, wiped. */
	proxy_thread_lend(t, &t->msg, &t->out);
	if (multipart_endpoint(x->ep) && x->media_ok &&
	    strcmp(x->media, "text/plain") == 0) {
		send_sealed_text(x);
		return;
	}
	if ((rc = envelope_bind_reply(&x->r, (int)x->status, json,
	    sizeof(json) - 1)) == PS_OK)
		rc = message_seal_reply(x->ep, &x->r, t->reply.p, t->reply.len,
		    x->w->opts.pad_body, &t->out);
	if (rc != PS_OK) {
		if (rc == PS_ERR_INVALID_JSON)
			log_warn("inference server answered %ld with a body that "
			    "is not a JSON object", x->status);
		proxy_send_error(x->req, rc == PS_ERR_INVALID_JSON ?
		    PS_ERR_BAD_UPSTREAM : rc);
		return;
	}
	server_send(x->req, (int)x->status, json, SEALED_HEADERS, t->out.p,
	    t->out.len);
}

/* Open the wire once; a multipart request's ts, query and body go to
 * x->mr too, its Content-Type is in x->mp. */
static pserr
open_once(struct exchange *x, const char *wire, size_t wlen)
{
	struct proxy_thread *t = x->t;
	pserr rc;

	if (!multipart_endpoint(x->ep))
		return message_open_request(x->ep, &x->q, lookup, x, wire, wlen,
		    &t->msg, &x->mr);
	if ((rc = multipart_open_request(x->ep, &x->q, lookup, x, wire, wlen,
	    &t->msg, &x->mp)) != PS_OK)
		return rc;
	x->mr.ts = x->mp.ts;
	x->mr.query = x->mp.query;
	x->mr.qlen = x->mp.qlen;
	x->mr.body = x->mp.body;
	x->mr.len = x->mp.len;
	return PS_OK;
}

/* The request, opened: its original body in t->msg, x->mr pointing into
 * it. */
static pserr
open_request(struct exchange *x, const char *method)
{
	struct proxy_thread *t = x->t;
	struct worker *w = x->w;
	const char *wire;
	size_t wlen;
	pserr rc;

	/* The path received, its id included: a request moved to another
	 * id does not authenticate. */
	envelope_init(&x->q, ENVELOPE_REQUEST);
	if ((rc = envelope_bind_request(&x->q, method, x->path, x->plen)) !=
	    PS_OK)
		return rc;
	if (message_bodyless(x->ep)) {
		/* Its envelope is in a header; a body is not read. */
		wire = server_param(x->req, "HTTP_PROMPTSEAL_REQUEST");
		if (wire == NULL || *wire == '\0')
			return PS_ERR_INVALID_ENVELOPE;
		wlen = strlen(wire);
	} else {
		if (!server_is_json(x->req))
			return PS_ERR_MEDIA_TYPE;
		if ((rc = server_read_body(x->req, &t->body)) != PS_OK)
			return rc;
		wire = t->body.p != NULL ? t->body.p : "";
		wlen = t->body.len;
	}
	keycache_refresh(w->keys);
	rc = open_once(x, wire, wlen);
	if ((rc == PS_ERR_UNKNOWN_KEY || rc == PS_ERR_NO_KEY) &&
	    w->keysync_notify != NULL && wait_for_key(x, rc) == PS_OK) {
		log_debug("an unknown kid arrived through keysync in time");
		rc = open_once(x, wire, wlen);
	}
	if (rc == PS_ERR_VERSION)
		log_info("a request in wire format version 1: this worker "
		    "speaks version 2");
	return rc;
}

void
worker_handle(void *app, void *ts, FCGX_Request *req)
{
	static const char *const json_headers[] = {
		"Content-Type: application/json", NULL
	};
	struct worker *w = app;
	struct proxy_thread *t = ts;
	const char *method = server_param(req, "REQUEST_METHOD");
	const char *uri = server_param(req, "REQUEST_URI");
	const char *query;
	char target[64 + PS_CAP_PATH_ID + MESSAGE_QUERY_MAX];
	char ctline[32 + PS_CAP_MULTIPART_CTYPE];
	const char *mp_headers[2] = { NULL, NULL };
	const char *const *headers;
	size_t plen, qlen;
	struct exchange x;
	enum proxy_ops_route route;
	pserr rc;
	int started = 0, n, ep = METRICS_EP_OTHER;

	if ((route = proxy_ops_route(uri)) != PROXY_OPS_NONE) {
		ops(w, req, route, method);
		return;
	}
	(void)server_status_take();
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.t = t;
	x.req = req;
	if (method == NULL)
		method = "";
	if (uri == NULL)
		uri = "";
	message_target(uri, &plen, &query, &qlen);
	/* Version 2 seals the query: one in clear is refused, never
	 * forwarded. */
	if (query != NULL) {
		rc = PS_ERR_PLAIN_QUERY;
		goto fail;
	}
	if ((rc = message_route(method, uri, plen, &x.ep)) != PS_OK)
		goto fail;
	ep = (int)x.ep;
	x.path = uri;
	x.plen = plen;
	if ((rc = open_request(&x, method)) != PS_OK ||
	    (rc = check_fresh(&x)) != PS_OK ||
	    (rc = key_reply(&x)) != PS_OK)
		goto fail;
	/* The sealed request is done with: the reply goes where it was. */
	proxy_thread_lend(t, &t->body, &t->reply);

	/* Forwarded as received, never decoded (protocol.md section 4). */
	n = snprintf(target, sizeof(target), "%.*s%s%.*s", (int)x.plen, x.path,
	    x.mr.qlen > 0 ? "?" : "", (int)x.mr.qlen, x.mr.query);
	if (n < 0 || (size_t)n >= sizeof(target)) {
		rc = PS_ERR_BAD_QUERY;
		goto fail;
	}
	headers = message_bodyless(x.ep) ? NULL : json_headers;
	if (multipart_endpoint(x.ep)) {
		/* The original Content-Type, boundary and all: it came out of
		 * the seal, so it is the user's (and holds no CR or LF). */
		n = snprintf(ctline, sizeof(ctline), "Content-Type: %.*s",
		    (int)x.mp.ctlen, x.mp.ct);
		if (n < 0 || (size_t)n >= sizeof(ctline)) {
			secret_wipe(target, sizeof(target));
			rc = PS_ERR_DECRYPT;
			goto fail;
		}
		mp_headers[0] = ctline;
		headers = mp_headers;
	}
	rc = upstream_request(t->up, message_method(x.ep), target,
	    headers, x.mr.body, x.mr.len, on_head, on_data, &x, &started);
	secret_wipe(target, sizeof(target));
	secret_wipe(ctline, sizeof(ctline));
	if (x.streaming) {
		/* The head is out: a failure can only be told in the stream,
		 * as a sealed error event before the final record. */
		if (rc != PS_OK && rc != PS_ERR_IO)
			log_warn("stream from the inference server broke off: %s",
			    pserr_str(rc));
		metrics_stream_end(rc == PS_OK);
		if (rc != PS_ERR_IO && stream_seal_finish(&x.s, rc == PS_OK ?
		    PS_OK : rc == PS_ERR_TIMEOUT ? PS_ERR_TIMEOUT :
		    PS_ERR_UPSTREAM) != PS_OK)
			log_debug("client went away during the stream");
		proxy_stream_end(&x.sink);
		stream_free(&x.s);
		goto out;
	}
	if (rc == PS_ERR_TOO_LARGE) {
		log_warn("inference server reply over --max-reply");
		rc = PS_ERR_BAD_UPSTREAM;
	}
	if (rc != PS_OK)
		goto fail;
	send_sealed(&x);
	goto out;
fail:
	if (rc == PS_ERR_IO) {
		log_debug("connection to the web server broke");
		goto out;
	}
	/* The path is not logged: it is the peer's text. */
	log_info("request refused: %d %s", pserr_status(rc), pserr_code(rc));
	proxy_send_error(req, rc);
out:
	metrics_request(ep, server_status_take());
	secret_wipe(x.secret, sizeof(x.secret));
	secret_wipe(x.kid, sizeof(x.kid));
	envelope_wipe(&x.q);
	envelope_wipe(&x.r);
	secret_wipe(&x.mr, sizeof(x.mr));
	secret_wipe(&x.mp, sizeof(x.mp));
	proxy_thread_clean(t);
}
