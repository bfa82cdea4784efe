#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "core/log.h"
#include "core/secret.h"
#include "net/server.h"
#include "seal/message.h"
#include "seal/stream.h"
#include "client.h"

/* One exchange: the reply must authenticate under this request's kid and
 * nonce, in the response direction. */
struct exchange {
	struct client *cl;
	struct proxy_thread *t;
	FCGX_Request *req;
	enum message_endpoint ep;
	struct keycache_entry key;
	struct envelope_ctx c;
	long status;
	int encrypted;
	int streaming;
	struct stream s;
	struct proxy_sink sink;
};

void *
client_thread_init(void *app)
{
	struct client *cl = app;

	return proxy_thread_new(&cl->opts);
}

void
client_thread_fini(void *app, void *ts)
{
	proxy_thread_free(ts);
}

static pserr
on_head(void *arg, const struct upstream_reply *r)
{
	struct exchange *x = arg;

	x->status = r->status;
	x->encrypted = r->encrypted;
	/* Only an encrypted 2xx stream is relayed as a stream; every event
	 * of it is checked before the user sees it. */
	if (!PROXY_OK_STATUS(r->status) || !proxy_is_sse(r->content_type) ||
	    r->encrypted == 0)
		return PS_OK;
	x->streaming = 1;
	return proxy_stream_begin(&x->sink, x->req, NULL, &x->s, x->ep, &x->c,
	    x->cl->opts.max_line);
}

static pserr
on_data(void *arg, const char *p, size_t n)
{
	struct exchange *x = arg;
	pserr rc;

	if (x->streaming) {
		if ((rc = stream_open_feed(&x->s, p, n)) != PS_OK)
			return rc;
		return proxy_stream_flush(&x->sink);
	}
	return buf_append(&x->t->reply, p, n);
}

/*
 * A reply the worker marked as its own plain error: shown to the user as
 * an error, never as output.  Only the OpenAI error shape with a non-2xx
 * status is accepted; its strings are re-serialized, not copied.
 */
static pserr
relay_plain_error(struct exchange *x)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL, *err, *v, *out = NULL, *e2;
	const char *text;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	if (PROXY_OK_STATUS(x->status) || x->status < 400 || x->status > 599)
		goto out;
	if ((tok = json_tokener_new()) == NULL)
		goto out;
	root = json_tokener_parse_ex(tok, x->t->reply.p, (int)x->t->reply.len);
	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "error", &err) ||
	    !json_object_is_type(err, json_type_object))
		goto out;
	if ((out = json_object_new_object()) == NULL ||
	    (e2 = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(out, "error", e2);
	json_object_object_foreach(err, name, val) {
		(void)val;
		if (strcmp(name, "message") != 0 && strcmp(name, "type") != 0 &&
		    strcmp(name, "code") != 0)
			continue;
		if (!json_object_object_get_ex(err, name, &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		json_object_object_add(e2, name,
		    json_object_new_string(json_object_get_string(v)));
	}
	text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	server_send(x->req, (int)x->status, "application/json",
	    "Promptseal-Encrypted: false\r\n", text, strlen(text));
	rc = PS_OK;
out:
	json_object_put(out);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/* A whole reply: decrypted when it authenticates for this very request,
 * else an error; never passed on unchecked. */
static pserr
relay_reply(struct exchange *x)
{
	struct proxy_thread *t = x->t;
	pserr rc;

	if (x->encrypted == 0)
		return relay_plain_error(x);
	rc = message_open(x->ep, &x->c, NULL, NULL, t->reply.p, t->reply.len,
	    &t->out);
	if (rc == PS_OK) {
		server_send(x->req, (int)x->status, "application/json", NULL,
		    t->out.p, t->out.len);
		return PS_OK;
	}
	if (PROXY_OK_STATUS(x->status) || rc == PS_ERR_DECRYPT)
		return PS_ERR_BAD_UPSTREAM;
	/* A non-2xx page that is not ours (the worker's web server answered
	 * for it): the next hop is not there. */
	log_warn("worker side answered %ld without an encrypted body", x->status);
	return x->status == 504 ? PS_ERR_TIMEOUT : PS_ERR_UPSTREAM;
}

/* The key this request encrypts with, copied into x: it stays the same
 * for the whole exchange, whatever rotates meanwhile. */
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
 * Seal the request body under x's key with a fresh nonce and send it; the
 * reply's head and body land in x (a stream is relayed as it comes).
 */
static pserr
send_once(struct exchange *x, const char *uri, const char *const *headers)
{
	struct proxy_thread *t = x->t;
	int started = 0;
	pserr rc;

	buf_reset(&t->msg);
	buf_reset(&t->reply);
	x->status = 0;
	x->encrypted = -1;
	x->streaming = 0;
	x->c.key = x->key.secret;
	memcpy(x->c.kid, x->key.kid, ENVELOPE_KID_LEN);
	x->c.msg = 0;
	x->c.final = 0;
	if ((rc = secret_random(x->c.nonce, ENVELOPE_NONCE_LEN)) != PS_OK)
		return rc;
	x->c.dir = ENVELOPE_REQUEST;
	if ((rc = message_seal(x->ep, &x->c, t->body.p, t->body.len,
	    &t->msg)) != PS_OK)
		return rc;
	x->c.dir = ENVELOPE_RESPONSE;
	return upstream_request(t->up, "POST", uri, headers, t->msg.p,
	    t->msg.len, on_head, on_data, x, &started);
}

/*
 * 1 when the reply is the worker's own 422 unknown_key, or its 503 no_key
 * (it holds no key at all, so not ours either): both mean the key has not
 * reached it.
 */
static int
worker_lacks_key(struct exchange *x)
{
	struct json_tokener *tok;
	struct json_object *root = NULL, *err, *code;
	const char *want = x->status == 422 ? "unknown_key" : "no_key";
	int yes = 0;

	if (x->streaming || (x->status != 422 && x->status != 503) ||
	    x->encrypted != 0 || x->t->reply.len == 0 ||
	    (tok = json_tokener_new()) == NULL)
		return 0;
	root = json_tokener_parse_ex(tok, x->t->reply.p, (int)x->t->reply.len);
	if (root != NULL && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "error", &err) &&
	    json_object_is_type(err, json_type_object) &&
	    json_object_object_get_ex(err, "code", &code) &&
	    json_object_is_type(code, json_type_string) &&
	    strcmp(json_object_get_string(code), want) == 0)
		yes = 1;
	json_object_put(root);
	json_tokener_free(tok);
	return yes;
}

void
client_handle(void *app, void *ts, FCGX_Request *req)
{
	struct client *cl = app;
	struct proxy_thread *t = ts;
	const char *method = server_param(req, "REQUEST_METHOD");
	const char *uri = server_param(req, "REQUEST_URI");
	const char *auth = server_param(req, "HTTP_AUTHORIZATION");
	const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
	char authline[4096];
	struct exchange x;
	pserr rc;

	memset(&x, 0, sizeof(x));
	x.cl = cl;
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
	if ((rc = get_key(&x)) != PS_OK)
		goto fail;
	/* The service provider may bill by the user's API key. */
	if (auth != NULL && *auth != '\0') {
		int n = snprintf(authline, sizeof(authline), "Authorization: %s", auth);

		if (n > 0 && (size_t)n < sizeof(authline) &&
		    strpbrk(auth, "\r\n") == NULL)
			headers[1] = authline;
	}

	rc = send_once(&x, uri, headers);
	/* The AS may have lost the key, or the worker's keysync not have
	 * fetched it yet: upload it again and retry once (protocol.md
	 * section 6).  Then the answer goes to the user as it came. */
	if (rc == PS_OK && cl->ck != NULL && worker_lacks_key(&x)) {
		log_info("the worker does not know the key: uploading it again "
		    "and retrying once");
		if (clientkey_reupload(cl->ck, &x.key, (int64_t)time(NULL)) ==
		    PS_OK)
			rc = send_once(&x, uri, headers);
	}
	if (x.streaming) {
		if (rc == PS_ERR_IO)
			log_debug("user went away during the stream");
		else if (rc != PS_OK) {
			if (!x.s.failed && !x.s.done &&
			    stream_error(&x.s, PS_ERR_UPSTREAM) != PS_OK)
				log_debug("user went away during the stream");
		} else if (stream_open_finish(&x.s) != PS_OK)
			log_debug("user went away during the stream");
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
	server_send_error(req, rc);
out:
	secret_wipe(&x.key, sizeof(x.key));
	secret_wipe(&x.c, sizeof(x.c));
	secret_wipe(authline, sizeof(authline));
	proxy_thread_clean(t);
}

void
client_background(void *app, int stop_fd)
{
	struct client *cl = app;
	struct pollfd p;
	int r;

	if (cl->ck == NULL)
		return;
	for (;;) {
		if (clientkey_tick(cl->ck, (int64_t)time(NULL), NULL) != PS_OK)
			log_debug("key rotation not done; next check in a second");
		p.fd = stop_fd;
		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, 1000);
		if (r > 0 || (r < 0 && errno != EINTR))
			return;
	}
}

pserr
client_as_upload(void *arg, const struct keycache_entry *key, int64_t ttl,
    int64_t *expires, char *why, size_t whylen)
{
	struct client_as *ca = arg;
	pserr rc;

	rc = asclient_upload(ca->as, ca->token, key->kid, key->secret, ttl,
	    expires);
	if (rc != PS_OK)
		snprintf(why, whylen, "%s", asclient_error(ca->as)[0] ?
		    asclient_error(ca->as) : pserr_str(rc));
	return rc;
}
