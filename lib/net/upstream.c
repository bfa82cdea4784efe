/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "core/log.h"
#include "core/secret.h"
#include "net/kept.h"
#include "net/metrics.h"
#include "net/upstream.h"

#define UPSTREAM_BUFFER (256L * 1024)

/* Sockets a transfer may wait on at once: a connection, a second one
 * while both address families are tried, the resolver's. */
#define UPSTREAM_SOCKS 4

struct upstream {
	const struct upstream_cfg *cfg;
	CURL *curl;
	CURLM *multi;              /* runs curl's transfers; keeps the connection */
	struct {
		curl_socket_t fd;
		int what;              /* CURL_POLL_IN, _OUT or _INOUT */
	} sock[UPSTREAM_SOCKS];    /* what curl waits for, per socket */
	char url[8192];        /* base, path and a sealed query of up to 4 KiB */
	/* per exchange */
	upstream_head_fn head;
	upstream_data_fn data;
	void *arg;
	int encrypted;
	int head_done;
	pserr cb_rc;
	curl_off_t last_dl, last_ul;  /* progress seen last */
	struct timespec last_move;    /* when a byte last moved */
	int idle_expired;
};

int
upstream_is_loopback(const char *url)
{
	const char *a, *e, *at;
	char host[64];
	size_t n;
	struct in_addr v4;
	struct in6_addr v6;

	if (url == NULL)
		return 0;
	if (strncasecmp(url, "http://", 7) == 0)
		a = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		a = url + 8;
	else
		return 0;
	/* The authority ends at the path, query or fragment. */
	e = a + strcspn(a, "/?#");
	for (at = a; at < e; at++)
		if (*at == '@')
			a = at + 1;
	if (a < e && *a == '[') {
		const char *close = memchr(a, ']', (size_t)(e - a));

		if (close == NULL || (close + 1 != e && close[1] != ':'))
			return 0;
		n = (size_t)(close - a - 1);
		if (n >= sizeof(host))
			return 0;
		memcpy(host, a + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, &v6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&v6);
	}
	n = strcspn(a, ":/?#");
	if (a + n > e || n >= sizeof(host) || n == 0)
		return 0;
	memcpy(host, a, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	/* inet_pton takes only the dotted quad, no short or octal forms. */
	return inet_pton(AF_INET, host, &v4) == 1 &&
	    (ntohl(v4.s_addr) >> 24) == 127;
}

/*
 * Loopback TCP has a 64 KiB MSS.  A reader on a fresh socket (128 KiB
 * receive buffer) that falls slightly behind a sender of many small
 * segments (one per stream event) sees its window drop below one MSS; the
 * sender then will not send a partial segment, the receiver does not
 * advertise again until its window doubles, and only the ~200 ms
 * zero-window probe ends the wait.  A smaller MSS, announced in our SYN,
 * keeps the window several segments wide.  16 KiB still carries a 1 MiB
 * body in few segments; real networks (MSS ~1448) are not affected.  Only
 * TCP: a UNIX socket has no segments.
 */
#define UPSTREAM_TCP_MSS 16384

int
upstream_tune_socket(int fd)
{
	int type = 0, dom = 0, mss = UPSTREAM_TCP_MSS;
	socklen_t len = sizeof(type), dlen = sizeof(dom);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dlen) != 0 ||
	    type != SOCK_STREAM || (dom != AF_INET && dom != AF_INET6))
		return 0;
	return setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
}

static int
on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN && upstream_tune_socket(fd) != 0)
		log_debug("cannot clamp TCP_MAXSEG: %s", strerror(errno));
	/* A socket that keeps the default MSS still works. */
	return CURL_SOCKOPT_OK;
}

pserr
upstream_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? PS_OK :
	    PS_ERR_NOMEM;
}

static pserr
run_head(struct upstream *u)
{
	struct upstream_reply r;
	curl_off_t us = 0, cl = -1;
	char *ct = NULL;

	u->head_done = 1;
	if (curl_easy_getinfo(u->curl, CURLINFO_STARTTRANSFER_TIME_T, &us) ==
	    CURLE_OK)
		metrics_upstream_latency((int64_t)us);
	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(u->curl, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(u->curl, CURLINFO_CONTENT_TYPE, &ct);
	r.content_type = ct != NULL ? ct : "";
	r.encrypted = u->encrypted;
	if (curl_easy_getinfo(u->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) !=
	    CURLE_OK)
		cl = -1;
	r.length = (long long)cl;
	return u->head(u->arg, &r);
}

static double
since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	    (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* curl's own low-speed check averages over several seconds, so a request
 * upload would hide a silent server: note here when a byte last moved,
 * and transfer() gives up after the idle timeout of silence. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct upstream *u = arg;

	(void)dltotal;
	(void)ultotal;
	if (dlnow != u->last_dl || ulnow != u->last_ul) {
		u->last_dl = dlnow;
		u->last_ul = ulnow;
		clock_gettime(CLOCK_MONOTONIC, &u->last_move);
	}
	return 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "promptseal-encrypted:";
	struct upstream *u = arg;
	size_t len = size * n, k = sizeof(name) - 1;

	/* A new status line (after 100 Continue, say) starts a new reply. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		u->encrypted = -1;
	else if (len > k && strncasecmp(p, name, k) == 0) {
		const char *v = p + k, *end = p + len;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		u->encrypted = (end - v >= 4 && strncasecmp(v, "true", 4) == 0);
	}
	return len;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct upstream *u = arg;
	size_t len = size * n;

	if (!u->head_done && (u->cb_rc = run_head(u)) != PS_OK)
		return 0;
	if (len > 0 && (u->cb_rc = u->data(u->arg, p, len)) != PS_OK)
		return 0;
	return len;
}

/* curl says which of its sockets it waits on and for what. */
static int
on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct upstream *u = arg;
	int i, slot = -1;

	(void)e;
	(void)sockp;
	for (i = 0; i < UPSTREAM_SOCKS; i++) {
		if (u->sock[i].fd == fd) {
			if (what == CURL_POLL_REMOVE)
				u->sock[i].fd = CURL_SOCKET_BAD;
			else
				u->sock[i].what = what;
			return 0;
		}
		if (u->sock[i].fd == CURL_SOCKET_BAD && slot < 0)
			slot = i;
	}
	if (what == CURL_POLL_REMOVE)
		return 0;
	if (slot < 0)
		return -1;     /* more sockets than a transfer uses: fail it */
	u->sock[slot].fd = fd;
	u->sock[slot].what = what;
	return 0;
}

pserr
upstream_new(const struct upstream_cfg *cfg, struct upstream **out)
{
	struct upstream *u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return PS_ERR_NOMEM;
	if ((u->curl = curl_easy_init()) == NULL ||
	    (u->multi = curl_multi_init()) == NULL) {
		curl_easy_cleanup(u->curl);
		free(u);
		return PS_ERR_NOMEM;
	}
	curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
	u->cfg = cfg;
	curl_easy_setopt(u->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(u->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(u->curl, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(u->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(u->curl, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(u->curl, CURLOPT_TCP_NODELAY, 1L);
	/* Large bodies in large pieces: a 1 MiB body took 64 receives and 16
	 * sends of curl's default 16 and 64 KiB, each with its poll.  A
	 * stream's events still come as they arrive. */
	curl_easy_setopt(u->curl, CURLOPT_BUFFERSIZE, UPSTREAM_BUFFER);
	curl_easy_setopt(u->curl, CURLOPT_UPLOAD_BUFFERSIZE, UPSTREAM_BUFFER);
	curl_easy_setopt(u->curl, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(u->curl, CURLOPT_SOCKOPTDATA, NULL);
	/* The next hop is configured, never reached through a proxy: set
	 * explicitly, so curl looks up no *_proxy variable per request. */
	curl_easy_setopt(u->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(u->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(u->curl, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
	/* Silence, not total time, is what times out: a stream may run long. */
	curl_easy_setopt(u->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(u->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(u->curl, CURLOPT_XFERINFODATA, u);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(u->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(u->curl, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(u->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(u->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(u->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	/* The proxies relay bodies as they are: no content decoding. */
	curl_easy_setopt(u->curl, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	if (cfg->ca_file != NULL)
		curl_easy_setopt(u->curl, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->unix_path != NULL)
		curl_easy_setopt(u->curl, CURLOPT_UNIX_SOCKET_PATH, cfg->unix_path);
	*out = u;
	return PS_OK;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	curl_easy_cleanup(u->curl);
	curl_multi_cleanup(u->multi);
	free(u);
}

/*
 * Run the transfer set up on u->curl to its end.  curl_easy_perform does
 * the same, but without telling curl which socket is ready, so that curl
 * polls it once more before each read and write: six polls for a small
 * request.  Here one poll waits on what curl asked for (on_socket) until
 * its next timeout, at most a second; the socket that is ready goes to
 * curl_multi_socket_action with its events, the end of a wait as a
 * timeout.  The next hop's silence is checked after every wake-up.
 * Returns the transfer's result, CURLE_ABORTED_BY_CALLBACK when the next
 * hop was silent for cfg->idle_timeout_s.
 */
static CURLcode
transfer(struct upstream *u)
{
	CURLcode cc = CURLE_OK;
	CURLMcode mc = CURLM_OK;
	CURLMsg *m;
	int running = 1, i, left;

	for (i = 0; i < UPSTREAM_SOCKS; i++)
		u->sock[i].fd = CURL_SOCKET_BAD;
	if (curl_multi_add_handle(u->multi, u->curl) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (running && mc == CURLM_OK) {
		struct pollfd pf[UPSTREAM_SOCKS];
		long wait = 1000;
		int n = 0, r = 0;

		if (curl_multi_timeout(u->multi, &wait) != CURLM_OK ||
		    wait < 0 || wait > 1000)
			wait = 1000;
		for (i = 0; i < UPSTREAM_SOCKS; i++) {
			if (u->sock[i].fd == CURL_SOCKET_BAD)
				continue;
			pf[n].fd = u->sock[i].fd;
			pf[n].events = (short)(
			    (u->sock[i].what & CURL_POLL_IN ? POLLIN : 0) |
			    (u->sock[i].what & CURL_POLL_OUT ? POLLOUT : 0));
			pf[n++].revents = 0;
		}
		if (wait > 0 && (r = poll(pf, (nfds_t)n, (int)wait)) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll: %s", strerror(errno));
			cc = CURLE_RECV_ERROR;
			break;
		}
		if (r == 0)
			mc = curl_multi_socket_action(u->multi,
			    CURL_SOCKET_TIMEOUT, 0, &running);
		for (i = 0; i < n && r > 0 && mc == CURLM_OK; i++) {
			int ev = 0;

			if (pf[i].revents == 0)
				continue;
			if (pf[i].revents & (POLLIN | POLLHUP))
				ev |= CURL_CSELECT_IN;
			if (pf[i].revents & POLLOUT)
				ev |= CURL_CSELECT_OUT;
			if (pf[i].revents & (POLLERR | POLLNVAL))
				ev |= CURL_CSELECT_ERR;
			mc = curl_multi_socket_action(u->multi, pf[i].fd, ev,
			    &running);
		}
		if (running && since(&u->last_move) >=
		    (double)u->cfg->idle_timeout_s) {
			u->idle_expired = 1;
			cc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
	}
	if (mc != CURLM_OK) {
		log_warn("next hop: %s", curl_multi_strerror(mc));
		cc = CURLE_RECV_ERROR;
	}
	while ((m = curl_multi_info_read(u->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE && m->easy_handle == u->curl &&
		    cc == CURLE_OK)
			cc = m->data.result;
	curl_multi_remove_handle(u->multi, u->curl);
	return cc;
}

pserr
upstream_request(struct upstream *u, const char *method, const char *path,
    const char *const *headers, const char *body, size_t len,
    upstream_head_fn head, upstream_data_fn data, void *arg, int *started)
{
	struct curl_slist *hl = NULL, *t;
	CURLcode cc;
	pserr rc = PS_ERR_NOMEM;
	int n;

	*started = 0;
	n = snprintf(u->url, sizeof(u->url), "%s%s", u->cfg->base_url, path);
	if (n < 0 || (size_t)n >= sizeof(u->url))
		return PS_ERR_ARG;
	/* No "Expect: 100-continue" round trip before large bodies. */
	if ((hl = curl_slist_append(NULL, "Expect:")) == NULL)
		goto out;
	for (; headers != NULL && *headers != NULL; headers++) {
		if ((t = curl_slist_append(hl, *headers)) == NULL)
			goto out;
		hl = t;
	}
	/* A POST without a body goes without a Content-Type (protocol.md
	 * section 4); libcurl would add its form type. */
	if (strcmp(method, "POST") == 0 && len == 0) {
		if ((t = curl_slist_append(hl, "Content-Type:")) == NULL)
			goto out;
		hl = t;
	}
	u->head = head;
	u->data = data;
	u->arg = arg;
	u->encrypted = -1;
	u->head_done = 0;
	u->cb_rc = PS_OK;
	u->last_dl = u->last_ul = 0;
	u->idle_expired = 0;
	clock_gettime(CLOCK_MONOTONIC, &u->last_move);
	curl_easy_setopt(u->curl, CURLOPT_URL, u->url);
	curl_easy_setopt(u->curl, CURLOPT_HTTPHEADER, hl);
	if (strcmp(method, "POST") == 0) {
		/* A POST without a body (a cancel) is still a POST. */
		curl_easy_setopt(u->curl, CURLOPT_POSTFIELDS,
		    body != NULL ? body : "");
		curl_easy_setopt(u->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else {
		curl_easy_setopt(u->curl, CURLOPT_HTTPGET, 1L);
		/* Any other bodyless method (DELETE) is a GET renamed. */
		if (strcmp(method, "GET") != 0)
			curl_easy_setopt(u->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	cc = transfer(u);
	/* The next hop's web server closed a kept connection as it was
	 * reused, before a byte of a reply: once more on a fresh one.  At
	 * the client a sealed request that did arrive after all is refused
	 * by the worker as a replay, never answered twice; the worker's own
	 * hop is HTTP/1.1, where curl itself tries again just so. */
	if (!u->head_done && kept_connection_died(u->curl, cc)) {
		log_info("the next hop closed a kept connection as it was "
		    "reused (%s): once more on a fresh one",
		    curl_easy_strerror(cc));
		u->last_dl = u->last_ul = 0;
		clock_gettime(CLOCK_MONOTONIC, &u->last_move);
		curl_easy_setopt(u->curl, CURLOPT_FRESH_CONNECT, 1L);
		cc = transfer(u);
		curl_easy_setopt(u->curl, CURLOPT_FRESH_CONNECT, 0L);
	}
	*started = u->head_done;
	switch (cc) {
	case CURLE_OK:
		rc = u->head_done ? PS_OK : run_head(u);
		*started = 1;
		break;
	case CURLE_WRITE_ERROR:
		rc = u->cb_rc != PS_OK ? u->cb_rc : PS_ERR_UPSTREAM;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		if (!u->idle_expired) {
			rc = PS_ERR_UPSTREAM;
			break;
		}
		log_warn("next hop silent for %ld s",
		    u->cfg->idle_timeout_s);
		rc = PS_ERR_TIMEOUT;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		log_warn("next hop: %s", curl_easy_strerror(cc));
		rc = PS_ERR_TIMEOUT;
		break;
	default:
		log_warn("next hop: %s", curl_easy_strerror(cc));
		rc = PS_ERR_UPSTREAM;
		break;
	}
out:
	/* The handle must not keep pointers to this request's data. */
	curl_easy_setopt(u->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(u->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(u->curl, CURLOPT_CUSTOMREQUEST, NULL);
	/* At the worker the path holds the opened query and a header the
	 * opened Content-Type: the copies made here are wiped (those curl
	 * makes of its own, in its request buffer, are beyond reach). */
	secret_wipe(u->url, (size_t)n);
	for (t = hl; t != NULL; t = t->next)
		secret_wipe(t->data, strlen(t->data));
	curl_slist_free_all(hl);
	return rc;
}

pserr
upstream_reachable(const struct upstream_cfg *cfg)
{
	CURL *c;
	CURLcode cc;

	if ((c = curl_easy_init()) == NULL)
		return PS_ERR_NOMEM;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_URL, cfg->base_url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->connect_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->unix_path != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cfg->unix_path);
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return cc == CURLE_OK ? PS_OK : PS_ERR_UPSTREAM;
}
