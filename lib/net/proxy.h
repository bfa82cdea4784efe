/*
 * proxy: what the client and the worker proxy share: their common options,
 * the per-thread state (one upstream connection, reusable buffers) and the
 * relay of GET /v1/models, which carries no user data.
 */
#ifndef PROMPTSEAL_PROXY_H
#define PROMPTSEAL_PROXY_H

#include <getopt.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "net/server.h"
#include "net/upstream.h"
#include "seal/stream.h"

struct proxy_opts {
	struct server_opts server;
	struct upstream_cfg upstream;
	size_t max_body;      /* request body limit (413 past it) */
	size_t max_reply;     /* non-streamed reply limit */
	size_t max_line;      /* longest SSE line */
	int log_level;
};

/* Long options every proxy takes; the caller's own options follow them
 * with codes from 0x200 on. */
enum proxy_opt {
	PROXY_OPT_SOCKET = 0x100,
	PROXY_OPT_THREADS,
	PROXY_OPT_MAX_BODY,
	PROXY_OPT_MAX_REPLY,
	PROXY_OPT_UPSTREAM_TIMEOUT,
	PROXY_OPT_CONNECT_TIMEOUT,
	PROXY_OPT_LOG_LEVEL,
};

#define PROXY_LONG_OPTIONS \
	{"socket", required_argument, NULL, PROXY_OPT_SOCKET}, \
	{"threads", required_argument, NULL, PROXY_OPT_THREADS}, \
	{"max-body", required_argument, NULL, PROXY_OPT_MAX_BODY}, \
	{"max-reply", required_argument, NULL, PROXY_OPT_MAX_REPLY}, \
	{"upstream-timeout", required_argument, NULL, \
	    PROXY_OPT_UPSTREAM_TIMEOUT}, \
	{"connect-timeout", required_argument, NULL, PROXY_OPT_CONNECT_TIMEOUT}, \
	{"log-level", required_argument, NULL, PROXY_OPT_LOG_LEVEL}

#define PROXY_HELP \
"  --socket PATH            listen on this UNIX socket (default: the socket\n" \
"                           on fd 0, as passed by spawn-fcgi, lighttpd's\n" \
"                           bin-path or mod_fcgid)\n" \
"  --threads N              request threads (default 8)\n" \
"  --max-body SIZE          largest request body, e.g. 512K, 10M (default 10M)\n" \
"  --max-reply SIZE         largest non-streamed reply (default 32M)\n" \
"  --upstream-timeout SECS  give up when the next hop is silent this long\n" \
"                           (default 300)\n" \
"  --connect-timeout MS     connection set-up limit (default 5000)\n" \
"  --log-level LEVEL        error, warn, info or debug (default info)\n"

/* Fill o with the defaults above. */
void proxy_opts_init(struct proxy_opts *o);

/* Apply common option opt with value arg.  Returns 1 when handled, 0 when
 * opt is not a common option, -1 for a bad value (reported on stderr). */
int proxy_opts_apply(struct proxy_opts *o, int opt, const char *arg);

struct proxy_thread {
	struct upstream *up;
	struct buf body;     /* request body as received */
	struct buf msg;      /* request body as forwarded */
	struct buf reply;    /* reply as received */
	struct buf out;      /* reply as sent */
};

/* Per-thread state for a server_app's thread_init; NULL on failure. */
struct proxy_thread *proxy_thread_new(const struct proxy_opts *o);
void proxy_thread_free(struct proxy_thread *t);

/* After each request: wipe every buffer and give back large ones, so an
 * idle thread holds no request data and little memory. */
void proxy_thread_clean(struct proxy_thread *t);

/* Relay GET /v1/models to the next hop and its reply back as it is. */
void proxy_relay_models(struct proxy_thread *t, FCGX_Request *req);

/* Where a relayed stream's events go. */
struct proxy_sink {
	FCGX_Request *req;
	int pending;          /* events written since the last flush */
};

/*
 * Answer req with a 200 event stream: write the head (headers: extra
 * header lines or NULL), flush it, and set s up to write each complete
 * event through k into req.  PS_ERR_IO when the web server is gone.
 */
pserr proxy_stream_begin(struct proxy_sink *k, FCGX_Request *req,
    const char *headers, struct stream *s, enum message_endpoint ep,
    const struct envelope_ctx *c, size_t max_line) PS_WARN_UNUSED;

/*
 * Flush the events written since the last call.  Called after each chunk
 * of upstream input: events that arrived together leave together, in one
 * write, and none waits for input that has not come yet.
 */
pserr proxy_stream_flush(struct proxy_sink *k) PS_WARN_UNUSED;

/* 1 when content_type is text/event-stream (parameters allowed). */
int proxy_is_sse(const char *content_type);

/* 1 when status is 2xx. */
#define PROXY_OK_STATUS(s) ((s) >= 200 && (s) < 300)

#endif
