/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/caps.h"
#include "core/log.h"
#include "core/privfile.h"
#include "core/secret.h"
#include "keys/keyfile.h"
#include "net/metrics.h"
#include "net/server.h"
#include "net/upstream.h"
#include "seal/message.h"
#include "seal/multipart.h"
#include "seal/stream.h"
#include "client.h"

#define MEDIA_MAX 128

/* One exchange: the reply must authenticate under this request's kid and
 * nonce, in the reply direction, bound to the status and media type that
 * arrived. */
struct exchange {
	struct client *cl;
	struct proxy_thread *t;
	FCGX_Request *req;
	enum message_endpoint ep;
	const char *method;
	const char *path;             /* as received, checked by */
	size_t plen;                  /* message_route() */
	char target[64 + PS_CAP_PATH_ID];
	const char *query;
	size_t qlen;
	const char *ctype;            /* a multipart request's Content-Type */
	struct keycache_entry key;    /* its secret wiped once the reply
	                               * is keyed */
	struct envelope_ctx q;        /* the request */
	struct envelope_ctx r;        /* the reply */
	long status;
	int encrypted;
	char media[MEDIA_MAX];
	int media_ok;
	int streaming;
	struct stream s;
	struct proxy_sink sink;
};

void *
client_thread_init(void *app)
{
	struct client *cl = app;

	return proxy_thread_new(&cl->opts, PROXY_WIRE_CLIENT);
}

void
client_thread_fini(void *app, void *ts)
{
	proxy_thread_free(ts);
}

/* The reply is keyed with this request's secret, whatever kid it names:
 * another kid is another exchange. */
static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	struct exchange *x = arg;

	if (memcmp(kid, x->key.kid, ENVELOPE_KID_LEN) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, x->key.secret, ENVELOPE_SECRET_LEN);
	return PS_OK;
}

/* The reply direction of this exchange, bound to what arrived; not keyed
 * until its first message names the reply value. */
static pserr
reply_ctx(struct exchange *x)
{
	envelope_init(&x->r, ENVELOPE_RESPONSE);
	memcpy(x->r.kid, x->q.kid, ENVELOPE_KID_LEN);
	memcpy(x->r.nonce, x->q.nonce, ENVELOPE_NONCE_LEN);
	if (!x->media_ok || x->status < 100 || x->status > 999)
		return PS_ERR_BAD_UPSTREAM;
	return envelope_bind_reply(&x->r, (int)x->status, x->media,
	    strlen(x->media)) == PS_OK ? PS_OK : PS_ERR_BAD_UPSTREAM;
}

static pserr
on_head(void *arg, const struct upstream_reply *r)
{
	struct exchange *x = arg;
	pserr rc;

	x->status = r->status;
	x->encrypted = r->encrypted;
	if (!proxy_is_sse(r->content_type))
		proxy_reply_presize(x->t, r->length);
	x->media_ok = proxy_media_type(r->content_type, x->media,
	    sizeof(x->media)) >= 0;
	/* Only a 2xx stream not marked plain is relayed as a stream; every
	 * event of it is checked before the user sees it. */
	if (!PROXY_OK_STATUS(r->status) || !proxy_is_sse(r->content_type) ||
	    r->encrypted == 0 || reply_ctx(x) != PS_OK)
		return PS_OK;
	x->streaming = 1;
	if ((rc = proxy_stream_begin(&x->sink, x->req, NULL)) != PS_OK)
		return rc;
	stream_open_init(&x->s, x->ep, &x->r, lookup, x, x->cl->opts.max_line,
	    proxy_sink_emit, &x->sink);
	return PS_OK;
}

static pserr
on_data(void *arg, const char *p, size_t n)
{
	struct exchange *x = arg;
	pserr rc;

	if (x->streaming) {
		if ((rc = stream_open_feed(&x->s, p, n)) != PS_OK)
			return rc;
		/* Keyed by its first event, the stream needs the secret no
		 * more, however long it runs (it may outlive the secret). */
		if (x->r.keyed)
			secret_wipe(x->key.secret, sizeof(x->key.secret));
		return proxy_stream_flush(&x->sink);
	}
	return buf_append(&x->t->reply, p, n);
}

/*
 * A reply marked as the worker side's own plain error.  Nothing in it is
 * authenticated, so none of its text reaches the user: only its code,
 * answered with the client's own message and status for that code
 * (protocol.md section 6).
 */
static pserr
relay_plain_error(struct exchange *x)
{
	pserr code = proxy_plain_error_code(x->t->reply.p, x->t->reply.len);

	if (code == PS_OK) {
		log_warn("the worker side answered %ld with an unauthenticated "
		    "body that is not one of the protocol's errors", x->status);
		return PS_ERR_BAD_UPSTREAM;
	}
	log_info("the worker side refused the request: %s", pserr_code(code));
	proxy_send_error(x->req, code);
	return PS_OK;
}

/* A whole reply: the original body when it authenticates for this very
 * request, else an error; never passed on unchecked. */
static pserr
relay_reply(struct exchange *x)
{
	struct proxy_thread *t = x->t;
	int text;
	pserr rc;

	if (x->encrypted == 0)
		return relay_plain_error(x);
	/* The audio endpoints' text formats are sealed whole and shown with
	 * the media type they are bound to. */
	text = multipart_endpoint(x->ep) && x->media_ok &&
	    strcmp(x->media, "text/plain") == 0;
	/* No retry follows: the opened reply goes where the sealed request
	 * was. */
	proxy_thread_lend(t, &t->msg, &t->out);
	if ((rc = reply_ctx(x)) == PS_OK)
		rc = text ? multipart_open_text_reply(&x->r, lookup, x,
		    t->reply.p, t->reply.len, &t->out) :
		    message_open_reply(x->ep, &x->r, lookup, x, t->reply.p,
		    t->reply.len, &t->out);
	if (rc == PS_OK) {
		server_send(x->req, (int)x->status, text ? "text/plain" :
		    "application/json", NULL, t->out.p, t->out.len);
		return PS_OK;
	}
	if (rc == PS_ERR_VERSION)
		log_warn("the worker answered in wire format version 1; this "
		    "client speaks version 2");
	else
		log_warn("the worker side's %ld reply did not authenticate: %s",
		    x->status, pserr_code(rc));
	return PS_ERR_BAD_UPSTREAM;
}

/* The key this request seals with, copied into x: it stays the same for
 * the whole exchange, whatever rotates meanwhile. */
static pserr
get_key(struct exchange *x)
{
	struct client *cl = x->cl;
	int64_t now = (int64_t)time(NULL);

	if (cl->ck != NULL)
		return clientkey_get(cl->ck, now, &x->key);
	keycache_refresh(cl->keys);
	return keycache_newest(cl->keys, now, &x->key);
}

/*
 * Seal the request (its query, and its body or, bodyless, an empty one)
 * under x's key with a fresh nonce, into t->msg.
 */
static pserr
seal_request(struct exchange *x)
{
	static const char hdr[] = "Promptseal-Request: ";
	struct proxy_thread *t = x->t;
	int body = !message_bodyless(x->ep);
	pserr rc;

	buf_reset(&t->msg);
	envelope_init(&x->q, ENVELOPE_REQUEST);
	memcpy(x->q.kid, x->key.kid, ENVELOPE_KID_LEN);
	if ((rc = secret_nonce(x->q.nonce, ENVELOPE_NONCE_LEN)) != PS_OK ||
	    (rc = envelope_bind_request(&x->q, x->method, x->path,
	    x->plen)) != PS_OK ||
	    (rc = envelope_derive(&x->q, x->key.secret)) != PS_OK)
		return rc;
	if (!body && (rc = buf_puts(&t->msg, hdr)) != PS_OK)
		return rc;
	if (multipart_endpoint(x->ep))
		return multipart_seal_request(x->ep, &x->q,
		    (uint64_t)time(NULL), x->query, x->qlen, x->ctype,
		    strlen(x->ctype), t->body.p, t->body.len,
		    x->cl->opts.pad_body, &t->msg);
	return message_seal_request(x->ep, &x->q, (uint64_t)time(NULL),
	    x->query, x->qlen, body ? t->body.p : NULL, body ? t->body.len : 0,
	    x->cl->opts.pad_body, &t->msg);
}

/*
 * Send the sealed request in t->msg; the reply's head and body land in x
 * (a stream is relayed as it comes).  headers has room for one more line
 * at index nh.
 */
static pserr
send_sealed(struct exchange *x, const char **headers, size_t nh)
{
	struct proxy_thread *t = x->t;
	int started = 0, body = !message_bodyless(x->ep);

	buf_reset(&t->reply);
	x->status = 0;
	x->encrypted = -1;
	x->streaming = 0;
	headers[nh] = NULL;
	if (!body) {
		if ((headers[nh] = buf_cstr(&t->msg)) == NULL)
			return PS_ERR_NOMEM;
		headers[nh + 1] = NULL;
	}
	return upstream_request(t->up, x->method, x->target, headers,
	    body ? t->msg.p : NULL, body ? t->msg.len : 0, on_head, on_data, x,
	    &started);
}

/*
 * 1 when the reply is the worker's own 422 unknown_key, or its 503 no_key
 * (it holds no key at all, so not ours either): both mean the key has not
 * reached it.
 */
static int
worker_lacks_key(struct exchange *x)
{
	pserr code;

	if (x->streaming || x->encrypted != 0 ||
	    (x->status != 422 && x->status != 503))
		return 0;
	code = proxy_plain_error_code(x->t->reply.p, x->t->reply.len);
	return (x->status == 422 && code == PS_ERR_UNKNOWN_KEY) ||
	    (x->status == 503 && code == PS_ERR_NO_KEY);
}

/*
 * The keys the client holds at now: *usable unexpired ones, *mtime of
 * their file (0 when unknown).  With an AS the key state is read here, on
 * its own, rather than through clientkey: a probe never rotates or
 * uploads.  Nothing of a key leaves this function.
 */
static void
key_stats(struct client *cl, int64_t now, size_t *usable, int64_t *mtime)
{
	struct keycache_entry *keys = NULL;
	struct privfile_stamp st;
	char why[256];
	size_t n = 0, i;

	if (cl->keys != NULL) {
		keycache_refresh(cl->keys);
		keycache_stats(cl->keys, now, usable, mtime);
		return;
	}
	*usable = 0;
	*mtime = 0;
	if (cl->state_path == NULL ||
	    keyfile_read(cl->state_path, &keys, &n, why, sizeof(why)) != PS_OK)
		return;
	for (i = 0; i < n; i++)
		if (keys[i].expires > now)
			(*usable)++;
	keyfile_entries_free(keys, n);
	privfile_stamp(cl->state_path, &st);
	if (st.err == 0)
		*mtime = (int64_t)st.mtim.tv_sec;
}

/* GET /healthz, GET /metrics: ready with a usable key (pre-shared, or
 * in the key state) and the worker reachable. */
static void
ops(struct client *cl, FCGX_Request *req, enum proxy_ops_route route,
    const char *method)
{
	struct metrics_gauges g;
	size_t usable;
	int64_t mtime, now = (int64_t)time(NULL);
	int up;

	key_stats(cl, now, &usable, &mtime);
	up = upstream_reachable(&cl->opts.upstream) == PS_OK;
	memset(&g, 0, sizeof(g));
	g.keys = (long)usable;
	g.key_age = mtime > 0 ? (now > mtime ? now - mtime : 0) : -1;
	g.keys_from_as = cl->ck != NULL;
	g.ready = usable > 0 && up;
	proxy_ops_answer(req, route, method, &g, up);
}

void
client_handle(void *app, void *ts, FCGX_Request *req)
{
	struct client *cl = app;
	struct proxy_thread *t = ts;
	const char *method = server_param(req, "REQUEST_METHOD");
	const char *uri = server_param(req, "REQUEST_URI");
	const char *auth = server_param(req, "HTTP_AUTHORIZATION");
	const char *apikey = server_param(req, "HTTP_X_API_KEY");
	const char *headers[7];
	char authline[4096], keyline[4096];
	size_t nh = 0, plen;
	struct exchange x;
	enum proxy_ops_route route;
	pserr rc;
	int ep = METRICS_EP_OTHER;

	if ((route = proxy_ops_route(uri)) != PROXY_OPS_NONE) {
		ops(cl, req, route, method);
		return;
	}
	(void)server_status_take();
	memset(&x, 0, sizeof(x));
	x.cl = cl;
	x.t = t;
	x.req = req;
	x.method = method != NULL ? method : "";
	message_target(uri != NULL ? uri : "", &plen, &x.query, &x.qlen);
	if ((rc = message_route(x.method, uri != NULL ? uri : "", plen,
	    &x.ep)) != PS_OK)
		goto fail;
	ep = (int)x.ep;
	/* The path as received (message_route() checked it, id and all) is
	 * bound and forwarded: nothing is decoded (protocol.md section 4). */
	x.path = uri;
	x.plen = plen;
	if (plen >= sizeof(x.target)) {
		rc = PS_ERR_UNKNOWN_ENDPOINT;
		goto fail;
	}
	memcpy(x.target, uri, plen);
	x.target[plen] = '\0';
	/* The query goes inside the seal: check it before anything is read. */
	if (x.qlen > MESSAGE_QUERY_MAX) {
		rc = PS_ERR_QUERY_TOO_LONG;
		goto fail;
	}
	if (x.query == NULL)
		x.query = "";
	if (multipart_endpoint(x.ep)) {
		const char *b;
		size_t blen;

		/* The form is checked whole when it is sealed; only its media
		 * type before the body is read. */
		x.ctype = server_param(req, "CONTENT_TYPE");
		if (x.ctype == NULL || multipart_boundary(x.ctype,
		    strlen(x.ctype), &b, &blen) == PS_ERR_MEDIA_TYPE) {
			rc = PS_ERR_MEDIA_TYPE;
			goto fail;
		}
	} else if (!message_bodyless(x.ep) && !server_is_json(req)) {
		rc = PS_ERR_MEDIA_TYPE;
		goto fail;
	}
	if (!message_bodyless(x.ep)) {
		if ((rc = server_read_body(req, &t->body)) != PS_OK)
			goto fail;
		headers[nh++] = "Content-Type: application/json";
	}
	if ((rc = get_key(&x)) != PS_OK)
		goto fail;
	headers[nh++] = "Promptseal-Version: 2";
	/*
	 * The service provider may bill by the user's API key: Authorization
	 * (OpenAI's SDKs) and x-api-key (Anthropic's) go on as they came.
	 * Nothing else of the user's headers does: one that changes what the
	 * inference server does (anthropic-version, anthropic-beta, ...)
	 * would travel unauthenticated (protocol.md section 4).
	 */
	if (auth != NULL && *auth != '\0') {
		int n = snprintf(authline, sizeof(authline), "Authorization: %s", auth);

		if (n > 0 && (size_t)n < sizeof(authline) &&
		    strpbrk(auth, "\r\n") == NULL)
			headers[nh++] = authline;
	}
	if (apikey != NULL && *apikey != '\0') {
		int n = snprintf(keyline, sizeof(keyline), "x-api-key: %s",
		    apikey);

		if (n > 0 && (size_t)n < sizeof(keyline) &&
		    strpbrk(apikey, "\r\n") == NULL)
			headers[nh++] = keyline;
	}

	if ((rc = seal_request(&x)) == PS_OK) {
		/* Sealed, the user's body is done with: its block takes the
		 * reply. */
		proxy_thread_lend(t, &t->body, &t->reply);
		rc = send_sealed(&x, headers, nh);
	}
	/* The AS may have lost the key, or the worker's keysync not have
	 * fetched it yet: upload it again and retry once (protocol.md
	 * section 6) with the very same sealed bytes, so that a worker that
	 * did run the request (a relay hid its reply) refuses the retry as
	 * replayed rather than running it twice.  Then the answer goes to
	 * the user as it came. */
	if (rc == PS_OK && cl->ck != NULL && worker_lacks_key(&x)) {
		log_info("the worker does not know the key: uploading it again "
		    "and retrying once");
		if (clientkey_reupload(cl->ck, &x.key, (int64_t)time(NULL)) ==
		    PS_OK)
			rc = send_sealed(&x, headers, nh);
	}
	if (x.streaming) {
		metrics_stream_end(rc == PS_OK);
		if (rc == PS_ERR_IO)
			log_debug("user went away during the stream");
		else if (rc != PS_OK) {
			if (stream_error(&x.s, rc == PS_ERR_TIMEOUT ?
			    PS_ERR_TIMEOUT : PS_ERR_UPSTREAM) != PS_OK)
				log_debug("user went away during the stream");
		} else if (stream_open_finish(&x.s) != PS_OK)
			log_debug("user went away during the stream");
		proxy_stream_end(&x.sink);
		stream_free(&x.s);
		goto out;
	}
	if (rc == PS_ERR_TOO_LARGE) {
		log_warn("reply over --max-reply");
		rc = PS_ERR_BAD_UPSTREAM;
	}
	if (rc != PS_OK || (rc = relay_reply(&x)) != PS_OK)
		goto fail;
	goto out;
fail:
	if (rc == PS_ERR_IO) {
		log_debug("connection to the web server broke");
		goto out;
	}
	log_info("request refused: %d %s", pserr_status(rc), pserr_code(rc));
	proxy_send_error(req, rc);
out:
	metrics_request(ep, server_status_take());
	secret_wipe(&x.key, sizeof(x.key));
	envelope_wipe(&x.q);
	envelope_wipe(&x.r);
	secret_wipe(authline, sizeof(authline));
	secret_wipe(keyline, sizeof(keyline));
	proxy_thread_clean(t);
}

void
client_background(void *app, int stop_fd)
{
	struct client *cl = app;
	struct pollfd p;
	int r, rotated;

	if (cl->ck == NULL)
		return;
	for (;;) {
		rotated = 0;
		if (clientkey_tick(cl->ck, (int64_t)time(NULL), &rotated) != PS_OK)
			log_debug("key rotation not done; next check in a second");
		if (rotated)
			metrics_rotation();
		p.fd = stop_fd;
		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, 1000);
		if (r > 0 || (r < 0 && errno != EINTR))
			return;
	}
}

pserr
client_as_upload(void *arg, const struct keycache_entry *key,
    int64_t *expires, char *why, size_t whylen)
{
	struct client_as *ca = arg;
	pserr rc;

	rc = asclient_upload(ca->as, ca->token, key->kid, key->secret,
	    key->expires, expires);
	metrics_upload(rc == PS_OK);
	if (rc != PS_OK)
		snprintf(why, whylen, "%s", asclient_error(ca->as)[0] ?
		    asclient_error(ca->as) : pserr_str(rc));
	return rc;
}
