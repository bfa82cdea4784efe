/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/net/proxy.c: the options both proxies share (defaults,
 * every value accepted and refused), the event-stream content type, and
 * the per-thread buffers: wiped after each request, large ones given back.
 * And what a proxy believes of its peer: which plain error it takes from
 * the worker side (only the code, never the text, protocol.md section 6),
 * and the media type a reply is bound to (section 3).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "core/caps.h"
#include "core/log.h"
#include "core/pserr.h"
#include "net/proxy.h"

START_TEST(test_defaults)
{
	struct proxy_opts o;

	proxy_opts_init(&o);
	ck_assert_ptr_null(o.server.socket_path);
	ck_assert_int_eq(o.server.threads, 8);
	ck_assert_uint_eq(o.max_body, PS_CAP_BODY_DEFAULT);
	ck_assert_uint_eq(o.max_reply, PS_CAP_REPLY_DEFAULT);
	ck_assert_uint_eq(o.max_line, PS_CAP_LINE_DEFAULT);
	ck_assert_int_eq(o.upstream.idle_timeout_s, 300);
	ck_assert_int_eq(o.upstream.connect_timeout_ms, 5000);
	ck_assert_int_eq(o.log_level, LOG_INFO);
}
END_TEST

START_TEST(test_apply)
{
	struct proxy_opts o;

	proxy_opts_init(&o);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_SOCKET, "/run/s"), 1);
	ck_assert_str_eq(o.server.socket_path, "/run/s");
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_THREADS, "3"), 1);
	ck_assert_int_eq(o.server.threads, 3);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_MAX_BODY, "512K"), 1);
	ck_assert_uint_eq(o.max_body, 512 * 1024);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_MAX_REPLY, "1G"), 1);
	ck_assert_uint_eq(o.max_reply, 1u << 30);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_UPSTREAM_TIMEOUT, "9"),
	    1);
	ck_assert_int_eq(o.upstream.idle_timeout_s, 9);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_CONNECT_TIMEOUT, "250"),
	    1);
	ck_assert_int_eq(o.upstream.connect_timeout_ms, 250);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_LOG_LEVEL, "debug"), 1);
	ck_assert_int_eq(o.log_level, LOG_DEBUG);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_PAD_BODY, "4K"), 1);
	ck_assert_uint_eq(o.pad_body, 4096);
	ck_assert_int_eq(proxy_opts_apply(&o, PROXY_OPT_PAD_BODY, "0"), 1);
	ck_assert_uint_eq(o.pad_body, 0);
	/* Not a common option: left to the caller. */
	ck_assert_int_eq(proxy_opts_apply(&o, 0x200, "x"), 0);
	ck_assert_int_eq(proxy_opts_apply(&o, 'h', NULL), 0);
}
END_TEST

static const struct {
	int opt;
	const char *arg;
} bad[] = {
	{PROXY_OPT_THREADS, "0"}, {PROXY_OPT_THREADS, "1025"},
	{PROXY_OPT_THREADS, "two"}, {PROXY_OPT_MAX_BODY, "0"},
	{PROXY_OPT_MAX_BODY, "2G"}, {PROXY_OPT_MAX_BODY, "10MB"},
	{PROXY_OPT_MAX_REPLY, "5G"}, {PROXY_OPT_UPSTREAM_TIMEOUT, "0"},
	{PROXY_OPT_UPSTREAM_TIMEOUT, "86401"},
	{PROXY_OPT_CONNECT_TIMEOUT, "600001"}, {PROXY_OPT_LOG_LEVEL, "loud"},
	{PROXY_OPT_PAD_BODY, "2M"}, {PROXY_OPT_PAD_BODY, "-1"},
};

START_TEST(test_apply_bad)
{
	struct proxy_opts o, before;

	proxy_opts_init(&o);
	proxy_opts_init(&before);
	ck_assert_int_eq(proxy_opts_apply(&o, bad[_i].opt, bad[_i].arg), -1);
	/* A refused value leaves the options as they were. */
	ck_assert_mem_eq(&o, &before, sizeof(o));
}
END_TEST

START_TEST(test_is_sse)
{
	ck_assert_int_eq(proxy_is_sse("text/event-stream"), 1);
	ck_assert_int_eq(proxy_is_sse("text/event-stream; charset=utf-8"), 1);
	ck_assert_int_eq(proxy_is_sse("Text/Event-Stream"), 1);
	ck_assert_int_eq(proxy_is_sse("text/event-streams"), 0);
	ck_assert_int_eq(proxy_is_sse("application/json"), 0);
	ck_assert_int_eq(proxy_is_sse(""), 0);
	/* Read as the bound media type is: blanks around it are not part
	 * of it, anything before the ';' is. */
	ck_assert_int_eq(proxy_is_sse(" text/event-stream\t;x"), 1);
	ck_assert_int_eq(proxy_is_sse("text/event-stream x"), 0);
	ck_assert_int_eq(proxy_is_sse("text/event-stream\x01"), 0);
}
END_TEST

/* After a request every buffer is empty; those with plaintext are wiped
 * (the small ones kept, the large ones given back); a buffer that only
 * held the bytes between the proxies is emptied, not wiped. */
START_TEST(test_thread_clean)
{
	static const unsigned roles[] = { 0, PROXY_WIRE_CLIENT,
	    PROXY_WIRE_WORKER };
	static char big[PS_CAP_KEEP + 1];
	struct proxy_opts o;
	struct proxy_thread *t;
	struct buf *b[4];
	char *small[4];
	size_t i, k;

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	proxy_opts_init(&o);
	o.upstream.base_url = "http://localhost";
	/* The plaintext of each side is never on its wire list. */
	ck_assert_uint_eq(PROXY_WIRE_CLIENT & (PROXY_WIRE_BODY |
	    PROXY_WIRE_OUT), 0);
	ck_assert_uint_eq(PROXY_WIRE_WORKER & (PROXY_WIRE_MSG |
	    PROXY_WIRE_REPLY), 0);
	for (k = 0; k < sizeof(roles) / sizeof(roles[0]); k++) {
		ck_assert_ptr_nonnull(t = proxy_thread_new(&o, roles[k]));
		b[0] = &t->body;
		b[1] = &t->msg;
		b[2] = &t->reply;
		b[3] = &t->out;
		for (i = 0; i < 4; i++) {
			ck_assert_int_eq(buf_puts(b[i], "a secret prompt"),
			    PS_OK);
			small[i] = b[i]->p;
		}
		proxy_thread_clean(t);
		for (i = 0; i < 4; i++) {
			ck_assert_uint_eq(b[i]->len, 0);
			ck_assert_ptr_eq(b[i]->p, small[i]);
			if (roles[k] & (1u << i))
				ck_assert_ptr_nonnull(memmem(small[i],
				    b[i]->cap, "secret", 6));
			else
				ck_assert_ptr_null(memmem(small[i],
				    b[i]->cap, "secret", 6));
		}
		for (i = 0; i < 4; i++)
			ck_assert_int_eq(buf_append(b[i], big, sizeof(big)),
			    PS_OK);
		proxy_thread_clean(t);
		for (i = 0; i < 4; i++) {
			ck_assert_ptr_null(b[i]->p);
			ck_assert_uint_eq(b[i]->cap, 0);
			ck_assert_uint_eq(b[i]->len, 0);
		}
		proxy_thread_free(t);
	}
	proxy_thread_free(NULL);
}
END_TEST

/* A lent block goes to the other buffer empty, wiped when it held
 * plaintext, and comes back at the end of the request; a buffer with a
 * block of its own takes none. */
START_TEST(test_thread_lend)
{
	struct proxy_opts o;
	struct proxy_thread *t;
	char *body, *msg, *out;

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	proxy_opts_init(&o);
	o.upstream.base_url = "http://localhost";
	ck_assert_ptr_nonnull(t = proxy_thread_new(&o, PROXY_WIRE_WORKER));
	/* The worker's sealed request (wire) to its reply (plaintext). */
	ck_assert_int_eq(buf_puts(&t->body, "ps2:a sealed request"), PS_OK);
	body = t->body.p;
	proxy_thread_lend(t, &t->body, &t->reply);
	ck_assert_ptr_eq(t->reply.p, body);
	ck_assert_uint_eq(t->reply.len, 0);
	ck_assert_ptr_null(t->body.p);
	ck_assert_uint_eq(t->body.cap, 0);
	ck_assert_int_eq(buf_puts(&t->reply, "a secret reply"), PS_OK);
	/* The opened request (plaintext) to the sealed reply: wiped. */
	ck_assert_int_eq(buf_puts(&t->msg, "a secret prompt"), PS_OK);
	msg = t->msg.p;
	proxy_thread_lend(t, &t->msg, &t->out);
	ck_assert_ptr_eq(t->out.p, msg);
	ck_assert_ptr_null(memmem(msg, t->out.cap, "secret", 6));
	/* out has a block now: it takes no other. */
	ck_assert_int_eq(buf_puts(&t->out, "ps2:a sealed reply"), PS_OK);
	out = t->out.p;
	proxy_thread_lend(t, &t->reply, &t->out);
	ck_assert_ptr_eq(t->out.p, out);
	ck_assert_ptr_eq(t->reply.p, body);
	proxy_thread_clean(t);
	ck_assert_ptr_eq(t->body.p, body);
	ck_assert_ptr_eq(t->msg.p, msg);
	ck_assert_ptr_null(t->reply.p);
	ck_assert_ptr_null(t->out.p);
	ck_assert_uint_eq(t->nlent, 0);
	/* The reply's plaintext was wiped on the way back. */
	ck_assert_ptr_null(memmem(body, t->body.cap, "secret", 6));
	/* The next request lends again. */
	ck_assert_int_eq(buf_puts(&t->body, "ps2:x"), PS_OK);
	proxy_thread_lend(t, &t->body, &t->reply);
	ck_assert_ptr_eq(t->reply.p, body);
	proxy_thread_clean(t);
	ck_assert_ptr_eq(t->body.p, body);
	proxy_thread_free(t);
}
END_TEST

START_TEST(test_reply_presize)
{
	struct proxy_opts o;
	struct proxy_thread *t;

	ck_assert_int_eq(upstream_global_init(), PS_OK);
	proxy_opts_init(&o);
	o.upstream.base_url = "http://localhost";
	o.max_reply = 1 << 20;
	ck_assert_ptr_nonnull(t = proxy_thread_new(&o, 0));
	/* Unknown or past the cap: nothing reserved. */
	proxy_reply_presize(t, -1);
	proxy_reply_presize(t, 0);
	proxy_reply_presize(t, (1 << 20) + 1);
	ck_assert_uint_eq(t->reply.cap, 0);
	/* Known: reserved at once, so the body's chunks never regrow it. */
	proxy_reply_presize(t, 300000);
	ck_assert_uint_ge(t->reply.cap, 300001);
	ck_assert_uint_eq(t->reply.len, 0);
	proxy_thread_free(t);
}
END_TEST

static const struct {
	const char *body;
	pserr code;
} plain[] = {
	{ "{\"error\":{\"message\":\"no secret is known for this key ID\","
	  "\"type\":\"invalid_request_error\",\"code\":\"unknown_key\"}}",
	  PS_ERR_UNKNOWN_KEY },
	{ "{\"error\":{\"code\":\"no_key\"}}", PS_ERR_NO_KEY },
	{ " {\"error\" : {\"code\" : \"replayed\", \"message\": \"visit "
	  "http://evil.example\"}}\n", PS_ERR_REPLAYED },
	{ "{\"error\":{\"code\":\"upstream_unavailable\",\"x\":[1]},\"y\":2}",
	  PS_ERR_UPSTREAM },
	{ "{\"error\":{\"code\":\"unsupported_version\"}}", PS_ERR_VERSION },
	{ "{\"error\":{\"code\":\"decrypt_failed\"}}", PS_ERR_DECRYPT },
	/* Not ours, or not the shape: nothing. */
	{ "{\"error\":{\"code\":\"internal_error\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"evil\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"conflict\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"ok\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"no_key\\u0000\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"no\\u005fkey\"}}", PS_OK },
	{ "{\"error\":{\"code\":7}}", PS_OK },
	{ "{\"error\":{\"message\":\"no code\"}}", PS_OK },
	{ "{\"error\":\"no_key\"}", PS_OK },
	{ "{\"code\":\"no_key\"}", PS_OK },
	{ "{\"error\":{\"code\":\"no_key\"}", PS_OK },
	{ "<html>502 Bad Gateway</html>", PS_OK },
	{ "", PS_OK },
	{ "[{\"error\":{\"code\":\"no_key\"}}]", PS_OK },
};

START_TEST(test_plain_error_code)
{
	ck_assert_int_eq(proxy_plain_error_code(plain[_i].body,
	    strlen(plain[_i].body)), plain[_i].code);
}
END_TEST

START_TEST(test_plain_error_limits)
{
	static char big[70000];
	const char *head = "{\"error\":{\"code\":\"no_key\",\"message\":\"";
	size_t n = strlen(head);

	ck_assert_int_eq(proxy_plain_error_code(NULL, 0), PS_OK);
	memcpy(big, head, n);
	memset(big + n, 'a', 65536 - n - 3);
	memcpy(big + 65536 - 3, "\"}}", 3);
	ck_assert_int_eq(proxy_plain_error_code(big, 65536), PS_ERR_NO_KEY);
	memset(big + n, 'a', 65537 - n - 3);
	memcpy(big + 65537 - 3, "\"}}", 3);
	ck_assert_int_eq(proxy_plain_error_code(big, 65537), PS_OK);
}
END_TEST

static const struct {
	const char *ct;
	const char *media;   /* NULL: refused */
} media[] = {
	{ "application/json", "application/json" },
	{ "Application/JSON; charset=utf-8", "application/json" },
	{ "  text/event-stream ;x=1", "text/event-stream" },
	{ "text/html", "text/html" },
	{ "", "" },
	{ "\ttext/plain\t", "text/plain" },
	{ "text/\x01x", NULL },
};

START_TEST(test_media_type)
{
	char out[64];
	int n = proxy_media_type(media[_i].ct, out, sizeof(out));

	if (media[_i].media == NULL) {
		ck_assert_int_eq(n, -1);
		return;
	}
	ck_assert_int_eq(n, (int)strlen(media[_i].media));
	ck_assert_str_eq(out, media[_i].media);
}
END_TEST

START_TEST(test_media_type_fits)
{
	char out[18];

	ck_assert_int_eq(proxy_media_type("text/event-stream", out, 18), 17);
	ck_assert_int_eq(proxy_media_type("text/event-stream", out, 17), -1);
	ck_assert(proxy_is_sse("text/event-stream; charset=utf-8"));
	ck_assert(!proxy_is_sse("text/event-streams"));
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("proxy");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_apply);
	tcase_add_loop_test(tc, test_apply_bad, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_is_sse);
	tcase_add_test(tc, test_thread_clean);
	tcase_add_test(tc, test_thread_lend);
	tcase_add_test(tc, test_reply_presize);
	suite_add_tcase(s, tc);

	tc = tcase_create("peer");
	tcase_add_loop_test(tc, test_plain_error_code, 0,
	    (int)(sizeof(plain) / sizeof(plain[0])));
	tcase_add_test(tc, test_plain_error_limits);
	tcase_add_loop_test(tc, test_media_type, 0,
	    (int)(sizeof(media) / sizeof(media[0])));
	tcase_add_test(tc, test_media_type_fits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
