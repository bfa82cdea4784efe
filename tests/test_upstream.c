/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/net/upstream.c against a small scripted HTTP/1.1
 * server of this file on a UNIX socket: the reply head (status, content
 * type, Promptseal-Encrypted), a body handed over chunk by chunk in
 * order, a POST body delivered intact, keep-alive across requests, and
 * each failure: refused, broken off mid-body, silent past the idle
 * timeout, a callback's error; and, over loopback TCP, the MSS the
 * handle announces (clamped to 16 KiB so streams do not stall) and a
 * handshake that never completes, ended by the connect timeout.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "net/upstream.h"

/* ------------------------------------------------------------ server */

static char sock_path[108];
static int listen_fd = -1;
static int accepts;
static pthread_t srv;

static void
say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

/* Read one request head and body; returns its path (static) or NULL at
 * EOF.  *body_len gets the body's length. */
static const char *
read_request(int fd, size_t *body_len)
{
	static char path[256];
	char head[8192], *end, *cl;
	size_t n = 0, want = 0, have;

	for (;;) {
		ssize_t r = read(fd, head + n, sizeof(head) - 1 - n);

		if (r <= 0)
			return NULL;
		n += (size_t)r;
		head[n] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
	}
	if ((cl = strcasestr(head, "\r\nContent-Length:")) != NULL && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	have = n - (size_t)(end + 4 - head);
	while (have < want) {
		char b[4096];
		ssize_t r = read(fd, b, sizeof(b));

		if (r <= 0)
			return NULL;
		have += (size_t)r;
	}
	*body_len = want;
	if (sscanf(head, "%*s %255s", path) != 1)
		return NULL;
	return path;
}

static int
serve(int fd, const char *path, size_t body_len)
{
	char line[256];

	if (strcmp(path, "/ok") == 0) {
		say(fd, "HTTP/1.1 201 Created\r\nContent-Type: application/json"
		    "\r\nPromptseal-Encrypted: true\r\nContent-Length: 2\r\n"
		    "\r\n{}");
	} else if (strcmp(path, "/plain") == 0) {
		say(fd, "HTTP/1.1 400 Bad Request\r\nContent-Type: "
		    "application/json\r\nPromptseal-Encrypted: false\r\n"
		    "Content-Length: 0\r\n\r\n");
	} else if (strcmp(path, "/echo-len") == 0) {
		snprintf(line, sizeof(line), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "text/plain\r\nContent-Length: %zu\r\n\r\n%zu",
		    (size_t)snprintf(NULL, 0, "%zu", body_len), body_len);
		say(fd, line);
	} else if (strcmp(path, "/chunks") == 0) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
		say(fd, "3\r\none\r\n");
		usleep(50000);
		say(fd, "3\r\ntwo\r\n");
		usleep(50000);
		say(fd, "5\r\nthree\r\n0\r\n\r\n");
	} else if (strcmp(path, "/cut") == 0) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: 100\r\n\r\n{\"partial\":");
		return -1;
	} else if (strcmp(path, "/silent") == 0) {
		sleep(3);
		return -1;
	} else {
		say(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	}
	return 0;
}

static void *
conn_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	const char *path;
	size_t len;

	while ((path = read_request(fd, &len)) != NULL)
		if (serve(fd, path, len) != 0)
			break;
	close(fd);
	return NULL;
}

/* A thread per connection, so a silent one holds up no other. */
static void *
server_thread(void *arg)
{
	pthread_t t;
	int fd;

	(void)arg;
	while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
		__atomic_add_fetch(&accepts, 1, __ATOMIC_SEQ_CST);
		if (pthread_create(&t, NULL, conn_thread, (void *)(intptr_t)fd)
		    != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static void
server_start(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/ps-test-upstream-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(listen_fd, 0);
	ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
	    0);
	ck_assert_int_eq(listen(listen_fd, 8), 0);
	ck_assert_int_eq(pthread_create(&srv, NULL, server_thread, NULL), 0);
}

/* ------------------------------------------------------------ client */

struct seen {
	int heads;
	long status;
	char ctype[64];
	int encrypted;
	long long length;
	struct buf body;
	int chunks;
	pserr fail_head;
};

static pserr
on_head(void *arg, const struct upstream_reply *r)
{
	struct seen *s = arg;

	s->heads++;
	s->status = r->status;
	snprintf(s->ctype, sizeof(s->ctype), "%s", r->content_type);
	s->encrypted = r->encrypted;
	s->length = r->length;
	return s->fail_head;
}

static pserr
on_data(void *arg, const char *p, size_t n)
{
	struct seen *s = arg;

	s->chunks++;
	return buf_append(&s->body, p, n);
}

static struct upstream_cfg cfg;

static struct upstream *
client(long idle_s)
{
	struct upstream *u = NULL;

	cfg.base_url = "http://localhost";
	cfg.unix_path = sock_path;
	cfg.connect_timeout_ms = 2000;
	cfg.idle_timeout_s = idle_s;
	ck_assert_int_eq(upstream_new(&cfg, &u), PS_OK);
	return u;
}

static pserr
get(struct upstream *u, const char *method, const char *path,
    const char *body, struct seen *s, int *started)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->body, 1 << 20);
	s->fail_head = PS_OK;
	return upstream_request(u, method, path, NULL, body,
	    body != NULL ? strlen(body) : 0, on_head, on_data, s, started);
}

/* ------------------------------------------------------------ tests */

START_TEST(test_is_loopback)
{
	static const char *const yes[] = {
		"http://localhost", "http://localhost:8080/v1", "HTTP://LocalHost.",
		"http://127.0.0.1:9", "http://127.1.2.3/x", "http://[::1]:80/",
		"http://[::1]", "https://localhost", "http://u:p@127.0.0.1:1",
		"http://localhost?x", "http://localhost#f",
	};
	static const char *const no[] = {
		"http://example.com", "http://128.0.0.1", "http://10.0.0.1:80",
		"http://localhost.example.com", "http://127.0.0.1.example",
		"http://0x7f000001", "http://127.1", "http://[::2]",
		"http://[::ffff:127.0.0.1]", "http://[::1", "http://[::1]x",
		"http://", "ftp://localhost", "localhost", "", NULL,
		"http://127.0.0.1@evil.example", "http://evil.example/127.0.0.1",
		"http://evil.example?@127.0.0.1",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(upstream_is_loopback(yes[i]) == 1, "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(upstream_is_loopback(no[i]) == 0, "%s",
		    no[i] ? no[i] : "NULL");
}
END_TEST

START_TEST(test_head_and_body)
{
	struct upstream *u;
	struct seen s;
	int started;

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	server_start();
	u = client(5);
	ck_assert_int_eq(get(u, "GET", "/ok", NULL, &s, &started), PS_OK);
	ck_assert_int_eq(started, 1);
	ck_assert_int_eq(s.heads, 1);
	ck_assert_int_eq(s.status, 201);
	ck_assert_str_eq(s.ctype, "application/json");
	ck_assert_int_eq(s.encrypted, 1);
	ck_assert_str_eq(buf_cstr(&s.body), "{}");
	ck_assert_int_eq(s.length, 2);
	buf_free(&s.body);
	ck_assert_int_eq(get(u, "GET", "/plain", NULL, &s, &started), PS_OK);
	ck_assert_int_eq(s.status, 400);
	ck_assert_int_eq(s.encrypted, 0);
	/* An empty body still gets its head, once. */
	ck_assert_int_eq(s.heads, 1);
	ck_assert_uint_eq(s.body.len, 0);
	buf_free(&s.body);
	ck_assert_int_eq(get(u, "GET", "/nothing", NULL, &s, &started), PS_OK);
	ck_assert_int_eq(s.status, 404);
	ck_assert_int_eq(s.encrypted, -1);        /* header absent */
	buf_free(&s.body);
	/* Three requests, one connection. */
	ck_assert_int_eq(__atomic_load_n(&accepts, __ATOMIC_SEQ_CST), 1);
	upstream_free(u);
}
END_TEST

START_TEST(test_post_body_and_chunks)
{
	struct upstream *u;
	struct seen s;
	char *big = malloc(300001);
	int started;

	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 300000);
	big[300000] = '\0';
	ck_assert_int_eq(upstream_global_init(), PS_OK);
	server_start();
	u = client(5);
	ck_assert_int_eq(get(u, "POST", "/echo-len", big, &s, &started), PS_OK);
	ck_assert_str_eq(buf_cstr(&s.body), "300000");
	buf_free(&s.body);
	ck_assert_int_eq(get(u, "GET", "/chunks", NULL, &s, &started), PS_OK);
	ck_assert_str_eq(s.ctype, "text/event-stream");
	ck_assert_str_eq(buf_cstr(&s.body), "onetwothree");
	/* Chunks that arrived apart were handed over apart. */
	ck_assert_int_ge(s.chunks, 3);
	buf_free(&s.body);
	upstream_free(u);
	free(big);
}
END_TEST

START_TEST(test_failures)
{
	struct upstream *u;
	struct seen s;
	int started;

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	/* Nobody listens: refused, nothing started. */
	snprintf(sock_path, sizeof(sock_path), "/tmp/ps-test-upstream-none");
	u = client(5);
	ck_assert_int_eq(get(u, "GET", "/ok", NULL, &s, &started),
	    PS_ERR_UPSTREAM);
	ck_assert_int_eq(started, 0);
	ck_assert_int_eq(s.heads, 0);
	buf_free(&s.body);
	upstream_free(u);

	server_start();
	u = client(1);
	/* Broken off after the head: started, then an error. */
	ck_assert_int_eq(get(u, "GET", "/cut", NULL, &s, &started),
	    PS_ERR_UPSTREAM);
	ck_assert_int_eq(started, 1);
	buf_free(&s.body);
	/* Silent for longer than the idle timeout. */
	ck_assert_int_eq(get(u, "GET", "/silent", NULL, &s, &started),
	    PS_ERR_TIMEOUT);
	ck_assert_int_eq(started, 0);
	buf_free(&s.body);
	/* The head callback's error ends the exchange and is returned. */
	memset(&s, 0, sizeof(s));
	buf_init(&s.body, 1 << 20);
	s.fail_head = PS_ERR_BAD_UPSTREAM;
	ck_assert_int_eq(upstream_request(u, "GET", "/ok", NULL, NULL, 0,
	    on_head, on_data, &s, &started), PS_ERR_BAD_UPSTREAM);
	ck_assert_uint_eq(s.body.len, 0);
	buf_free(&s.body);
	upstream_free(u);
}
END_TEST

/* ------------------------------------------------------------ TCP MSS */

static int tcp_fd = -1;
static int tcp_peer_mss = -1;

/* Accept one connection, note the MSS the peer announced (the accepted
 * socket sends segments no larger), answer one request, close. */
static void *
tcp_server(void *arg)
{
	socklen_t len = sizeof(tcp_peer_mss);
	size_t blen;
	int fd;

	(void)arg;
	if ((fd = accept(tcp_fd, NULL, NULL)) < 0)
		return NULL;
	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &tcp_peer_mss, &len) != 0)
		tcp_peer_mss = -1;
	if (read_request(fd, &blen) != NULL)
		say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: 2\r\n\r\n{}");
	close(fd);
	return NULL;
}

static int
tcp_listen(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd, on = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A plain TCP connection to the loopback port. */
static int
tcp_connect(int port)
{
	struct sockaddr_in a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* An upstream handle to the loopback port; tc and url (64 bytes) must
 * outlive it. */
static struct upstream *
tcp_upstream(struct upstream_cfg *tc, char *url, int port, long connect_ms,
    long idle_s)
{
	struct upstream *u = NULL;

	snprintf(url, 64, "http://127.0.0.1:%d", port);
	memset(tc, 0, sizeof(*tc));
	tc->base_url = url;
	tc->connect_timeout_ms = connect_ms;
	tc->idle_timeout_s = idle_s;
	ck_assert_int_eq(upstream_new(tc, &u), PS_OK);
	return u;
}

START_TEST(test_tune_socket)
{
	int t, u, v = 0;
	socklen_t len = sizeof(v);

	/* Before connect, TCP_MAXSEG reads back what was set. */
	ck_assert_int_ge(t = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(upstream_tune_socket(t), 0);
	ck_assert_int_eq(getsockopt(t, IPPROTO_TCP, TCP_MAXSEG, &v, &len), 0);
	ck_assert_int_eq(v, 16384);
	close(t);
	/* A UNIX socket is left alone, without an error. */
	ck_assert_int_ge(u = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(upstream_tune_socket(u), 0);
	close(u);
}
END_TEST

START_TEST(test_tcp_mss_clamped)
{
	struct upstream_cfg tc;
	struct upstream *u;
	struct seen s;
	pthread_t th;
	char url[64];
	int port, started, plain, fd, v = 0;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	/* Loopback's own MSS, seen on an untouched connection, is larger:
	 * otherwise this test would prove nothing. */
	tcp_fd = tcp_listen(&port);
	plain = tcp_connect(port);
	ck_assert_int_eq(getsockopt(plain, IPPROTO_TCP, TCP_MAXSEG, &v, &len), 0);
	ck_assert_int_gt(v, 16384);
	ck_assert_int_ge(fd = accept(tcp_fd, NULL, NULL), 0);
	close(fd);
	close(plain);

	/* Through the upstream handle, the server side sees the clamp. */
	ck_assert_int_eq(pthread_create(&th, NULL, tcp_server, NULL), 0);
	u = tcp_upstream(&tc, url, port, 2000, 5);
	memset(&s, 0, sizeof(s));
	buf_init(&s.body, 1 << 20);
	ck_assert_int_eq(upstream_request(u, "GET", "/", NULL, NULL, 0,
	    on_head, on_data, &s, &started), PS_OK);
	ck_assert_int_eq(s.status, 200);
	pthread_join(th, NULL);
	ck_assert_int_gt(tcp_peer_mss, 0);
	ck_assert_int_le(tcp_peer_mss, 16384);
	buf_free(&s.body);
	upstream_free(u);
	close(tcp_fd);
}
END_TEST

/* A next hop that never completes the handshake: its listening socket
 * has a full accept queue, so the kernel drops the SYN.  curl's connect
 * timer, run by the transfer loop, ends the exchange with PS_ERR_TIMEOUT
 * long before the idle timeout would. */
START_TEST(test_connect_timeout)
{
	struct upstream_cfg tc;
	struct upstream *u;
	struct timespec t0, t1;
	struct seen s;
	char url[64];
	int port, lfd, queued, started;
	double secs;

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	lfd = tcp_listen(&port);
	ck_assert_int_eq(listen(lfd, 0), 0);
	queued = tcp_connect(port);
	u = tcp_upstream(&tc, url, port, 200, 30);
	memset(&s, 0, sizeof(s));
	buf_init(&s.body, 1 << 20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(upstream_request(u, "GET", "/", NULL, NULL, 0,
	    on_head, on_data, &s, &started), PS_ERR_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_int_eq(started, 0);
	ck_assert_int_eq(s.heads, 0);
	ck_assert_msg(secs < 10, "took %.1f s: the idle timeout, not the "
	    "connect timeout, ended it", secs);
	buf_free(&s.body);
	upstream_free(u);
	close(queued);
	close(lfd);
}
END_TEST

static Suite *
upstream_suite(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("upstream");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_is_loopback);
	tcase_add_test(tc, test_head_and_body);
	tcase_add_test(tc, test_post_body_and_chunks);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_tune_socket);
	tcase_add_test(tc, test_tcp_mss_clamped);
	tcase_add_test(tc, test_connect_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(upstream_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
