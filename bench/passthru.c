/* SPDX-License-Identifier: ISC */
/*
 * bench/passthru: a FastCGI responder that relays each request to its
 * next hop unchanged and its reply back unchanged: no key, no seal, no
 * check.  Two of them, in the places of promptseal-client and
 * promptseal-worker, make the benchmark's "passthru" chain: the same web
 * servers, the same number of hops and the same hop code as the
 * encrypted chain (lib/net: server_run's threads, server_read_body,
 * libcurl through upstream_request, the stream relay with one flush per
 * read), so passthru/plain is the cost of the FastCGI architecture and
 * enc/passthru the cost of promptseal's own work.
 *
 *   passthru --upstream URL|unix:PATH [--socket PATH] [--threads N]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "core/log.h"
#include "net/proxy.h"
#include "net/server.h"
#include "net/upstream.h"

struct relay {
	FCGX_Request *req;
	struct proxy_thread *t;
	long status;
	char ctype[128];
	int streaming;
	struct proxy_sink sink;
};

static struct proxy_opts opts;

static pserr
on_head(void *arg, const struct upstream_reply *r)
{
	struct relay *x = arg;

	x->status = r->status;
	snprintf(x->ctype, sizeof(x->ctype), "%s", r->content_type);
	if (!proxy_is_sse(r->content_type)) {
		proxy_reply_presize(x->t, r->length);
		return PS_OK;
	}
	x->streaming = 1;
	return proxy_stream_begin(&x->sink, x->req, NULL);
}

static pserr
on_data(void *arg, const char *p, size_t n)
{
	struct relay *x = arg;

	if (!x->streaming)
		return buf_append(&x->t->reply, p, n);
	/* As the proxies do: written as it comes, flushed once per read. */
	if (FCGX_PutStr(p, (int)n, x->req->out) != (int)n)
		return PS_ERR_IO;
	x->sink.pending = 1;
	return proxy_stream_flush(&x->sink);
}

static void *
thread_init(void *app)
{
	(void)app;
	/* It relays plaintext both ways: every buffer is wiped. */
	return proxy_thread_new(&opts, 0);
}

static void
thread_fini(void *app, void *ts)
{
	(void)app;
	proxy_thread_free(ts);
}

static void
handle(void *app, void *ts, FCGX_Request *req)
{
	struct proxy_thread *t = ts;
	const char *method = server_param(req, "REQUEST_METHOD");
	const char *uri = server_param(req, "REQUEST_URI");
	const char *ct = server_param(req, "CONTENT_TYPE");
	const char *headers[2] = { NULL, NULL };
	char ctline[256];
	struct relay x;
	int started = 0, post;
	pserr rc;

	(void)app;
	memset(&x, 0, sizeof(x));
	x.req = req;
	x.t = t;
	x.sink.req = req;
	method = method != NULL ? method : "GET";
	post = strcmp(method, "POST") == 0;
	if (post && (rc = server_read_body(req, &t->body)) != PS_OK)
		goto fail;
	if (ct != NULL && strpbrk(ct, "\r\n") == NULL &&
	    snprintf(ctline, sizeof(ctline), "Content-Type: %s", ct) <
	    (int)sizeof(ctline))
		headers[0] = ctline;
	rc = upstream_request(t->up, post ? "POST" : "GET",
	    uri != NULL ? uri : "/", headers, t->body.p, t->body.len, on_head,
	    on_data, &x, &started);
	if (x.streaming)
		goto out;
	if (rc != PS_OK)
		goto fail;
	server_send(req, (int)x.status, x.ctype[0] ? x.ctype :
	    "application/octet-stream", NULL, t->reply.p, t->reply.len);
	goto out;
fail:
	server_send_error(req, rc, NULL);
out:
	proxy_thread_clean(t);
}

int
main(int argc, char **argv)
{
	struct server_app a;
	const char *up = NULL;
	int i;

	proxy_opts_init(&opts);
	opts.server.threads = 16;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--upstream") == 0)
			up = argv[i + 1];
		else if (strcmp(argv[i], "--socket") == 0)
			opts.server.socket_path = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			opts.server.threads = atoi(argv[i + 1]);
	}
	if (up == NULL || opts.server.threads < 1) {
		fprintf(stderr, "usage: passthru --upstream URL|unix:PATH "
		    "[--socket PATH] [--threads N]\n");
		return 2;
	}
	if (strncmp(up, "unix:", 5) == 0) {
		opts.upstream.base_url = "http://localhost";
		opts.upstream.unix_path = up + 5;
	} else
		opts.upstream.base_url = up;
	log_setup("passthru", LOG_WARN);
	if (upstream_global_init() != PS_OK)
		return 1;
	memset(&a, 0, sizeof(a));
	a.handle = handle;
	a.thread_init = thread_init;
	a.thread_fini = thread_fini;
	return server_run(&opts.server, &a);
}
