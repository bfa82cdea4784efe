#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/envelope.h"
#include "seal/message.h"
#include "seal/stream.h"

#define MAX_LINE 4096
#define MAX_CHUNKS 64

static const uint8_t KEY[ENVELOPE_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t KEY2[ENVELOPE_KEY_LEN] = {
	0xf0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

/* A response context for the exchange whose nonce is filled with tag. */
static struct envelope_ctx
ctx(uint8_t tag, const uint8_t *key)
{
	struct envelope_ctx c;

	memset(&c, 0, sizeof(c));
	c.key = key;
	memset(c.kid, 0xa5, sizeof(c.kid));
	memset(c.nonce, tag, sizeof(c.nonce));
	c.dir = ENVELOPE_RESPONSE;
	c.msg = 0;
	c.final = 0;
	return c;
}

/* ------------------------------------------------------------ sink */

/* Collects what a stream emits: all bytes, and each call separately. */
struct sink {
	struct buf all;
	char *chunk[MAX_CHUNKS];
	int calls;
	pserr fail_with;    /* returned from every call when set */
	int keep;           /* keep the bytes (else only count them) */
	size_t bytes;
};

static void
sink_init(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->all, 1 << 24);
	k->keep = 1;
}

static void
sink_free(struct sink *k)
{
	int i;

	for (i = 0; i < k->calls && i < MAX_CHUNKS; i++)
		free(k->chunk[i]);
	buf_free(&k->all);
}

static const char *
sink_str(struct sink *k)
{
	const char *s = buf_cstr(&k->all);

	return s != NULL ? s : "";
}

static pserr
sink_emit(void *arg, const char *p, size_t n, int flush)
{
	struct sink *k = arg;

	/* Every call is one whole event: a lone blank line, or lines that
	 * end in the blank line that closes the event. */
	ck_assert_int_eq(flush, 1);
	ck_assert_uint_gt(n, 0);
	ck_assert(p[n - 1] == '\n');
	ck_assert(n == 1 || p[n - 2] == '\n');
	if (k->fail_with != PS_OK)
		return k->fail_with;
	k->bytes += n;
	if (k->keep) {
		ck_assert_int_eq(buf_append(&k->all, p, n), PS_OK);
		if (k->calls < MAX_CHUNKS) {
			k->chunk[k->calls] = malloc(n + 1);
			ck_assert_ptr_nonnull(k->chunk[k->calls]);
			memcpy(k->chunk[k->calls], p, n);
			k->chunk[k->calls][n] = '\0';
		}
	}
	k->calls++;
	return PS_OK;
}

/* ------------------------------------------------------------ runs */

enum cut { WHOLE, TWO, BYTES };

struct run {
	pserr rc;
	int done;
	int failed;
};

/* Feed in (n bytes) to a fresh stream that seals (open = 0) or opens
 * (open = 1) under c, cut as asked (at offset at for TWO), then finish. */
static struct run
run(int open, const struct envelope_ctx *c, const char *in, size_t n,
    enum cut how, size_t at, size_t max_line, struct sink *k)
{
	struct stream s;
	struct run r;
	size_t i;
	pserr rc = PS_OK;

	stream_init(&s, MESSAGE_CHAT, c, max_line, sink_emit, k);
#define FEED(p, m) (open ? stream_open_feed(&s, (p), (m)) : \
    stream_seal_feed(&s, (p), (m)))
	switch (how) {
	case WHOLE:
		rc = FEED(in, n);
		break;
	case TWO:
		if ((rc = FEED(in, at)) == PS_OK)
			rc = FEED(in + at, n - at);
		break;
	case BYTES:
		for (i = 0; i < n && rc == PS_OK; i++)
			rc = FEED(in + i, 1);
		break;
	}
#undef FEED
	if (rc == PS_OK)
		rc = open ? stream_open_finish(&s) : stream_seal_finish(&s);
	r.rc = rc;
	r.done = s.done;
	r.failed = s.failed;
	stream_free(&s);
	return r;
}

static struct run
run_str(int open, const struct envelope_ctx *c, const char *in,
    struct sink *k)
{
	return run(open, c, in, strlen(in), WHOLE, 0, MAX_LINE, k);
}

/* The error event a stream writes for rc. */
static char *
err_event(pserr rc)
{
	struct buf b;
	char *s;

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_puts(&b, "data: "), PS_OK);
	ck_assert_int_eq(pserr_json(rc, &b), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "\n\n"), PS_OK);
	s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

/* Concatenate NULL-terminated list of strings. */
static char *
cat(const char *first, ...)
{
	struct buf b;
	const char *s;
	va_list ap;
	char *r;

	buf_init(&b, 1 << 24);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *))
		ck_assert_int_eq(buf_puts(&b, s), PS_OK);
	va_end(ap);
	r = strdup(buf_cstr(&b) != NULL ? buf_cstr(&b) : "");
	buf_free(&b);
	return r;
}

/* Replace the variable part of every envelope by '*': two seals of one
 * stream differ only in their random IVs. */
static char *
skeleton(const char *s)
{
	size_t n = strlen(s), i = 0, o = 0;
	char *r = malloc(n + 1);

	ck_assert_ptr_nonnull(r);
	while (i < n) {
		if (strncmp(s + i, "ps1:", 4) == 0) {
			memcpy(r + o, "ps1:*", 5);
			o += 5;
			i += 4;
			while (i < n && (isalnum((unsigned char)s[i]) ||
			    s[i] == '-' || s[i] == '_' || s[i] == ':'))
				i++;
			continue;
		}
		r[o++] = s[i++];
	}
	r[o] = '\0';
	return r;
}

/* ------------------------------------------------------------ data */

/* An upstream stream with every kind of line and line end. */
static const char UP[] =
    "event: message\n"
    "id: 1\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n"
    "\n"
    ": ping\n"
    "\n"
    "data:{\"id\":\"c1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"lo/\"}}]}\r\n"
    "retry: 100\r\n"
    "\r\n"
    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
    "\"completion_tokens\":2}}\r"
    "\r"
    "data: [DONE]\n"
    "\n";

/* What the client shows for it: the same stream, LF line ends. */
static const char EXP[] =
    "event: message\n"
    "id: 1\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n"
    "\n"
    ": ping\n"
    "\n"
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"lo/\"}}]}\n"
    "retry: 100\n"
    "\n"
    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
    "\"completion_tokens\":2}}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

/* The shape of the worker's output for UP, one line per entry: data lines
 * stand for "data: {...}" with sealed members, "data: ps1:*" for the end
 * record. */
static const char *const UP_SHAPE[] = {
	"event: message", "id: 1", "data:{}", "", ": ping", "",
	"data:{}", "retry: 100", "", "data:{}", "", "data: ps1:*", "", NULL,
};

/* Check the line structure of sealed output against UP_SHAPE. */
static void
check_shape(const char *w)
{
	const char *p = w, *nl;
	int i;

	for (i = 0; UP_SHAPE[i] != NULL; i++) {
		size_t len;

		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		len = (size_t)(nl - p);
		if (strcmp(UP_SHAPE[i], "data:{}") == 0) {
			ck_assert(strncmp(p, "data: {", 7) == 0);
			ck_assert(p[len - 1] == '}');
		} else if (strcmp(UP_SHAPE[i], "data: ps1:*") == 0) {
			ck_assert(strncmp(p, "data: ps1:", 10) == 0);
		} else {
			ck_assert_uint_eq(len, strlen(UP_SHAPE[i]));
			ck_assert(memcmp(p, UP_SHAPE[i], len) == 0);
		}
		p = nl + 1;
	}
	ck_assert_str_eq(p, "");
}

/* Plain event k of the simple stream. */
static char *
plain_event(int k)
{
	char b[256];

	snprintf(b, sizeof(b), "data: {\"id\":\"x\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"content\":\"tok%d\"}}]}\n\n", k);
	return strdup(b);
}

#define NEV 4

/* The simple stream: NEV one-line events and [DONE], sealed under c;
 * ev[0..NEV-1] are the sealed data events, ev[NEV] the end record event,
 * each with its blank line. */
struct sealed {
	char *ev[NEV + 1];
	char *pl[NEV];
};

static void
seal_simple(const struct envelope_ctx *c, struct sealed *o)
{
	struct sink k;
	char *in;
	int i;

	for (i = 0; i < NEV; i++)
		o->pl[i] = plain_event(i);
	in = cat(o->pl[0], o->pl[1], o->pl[2], o->pl[3], "data: [DONE]\n\n",
	    NULL);
	sink_init(&k);
	ck_assert_int_eq(run_str(0, c, in, &k).rc, PS_OK);
	ck_assert_int_eq(k.calls, NEV + 1);
	for (i = 0; i <= NEV; i++) {
		o->ev[i] = k.chunk[i];
		k.chunk[i] = NULL;
	}
	sink_free(&k);
	free(in);
}

static void
sealed_free(struct sealed *o)
{
	int i;

	for (i = 0; i <= NEV; i++)
		free(o->ev[i]);
	for (i = 0; i < NEV; i++)
		free(o->pl[i]);
}

/* Open in (the worker's bytes) as the client of exchange c and compare the
 * output with expect, and whether the stream ended cleanly. */
static void
check_open(const struct envelope_ctx *c, const char *in, const char *expect,
    int done)
{
	struct sink k;
	struct run r;

	sink_init(&k);
	r = run_str(1, c, in, &k);
	ck_assert_int_eq(r.rc, PS_OK);
	ck_assert_str_eq(sink_str(&k), expect);
	ck_assert_int_eq(r.failed, !done);
	if (done)
		ck_assert_int_eq(r.done, 1);
	sink_free(&k);
}

/* Flip one character inside the ciphertext of the first envelope in ev. */
static char *
flip(const char *ev)
{
	char *r = strdup(ev), *e = strstr(r, "ps1:");

	ck_assert_ptr_nonnull(e);
	e += ENVELOPE_HEADER_LEN + 5;
	*e = *e == 'A' ? 'B' : 'A';
	return r;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_error_event_format)
{
	char *e = err_event(PS_ERR_STREAM_TRUNCATED);

	ck_assert_str_eq(e, "data: {\"error\":{\"message\":\"the stream ended "
	    "without a valid end-of-stream record\",\"type\":\"api_error\","
	    "\"code\":\"stream_truncated\"}}\n\n");
	free(e);
}
END_TEST

START_TEST(test_round_trip)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct sink w, k;
	struct run r;
	sink_init(&w);
	r = run_str(0, &c, UP, &w);
	ck_assert_int_eq(r.rc, PS_OK);
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(r.failed, 0);
	/* One call per event: the end record closes its own, the upstream's
	 * blank line after it is not needed. */
	ck_assert_int_eq(w.calls, 5);
	check_shape(sink_str(&w));
	ck_assert_ptr_null(strstr(sink_str(&w), "Hel"));
	ck_assert_ptr_null(strstr(sink_str(&w), "[DONE]"));

	sink_init(&k);
	r = run_str(1, &c, sink_str(&w), &k);
	ck_assert_int_eq(r.rc, PS_OK);
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(r.failed, 0);
	ck_assert_str_eq(sink_str(&k), EXP);
	ck_assert_int_eq(k.calls, 5);
	sink_free(&w);
	sink_free(&k);
}
END_TEST

START_TEST(test_seal_every_cut)
{
	struct envelope_ctx c = ctx(1, KEY);
	size_t n = strlen(UP), at;
	struct sink w0, w, k;
	char *sk0, *sk;
	enum cut how;

	sink_init(&w0);
	ck_assert_int_eq(run_str(0, &c, UP, &w0).rc, PS_OK);
	sk0 = skeleton(sink_str(&w0));
	for (at = 0; at <= n + 1; at++) {
		/* at == n + 1 stands for byte by byte. */
		how = at <= n ? TWO : BYTES;
		sink_init(&w);
		ck_assert_int_eq(run(0, &c, UP, n, how, at, MAX_LINE, &w).rc,
		    PS_OK);
		sk = skeleton(sink_str(&w));
		ck_assert_msg(strcmp(sk, sk0) == 0, "cut at %zu differs", at);
		ck_assert_int_eq(w.calls, w0.calls);
		/* And what it sealed opens to the same stream. */
		sink_init(&k);
		ck_assert_int_eq(run_str(1, &c, sink_str(&w), &k).rc, PS_OK);
		ck_assert_str_eq(sink_str(&k), EXP);
		sink_free(&k);
		free(sk);
		sink_free(&w);
	}
	free(sk0);
	sink_free(&w0);
}
END_TEST

START_TEST(test_open_every_cut)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct sink w, k;
	const char *in;
	size_t n, at;
	struct run r;

	sink_init(&w);
	ck_assert_int_eq(run_str(0, &c, UP, &w).rc, PS_OK);
	in = sink_str(&w);
	n = strlen(in);
	for (at = 0; at <= n + 1; at++) {
		sink_init(&k);
		r = run(1, &c, in, n, at <= n ? TWO : BYTES, at, MAX_LINE, &k);
		ck_assert_int_eq(r.rc, PS_OK);
		ck_assert_int_eq(r.done, 1);
		ck_assert_msg(strcmp(sink_str(&k), EXP) == 0, "cut at %zu", at);
		ck_assert_int_eq(k.calls, 5);
		sink_free(&k);
	}
	sink_free(&w);
}
END_TEST

START_TEST(test_open_line_ends)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct sealed s;
	const char *ends[] = { "\r\n", "\r", "\n" };
	char *in, *exp, *p;
	struct buf b;
	size_t i, e;

	seal_simple(&c, &s);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n",
	    NULL);
	for (e = 0; e < 3; e++) {
		/* The worker's stream with its LFs turned into ends[e], and
		 * "data: " into "data:". */
		buf_init(&b, 1 << 20);
		in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
		for (p = in; *p; p++) {
			if (*p == '\n')
				ck_assert_int_eq(buf_puts(&b, ends[e]), PS_OK);
			else if (strncmp(p, "data: ", 6) == 0) {
				ck_assert_int_eq(buf_puts(&b, "data:"), PS_OK);
				p += 5;
			} else
				ck_assert_int_eq(buf_putc(&b, *p), PS_OK);
		}
		for (i = 0; i <= b.len + 1; i++) {
			struct sink k;
			struct run r;

			sink_init(&k);
			r = run(1, &c, b.p, b.len, i <= b.len ? TWO : BYTES, i,
			    MAX_LINE, &k);
			ck_assert_int_eq(r.rc, PS_OK);
			ck_assert_str_eq(sink_str(&k), exp);
			sink_free(&k);
		}
		buf_free(&b);
		free(in);
	}
	free(exp);
	sealed_free(&s);
}
END_TEST

START_TEST(test_seal_data_space_optional)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct sink w1, w2, k1, k2;

	sink_init(&w1);
	sink_init(&w2);
	ck_assert_int_eq(run_str(0, &c, "data:{\"a\":\"x\"}\n\ndata:[DONE]\n\n",
	    &w1).rc, PS_OK);
	ck_assert_int_eq(run_str(0, &c, "data: {\"a\":\"x\"}\n\ndata: [DONE]\n\n",
	    &w2).rc, PS_OK);
	ck_assert_int_eq(w1.calls, 2);
	{
		char *s1 = skeleton(sink_str(&w1)), *s2 = skeleton(sink_str(&w2));

		ck_assert_str_eq(s1, s2);
		free(s1);
		free(s2);
	}
	sink_init(&k1);
	sink_init(&k2);
	ck_assert_int_eq(run_str(1, &c, sink_str(&w1), &k1).rc, PS_OK);
	ck_assert_int_eq(run_str(1, &c, sink_str(&w2), &k2).rc, PS_OK);
	ck_assert_str_eq(sink_str(&k1), "data: {\"a\":\"x\"}\n\ndata: [DONE]\n\n");
	ck_assert_str_eq(sink_str(&k2), sink_str(&k1));
	sink_free(&w1);
	sink_free(&w2);
	sink_free(&k1);
	sink_free(&k2);
}
END_TEST

START_TEST(test_seal_indexes)
{
	struct envelope_ctx c = ctx(1, KEY), o;
	struct sealed s;
	struct buf b;
	int i;

	seal_simple(&c, &s);
	for (i = 0; i < NEV; i++) {
		const char *v = s.ev[i] + 6;
		size_t vlen = strlen(v) - 2;

		ck_assert(strncmp(s.ev[i], "data: {", 7) == 0);
		ck_assert_ptr_null(strstr(s.ev[i], "tok"));
		buf_init(&b, 1 << 20);
		o = c;
		o.msg = (uint32_t)i;
		ck_assert_int_eq(message_open(MESSAGE_CHAT, &o, NULL, NULL, v,
		    vlen, &b), PS_OK);
		ck_assert_uint_eq(b.len, strlen(s.pl[i]) - 8);
		ck_assert(memcmp(b.p, s.pl[i] + 6, b.len) == 0);
		buf_reset(&b);
		o.msg = (uint32_t)i + 1;
		ck_assert_int_ne(message_open(MESSAGE_CHAT, &o, NULL, NULL, v,
		    vlen, &b), PS_OK);
		ck_assert_uint_eq(b.len, 0);
		buf_free(&b);
	}
	/* The end record: msg = count, final, name [DONE], "4". */
	ck_assert(strncmp(s.ev[NEV], "data: ps1:", 10) == 0);
	buf_init(&b, 64);
	o = c;
	o.msg = NEV;
	o.final = 1;
	ck_assert_int_eq(envelope_open(&o, "[DONE]", 6, s.ev[NEV] + 6,
	    strlen(s.ev[NEV]) - 8, &b), PS_OK);
	ck_assert_uint_eq(b.len, 1);
	ck_assert_int_eq(b.p[0], '4');
	buf_free(&b);
	sealed_free(&s);
}
END_TEST

START_TEST(test_seal_flushes_each_event_at_once)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct stream s;
	struct sink k;

	sink_init(&k);
	stream_init(&s, MESSAGE_CHAT, &c, MAX_LINE, sink_emit, &k);
	ck_assert_int_eq(stream_seal_feed(&s, ": hi\n", 5), PS_OK);
	ck_assert_int_eq(k.calls, 0);
	ck_assert_int_eq(stream_seal_feed(&s, "\n", 1), PS_OK);
	ck_assert_int_eq(k.calls, 1);
	ck_assert_str_eq(k.chunk[0], ": hi\n\n");
	ck_assert_int_eq(stream_seal_feed(&s, "data: {\"a\":1}\n", 14), PS_OK);
	ck_assert_int_eq(k.calls, 1);
	ck_assert_int_eq(stream_seal_feed(&s, "\r", 1), PS_OK);
	ck_assert_int_eq(k.calls, 2);
	ck_assert(strncmp(k.chunk[1], "data: {\"a\":\"ps1:", 16) == 0);
	ck_assert_int_eq(stream_seal_feed(&s, "\n", 1), PS_OK);
	/* The end record goes out at once, without waiting for its blank
	 * line, and what follows is ignored. */
	ck_assert_int_eq(stream_seal_feed(&s, "data: [DONE]\n", 13), PS_OK);
	ck_assert_int_eq(k.calls, 3);
	ck_assert(strncmp(k.chunk[2], "data: ps1:", 10) == 0);
	ck_assert_int_eq(s.done, 1);
	ck_assert_int_eq(stream_seal_feed(&s, "\ndata: {\"b\":1}\n\n: x\n\n", 21),
	    PS_OK);
	ck_assert_int_eq(stream_seal_finish(&s), PS_OK);
	ck_assert_int_eq(k.calls, 3);
	ck_assert_int_eq(s.failed, 0);
	stream_free(&s);
	sink_free(&k);
}
END_TEST

START_TEST(test_seal_not_json)
{
	struct envelope_ctx c = ctx(1, KEY);
	static const char *const bad[] = {
		"hello", "[1,2]", "\"x\"", "5", "null", "{", "{\"a\":1} x",
		"{\"a\":1}{\"b\":2}", "", "[DONE] ", " [DONE]", "[done]",
	};
	char *err = err_event(PS_ERR_BAD_UPSTREAM), *in;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sink k;
		struct run r;

		in = cat("data: {\"a\":\"x\"}\n\n: c\ndata: ", bad[i],
		    "\n\ndata: {\"b\":\"y\"}\n\ndata: [DONE]\n\n", NULL);
		sink_init(&k);
		r = run_str(0, &c, in, &k);
		ck_assert_int_eq(r.rc, PS_OK);
		ck_assert_int_eq(r.failed, 1);
		ck_assert_int_eq(r.done, 0);
		/* The first event, then the error event on its own (the
		 * comment of the broken event is dropped), then nothing. */
		ck_assert_int_eq(k.calls, 2);
		ck_assert(strncmp(k.chunk[0], "data: {\"a\":\"ps1:", 16) == 0);
		ck_assert_str_eq(k.chunk[1], err);
		sink_free(&k);
		free(in);
	}
	free(err);
}
END_TEST

START_TEST(test_seal_no_done)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *err = err_event(PS_ERR_UPSTREAM);
	static const char *const ins[] = {
		"data: {\"a\":\"x\"}\n\n",
		/* an event without its blank line is dropped */
		"data: {\"a\":\"x\"}\n\ndata: {\"b\":\"y\"}\n",
		"data: {\"a\":\"x\"}\n\ndata: {\"b\":\"y\"}",
		"data: {\"a\":\"x\"}\n\ndata: [DONE",
	};
	size_t i;

	for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		struct sink k;
		struct run r;

		sink_init(&k);
		r = run_str(0, &c, ins[i], &k);
		ck_assert_int_eq(r.rc, PS_OK);
		ck_assert_int_eq(r.failed, 1);
		ck_assert_int_eq(r.done, 0);
		ck_assert_int_eq(k.calls, 2);
		ck_assert(strncmp(k.chunk[0], "data: {\"a\":\"ps1:", 16) == 0);
		ck_assert_str_eq(k.chunk[1], err);
		sink_free(&k);
	}
	free(err);
}
END_TEST

START_TEST(test_seal_done_without_line_end)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct sink k, p;
	struct run r;

	sink_init(&k);
	r = run_str(0, &c, "data: {\"a\":\"x\"}\n\ndata: [DONE]", &k);
	ck_assert_int_eq(r.rc, PS_OK);
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(k.calls, 2);
	sink_init(&p);
	ck_assert_int_eq(run_str(1, &c, sink_str(&k), &p).rc, PS_OK);
	ck_assert_str_eq(sink_str(&p), "data: {\"a\":\"x\"}\n\ndata: [DONE]\n\n");
	sink_free(&p);
	sink_free(&k);
}
END_TEST

START_TEST(test_line_too_long)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *err = err_event(PS_ERR_TOO_LARGE), *in, big[400];
	struct sealed s;
	int open;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	seal_simple(&c, &s);
	for (open = 0; open <= 1; open++) {
		size_t n, at;

		if (open)
			in = cat(s.ev[0], "data: {\"x\":\"", big, "\"}\n\n",
			    s.ev[1], NULL);
		else
			in = cat(s.pl[0], "data: {\"x\":\"", big, "\"}\n\n",
			    s.pl[1], NULL);
		n = strlen(in);
		for (at = 0; at <= n + 1; at++) {
			struct sink k;
			struct run r;

			sink_init(&k);
			/* The first event's lines fit, the long line does
			 * not. */
			r = run(open, &c, in, n, at <= n ? TWO : BYTES, at, 300,
			    &k);
			ck_assert_int_eq(r.rc, PS_OK);
			ck_assert_int_eq(r.failed, 1);
			ck_assert_int_eq(k.calls, 2);
			if (open)
				ck_assert_str_eq(k.chunk[0], s.pl[0]);
			ck_assert_str_eq(k.chunk[1], err);
			sink_free(&k);
		}
		free(in);
	}
	sealed_free(&s);
	free(err);
}
END_TEST

START_TEST(test_event_over_cap)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *err = err_event(PS_ERR_TOO_LARGE), line[100];
	int open, i;

	/* Lines that each fit, in one event that never ends, cannot make
	 * the event buffer grow past its cap. */
	memset(line, 'x', sizeof(line));
	line[0] = ':';
	line[sizeof(line) - 1] = '\n';
	for (open = 0; open <= 1; open++) {
		struct stream s;
		struct sink k;

		sink_init(&k);
		stream_init(&s, MESSAGE_CHAT, &c, 100, sink_emit, &k);
		for (i = 0; i < 1000 && !s.failed; i++)
			ck_assert_int_eq(open ?
			    stream_open_feed(&s, line, sizeof(line)) :
			    stream_seal_feed(&s, line, sizeof(line)), PS_OK);
		ck_assert_int_eq(s.failed, 1);
		ck_assert_int_eq(k.calls, 1);
		ck_assert_str_eq(k.chunk[0], err);
		ck_assert_uint_le(s.out.cap, 100 * 64 + 8192);
		stream_free(&s);
		sink_free(&k);
	}
	free(err);
}
END_TEST

START_TEST(test_stream_error_once)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *err = err_event(PS_ERR_UPSTREAM);
	struct stream s;
	struct sink k;

	sink_init(&k);
	stream_init(&s, MESSAGE_CHAT, &c, MAX_LINE, sink_emit, &k);
	ck_assert_int_eq(stream_open_feed(&s, ": partial event\n", 16), PS_OK);
	ck_assert_int_eq(stream_error(&s, PS_ERR_UPSTREAM), PS_OK);
	ck_assert_int_eq(s.failed, 1);
	ck_assert_int_eq(stream_error(&s, PS_ERR_DECRYPT), PS_OK);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	/* The partial event is dropped, one error event is written. */
	ck_assert_int_eq(k.calls, 1);
	ck_assert_str_eq(sink_str(&k), err);
	stream_free(&s);
	sink_free(&k);
	free(err);
}
END_TEST

START_TEST(test_passthrough)
{
	struct envelope_ctx c = ctx(1, KEY);
	const char *in = ": comment\nevent: x\nid: 7\nretry: 5\nfoo\n\n\n"
	    "data: [DONE]\n\n";
	struct sink w, k;

	sink_init(&w);
	ck_assert_int_eq(run_str(0, &c, in, &w).rc, PS_OK);
	ck_assert_int_eq(w.calls, 3);
	ck_assert_str_eq(w.chunk[0], ": comment\nevent: x\nid: 7\nretry: 5\nfoo\n\n");
	ck_assert_str_eq(w.chunk[1], "\n");
	sink_init(&k);
	ck_assert_int_eq(run_str(1, &c, sink_str(&w), &k).rc, PS_OK);
	ck_assert_str_eq(sink_str(&k), in);
	sink_free(&w);
	sink_free(&k);
}
END_TEST

/* The client side: every way a stream can be tampered with. */

START_TEST(test_open_no_end_record)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED), *in, *exp;
	struct sealed s;

	seal_simple(&c, &s);
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* Nothing at all. */
	check_open(&c, "", tr, 0);
	/* A cut inside the end record, and inside an event. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], NULL);
	{
		char *cut = cat(in, s.ev[4], NULL);

		cut[strlen(cut) - 10] = '\0';
		exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
		check_open(&c, cut, exp, 0);
		free(exp);
		cut[strlen(in) - 10] = '\0';
		exp = cat(s.pl[0], s.pl[1], s.pl[2], tr, NULL);
		check_open(&c, cut, exp, 0);
		free(exp);
		free(cut);
	}
	/* A data event without its blank line is not shown. */
	{
		char *cut = cat(s.ev[0], s.ev[1], NULL);

		cut[strlen(cut) - 1] = '\0';
		exp = cat(s.pl[0], tr, NULL);
		check_open(&c, cut, exp, 0);
		free(exp);
		free(cut);
	}
	free(in);
	free(tr);
	sealed_free(&s);
}
END_TEST

START_TEST(test_open_wrong_count)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED);
	char *de = err_event(PS_ERR_DECRYPT), *in, *exp;
	struct sealed s;

	seal_simple(&c, &s);
	/* The last event dropped: the end record's count does not match. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* An event in the middle dropped: the next one is out of place. */
	in = cat(s.ev[0], s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* The first event dropped. */
	in = cat(s.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	check_open(&c, in, de, 0);
	free(in);
	/* An event duplicated. */
	in = cat(s.ev[0], s.ev[1], s.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* The last event duplicated. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* Two events swapped. */
	in = cat(s.ev[0], s.ev[2], s.ev[1], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* The end record moved before the last event. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[4], s.ev[3], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* The untouched stream passes: the checks above can fail. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n", NULL);
	check_open(&c, in, exp, 1);
	free(in);
	free(exp);
	free(tr);
	free(de);
	sealed_free(&s);
}
END_TEST

START_TEST(test_open_other_exchange)
{
	struct envelope_ctx c = ctx(1, KEY), c2 = ctx(2, KEY), c3 = ctx(1, KEY2);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED);
	char *de = err_event(PS_ERR_DECRYPT), *in, *exp;
	struct sealed s, o, q;

	seal_simple(&c, &s);
	seal_simple(&c2, &o);
	seal_simple(&c3, &q);
	/* The end record of another exchange (other nonce). */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], o.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	/* ... or under another key with the same kid and nonce. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], q.ev[4], NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* An event moved in from another stream, in its own place. */
	in = cat(s.ev[0], o.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	in = cat(s.ev[0], q.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* A whole stream of another exchange. */
	in = cat(o.ev[0], o.ev[1], o.ev[2], o.ev[3], o.ev[4], NULL);
	check_open(&c, in, de, 0);
	free(in);
	free(tr);
	free(de);
	sealed_free(&s);
	sealed_free(&o);
	sealed_free(&q);
}
END_TEST

START_TEST(test_open_reflected_request)
{
	struct envelope_ctx c = ctx(1, KEY), q = ctx(1, KEY);
	const char *body = "{\"id\":\"x\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"content\":\"tok1\"}}]}";
	char *de = err_event(PS_ERR_DECRYPT), *in, *exp;
	struct sealed s;
	struct buf b;

	seal_simple(&c, &s);
	/* The same value sealed as a request, with msg 1. */
	q.dir = ENVELOPE_REQUEST;
	q.msg = 1;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "data: "), PS_OK);
	ck_assert_int_eq(message_seal(MESSAGE_CHAT, &q, body, strlen(body), &b),
	    PS_OK);
	ck_assert_int_eq(buf_puts(&b, "\n\n"), PS_OK);
	in = cat(s.ev[0], buf_cstr(&b), s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* The same sealed as a response is accepted in that place. */
	buf_reset(&b);
	q.dir = ENVELOPE_RESPONSE;
	ck_assert_int_eq(buf_puts(&b, "data: "), PS_OK);
	ck_assert_int_eq(message_seal(MESSAGE_CHAT, &q, body, strlen(body), &b),
	    PS_OK);
	ck_assert_int_eq(buf_puts(&b, "\n\n"), PS_OK);
	in = cat(s.ev[0], buf_cstr(&b), s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n", NULL);
	check_open(&c, in, exp, 1);
	free(in);
	free(exp);
	buf_free(&b);
	free(de);
	sealed_free(&s);
}
END_TEST

START_TEST(test_open_flipped)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED);
	char *de = err_event(PS_ERR_DECRYPT), *in, *exp, *f;
	struct sealed s;

	seal_simple(&c, &s);
	f = flip(s.ev[2]);
	in = cat(s.ev[0], s.ev[1], f, s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], s.pl[1], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	free(f);
	/* A flipped end record. */
	f = flip(s.ev[4]);
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], f, NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	free(f);
	/* A member renamed: the name is in the AAD. */
	f = strdup(s.ev[1]);
	memcpy(strstr(f, "\"choices\""), "\"choicez\"", 9);
	in = cat(s.ev[0], f, s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	free(f);
	/* A flipped kid. */
	f = strdup(s.ev[1]);
	{
		char *k = strstr(f, "ps1:") + 4;

		*k = *k == 'a' ? 'b' : 'a';
	}
	in = cat(s.ev[0], f, s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	free(f);
	free(tr);
	free(de);
	sealed_free(&s);
}
END_TEST

START_TEST(test_open_unsealed_data)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED);
	char *de = err_event(PS_ERR_DECRYPT), *in, *exp;
	static const char *const bad[] = {
		"data: {\"id\":\"x\",\"choices\":[{\"index\":0}]}\n\n",
		"data: hello\n\n",
		"data:\n\n",
		"data\n\n",
		"data: {}\n\n",
		"data: {\"id\":\"x\"}\n\n",
		"data: {\"error\":\"x\"}\n\n",
		"data: {\"error\":{\"message\":\"m\"},\"choices\":[]}\n\n",
		"data: {\"error\":{\"message\":\"m\"}} x\n\n",
		"data: [{\"error\":{}}]\n\n",
		"data: ps1\n\n",
	};
	struct sealed s;
	size_t i;

	seal_simple(&c, &s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = cat(s.ev[0], bad[i], s.ev[1], s.ev[2], s.ev[3], s.ev[4],
		    NULL);
		exp = cat(s.pl[0], de, NULL);
		check_open(&c, in, exp, 0);
		free(in);
		free(exp);
	}
	/* A plain [DONE] claims an end it cannot prove. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], "data: [DONE]\n\n", NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	free(tr);
	free(de);
	sealed_free(&s);
}
END_TEST

START_TEST(test_open_after_end)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED);
	char *de = err_event(PS_ERR_DECRYPT), *in, *exp;
	struct sealed s;

	seal_simple(&c, &s);
	/* Data after the end record cannot belong to the stream. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], s.ev[4], s.ev[0], NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n", de,
	    NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* A second end record, in the same event. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], NULL);
	{
		char *rec = strdup(s.ev[4]);

		rec[strlen(rec) - 1] = '\0';
		exp = cat(in, rec, rec, "\n", NULL);
		free(in);
		in = exp;
		free(rec);
	}
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], de, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* Comments after the end pass, as everywhere. */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], s.ev[4], ": bye\n\n", NULL);
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n",
	    ": bye\n\n", NULL);
	check_open(&c, in, exp, 1);
	free(in);
	free(exp);
	/* The end record without its blank line still ends the stream... */
	in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	in[strlen(in) - 1] = '\0';
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n", NULL);
	check_open(&c, in, exp, 1);
	free(exp);
	/* ... but not without its line end: it may have been cut. */
	in[strlen(in) - 1] = '\0';
	exp = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	free(tr);
	free(de);
	sealed_free(&s);
}
END_TEST

/* An end record made by hand: count in msg, final, name and plaintext. */
static char *
end_record(const struct envelope_ctx *c, uint32_t msg, int final,
    const char *name, const char *pt)
{
	struct envelope_ctx e = *c;
	struct buf b;
	char *r;

	e.msg = msg;
	e.final = final;
	buf_init(&b, 1024);
	ck_assert_int_eq(buf_puts(&b, "data: "), PS_OK);
	ck_assert_int_eq(envelope_seal(&e, name, strlen(name), pt, strlen(pt),
	    &b), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "\n\n"), PS_OK);
	r = strdup(buf_cstr(&b));
	buf_free(&b);
	return r;
}

START_TEST(test_open_end_record_fields)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *tr = err_event(PS_ERR_STREAM_TRUNCATED), *in, *ok, *bad;
	static const struct {
		uint32_t msg;
		int final;
		const char *name, *pt;
		int good;
	} v[] = {
		{ 4, 1, "[DONE]", "4", 1 },
		{ 4, 1, "[DONE]", "5", 0 },
		{ 4, 1, "[DONE]", "04", 0 },
		{ 4, 1, "[DONE]", "4 ", 0 },
		{ 4, 1, "[DONE]", "", 0 },
		{ 4, 0, "[DONE]", "4", 0 },
		{ 5, 1, "[DONE]", "4", 0 },
		{ 3, 1, "[DONE]", "4", 0 },
		{ 4, 1, "[DONe]", "4", 0 },
		{ 4, 1, "choices", "4", 0 },
	};
	struct sealed s;
	size_t i;

	seal_simple(&c, &s);
	ok = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], "data: [DONE]\n\n", NULL);
	bad = cat(s.pl[0], s.pl[1], s.pl[2], s.pl[3], tr, NULL);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *rec = end_record(&c, v[i].msg, v[i].final, v[i].name,
		    v[i].pt);

		in = cat(s.ev[0], s.ev[1], s.ev[2], s.ev[3], rec, NULL);
		check_open(&c, in, v[i].good ? ok : bad, v[i].good);
		free(in);
		free(rec);
	}
	/* An empty stream ends with a record of count 0. */
	{
		char *rec = end_record(&c, 0, 1, "[DONE]", "0");

		check_open(&c, rec, "data: [DONE]\n\n", 1);
		free(rec);
	}
	free(ok);
	free(bad);
	free(tr);
	sealed_free(&s);
}
END_TEST

START_TEST(test_open_worker_error)
{
	struct envelope_ctx c = ctx(1, KEY);
	char *werr = err_event(PS_ERR_UPSTREAM), *in, *exp;
	struct sealed s;

	seal_simple(&c, &s);
	/* The worker's own error event is passed on and ends the stream. */
	in = cat(s.ev[0], werr, s.ev[1], s.ev[2], s.ev[3], s.ev[4], NULL);
	exp = cat(s.pl[0], werr, NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* Passed on in one normal form. */
	in = cat(s.ev[0], "data:  {\"error\" : {\"message\": \"m\\/\", "
	    "\"type\": \"api_error\", \"code\": \"upstream_unavailable\"}}\n\n",
	    NULL);
	exp = cat(s.pl[0], "data: {\"error\":{\"message\":\"m/\","
	    "\"type\":\"api_error\",\"code\":\"upstream_unavailable\"}}\n\n",
	    NULL);
	check_open(&c, in, exp, 0);
	free(in);
	free(exp);
	/* An error event right at the start. */
	check_open(&c, werr, werr, 0);
	free(werr);
	sealed_free(&s);
}
END_TEST

/* Emit into a client stream: the worker's output goes straight through. */
struct chain {
	struct stream *client;
	size_t bytes;
	int events;
};

static pserr
chain_emit(void *arg, const char *p, size_t n, int flush)
{
	struct chain *ch = arg;

	ck_assert_int_eq(flush, 1);
	ch->bytes += n;
	ch->events++;
	return stream_open_feed(ch->client, p, n);
}

START_TEST(test_long_stream_memory_flat)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct stream w, cl;
	struct chain ch = { &cl, 0, 0 };
	struct sink k;
	char ev[256];
	int i, n;
	size_t wcap = 0, ccap = 0, rcap = 0;

	sink_init(&k);
	k.keep = 0;
	stream_init(&cl, MESSAGE_CHAT, &c, 1 << 20, sink_emit, &k);
	stream_init(&w, MESSAGE_CHAT, &c, 1 << 20, chain_emit, &ch);
	for (i = 0; i < 10000; i++) {
		n = snprintf(ev, sizeof(ev), "data: {\"id\":\"x\",\"choices\":"
		    "[{\"index\":0,\"delta\":{\"content\":\"token %d\"}}]}\n\n", i);
		/* Cut each event in two so the reader carries a partial
		 * line every time. */
		ck_assert_int_eq(stream_seal_feed(&w, ev, 20), PS_OK);
		ck_assert_int_eq(stream_seal_feed(&w, ev + 20, (size_t)n - 20),
		    PS_OK);
		if (i == 1000) {
			wcap = w.out.cap;
			ccap = cl.out.cap;
			rcap = w.reader.line.cap;
		}
	}
	ck_assert_int_eq(stream_seal_feed(&w, "data: [DONE]\n\n", 14), PS_OK);
	ck_assert_int_eq(stream_seal_finish(&w), PS_OK);
	ck_assert_int_eq(stream_open_finish(&cl), PS_OK);
	ck_assert_int_eq(w.done, 1);
	ck_assert_int_eq(cl.done, 1);
	ck_assert_int_eq(cl.failed, 0);
	ck_assert_int_eq(ch.events, 10001);
	ck_assert_int_eq(k.calls, 10001);
	ck_assert_uint_eq(cl.c.msg, 10000);
	/* Nothing grew after the first events: one event's worth each. */
	ck_assert_uint_eq(w.out.cap, wcap);
	ck_assert_uint_eq(cl.out.cap, ccap);
	ck_assert_uint_eq(w.reader.line.cap, rcap);
	ck_assert_uint_le(w.out.cap, 1024);
	ck_assert_uint_le(cl.out.cap, 1024);
	ck_assert_uint_le(w.reader.line.cap, 256);
	ck_assert_uint_le(cl.reader.line.cap, 1024);
	ck_assert_uint_eq(w.out.len, 0);
	ck_assert_uint_eq(cl.out.len, 0);
	stream_free(&w);
	stream_free(&cl);
	sink_free(&k);
}
END_TEST

START_TEST(test_emit_failure)
{
	struct envelope_ctx c = ctx(1, KEY);
	struct stream s;
	struct sink k;

	sink_init(&k);
	k.fail_with = PS_ERR_IO;
	stream_init(&s, MESSAGE_CHAT, &c, MAX_LINE, sink_emit, &k);
	ck_assert_int_eq(stream_seal_feed(&s, "data: {\"a\":1}\n\n", 15),
	    PS_ERR_IO);
	ck_assert_int_eq(s.failed, 1);
	/* The stream is over: later input and the end are ignored. */
	ck_assert_int_eq(stream_seal_feed(&s, "data: {\"a\":1}\n\n", 15), PS_OK);
	ck_assert_int_eq(stream_seal_finish(&s), PS_OK);
	stream_free(&s);

	stream_init(&s, MESSAGE_CHAT, &c, MAX_LINE, sink_emit, &k);
	ck_assert_int_eq(stream_open_feed(&s, ": x\n\n", 5), PS_ERR_IO);
	ck_assert_int_eq(s.failed, 1);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	stream_free(&s);
	sink_free(&k);
}
END_TEST

static Suite *
stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_error_event_format);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_seal_every_cut);
	tcase_add_test(tc, test_open_every_cut);
	tcase_add_test(tc, test_open_line_ends);
	tcase_add_test(tc, test_seal_data_space_optional);
	tcase_add_test(tc, test_seal_indexes);
	tcase_add_test(tc, test_seal_flushes_each_event_at_once);
	tcase_add_test(tc, test_seal_not_json);
	tcase_add_test(tc, test_seal_no_done);
	tcase_add_test(tc, test_seal_done_without_line_end);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_event_over_cap);
	tcase_add_test(tc, test_stream_error_once);
	tcase_add_test(tc, test_passthrough);
	tcase_add_test(tc, test_open_no_end_record);
	tcase_add_test(tc, test_open_wrong_count);
	tcase_add_test(tc, test_open_other_exchange);
	tcase_add_test(tc, test_open_reflected_request);
	tcase_add_test(tc, test_open_flipped);
	tcase_add_test(tc, test_open_unsealed_data);
	tcase_add_test(tc, test_open_after_end);
	tcase_add_test(tc, test_open_end_record_fields);
	tcase_add_test(tc, test_open_worker_error);
	tcase_add_test(tc, test_long_stream_memory_flat);
	tcase_add_test(tc, test_emit_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stream_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
