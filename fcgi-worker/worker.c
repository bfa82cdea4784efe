#include "config.h"

#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/secret.h"
#include "keys/notify.h"
#include "net/server.h"
#include "seal/message.h"
#include "seal/stream.h"
#include "worker.h"

/* One exchange: the request's kid and nonce answer the reply. */
struct exchange {
	struct worker *w;
	struct proxy_thread *t;
	FCGX_Request *req;
	enum message_endpoint ep;
	uint8_t key[ENVELOPE_KEY_LEN];
	uint8_t kid[ENVELOPE_KID_LEN];   /* the kid last looked up */
	struct envelope_ctx c;
	long status;
	int streaming;
	struct stream s;
	struct proxy_sink sink;
};

void *
worker_thread_init(void *app)
{
	struct worker *w = app;

	return proxy_thread_new(&w->opts);
}

void
worker_thread_fini(void *app, void *ts)
{
	proxy_thread_free(ts);
}

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t key[ENVELOPE_KEY_LEN])
{
	struct exchange *x = arg;
	pserr rc;

	memcpy(x->kid, kid, ENVELOPE_KID_LEN);
	if ((rc = keycache_find(x->w->keys, kid, (int64_t)time(NULL), key)) != PS_OK)
		return rc;
	/* Kept for sealing the reply; wiped when the exchange ends. */
	memcpy(x->key, key, ENVELOPE_KEY_LEN);
	return PS_OK;
}

static pserr
on_head(void *arg, const struct upstream_reply *r)
{
	struct exchange *x = arg;

	x->status = r->status;
	if (!PROXY_OK_STATUS(r->status) || !proxy_is_sse(r->content_type))
		return PS_OK;
	x->streaming = 1;
	return proxy_stream_begin(&x->sink, x->req,
	    "Promptseal-Encrypted: true\r\n", &x->s, x->ep, &x->c,
	    x->w->opts.max_line);
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

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The request's kid is not in the cache (rc): ask keysync for a fetch and
 * look again every 50 ms, up to --key-wait.  A client's new key reaches
 * the worker this way when keysync has not fetched it yet.  Returns the
 * lookup's last error, or PS_OK once the kid is there.
 */
static pserr
wait_for_key(struct exchange *x, pserr rc)
{
	struct worker *w = x->w;
	struct timespec pause = {0, 50 * 1000000L};
	uint8_t key[ENVELOPE_KEY_LEN];
	int64_t end = mono_ms() + w->key_wait_ms;

	static int64_t last_warn = -1;
	int64_t now = mono_ms(), prev;

	if (notify_send(w->keysync_notify) != PS_OK) {
		/* Once in 10 s: a run of unknown kids must not flood the log. */
		prev = __atomic_load_n(&last_warn, __ATOMIC_RELAXED);
		if ((prev < 0 || now - prev >= 10000) &&
		    __atomic_compare_exchange_n(&last_warn, &prev, now, 0,
		    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			log_warn("cannot ask keysync for a fetch: nobody "
			    "listens on %s", w->keysync_notify);
	}
	while (mono_ms() < end) {
		nanosleep(&pause, NULL);
		keycache_refresh(w->keys);
		rc = keycache_find(w->keys, x->kid, (int64_t)time(NULL), key);
		if (rc != PS_ERR_UNKNOWN_KEY && rc != PS_ERR_NO_KEY)
			break;
	}
	secret_wipe(key, sizeof(key));
	return rc;
}

/* The inference server's whole reply, sealed; its errors too. */
static void
send_sealed(struct exchange *x)
{
	struct proxy_thread *t = x->t;
	pserr rc;

	if (x->status < 200 || x->status > 599) {
		server_send_error(x->req, PS_ERR_BAD_UPSTREAM);
		return;
	}
	rc = message_seal(x->ep, &x->c, t->reply.p, t->reply.len, &t->out);
	if (rc != PS_OK) {
		if (rc == PS_ERR_INVALID_JSON)
			log_warn("inference server answered %ld with a body that "
			    "is not a JSON object", x->status);
		server_send_error(x->req, rc == PS_ERR_INVALID_JSON ?
		    PS_ERR_BAD_UPSTREAM : rc);
		return;
	}
	server_send(x->req, (int)x->status, "application/json",
	    "Promptseal-Encrypted: true\r\n", t->out.p, t->out.len);
}

void
worker_handle(void *app, void *ts, FCGX_Request *req)
{
	static const char *const headers[] = {
		"Content-Type: application/json", NULL
	};
	struct worker *w = app;
	struct proxy_thread *t = ts;
	const char *method = server_param(req, "REQUEST_METHOD");
	const char *uri = server_param(req, "REQUEST_URI");
	struct exchange x;
	pserr rc;
	int started = 0;

	memset(&x, 0, sizeof(x));
	x.w = w;
	x.t = t;
	x.req = req;
	if ((rc = message_route(method ? method : "", uri ? uri : "", &x.ep)) != PS_OK)
		goto fail;
	if (x.ep == MESSAGE_MODELS) {
		proxy_relay_models(t, req);
		goto out;
	}
	if (!server_is_json(req)) {
		rc = PS_ERR_MEDIA_TYPE;
		goto fail;
	}
	if ((rc = server_read_body(req, &t->body)) != PS_OK)
		goto fail;

	keycache_refresh(w->keys);
	x.c.dir = ENVELOPE_REQUEST;
	rc = message_open(x.ep, &x.c, lookup, &x, t->body.p, t->body.len, &t->msg);
	if ((rc == PS_ERR_UNKNOWN_KEY || rc == PS_ERR_NO_KEY) &&
	    w->keysync_notify != NULL && wait_for_key(&x, rc) == PS_OK) {
		log_debug("an unknown kid arrived through keysync in time");
		rc = message_open(x.ep, &x.c, lookup, &x, t->body.p,
		    t->body.len, &t->msg);
	}
	if (rc != PS_OK)
		goto fail;

	/* From here the reply is sealed under the request's kid and nonce. */
	x.c.key = x.key;
	x.c.dir = ENVELOPE_RESPONSE;
	x.c.msg = 0;
	rc = upstream_request(t->up, "POST", uri, headers, t->msg.p, t->msg.len,
	    on_head, on_data, &x, &started);
	if (x.streaming) {
		/* The head is out: a failure can only be told in the stream,
		 * and stream_seal_finish says it when no [DONE] came. */
		if (rc != PS_OK && rc != PS_ERR_IO)
			log_warn("stream from the inference server broke off: %s",
			    pserr_str(rc));
		if (rc != PS_ERR_IO && stream_seal_finish(&x.s) != PS_OK)
			log_debug("client went away during the stream");
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
	server_send_error(req, rc);
out:
	secret_wipe(x.key, sizeof(x.key));
	secret_wipe(x.kid, sizeof(x.kid));
	secret_wipe(&x.c, sizeof(x.c));
	proxy_thread_clean(t);
}
