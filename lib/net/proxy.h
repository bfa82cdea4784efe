/* SPDX-License-Identifier: ISC */
/*
 * proxy: what the client and the worker proxy share: their common options,
 * the per-thread state (one upstream connection, reusable buffers), their
 * own error replies, and the head of a relayed stream.
 */
#ifndef PROMPTSEAL_PROXY_H
#define PROMPTSEAL_PROXY_H

#include <getopt.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "net/metrics.h"
#include "net/server.h"
#include "net/upstream.h"
#include "seal/stream.h"

struct proxy_opts {
	struct server_opts server;
	struct upstream_cfg upstream;
	size_t max_body;      /* request body limit (413 past it) */
	size_t max_reply;     /* non-streamed reply limit */
	size_t max_line;      /* longest SSE event */
	size_t pad_body;      /* padding bucket of the bodies this proxy seals */
	int log_level;
};

/* Sent on every request and reply between the proxies (protocol.md
 * section 0). */
#define PROXY_VERSION_HEADER "Promptseal-Version: 2\r\n"

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
	PROXY_OPT_PAD_BODY,
};

#define PROXY_LONG_OPTIONS \
	{"socket", required_argument, NULL, PROXY_OPT_SOCKET}, \
	{"threads", required_argument, NULL, PROXY_OPT_THREADS}, \
	{"max-body", required_argument, NULL, PROXY_OPT_MAX_BODY}, \
	{"max-reply", required_argument, NULL, PROXY_OPT_MAX_REPLY}, \
	{"upstream-timeout", required_argument, NULL, \
	    PROXY_OPT_UPSTREAM_TIMEOUT}, \
	{"connect-timeout", required_argument, NULL, PROXY_OPT_CONNECT_TIMEOUT}, \
	{"log-level", required_argument, NULL, PROXY_OPT_LOG_LEVEL}, \
	{"pad-body", required_argument, NULL, PROXY_OPT_PAD_BODY}

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
"  --log-level LEVEL        error, warn, info or debug (default info)\n" \
"  --pad-body BYTES         pad the bodies this proxy seals (requests on the\n" \
"                           client, replies on the worker) to multiples of\n" \
"                           BYTES, at most 1M (default 0: no padding)\n"

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
	unsigned wire;       /* enum proxy_wire: which of them to not wipe */
	struct buf *lent[2][2]; /* proxy_thread_lend()'s (from, to) pairs */
	unsigned nlent;
};

/*
 * The buffers of a proxy that hold only bytes that cross the hops between
 * the two proxies: what the worker receives and sends, what the client
 * sends to the worker and receives from it.  Whoever runs those hops sees
 * every such byte, so they are emptied after a request without a wipe
 * (for a 1 MiB body a wipe of cold memory is about 0.1 ms a buffer);
 * every other buffer holds plaintext and is wiped.
 */
enum proxy_wire {
	PROXY_WIRE_BODY = 1 << 0,
	PROXY_WIRE_MSG = 1 << 1,
	PROXY_WIRE_REPLY = 1 << 2,
	PROXY_WIRE_OUT = 1 << 3,
};
/* The client's wire buffers: the sealed request, the worker's reply. */
#define PROXY_WIRE_CLIENT (PROXY_WIRE_MSG | PROXY_WIRE_REPLY)
/* The worker's: the sealed request as it came, the sealed reply. */
#define PROXY_WIRE_WORKER (PROXY_WIRE_BODY | PROXY_WIRE_OUT)

/* Before a non-streamed reply of length bytes (-1: unknown) is received
 * into t->reply: reserve it at once rather than grow by doubling as the
 * chunks come (each step a fresh block, a copy, a wipe, and blocks left
 * behind in the thread's arena).  A length past the cap reserves
 * nothing; receiving then fails as before. */
void proxy_reply_presize(struct proxy_thread *t, long long length);

/*
 * from is done with for this request and to is not used yet: to takes
 * from's memory (from wiped first unless it is a wire buffer), and
 * proxy_thread_clean() gives it back.  So two buffers of different
 * phases of a request share one block, and a thread keeps fewer large
 * ones.  Nothing happens when to has memory of its own.
 */
void proxy_thread_lend(struct proxy_thread *t, struct buf *from,
    struct buf *to);

/* Per-thread state for a server_app's thread_init, wire an OR of enum
 * proxy_wire (0: wipe them all); NULL on failure. */
struct proxy_thread *proxy_thread_new(const struct proxy_opts *o,
    unsigned wire);
void proxy_thread_free(struct proxy_thread *t);

/* After each request: empty every buffer (wiping all but the wire
 * ones), return lent memory and give back large blocks, and
 * drop the thread's cached keys, so an idle thread holds no request data,
 * no key and little memory. */
void proxy_thread_clean(struct proxy_thread *t);

/*
 * Answer req with the plain error of protocol.md section 6 for rc, with
 * the headers "Promptseal-Encrypted: false" and "Promptseal-Version: 2".
 * The message is pserr_str(rc): it never holds request data.
 */
void proxy_send_error(FCGX_Request *req, pserr rc);

/* Where a relayed stream's events go. */
struct proxy_sink {
	FCGX_Request *req;
	unsigned pending;     /* events written since the last flush */
};

/*
 * Answer req with a 200 event stream: write the head (headers: extra
 * header lines or NULL), flush it, and set k up to write events into req
 * through proxy_sink_emit.  PS_ERR_IO when the web server is gone.
 */
pserr proxy_stream_begin(struct proxy_sink *k, FCGX_Request *req,
    const char *headers) PS_WARN_UNUSED;

/* A stream_out_fn over a struct proxy_sink (arg). */
pserr proxy_sink_emit(void *arg, const char *p, size_t n, int flush);

/*
 * Flush the events written since the last call.  Called after each chunk
 * of upstream input: events that arrived together leave together, in one
 * write, and none waits for input that has not come yet.
 */
pserr proxy_stream_flush(struct proxy_sink *k) PS_WARN_UNUSED;

/* The stream is over: count the events written since the last flush
 * (FCGX_Finish_r writes them with the end of the request). */
void proxy_stream_end(struct proxy_sink *k);

/* 1 when the media type of content_type (message_media_type()) is
 * text/event-stream: parameters and blanks around it allowed. */
int proxy_is_sse(const char *content_type);

/* message_media_type(), for the proxies: the media type a reply is bound
 * to, or -1. */
int proxy_media_type(const char *content_type, char *out, size_t outlen);

/*
 * The code of a peer's plain error body {"error": {"code": "...", ...}}
 * (len bytes), as one of protocol.md section 6 that a proxy may send
 * (pserr_from_code), or PS_OK when the body is not that shape, is over
 * 64 KiB, or names another code.  Nothing else of the body is looked at:
 * its text never reaches the user (protocol.md section 6).
 */
pserr proxy_plain_error_code(const char *body, size_t len);

/* 1 when status is 2xx. */
#define PROXY_OK_STATUS(s) ((s) >= 200 && (s) < 300)

/* The operator's routes, GET only, exact paths without a query. */
enum proxy_ops_route {
	PROXY_OPS_NONE = 0,
	PROXY_OPS_HEALTH,          /* /healthz */
	PROXY_OPS_METRICS,         /* /metrics */
};

/* The operator's route uri (a REQUEST_URI, may be NULL) names. */
enum proxy_ops_route proxy_ops_route(const char *uri);

/*
 * Answer an operator's route: /healthz with 200 {"status":"ready",...}
 * when g->ready, else 503 {"status":"not_ready",...} (JSON holding the
 * key count and whether the next hop answered, nothing else); /metrics
 * with metrics_write's text.  A method other than GET or HEAD gets 405.
 * upstream_ok: what upstream_reachable said.
 */
void proxy_ops_answer(FCGX_Request *req, enum proxy_ops_route route,
    const char *method, const struct metrics_gauges *g, int upstream_ok);

#endif
