/* SPDX-License-Identifier: ISC */
/*
 * asclient against an in-process HTTP/1.1 server on 127.0.0.1 that either
 * runs the real API (asapi over a real store) or plays a canned reply.
 * TLS verification is left to the end-to-end tests, which put the AS
 * behind lighttpd and Apache; here the client runs with allow_http.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "as/asapi.h"
#include "as/asreply.h"
#include "as/asstore.h"
#include "asclient/asclient.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "attest/release.h"
#include "core/secret.h"
#include "testutil.h"

#define TOKEN "client-token-0123456789"

/* M_IMPOSTOR, M_OLD_PEER: the real API, but a join is answered with a
 * key of the impostor's own wrapped to the joiner's key, beside the real
 * peer's evidence; or without the evidence. */
enum mode { M_API, M_CANNED, M_SILENT, M_HUGE, M_IMPOSTOR, M_OLD_PEER };

static struct {
	int lfd, port;
	pthread_t th;
	volatile int stop;
	enum mode mode;
	int canned_status;
	const char *canned_body;
	char last[16384];        /* the last request, headers and body */
	size_t last_len;
	char resp[16384];        /* the body of the last reply */
	size_t resp_len;
	struct asapi_cfg *cfg;
	struct asstore *store;
	int rekey;               /* after the next attest, the AS changes its
	                          * key pair (a restart, another instance) */
	int keep;                /* the next reply keeps its connection, and
	                          * the request after it on that connection
	                          * is read, then the connection reset */
	int resets;
} srv;

/* An expiry ttl seconds from now. */
#define NOW_PLUS(ttl) ((int64_t)time(NULL) + (ttl))

static struct tu_as as;
static struct aspolicy user;     /* the user's trust policy: the platform
                                  * key, the worker and AS measurements */

static const char *
header(const char *req, const char *name, char *out, size_t cap)
{
	const char *p = req;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return NULL;
}

/* The base64url value of "name" in the JSON text s, decoded into out. */
static size_t
member_b64(const char *s, const char *name, uint8_t *out, size_t cap)
{
	char key[64];
	const char *v, *e;
	size_t got = 0;

	snprintf(key, sizeof(key), "\"%s\":\"", name);
	ck_assert_ptr_nonnull(v = strstr(s, key));
	v += strlen(key);
	ck_assert_ptr_nonnull(e = strchr(v, '"'));
	ck_assert_int_eq(codec_b64url_decode(v, (size_t)(e - v), out, cap,
	    &got), PS_OK);
	return got;
}

/* A join's reply forged: with own, the peer's evidence kept and its
 * wrapped key replaced with one of 0x66s wrapped to the joiner's key;
 * else the evidence dropped. */
static void
forge_join(const char *req, int own, struct asreply *rep)
{
	static const uint8_t evil[32] = {
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	};
	uint8_t ch[32], pub[32];
	char *ev, *evend, *b;
	struct buf blob;
	size_t n;

	ck_assert_int_eq(rep->status, 200);
	ck_assert_uint_eq(member_b64(req, "challenge", ch, sizeof(ch)), 32);
	ck_assert_uint_eq(member_b64(req, "pubkey", pub, sizeof(pub)), 32);
	buf_init(&blob, 256);
	ck_assert_int_eq(buf_putc(&rep->body, '\0'), PS_OK);
	if (own) {
		ck_assert_int_eq(wrap_seal(pub, ch, 32, evil, 32, &blob), PS_OK);
	} else {
		ck_assert_int_eq(buf_reserve(&blob, 256), PS_OK);
		blob.len = member_b64(rep->body.p, "keys", (uint8_t *)blob.p,
		    256);
	}
	ck_assert_ptr_nonnull(ev = strstr(rep->body.p, "\"evidence\":\""));
	ev += strlen("\"evidence\":\"");
	ck_assert_ptr_nonnull(evend = strchr(ev, '"'));
	n = CODEC_B64URL_LEN(blob.len) + (size_t)(evend - ev) + 128;
	b = malloc(n);
	ck_assert_ptr_nonnull(b);
	n = (size_t)snprintf(b, n, "{\"count\":1,\"keys\":\"");
	n += codec_b64url_encode((uint8_t *)blob.p, blob.len, b + n);
	if (own)
		n += (size_t)sprintf(b + n, "\",\"format\":\"sim\","
		    "\"evidence\":\"%.*s\"}", (int)(evend - ev), ev);
	else
		n += (size_t)sprintf(b + n, "\"}");
	buf_reset(&rep->body);
	ck_assert_int_eq(buf_append(&rep->body, b, n), PS_OK);
	free(b);
	buf_free(&blob);
}

static void
serve_one(int fd)
{
	char *end, method[16], uri[256], auth[600], ct[128], cl[32];
	struct asreply rep;
	struct asapi_request q;
	size_t len = 0, want;
	ssize_t r;
	char head[256];

	memset(srv.last, 0, sizeof(srv.last));
	for (;;) {
		r = read(fd, srv.last + len, sizeof(srv.last) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		if ((end = strstr(srv.last, "\r\n\r\n")) != NULL)
			break;
	}
	want = (size_t)(end + 4 - srv.last);
	if (header(srv.last, "Content-Length", cl, sizeof(cl)) != NULL)
		want += (size_t)atol(cl);
	while (len < want && len < sizeof(srv.last) - 1) {
		r = read(fd, srv.last + len, sizeof(srv.last) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
	}
	srv.last_len = len;
	if (srv.mode == M_SILENT) {
		/* Hold the connection open without a word until the client
		 * gives up. */
		struct pollfd p = {fd, POLLIN, 0};

		while (!srv.stop && poll(&p, 1, 50) == 0)
			;
		return;
	}
	if (srv.mode == M_HUGE) {
		static char junk[8192];
		size_t i;

		memset(junk, 'x', sizeof(junk));
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "application/json\r\nContent-Length: %d\r\n"
		    "Connection: close\r\n\r\n", 1 << 20);
		if (write(fd, head, strlen(head)) < 0)
			return;
		for (i = 0; i < (1 << 20) / sizeof(junk); i++)
			if (write(fd, junk, sizeof(junk)) < 0)
				return;
		return;
	}
	asreply_init(&rep);
	if (srv.mode == M_CANNED) {
		rep.status = srv.canned_status;
		if (buf_puts(&rep.body, srv.canned_body) != PS_OK)
			rep.status = 599;
	} else {
		sscanf(srv.last, "%15s %255s", method, uri);
		memset(&q, 0, sizeof(q));
		q.method = method;
		q.uri = uri;
		q.authorization = header(srv.last, "Authorization", auth,
		    sizeof(auth));
		q.content_type = header(srv.last, "Content-Type", ct,
		    sizeof(ct));
		q.body = end + 4;
		q.body_len = len - (size_t)(end + 4 - srv.last);
		asapi_handle(srv.cfg, srv.store, &q, (int64_t)time(NULL), &rep);
		if (srv.mode >= M_IMPOSTOR && strcmp(uri, "/as/v1/join") == 0)
			forge_join(q.body, srv.mode == M_IMPOSTOR, &rep);
		if (srv.rekey && strcmp(uri, "/as/v1/attest") == 0) {
			srv.rekey = 0;
			if (wrap_keypair(as.as_priv, as.as_pub) != PS_OK)
				rep.status = 599;
		}
	}
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: %s\r\n"
	    "\r\n", rep.status, rep.body.len, srv.keep ? "keep-alive" : "close");
	srv.resp_len = rep.body.len < sizeof(srv.resp) ? rep.body.len : 0;
	memcpy(srv.resp, rep.body.p ? rep.body.p : "", srv.resp_len);
	/* A client that went away is no concern of this server. */
	if (write(fd, head, strlen(head)) > 0 && rep.body.len > 0)
		r = write(fd, rep.body.p, rep.body.len);
	asreply_free(&rep);
}

static void *
serve(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = {srv.lfd, POLLIN, 0};
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((fd = accept(srv.lfd, NULL, NULL)) < 0)
			continue;
		serve_one(fd);
		if (srv.keep) {
			/* A server that closes a kept connection just as the
			 * client reuses it: the next request is read and the
			 * connection reset, nothing answered. */
			struct pollfd q = {fd, POLLIN, 0};
			struct linger lg = {1, 0};
			char junk[16384];

			srv.keep = 0;
			if (poll(&q, 1, 5000) > 0 &&
			    read(fd, junk, sizeof(junk)) > 0)
				srv.resets++;
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
	}
	return NULL;
}

static void
start_server(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	srv.stop = 0;
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(srv.lfd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(srv.lfd, 16), 0);
	ck_assert_int_eq(getsockname(srv.lfd, (struct sockaddr *)&a, &al), 0);
	srv.port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&srv.th, NULL, serve, NULL), 0);
}

static void
setup(void)
{
	ck_assert_int_eq(asclient_global_init(), PS_OK);
	tu_as_setup(&as, TOKEN);
	aspolicy_init(&user);
	ck_assert_int_eq(aspolicy_add_key(&user, as.ppub), PS_OK);
	ck_assert_int_eq(attest_allowlist_add(&user.workers, &as.meas), PS_OK);
	ck_assert_int_eq(attest_allowlist_add(&user.as, &as.as_meas), PS_OK);
	srv.cfg = &as.cfg;
	srv.store = as.store;
	srv.mode = M_API;
	start_server();
}

static void
teardown(void)
{
	srv.stop = 1;
	pthread_join(srv.th, NULL);
	close(srv.lfd);
	aspolicy_free(&user);
	tu_as_teardown(&as);
}

static struct asclient *
client(long timeout_ms)
{
	struct asclient_opts o;
	struct asclient *c = NULL;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/as/", srv.port);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.allow_http = 1;
	o.timeout_ms = timeout_ms;
	o.policy = &user;
	ck_assert_int_eq(asclient_new(&o, &c), PS_OK);
	return c;
}

START_TEST(url_must_be_https)
{
	struct asclient_opts o;
	struct asclient *c = NULL;

	memset(&o, 0, sizeof(o));
	o.url = "http://127.0.0.1/as";
	ck_assert_int_eq(asclient_new(&o, &c), PS_ERR_ARG);
	o.url = "ftp://127.0.0.1/as";
	o.allow_http = 1;
	ck_assert_int_eq(asclient_new(&o, &c), PS_ERR_ARG);
	o.url = NULL;
	ck_assert_int_eq(asclient_new(&o, &c), PS_ERR_ARG);
	o.url = "https://as.example/as";
	o.allow_http = 0;
	ck_assert_int_eq(asclient_new(&o, &c), PS_OK);
	asclient_free(c);
}
END_TEST

START_TEST(upload)
{
	struct asclient *c = client(0);
	uint8_t kid[16], sec[32];
	int64_t exp = 0, before = (int64_t)time(NULL);
	struct keycache_entry *l = NULL;
	size_t n;

	memset(kid, 0xab, sizeof(kid));
	memset(sec, 0x01, sizeof(sec));
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(600),
	    &exp), PS_OK);
	ck_assert_int_ge(exp, before + 600);
	ck_assert_int_le(exp, (int64_t)time(NULL) + 600);
	ck_assert_str_eq(asclient_error(c), "");
	/* What went on the wire. */
	ck_assert_ptr_nonnull(strstr(srv.last, "POST /as/v1/secrets HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.last,
	    "\r\nAuthorization: Bearer " TOKEN "\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.last,
	    "\r\nContent-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(srv.last, "\r\n\r\n{\"kid\":\""
	    "abababababababababababababababab\",\"expires\":"));
	/* Only sealed: neither the secret's bytes nor any text form. */
	ck_assert_ptr_null(memmem(srv.last, srv.last_len, sec, 32));
	ck_assert_ptr_null(strstr(srv.last, "AQEBAQEBAQEB"));
	ck_assert_ptr_null(strstr(srv.last, "0101010101010101"));
	ck_assert_int_eq(asstore_list(as.store, before, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(l[0].secret, sec, 32);
	keyfile_entries_free(l, n);
	/* Again: the kid exists. */
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(600),
	    &exp), PS_ERR_EXISTS);
	ck_assert_str_eq(asclient_error(c),
	    "HTTP 409 kid_exists: a secret with this kid exists");
	/* A wrong token. */
	kid[0] = 0;
	ck_assert_int_eq(asclient_upload(c, TOKEN "x", kid, sec, NOW_PLUS(600),
	    &exp), PS_ERR_AUTH);
	ck_assert_str_eq(asclient_error(c), "HTTP 401 unauthorized: a valid "
	    "bearer token is required");
	/* A token that would inject a header is not sent at all. */
	ck_assert_int_eq(asclient_upload(c, TOKEN "\r\nX-Evil: 1", kid, sec,
	    NOW_PLUS(600), &exp), PS_ERR_ARG);
	/* A life beyond the AS's --max-ttl is cut to it ... */
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(90000),
	    &exp), PS_OK);
	ck_assert_int_le(exp, (int64_t)time(NULL) + 86400);
	ck_assert_int_ge(exp, before + 86400);
	/* ... and an expiry in the past refused. */
	kid[0] = 1;
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, before - 1, &exp),
	    PS_ERR_BAD_REQUEST);
	asclient_free(c);
}
END_TEST

/*
 * The attest's connection is kept and then reset as the upload reuses it:
 * the upload goes again on a fresh connection.  Over HTTP/1.1, as here,
 * curl itself tries again; over HTTP/2 (the AS behind lighttpd or Apache
 * with TLS) it does not, and asclient's own retry
 * (kept_connection_died) is what passes this, which only the
 * end-to-end tests reach.
 */
START_TEST(kept_connection_reset)
{
	struct asclient *c = client(0);
	uint8_t kid[16], sec[32];
	int64_t exp = 0;

	memset(kid, 0xcd, sizeof(kid));
	memset(sec, 0x02, sizeof(sec));
	srv.keep = 1;
	srv.resets = 0;
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(600),
	    &exp), PS_OK);
	ck_assert_int_eq(srv.resets, 1);
	ck_assert_ptr_nonnull(strstr(srv.last, "POST /as/v1/secrets HTTP/1.1\r\n"));
	ck_assert_str_eq(asclient_error(c), "");
	asclient_free(c);
}
END_TEST

START_TEST(fetch_keys)
{
	struct asclient *c = client(0);
	struct attest_producer *p = NULL;
	struct attest_measurement bad = as.meas;
	struct keycache_entry *keys = NULL;
	uint8_t kid[16], sec[32];
	size_t n = 99;

	ck_assert_int_eq(attest_sim_producer_new(as.ppriv, &as.meas, &p),
	    PS_OK);
	/* Nothing uploaded yet: an empty set, not an error. */
	ck_assert_int_eq(asclient_fetch_keys(c, p, &keys, &n), PS_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(keys);
	memset(kid, 0x11, sizeof(kid));
	memset(sec, 0x22, sizeof(sec));
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(600),
	    NULL), PS_OK);
	ck_assert_int_eq(asclient_fetch_keys(c, p, &keys, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(keys[0].kid, kid, 16);
	ck_assert_mem_eq(keys[0].secret, sec, 32);
	/* The secret never crossed the wire in the clear: the reply holds
	 * neither its bytes nor its base64. */
	ck_assert_uint_gt(srv.resp_len, 100);
	ck_assert_ptr_null(memmem(srv.resp, srv.resp_len, sec, 32));
	ck_assert_ptr_null(memmem(srv.resp, srv.resp_len, "IiIiIiIi", 8));
	keyfile_entries_free(keys, n);
	attest_producer_free(p);
	/* Evidence claiming a measurement the AS does not allow. */
	bad.b[0] ^= 1;
	ck_assert_int_eq(attest_sim_producer_new(as.ppriv, &bad, &p), PS_OK);
	keys = NULL;
	ck_assert_int_eq(asclient_fetch_keys(c, p, &keys, &n), PS_ERR_AUTH);
	ck_assert_ptr_null(keys);
	ck_assert_str_eq(asclient_error(c), "HTTP 403 attestation_failed: "
	    "attestation failed: measurement not in the allowlist");
	attest_producer_free(p);
	asclient_free(c);
}
END_TEST

START_TEST(bad_replies)
{
	struct asclient *c = client(0);
	uint8_t ch[32], kid[16] = {0}, sec[32] = {0};

	srv.mode = M_CANNED;
	srv.canned_status = 500;
	srv.canned_body = "{\"error\":{\"code\":\"internal_error\","
	    "\"message\":\"bad\\nline\"}}";
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_UPSTREAM);
	/* Control characters from the peer do not reach the log. */
	ck_assert_str_eq(asclient_error(c),
	    "HTTP 500 internal_error: bad?line");
	srv.canned_status = 418;
	srv.canned_body = "";
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_BAD_UPSTREAM);
	ck_assert_str_eq(asclient_error(c), "HTTP 418");
	srv.canned_status = 200;
	srv.canned_body = "not json";
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_BAD_UPSTREAM);
	srv.canned_body = "{\"challenge\":\"abc\",\"expires\":1}";
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_BAD_UPSTREAM);
	ck_assert_str_eq(asclient_error(c),
	    "the AS's challenge reply is malformed");
	srv.canned_status = 201;
	srv.canned_body = "{\"kid\":\"x\"}";
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(60), NULL),
	    PS_ERR_BAD_UPSTREAM);
	/* A reply past the cap. */
	srv.mode = M_HUGE;
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_BAD_UPSTREAM);
	ck_assert_str_eq(asclient_error(c), "reply larger than 65536 bytes");
	asclient_free(c);
}
END_TEST

START_TEST(timeout_and_refused)
{
	struct asclient *c = client(300);
	struct asclient_opts o;
	uint8_t ch[32];

	srv.mode = M_SILENT;
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_TIMEOUT);
	asclient_free(c);
	/* Nobody listens on port 1 of the loopback. */
	memset(&o, 0, sizeof(o));
	o.url = "http://127.0.0.1:1/as";
	o.allow_http = 1;
	ck_assert_int_eq(asclient_new(&o, &c), PS_OK);
	ck_assert_int_eq(asclient_challenge(c, ch, NULL), PS_ERR_UPSTREAM);
	ck_assert_str_ne(asclient_error(c), "");
	asclient_free(c);
}
END_TEST

/* An AS the user's policy does not accept gets nothing: the upload stops
 * after the attest call. */
static void
refused(struct asclient *c, const char *why)
{
	uint8_t kid[16], sec[32];

	memset(kid, 0x31, sizeof(kid));
	memset(sec, 0x32, sizeof(sec));
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(600), NULL),
	    PS_ERR_AUTH);
	ck_assert_msg(strstr(asclient_error(c), why) != NULL, "%s",
	    asclient_error(c));
	ck_assert_ptr_nonnull(strstr(srv.last, "POST /as/v1/attest "));
	ck_assert_ptr_null(memmem(srv.last, srv.last_len, sec, 32));
}

START_TEST(as_verified)
{
	struct asclient *c = client(0);
	struct attest_measurement rogue = as.meas;
	uint8_t rogue_key[32], pub[32];
	char saved[16384];
	size_t saved_len;

	/* The good AS: attested, and its key is the one it runs with. */
	ck_assert_int_eq(asclient_attest(c, &user, pub), PS_OK);
	ck_assert_mem_eq(pub, as.as_pub, 32);
	memcpy(saved, srv.resp, srv.resp_len);
	saved_len = srv.resp_len;
	saved[saved_len] = '\0';

	/* The operator adds a worker measurement of its own. */
	rogue.b[0] ^= 0xff;
	ck_assert_int_eq(attest_allowlist_add(&as.policy.workers, &rogue),
	    PS_OK);
	ck_assert_int_eq(aspolicy_digest(&as.policy, as.digest), PS_OK);
	refused(c, "the AS allows worker measurement");
	/* ... or a platform key of its own. */
	as.policy.workers.n--;
	memset(rogue_key, 0x66, sizeof(rogue_key));
	ck_assert_int_eq(aspolicy_add_key(&as.policy, rogue_key), PS_OK);
	ck_assert_int_eq(aspolicy_digest(&as.policy, as.digest), PS_OK);
	refused(c, "the AS trusts platform key 6666");
	as.policy.nkeys--;
	/* ... or lets an AS build of its own join, which would get the
	 * storage key and every secret with it. */
	ck_assert_int_eq(attest_allowlist_add(&as.policy.peers, &rogue),
	    PS_OK);
	ck_assert_int_eq(aspolicy_digest(&as.policy, as.digest), PS_OK);
	refused(c, "the AS lets AS measurement");
	as.policy.peers.n--;
	/* ... or reports one policy and enforces another (the digest it
	 * signed is not that of the lists it sends). */
	as.digest[0] ^= 1;
	refused(c, "its evidence does not bind");
	ck_assert_int_eq(aspolicy_digest(&as.policy, as.digest), PS_OK);
	/* An AS build the user does not accept. */
	user.as.m[0].b[0] ^= 1;
	refused(c, "AS measurement not in the allowlist");
	user.as.m[0].b[0] ^= 1;

	/* An impostor with a valid TLS endpoint but no valid evidence. */
	srv.mode = M_CANNED;
	srv.canned_status = 200;
	srv.canned_body = "{\"format\":\"sim\",\"pubkey\":\""
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"evidence\":\"AAAA\","
	    "\"policy\":{\"platform_keys\":[],\"worker_measurements\":[],"
	    "\"peer_measurements\":[]}}";
	refused(c, "the AS is refused: malformed evidence");
	/* ... or that replays the good AS's old evidence. */
	srv.canned_body = saved;
	refused(c, "its evidence does not bind");
	srv.mode = M_API;
	ck_assert_int_eq(asclient_attest(c, &user, pub), PS_OK);
	asclient_free(c);
}
END_TEST

/* The AS's key changes between the attest and the upload: the upload is
 * answered as_key_changed, the client attests again and seals anew, and
 * never takes it for kid_exists. */
START_TEST(as_key_changed)
{
	struct asclient *c = client(0);
	struct keycache_entry *l = NULL;
	uint8_t kid[16], sec[32];
	size_t n;

	memset(kid, 0x51, sizeof(kid));
	memset(sec, 0x52, sizeof(sec));
	srv.rekey = 1;
	ck_assert_int_eq(asclient_upload(c, TOKEN, kid, sec, NOW_PLUS(600),
	    NULL), PS_OK);
	ck_assert_int_eq(srv.rekey, 0);
	ck_assert_int_eq(asstore_list(as.store, (int64_t)time(NULL), &l, &n),
	    PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(l[0].secret, sec, 32);
	keyfile_entries_free(l, n);
	asclient_free(c);
}
END_TEST

/* The join of c with p and policy self fails with rc and why. */
static void
join_refused(struct asclient *c, const struct attest_producer *p,
    const struct aspolicy *self, const uint8_t dig[32], pserr rc,
    const char *why)
{
	uint8_t key[32];

	memset(key, 0, sizeof(key));
	ck_assert_int_eq(asclient_join(c, p, self, dig, key), rc);
	ck_assert_msg(strstr(asclient_error(c), why) != NULL, "%s",
	    asclient_error(c));
	ck_assert_mem_ne(key, as.storage_key, 32);
}

/*
 * A second instance joins with evidence that binds this policy, and takes
 * the storage key only under the peer's evidence: a trusted platform, an
 * AS build it lets join, binding the key it was given.
 */
START_TEST(join_gets_storage_key)
{
	struct asclient *c = client(0);
	struct attest_producer *p = NULL;
	struct attest_measurement other = as.as_meas;
	struct aspolicy self;
	uint8_t key[32], dig[32], rogue_key[32];

	ck_assert_int_eq(attest_sim_producer_new(as.ppriv, &as.as_meas, &p),
	    PS_OK);
	ck_assert_int_eq(asclient_join(c, p, &as.policy, as.digest, key),
	    PS_OK);
	ck_assert_mem_eq(key, as.storage_key, 32);
	/* The peer refuses a joiner of another policy. */
	memcpy(dig, as.digest, 32);
	dig[1] ^= 1;
	join_refused(c, p, &as.policy, dig, PS_ERR_AUTH, "403");

	/* The joiner refuses a peer whose build it does not let join ... */
	aspolicy_init(&self);
	ck_assert_int_eq(aspolicy_add_key(&self, as.ppub), PS_OK);
	other.b[5] ^= 1;
	ck_assert_int_eq(attest_allowlist_add(&self.peers, &other), PS_OK);
	join_refused(c, p, &self, as.digest, PS_ERR_AUTH,
	    "the peer is refused: AS measurement not in the allowlist");
	aspolicy_free(&self);
	/* ... or on a platform it does not trust. */
	aspolicy_init(&self);
	memset(rogue_key, 0x66, sizeof(rogue_key));
	ck_assert_int_eq(aspolicy_add_key(&self, rogue_key), PS_OK);
	ck_assert_int_eq(attest_allowlist_add(&self.peers, &as.as_meas),
	    PS_OK);
	join_refused(c, p, &self, as.digest, PS_ERR_AUTH,
	    "the peer is refused");
	aspolicy_free(&self);

	/* Whoever answers at the peer's address wraps a key of its own to
	 * the joiner's key, beside the real peer's evidence. */
	srv.mode = M_IMPOSTOR;
	join_refused(c, p, &as.policy, as.digest, PS_ERR_AUTH,
	    "its evidence does not bind");
	/* ... or without evidence, as a peer before it did. */
	srv.mode = M_OLD_PEER;
	join_refused(c, p, &as.policy, as.digest, PS_ERR_BAD_UPSTREAM,
	    "malformed");
	srv.mode = M_API;
	ck_assert_int_eq(asclient_join(c, p, &as.policy, as.digest, key),
	    PS_OK);
	ck_assert_mem_eq(key, as.storage_key, 32);
	attest_producer_free(p);
	asclient_free(c);
}
END_TEST

static Suite *
asclient_suite(void)
{
	Suite *s = suite_create("asclient");
	TCase *t = tcase_create("http");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, url_must_be_https);
	tcase_add_test(t, upload);
	tcase_add_test(t, kept_connection_reset);
	tcase_add_test(t, fetch_keys);
	tcase_add_test(t, bad_replies);
	tcase_add_test(t, timeout_and_refused);
	tcase_add_test(t, as_verified);
	tcase_add_test(t, join_gets_storage_key);
	tcase_add_test(t, as_key_changed);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	/* The fake AS writes to clients that may have gone (the client cuts
	 * the M_HUGE reply off at its cap): such a write must fail with
	 * EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return tu_run(asclient_suite());
}
