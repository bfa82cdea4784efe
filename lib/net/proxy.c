/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "core/log.h"
#include "core/options.h"
#include "net/proxy.h"
#include "seal/jscan.h"
#include "seal/message.h"

void
proxy_opts_init(struct proxy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->server.threads = 8;
	o->server.backlog = 1024;
	o->server.stop_seconds = 10;
	o->upstream.connect_timeout_ms = 5000;
	o->upstream.idle_timeout_s = 300;
	o->max_body = PS_CAP_BODY_DEFAULT;
	o->max_reply = PS_CAP_REPLY_DEFAULT;
	o->max_line = PS_CAP_LINE_DEFAULT;
	o->log_level = LOG_INFO;
}

int
proxy_opts_apply(struct proxy_opts *o, int opt, const char *arg)
{
	long v;

	switch (opt) {
	case PROXY_OPT_SOCKET:
		o->server.socket_path = arg;
		return 1;
	case PROXY_OPT_THREADS:
		if (options_long(arg, 1, 1024, &v) != PS_OK)
			goto bad;
		o->server.threads = (int)v;
		return 1;
	case PROXY_OPT_MAX_BODY:
		if (options_size(arg, PS_CAP_BODY_LIMIT, &o->max_body) != PS_OK)
			goto bad;
		return 1;
	case PROXY_OPT_MAX_REPLY:
		if (options_size(arg, PS_CAP_REPLY_LIMIT, &o->max_reply) != PS_OK)
			goto bad;
		return 1;
	case PROXY_OPT_UPSTREAM_TIMEOUT:
		if (options_long(arg, 1, 86400, &v) != PS_OK)
			goto bad;
		o->upstream.idle_timeout_s = v;
		return 1;
	case PROXY_OPT_CONNECT_TIMEOUT:
		if (options_long(arg, 1, 600000, &v) != PS_OK)
			goto bad;
		o->upstream.connect_timeout_ms = v;
		return 1;
	case PROXY_OPT_LOG_LEVEL:
		if ((v = log_level_parse(arg)) < 0)
			goto bad;
		o->log_level = (int)v;
		return 1;
	case PROXY_OPT_PAD_BODY:
		/* 0 is allowed here: no padding. */
		if (strcmp(arg, "0") == 0) {
			o->pad_body = 0;
			return 1;
		}
		if (options_size(arg, ENVELOPE_BUCKET_MAX, &o->pad_body) !=
		    PS_OK)
			goto bad;
		return 1;
	default:
		return 0;
	}
bad:
	fprintf(stderr, "bad option value: %s\n", arg);
	return -1;
}

static size_t
sealed_max(size_t n, size_t bucket)
{
	size_t slack = 2 * bucket + (1u << 20);

	if (n > (SIZE_MAX - slack) / 7 * 3)
		return SIZE_MAX;
	return n / 3 * 7 + slack;
}

struct proxy_thread *
proxy_thread_new(const struct proxy_opts *o, unsigned wire)
{
	struct proxy_thread *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (upstream_new(&o->upstream, &t->up) != PS_OK) {
		free(t);
		return NULL;
	}
	/* A sealed body is 4/3 of the padded original, plus the copies of
	 * its plain members (never more than the original) and a header. */
	buf_init(&t->body, o->max_body);
	buf_init(&t->msg, sealed_max(o->max_body, o->pad_body));
	buf_init(&t->reply, o->max_reply);
	buf_init(&t->out, sealed_max(o->max_reply, o->pad_body));
	t->wire = wire;
	return t;
}

static void
clean(struct buf *b, int wire)
{
	if (!wire) {
		if (b->cap > PS_CAP_KEEP)
			buf_free(b);
		else
			buf_reset(b);
		return;
	}
	if (b->cap > PS_CAP_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
	b->len = 0;
}

static int
is_wire(const struct proxy_thread *t, const struct buf *b)
{
	unsigned bit = b == &t->body ? PROXY_WIRE_BODY :
	    b == &t->msg ? PROXY_WIRE_MSG :
	    b == &t->reply ? PROXY_WIRE_REPLY : PROXY_WIRE_OUT;

	return (t->wire & bit) != 0;
}

void
proxy_thread_lend(struct proxy_thread *t, struct buf *from, struct buf *to)
{
	if (to->p != NULL || from->p == NULL ||
	    t->nlent == sizeof(t->lent) / sizeof(t->lent[0]))
		return;
	if (!is_wire(t, from))
		buf_reset(from);
	to->p = from->p;
	to->cap = from->cap;
	to->len = 0;
	from->p = NULL;
	from->cap = 0;
	from->len = 0;
	t->lent[t->nlent][0] = from;
	t->lent[t->nlent][1] = to;
	t->nlent++;
}

void
proxy_thread_clean(struct proxy_thread *t)
{
	clean(&t->body, t->wire & PROXY_WIRE_BODY);
	clean(&t->msg, t->wire & PROXY_WIRE_MSG);
	clean(&t->reply, t->wire & PROXY_WIRE_REPLY);
	clean(&t->out, t->wire & PROXY_WIRE_OUT);
	/* Emptied (and wiped by their use) above; clean() freed any block
	 * too large to keep. */
	while (t->nlent > 0) {
		struct buf *from = t->lent[t->nlent - 1][0];
		struct buf *to = t->lent[t->nlent - 1][1];

		t->nlent--;
		if (from->p == NULL) {
			from->p = to->p;
			from->cap = to->cap;
			to->p = NULL;
			to->cap = 0;
		}
	}
	envelope_thread_wipe();
}

void
proxy_reply_presize(struct proxy_thread *t, long long length)
{
	if (length > 0 && (unsigned long long)length <= t->reply.max &&
	    buf_reserve(&t->reply, (size_t)length) != PS_OK)
		log_debug("cannot reserve a reply of %lld bytes", length);
}

void
proxy_send_error(FCGX_Request *req, pserr rc)
{
	metrics_error(rc);
	server_send_error(req, rc, PROXY_VERSION_HEADER);
}

void
proxy_thread_free(struct proxy_thread *t)
{
	if (t == NULL)
		return;
	buf_free(&t->body);
	buf_free(&t->msg);
	buf_free(&t->reply);
	buf_free(&t->out);
	upstream_free(t->up);
	free(t);
}

pserr
proxy_sink_emit(void *arg, const char *p, size_t n, int flush)
{
	struct proxy_sink *k = arg;

	if (n > 0 && FCGX_PutStr(p, (int)n, k->req->out) != (int)n)
		return PS_ERR_IO;
	/* Counted at the flush: one shared counter per read, not per event. */
	if (flush)
		k->pending++;
	return PS_OK;
}

pserr
proxy_stream_flush(struct proxy_sink *k)
{
	if (k->pending == 0)
		return PS_OK;
	metrics_stream_events(k->pending);
	k->pending = 0;
	return FCGX_FFlush(k->req->out) == 0 ? PS_OK : PS_ERR_IO;
}

void
proxy_stream_end(struct proxy_sink *k)
{
	metrics_stream_events(k->pending);
	k->pending = 0;
}

pserr
proxy_stream_begin(struct proxy_sink *k, FCGX_Request *req,
    const char *headers)
{
	char h[256];

	snprintf(h, sizeof(h), "Cache-Control: no-cache\r\n%s",
	    headers != NULL ? headers : "");
	server_head(req, 200, "text/event-stream", h);
	k->req = req;
	k->pending = 0;
	if (FCGX_FFlush(req->out) != 0)
		return PS_ERR_IO;
	return PS_OK;
}

int
proxy_is_sse(const char *ct)
{
	char m[sizeof("text/event-stream")];

	/* Read as the media type the reply is bound to is read: a
	 * Content-Type taken for a stream is one whose events can open. */
	return message_media_type(ct, m, sizeof(m)) >= 0 &&
	    strcmp(m, "text/event-stream") == 0;
}

int
proxy_media_type(const char *ct, char *out, size_t outlen)
{
	return message_media_type(ct, out, outlen);
}

/* The value of the last member called name (plain, unescaped) of the
 * object json, or NULL. */
static const char *
member(const char *json, size_t len, const char *name, size_t *vlen)
{
	struct jscan_object it;
	struct jscan_member m;
	const char *v = NULL;
	int more;

	if (jscan_object_begin(&it, json, len) != PS_OK)
		return NULL;
	for (;;) {
		if (jscan_object_next(&it, &m, &more) != PS_OK)
			return NULL;
		if (!more)
			return v;
		if (!m.name_escaped && m.name_len == strlen(name) &&
		    memcmp(m.name, name, m.name_len) == 0) {
			v = m.value;
			*vlen = m.value_len;
		}
	}
}

pserr
proxy_plain_error_code(const char *body, size_t len)
{
	const char *err, *code;
	size_t elen = 0, clen = 0;

	if (body == NULL || len > 65536 ||
	    (err = member(body, len, "error", &elen)) == NULL ||
	    (code = member(err, elen, "code", &clen)) == NULL)
		return PS_OK;
	/* A code is a plain ASCII string: an escape in it is not ours. */
	if (clen < 2 || code[0] != '"' || memchr(code, '\\', clen) != NULL)
		return PS_OK;
	return pserr_from_code(code + 1, clen - 2);
}

enum proxy_ops_route
proxy_ops_route(const char *uri)
{
	if (uri == NULL)
		return PROXY_OPS_NONE;
	if (strcmp(uri, "/healthz") == 0)
		return PROXY_OPS_HEALTH;
	if (strcmp(uri, "/metrics") == 0)
		return PROXY_OPS_METRICS;
	return PROXY_OPS_NONE;
}

void
proxy_ops_answer(FCGX_Request *req, enum proxy_ops_route route,
    const char *method, const struct metrics_gauges *g, int upstream_ok)
{
	static const char text[] = "text/plain; version=0.0.4; charset=utf-8";
	struct buf b;
	char json[160];
	int n;

	if (method == NULL || (strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0)) {
		proxy_send_error(req, PS_ERR_METHOD);
		return;
	}
	if (route == PROXY_OPS_HEALTH) {
		n = snprintf(json, sizeof(json), "{\"status\":\"%s\",\"keys\":%ld,"
		    "\"upstream\":%s}\n", g->ready ? "ready" : "not_ready",
		    g->keys, upstream_ok ? "true" : "false");
		if (n < 0 || (size_t)n >= sizeof(json))
			n = 0;
		server_send(req, g->ready ? 200 : 503, "application/json",
		    "Cache-Control: no-store\r\n", json, (size_t)n);
		return;
	}
	buf_init(&b, 1u << 20);
	if (metrics_write(&b, g) != PS_OK) {
		buf_free(&b);
		proxy_send_error(req, PS_ERR_NOMEM);
		return;
	}
	server_send(req, 200, text, "Cache-Control: no-store\r\n",
	    b.p != NULL ? b.p : "", b.len);
	buf_free(&b);
}
