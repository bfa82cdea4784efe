/* SPDX-License-Identifier: ISC */
/*
 * inference-server: a small OpenAI-compatible HTTP/1.1 server on a UNIX
 * domain socket.  It stands in for a real inference server in the
 * end-to-end tests, the demo and the benchmarks: no model is run, every
 * answer is computed from the request so that a test can prove which
 * plaintext reached it.
 *
 *   inference-server --socket PATH [--events N] [--delay-ms MS]
 *                    [--record FILE] [--threads N]
 *
 * Endpoints
 *   POST /v1/chat/completions  content = "echo: " + the text of the last
 *                              message with role "user" (text parts of an
 *                              array content are concatenated)
 *   POST /v1/completions       text = "echo: " + the prompt (the last one
 *                              when prompt is an array)
 *   POST /v1/embeddings        8 floats per input, see embed_vector()
 *   GET  /v1/models            one model, "test-model"
 *   POST /v1/responses, GET and DELETE /v1/responses/{id},
 *   GET /v1/responses/{id}/input_items, POST /v1/responses/{id}/cancel,
 *   GET /v1/models/{id}, POST /v1/messages, /v1/messages/count_tokens,
 *   /v1/rerank (/rerank, /v2/rerank), /v1/score, /tokenize, /detokenize:
 *                              see handle_endpoints() and the comment
 *                              above it (echoes, x_body_fnv, typed streams)
 *   POST /v1/audio/transcriptions, /v1/audio/translations  (multipart)
 *                              text = "sha256=<hex of the file part>
 *                              name=<its filename> bytes=<its size>
 *                              fields=<name=value&... of the other
 *                              fields, in order>", as response_format
 *                              json (default), verbose_json, or text,
 *                              srt, vtt (text/plain); with the field
 *                              stream=true (transcriptions) a stream of
 *                              transcript.text.delta events (--events or
 *                              the field x_events) and one
 *                              transcript.text.done, no [DONE]
 * Usage counts are ceil(bytes / 4) of the echoed text and of the reply.
 *
 * Streams (request member "stream": true) are chunked text/event-stream
 * responses of N content events (--events, default 8, or the request
 * member "x_events", 1..1000000), each carrying the next slice of the reply
 * (ceil(len / N) bytes, moved forward to a UTF-8 character boundary; once
 * the reply is used up, slices are empty).  The first event carries the
 * role "assistant" (chat).  Then comes an event with finish_reason "stop",
 * then, with stream_options.include_usage, an event with "choices": [] and
 * usage, then "data: [DONE]".  --delay-ms or "x_delay_ms" (at most 60000)
 * sleeps before every event but the first.  Each event is sent as its own
 * HTTP chunk as soon as it is made.
 *
 * Request members for error-path tests
 *   "x_status": S       answer status S (200..599) with the body
 *                       {"error":{"message":"test error","type":"test",
 *                       "code":"x_status"}}
 *   "x_garbage": true   answer 200 with the body "not json"
 *   "x_big_garbage": true  answer 200 (application/json) with 2 MiB of
 *                       bytes that are not JSON
 *   "x_slow_ms": MS     send a reply that is not a stream one byte every
 *                       MS ms (at most 60000), the head first
 *   "x_slow_bytes": N   with x_slow_ms, pace only the first N bytes of
 *                       the body and send the rest at once (so that one
 *                       byte a second fits in a test)
 *   "x_hang_ms": MS     send the head and half of the body of a reply
 *                       that is not a stream, then nothing for MS ms,
 *                       then the rest (a test kills the server meanwhile)
 *   "x_first_delay_ms": MS  be silent this long before answering
 *   "x_cut_after": K    in a stream, close the connection after K JSON
 *                       events, without the final chunk of the chunked
 *                       encoding; "data: [DONE]" is never sent (K larger
 *                       than the number of JSON events cuts just before it)
 * An unknown path is a 404, a wrong method a 405, a body that is not a JSON
 * object a 400, a body over 16 MiB a 413, all with an OpenAI error body.
 * Requests the HTTP layer refuses (bad request line or header, header
 * section over 64 KiB, POST without a length, unknown transfer coding) get
 * an error body with the HTTP status (400, 411, 431, 501, 505) and the
 * connection is closed.  Request bodies may be sent with Content-Length or
 * chunked; "Expect: 100-continue" is answered.
 *
 * --record FILE appends one line per complete request received:
 *
 *   METHOD SP TARGET SP BASE64(body) LF
 *
 * TARGET is the request target as sent (printable ASCII, no spaces);
 * BASE64 is the standard alphabet with padding and is empty for an empty
 * body, so the line then ends in a space.  `cut -d' ' -f3 | base64 -d`
 * gives the exact body bytes back.  The file is opened O_APPEND, mode 0600
 * (it holds plaintext prompts), and each line is written with one write()
 * under a lock before the request is answered.
 *
 * The socket is created with mode 0666: it is a test fixture that holds
 * nothing secret, and the web server or the worker proxy may run as
 * another, unprivileged user.  Who may connect is decided by the mode of
 * the directory it is created in.  It appears under its name only once it
 * accepts connections (bound under a temporary name, then renamed), so a
 * script may wait for the file and connect at once.  A stale socket file
 * is replaced; a socket that still accepts connections is not.
 *
 * One thread serves one connection (keep-alive, pipelining allowed), at
 * most --threads (default 256) at a time; further connections wait in the
 * listen backlog.  A connection idle or stalled for 120 s is closed.
 * SIGTERM, SIGINT and SIGHUP stop the server: open connections are shut
 * down, the socket file is removed, the exit status is 0.
 *
 * Nothing from a request body is ever logged.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <openssl/sha.h>

#include "core/pserr.h"

#define PROG "inference-server"

#define BODY_MAX        (16u * 1024 * 1024)  /* request body cap */
#define HEAD_MAX        (64u * 1024)         /* request line + headers */
#define TARGET_MAX      8192
#define CHUNK_LINE_MAX  1024                 /* chunk-size line */
#define CHUNK_GAP_MAX   (64u * 1024)         /* framing bytes before compaction */
#define IN_SLACK        (128u * 1024)
#define IN_MAX          (HEAD_MAX + BODY_MAX + IN_SLACK)
#define IN_INITIAL      (16u * 1024)
#define IN_KEEP         (1024u * 1024)       /* shrink an idle buffer above this */
#define OUT_MAX         (6u * BODY_MAX + 65536) /* one response or event */

#define EVENTS_DEFAULT  8
#define EVENTS_MAX      1000000
#define DELAY_MAX_MS    60000
#define THREADS_DEFAULT 256
#define THREADS_MAX     4096
#define IO_TIMEOUT_S    120
#define THREAD_STACK    (512u * 1024)
#define SOCKET_MODE     0666
#define CREATED         "1700000000"
#define MODEL_DEFAULT   "test-model"
#define EMBED_DIM       8

/* ------------------------------------------------------------ state */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* a slot was freed, or stop was set */
	atomic_int stop;
	int *slots;               /* fd of each live connection, -1 if free */
	unsigned nslots;
	unsigned active;
	int listen_fd;
	int wake[2];              /* wakes the acceptor on stop */
	int record_fd;            /* -1 without --record */
	pthread_mutex_t record_lock;
	unsigned long events;
	unsigned long delay_ms;
} srv = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.record_lock = PTHREAD_MUTEX_INITIALIZER,
	.listen_fd = -1,
	.wake = { -1, -1 },
	.record_fd = -1,
};

static void
logmsg(const char *fmt, ...) PS_PRINTF(1, 2);

/* One line on stderr.  Callers pass facts about the server only, never
 * bytes of a request. */
static void
logmsg(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", line);
}

/* ------------------------------------------------------------ sbuf */

/* A byte buffer with a hard cap; every append fails cleanly past it. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
};

/* Set b up empty with cap max; allocates nothing. */
static void
sbuf_init(struct sbuf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Make room for n more bytes: PS_ERR_TOO_LARGE past max, PS_ERR_NOMEM. */
static pserr PS_WARN_UNUSED
sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t want, ncap;
	char *np;

	if (n > b->max - b->len)
		return PS_ERR_TOO_LARGE;
	want = b->len + n;
	if (want <= b->cap)
		return PS_OK;
	ncap = b->cap ? b->cap : 1024;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if ((np = realloc(b->p, ncap)) == NULL)
		return PS_ERR_NOMEM;
	b->p = np;
	b->cap = ncap;
	return PS_OK;
}

/* Append n bytes of p (NULL allowed when n is 0); b is unchanged on
 * failure. */
static pserr PS_WARN_UNUSED
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	pserr rc;

	if (n == 0)
		return PS_OK;
	if ((rc = sbuf_reserve(b, n)) != PS_OK)
		return rc;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return PS_OK;
}

/* Append a NUL-terminated string without its NUL. */
static pserr PS_WARN_UNUSED
sbuf_adds(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

static pserr PS_WARN_UNUSED
sbuf_addf(struct sbuf *b, const char *fmt, ...) PS_PRINTF(2, 3);

/* Append printf output; only used for short, bounded pieces. */
static pserr PS_WARN_UNUSED
sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return PS_ERR_ARG;
	return sbuf_add(b, tmp, (size_t)n);
}

/* Drop the content; give back memory above IN_KEEP so a connection that
 * once sent a large request does not hold on to it. */
static void
sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->cap > IN_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

/* Free the memory; b is empty afterwards, with the same cap. */
static void
sbuf_free(struct sbuf *b)
{
	free(b->p);
	sbuf_init(b, b->max);
}

/* Append s (n bytes) as a JSON string with its quotes.  Bytes >= 0x80 are
 * passed through: the reply slices are cut on UTF-8 boundaries. */
static pserr PS_WARN_UNUSED
json_str(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run;
	char esc[6];
	pserr rc;

	/* Worst case 6 output bytes per input byte, plus the quotes. */
	if (n > (b->max - b->len) / 6)
		return PS_ERR_TOO_LARGE;
	if ((rc = sbuf_reserve(b, 6 * n + 2)) != PS_OK)
		return rc;
	b->p[b->len++] = '"';
	for (i = 0; i < n; i += run) {
		unsigned char ch = (unsigned char)s[i];

		for (run = 0; i + run < n; run++) {
			ch = (unsigned char)s[i + run];
			if (ch < 0x20 || ch == '"' || ch == '\\')
				break;
		}
		if (run > 0) {
			memcpy(b->p + b->len, s + i, run);
			b->len += run;
			continue;
		}
		run = 1;
		esc[0] = '\\';
		switch (ch) {
		case '"':  esc[1] = '"';  break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n';  break;
		case '\r': esc[1] = 'r';  break;
		case '\t': esc[1] = 't';  break;
		case '\b': esc[1] = 'b';  break;
		case '\f': esc[1] = 'f';  break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			memcpy(b->p + b->len, esc, 6);
			b->len += 6;
			continue;
		}
		memcpy(b->p + b->len, esc, 2);
		b->len += 2;
	}
	b->p[b->len++] = '"';
	return PS_OK;
}

/* Standard base64 with padding; out must hold 4 * ((n + 2) / 3) bytes. */
static size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = '=';
	}
	return o;
}

/* ------------------------------------------------------------ connection */

struct request {
	char method[16];
	char target[TARGET_MAX];
	size_t path_len;          /* target up to '?' */
	char ctype[512];          /* Content-Type, "" when none or too long */
	int http10;
	int keep_alive;
	size_t body_off;          /* body bytes are c->in[body_off, +body_len) */
	size_t body_len;
	size_t consumed;          /* raw bytes of this request in c->in */
	/* set when reading fails with PS_ERR_ARG: answer, then close */
	int err_status;
	const char *err_code;
	const char *err_msg;
};

struct conn {
	int fd;
	unsigned slot;
	char *in;                 /* raw input, capped at IN_MAX */
	size_t in_len;
	size_t in_size;
	struct sbuf out;          /* the response or event being built */
	struct request rq;
};

/* Grow c->in to hold at least want bytes (want <= IN_MAX). */
static pserr PS_WARN_UNUSED
conn_grow(struct conn *c, size_t want)
{
	size_t n = c->in_size ? c->in_size : IN_INITIAL;
	char *p;

	if (want > IN_MAX)
		return PS_ERR_TOO_LARGE;
	while (n < want)
		n = n > IN_MAX / 2 ? IN_MAX : n * 2;
	if (n == c->in_size)
		return PS_OK;
	if ((p = realloc(c->in, n)) == NULL)
		return PS_ERR_NOMEM;
	c->in = p;
	c->in_size = n;
	return PS_OK;
}

/* Read once, whatever is there (at least one byte).  PS_ERR_IO on EOF, an
 * error or the receive timeout; PS_ERR_TOO_LARGE when the buffer is full
 * at IN_MAX. */
static pserr PS_WARN_UNUSED
conn_read_some(struct conn *c)
{
	ssize_t n;
	pserr rc;

	if (c->in_len == c->in_size &&
	    (rc = conn_grow(c, c->in_len + 1)) != PS_OK)
		return rc;
	for (;;) {
		n = recv(c->fd, c->in + c->in_len, c->in_size - c->in_len, 0);
		if (n > 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		return PS_ERR_IO;
	}
	c->in_len += (size_t)n;
	return PS_OK;
}

/* Read until c->in holds at least need bytes. */
static pserr PS_WARN_UNUSED
conn_fill(struct conn *c, size_t need)
{
	pserr rc;

	if ((rc = conn_grow(c, need)) != PS_OK)
		return rc;
	while (c->in_len < need)
		if ((rc = conn_read_some(c)) != PS_OK)
			return rc;
	return PS_OK;
}

/* Forget the first n raw bytes (a finished request); keep what a client
 * pipelined after it. */
static void
conn_consume(struct conn *c, size_t n)
{
	char *p;

	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	if (c->in_size > IN_KEEP && c->in_len <= IN_INITIAL &&
	    (p = realloc(c->in, IN_INITIAL)) != NULL) {
		c->in = p;
		c->in_size = IN_INITIAL;
	}
}

/* Send every byte of iov[0..n), which is modified. */
static pserr PS_WARN_UNUSED
conn_sendv(struct conn *c, struct iovec *iov, int n)
{
	struct msghdr m;
	ssize_t w;
	size_t left;

	while (n > 0) {
		if (iov->iov_len == 0) {
			iov++;
			n--;
			continue;
		}
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return PS_ERR_IO;
		}
		for (left = (size_t)w; left > 0 && n > 0;) {
			if (left >= iov->iov_len) {
				left -= iov->iov_len;
				iov->iov_len = 0;
				iov++;
				n--;
			} else {
				iov->iov_base = (char *)iov->iov_base + left;
				iov->iov_len -= left;
				left = 0;
			}
		}
	}
	return PS_OK;
}

/* Send all n bytes of p. */
static pserr PS_WARN_UNUSED
conn_send(struct conn *c, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };

	return conn_sendv(c, &iov, 1);
}

/* Send status 200 with body c->out paced: the first slow_n bytes one every
 * slow_ms ms and the rest at once, or (slow_ms 0) the head and half the
 * body, hang_ms of silence, the rest.  Defined further down, after the
 * sleeping helpers. */
static pserr send_paced(struct conn *c, int keep, unsigned long slow_ms,
    size_t slow_n, unsigned long hang_ms);

/* ------------------------------------------------------------ HTTP input */

/* Is ch allowed in a method or a header name (RFC 9110 token)? */
static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Does the comma-separated header value v (n bytes) hold token tok? */
static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0, s, e, tl = strlen(tok);

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/* Mark the request as failed with status and an error code for the
 * answer; returns PS_ERR_ARG for the caller to pass on. */
static pserr
req_fail(struct request *rq, int status, const char *code, const char *msg)
{
	rq->err_status = status;
	rq->err_code = code;
	rq->err_msg = msg;
	return PS_ERR_ARG;
}

/* Where the header block that starts at c->in[0] ends (one past its empty
 * line), or 0 if it is not complete.  Lines may end in CRLF or LF. */
static size_t
head_end(const struct conn *c, size_t *scan)
{
	size_t i;

	for (i = *scan; i < c->in_len; i++) {
		if (c->in[i] != '\n')
			continue;
		if (i + 1 < c->in_len && c->in[i + 1] == '\n')
			return i + 2;
		if (i + 2 < c->in_len && c->in[i + 1] == '\r' &&
		    c->in[i + 2] == '\n')
			return i + 3;
	}
	*scan = c->in_len > 2 ? c->in_len - 2 : 0;
	return 0;
}

/* Parse the request line and headers in c->in[0, end).  Sets the fields
 * of rq and *cl (-1 without Content-Length), *chunked and *expect. */
static pserr
parse_head(struct conn *c, size_t end, long long *cl, int *chunked,
    int *expect)
{
	struct request *rq = &c->rq;
	const char *p = c->in, *line, *eol, *sp1, *sp2, *colon, *v, *ve;
	size_t pos = 0, n;
	int conn_close = 0, conn_keep = 0;
	long long val;

	*cl = -1;
	*chunked = 0;
	*expect = 0;

	/* request line */
	line = p;
	eol = memchr(p, '\n', end);
	n = (size_t)(eol - line);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	pos = (size_t)(eol - p) + 1;
	if ((sp1 = memchr(line, ' ', n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line))) == NULL)
		return req_fail(rq, 400, "bad_request", "malformed request line");
	if (sp1 == line || (size_t)(sp1 - line) >= sizeof(rq->method))
		return req_fail(rq, 400, "bad_request", "malformed request line");
	for (v = line; v < sp1; v++)
		if (!is_tchar((unsigned char)*v))
			return req_fail(rq, 400, "bad_request",
			    "malformed request line");
	memcpy(rq->method, line, (size_t)(sp1 - line));
	rq->method[sp1 - line] = '\0';
	if (sp2 == sp1 + 1)
		return req_fail(rq, 400, "bad_request", "malformed request line");
	if ((size_t)(sp2 - sp1 - 1) >= sizeof(rq->target))
		return req_fail(rq, 414, "uri_too_long", "request target too long");
	for (v = sp1 + 1; v < sp2; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return req_fail(rq, 400, "bad_request",
			    "malformed request line");
	memcpy(rq->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	rq->target[sp2 - sp1 - 1] = '\0';
	v = strchr(rq->target, '?');
	rq->path_len = v ? (size_t)(v - rq->target) : strlen(rq->target);
	n -= (size_t)(sp2 + 1 - line);
	if (n == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
		rq->http10 = 0;
	else if (n == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
		rq->http10 = 1;
	else if (n > 5 && memcmp(sp2 + 1, "HTTP/", 5) == 0)
		return req_fail(rq, 505, "http_version_not_supported",
		    "only HTTP/1.0 and HTTP/1.1 are served");
	else
		return req_fail(rq, 400, "bad_request",
		    "malformed request line");

	/* header fields */
	while (pos < end) {
		line = p + pos;
		eol = memchr(line, '\n', end - pos);
		n = (size_t)(eol - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return req_fail(rq, 400, "bad_request",
			    "folded header line");
		if ((colon = memchr(line, ':', n)) == NULL || colon == line)
			return req_fail(rq, 400, "bad_request",
			    "malformed header line");
		for (v = line; v < colon; v++)
			if (!is_tchar((unsigned char)*v))
				return req_fail(rq, 400, "bad_request",
				    "malformed header line");
		v = colon + 1;
		ve = line + n;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
#define NAME_IS(s) ((size_t)(colon - line) == sizeof(s) - 1 && \
	strncasecmp(line, s, sizeof(s) - 1) == 0)
		if (NAME_IS("content-length")) {
			if (v == ve || ve - v > 18)
				return req_fail(rq, 400, "bad_request",
				    "bad Content-Length");
			for (val = 0; v < ve; v++) {
				if (*v < '0' || *v > '9')
					return req_fail(rq, 400, "bad_request",
					    "bad Content-Length");
				val = val * 10 + (*v - '0');
			}
			if (*cl >= 0 && *cl != val)
				return req_fail(rq, 400, "bad_request",
				    "conflicting Content-Length");
			*cl = val;
		} else if (NAME_IS("content-type")) {
			size_t ctn = (size_t)(ve - v);

			rq->ctype[0] = '\0';
			if (ctn < sizeof(rq->ctype)) {
				memcpy(rq->ctype, v, ctn);
				rq->ctype[ctn] = '\0';
			}
		} else if (NAME_IS("transfer-encoding")) {
			if ((size_t)(ve - v) != 7 ||
			    strncasecmp(v, "chunked", 7) != 0)
				return req_fail(rq, 501, "not_implemented",
				    "only the chunked transfer coding is served");
			*chunked = 1;
		} else if (NAME_IS("connection")) {
			conn_close |= has_token(v, (size_t)(ve - v), "close");
			conn_keep |= has_token(v, (size_t)(ve - v),
			    "keep-alive");
		} else if (NAME_IS("expect")) {
			if ((size_t)(ve - v) != 12 ||
			    strncasecmp(v, "100-continue", 12) != 0)
				return req_fail(rq, 417, "expectation_failed",
				    "unsupported expectation");
			*expect = 1;
		}
#undef NAME_IS
	}
	rq->keep_alive = !conn_close && (!rq->http10 || conn_keep);
	if (*chunked && *cl >= 0)
		return req_fail(rq, 400, "bad_request",
		    "both Content-Length and Transfer-Encoding");
	if (*chunked && rq->http10)
		return req_fail(rq, 400, "bad_request",
		    "chunked body in an HTTP/1.0 request");
	return PS_OK;
}

/* Find the end of the line that starts at c->in[pos], reading more input
 * as needed; *next is one past its LF, *len its length without CR LF. */
static pserr
read_line(struct conn *c, size_t pos, size_t max, size_t *len, size_t *next)
{
	const char *nl;
	size_t n;
	pserr rc;

	for (;;) {
		nl = memchr(c->in + pos, '\n', c->in_len - pos);
		if (nl != NULL)
			break;
		if (c->in_len - pos > max)
			return req_fail(&c->rq, 400, "bad_request",
			    "chunk framing line too long");
		if ((rc = conn_read_some(c)) != PS_OK)
			return rc;
	}
	n = (size_t)(nl - (c->in + pos));
	if (n > max)
		return req_fail(&c->rq, 400, "bad_request",
		    "chunk framing line too long");
	*next = pos + n + 1;
	if (n > 0 && c->in[pos + n - 1] == '\r')
		n--;
	*len = n;
	return PS_OK;
}

/* Decode a chunked body that starts at c->in[start] in place: the data
 * lands at c->in[start, start + body_len), framing bytes are squeezed out
 * as they are passed so the buffer never holds much more than the body. */
static pserr
read_chunked(struct conn *c, size_t start)
{
	struct request *rq = &c->rq;
	size_t pos = start, dst = start, len, next, i, crlf, trailer = 0;
	unsigned long long size;
	const char *s;
	pserr rc;

	for (;;) {
		if ((rc = read_line(c, pos, CHUNK_LINE_MAX, &len, &next)) !=
		    PS_OK)
			return rc;
		s = c->in + pos;
		for (i = 0, size = 0; i < len; i++) {
			int d;

			if (s[i] >= '0' && s[i] <= '9')
				d = s[i] - '0';
			else if (s[i] >= 'a' && s[i] <= 'f')
				d = s[i] - 'a' + 10;
			else if (s[i] >= 'A' && s[i] <= 'F')
				d = s[i] - 'A' + 10;
			else
				break;
			size = size * 16 + (unsigned)d;
			if (size > BODY_MAX)
				return req_fail(rq, 413, "body_too_large",
				    "request body over 16 MiB");
		}
		if (i == 0 || (i < len && s[i] != ';' && s[i] != ' ' &&
		    s[i] != '\t'))
			return req_fail(rq, 400, "bad_request",
			    "malformed chunk size");
		pos = next;
		if (size == 0)
			break;
		if (size > BODY_MAX - (dst - start))
			return req_fail(rq, 413, "body_too_large",
			    "request body over 16 MiB");
		if ((rc = conn_fill(c, pos + size + 1)) != PS_OK)
			return rc;
		if (c->in[pos + size] == '\r') {
			if ((rc = conn_fill(c, pos + size + 2)) != PS_OK)
				return rc;
			crlf = 2;
			if (c->in[pos + size + 1] != '\n')
				crlf = 0;
		} else {
			crlf = c->in[pos + size] == '\n' ? 1 : 0;
		}
		if (crlf == 0)
			return req_fail(rq, 400, "bad_request",
			    "chunk data not followed by CRLF");
		if (pos != dst)
			memmove(c->in + dst, c->in + pos, size);
		dst += size;
		pos += size + crlf;
		if (pos - dst > CHUNK_GAP_MAX) {
			memmove(c->in + dst, c->in + pos, c->in_len - pos);
			c->in_len -= pos - dst;
			pos = dst;
		}
	}
	/* trailer fields, up to the empty line */
	for (;;) {
		if ((rc = read_line(c, pos, HEAD_MAX, &len, &next)) != PS_OK)
			return rc;
		trailer += next - pos;
		pos = next;
		if (len == 0)
			break;
		if (trailer > HEAD_MAX)
			return req_fail(rq, 431, "header_too_large",
			    "trailer section too large");
	}
	rq->body_off = start;
	rq->body_len = dst - start;
	rq->consumed = pos;
	return PS_OK;
}

/*
 * Read the next request of the connection into c->rq.  PS_OK: a complete
 * request (its body at c->in + rq.body_off).  PS_ERR_IO: the peer went
 * away or stalled; close without an answer.  PS_ERR_ARG: answer
 * rq.err_status and close.  Other codes: close.
 */
static pserr
http_read_request(struct conn *c)
{
	struct request *rq = &c->rq;
	size_t scan = 0, end, skip;
	long long cl;
	int chunked, expect;
	pserr rc;

	memset(rq, 0, sizeof(*rq));
	for (;;) {
		/* Empty lines before a request line are allowed (RFC 9112 2.2). */
		for (skip = 0; skip < c->in_len &&
		    (c->in[skip] == '\r' || c->in[skip] == '\n'); skip++)
			;
		if (skip > 0) {
			conn_consume(c, skip);
			scan = 0;
		}
		if (c->in_len > 0 && (end = head_end(c, &scan)) != 0)
			break;
		if (c->in_len >= HEAD_MAX)
			return req_fail(rq, 431, "header_too_large",
			    "request header section too large");
		if ((rc = conn_read_some(c)) != PS_OK)
			return rc == PS_ERR_TOO_LARGE ? PS_ERR_IO : rc;
	}
	if (end > HEAD_MAX)
		return req_fail(rq, 431, "header_too_large",
		    "request header section too large");
	if ((rc = parse_head(c, end, &cl, &chunked, &expect)) != PS_OK)
		return rc;
	if (cl > (long long)BODY_MAX)
		return req_fail(rq, 413, "body_too_large",
		    "request body over 16 MiB");
	if (!chunked && cl < 0 && strcmp(rq->method, "POST") == 0)
		return req_fail(rq, 411, "length_required",
		    "a POST needs Content-Length or a chunked body");
	if (expect && rq->http10 == 0 && (chunked || cl > 0) &&
	    (chunked || c->in_len < end + (size_t)cl) &&
	    (rc = conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25)) != PS_OK)
		return rc;
	if (chunked) {
		rc = read_chunked(c, end);
		if (rc == PS_ERR_TOO_LARGE)
			return req_fail(rq, 413, "body_too_large",
			    "request body over 16 MiB");
		return rc;
	}
	if (cl < 0)
		cl = 0;
	if ((rc = conn_fill(c, end + (size_t)cl)) != PS_OK)
		return rc;
	rq->body_off = end;
	rq->body_len = (size_t)cl;
	rq->consumed = end + (size_t)cl;
	return PS_OK;
}

/* ------------------------------------------------------------ HTTP output */

/* The reason phrase for status; a generic one for codes not listed. */
static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return "Status";
	}
}

/* Send a whole response with body c->out; closes the exchange with
 * "Connection: close" unless keep is set. */
static pserr
send_response(struct conn *c, int status, const char *ctype, int keep)
{
	char head[256];
	struct iovec iov[2];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "\r\n", status, reason(status), ctype, c->out.len,
	    !keep ? "Connection: close\r\n" :
	    c->rq.http10 ? "Connection: keep-alive\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return PS_ERR_ARG;
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = c->out.p;
	iov[1].iov_len = c->out.len;
	return conn_sendv(c, iov, 2);
}

/* Send an OpenAI error body {"error":{"message","type","code"}}. */
static pserr
send_error(struct conn *c, int status, const char *type, const char *code,
    const char *msg, int keep)
{
	pserr rc;

	sbuf_reset(&c->out);
	if ((rc = sbuf_adds(&c->out, "{\"error\":{\"message\":")) != PS_OK ||
	    (rc = json_str(&c->out, msg, strlen(msg))) != PS_OK ||
	    (rc = sbuf_adds(&c->out, ",\"type\":")) != PS_OK ||
	    (rc = json_str(&c->out, type, strlen(type))) != PS_OK ||
	    (rc = sbuf_adds(&c->out, ",\"code\":")) != PS_OK ||
	    (rc = json_str(&c->out, code, strlen(code))) != PS_OK ||
	    (rc = sbuf_adds(&c->out, "}}")) != PS_OK)
		return rc;
	return send_response(c, status, "application/json", keep);
}

/* ------------------------------------------------------------ recording */

/* Append "METHOD TARGET BASE64\n" for the request to the record file in
 * one write(), under a lock so lines of different threads never mix. */
static void
record_request(const struct conn *c)
{
	const struct request *rq = &c->rq;
	size_t ml = strlen(rq->method), tl = strlen(rq->target), n, off;
	char *line = NULL;
	ssize_t w;

	if (srv.record_fd < 0)
		return;
	n = ml + 1 + tl + 1 + 4 * ((rq->body_len + 2) / 3) + 1;
	if ((line = malloc(n)) == NULL) {
		logmsg("record: out of memory, request not recorded");
		return;
	}
	memcpy(line, rq->method, ml);
	line[ml] = ' ';
	memcpy(line + ml + 1, rq->target, tl);
	line[ml + 1 + tl] = ' ';
	off = ml + tl + 2;
	off += b64_encode((const unsigned char *)c->in + rq->body_off,
	    rq->body_len, line + off);
	line[off++] = '\n';
	pthread_mutex_lock(&srv.record_lock);
	for (n = 0; n < off; n += (size_t)w) {
		w = write(srv.record_fd, line + n, off - n);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			logmsg("record: write failed: %s", strerror(errno));
			break;
		}
	}
	pthread_mutex_unlock(&srv.record_lock);
	free(line);
}

/* ------------------------------------------------------------ requests */

/* Sleep ms milliseconds unless the server is stopping; returns nonzero
 * when it is. */
static int
stop_sleep(unsigned long ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv.lock);
	while (!atomic_load(&srv.stop) &&
	    pthread_cond_timedwait(&srv.cond, &srv.lock, &ts) != ETIMEDOUT)
		;
	stop = atomic_load(&srv.stop);
	pthread_mutex_unlock(&srv.lock);
	return stop;
}

static pserr
send_paced(struct conn *c, int keep, unsigned long slow_ms, size_t slow_n,
    unsigned long hang_ms)
{
	char head[256];
	size_t i, half = c->out.len / 2;
	int n;
	pserr rc;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n%s\r\n", c->out.len,
	    !keep ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return PS_ERR_ARG;
	if ((rc = conn_send(c, head, (size_t)n)) != PS_OK)
		return rc;
	if (slow_ms == 0) {
		if ((rc = conn_send(c, c->out.p, half)) != PS_OK)
			return rc;
		if (stop_sleep(hang_ms))
			return PS_ERR_IO;
		return conn_send(c, c->out.p + half, c->out.len - half);
	}
	if (slow_n > c->out.len)
		slow_n = c->out.len;
	for (i = 0; i < slow_n; i++) {
		if ((rc = conn_send(c, c->out.p + i, 1)) != PS_OK)
			return rc;
		if (i + 1 < c->out.len && stop_sleep(slow_ms))
			return PS_ERR_IO;
	}
	return slow_n < c->out.len ?
	    conn_send(c, c->out.p + slow_n, c->out.len - slow_n) : PS_OK;
}

/* Member name of object o as a string, or NULL (also when not a string). */
static const char *
member_str(struct json_object *o, const char *name, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Is member name of o an integer?  Its value goes to *val. */
static int
member_int(struct json_object *o, const char *name, int64_t *val)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	*val = json_object_get_int64(v);
	return 1;
}

/* Is member name of o the boolean true? */
static int
member_true(struct json_object *o, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(o, name, &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* Append the text of a message content: a string, or the "text" of each
 * text part of an array.  Anything else adds nothing. */
static pserr PS_WARN_UNUSED
content_text(struct json_object *content, struct sbuf *out)
{
	struct json_object *part;
	const char *s, *type;
	size_t i, n, len;
	pserr rc;

	if (json_object_is_type(content, json_type_string))
		return sbuf_add(out, json_object_get_string(content),
		    (size_t)json_object_get_string_len(content));
	if (!json_object_is_type(content, json_type_array))
		return PS_OK;
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		part = json_object_array_get_idx(content, i);
		if (!json_object_is_type(part, json_type_object))
			continue;
		type = member_str(part, "type", NULL);
		if (type != NULL && strcmp(type, "text") != 0)
			continue;
		if ((s = member_str(part, "text", &len)) == NULL)
			continue;
		if ((rc = sbuf_add(out, s, len)) != PS_OK)
			return rc;
	}
	return PS_OK;
}

/* The text the reply echoes: for chat the last user message, for
 * completions the (last) prompt.  PS_ERR_ARG with *why set when the
 * request lacks the member. */
static pserr PS_WARN_UNUSED
input_text(struct json_object *req, int chat, struct sbuf *out,
    const char **why)
{
	struct json_object *list, *m, *v;
	const char *role;
	size_t i, n;

	if (chat) {
		if (!json_object_object_get_ex(req, "messages", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			*why = "messages must be an array";
			return PS_ERR_ARG;
		}
		for (i = json_object_array_length(list); i-- > 0;) {
			m = json_object_array_get_idx(list, i);
			if (!json_object_is_type(m, json_type_object))
				continue;
			role = member_str(m, "role", NULL);
			if (role == NULL || strcmp(role, "user") != 0)
				continue;
			if (!json_object_object_get_ex(m, "content", &v))
				return PS_OK;
			return content_text(v, out);
		}
		return PS_OK;
	}
	if (!json_object_object_get_ex(req, "prompt", &v)) {
		*why = "prompt is required";
		return PS_ERR_ARG;
	}
	if (json_object_is_type(v, json_type_array)) {
		if ((n = json_object_array_length(v)) == 0)
			return PS_OK;
		v = json_object_array_get_idx(v, n - 1);
	}
	if (json_object_is_type(v, json_type_string))
		return sbuf_add(out, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	return PS_OK;
}

struct gen {
	int chat;                 /* chat.completion vs text_completion */
	const char *model;
	size_t model_len;
	const char *reply;
	size_t reply_len;
	unsigned long long ptok;
	unsigned long long ctok;
};

/* Append the "usage" member (no comma around it). */
static pserr PS_WARN_UNUSED
add_usage(struct sbuf *b, const struct gen *gen)
{
	return sbuf_addf(b, "\"usage\":{\"prompt_tokens\":%llu,"
	    "\"completion_tokens\":%llu,\"total_tokens\":%llu}",
	    gen->ptok, gen->ctok, gen->ptok + gen->ctok);
}

/* The opening of every object: id, object, created, model. */
static pserr PS_WARN_UNUSED
add_head(struct sbuf *b, const struct gen *gen, int chunk)
{
	pserr rc;

	if ((rc = sbuf_addf(b, "{\"id\":\"%s\",\"object\":\"%s\","
	    "\"created\":" CREATED ",\"model\":",
	    gen->chat ? "chatcmpl-test" : "cmpl-test",
	    gen->chat ? (chunk ? "chat.completion.chunk" : "chat.completion") :
	    "text_completion")) != PS_OK)
		return rc;
	return json_str(b, gen->model, gen->model_len);
}

/* Build the non-streamed completion object into b. */
static pserr PS_WARN_UNUSED
build_completion(struct sbuf *b, const struct gen *gen)
{
	pserr rc;

	if ((rc = add_head(b, gen, 0)) != PS_OK)
		return rc;
	if (gen->chat) {
		if ((rc = sbuf_adds(b, ",\"choices\":[{\"index\":0,\"message\":"
		    "{\"role\":\"assistant\",\"content\":")) != PS_OK ||
		    (rc = json_str(b, gen->reply, gen->reply_len)) != PS_OK ||
		    (rc = sbuf_adds(b, "},\"finish_reason\":\"stop\"}],")) !=
		    PS_OK)
			return rc;
	} else {
		if ((rc = sbuf_adds(b, ",\"choices\":[{\"text\":")) != PS_OK ||
		    (rc = json_str(b, gen->reply, gen->reply_len)) != PS_OK ||
		    (rc = sbuf_adds(b, ",\"index\":0,\"logprobs\":null,"
		    "\"finish_reason\":\"stop\"}],")) != PS_OK)
			return rc;
	}
	if ((rc = add_usage(b, gen)) != PS_OK)
		return rc;
	return sbuf_adds(b, "}");
}

enum ev_kind { EV_CONTENT, EV_FIRST, EV_FINAL, EV_USAGE };

/* Build one stream event's JSON into b (after what b holds). */
static pserr PS_WARN_UNUSED
build_event(struct sbuf *b, const struct gen *gen, enum ev_kind k,
    const char *s, size_t n)
{
	pserr rc;

	if ((rc = add_head(b, gen, 1)) != PS_OK)
		return rc;
	if (k == EV_USAGE) {
		if ((rc = sbuf_adds(b, ",\"choices\":[],")) != PS_OK ||
		    (rc = add_usage(b, gen)) != PS_OK)
			return rc;
		return sbuf_adds(b, "}");
	}
	if (gen->chat) {
		if (k == EV_FINAL)
			return sbuf_adds(b, ",\"choices\":[{\"index\":0,"
			    "\"delta\":{},\"finish_reason\":\"stop\"}]}");
		if ((rc = sbuf_adds(b, k == EV_FIRST ?
		    ",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
		    "\"assistant\",\"content\":" :
		    ",\"choices\":[{\"index\":0,\"delta\":{\"content\":")) !=
		    PS_OK ||
		    (rc = json_str(b, s, n)) != PS_OK)
			return rc;
		return sbuf_adds(b, "},\"finish_reason\":null}]}");
	}
	if (k == EV_FINAL)
		return sbuf_adds(b, ",\"choices\":[{\"text\":\"\",\"index\":0,"
		    "\"logprobs\":null,\"finish_reason\":\"stop\"}]}");
	if ((rc = sbuf_adds(b, ",\"choices\":[{\"text\":")) != PS_OK ||
	    (rc = json_str(b, s, n)) != PS_OK)
		return rc;
	return sbuf_adds(b, ",\"index\":0,\"logprobs\":null,"
	    "\"finish_reason\":null}]}");
}

struct stream {
	unsigned long events;
	unsigned long delay_ms;
	int64_t cut_after;        /* -1: never */
	int include_usage;
	unsigned long long sent;  /* JSON events sent */
};

/* Send c->out (one complete event) as its own HTTP chunk, after the delay
 * that precedes every event but the first. */
static pserr PS_WARN_UNUSED
stream_send(struct conn *c, struct stream *st, int first)
{
	char size[24];
	struct iovec iov[3];
	int n;

	if (!first && st->delay_ms > 0 && stop_sleep(st->delay_ms))
		return PS_ERR_IO;
	if (atomic_load(&srv.stop))
		return PS_ERR_IO;
	if (c->rq.http10)
		return conn_send(c, c->out.p, c->out.len);
	n = snprintf(size, sizeof(size), "%zx\r\n", c->out.len);
	iov[0].iov_base = size;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = c->out.p;
	iov[1].iov_len = c->out.len;
	iov[2].iov_base = (void *)"\r\n";
	iov[2].iov_len = 2;
	return conn_sendv(c, iov, 3);
}

/* Build and send one JSON event; PS_ERR_IO also when the test asked for
 * the stream to be cut before it. */
static pserr PS_WARN_UNUSED
stream_event(struct conn *c, struct stream *st, const struct gen *gen,
    enum ev_kind k, const char *s, size_t n)
{
	pserr rc;

	if (st->cut_after >= 0 && st->sent >= (unsigned long long)st->cut_after)
		return PS_ERR_IO;
	sbuf_reset(&c->out);
	if ((rc = sbuf_adds(&c->out, "data: ")) != PS_OK ||
	    (rc = build_event(&c->out, gen, k, s, n)) != PS_OK ||
	    (rc = sbuf_adds(&c->out, "\n\n")) != PS_OK)
		return rc;
	if ((rc = stream_send(c, st, st->sent == 0)) != PS_OK)
		return rc;
	st->sent++;
	return PS_OK;
}

/* Move pos forward to the start of a UTF-8 character. */
static size_t
utf8_boundary(const char *s, size_t len, size_t pos)
{
	while (pos < len && ((unsigned char)s[pos] & 0xc0) == 0x80)
		pos++;
	return pos;
}

/* Answer with a stream.  Returns nonzero when the connection must close
 * (cut on purpose, peer gone, HTTP/1.0). */
static int
stream_reply(struct conn *c, struct stream *st, const struct gen *gen)
{
#define SSE_HEAD "HTTP/1.1 200 OK\r\n" \
	"Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	static const char head10[] = SSE_HEAD "Connection: close\r\n\r\n";
	static const char head11[] = SSE_HEAD
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char head11c[] = SSE_HEAD
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
#undef SSE_HEAD
	uint64_t step, a, b;
	unsigned long i;
	pserr rc;

	if (c->rq.http10)
		rc = conn_send(c, head10, sizeof(head10) - 1);
	else if (c->rq.keep_alive)
		rc = conn_send(c, head11, sizeof(head11) - 1);
	else
		rc = conn_send(c, head11c, sizeof(head11c) - 1);
	if (rc != PS_OK)
		return 1;
	step = (gen->reply_len + st->events - 1) / st->events;
	for (i = 0; i < st->events; i++) {
		a = i * step < gen->reply_len ? i * step : gen->reply_len;
		b = a + step < gen->reply_len ? a + step : gen->reply_len;
		a = utf8_boundary(gen->reply, gen->reply_len, (size_t)a);
		b = utf8_boundary(gen->reply, gen->reply_len, (size_t)b);
		if (stream_event(c, st, gen, i == 0 ? EV_FIRST : EV_CONTENT,
		    gen->reply + a, (size_t)(b - a)) != PS_OK)
			return 1;
	}
	if (stream_event(c, st, gen, EV_FINAL, NULL, 0) != PS_OK)
		return 1;
	if (st->include_usage &&
	    stream_event(c, st, gen, EV_USAGE, NULL, 0) != PS_OK)
		return 1;
	if (st->cut_after >= 0)
		return 1;
	sbuf_reset(&c->out);
	if (sbuf_adds(&c->out, "data: [DONE]\n\n") != PS_OK ||
	    stream_send(c, st, 0) != PS_OK)
		return 1;
	if (c->rq.http10)
		return 1;
	if (conn_send(c, "0\r\n\r\n", 5) != PS_OK)
		return 1;
	return !c->rq.keep_alive;
}

/* POST /v1/chat/completions and /v1/completions. */
static int
handle_generate(struct conn *c, struct json_object *req, int chat)
{
	struct json_object *so;
	struct sbuf text, reply;
	struct stream st;
	struct gen gen;
	const char *why = NULL;
	int64_t v;
	int done = 1;
	pserr rc;

	sbuf_init(&text, BODY_MAX);
	sbuf_init(&reply, BODY_MAX + 6);
	if ((rc = input_text(req, chat, &text, &why)) != PS_OK) {
		if (rc == PS_ERR_ARG)
			done = send_error(c, 400, "invalid_request_error",
			    "invalid_request", why, c->rq.keep_alive) != PS_OK ||
			    !c->rq.keep_alive;
		else
			(void)send_error(c, 500, "server_error",
			    "internal_error", "out of memory", 0);
		goto out;
	}
	if ((rc = sbuf_adds(&reply, "echo: ")) != PS_OK ||
	    (rc = sbuf_add(&reply, text.p, text.len)) != PS_OK) {
		(void)send_error(c, 500, "server_error", "internal_error",
		    "out of memory", 0);
		goto out;
	}
	memset(&gen, 0, sizeof(gen));
	gen.chat = chat;
	if ((gen.model = member_str(req, "model", &gen.model_len)) == NULL) {
		gen.model = MODEL_DEFAULT;
		gen.model_len = strlen(MODEL_DEFAULT);
	}
	gen.reply = reply.p;
	gen.reply_len = reply.len;
	gen.ptok = (text.len + 3) / 4;
	gen.ctok = (reply.len + 3) / 4;

	/* "x_first_delay_ms": silence before the reply, for timeout tests. */
	if (member_int(req, "x_first_delay_ms", &v) && v > 0 &&
	    stop_sleep(v > DELAY_MAX_MS ? DELAY_MAX_MS : (unsigned long)v)) {
		done = 1;
		goto out;
	}
	if (!member_true(req, "stream")) {
		int64_t slow = 0, slow_n = -1, hang = 0;

		sbuf_reset(&c->out);
		if (build_completion(&c->out, &gen) != PS_OK) {
			(void)send_error(c, 500, "server_error",
			    "internal_error", "response too large", 0);
			goto out;
		}
		(void)member_int(req, "x_slow_ms", &slow);
		(void)member_int(req, "x_slow_bytes", &slow_n);
		(void)member_int(req, "x_hang_ms", &hang);
		if (slow > 0 || hang > 0) {
			if (slow > DELAY_MAX_MS)
				slow = DELAY_MAX_MS;
			if (hang > DELAY_MAX_MS)
				hang = DELAY_MAX_MS;
			done = send_paced(c, c->rq.keep_alive, slow > 0 ?
			    (unsigned long)slow : 0, slow_n >= 0 ?
			    (size_t)slow_n : c->out.len, (unsigned long)hang) !=
			    PS_OK || !c->rq.keep_alive;
			goto out;
		}
		done = send_response(c, 200, "application/json",
		    c->rq.keep_alive) != PS_OK || !c->rq.keep_alive;
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.events = srv.events;
	st.delay_ms = srv.delay_ms;
	st.cut_after = -1;
	if (member_int(req, "x_events", &v))
		st.events = v < 1 ? 1 : v > EVENTS_MAX ? EVENTS_MAX :
		    (unsigned long)v;
	if (member_int(req, "x_delay_ms", &v))
		st.delay_ms = v < 0 ? 0 : v > DELAY_MAX_MS ? DELAY_MAX_MS :
		    (unsigned long)v;
	if (member_int(req, "x_cut_after", &v))
		st.cut_after = v < 0 ? 0 : v;
	if (json_object_object_get_ex(req, "stream_options", &so) &&
	    json_object_is_type(so, json_type_object))
		st.include_usage = member_true(so, "include_usage");
	done = stream_reply(c, &st, &gen);
out:
	sbuf_free(&text);
	sbuf_free(&reply);
	return done;
}

/* FNV-1a 64 over a seed byte and the input. */
static uint64_t
fnv1a(unsigned char seed, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	h = (h ^ seed) * 0x100000001b3ULL;
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* The embedding of input s: component k is (fnv1a(k, s) % 2049 - 1024) /
 * 1024, a value in [-1, 1] that binary floats hold exactly, so that every
 * JSON printer and a float32 give the same digits. */
static void
embed_vector(const char *s, size_t n, double v[EMBED_DIM])
{
	int k;

	for (k = 0; k < EMBED_DIM; k++)
		v[k] = ((double)(fnv1a((unsigned char)k, s, n) % 2049) -
		    1024.0) / 1024.0;
}

/* Append one data item for input s to b. */
static pserr PS_WARN_UNUSED
add_embedding(struct sbuf *b, size_t idx, const char *s, size_t n,
    int base64)
{
	double v[EMBED_DIM];
	unsigned char raw[4 * EMBED_DIM];
	char enc[4 * ((4 * EMBED_DIM + 2) / 3)];
	float f;
	uint32_t u;
	size_t encn;
	int k;
	pserr rc;

	embed_vector(s, n, v);
	if ((rc = sbuf_addf(b, "%s{\"object\":\"embedding\",\"index\":%zu,"
	    "\"embedding\":", idx ? "," : "", idx)) != PS_OK)
		return rc;
	if (base64) {
		/* little-endian float32, as the OpenAI API sends them */
		for (k = 0; k < EMBED_DIM; k++) {
			f = (float)v[k];
			memcpy(&u, &f, 4);
			raw[4 * k] = (unsigned char)u;
			raw[4 * k + 1] = (unsigned char)(u >> 8);
			raw[4 * k + 2] = (unsigned char)(u >> 16);
			raw[4 * k + 3] = (unsigned char)(u >> 24);
		}
		encn = b64_encode(raw, sizeof(raw), enc);
		if ((rc = sbuf_adds(b, "\"")) != PS_OK ||
		    (rc = sbuf_add(b, enc, encn)) != PS_OK ||
		    (rc = sbuf_adds(b, "\"}")) != PS_OK)
			return rc;
		return PS_OK;
	}
	for (k = 0; k < EMBED_DIM; k++)
		if ((rc = sbuf_addf(b, "%c%.17g", k ? ',' : '[', v[k])) !=
		    PS_OK)
			return rc;
	return sbuf_adds(b, "]}");
}

/* The bytes that stand for one embedding input: a string's content, or
 * the plain JSON text of anything else (a list of token ids). */
static const char *
embed_input(struct json_object *o, size_t *n)
{
	const char *s;

	if (json_object_is_type(o, json_type_string)) {
		*n = (size_t)json_object_get_string_len(o);
		return json_object_get_string(o);
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	*n = strlen(s);
	return s;
}

/* POST /v1/embeddings. */
static int
handle_embeddings(struct conn *c, struct json_object *req)
{
	struct json_object *in, *item;
	const char *s, *model, *fmt;
	size_t i, count, n, model_len;
	unsigned long long ptok = 0;
	int single, base64;
	pserr rc;

	if (!json_object_object_get_ex(req, "input", &in) ||
	    (!json_object_is_type(in, json_type_string) &&
	    !json_object_is_type(in, json_type_array)) ||
	    (json_object_is_type(in, json_type_array) &&
	    json_object_array_length(in) == 0))
		return send_error(c, 400, "invalid_request_error",
		    "invalid_request", "input must be a string or a non-empty "
		    "array", c->rq.keep_alive) != PS_OK || !c->rq.keep_alive;
	/* A list of token ids is one input, a list of anything else many. */
	single = json_object_is_type(in, json_type_string) ||
	    json_object_is_type(json_object_array_get_idx(in, 0),
	    json_type_int);
	count = single ? 1 : json_object_array_length(in);
	fmt = member_str(req, "encoding_format", NULL);
	base64 = fmt != NULL && strcmp(fmt, "base64") == 0;
	if ((model = member_str(req, "model", &model_len)) == NULL) {
		model = MODEL_DEFAULT;
		model_len = strlen(MODEL_DEFAULT);
	}
	sbuf_reset(&c->out);
	if ((rc = sbuf_adds(&c->out, "{\"object\":\"list\",\"data\":[")) !=
	    PS_OK)
		goto fail;
	for (i = 0; i < count; i++) {
		item = single ? in : json_object_array_get_idx(in, i);
		s = embed_input(item, &n);
		ptok += (n + 3) / 4;
		if ((rc = add_embedding(&c->out, i, s, n, base64)) != PS_OK)
			goto fail;
	}
	if ((rc = sbuf_adds(&c->out, "],\"model\":")) != PS_OK ||
	    (rc = json_str(&c->out, model, model_len)) != PS_OK ||
	    (rc = sbuf_addf(&c->out, ",\"usage\":{\"prompt_tokens\":%llu,"
	    "\"total_tokens\":%llu}}", ptok, ptok)) != PS_OK)
		goto fail;
	return send_response(c, 200, "application/json", c->rq.keep_alive) !=
	    PS_OK || !c->rq.keep_alive;
fail:
	(void)send_error(c, 500, "server_error", "internal_error",
	    "response too large", 0);
	return 1;
}

/* Parse the body as one JSON object, or NULL. */
static struct json_object *
parse_body(const struct conn *c)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	const char *p = c->in + c->rq.body_off;
	size_t n = c->rq.body_len, end;

	if (n == 0 || n > INT_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, p, (int)n);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		/* only white space may follow the object */
#if JSON_C_VERSION_NUM >= (15 << 8)
		end = json_tokener_get_parse_end(tok);
#else
		end = (size_t)tok->char_offset;
#endif
		for (; end < n; end++)
			if (!strchr(" \t\r\n", p[end]) || p[end] == '\0')
				break;
		if (end == n && json_object_is_type(o, json_type_object))
			goto out;
	}
	json_object_put(o);
	o = NULL;
out:
	json_tokener_free(tok);
	return o;
}

/* ------------------------------------------------------------ issue 11 */

/*
 * The JSON endpoints of Responses, Anthropic Messages, models/{id} and
 * vLLM's extras.  Each reply carries what the test needs to prove that
 * the exact plaintext arrived: "x_body_fnv", FNV-1a 64 (seed 0, see
 * fnv1a()) of the exact body bytes in 16 lowercase hex digits, and for
 * bodyless requests "x_method", "x_path", "x_query" (the query as
 * received, "" when there is none) and "x_content_type" (the request's
 * Content-Type, "" when there is none).  Created responses are kept in memory
 * (at most RESP_MAX, the oldest dropped) for retrieve, delete,
 * input_items and cancel.
 */
#define RESP_MAX 1024
#define JFLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct stored_response {
	char id[40];
	char *json;              /* the response object */
	char *input;             /* the input text */
	char *reply;             /* the output text */
};

static struct {
	pthread_mutex_t lock;
	struct stored_response v[RESP_MAX];
	size_t next;             /* the slot the next response takes */
	unsigned long long serial;
} resp_store = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
stored_clear(struct stored_response *s)
{
	free(s->json);
	free(s->input);
	free(s->reply);
	memset(s, 0, sizeof(*s));
}

/* A fresh id with prefix: prefix, a serial number and a hash of the
 * body, so ids differ across requests and runs see the same ones. */
static void
make_id(char *out, size_t outlen, const char *prefix, const char *body,
    size_t n)
{
	unsigned long long k;

	pthread_mutex_lock(&resp_store.lock);
	k = ++resp_store.serial;
	pthread_mutex_unlock(&resp_store.lock);
	snprintf(out, outlen, "%s%04llx%012llx", prefix, k & 0xffff,
	    (unsigned long long)(fnv1a(0, body, n) & 0xffffffffffffULL));
}

static int
store_put(const char *id, const char *json, const char *input,
    const char *reply)
{
	struct stored_response *s;
	int ok;

	pthread_mutex_lock(&resp_store.lock);
	s = &resp_store.v[resp_store.next];
	stored_clear(s);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->json = strdup(json);
	s->input = strdup(input);
	s->reply = strdup(reply);
	ok = s->json != NULL && s->input != NULL && s->reply != NULL;
	if (!ok)
		stored_clear(s);
	else
		resp_store.next = (resp_store.next + 1) % RESP_MAX;
	pthread_mutex_unlock(&resp_store.lock);
	return ok;
}

/* A copy of the response stored as id (*json, *input, *reply, to be
 * freed), optionally removed; 0 when there is none. */
static int
store_get(const char *id, int remove, char **json, char **input,
    char **reply)
{
	size_t i;
	int found = 0;

	*json = *input = *reply = NULL;
	pthread_mutex_lock(&resp_store.lock);
	for (i = 0; i < RESP_MAX && !found; i++) {
		struct stored_response *s = &resp_store.v[i];

		if (s->json == NULL || strcmp(s->id, id) != 0)
			continue;
		*json = strdup(s->json);
		*input = strdup(s->input);
		*reply = strdup(s->reply);
		found = 1;
		if (*json == NULL || *input == NULL || *reply == NULL) {
			free(*json);
			free(*input);
			free(*reply);
			*json = *input = *reply = NULL;
			found = -1;
		}
		if (remove)
			stored_clear(s);
	}
	pthread_mutex_unlock(&resp_store.lock);
	return found == 1;
}

/* Replace a stored response's object (a cancel). */
static void
store_update(const char *id, const char *json)
{
	size_t i;
	char *j;

	pthread_mutex_lock(&resp_store.lock);
	for (i = 0; i < RESP_MAX; i++) {
		struct stored_response *s = &resp_store.v[i];

		if (s->json != NULL && strcmp(s->id, id) == 0 &&
		    (j = strdup(json)) != NULL) {
			free(s->json);
			s->json = j;
		}
	}
	pthread_mutex_unlock(&resp_store.lock);
}

static void
add_str(struct json_object *o, const char *name, const char *s, size_t n)
{
	json_object_object_add(o, name, json_object_new_string_len(s,
	    (int)n));
}

static void
add_int(struct json_object *o, const char *name, int64_t v)
{
	json_object_object_add(o, name, json_object_new_int64(v));
}

/* The request's body hash, as x_body_fnv. */
static void
add_body_fnv(struct json_object *o, const struct conn *c)
{
	char h[17];

	snprintf(h, sizeof(h), "%016llx", (unsigned long long)fnv1a(0,
	    c->in + c->rq.body_off, c->rq.body_len));
	add_str(o, "x_body_fnv", h, 16);
}

/* The query as received, "" when there is none. */
static const char *
req_query(const struct request *rq)
{
	return rq->target[rq->path_len] == '?' ?
	    rq->target + rq->path_len + 1 : "";
}

/* 1 when the query holds name=value as one of its &-separated parts. */
static int
query_has(const struct request *rq, const char *part)
{
	const char *q = req_query(rq), *e;
	size_t n = strlen(part);

	for (; *q != '\0'; q = *e ? e + 1 : e) {
		e = strchr(q, '&');
		if (e == NULL)
			e = q + strlen(q);
		if ((size_t)(e - q) == n && memcmp(q, part, n) == 0)
			return 1;
	}
	return 0;
}

static void
add_bodyless_echo(struct json_object *o, const struct conn *c)
{
	const struct request *rq = &c->rq;
	const char *q = req_query(rq);

	add_str(o, "x_method", rq->method, strlen(rq->method));
	add_str(o, "x_path", rq->target, rq->path_len);
	add_str(o, "x_query", q, strlen(q));
	add_str(o, "x_content_type", rq->ctype, strlen(rq->ctype));
}

/* Send o as a JSON body with status; drops o.  Returns nonzero when the
 * connection must close. */
static int
send_json(struct conn *c, int status, struct json_object *o)
{
	const char *s;
	int keep = c->rq.keep_alive;

	if (o == NULL || (s = json_object_to_json_string_ext(o, JFLAGS)) ==
	    NULL) {
		json_object_put(o);
		(void)send_error(c, 500, "server_error", "internal_error",
		    "out of memory", 0);
		return 1;
	}
	sbuf_reset(&c->out);
	if (sbuf_adds(&c->out, s) != PS_OK) {
		json_object_put(o);
		(void)send_error(c, 500, "server_error", "internal_error",
		    "response too large", 0);
		return 1;
	}
	json_object_put(o);
	return send_response(c, status, "application/json", keep) != PS_OK ||
	    !keep;
}

static int
bad_request(struct conn *c, const char *why)
{
	return send_error(c, 400, "invalid_request_error", "invalid_request",
	    why, c->rq.keep_alive) != PS_OK || !c->rq.keep_alive;
}

static int
not_found(struct conn *c, const char *why)
{
	return send_error(c, 404, "invalid_request_error", "not_found", why,
	    c->rq.keep_alive) != PS_OK || !c->rq.keep_alive;
}

/*
 * The text of the last item of array msgs with role "user": a string
 * content, or the "text" members of its content parts joined (with
 * nested set, a part's string "content" too: Anthropic's tool_result).
 */
static pserr PS_WARN_UNUSED
last_user_text(struct json_object *msgs, int nested, struct sbuf *out)
{
	struct json_object *m, *content, *part, *t;
	const char *s;
	size_t i, k;

	if (!json_object_is_type(msgs, json_type_array))
		return PS_ERR_ARG;
	for (i = json_object_array_length(msgs); i > 0; i--) {
		m = json_object_array_get_idx(msgs, i - 1);
		if ((s = member_str(m, "role", NULL)) == NULL ||
		    strcmp(s, "user") != 0 ||
		    !json_object_object_get_ex(m, "content", &content))
			continue;
		if (json_object_is_type(content, json_type_string))
			return sbuf_add(out, json_object_get_string(content),
			    (size_t)json_object_get_string_len(content));
		if (!json_object_is_type(content, json_type_array))
			return PS_ERR_ARG;
		for (k = 0; k < json_object_array_length(content); k++) {
			part = json_object_array_get_idx(content, k);
			if ((json_object_object_get_ex(part, "text", &t) ||
			    (nested && json_object_object_get_ex(part,
			    "content", &t))) &&
			    json_object_is_type(t, json_type_string) &&
			    sbuf_add(out, json_object_get_string(t),
			    (size_t)json_object_get_string_len(t)) != PS_OK)
				return PS_ERR_TOO_LARGE;
		}
		return PS_OK;
	}
	return PS_ERR_ARG;
}

/* The text of a Responses "input": the string, or the text of the last
 * item with role "user" (a string content, or its input_text parts). */
static pserr PS_WARN_UNUSED
responses_input(struct json_object *req, struct sbuf *out)
{
	struct json_object *in;

	if (!json_object_object_get_ex(req, "input", &in))
		return PS_ERR_ARG;
	if (json_object_is_type(in, json_type_string))
		return sbuf_add(out, json_object_get_string(in),
		    (size_t)json_object_get_string_len(in));
	return last_user_text(in, 0, out);
}

/* The output message item of a response with text (n bytes). */
static struct json_object *
output_item(const char *resp_id, const char *text, size_t n,
    const char *status)
{
	struct json_object *item = json_object_new_object(), *content, *part;
	char id[48];

	snprintf(id, sizeof(id), "msg_%s", resp_id + 5);
	add_str(item, "id", id, strlen(id));
	add_str(item, "type", "message", 7);
	add_str(item, "status", status, strlen(status));
	add_str(item, "role", "assistant", 9);
	content = json_object_new_array();
	if (text != NULL) {
		part = json_object_new_object();
		add_str(part, "type", "output_text", 11);
		add_str(part, "text", text, n);
		json_object_object_add(part, "annotations",
		    json_object_new_array());
		json_object_array_add(content, part);
	}
	json_object_object_add(item, "content", content);
	return item;
}

static struct json_object *
usage_responses(size_t in, size_t out)
{
	struct json_object *u = json_object_new_object(), *d;

	add_int(u, "input_tokens", (int64_t)(in + 3) / 4);
	d = json_object_new_object();
	add_int(d, "cached_tokens", 0);
	json_object_object_add(u, "input_tokens_details", d);
	add_int(u, "output_tokens", (int64_t)(out + 3) / 4);
	d = json_object_new_object();
	add_int(d, "reasoning_tokens", 0);
	json_object_object_add(u, "output_tokens_details", d);
	add_int(u, "total_tokens", (int64_t)((in + 3) / 4 + (out + 3) / 4));
	return u;
}

/* A response object: status "in_progress" without output and usage,
 * else "completed" (or status) with them. */
static struct json_object *
response_object(const char *id, const char *model, size_t model_len,
    const char *status, const char *input, const char *text, int full)
{
	struct json_object *r = json_object_new_object(), *out;

	add_str(r, "id", id, strlen(id));
	add_str(r, "object", "response", 8);
	add_int(r, "created_at", 1700000000);
	add_str(r, "status", status, strlen(status));
	add_str(r, "model", model, model_len);
	out = json_object_new_array();
	if (full)
		json_object_array_add(out, output_item(id, text, strlen(text),
		    "completed"));
	json_object_object_add(r, "output", out);
	json_object_object_add(r, "parallel_tool_calls",
	    json_object_new_boolean(1));
	json_object_object_add(r, "tools", json_object_new_array());
	add_str(r, "tool_choice", "auto", 4);
	json_object_object_add(r, "error", NULL);
	json_object_object_add(r, "incomplete_details", NULL);
	json_object_object_add(r, "usage", full ?
	    usage_responses(strlen(input), strlen(text)) : NULL);
	return r;
}

/* Send the head of a text/event-stream reply (chunked unless HTTP/1.0). */
static pserr PS_WARN_UNUSED
typed_head(struct conn *c)
{
#define SSE_HEAD "HTTP/1.1 200 OK\r\n" \
	"Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	static const char head10[] = SSE_HEAD "Connection: close\r\n\r\n";
	static const char head11[] = SSE_HEAD
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char head11c[] = SSE_HEAD
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
#undef SSE_HEAD
	if (c->rq.http10)
		return conn_send(c, head10, sizeof(head10) - 1);
	if (c->rq.keep_alive)
		return conn_send(c, head11, sizeof(head11) - 1);
	return conn_send(c, head11c, sizeof(head11c) - 1);
}

/* Send one typed event "event: name\ndata: <o>\n\n" as its own chunk
 * (o dropped); PS_ERR_IO also when the test asked for the stream to be
 * cut before it ("x_cut_after": K events). */
static pserr PS_WARN_UNUSED
typed_event(struct conn *c, struct stream *st, const char *name,
    struct json_object *o)
{
	const char *s;
	pserr rc;

	if (st->cut_after >= 0 && st->sent >= (unsigned long long)st->cut_after) {
		json_object_put(o);
		return PS_ERR_IO;
	}
	sbuf_reset(&c->out);
	s = json_object_to_json_string_ext(o, JFLAGS);
	if (s == NULL)
		rc = PS_ERR_NOMEM;
	else if ((rc = sbuf_addf(&c->out, "event: %s\ndata: ", name)) ==
	    PS_OK && (rc = sbuf_adds(&c->out, s)) == PS_OK)
		rc = sbuf_adds(&c->out, "\n\n");
	json_object_put(o);
	if (rc != PS_OK)
		return rc;
	if ((rc = stream_send(c, st, st->sent == 0)) != PS_OK)
		return rc;
	st->sent++;
	return PS_OK;
}

/* The end of a typed stream: the last chunk. */
static int
typed_end(struct conn *c, struct stream *st)
{
	if (st->cut_after >= 0 || c->rq.http10)
		return 1;
	if (conn_send(c, "0\r\n\r\n", 5) != PS_OK)
		return 1;
	return !c->rq.keep_alive;
}

static void
stream_setup(struct stream *st, struct json_object *req)
{
	int64_t v;

	memset(st, 0, sizeof(*st));
	st->events = srv.events;
	st->delay_ms = srv.delay_ms;
	st->cut_after = -1;
	if (req == NULL)
		return;
	if (member_int(req, "x_events", &v))
		st->events = v < 1 ? 1 : v > EVENTS_MAX ? EVENTS_MAX :
		    (unsigned long)v;
	if (member_int(req, "x_delay_ms", &v))
		st->delay_ms = v < 0 ? 0 : v > DELAY_MAX_MS ? DELAY_MAX_MS :
		    (unsigned long)v;
	if (member_int(req, "x_cut_after", &v))
		st->cut_after = v < 0 ? 0 : v;
}

/* The slice i of st->events of text (n bytes), at UTF-8 boundaries. */
static void
slice(const char *text, size_t n, unsigned long events, unsigned long i,
    size_t *a, size_t *b)
{
	uint64_t step = (n + events - 1) / events;

	*a = i * step < n ? (size_t)(i * step) : n;
	*b = *a + step < n ? (size_t)(*a + step) : n;
	*a = utf8_boundary(text, n, *a);
	*b = utf8_boundary(text, n, *b);
}

static struct json_object *
ev_obj(const char *type, int64_t *seq)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "type", type, strlen(type));
	if (seq != NULL)
		add_int(o, "sequence_number", (*seq)++);
	return o;
}

/* A Responses stream for the response resp (a full object, "completed"),
 * its output text: the events of the real API, in its order. */
static int
responses_stream(struct conn *c, struct stream *st, const char *respjson,
    const char *text)
{
	struct json_object *resp = json_tokener_parse(respjson), *o, *r;
	const char *id;
	char item_id[48];
	int64_t seq = 0;
	size_t n = strlen(text), a, b;
	unsigned long i;
	int done = 1;

	if (resp == NULL)
		return 1;
	id = member_str(resp, "id", NULL);
	snprintf(item_id, sizeof(item_id), "msg_%s", id + 5);
	if (typed_head(c) != PS_OK)
		goto out;
	/* created and in_progress carry the response without its output */
	r = json_tokener_parse(respjson);
	json_object_object_add(r, "status", json_object_new_string(
	    "in_progress"));
	json_object_object_add(r, "output", json_object_new_array());
	json_object_object_add(r, "usage", NULL);
	o = ev_obj("response.created", &seq);
	json_object_object_add(o, "response", json_object_get(r));
	if (typed_event(c, st, "response.created", o) != PS_OK) {
		json_object_put(r);
		goto out;
	}
	o = ev_obj("response.in_progress", &seq);
	json_object_object_add(o, "response", r);
	if (typed_event(c, st, "response.in_progress", o) != PS_OK)
		goto out;
	o = ev_obj("response.output_item.added", &seq);
	add_int(o, "output_index", 0);
	json_object_object_add(o, "item", output_item(id, NULL, 0,
	    "in_progress"));
	if (typed_event(c, st, "response.output_item.added", o) != PS_OK)
		goto out;
	o = ev_obj("response.content_part.added", &seq);
	add_str(o, "item_id", item_id, strlen(item_id));
	add_int(o, "output_index", 0);
	add_int(o, "content_index", 0);
	r = json_object_new_object();
	add_str(r, "type", "output_text", 11);
	add_str(r, "text", "", 0);
	json_object_object_add(r, "annotations", json_object_new_array());
	json_object_object_add(o, "part", r);
	if (typed_event(c, st, "response.content_part.added", o) != PS_OK)
		goto out;
	for (i = 0; i < st->events; i++) {
		slice(text, n, st->events, i, &a, &b);
		o = ev_obj("response.output_text.delta", &seq);
		add_str(o, "item_id", item_id, strlen(item_id));
		add_int(o, "output_index", 0);
		add_int(o, "content_index", 0);
		add_str(o, "delta", text + a, b - a);
		json_object_object_add(o, "logprobs", json_object_new_array());
		if (typed_event(c, st, "response.output_text.delta", o) != PS_OK)
			goto out;
	}
	o = ev_obj("response.output_text.done", &seq);
	add_str(o, "item_id", item_id, strlen(item_id));
	add_int(o, "output_index", 0);
	add_int(o, "content_index", 0);
	add_str(o, "text", text, n);
	json_object_object_add(o, "logprobs", json_object_new_array());
	if (typed_event(c, st, "response.output_text.done", o) != PS_OK)
		goto out;
	o = ev_obj("response.content_part.done", &seq);
	add_str(o, "item_id", item_id, strlen(item_id));
	add_int(o, "output_index", 0);
	add_int(o, "content_index", 0);
	r = json_object_new_object();
	add_str(r, "type", "output_text", 11);
	add_str(r, "text", text, n);
	json_object_object_add(r, "annotations", json_object_new_array());
	json_object_object_add(o, "part", r);
	if (typed_event(c, st, "response.content_part.done", o) != PS_OK)
		goto out;
	o = ev_obj("response.output_item.done", &seq);
	add_int(o, "output_index", 0);
	json_object_object_add(o, "item", output_item(id, text, n,
	    "completed"));
	if (typed_event(c, st, "response.output_item.done", o) != PS_OK)
		goto out;
	o = ev_obj("response.completed", &seq);
	json_object_object_add(o, "response", json_object_get(resp));
	if (typed_event(c, st, "response.completed", o) != PS_OK)
		goto out;
	done = typed_end(c, st);
out:
	json_object_put(resp);
	return done;
}

/* POST /v1/responses: output text "echo: " + the input's text. */
static int
handle_responses(struct conn *c, struct json_object *req)
{
	struct sbuf text;
	struct json_object *resp;
	struct stream st;
	const char *model, *js;
	char id[40], *reply = NULL, *respjson = NULL;
	size_t model_len;
	int done;

	sbuf_init(&text, BODY_MAX);
	if (responses_input(req, &text) != PS_OK || sbuf_add(&text, "", 1) !=
	    PS_OK) {
		done = bad_request(c, "input must be a string or a list of "
		    "items with a user message");
		goto out;
	}
	if ((model = member_str(req, "model", &model_len)) == NULL) {
		model = MODEL_DEFAULT;
		model_len = strlen(MODEL_DEFAULT);
	}
	if ((reply = malloc(text.len + 6)) == NULL) {
		done = 1;
		goto out;
	}
	snprintf(reply, text.len + 6, "echo: %s", text.p);
	make_id(id, sizeof(id), "resp_", c->in + c->rq.body_off,
	    c->rq.body_len);
	resp = response_object(id, model, model_len, "completed", text.p,
	    reply, 1);
	add_body_fnv(resp, c);
	js = json_object_to_json_string_ext(resp, JFLAGS);
	if (js == NULL || (respjson = strdup(js)) == NULL ||
	    !store_put(id, respjson, text.p, reply)) {
		json_object_put(resp);
		(void)send_error(c, 500, "server_error", "internal_error",
		    "out of memory", 0);
		done = 1;
		goto out;
	}
	if (!member_true(req, "stream")) {
		done = send_json(c, 200, resp);
		goto out;
	}
	json_object_put(resp);
	stream_setup(&st, req);
	done = responses_stream(c, &st, respjson, reply);
out:
	free(reply);
	free(respjson);
	sbuf_free(&text);
	return done;
}

/* GET, DELETE /v1/responses/{id}, GET .../input_items, POST .../cancel:
 * the id is the path segment after "/v1/responses/" (as sent: response
 * ids hold nothing percent-encoded). */
static int
handle_response_id(struct conn *c, const char *id, size_t idlen,
    const char *what)
{
	char key[64], *json = NULL, *input = NULL, *reply = NULL;
	struct json_object *o = NULL, *list, *item, *content, *part;
	struct stream st;
	int done;

	if (idlen >= sizeof(key))
		return not_found(c, "no such response");
	memcpy(key, id, idlen);
	key[idlen] = '\0';
	if (!store_get(key, strcmp(what, "delete") == 0, &json, &input,
	    &reply)) {
		done = not_found(c, "no such response");
		goto out;
	}
	if (strcmp(what, "get") == 0 && query_has(&c->rq, "stream=true")) {
		stream_setup(&st, NULL);
		done = responses_stream(c, &st, json, reply);
		goto out;
	}
	if (strcmp(what, "delete") == 0) {
		o = json_object_new_object();
		add_str(o, "id", key, idlen);
		add_str(o, "object", "response", 8);
		json_object_object_add(o, "deleted",
		    json_object_new_boolean(1));
	} else if (strcmp(what, "input_items") == 0) {
		char in_id[80];

		snprintf(in_id, sizeof(in_id), "msg_in_%s", key + 5);
		o = json_object_new_object();
		add_str(o, "object", "list", 4);
		list = json_object_new_array();
		item = json_object_new_object();
		add_str(item, "id", in_id, strlen(in_id));
		add_str(item, "type", "message", 7);
		add_str(item, "role", "user", 4);
		add_str(item, "status", "completed", 9);
		content = json_object_new_array();
		part = json_object_new_object();
		add_str(part, "type", "input_text", 10);
		add_str(part, "text", input, strlen(input));
		json_object_array_add(content, part);
		json_object_object_add(item, "content", content);
		json_object_array_add(list, item);
		json_object_object_add(o, "data", list);
		add_str(o, "first_id", in_id, strlen(in_id));
		add_str(o, "last_id", in_id, strlen(in_id));
		json_object_object_add(o, "has_more",
		    json_object_new_boolean(0));
	} else {
		o = json_tokener_parse(json);
		if (o != NULL && strcmp(what, "cancel") == 0) {
			const char *js;

			json_object_object_add(o, "status",
			    json_object_new_string("cancelled"));
			if ((js = json_object_to_json_string_ext(o, JFLAGS)) !=
			    NULL)
				store_update(key, js);
		}
	}
	if (o != NULL)
		add_bodyless_echo(o, c);
	done = send_json(c, 200, o);
out:
	free(json);
	free(input);
	free(reply);
	return done;
}

/* GET /v1/models/{id}: the id decoded (as an inference server does) in
 * "id", as received in "x_path_id". */
static int
handle_model(struct conn *c, const char *id, size_t idlen)
{
	struct json_object *o;
	char dec[TARGET_MAX];
	size_t i, n = 0;

	for (i = 0; i < idlen && n < sizeof(dec); i++) {
		if (id[i] == '%' && idlen - i >= 3 &&
		    isxdigit((unsigned char)id[i + 1]) &&
		    isxdigit((unsigned char)id[i + 2])) {
			char hex[3] = { id[i + 1], id[i + 2], '\0' };

			dec[n++] = (char)strtoul(hex, NULL, 16);
			i += 2;
		} else {
			dec[n++] = id[i];
		}
	}
	o = json_object_new_object();
	add_str(o, "id", dec, n);
	add_str(o, "object", "model", 5);
	add_int(o, "created", 1700000000);
	add_str(o, "owned_by", "promptseal", 10);
	add_str(o, "x_path_id", id, idlen);
	add_bodyless_echo(o, c);
	return send_json(c, 200, o);
}

/* The text of the last "user" message of an Anthropic request: a string
 * content, or its text blocks and tool_result contents joined. */
static pserr PS_WARN_UNUSED
messages_input(struct json_object *req, struct sbuf *out)
{
	struct json_object *msgs;

	if (!json_object_object_get_ex(req, "messages", &msgs))
		return PS_ERR_ARG;
	return last_user_text(msgs, 1, out);
}

/* The name of the first tool of the request, or NULL. */
static const char *
first_tool(struct json_object *req)
{
	struct json_object *tools;

	if (!json_object_object_get_ex(req, "tools", &tools) ||
	    !json_object_is_type(tools, json_type_array) ||
	    json_object_array_length(tools) == 0)
		return NULL;
	return member_str(json_object_array_get_idx(tools, 0), "name", NULL);
}

static struct json_object *
usage_messages(size_t in, size_t out)
{
	struct json_object *u = json_object_new_object();

	add_int(u, "input_tokens", (int64_t)(in + 3) / 4);
	add_int(u, "output_tokens", (int64_t)(out + 3) / 4);
	return u;
}

/* POST /v1/messages: a text block "echo: " + the last user text, or,
 * when the request has tools, a tool_use block for the first tool with
 * input {"text": that echo}. */
static int
handle_messages(struct conn *c, struct json_object *req)
{
	struct sbuf text;
	struct json_object *o, *content, *blk, *input, *d;
	struct stream st;
	const char *model, *tool, *js;
	char id[40], tid[48], *reply = NULL, *injson = NULL;
	size_t model_len, n, a, b;
	unsigned long i;
	int done = 1;

	sbuf_init(&text, BODY_MAX);
	if (messages_input(req, &text) != PS_OK || sbuf_add(&text, "", 1) !=
	    PS_OK) {
		done = bad_request(c, "messages must end in a user message");
		goto out;
	}
	if ((model = member_str(req, "model", &model_len)) == NULL) {
		model = MODEL_DEFAULT;
		model_len = strlen(MODEL_DEFAULT);
	}
	if ((reply = malloc(text.len + 6)) == NULL)
		goto out;
	snprintf(reply, text.len + 6, "echo: %s", text.p);
	n = strlen(reply);
	make_id(id, sizeof(id), "msg_", c->in + c->rq.body_off,
	    c->rq.body_len);
	snprintf(tid, sizeof(tid), "toolu_%s", id + 4);
	tool = first_tool(req);
	input = json_object_new_object();
	add_str(input, "text", reply, n);
	if ((js = json_object_to_json_string_ext(input, JFLAGS)) == NULL ||
	    (injson = strdup(js)) == NULL) {
		json_object_put(input);
		goto out;
	}
	if (!member_true(req, "stream")) {
		o = json_object_new_object();
		add_str(o, "id", id, strlen(id));
		add_str(o, "type", "message", 7);
		add_str(o, "role", "assistant", 9);
		add_str(o, "model", model, model_len);
		content = json_object_new_array();
		blk = json_object_new_object();
		if (tool != NULL) {
			add_str(blk, "type", "tool_use", 8);
			add_str(blk, "id", tid, strlen(tid));
			add_str(blk, "name", tool, strlen(tool));
			json_object_object_add(blk, "input", input);
		} else {
			json_object_put(input);
			add_str(blk, "type", "text", 4);
			add_str(blk, "text", reply, n);
		}
		json_object_array_add(content, blk);
		json_object_object_add(o, "content", content);
		add_str(o, "stop_reason", tool ? "tool_use" : "end_turn",
		    tool ? 8 : 8);
		json_object_object_add(o, "stop_sequence", NULL);
		json_object_object_add(o, "usage", usage_messages(text.len - 1,
		    n));
		add_body_fnv(o, c);
		done = send_json(c, 200, o);
		goto out;
	}
	json_object_put(input);
	stream_setup(&st, req);
	if (typed_head(c) != PS_OK)
		goto out;
	o = ev_obj("message_start", NULL);
	d = json_object_new_object();
	add_str(d, "id", id, strlen(id));
	add_str(d, "type", "message", 7);
	add_str(d, "role", "assistant", 9);
	add_str(d, "model", model, model_len);
	json_object_object_add(d, "content", json_object_new_array());
	json_object_object_add(d, "stop_reason", NULL);
	json_object_object_add(d, "stop_sequence", NULL);
	json_object_object_add(d, "usage", usage_messages(text.len - 1, 0));
	add_body_fnv(d, c);
	json_object_object_add(o, "message", d);
	if (typed_event(c, &st, "message_start", o) != PS_OK)
		goto out;
	o = ev_obj("content_block_start", NULL);
	add_int(o, "index", 0);
	blk = json_object_new_object();
	if (tool != NULL) {
		add_str(blk, "type", "tool_use", 8);
		add_str(blk, "id", tid, strlen(tid));
		add_str(blk, "name", tool, strlen(tool));
		json_object_object_add(blk, "input", json_object_new_object());
	} else {
		add_str(blk, "type", "text", 4);
		add_str(blk, "text", "", 0);
	}
	json_object_object_add(o, "content_block", blk);
	if (typed_event(c, &st, "content_block_start", o) != PS_OK)
		goto out;
	if (typed_event(c, &st, "ping", ev_obj("ping", NULL)) != PS_OK)
		goto out;
	for (i = 0; i < st.events; i++) {
		const char *src = tool ? injson : reply;

		slice(src, strlen(src), st.events, i, &a, &b);
		o = ev_obj("content_block_delta", NULL);
		add_int(o, "index", 0);
		d = json_object_new_object();
		if (tool != NULL) {
			add_str(d, "type", "input_json_delta", 16);
			add_str(d, "partial_json", src + a, b - a);
		} else {
			add_str(d, "type", "text_delta", 10);
			add_str(d, "text", src + a, b - a);
		}
		json_object_object_add(o, "delta", d);
		if (typed_event(c, &st, "content_block_delta", o) != PS_OK)
			goto out;
	}
	o = ev_obj("content_block_stop", NULL);
	add_int(o, "index", 0);
	if (typed_event(c, &st, "content_block_stop", o) != PS_OK)
		goto out;
	o = ev_obj("message_delta", NULL);
	d = json_object_new_object();
	add_str(d, "stop_reason", tool ? "tool_use" : "end_turn", 8);
	json_object_object_add(d, "stop_sequence", NULL);
	json_object_object_add(o, "delta", d);
	d = json_object_new_object();
	add_int(d, "output_tokens", (int64_t)(n + 3) / 4);
	json_object_object_add(o, "usage", d);
	if (typed_event(c, &st, "message_delta", o) != PS_OK)
		goto out;
	if (typed_event(c, &st, "message_stop", ev_obj("message_stop",
	    NULL)) != PS_OK)
		goto out;
	done = typed_end(c, &st);
out:
	free(reply);
	free(injson);
	sbuf_free(&text);
	return done;
}

/* POST /v1/messages/count_tokens: ceil(bytes / 4) of the last user text. */
static int
handle_count_tokens(struct conn *c, struct json_object *req)
{
	struct sbuf text;
	struct json_object *o;
	int done;

	sbuf_init(&text, BODY_MAX);
	if (messages_input(req, &text) != PS_OK) {
		done = bad_request(c, "messages must end in a user message");
	} else {
		o = json_object_new_object();
		add_int(o, "input_tokens", (int64_t)(text.len + 3) / 4);
		add_body_fnv(o, c);
		done = send_json(c, 200, o);
	}
	sbuf_free(&text);
	return done;
}

/* A relevance score in [0, 1] for query and document: exact in binary
 * floats, so every JSON printer gives the same digits. */
static double
pair_score(const char *q, size_t qn, const char *d, size_t dn)
{
	uint64_t h = fnv1a(0, q, qn) ^ fnv1a(1, d, dn);

	return (double)(h % 1025) / 1024.0;
}

static struct json_object *
usage_total(size_t bytes)
{
	struct json_object *u = json_object_new_object();

	add_int(u, "prompt_tokens", (int64_t)(bytes + 3) / 4);
	add_int(u, "total_tokens", (int64_t)(bytes + 3) / 4);
	return u;
}

/* POST /v1/rerank, /rerank, /v2/rerank: each document (a string, or an
 * object with "text") with its score, in the documents' order, and the
 * path that was asked for in "x_path". */
static int
handle_rerank(struct conn *c, struct json_object *req)
{
	struct json_object *docs, *d, *t, *o, *results, *r, *doc;
	const char *q, *s, *model;
	size_t qn, sn, i, bytes, model_len;
	char id[40];

	if ((q = member_str(req, "query", &qn)) == NULL ||
	    !json_object_object_get_ex(req, "documents", &docs) ||
	    !json_object_is_type(docs, json_type_array))
		return bad_request(c, "query and documents are required");
	if ((model = member_str(req, "model", &model_len)) == NULL) {
		model = MODEL_DEFAULT;
		model_len = strlen(MODEL_DEFAULT);
	}
	bytes = qn;
	results = json_object_new_array();
	for (i = 0; i < json_object_array_length(docs); i++) {
		d = json_object_array_get_idx(docs, i);
		if (json_object_is_type(d, json_type_string)) {
			s = json_object_get_string(d);
			sn = (size_t)json_object_get_string_len(d);
		} else if (json_object_object_get_ex(d, "text", &t) &&
		    json_object_is_type(t, json_type_string)) {
			s = json_object_get_string(t);
			sn = (size_t)json_object_get_string_len(t);
		} else {
			json_object_put(results);
			return bad_request(c, "a document is a string or has "
			    "text");
		}
		bytes += sn;
		r = json_object_new_object();
		add_int(r, "index", (int64_t)i);
		doc = json_object_new_object();
		add_str(doc, "text", s, sn);
		json_object_object_add(r, "document", doc);
		json_object_object_add(r, "relevance_score",
		    json_object_new_double(pair_score(q, qn, s, sn)));
		json_object_array_add(results, r);
	}
	make_id(id, sizeof(id), "rerank-", c->in + c->rq.body_off,
	    c->rq.body_len);
	o = json_object_new_object();
	add_str(o, "id", id, strlen(id));
	add_str(o, "model", model, model_len);
	json_object_object_add(o, "usage", usage_total(bytes));
	json_object_object_add(o, "results", results);
	add_str(o, "x_path", c->rq.target, c->rq.path_len);
	add_body_fnv(o, c);
	return send_json(c, 200, o);
}

/* POST /v1/score: text_1 (a string) against text_2 (a string or a list). */
static int
handle_score(struct conn *c, struct json_object *req)
{
	struct json_object *t2, *d, *o, *data, *r;
	const char *q, *model;
	size_t qn, i, n, bytes, model_len;
	char id[40];

	if ((q = member_str(req, "text_1", &qn)) == NULL ||
	    !json_object_object_get_ex(req, "text_2", &t2) ||
	    (!json_object_is_type(t2, json_type_string) &&
	    !json_object_is_type(t2, json_type_array)))
		return bad_request(c, "text_1 and text_2 are required");
	if ((model = member_str(req, "model", &model_len)) == NULL) {
		model = MODEL_DEFAULT;
		model_len = strlen(MODEL_DEFAULT);
	}
	n = json_object_is_type(t2, json_type_string) ? 1 :
	    json_object_array_length(t2);
	bytes = qn;
	data = json_object_new_array();
	for (i = 0; i < n; i++) {
		d = json_object_is_type(t2, json_type_string) ? t2 :
		    json_object_array_get_idx(t2, i);
		if (!json_object_is_type(d, json_type_string)) {
			json_object_put(data);
			return bad_request(c, "text_2 holds strings");
		}
		bytes += (size_t)json_object_get_string_len(d);
		r = json_object_new_object();
		add_int(r, "index", (int64_t)i);
		add_str(r, "object", "score", 5);
		json_object_object_add(r, "score", json_object_new_double(
		    pair_score(q, qn, json_object_get_string(d),
		    (size_t)json_object_get_string_len(d))));
		json_object_array_add(data, r);
	}
	make_id(id, sizeof(id), "score-", c->in + c->rq.body_off,
	    c->rq.body_len);
	o = json_object_new_object();
	add_str(o, "id", id, strlen(id));
	add_str(o, "object", "list", 4);
	add_int(o, "created", 1700000000);
	add_str(o, "model", model, model_len);
	json_object_object_add(o, "data", data);
	json_object_object_add(o, "usage", usage_total(bytes));
	add_body_fnv(o, c);
	return send_json(c, 200, o);
}

/* POST /tokenize: one token per byte of "prompt" (or of the last user
 * message of "messages"), its value the byte; /detokenize inverts it. */
static int
handle_tokenize(struct conn *c, struct json_object *req)
{
	struct json_object *o, *toks;
	struct sbuf text;
	const char *p;
	size_t n, i;
	int done;

	sbuf_init(&text, BODY_MAX);
	if ((p = member_str(req, "prompt", &n)) == NULL) {
		if (input_text(req, 1, &text, &p) != PS_OK) {
			done = bad_request(c, "prompt or messages is required");
			goto out;
		}
		p = text.p != NULL ? text.p : "";
		n = text.len;
	}
	toks = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(toks, json_object_new_int(
		    (unsigned char)p[i]));
	o = json_object_new_object();
	add_int(o, "count", (int64_t)n);
	add_int(o, "max_model_len", 32768);
	json_object_object_add(o, "tokens", toks);
	add_body_fnv(o, c);
	done = send_json(c, 200, o);
out:
	sbuf_free(&text);
	return done;
}

static int
handle_detokenize(struct conn *c, struct json_object *req)
{
	struct json_object *toks, *t, *o;
	char *s;
	size_t n, i;
	int64_t v;

	if (!json_object_object_get_ex(req, "tokens", &toks) ||
	    !json_object_is_type(toks, json_type_array))
		return bad_request(c, "tokens is required");
	n = json_object_array_length(toks);
	if ((s = malloc(n + 1)) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(toks, i);
		if (!json_object_is_type(t, json_type_int) ||
		    (v = json_object_get_int64(t)) < 1 || v > 255) {
			free(s);
			return bad_request(c, "a token is a byte value");
		}
		s[i] = (char)v;
	}
	o = json_object_new_object();
	add_str(o, "prompt", s, n);
	add_body_fnv(o, c);
	free(s);
	return send_json(c, 200, o);
}

/*
 * The endpoints of this section: the answer's result (nonzero: close the
 * connection), or -1 when the path is none of them.
 */
static int
handle_endpoints(struct conn *c)
{
	static const char *const posts[] = { "/v1/responses", "/v1/messages",
		"/v1/messages/count_tokens", "/v1/rerank", "/rerank",
		"/v2/rerank", "/v1/score", "/tokenize", "/detokenize", NULL };
	static const char rp[] = "/v1/responses/", mp[] = "/v1/models/";
	struct request *rq = &c->rq;
	struct json_object *req;
	const char *path = rq->target, *id, *slash;
	size_t n = rq->path_len, i, idlen;
	int done, post = strcmp(rq->method, "POST") == 0;

	if (n > sizeof(rp) - 1 && memcmp(path, rp, sizeof(rp) - 1) == 0) {
		id = path + sizeof(rp) - 1;
		idlen = n - (sizeof(rp) - 1);
		slash = memchr(id, '/', idlen);
		if (slash == NULL) {
			if (strcmp(rq->method, "GET") == 0)
				return handle_response_id(c, id, idlen, "get");
			if (strcmp(rq->method, "DELETE") == 0)
				return handle_response_id(c, id, idlen,
				    "delete");
			goto method;
		}
		idlen = (size_t)(slash - id);
		if (n - (size_t)(slash - path) == 12 &&
		    memcmp(slash, "/input_items", 12) == 0) {
			if (strcmp(rq->method, "GET") != 0)
				goto method;
			return handle_response_id(c, id, idlen, "input_items");
		}
		if (n - (size_t)(slash - path) == 7 &&
		    memcmp(slash, "/cancel", 7) == 0) {
			if (!post)
				goto method;
			return handle_response_id(c, id, idlen, "cancel");
		}
		return -1;
	}
	if (n > sizeof(mp) - 1 && memcmp(path, mp, sizeof(mp) - 1) == 0) {
		id = path + sizeof(mp) - 1;
		idlen = n - (sizeof(mp) - 1);
		if (memchr(id, '/', idlen) != NULL)
			return -1;
		if (strcmp(rq->method, "GET") != 0)
			goto method;
		return handle_model(c, id, idlen);
	}
	for (i = 0; posts[i] != NULL; i++)
		if (strlen(posts[i]) == n && memcmp(posts[i], path, n) == 0)
			break;
	if (posts[i] == NULL)
		return -1;
	if (!post)
		goto method;
	if ((req = parse_body(c)) == NULL)
		return send_error(c, 400, "invalid_request_error",
		    "invalid_json", "body is not a JSON object",
		    rq->keep_alive) != PS_OK || !rq->keep_alive;
	if (i == 0)
		done = handle_responses(c, req);
	else if (i == 1)
		done = handle_messages(c, req);
	else if (i == 2)
		done = handle_count_tokens(c, req);
	else if (i <= 5)
		done = handle_rerank(c, req);
	else if (i == 6)
		done = handle_score(c, req);
	else if (i == 7)
		done = handle_tokenize(c, req);
	else
		done = handle_detokenize(c, req);
	json_object_put(req);
	return done;
method:
	return send_error(c, 405, "invalid_request_error",
	    "method_not_allowed", "method not allowed", rq->keep_alive) !=
	    PS_OK || !rq->keep_alive;
}

/* ------------------------------------------------------------ audio */

/* One form, read with a parser of its own (not the proxies'): the file's
 * digest, name and size, and the other fields as "name=value&...". */
struct audio_form {
	char sha[2 * SHA256_DIGEST_LENGTH + 1];
	const char *filename;
	size_t filename_len;
	size_t file_len;
	int have_file;
	struct sbuf fields;
	char format[32];
	int stream;
	unsigned long events;
};

/* The quoted value of parameter key (e.g. "name=\"") in a header line. */
static const char *
audio_param(const char *h, size_t n, const char *key, size_t *vn)
{
	size_t kn = strlen(key), i;

	for (i = 0; i + kn <= n; i++) {
		const char *e;

		if (memcmp(h + i, key, kn) != 0 ||
		    (i > 0 && h[i - 1] != ' ' && h[i - 1] != ';'))
			continue;
		if ((e = memchr(h + i + kn, '"', n - i - kn)) == NULL)
			return NULL;
		*vn = (size_t)(e - (h + i + kn));
		return h + i + kn;
	}
	return NULL;
}

static const char *
audio_find(const char *p, size_t n, const char *s, size_t sn)
{
	size_t i;

	for (i = 0; i + sn <= n; i++)
		if (memcmp(p + i, s, sn) == 0)
			return p + i;
	return NULL;
}

/* 0 when the form could be read. */
static int
audio_parse(struct conn *c, struct audio_form *f)
{
	const char *ct = c->rq.ctype, *b, *p = c->in + c->rq.body_off;
	char delim[96];
	size_t n = c->rq.body_len, bn, dn, pos;

	if ((b = strstr(ct, "boundary=")) == NULL)
		return -1;
	b += 9;
	if (*b == '"')
		b++;
	for (bn = 0; b[bn] != '\0' && b[bn] != '"' && b[bn] != ';'; bn++)
		;
	if (bn == 0 || bn > 70)
		return -1;
	dn = (size_t)snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)bn, b);
	if (n < dn - 2 || memcmp(p, delim + 2, dn - 2) != 0)
		return -1;
	pos = dn - 2;
	for (;;) {
		const char *h, *he, *v, *ve, *name, *fn;
		size_t hn, nn, fnn;

		if (n - pos >= 2 && memcmp(p + pos, "--", 2) == 0)
			return 0;
		if (n - pos < 2 || memcmp(p + pos, "\r\n", 2) != 0)
			return -1;
		h = p + pos + 2;
		if ((he = audio_find(h, n - pos - 2, "\r\n\r\n", 4)) == NULL)
			return -1;
		hn = (size_t)(he - h);
		v = he + 4;
		if ((ve = audio_find(v, n - (size_t)(v - p), delim, dn)) == NULL)
			return -1;
		if ((name = audio_param(h, hn, "name=\"", &nn)) == NULL)
			return -1;
		fn = audio_param(h, hn, "filename=\"", &fnn);
		if (fn != NULL) {
			unsigned char md[SHA256_DIGEST_LENGTH];
			size_t k;

			SHA256((const unsigned char *)v, (size_t)(ve - v), md);
			for (k = 0; k < sizeof(md); k++)
				snprintf(f->sha + 2 * k, 3, "%02x", md[k]);
			f->filename = fn;
			f->filename_len = fnn;
			f->file_len = (size_t)(ve - v);
			f->have_file = 1;
		} else {
			size_t vn = (size_t)(ve - v);

			if (f->fields.len > 0 && sbuf_adds(&f->fields, "&") != PS_OK)
				return -1;
			if (sbuf_add(&f->fields, name, nn) != PS_OK ||
			    sbuf_adds(&f->fields, "=") != PS_OK ||
			    sbuf_add(&f->fields, v, vn) != PS_OK)
				return -1;
			if (nn == 15 && memcmp(name, "response_format", 15) == 0 &&
			    vn < sizeof(f->format)) {
				memcpy(f->format, v, vn);
				f->format[vn] = '\0';
			}
			if (nn == 6 && memcmp(name, "stream", 6) == 0)
				f->stream = vn == 4 && memcmp(v, "true", 4) == 0;
			if (nn == 8 && memcmp(name, "x_events", 8) == 0) {
				char num[16];

				if (vn == 0 || vn >= sizeof(num))
					return -1;
				memcpy(num, v, vn);
				num[vn] = '\0';
				f->events = strtoul(num, NULL, 10);
				if (f->events < 1 || f->events > 1000)
					return -1;
			}
		}
		pos = (size_t)(ve - p) + dn;
	}
}

/* A transcription stream: delta events with slices of text, then
 * transcript.text.done with the whole text and usage; no [DONE]. */
static int
audio_stream(struct conn *c, const struct audio_form *f, const char *t,
    size_t tn)
{
	static const char head[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	struct stream st;
	size_t step, a, b;
	unsigned long i;

	memset(&st, 0, sizeof(st));
	st.events = f->events ? f->events : srv.events;
	st.delay_ms = srv.delay_ms;
	if (c->rq.http10 || conn_send(c, head, sizeof(head) - 1) != PS_OK)
		return 1;
	step = (tn + st.events - 1) / st.events;
	for (i = 0; i < st.events; i++) {
		a = i * step < tn ? i * step : tn;
		b = a + step < tn ? a + step : tn;
		sbuf_reset(&c->out);
		if (sbuf_adds(&c->out, "data: {\"type\":\"transcript.text.delta\","
		    "\"delta\":") != PS_OK ||
		    json_str(&c->out, t + a, b - a) != PS_OK ||
		    sbuf_adds(&c->out, ",\"logprobs\":[]}\n\n") != PS_OK ||
		    stream_send(c, &st, i == 0) != PS_OK)
			return 1;
	}
	sbuf_reset(&c->out);
	if (sbuf_adds(&c->out, "data: {\"type\":\"transcript.text.done\","
	    "\"text\":") != PS_OK ||
	    json_str(&c->out, t, tn) != PS_OK ||
	    sbuf_addf(&c->out, ",\"logprobs\":[],\"usage\":{\"type\":\"tokens\","
	    "\"input_tokens\":%zu,\"output_tokens\":%zu,\"total_tokens\":%zu}}"
	    "\n\n", (f->file_len + 3) / 4, (tn + 3) / 4,
	    (f->file_len + 3) / 4 + (tn + 3) / 4) != PS_OK ||
	    stream_send(c, &st, 0) != PS_OK)
		return 1;
	if (conn_send(c, "0\r\n\r\n", 5) != PS_OK)
		return 1;
	return 1;
}

/* POST /v1/audio/transcriptions and /v1/audio/translations: the text
 * "sha256=<hex of the file> name=<filename> bytes=<n> fields=<the other
 * fields>" in the shape response_format asks for. */
static int
handle_audio(struct conn *c, int translate)
{
	struct audio_form f;
	struct sbuf t;
	int keep = c->rq.keep_alive, done = 1;
	const char *ctype = "application/json", *fmt;

	memset(&f, 0, sizeof(f));
	sbuf_init(&f.fields, BODY_MAX);
	sbuf_init(&t, BODY_MAX + 1024);
	if (audio_parse(c, &f) != 0 || !f.have_file) {
		done = send_error(c, 400, "invalid_request_error",
		    "invalid_request", "not a form with a file", keep) !=
		    PS_OK || !keep;
		goto out;
	}
	if (sbuf_addf(&t, "sha256=%s name=", f.sha) != PS_OK ||
	    sbuf_add(&t, f.filename, f.filename_len) != PS_OK ||
	    sbuf_addf(&t, " bytes=%zu fields=", f.file_len) != PS_OK ||
	    sbuf_add(&t, f.fields.p, f.fields.len) != PS_OK)
		goto out;
	fmt = f.format[0] != '\0' ? f.format : "json";
	if (f.stream && !translate) {
		done = audio_stream(c, &f, t.p, t.len);
		goto out;
	}
	sbuf_reset(&c->out);
	if (strcmp(fmt, "json") == 0) {
		if (sbuf_adds(&c->out, "{\"text\":") != PS_OK ||
		    json_str(&c->out, t.p, t.len) != PS_OK ||
		    sbuf_adds(&c->out, ",\"usage\":{\"type\":\"duration\","
		    "\"seconds\":1}}") != PS_OK)
			goto out;
	} else if (strcmp(fmt, "verbose_json") == 0) {
		if (sbuf_addf(&c->out, "{\"task\":\"%s\",\"language\":\"english\","
		    "\"duration\":1.0,\"text\":", translate ? "translate" :
		    "transcribe") != PS_OK ||
		    json_str(&c->out, t.p, t.len) != PS_OK ||
		    sbuf_adds(&c->out, ",\"segments\":[{\"id\":0,\"seek\":0,"
		    "\"start\":0.0,\"end\":1.0,\"text\":") != PS_OK ||
		    json_str(&c->out, t.p, t.len) != PS_OK ||
		    sbuf_adds(&c->out, ",\"tokens\":[],\"temperature\":0.0,"
		    "\"avg_logprob\":0.0,\"compression_ratio\":1.0,"
		    "\"no_speech_prob\":0.0}],\"usage\":{\"type\":\"duration\","
		    "\"seconds\":1}}") != PS_OK)
			goto out;
	} else if (strcmp(fmt, "text") == 0 || strcmp(fmt, "srt") == 0 ||
	    strcmp(fmt, "vtt") == 0) {
		ctype = "text/plain; charset=utf-8";
		if ((strcmp(fmt, "srt") == 0 && sbuf_adds(&c->out,
		    "1\n00:00:00,000 --> 00:00:01,000\n") != PS_OK) ||
		    (strcmp(fmt, "vtt") == 0 && sbuf_adds(&c->out,
		    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n") != PS_OK) ||
		    sbuf_add(&c->out, t.p, t.len) != PS_OK ||
		    sbuf_adds(&c->out, strcmp(fmt, "text") == 0 ? "\n" :
		    "\n\n") != PS_OK)
			goto out;
	} else {
		done = send_error(c, 400, "invalid_request_error",
		    "invalid_request", "unknown response_format", keep) !=
		    PS_OK || !keep;
		goto out;
	}
	done = send_response(c, 200, ctype, keep) != PS_OK || !keep;
out:
	sbuf_free(&f.fields);
	sbuf_free(&t);
	return done;
}

/* Answer one complete request.  Returns nonzero when the connection must
 * be closed afterwards. */
static int
handle_request(struct conn *c)
{
	static const char models[] = "{\"object\":\"list\",\"data\":[{\"id\":"
	    "\"" MODEL_DEFAULT "\",\"object\":\"model\",\"created\":" CREATED
	    ",\"owned_by\":\"promptseal\"}]}";
	struct request *rq = &c->rq;
	struct json_object *req = NULL;
	int keep = rq->keep_alive, done, chat = 0, post, endpoint;
	int64_t status;

	if ((done = handle_endpoints(c)) >= 0)
		return done;
#define PATH_IS(s) (rq->path_len == sizeof(s) - 1 && \
	memcmp(rq->target, s, sizeof(s) - 1) == 0)
	post = strcmp(rq->method, "POST") == 0;
	if (PATH_IS("/v1/models")) {
		if (strcmp(rq->method, "GET") != 0)
			goto method;
		sbuf_reset(&c->out);
		if (sbuf_add(&c->out, models, sizeof(models) - 1) != PS_OK)
			return 1;
		return send_response(c, 200, "application/json", keep) !=
		    PS_OK || !keep;
	}
	if (PATH_IS("/v1/chat/completions"))
		endpoint = chat = 1;
	else if (PATH_IS("/v1/completions"))
		endpoint = 2;
	else if (PATH_IS("/v1/embeddings"))
		endpoint = 3;
	else if (PATH_IS("/v1/audio/transcriptions") ||
	    PATH_IS("/v1/audio/translations"))
		return post ? handle_audio(c, PATH_IS("/v1/audio/translations")) :
		    send_error(c, 405, "invalid_request_error",
		    "method_not_allowed", "method not allowed", keep) != PS_OK ||
		    !keep;
	else
		return send_error(c, 404, "invalid_request_error",
		    "unknown_endpoint", "unknown path", keep) != PS_OK || !keep;
#undef PATH_IS
	if (!post)
		goto method;
	if ((req = parse_body(c)) == NULL)
		return send_error(c, 400, "invalid_request_error",
		    "invalid_json", "body is not a JSON object", keep) !=
		    PS_OK || !keep;
	if (member_int(req, "x_status", &status)) {
		if (status >= 200 && status <= 599)
			done = send_error(c, (int)status, "test", "x_status",
			    "test error", keep) != PS_OK || !keep;
		else
			done = send_error(c, 400, "invalid_request_error",
			    "invalid_request", "x_status out of range",
			    keep) != PS_OK || !keep;
	} else if (member_true(req, "x_big_garbage")) {
		char junk[1024];
		size_t k;

		/* 2 MiB of text without any JSON in it. */
		memset(junk, 'x', sizeof(junk));
		memcpy(junk, "<not json> ", 11);
		junk[sizeof(junk) - 1] = '\n';
		sbuf_reset(&c->out);
		for (k = 0, done = 0; k < 2048 && !done; k++)
			done = sbuf_add(&c->out, junk, sizeof(junk)) != PS_OK;
		done = done || send_response(c, 200, "application/json",
		    keep) != PS_OK || !keep;
	} else if (member_true(req, "x_garbage")) {
		sbuf_reset(&c->out);
		done = sbuf_adds(&c->out, "not json") != PS_OK ||
		    send_response(c, 200, "application/json", keep) != PS_OK ||
		    !keep;
	} else if (endpoint == 3) {
		done = handle_embeddings(c, req);
	} else {
		done = handle_generate(c, req, chat);
	}
	json_object_put(req);
	return done;
method:
	return send_error(c, 405, "invalid_request_error",
	    "method_not_allowed", "method not allowed", keep) != PS_OK || !keep;
}

/* ------------------------------------------------------------ threads */

/* Serve one connection until it closes, then give its slot back. */
static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct request *rq = &c->rq;
	pserr rc;

	for (;;) {
		rc = http_read_request(c);
		if (rc == PS_ERR_ARG) {
			(void)send_error(c, rq->err_status,
			    "invalid_request_error", rq->err_code, rq->err_msg,
			    0);
			break;
		}
		if (rc != PS_OK)
			break;
		record_request(c);
		if (handle_request(c) || atomic_load(&srv.stop))
			break;
		conn_consume(c, rq->consumed);
		sbuf_reset(&c->out);
	}
	pthread_mutex_lock(&srv.lock);
	srv.slots[c->slot] = -1;
	srv.active--;
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
	close(c->fd);
	free(c->in);
	sbuf_free(&c->out);
	free(c);
	return NULL;
}

/* Start a thread for a new connection fd, which it then owns. */
static void
conn_start(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	pthread_attr_t attr;
	struct conn *c;
	pthread_t t;
	unsigned i;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	sbuf_init(&c->out, OUT_MAX);
	pthread_mutex_lock(&srv.lock);
	if (atomic_load(&srv.stop)) {
		pthread_mutex_unlock(&srv.lock);
		goto fail;
	}
	for (i = 0; i < srv.nslots && srv.slots[i] >= 0; i++)
		;
	c->slot = i;
	srv.slots[i] = fd;
	srv.active++;
	pthread_mutex_unlock(&srv.lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (pthread_create(&t, &attr, conn_main, c) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	logmsg("cannot start a connection thread");
	pthread_mutex_lock(&srv.lock);
	srv.slots[c->slot] = -1;
	srv.active--;
	pthread_mutex_unlock(&srv.lock);
fail:
	close(fd);
	free(c);
}

/* Accept connections until stop, never more than nslots at once. */
static void *
acceptor_main(void *arg)
{
	struct pollfd pf[2];
	struct timespec backoff = { 0, 10000000L };
	int fd;

	pf[0].fd = srv.listen_fd;
	pf[0].events = POLLIN;
	pf[1].fd = srv.wake[0];
	pf[1].events = POLLIN;
	for (;;) {
		pthread_mutex_lock(&srv.lock);
		while (!atomic_load(&srv.stop) && srv.active >= srv.nslots)
			pthread_cond_wait(&srv.cond, &srv.lock);
		pthread_mutex_unlock(&srv.lock);
		if (atomic_load(&srv.stop))
			break;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			logmsg("poll: %s", strerror(errno));
			break;
		}
		if (pf[1].revents || atomic_load(&srv.stop))
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		fd = accept4(srv.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* out of descriptors or memory: let some close */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				nanosleep(&backoff, NULL);
			continue;
		}
		conn_start(fd);
	}
	return NULL;
}

/* ------------------------------------------------------------ setup */

/* Remove a socket file nobody listens on any more; refuse to touch a live
 * socket or a file that is not a socket. */
static int
clear_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		logmsg("cannot check %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		logmsg("%s exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	close(fd);
	if (r == 0) {
		logmsg("%s is in use by a running server", path);
		return -1;
	}
	if (err != ECONNREFUSED) {
		logmsg("cannot check %s: %s", path, strerror(err));
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		logmsg("cannot remove stale %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Listen on path (see the head comment: mode 0666, visible only once it
 * accepts).  Returns the fd and sets *st to the socket file's identity,
 * or -1. */
static int
listen_on(const char *path, struct stat *st)
{
	struct sockaddr_un sa;
	char tmp[sizeof(sa.sun_path)];
	const char *name = path;
	int fd = -1, n, renamed = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logmsg("socket path too long (at most %zu bytes)",
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (clear_stale(path) != 0)
		return -1;
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n > 0 && (size_t)n < sizeof(tmp)) {
		name = tmp;
		(void)unlink(tmp);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, strlen(name) + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(name, SOCKET_MODE) != 0 || listen(fd, SOMAXCONN) != 0)
		goto fail;
	if (name != path) {
		if (rename(name, path) != 0)
			goto fail;
		renamed = 1;
	}
	if (stat(path, st) != 0)
		goto fail;
	return fd;
fail:
	logmsg("cannot listen on %s: %s", path, strerror(errno));
	if (fd >= 0) {
		(void)unlink(renamed ? path : name);
		close(fd);
	}
	return -1;
}

/* Print the --help text to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " --socket PATH [--events N] [--delay-ms MS]\n"
	    "                        [--record FILE] [--threads N]\n"
	    "\n"
	    "An OpenAI-compatible test server on a UNIX socket: replies echo\n"
	    "the request (\"echo: \" + last user message or prompt).\n"
	    "\n"
	    "  --socket PATH   listen here (mode 0666; a stale file is replaced)\n"
	    "  --events N      content events per stream (default %d, max %d)\n"
	    "  --delay-ms MS   pause between stream events (default 0, max %d)\n"
	    "  --record FILE   append \"METHOD TARGET BASE64(body)\" per request\n"
	    "  --threads N     connections served at once (default %d, max %d)\n"
	    "  --help          show this text\n"
	    "\n"
	    "Request members x_events, x_delay_ms, x_first_delay_ms, x_cut_after,\n"
	    "x_status, x_garbage, x_big_garbage, x_slow_ms, x_slow_bytes and\n"
	    "x_hang_ms drive the test paths; see tests/inference-server.c.\n",
	    EVENTS_DEFAULT, EVENTS_MAX, DELAY_MAX_MS, THREADS_DEFAULT,
	    THREADS_MAX);
}

/* Parse a decimal number in [lo, hi] into *v; -1 if it is not one. */
static int
parse_num(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *v)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'e' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "record", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *sock = NULL, *record = NULL;
	unsigned long threads = THREADS_DEFAULT;
	pthread_condattr_t ca;
	pthread_t acceptor;
	struct stat st, now;
	sigset_t set;
	unsigned i;
	int ch, sig, ret = 1, started = 0;

	srv.events = EVENTS_DEFAULT;
	while ((ch = getopt_long(argc, argv, "s:e:d:r:t:h", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'e':
			if (parse_num(optarg, 1, EVENTS_MAX, &srv.events) != 0)
				goto bad;
			break;
		case 'd':
			if (parse_num(optarg, 0, DELAY_MAX_MS, &srv.delay_ms) != 0)
				goto bad;
			break;
		case 'r':
			record = optarg;
			break;
		case 't':
			if (parse_num(optarg, 1, THREADS_MAX, &threads) != 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (sock == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv.cond, &ca);
	pthread_condattr_destroy(&ca);
	srv.nslots = (unsigned)threads;
	if ((srv.slots = malloc(srv.nslots * sizeof(*srv.slots))) == NULL) {
		logmsg("out of memory");
		goto out;
	}
	for (i = 0; i < srv.nslots; i++)
		srv.slots[i] = -1;

	/* Signals go to the main thread's sigwait() only; a write to a
	 * vanished peer is an error return, not a SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (record != NULL && (srv.record_fd = open(record,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		logmsg("cannot open %s: %s", record, strerror(errno));
		goto out;
	}
	if (pipe2(srv.wake, O_CLOEXEC) != 0) {
		logmsg("pipe: %s", strerror(errno));
		goto out;
	}
	if ((srv.listen_fd = listen_on(sock, &st)) < 0)
		goto out;
	if (pthread_create(&acceptor, NULL, acceptor_main, NULL) != 0) {
		logmsg("cannot start the acceptor thread");
		goto out;
	}
	started = 1;

	while (sigwait(&set, &sig) != 0)
		;
	ret = 0;
out:
	pthread_mutex_lock(&srv.lock);
	atomic_store(&srv.stop, 1);
	for (i = 0; i < srv.nslots && srv.slots != NULL; i++)
		if (srv.slots[i] >= 0)
			(void)shutdown(srv.slots[i], SHUT_RDWR);
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
	if (started) {
		if (write(srv.wake[1], "x", 1) != 1)
			logmsg("cannot wake the acceptor");
		pthread_join(acceptor, NULL);
	}
	pthread_mutex_lock(&srv.lock);
	while (srv.active > 0)
		pthread_cond_wait(&srv.cond, &srv.lock);
	pthread_mutex_unlock(&srv.lock);
	if (srv.listen_fd >= 0) {
		/* Remove the socket only if it is still ours. */
		if (stat(sock, &now) == 0 && now.st_dev == st.st_dev &&
		    now.st_ino == st.st_ino)
			(void)unlink(sock);
		close(srv.listen_fd);
	}
	if (srv.record_fd >= 0)
		close(srv.record_fd);
	if (srv.wake[0] >= 0) {
		close(srv.wake[0]);
		close(srv.wake[1]);
	}
	free(srv.slots);
	return ret;
bad:
	fprintf(stderr, PROG ": bad value for an option: %s\n", optarg);
	usage(stderr);
	return 2;
}
