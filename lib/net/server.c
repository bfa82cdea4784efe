/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "core/http.h"
#include "core/log.h"
#include "core/secret.h"
#include "net/server.h"

struct pool {
	const struct server_app *app;
	int fd;
	int wake[2];               /* written once at stop; never read */
	pthread_mutex_t accept_lock;
	pthread_mutex_t fini_lock;  /* one thread_fini at a time */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running;               /* threads not yet finished */
};

/*
 * Wait for the next request, or for the stop: the portable way.  One
 * thread at a time polls and accepts (as libfcgi's own threaded example
 * does), so a stop is seen by every idle thread through the wake pipe and
 * no thread is ever woken by a signal in the middle of a request.  Each
 * request then costs a hand-off of the lock to the next thread (a futex
 * wake and a context switch): next_request_epoll avoids it where it can.
 * Returns 0 with a request, -1 at the stop.
 */
static int
next_request_locked(struct pool *p, FCGX_Request *req)
{
	struct pollfd fds[2];
	int rc = -1;

	pthread_mutex_lock(&p->accept_lock);
	for (;;) {
		fds[0].fd = p->fd;
		fds[0].events = POLLIN;
		fds[1].fd = p->wake[0];
		fds[1].events = POLLIN;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (fds[1].revents != 0)
			break;
		if (FCGX_Accept_r(req) == 0) {
			rc = 0;
			break;
		}
		/* A connection that went away before its request came, or a
		 * transient EMFILE: go on waiting. */
	}
	pthread_mutex_unlock(&p->accept_lock);
	return rc;
}

/*
 * A thread's own epoll set: the listening socket with EPOLLEXCLUSIVE, so
 * the kernel wakes one idle thread per connection (no lock, no hand-off
 * among threads), and the wake pipe without it, so the stop wakes every
 * idle thread.  -1 where the kernel lacks EPOLLEXCLUSIVE (before 4.5).
 */
static int
thread_epoll(struct pool *p)
{
	struct epoll_event ev;
	int ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = p->fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) != 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = p->wake[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p->wake[0], &ev) != 0)
		goto fail;
	return ep;
fail:
	close(ep);
	return -1;
}

/* As next_request_locked, each thread waiting on its own epoll set ep.
 * Two threads may be woken for one connection: the one that loses the
 * accept() gets EAGAIN (the socket is non-blocking) and waits again. */
static int
next_request_epoll(struct pool *p, int ep, FCGX_Request *req)
{
	struct epoll_event ev[2];
	int i, n;

	for (;;) {
		if ((n = epoll_wait(ep, ev, 2, -1)) < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == p->wake[0])
				return -1;
		if (n > 0 && FCGX_Accept_r(req) == 0)
			return 0;
		/* Another thread took it, the connection went away before its
		 * request came, or a transient EMFILE: go on waiting. */
	}
}

/*
 * End a request.  libfcgi closes a connection by shutting down its
 * sending side and reading until the web server closes too (at most 2 s),
 * so that input left unread cannot make the kernel reset the connection
 * and drop the tail of the reply.  When the request's input was read to
 * its end nothing is left: close at once, which spares the thread a wait
 * for the web server and three system calls per request.
 */
static void
finish(FCGX_Request *req)
{
	if (req->in != NULL && FCGX_HasSeenEOF(req->in) &&
	    FCGX_GetError(req->in) == 0)
		FCGX_Detach(req);
	else
		FCGX_Attach(req);
	FCGX_Finish_r(req);
}

static void *
pool_thread(void *arg)
{
	struct pool *p = arg;
	const struct server_app *a = p->app;
	void *state = NULL;
	FCGX_Request req;
	int ep;

	if (a->thread_init != NULL && (state = a->thread_init(a->app)) == NULL) {
		log_error("cannot set up a request thread");
		goto out;
	}
	if (FCGX_InitRequest(&req, p->fd, 0) != 0) {
		log_error("cannot set up a FastCGI request");
		goto out;
	}
	ep = thread_epoll(p);
	while ((ep >= 0 ? next_request_epoll(p, ep, &req) :
	    next_request_locked(p, &req)) == 0) {
		a->handle(a->app, state, &req);
		finish(&req);
	}
	if (ep >= 0)
		close(ep);
	FCGX_Free(&req, 0);
out:
	/* At the stop every idle thread wakes at once; their clean-ups run
	 * one after the other, as when they left through the accept lock:
	 * e.g. SQLite removes its WAL only at a close that finds no other
	 * handle open, which two closes at the same moment both miss. */
	if (a->thread_fini != NULL && state != NULL) {
		pthread_mutex_lock(&p->fini_lock);
		a->thread_fini(a->app, state);
		pthread_mutex_unlock(&p->fini_lock);
	}
	pthread_mutex_lock(&p->lock);
	p->running--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* The app's background task; it counts as running, like a request, so
 * the stop waits for it until the same deadline. */
static void *
background_thread(void *arg)
{
	struct pool *p = arg;

	p->app->background(p->app->app, p->wake[0]);
	pthread_mutex_lock(&p->lock);
	p->running--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int
open_socket(const struct server_opts *o)
{
	int fd;

	if (o->socket_path == NULL) {
		/* spawn-fcgi, lighttpd's bin-path and mod_fcgid pass the
		 * listening socket as fd 0. */
		if (FCGX_IsCGI()) {
			log_error("fd 0 is not a FastCGI socket: pass --socket PATH "
			    "or start under spawn-fcgi or a web server");
			return -1;
		}
		return 0;
	}
	if (strlen(o->socket_path) >= 100) {
		log_error("socket path too long");
		return -1;
	}
	/* A stale socket from an earlier run would make bind() fail. */
	if (unlink(o->socket_path) != 0 && errno != ENOENT) {
		log_error("cannot remove %s: %s", o->socket_path, strerror(errno));
		return -1;
	}
	if ((fd = FCGX_OpenSocket(o->socket_path, o->backlog)) < 0) {
		log_error("cannot listen on %s", o->socket_path);
		return -1;
	}
	if (chmod(o->socket_path, 0660) != 0) {
		log_error("cannot chmod %s: %s", o->socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
server_run(const struct server_opts *o, const struct server_app *a)
{
	struct pool p;
	pthread_t *tids = NULL, bg;
	struct timespec deadline;
	sigset_t set;
	int i, sig, started = 0, have_bg = 0, failed = 0, ret = 1;

	memset(&p, 0, sizeof(p));
	p.app = a;
	p.fd = -1;
	p.wake[0] = p.wake[1] = -1;
	pthread_mutex_init(&p.accept_lock, NULL);
	pthread_mutex_init(&p.fini_lock, NULL);
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);

	if (FCGX_Init() != 0) {
		log_error("cannot initialise libfcgi");
		goto out;
	}
	/* After FCGX_Init, which installs handlers of its own: every thread
	 * blocks the stop signals and the main thread takes them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (pipe(p.wake) != 0) {
		log_error("pipe: %s", strerror(errno));
		goto out;
	}
	if ((p.fd = open_socket(o)) < 0)
		goto out;
	/* A connection that closes before its request makes FCGX_Accept_r
	 * go back to accept(); on a blocking socket that thread would then
	 * sleep there, deaf to the wake pipe, and hold up the stop until
	 * the deadline.  Non-blocking, accept() fails with EAGAIN and the
	 * thread returns to poll().  (Accepted sockets do not inherit the
	 * flag on Linux.) */
	if ((i = fcntl(p.fd, F_GETFL)) < 0 ||
	    fcntl(p.fd, F_SETFL, i | O_NONBLOCK) != 0) {
		log_error("cannot make the listening socket non-blocking: %s",
		    strerror(errno));
		goto out;
	}
	if ((tids = calloc((size_t)o->threads, sizeof(*tids))) == NULL)
		goto out;
	for (i = 0; i < o->threads; i++) {
		pthread_mutex_lock(&p.lock);
		p.running++;
		pthread_mutex_unlock(&p.lock);
		if (pthread_create(&tids[i], NULL, pool_thread, &p) != 0) {
			log_error("cannot start thread %d", i);
			pthread_mutex_lock(&p.lock);
			p.running--;
			pthread_mutex_unlock(&p.lock);
			break;
		}
		started++;
	}
	if (started == 0)
		goto out;
	if (a->background != NULL) {
		pthread_mutex_lock(&p.lock);
		p.running++;
		pthread_mutex_unlock(&p.lock);
		if (pthread_create(&bg, NULL, background_thread, &p) == 0) {
			have_bg = 1;
		} else {
			log_error("cannot start the background thread");
			pthread_mutex_lock(&p.lock);
			p.running--;
			pthread_mutex_unlock(&p.lock);
			failed = 1;     /* stop the request threads again */
		}
	}
	if (!failed) {
		log_info("serving with %d threads", started);
		do {
			if (sigwait(&set, &sig) != 0)
				sig = SIGTERM;
		} while (sig == SIGUSR1); /* libfcgi's "stop accepting" */
		log_info("signal %d: stopping", sig);
	}
	if (write(p.wake[1], "", 1) != 1)
		log_error("cannot wake the request threads: %s", strerror(errno));

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += o->stop_seconds > 0 ? o->stop_seconds : 5;
	pthread_mutex_lock(&p.lock);
	/* Requests in progress may finish until the deadline. */
	while (p.running > 0)
		if (pthread_cond_timedwait(&p.cond, &p.lock, &deadline) == ETIMEDOUT)
			break;
	i = p.running;
	pthread_mutex_unlock(&p.lock);
	if (i > 0) {
		log_warn("%d threads still running at the stop deadline", i);
		ret = failed;
		goto out;    /* the threads die with the process */
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (have_bg)
		pthread_join(bg, NULL);
	if (o->socket_path != NULL)
		unlink(o->socket_path);
	ret = failed;
out:
	free(tids);
	if (p.wake[0] >= 0) {
		close(p.wake[0]);
		close(p.wake[1]);
	}
	return ret;
}

const char *
server_param(FCGX_Request *req, const char *name)
{
	return FCGX_GetParam(name, req->envp);
}

pserr
server_read_body(FCGX_Request *req, struct buf *out)
{
	const char *cl = server_param(req, "CONTENT_LENGTH");
	size_t want = 0;
	pserr rc;
	int n;

	if (cl != NULL && *cl != '\0') {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || v > out->max)
			return PS_ERR_TOO_LARGE;
		if ((rc = buf_reserve(out, (size_t)v)) != PS_OK)
			return rc;
		want = out->len + (size_t)v;
	}
	/* The announced length in one call into the presized buffer, not
	 * in 16 KiB pieces; then at most a probe of 16 KiB that is empty
	 * when the body is as long as announced (stdin may run longer:
	 * what arrives is what counts, up to the cap). */
	while (out->len < want) {
		size_t k = want - out->len;

		if (k > INT_MAX)
			k = INT_MAX;
		n = FCGX_GetStr(out->p + out->len, (int)k, req->in);
		if (n < 0)
			return PS_ERR_IO;
		out->len += (size_t)n;
		if ((size_t)n < k)
			goto done;
	}
	for (;;) {
		char probe[16384];
		size_t room = out->max - out->len;
		size_t k = room < sizeof(probe) ? room : sizeof(probe);

		if (k == 0) {
			/* At the cap: one more byte means the body is too large. */
			if (FCGX_GetStr(probe, 1, req->in) > 0)
				return PS_ERR_TOO_LARGE;
			break;
		}
		/* FCGX_GetStr returns short only at the end of the body. */
		n = FCGX_GetStr(probe, (int)k, req->in);
		if (n < 0)
			return PS_ERR_IO;
		if ((rc = buf_append(out, probe, (size_t)n)) != PS_OK) {
			secret_wipe(probe, (size_t)n);
			return rc;
		}
		secret_wipe(probe, (size_t)n);
		if ((size_t)n < k)
			break;
	}
done:
	if (FCGX_GetError(req->in) != 0)
		return PS_ERR_IO;
	return PS_OK;
}

int
server_is_json(FCGX_Request *req)
{
	return http_is_json(server_param(req, "CONTENT_TYPE"));
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

/* The status of the last head this thread wrote (server_status_take). */
static __thread int last_status;

int
server_status_take(void)
{
	int s = last_status;

	last_status = 0;
	return s;
}

void
server_head(FCGX_Request *req, int status, const char *content_type,
    const char *headers)
{
	char line[256];
	int n;

	last_status = status;
	/* snprintf, not FCGX_FPrintF: libfcgi's formatter is not printf's. */
	n = snprintf(line, sizeof(line), "Status: %d %s\r\nContent-Type: %s\r\n",
	    status, reason(status), content_type);
	if (n > 0 && (size_t)n < sizeof(line))
		FCGX_PutStr(line, n, req->out);
	if (headers != NULL)
		FCGX_PutS(headers, req->out);
	FCGX_PutStr("\r\n", 2, req->out);
}

/*
 * Bodies of up to PUT_BUFFERED bytes go through libfcgi's stream, which
 * copies them into its 8 KiB buffer and writes one record per 8 KiB: a
 * 1 MiB body would take 128 writes.  Larger ones are written past it, in
 * STDOUT records of up to PUT_RECORD bytes (the largest multiple of 8 a
 * record holds, so only the last needs padding), PUT_RECORDS of them
 * gathered into each writev.  The stream is flushed first, so the order
 * of what was written is kept; FCGX_Finish_r ends the stream as ever.
 */
#define PUT_BUFFERED 32768
#define PUT_RECORD 65528
#define PUT_RECORDS 64

static int
writev_all(int fd, struct iovec *v, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, v, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (; n > 0 && (size_t)w >= v->iov_len; v++, n--)
			w -= (ssize_t)v->iov_len;
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static pserr
put_body(FCGX_Request *req, const char *p, size_t n)
{
	static const char pad[8];
	unsigned char h[PUT_RECORDS][8];
	struct iovec v[2 * PUT_RECORDS + 1];

	if (n <= PUT_BUFFERED)
		return FCGX_PutStr(p, (int)n, req->out) == (int)n ? PS_OK :
		    PS_ERR_IO;
	if (FCGX_FFlush(req->out) != 0)
		return PS_ERR_IO;
	while (n > 0) {
		int k, iv = 0;

		for (k = 0; k < PUT_RECORDS && n > 0; k++) {
			size_t len = n < PUT_RECORD ? n : PUT_RECORD;
			size_t padlen = (8 - len % 8) % 8;
			unsigned char *r = h[k];

			r[0] = FCGI_VERSION_1;
			r[1] = FCGI_STDOUT;
			r[2] = (unsigned char)(req->requestId >> 8);
			r[3] = (unsigned char)req->requestId;
			r[4] = (unsigned char)(len >> 8);
			r[5] = (unsigned char)len;
			r[6] = (unsigned char)padlen;
			r[7] = 0;
			v[iv].iov_base = r;
			v[iv++].iov_len = 8;
			v[iv].iov_base = (void *)p;
			v[iv++].iov_len = len;
			if (padlen > 0) {
				v[iv].iov_base = (void *)pad;
				v[iv++].iov_len = padlen;
			}
			p += len;
			n -= len;
		}
		if (writev_all(req->ipcFd, v, iv) != 0)
			return PS_ERR_IO;
	}
	return PS_OK;
}

void
server_send(FCGX_Request *req, int status, const char *content_type,
    const char *headers, const char *body, size_t len)
{
	char line[64];
	int n;

	n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n", len);
	if (n > 0 && (size_t)n < sizeof(line)) {
		char all[1024];
		int m = snprintf(all, sizeof(all), "%s%s", line,
		    headers != NULL ? headers : "");

		server_head(req, status, content_type,
		    m > 0 && (size_t)m < sizeof(all) ? all : line);
	}
	if (len > 0 && put_body(req, body, len) != PS_OK)
		log_debug("the web server took the reply only in part");
}

void
server_send_error(FCGX_Request *req, pserr rc, const char *headers)
{
	char text[512], head[512];
	struct buf b;
	int n;

	n = snprintf(head, sizeof(head), "Promptseal-Encrypted: false\r\n%s",
	    headers != NULL ? headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		head[0] = '\0';
	buf_init(&b, sizeof(text));
	if (pserr_json(rc, &b) == PS_OK) {
		memcpy(text, b.p, b.len);
		server_send(req, pserr_status(rc), "application/json", head,
		    text, b.len);
	} else {
		server_send(req, 500, "application/json", head, "{}", 2);
	}
	buf_free(&b);
}
