/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/seal/stream.c (protocol.md section 5, wire format
 * version 2).
 *
 * - vectors/stream.json comes from tests/pswire.py: the worker side must
 *   turn each upstream body into exactly the reference's wire stream, and
 *   the client side must turn each wire stream (as sealed, or tampered
 *   with) into exactly the events the reference gives, followed by the
 *   error event of its code.  Both are fed whole, byte by byte and in
 *   random pieces.
 * - Round trips, the event cap, the peer going away, padding that hides
 *   the length of each delta.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/envelope.h"
#include "seal/stream.h"

#define OUT_MAX (16u << 20)
#define MAX_EVENT (1u << 20)
#define N_SEAL 18
#define N_OPEN 34

static uint8_t SECRET[32], KID[16], NONCE[16];
static struct json_object *root, *seals, *opens;

/* ------------------------------------------------------------ helpers */

static int
nib(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

static int
load_fixed(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if (nib(s[2 * i]) < 0 || nib(s[2 * i + 1]) < 0)
			return -1;
		out[i] = (uint8_t)(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
	}
	return 0;
}

static char *
unhex(const char *s, size_t *n)
{
	size_t len = strlen(s), i;
	char *p;

	ck_assert_uint_eq(len % 2, 0);
	p = malloc(len / 2 + 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len / 2; i++)
		p[i] = (char)(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
	p[len / 2] = '\0';
	*n = len / 2;
	return p;
}

static const char *
str(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
num(struct json_object *o, const char *name)
{
	struct json_object *v;

	ck_assert(json_object_object_get_ex(o, name, &v));
	return json_object_get_int64(v);
}

static enum message_endpoint
ep_of(const char *path)
{
	enum message_endpoint ep;

	ck_assert_int_eq(message_route("POST", path, strlen(path), &ep), PS_OK);
	return ep;
}

static pserr
code_of(const char *s)
{
	static const pserr all[] = { PS_ERR_DECRYPT, PS_ERR_STREAM_TRUNCATED,
		PS_ERR_BAD_UPSTREAM, PS_ERR_UPSTREAM, PS_ERR_TOO_LARGE };
	size_t i;

	if (strcmp(s, "ok") == 0)
		return PS_OK;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(pserr_code(all[i]), s) == 0)
			return all[i];
	ck_abort_msg("unknown code %s", s);
	return PS_OK;
}

/* What the stream wrote, and how. */
struct sink {
	struct buf text;
	int events;        /* calls with flush set */
	int unflushed;     /* bytes written by the last calls without flush */
	int fail_at;       /* return PS_ERR_IO on this event (1-based) */
	size_t lens[64];   /* the length of each of the first events */
};

static void
sink_init(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->text, OUT_MAX);
}

static pserr
emit(void *arg, const char *p, size_t n, int flush)
{
	struct sink *k = arg;
	size_t before = k->text.len;

	ck_assert_int_eq(buf_append(&k->text, p, n), PS_OK);
	if (!flush) {
		k->unflushed += (int)n;
		return PS_OK;
	}
	k->unflushed = 0;
	if (k->events < 64)
		k->lens[k->events] = k->text.len - before;
	k->events++;
	return k->fail_at == k->events ? PS_ERR_IO : PS_OK;
}

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	int *calls = arg;

	(*calls)++;
	if (memcmp(kid, KID, 16) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, SECRET, 32);
	return PS_OK;
}

static void
worker_ctx(struct envelope_ctx *c, const uint8_t reply[16])
{
	envelope_init(c, ENVELOPE_RESPONSE);
	memcpy(c->kid, KID, 16);
	memcpy(c->nonce, NONCE, 16);
	memcpy(c->reply, reply, 16);
	ck_assert_int_eq(envelope_bind_reply(c, 200, "text/event-stream", 17),
	    PS_OK);
	ck_assert_int_eq(envelope_derive(c, SECRET), PS_OK);
}

static void
client_ctx(struct envelope_ctx *c)
{
	envelope_init(c, ENVELOPE_RESPONSE);
	memcpy(c->kid, KID, 16);
	memcpy(c->nonce, NONCE, 16);
	ck_assert_int_eq(envelope_bind_reply(c, 200, "text/event-stream", 17),
	    PS_OK);
}

/* Feed in (n bytes) in pieces: step 0 whole, step > 0 that many bytes,
 * step < 0 random sizes up to -step. */
static pserr
feed(struct stream *s, int worker, const char *in, size_t n, int step)
{
	size_t at = 0;
	pserr rc = PS_OK;

	while (at < n && rc == PS_OK) {
		size_t k = step == 0 ? n - at : step > 0 ? (size_t)step :
		    (size_t)(rand() % -step) + 1;

		if (k > n - at)
			k = n - at;
		rc = worker ? stream_seal_feed(s, in + at, k) :
		    stream_open_feed(s, in + at, k);
		at += k;
	}
	return rc;
}

static void
seal_all(const char *up, size_t n, int step, pserr why,
    const uint8_t reply[16], enum message_endpoint ep, size_t bucket,
    size_t max_event, struct sink *k)
{
	struct envelope_ctx c;
	struct stream s;

	worker_ctx(&c, reply);
	stream_seal_init(&s, ep, &c, bucket, max_event, emit, k);
	ck_assert_int_eq(feed(&s, 1, up, n, step), PS_OK);
	ck_assert_int_eq(stream_seal_finish(&s, why), PS_OK);
	ck_assert(s.done);
	ck_assert(!s.failed);
	ck_assert_int_eq(k->unflushed, 0);
	stream_free(&s);
	envelope_wipe(&c);
}

static void
open_all(const char *wire, size_t n, int step, enum message_endpoint ep,
    struct sink *k, int *done)
{
	struct envelope_ctx c;
	struct stream s;
	int calls = 0;

	client_ctx(&c);
	stream_open_init(&s, ep, &c, lookup, &calls, MAX_EVENT, emit, k);
	ck_assert_int_eq(feed(&s, 0, wire, n, step), PS_OK);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	ck_assert(s.done != s.failed);
	ck_assert_int_le(calls, 1);
	ck_assert_int_eq(k->unflushed, 0);
	*done = s.done;
	stream_free(&s);
	envelope_wipe(&c);
}

static char *
error_event(pserr code, size_t *n)
{
	struct buf b;
	char *p;

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_puts(&b, "data: "), PS_OK);
	ck_assert_int_eq(pserr_json(code, &b), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "\n\n"), PS_OK);
	*n = b.len;
	p = malloc(b.len + 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, b.p, b.len);
	p[b.len] = '\0';
	buf_free(&b);
	return p;
}

/* ------------------------------------------------------------ vectors */

START_TEST(test_vector_counts)
{
	ck_assert_int_eq((int)json_object_array_length(seals), N_SEAL);
	ck_assert_int_eq((int)json_object_array_length(opens), N_OPEN);
}
END_TEST

START_TEST(test_seal_vector)
{
	struct json_object *v = json_object_array_get_idx(seals, (size_t)_i);
	const char *comment = str(v, "comment");
	size_t ulen, wlen, rlen;
	char *up = unhex(str(v, "upstream"), &ulen);
	char *wire = unhex(str(v, "wire"), &wlen);
	char *reply = unhex(str(v, "reply"), &rlen);
	pserr why = str(v, "broken") ? code_of(str(v, "broken")) : PS_OK;
	static const int steps[] = { 0, 1, 2, 7, -40 };
	size_t i;

	ck_assert_uint_eq(rlen, 16);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct sink k;

		/* A CR at a cut may end an event before its LF comes. */
		if (steps[i] != 0 && memchr(up, '\r', ulen) != NULL)
			continue;
		sink_init(&k);
		seal_all(up, ulen, steps[i], why, (const uint8_t *)reply,
		    ep_of(str(v, "path")), (size_t)num(v, "bucket"), MAX_EVENT,
		    &k);
		ck_assert_msg(k.text.len == wlen && memcmp(k.text.p, wire,
		    wlen) == 0, "%s (step %d): wire differs from the reference",
		    comment, steps[i]);
		/* One flushed write per event and one for the final record. */
		ck_assert_int_eq(k.events, (int)num(v, "events") + 1);
		buf_free(&k.text);
	}
	free(up);
	free(wire);
	free(reply);
}
END_TEST

START_TEST(test_open_vector)
{
	struct json_object *v = json_object_array_get_idx(opens, (size_t)_i);
	const char *comment = str(v, "comment");
	pserr want = code_of(str(v, "result"));
	size_t wlen, olen, elen = 0;
	char *wire = unhex(str(v, "wire"), &wlen);
	char *out = unhex(str(v, "output"), &olen);
	char *err = want != PS_OK ? error_event(want, &elen) : NULL;
	static const int steps[] = { 0, 1, 3, 64, -100 };
	size_t i;
	int done;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct sink k;

		sink_init(&k);
		open_all(wire, wlen, steps[i], ep_of(str(v, "path")), &k, &done);
		ck_assert_int_eq(done, want == PS_OK);
		ck_assert_msg(k.text.len == olen + elen, "%s (step %d): %zu "
		    "bytes out, want %zu", comment, steps[i], k.text.len,
		    olen + elen);
		ck_assert_msg(olen == 0 || memcmp(k.text.p, out, olen) == 0,
		    "%s: events differ", comment);
		if (err != NULL)
			ck_assert_msg(memcmp(k.text.p + olen, err, elen) == 0,
			    "%s: wrong error event %.*s", comment,
			    (int)(k.text.len - olen), k.text.p + olen);
		buf_free(&k.text);
	}
	free(wire);
	free(out);
	free(err);
}
END_TEST

/* ------------------------------------------------------------ round trips */

static const char UP[] =
	"data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
	"event: note\nid: 9\ndata: {\"id\":\"c\",\"choices\":[{\"delta\":"
	"{\"content\":\"echo:\"}}]}\n\n"
	": keep-alive\n\n"
	"data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\" hi\"}}]}\n\n"
	"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"total_tokens\":3}}\n\n"
	"data: [DONE]\n\n";

START_TEST(test_round_trip_random)
{
	static const uint8_t reply[16] = { 9, 8, 7 };
	struct sink w, u;
	int done, round;

	srand(42);
	for (round = 0; round < 50; round++) {
		sink_init(&w);
		sink_init(&u);
		seal_all(UP, strlen(UP), -(round % 20 + 1), PS_OK, reply,
		    MESSAGE_CHAT, round % 3 * 128, MAX_EVENT, &w);
		ck_assert_int_eq(w.events, 7);
		open_all(w.text.p, w.text.len, -(round % 30 + 1), MESSAGE_CHAT, &u,
		    &done);
		ck_assert(done);
		ck_assert_uint_eq(u.text.len, strlen(UP));
		ck_assert_mem_eq(u.text.p, UP, u.text.len);
		ck_assert_int_eq(u.events, 6);
		buf_free(&w.text);
		buf_free(&u.text);
	}
}
END_TEST

/* Nothing of an event is readable between the proxies but its plain
 * members. */
START_TEST(test_sealed_names)
{
	static const uint8_t reply[16] = { 1 };
	struct sink w;

	sink_init(&w);
	seal_all(UP, strlen(UP), 0, PS_OK, reply, MESSAGE_CHAT, 256, MAX_EVENT,
	    &w);
	ck_assert_int_eq(buf_putc(&w.text, '\0'), PS_OK);
	ck_assert_ptr_null(strstr(w.text.p, "event:"));
	ck_assert_ptr_null(strstr(w.text.p, "id:"));
	ck_assert_ptr_null(strstr(w.text.p, "keep-alive"));
	ck_assert_ptr_null(strstr(w.text.p, "echo"));
	ck_assert_ptr_null(strstr(w.text.p, "DONE"));
	ck_assert_ptr_null(strstr(w.text.p, "choices"));
	ck_assert_ptr_nonnull(strstr(w.text.p, "\"usage\":{\"total_tokens\":3}"));
	buf_free(&w.text);
}
END_TEST

/* With buckets, deltas of different lengths make events of one length. */
START_TEST(test_lengths_hidden)
{
	static const uint8_t reply[16] = { 2 };
	static const char *const deltas[] = { "a", "abc", " the", "x",
		"abcdefghijklmnop", "" };
	struct buf up;
	struct sink w;
	size_t i;

	buf_init(&up, 1 << 20);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(buf_puts(&up, "data: {\"id\":\"chatcmpl-1\","
		    "\"choices\":[{\"delta\":{\"content\":\""), PS_OK);
		ck_assert_int_eq(buf_puts(&up, deltas[i]), PS_OK);
		ck_assert_int_eq(buf_puts(&up, "\"}}]}\n\n"), PS_OK);
	}
	sink_init(&w);
	seal_all(up.p, up.len, 0, PS_OK, reply, MESSAGE_CHAT, 256, MAX_EVENT,
	    &w);
	for (i = 1; i < 6; i++)
		ck_assert_uint_eq(w.lens[i], w.lens[0]);
	buf_free(&w.text);
	/* Without padding they differ. */
	sink_init(&w);
	seal_all(up.p, up.len, 0, PS_OK, reply, MESSAGE_CHAT, 0, MAX_EVENT,
	    &w);
	ck_assert_uint_ne(w.lens[1], w.lens[0]);
	buf_free(&w.text);
	buf_free(&up);
}
END_TEST

/* An upstream event over the cap ends the stream with a sealed error
 * event and the final record, which the client passes on and accepts. */
START_TEST(test_event_cap)
{
	static const uint8_t reply[16] = { 3 };
	struct envelope_ctx c;
	struct stream s;
	struct sink w, u;
	char *err;
	size_t elen;
	int done;
	const char *ok = "data: {\"id\":\"a\"}\n\n";

	sink_init(&w);
	worker_ctx(&c, reply);
	stream_seal_init(&s, MESSAGE_CHAT, &c, 256, 64, emit, &w);
	ck_assert_int_eq(stream_seal_feed(&s, ok, strlen(ok)), PS_OK);
	ck_assert_int_eq(stream_seal_feed(&s, "data: ", 6), PS_OK);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(stream_seal_feed(&s, "0123456789", 10), PS_OK);
	ck_assert(s.done);
	ck_assert_int_eq(w.events, 3);
	/* Later input and the finish do nothing. */
	ck_assert_int_eq(stream_seal_feed(&s, "\n\n", 2), PS_OK);
	ck_assert_int_eq(stream_seal_finish(&s, PS_OK), PS_OK);
	ck_assert_int_eq(w.events, 3);
	stream_free(&s);
	envelope_wipe(&c);

	sink_init(&u);
	open_all(w.text.p, w.text.len, 0, MESSAGE_CHAT, &u, &done);
	ck_assert(done);
	err = error_event(PS_ERR_TOO_LARGE, &elen);
	ck_assert_uint_eq(u.text.len, strlen(ok) + elen);
	ck_assert_mem_eq(u.text.p, ok, strlen(ok));
	ck_assert_mem_eq(u.text.p + strlen(ok), err, elen);
	free(err);
	buf_free(&w.text);
	buf_free(&u.text);
}
END_TEST

/* The peer going away stops either side. */
START_TEST(test_peer_gone)
{
	static const uint8_t reply[16] = { 4 };
	struct envelope_ctx c;
	struct stream s;
	struct sink w, u;

	sink_init(&w);
	w.fail_at = 2;
	worker_ctx(&c, reply);
	stream_seal_init(&s, MESSAGE_CHAT, &c, 256, MAX_EVENT, emit, &w);
	ck_assert_int_eq(stream_seal_feed(&s, UP, strlen(UP)), PS_ERR_IO);
	ck_assert(s.failed);
	ck_assert_int_eq(w.events, 2);
	ck_assert_int_eq(stream_seal_feed(&s, UP, strlen(UP)), PS_OK);
	ck_assert_int_eq(stream_seal_finish(&s, PS_OK), PS_OK);
	ck_assert_int_eq(w.events, 2);
	stream_free(&s);
	envelope_wipe(&c);
	buf_free(&w.text);

	sink_init(&w);
	seal_all(UP, strlen(UP), 0, PS_OK, reply, MESSAGE_CHAT, 256, MAX_EVENT,
	    &w);
	sink_init(&u);
	u.fail_at = 1;
	client_ctx(&c);
	{
		int calls = 0;

		stream_open_init(&s, MESSAGE_CHAT, &c, lookup, &calls, MAX_EVENT,
		    emit, &u);
		ck_assert_int_eq(stream_open_feed(&s, w.text.p, w.text.len),
		    PS_ERR_IO);
		ck_assert(s.failed);
		ck_assert_int_eq(stream_open_finish(&s), PS_OK);
		ck_assert_int_eq(stream_error(&s, PS_ERR_UPSTREAM), PS_OK);
		ck_assert_int_eq(u.events, 1);
	}
	stream_free(&s);
	envelope_wipe(&c);
	buf_free(&w.text);
	buf_free(&u.text);
}
END_TEST

/* The worker side broke off: what the client says, and that nothing is
 * said after a valid end. */
START_TEST(test_client_errors)
{
	static const uint8_t reply[16] = { 5 };
	struct envelope_ctx c;
	struct stream s;
	struct sink w, u;
	char *err;
	size_t elen, half;
	int calls = 0;

	sink_init(&w);
	seal_all(UP, strlen(UP), 0, PS_OK, reply, MESSAGE_CHAT, 256, MAX_EVENT,
	    &w);
	half = w.lens[0] + w.lens[1];
	sink_init(&u);
	client_ctx(&c);
	stream_open_init(&s, MESSAGE_CHAT, &c, lookup, &calls, MAX_EVENT, emit,
	    &u);
	ck_assert_int_eq(stream_open_feed(&s, w.text.p, half), PS_OK);
	ck_assert_int_eq(stream_error(&s, PS_ERR_UPSTREAM), PS_OK);
	ck_assert(s.failed);
	ck_assert_int_eq(stream_open_feed(&s, w.text.p + half,
	    w.text.len - half), PS_OK);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	err = error_event(PS_ERR_UPSTREAM, &elen);
	ck_assert_int_eq(u.events, 3);
	ck_assert_mem_eq(u.text.p + u.text.len - elen, err, elen);
	free(err);
	stream_free(&s);

	/* A valid end: a later error is not written. */
	buf_reset(&u.text);
	u.events = 0;
	stream_open_init(&s, MESSAGE_CHAT, &c, lookup, &calls, MAX_EVENT, emit,
	    &u);
	ck_assert_int_eq(stream_open_feed(&s, w.text.p, w.text.len), PS_OK);
	ck_assert(s.done);
	ck_assert_int_eq(stream_error(&s, PS_ERR_UPSTREAM), PS_OK);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	ck_assert_int_eq(u.events, 6);
	ck_assert_uint_eq(u.text.len, strlen(UP));
	stream_free(&s);

	/* A kid the client does not hold: nothing opens. */
	buf_reset(&u.text);
	u.events = 0;
	c.kid[0] ^= 1;
	stream_open_init(&s, MESSAGE_CHAT, &c, lookup, &calls, MAX_EVENT, emit,
	    &u);
	ck_assert_int_eq(stream_open_feed(&s, w.text.p, w.text.len), PS_OK);
	ck_assert(s.failed);
	ck_assert_int_eq(u.events, 1);
	stream_free(&s);
	envelope_wipe(&c);
	buf_free(&w.text);
	buf_free(&u.text);
}
END_TEST

/* A typed stream's error events, the client's own and the worker's
 * sealed one, are named "error" (protocol.md section 5); a chat stream's
 * are not. */
START_TEST(test_typed_error_named)
{
	static const uint8_t reply[16] = { 6 };
	static const char typed[] = "event: message_start\ndata: {\"type\":"
	    "\"message_start\"}\n\n";
	struct envelope_ctx c;
	struct stream s;
	struct sink w, u;
	char *err;
	size_t elen;
	int calls = 0;

	/* The worker: the inference server broke off. */
	sink_init(&w);
	seal_all(typed, strlen(typed), 0, PS_ERR_UPSTREAM, reply,
	    MESSAGE_MESSAGES, 256, MAX_EVENT, &w);
	sink_init(&u);
	client_ctx(&c);
	stream_open_init(&s, MESSAGE_MESSAGES, &c, lookup, &calls, MAX_EVENT,
	    emit, &u);
	ck_assert_int_eq(stream_open_feed(&s, w.text.p, w.text.len), PS_OK);
	ck_assert(s.done);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	err = error_event(PS_ERR_UPSTREAM, &elen);
	ck_assert_uint_eq(u.text.len, strlen(typed) + 13 + elen);
	ck_assert_mem_eq(u.text.p + strlen(typed), "event: error\n", 13);
	ck_assert_mem_eq(u.text.p + strlen(typed) + 13, err, elen);
	free(err);
	stream_free(&s);

	/* The client: the stream was cut before its final record. */
	buf_reset(&u.text);
	u.events = 0;
	stream_open_init(&s, MESSAGE_RESPONSES, &c, lookup, &calls, MAX_EVENT,
	    emit, &u);
	ck_assert_int_eq(stream_open_feed(&s, w.text.p, w.lens[0]), PS_OK);
	ck_assert_int_eq(stream_open_finish(&s), PS_OK);
	err = error_event(PS_ERR_STREAM_TRUNCATED, &elen);
	ck_assert_uint_eq(u.text.len, strlen(typed) + 13 + elen);
	ck_assert_mem_eq(u.text.p + strlen(typed), "event: error\n", 13);
	ck_assert_mem_eq(u.text.p + strlen(typed) + 13, err, elen);
	free(err);
	stream_free(&s);
	ck_assert(message_typed_stream(MESSAGE_RESPONSE_GET));
	ck_assert(!message_typed_stream(MESSAGE_CHAT));
	ck_assert(!message_typed_stream(MESSAGE_COMPLETIONS));
	envelope_wipe(&c);
	buf_free(&w.text);
	buf_free(&u.text);
}
END_TEST

static Suite *
stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc;

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vector_counts);
	tcase_add_loop_test(tc, test_seal_vector, 0,
	    (int)json_object_array_length(seals));
	tcase_add_loop_test(tc, test_open_vector, 0,
	    (int)json_object_array_length(opens));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("streams");
	tcase_add_test(tc, test_round_trip_random);
	tcase_add_test(tc, test_sealed_names);
	tcase_add_test(tc, test_lengths_hidden);
	tcase_add_test(tc, test_event_cap);
	tcase_add_test(tc, test_peer_gone);
	tcase_add_test(tc, test_client_errors);
	tcase_add_test(tc, test_typed_error_named);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	root = json_object_from_file(TEST_SRCDIR "/vectors/stream.json");
	if (root == NULL || !json_object_object_get_ex(root, "seal", &seals) ||
	    !json_object_object_get_ex(root, "open", &opens) ||
	    load_fixed(str(root, "secret"), SECRET, 32) != 0 ||
	    load_fixed(str(root, "kid"), KID, 16) != 0 ||
	    load_fixed(str(root, "nonce"), NONCE, 16) != 0) {
		fprintf(stderr, "cannot read vectors/stream.json\n");
		return 99;
	}
	sr = srunner_create(stream_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_object_put(root);
	return failed == 0 ? 0 : 1;
}
