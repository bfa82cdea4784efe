/* SPDX-License-Identifier: ISC */
/*
 * bench/standin: the benchmark's inference server.  It must cost the same
 * whatever chain is in front of it, so that enc/plain compares the chains
 * and nothing else:
 *   - a fixed pool of threads around one epoll set (no thread per
 *     connection: lighttpd's mod_proxy opens a connection per request,
 *     the worker's libcurl keeps one), keep-alive on HTTP/1.1;
 *   - the request body is read and discarded, never parsed: only its last
 *     bytes are searched for the member "x_standin":"SPEC" that bench/run.py
 *     puts at the end of every body;
 *   - replies are built once per SPEC and then only written: a
 *     chat.completion whose content has N bytes ("jN"), or a stream of K
 *     chat.completion.chunk events of B content bytes each ("sKxB"), one
 *     write per event, optionally D ms apart ("sKxBdD"), then a finish
 *     event and [DONE] (the first event at once, the rest D ms apart).
 *     Every reply has a Content-Length.
 * The content is text with a newline (a JSON escape) every 80 bytes, as
 * the prompts of bench/run.py have.  Without a SPEC: "j64".
 *
 *   standin --socket PATH [--threads N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX   16384
#define TAIL_KEEP  256
#define SPECS_MAX  64
#define CONTENT_MAX (64u << 20)

struct reply {
	char spec[32];
	char *head;              /* the HTTP head */
	size_t head_len;
	char **ev;               /* the body: one piece per write */
	size_t *ev_len;
	size_t n_ev;
	int delay_ms;
};

static struct reply specs[SPECS_MAX];
static int n_specs;
static pthread_mutex_t specs_lock = PTHREAD_MUTEX_INITIALIZER;
static int epfd, lfd;

struct conn {
	int fd;
	char buf[HEAD_MAX];
	size_t len;
};

static const char words[] = "The quick brown fox jumps over the lazy dog; "
    "pack my box with five dozen liquor jugs. ";

/* n bytes of content as a JSON string body (no quotes): 79 characters of
 * text and an escaped newline, repeated; the escape is never cut. */
static char *
content(size_t n, size_t off, size_t *outlen)
{
	char *p = malloc(n + n / 40 + 8), *q = p;
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		size_t k = (off + i) % 80;

		if (k == 79) {
			*q++ = '\\';
			*q++ = 'n';
		} else
			*q++ = words[k % (sizeof(words) - 1)];
	}
	*outlen = (size_t)(q - p);
	*q = '\0';
	return p;
}

static char *printf_alloc(size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
printf_alloc(size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len = (size_t)n;
	return p;
}

#define CHUNK_PRE "data: {\"id\":\"chatcmpl-standin\",\"object\":" \
    "\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"standin\"," \
    "\"choices\":[{\"index\":0,\"delta\":{%s\"content\":\"%s\"}," \
    "\"finish_reason\":null}]}\n\n"
#define CHUNK_END "data: {\"id\":\"chatcmpl-standin\",\"object\":" \
    "\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"standin\"," \
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}" \
    "\n\ndata: [DONE]\n\n%s%s"
#define JSON_FMT "{\"id\":\"chatcmpl-standin\",\"object\":\"chat.completion\"," \
    "\"created\":1700000000,\"model\":\"standin\",\"choices\":[{\"index\":0," \
    "\"message\":{\"role\":\"assistant\",\"content\":\"%s\"}," \
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1," \
    "\"completion_tokens\":1,\"total_tokens\":2}}%s"

/* Build the reply for spec into r; 0 or -1 for a bad spec. */
static int
build(const char *spec, struct reply *r)
{
	unsigned long a = 0, b = 0, d = 0;
	size_t total = 0, i, cl;
	char *c, head[256];
	int n;

	memset(r, 0, sizeof(*r));
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	if (sscanf(spec, "j%lu", &a) == 1 && a <= CONTENT_MAX) {
		r->n_ev = 1;
	} else if ((n = sscanf(spec, "s%lux%lud%lu", &a, &b, &d)) >= 2 &&
	    a >= 1 && a <= 100000 && b <= 65536 && d <= 10000) {
		r->n_ev = a + 1;
		r->delay_ms = (int)d;
	} else
		return -1;
	r->ev = calloc(r->n_ev, sizeof(*r->ev));
	r->ev_len = calloc(r->n_ev, sizeof(*r->ev_len));
	if (r->ev == NULL || r->ev_len == NULL)
		return -1;
	if (spec[0] == 'j') {
		if ((c = content(a, 0, &cl)) == NULL)
			return -1;
		r->ev[0] = printf_alloc(&r->ev_len[0], JSON_FMT, c, "");
		free(c);
	} else {
		for (i = 0; i < a; i++) {
			if ((c = content(b, i * b, &cl)) == NULL)
				return -1;
			r->ev[i] = printf_alloc(&r->ev_len[i], CHUNK_PRE,
			    i == 0 ? "\"role\":\"assistant\"," : "", c);
			free(c);
		}
		r->ev[a] = printf_alloc(&r->ev_len[a], CHUNK_END, "", "");
	}
	for (i = 0; i < r->n_ev; i++) {
		if (r->ev[i] == NULL)
			return -1;
		total += r->ev_len[i];
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%s\r\n", spec[0] == 'j' ? "application/json" :
	    "text/event-stream", total, spec[0] == 'j' ? "" :
	    "Cache-Control: no-cache\r\n");
	r->head = strdup(head);
	r->head_len = (size_t)n;
	return r->head != NULL ? 0 : -1;
}

/* The reply for spec, built on first use and never changed after. */
static const struct reply *
find(const char *spec)
{
	const struct reply *r = NULL;
	int i;

	pthread_mutex_lock(&specs_lock);
	for (i = 0; i < n_specs; i++)
		if (strcmp(specs[i].spec, spec) == 0)
			r = &specs[i];
	if (r == NULL && n_specs < SPECS_MAX && build(spec, &specs[n_specs]) == 0)
		r = &specs[n_specs++];
	pthread_mutex_unlock(&specs_lock);
	return r;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_more(struct conn *c)
{
	ssize_t r;

	do
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	return 0;
}

/* Keep the last TAIL_KEEP bytes seen of the body in tail. */
static void
keep_tail(char *tail, size_t *tl, const char *p, size_t n)
{
	if (n >= TAIL_KEEP) {
		memcpy(tail, p + n - TAIL_KEEP, TAIL_KEEP);
		*tl = TAIL_KEEP;
		return;
	}
	if (*tl + n > TAIL_KEEP) {
		size_t drop = *tl + n - TAIL_KEEP;

		memmove(tail, tail + drop, *tl - drop);
		*tl -= drop;
	}
	memcpy(tail + *tl, p, n);
	*tl += n;
}

static __thread char discard[256 << 10];

/* Serve one request of c (its first bytes may be in c->buf already).
 * 1: keep the connection, 0: close it. */
static int
serve(struct conn *c)
{
	char *end, *h, spec[32] = "j64", tail[TAIL_KEEP + 1];
	const struct reply *r;
	size_t hl, want = 0, take, tl = 0, i;
	int keep;

	while ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
		if (c->len >= sizeof(c->buf) - 1 || read_more(c) != 0)
			return 0;
	hl = (size_t)(end + 4 - c->buf);
	*end = '\0';
	if ((h = strcasestr(c->buf, "\r\nContent-Length:")) != NULL)
		want = strtoul(h + 17, NULL, 10);
	keep = strstr(c->buf, "HTTP/1.1") != NULL &&
	    strcasestr(c->buf, "\r\nConnection: close") == NULL;
	/* The body: discarded as it comes, only its tail kept. */
	take = c->len - hl < want ? c->len - hl : want;
	keep_tail(tail, &tl, c->buf + hl, take);
	want -= take;
	memmove(c->buf, c->buf + hl + take, c->len - hl - take);
	c->len -= hl + take;
	c->buf[c->len] = '\0';
	while (want > 0) {
		ssize_t n = read(c->fd, discard, want < sizeof(discard) ? want :
		    sizeof(discard));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		keep_tail(tail, &tl, discard, (size_t)n);
		want -= (size_t)n;
	}
	tail[tl] = '\0';
	if ((h = memmem(tail, tl, "\"x_standin\"", 11)) != NULL &&
	    (h = strchr(h + 11, '"')) != NULL)
		sscanf(h + 1, "%31[a-z0-9]", spec);
	if ((r = find(spec)) == NULL) {
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
		    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

		return write_all(c->fd, bad, sizeof(bad) - 1) == 0 && keep;
	}
	if (write_all(c->fd, r->head, r->head_len) != 0)
		return 0;
	for (i = 0; i < r->n_ev; i++) {
		if (r->delay_ms > 0 && i > 0) {
			struct timespec ts = { r->delay_ms / 1000,
			    (long)(r->delay_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		if (write_all(c->fd, r->ev[i], r->ev_len[i]) != 0)
			return 0;
	}
	return keep;
}

static void
arm(struct conn *c, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, op, c->fd, &ev) != 0) {
		close(c->fd);
		free(c);
	}
}

static void *
pool_thread(void *arg)
{
	struct epoll_event ev;

	(void)arg;
	for (;;) {
		struct conn *c;
		int k, n = epoll_wait(epfd, &ev, 1, -1);

		if (n <= 0)
			continue;
		if (ev.data.ptr == NULL) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && (c = calloc(1, sizeof(*c))) != NULL) {
				c->fd = fd;
				arm(c, EPOLL_CTL_ADD);
			} else if (fd >= 0)
				close(fd);
			continue;
		}
		c = ev.data.ptr;
		/* Pipelined bytes already read are served before waiting. */
		do
			k = serve(c);
		while (k == 1 && c->len > 0);
		if (k == 1) {
			arm(c, EPOLL_CTL_MOD);
			continue;
		}
		close(c->fd);
		free(c);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un a;
	struct epoll_event ev;
	const char *path = NULL;
	int i, threads = 4;
	pthread_t t;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--socket") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	if (path == NULL || strlen(path) >= sizeof(a.sun_path) || threads < 1) {
		fprintf(stderr, "usage: standin --socket PATH [--threads N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, path, strlen(path));
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 1024) != 0 || (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("standin");
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		perror("standin: epoll_ctl");
		return 1;
	}
	for (i = 0; i < threads - 1; i++)
		if (pthread_create(&t, NULL, pool_thread, NULL) != 0) {
			perror("standin: pthread_create");
			return 1;
		}
	pool_thread(NULL);
	return 0;
}
