#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/caps.h"
#include "core/log.h"
#include "core/options.h"
#include "net/proxy.h"

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
	default:
		return 0;
	}
bad:
	fprintf(stderr, "bad option value: %s\n", arg);
	return -1;
}

struct proxy_thread *
proxy_thread_new(const struct proxy_opts *o)
{
	struct proxy_thread *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (upstream_new(&o->upstream, &t->up) != PS_OK) {
		free(t);
		return NULL;
	}
	/* An encrypted body is about 4/3 of the plain one plus headers. */
	buf_init(&t->body, o->max_body);
	buf_init(&t->msg, o->max_body / 3 * 4 + (1u << 20));
	buf_init(&t->reply, o->max_reply);
	buf_init(&t->out, o->max_reply / 3 * 4 + (1u << 20));
	return t;
}

static void
clean(struct buf *b)
{
	if (b->cap > PS_CAP_KEEP)
		buf_free(b);
	else
		buf_reset(b);
}

void
proxy_thread_clean(struct proxy_thread *t)
{
	clean(&t->body);
	clean(&t->msg);
	clean(&t->reply);
	clean(&t->out);
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

static pserr
emit(void *arg, const char *p, size_t n, int flush)
{
	struct proxy_sink *k = arg;

	if (n > 0 && FCGX_PutStr(p, (int)n, k->req->out) != (int)n)
		return PS_ERR_IO;
	if (flush)
		k->pending = 1;
	return PS_OK;
}

pserr
proxy_stream_flush(struct proxy_sink *k)
{
	if (!k->pending)
		return PS_OK;
	k->pending = 0;
	return FCGX_FFlush(k->req->out) == 0 ? PS_OK : PS_ERR_IO;
}

pserr
proxy_stream_begin(struct proxy_sink *k, FCGX_Request *req,
    const char *headers, struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, size_t max_line)
{
	char h[256];

	snprintf(h, sizeof(h), "Cache-Control: no-cache\r\n%s",
	    headers != NULL ? headers : "");
	server_head(req, 200, "text/event-stream", h);
	if (FCGX_FFlush(req->out) != 0)
		return PS_ERR_IO;
	k->req = req;
	k->pending = 0;
	stream_init(s, ep, c, max_line, emit, k);
	return PS_OK;
}

int
proxy_is_sse(const char *ct)
{
	size_t n = sizeof("text/event-stream") - 1;

	return strncasecmp(ct, "text/event-stream", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

struct models {
	struct proxy_thread *t;
	long status;
	char ctype[128];
};

static pserr
models_head(void *arg, const struct upstream_reply *r)
{
	struct models *m = arg;

	m->status = r->status;
	snprintf(m->ctype, sizeof(m->ctype), "%s",
	    *r->content_type ? r->content_type : "application/json");
	return PS_OK;
}

static pserr
models_data(void *arg, const char *p, size_t n)
{
	struct models *m = arg;

	return buf_append(&m->t->reply, p, n);
}

void
proxy_relay_models(struct proxy_thread *t, FCGX_Request *req)
{
	struct models m = {t, 0, ""};
	const char *uri = server_param(req, "REQUEST_URI");
	pserr rc;
	int started;

	rc = upstream_request(t->up, "GET", uri, NULL, NULL, 0, models_head,
	    models_data, &m, &started);
	if (rc == PS_ERR_TOO_LARGE)
		rc = PS_ERR_BAD_UPSTREAM;
	if (rc != PS_OK) {
		server_send_error(req, rc);
		return;
	}
	if (m.status < 200 || m.status > 599 || strchr(m.ctype, '\r') ||
	    strchr(m.ctype, '\n')) {
		server_send_error(req, PS_ERR_BAD_UPSTREAM);
		return;
	}
	server_send(req, (int)m.status, m.ctype, NULL, t->reply.p, t->reply.len);
}
