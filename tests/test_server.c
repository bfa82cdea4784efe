/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/net/server.c: the FastCGI responder loop, driven over
 * its UNIX socket by a minimal FastCGI client of this file (the record
 * format of the FastCGI 1.0 specification), so that no web server is
 * needed: body reading with and without CONTENT_LENGTH, the body cap, the
 * JSON content-type check, the section 6 error, large bodies written in
 * large records, when a connection is closed after its reply, concurrent
 * requests, a clean stop on SIGTERM that lets a running request finish,
 * and a relayed stream written once per read from the next hop, not once
 * per event.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "net/proxy.h"
#include "net/server.h"

#define BODY_CAP 64

/* ------------------------------------------------------------ server */

/* Requests with X-Meet: N wait (at most 10 s) until N of them are in the
 * handler at once, and say whether they met. */
static pthread_mutex_t meet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_cond = PTHREAD_COND_INITIALIZER;
static int meet_count;

static int
meet(int n)
{
	struct timespec until;
	int met;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&meet_lock);
	meet_count++;
	pthread_cond_broadcast(&meet_cond);
	while (meet_count < n &&
	    pthread_cond_timedwait(&meet_cond, &meet_lock, &until) == 0)
		;
	met = meet_count >= n;
	pthread_mutex_unlock(&meet_lock);
	return met;
}

/* X-Stream: "R,E": a stream relayed as the proxies relay one, R reads
 * from the next hop of E events each. */
static void
stream(FCGX_Request *req, const char *spec)
{
	struct proxy_sink k;
	int r, e, reads = 0, events = 0;

	if (sscanf(spec, "%d,%d", &reads, &events) != 2 ||
	    proxy_stream_begin(&k, req, NULL) != PS_OK)
		return;
	for (r = 0; r < reads; r++) {
		for (e = 0; e < events; e++)
			if (proxy_sink_emit(&k, "data: {}\n\n", 10, 1) != PS_OK)
				return;
		if (proxy_stream_flush(&k) != PS_OK)
			return;
	}
}

static void
handle(void *app, void *state, FCGX_Request *req)
{
	const char *delay = server_param(req, "HTTP_X_DELAY_MS");
	const char *st = server_param(req, "HTTP_X_STREAM");
	const char *n = server_param(req, "HTTP_X_MEET");
	const char *big = server_param(req, "HTTP_X_BIG");
	char head[160];
	struct buf body;
	pserr rc;

	(void)app;
	(void)state;
	if (st != NULL) {
		stream(req, st);
		return;
	}
	if (big != NULL) {
		size_t i, len = strtoul(big, NULL, 10);
		char *b = malloc(len + 1);

		for (i = 0; b != NULL && i < len; i++)
			b[i] = (char)('a' + i % 23);
		if (b != NULL)
			server_send(req, 200, "text/plain", NULL, b, len);
		free(b);
		return;
	}
	buf_init(&body, BODY_CAP);
	if ((rc = server_read_body(req, &body)) != PS_OK) {
		server_send_error(req, rc, "X-Extra: 1\r\n");
		goto out;
	}
	if (delay != NULL) {
		struct timespec ts = {0, atol(delay) * 1000000L};

		nanosleep(&ts, NULL);
	}
	snprintf(head, sizeof(head), "X-Json: %d\r\nX-Len: %zu\r\nX-Met: %d\r\n",
	    server_is_json(req), body.len, n != NULL ? meet(atoi(n)) : 0);
	server_send(req, 200, "text/plain", head, body.p, body.len);
out:
	buf_free(&body);
}

static char sock_path[108];
static pid_t child;

static void
server_start(int threads)
{
	char dir[] = "/tmp/ps-test-server-XXXXXX";
	int i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct server_opts o = {sock_path, threads, 16, 5};
		struct server_app a = {handle, NULL, NULL, NULL, NULL};

		_exit(server_run(&o, &a));
	}
	for (i = 0; i < 500 && access(sock_path, F_OK) != 0; i++)
		usleep(10000);
	ck_assert_int_eq(access(sock_path, F_OK), 0);
}

/* Stop the server with SIGTERM; returns its exit status. */
static int
server_stop(void)
{
	int st;

	kill(child, SIGTERM);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	unlink(sock_path);
	*strrchr(sock_path, '/') = '\0';
	rmdir(sock_path);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* ------------------------------------------------------------ client */

enum { BEGIN = 1, END = 3, PARAMS = 4, STDIN = 5, STDOUT = 6 };

/* STDOUT records with content in the last reply: one per write. */
static int stdout_records;

static void
put_record(struct buf *b, int type, const void *p, size_t n)
{
	uint8_t h[8] = {1, (uint8_t)type, 0, 1, (uint8_t)(n >> 8),
	    (uint8_t)n, 0, 0};

	ck_assert_int_eq(buf_append(b, h, 8), PS_OK);
	ck_assert_int_eq(buf_append(b, p, n), PS_OK);
}

static void
put_param(struct buf *b, const char *name, const char *value)
{
	uint8_t l[2] = {(uint8_t)strlen(name), (uint8_t)strlen(value)};

	ck_assert_uint_lt(strlen(name), 128);
	ck_assert_uint_lt(strlen(value), 128);
	ck_assert_int_eq(buf_append(b, l, 2), PS_OK);
	ck_assert_int_eq(buf_puts(b, name), PS_OK);
	ck_assert_int_eq(buf_puts(b, value), PS_OK);
}

static int
connect_server(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * One request: params is a NULL-terminated list of name, value pairs;
 * body goes out in records of at most 1000 bytes.  The reply's STDOUT
 * (head and body) is appended to out.  The connection is closed, or left
 * open in *keep where keep is not NULL.
 */
static void
request_on(const char *const *params, const char *body, size_t n,
    struct buf *out, int *keep)
{
	static const uint8_t begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};
	struct buf wire, pb;
	uint8_t h[8];
	int fd = connect_server(), done = 0;
	size_t off;

	buf_init(&wire, 1 << 20);
	buf_init(&pb, 65535);
	put_record(&wire, BEGIN, begin, 8);
	for (; *params != NULL; params += 2)
		put_param(&pb, params[0], params[1]);
	put_record(&wire, PARAMS, pb.p, pb.len);
	put_record(&wire, PARAMS, "", 0);
	for (off = 0; off < n; off += 1000)
		put_record(&wire, STDIN, body + off, n - off < 1000 ? n - off :
		    1000);
	put_record(&wire, STDIN, "", 0);
	ck_assert_int_eq(write(fd, wire.p, wire.len), (ssize_t)wire.len);
	stdout_records = 0;
	while (!done) {
		char content[65536 + 256];
		size_t len, pad;

		ck_assert_int_eq(recv(fd, h, 8, MSG_WAITALL), 8);
		len = (size_t)h[4] << 8 | h[5];
		pad = h[6];
		if (len + pad > 0)
			ck_assert_int_eq(recv(fd, content, len + pad,
			    MSG_WAITALL), (ssize_t)(len + pad));
		if (h[1] == STDOUT && len > 0) {
			ck_assert_int_eq(buf_append(out, content, len), PS_OK);
			stdout_records++;
		}
		done = h[1] == END;
	}
	if (keep != NULL)
		*keep = fd;
	else
		close(fd);
	buf_free(&wire);
	buf_free(&pb);
}

static void
request(const char *const *params, const char *body, size_t n,
    struct buf *out)
{
	request_on(params, body, n, out, NULL);
}

static const char *
reply(const char *method, const char *ctype, const char *clen,
    const char *body, size_t n, struct buf *out)
{
	const char *params[] = {"REQUEST_METHOD", method, "REQUEST_URI", "/x",
	    "CONTENT_TYPE", ctype, clen != NULL ? "CONTENT_LENGTH" : NULL,
	    clen, NULL};

	buf_reset(out);
	request(params, body, n, out);
	return buf_cstr(out);
}

/* ------------------------------------------------------------ tests */

START_TEST(test_body_and_json)
{
	struct buf out;
	const char *r;

	buf_init(&out, 1 << 16);
	server_start(2);
	r = reply("POST", "application/json; charset=utf-8", "5", "hello", 5,
	    &out);
	ck_assert_ptr_nonnull(strstr(r, "Status: 200"));
	ck_assert_ptr_nonnull(strstr(r, "X-Json: 1\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "X-Len: 5\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "Content-Length: 5\r\n"));
	ck_assert_str_eq(strstr(r, "\r\n\r\n") + 4, "hello");
	/* Without CONTENT_LENGTH (Apache streams large bodies): read to EOF. */
	r = reply("POST", "APPLICATION/JSON", NULL, "0123456789", 10, &out);
	ck_assert_ptr_nonnull(strstr(r, "X-Json: 1\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "X-Len: 10\r\n"));
	r = reply("POST", "text/plain", "2", "hi", 2, &out);
	ck_assert_ptr_nonnull(strstr(r, "X-Json: 0\r\n"));
	r = reply("POST", "application/jsonx", "2", "hi", 2, &out);
	ck_assert_ptr_nonnull(strstr(r, "X-Json: 0\r\n"));
	r = reply("POST", "application/json;x=1", "0", "", 0, &out);
	ck_assert_ptr_nonnull(strstr(r, "X-Json: 1\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "X-Len: 0\r\n"));
	ck_assert_int_eq(server_stop(), 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_body_cap)
{
	static const char err[] = "{\"error\":{\"message\":\"body too large\","
	    "\"type\":\"invalid_request_error\",\"code\":\"body_too_large\"}}";
	char big[BODY_CAP + 1];
	struct buf out;
	const char *r;

	memset(big, 'x', sizeof(big));
	buf_init(&out, 1 << 16);
	server_start(1);
	/* Exactly the cap is fine. */
	r = reply("POST", "application/json", "64", big, BODY_CAP, &out);
	ck_assert_ptr_nonnull(strstr(r, "X-Len: 64\r\n"));
	/* One byte more, announced or not, is the section 6 error. */
	r = reply("POST", "application/json", "65", big, sizeof(big), &out);
	ck_assert_ptr_nonnull(strstr(r, "Status: 413"));
	ck_assert_ptr_nonnull(strstr(r, "Promptseal-Encrypted: false\r\n"));
	ck_assert_ptr_nonnull(strstr(r, "X-Extra: 1\r\n"));
	ck_assert_str_eq(strstr(r, "\r\n\r\n") + 4, err);
	r = reply("POST", "application/json", NULL, big, sizeof(big), &out);
	ck_assert_ptr_nonnull(strstr(r, "Status: 413"));
	/* A CONTENT_LENGTH over the cap is refused before any byte is read. */
	r = reply("POST", "application/json", "1000000", "", 0, &out);
	ck_assert_ptr_nonnull(strstr(r, "Status: 413"));
	ck_assert_int_eq(server_stop(), 0);
	buf_free(&out);
}
END_TEST

/*
 * After the reply, does the server still hold its end of the connection?
 * Read to the end of the reply (the server has shut down its side at
 * least), then write a byte: a closed socket refuses it with EPIPE, one
 * that is still draining input takes it.
 */
static int
held_after(const char *clen, const char *body, size_t n)
{
	const char *params[] = {"REQUEST_METHOD", "POST", "CONTENT_TYPE",
	    "application/json", "CONTENT_LENGTH", clen, NULL};
	struct buf out;
	char c;
	int fd, held;

	buf_init(&out, 1 << 16);
	request_on(params, body, n, &out, &fd);
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
	held = send(fd, "x", 1, MSG_NOSIGNAL) == 1;
	if (!held)
		ck_assert_int_eq(errno, EPIPE);
	close(fd);
	buf_free(&out);
	return held;
}

/* A request whose input was read to its end is closed at once, without
 * libfcgi's wait for the web server to close first; one whose input was
 * left unread (refused by its length) is drained first, so that the
 * unread bytes cannot reset the connection under the reply. */
START_TEST(test_close_after_reply)
{
	char big[BODY_CAP + 1];

	memset(big, 'x', sizeof(big));
	server_start(1);
	ck_assert_int_eq(held_after("5", "hello", 5), 0);
	ck_assert_int_eq(held_after("65", big, sizeof(big)), 1);
	ck_assert_int_eq(server_stop(), 0);
}
END_TEST

/* A body of n bytes comes out whole and in order, in at most records
 * STDOUT records with content (the head's included). */
static void
check_big(size_t n, int records)
{
	char len[32];
	const char *params[] = {"REQUEST_METHOD", "GET", "HTTP_X_BIG", len,
	    NULL};
	struct buf out;
	const char *b;
	size_t i;

	snprintf(len, sizeof(len), "%zu", n);
	buf_init(&out, 8 << 20);
	request(params, "", 0, &out);
	b = strstr(buf_cstr(&out), "\r\n\r\n");
	ck_assert_ptr_nonnull(b);
	b += 4;
	ck_assert_uint_eq(out.len - (size_t)(b - out.p), n);
	for (i = 0; i < n; i++)
		if (b[i] != (char)('a' + i % 23))
			ck_abort_msg("byte %zu of %zu differs", i, n);
	ck_assert_int_le(stdout_records, records);
	buf_free(&out);
}

/* Large bodies bypass libfcgi's 8 KiB stream buffer: records of up to
 * 65528 bytes (the last one padded), not one record and one write per
 * 8 KiB.  Sizes around each boundary. */
START_TEST(test_large_body_records)
{
	server_start(1);
	check_big(0, 1);
	check_big(1, 2);
	check_big(32768, 6);
	check_big(32769, 2);
	check_big(65528, 2);
	check_big(65529, 3);
	check_big(65 * 65528 + 5, 67);
	check_big((1 << 20) + 3, 18);
	ck_assert_int_eq(server_stop(), 0);
}
END_TEST

/* A stop while a request runs: the request is answered in full, then the
 * process exits 0. */
START_TEST(test_stop_waits_for_request)
{
	const char *params[] = {"REQUEST_METHOD", "POST", "CONTENT_TYPE",
	    "application/json", "HTTP_X_DELAY_MS", "600", NULL};
	struct buf out;
	pid_t c;
	int st;

	buf_init(&out, 1 << 16);
	server_start(2);
	c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		request(params, "slow", 4, &out);
		_exit(strstr(buf_cstr(&out), "X-Len: 4\r\n") != NULL &&
		    strcmp(strstr(buf_cstr(&out), "\r\n\r\n") + 4, "slow") ==
		    0 ? 0 : 1);
	}
	usleep(200000);
	ck_assert_int_eq(server_stop(), 0);
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	buf_free(&out);
}
END_TEST

/* Requests on several connections at once are served by the pool: four
 * requests that each wait for all four to be in the handler all meet. */
START_TEST(test_concurrent)
{
	const char *params[] = {"REQUEST_METHOD", "POST", "CONTENT_TYPE",
	    "application/json", "HTTP_X_MEET", "4", NULL};
	pid_t c[4];
	int i, st;

	server_start(4);
	for (i = 0; i < 4; i++) {
		c[i] = fork();
		ck_assert_int_ge(c[i], 0);
		if (c[i] == 0) {
			struct buf out;

			buf_init(&out, 1 << 16);
			request(params, "abc", 3, &out);
			_exit(strstr(buf_cstr(&out), "X-Met: 1\r\n") != NULL ?
			    0 : 1);
		}
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(c[i], &st, 0), c[i]);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	}
	ck_assert_int_eq(server_stop(), 0);
}
END_TEST

/* Events that arrived in one read from the next hop leave in one write
 * (one FastCGI record), each read's events as soon as that read is done:
 * the head, then one record per read, whatever the number of events. */
START_TEST(test_stream_one_write_per_read)
{
	const char *params[] = {"REQUEST_METHOD", "GET", "REQUEST_URI", "/s",
	    "HTTP_X_STREAM", "3,20", NULL};
	struct buf out;
	const char *p, *r;
	int n = 0;

	server_start(2);
	buf_init(&out, 1 << 20);
	request(params, "", 0, &out);
	r = buf_cstr(&out);
	ck_assert_ptr_nonnull(strstr(r, "Status: 200"));
	ck_assert_ptr_nonnull(strstr(r, "text/event-stream"));
	for (p = r; (p = strstr(p, "data: {}\n\n")) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 60);
	ck_assert_int_eq(stdout_records, 1 + 3);
	buf_free(&out);
	ck_assert_int_eq(server_stop(), 0);
}
END_TEST

static Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("server");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_body_and_json);
	tcase_add_test(tc, test_body_cap);
	tcase_add_test(tc, test_close_after_reply);
	tcase_add_test(tc, test_large_body_records);
	tcase_add_test(tc, test_stop_waits_for_request);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_stream_one_write_per_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
