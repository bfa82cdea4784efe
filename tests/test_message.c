/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/seal/message.c (protocol.md section 4, wire format
 * version 2).
 *
 * - vectors/message.json comes from tests/pswire.py: sealing its originals
 *   must give its wire forms exactly, opening its wire forms must give the
 *   originals back (and ts and query), and each tampered wire must fail
 *   with the reference's code, releasing nothing.
 * - Round trips of every kind of body, every byte of a wire changed or
 *   deleted, the key lookup, reply values, events, caps.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <check.h>
#include <json.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/pserr.h"
#include "seal/envelope.h"
#include "seal/jscan.h"
#include "seal/message.h"
#include "seal/message_wire.h"

#define BODY_MAX (64u << 20)
#define SENTINEL "sentinel"
#define N_VECTORS 93

static uint8_t SECRET[32], KID[16], NONCE[16], REPLY[16];
static struct json_object *root, *vectors;

/* ------------------------------------------------------------ helpers */

static int
nib(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* A heap copy of hex s decoded, exactly *n bytes long (so a read past the
 * end shows up under AddressSanitizer). */
static char *
unhex(const char *s, size_t *n)
{
	size_t len = strlen(s), i;
	char *p;

	ck_assert_uint_eq(len % 2, 0);
	p = malloc(len / 2 ? len / 2 : 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len / 2; i++) {
		ck_assert(nib(s[2 * i]) >= 0 && nib(s[2 * i + 1]) >= 0);
		p[i] = (char)(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
	}
	*n = len / 2;
	return p;
}

/* For main(), outside any test: -1 on a malformed field. */
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

static uint64_t
unum(struct json_object *o, const char *name)
{
	struct json_object *v;

	ck_assert(json_object_object_get_ex(o, name, &v));
	return json_object_get_uint64(v);
}

static pserr
code_of(const char *s)
{
	static const pserr all[] = { PS_ERR_INVALID_JSON,
		PS_ERR_INVALID_ENVELOPE, PS_ERR_PLAINTEXT_MEMBER,
		PS_ERR_DECRYPT, PS_ERR_VERSION, PS_ERR_BAD_QUERY,
		PS_ERR_QUERY_TOO_LONG };
	size_t i;

	if (strcmp(s, "ok") == 0)
		return PS_OK;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(pserr_code(all[i]), s) == 0)
			return all[i];
	ck_abort_msg("unknown code %s", s);
	return PS_OK;
}

static enum message_endpoint
ep_of(const char *method, const char *path)
{
	enum message_endpoint ep;

	if (strcmp(path, "/v1/models") == 0)
		return MESSAGE_MODELS;
	/* A vector opened with another method than its own is about the
	 * AAD: it is routed with the endpoint's. */
	if (message_route(method, path, strlen(path), &ep) == PS_OK)
		return ep;
	ck_assert_int_eq(message_route("POST", path, strlen(path), &ep), PS_OK);
	return ep;
}

/* Knows KID, with SECRET. */
struct lookup_arg {
	pserr rc;
	int calls;
	uint8_t seen[ENVELOPE_KID_LEN];
};

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	struct lookup_arg *a = arg;

	a->calls++;
	memcpy(a->seen, kid, ENVELOPE_KID_LEN);
	if (a->rc != PS_OK)
		return a->rc;
	if (memcmp(kid, KID, ENVELOPE_KID_LEN) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, SECRET, ENVELOPE_SECRET_LEN);
	return PS_OK;
}

/* A keyed request context for method and path. */
static void
req_ctx(struct envelope_ctx *c, const char *method, const char *path)
{
	envelope_init(c, ENVELOPE_REQUEST);
	memcpy(c->kid, KID, 16);
	memcpy(c->nonce, NONCE, 16);
	ck_assert_int_eq(envelope_bind_request(c, method, path, strlen(path)),
	    PS_OK);
	ck_assert_int_eq(envelope_derive(c, SECRET), PS_OK);
}

/* A request context as the worker starts it: bind only. */
static void
req_open_ctx(struct envelope_ctx *c, const char *method, const char *path)
{
	envelope_init(c, ENVELOPE_REQUEST);
	ck_assert_int_eq(envelope_bind_request(c, method, path, strlen(path)),
	    PS_OK);
}

/* A reply context: keyed for sealing, or (keyed 0) as the client starts
 * it, knowing kid and nonce only. */
static void
reply_ctx(struct envelope_ctx *c, int status, const char *media, int keyed)
{
	envelope_init(c, ENVELOPE_RESPONSE);
	memcpy(c->kid, KID, 16);
	memcpy(c->nonce, NONCE, 16);
	ck_assert_int_eq(envelope_bind_reply(c, status, media, strlen(media)),
	    PS_OK);
	if (keyed) {
		memcpy(c->reply, REPLY, 16);
		ck_assert_int_eq(envelope_derive(c, SECRET), PS_OK);
	}
}

static int
buf_is(const struct buf *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->p, s, b->len) == 0;
}

static pserr
seal_chat(const char *body, struct buf *out)
{
	struct envelope_ctx c;
	pserr rc;

	req_ctx(&c, "POST", "/v1/chat/completions");
	rc = message_seal_request(MESSAGE_CHAT, &c, 1700000000, "", 0, body,
	    strlen(body), 0, out);
	envelope_wipe(&c);
	return rc;
}

static pserr
open_chat(const char *wire, size_t n, struct buf *out,
    struct message_request *r)
{
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	char *copy = malloc(n ? n : 1);
	pserr rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, wire, n);
	req_open_ctx(&c, "POST", "/v1/chat/completions");
	rc = message_open_request(MESSAGE_CHAT, &c, lookup, &la, copy, n, out,
	    r);
	ck_assert_int_eq(c.keyed, rc == PS_OK);
	ck_assert_int_le(la.calls, 1);
	free(copy);
	envelope_wipe(&c);
	return rc;
}

/* ------------------------------------------------------------ vectors */

START_TEST(test_vector_count)
{
	ck_assert_int_eq((int)json_object_array_length(vectors), N_VECTORS);
}
END_TEST

START_TEST(test_vector)
{
	struct json_object *v = json_object_array_get_idx(vectors, (size_t)_i);
	const char *comment = str(v, "comment"), *kind = str(v, "kind");
	const char *path = str(v, "path"), *method = str(v, "method");
	const char *seal = str(v, "seal"), *open = str(v, "open");
	enum message_endpoint ep = ep_of(method, path);
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct message_request r;
	struct buf out;
	size_t olen = 0, wlen = 0, qlen = 0;
	char *orig = str(v, "original") ? unhex(str(v, "original"), &olen) :
	    NULL;
	char *wire = str(v, "wire") ? unhex(str(v, "wire"), &wlen) : NULL;
	char *query = str(v, "query") ? unhex(str(v, "query"), &qlen) : NULL;
	size_t bucket = (size_t)num(v, "bucket");
	pserr want, rc;

	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&out, SENTINEL), PS_OK);
	if (seal != NULL) {
		want = code_of(seal);
		if (strcmp(kind, "request") == 0) {
			req_ctx(&c, method, path);
			rc = message_seal_request(ep, &c, unum(v, "ts"),
			    query, qlen, orig, olen, bucket, &out);
		} else {
			reply_ctx(&c, (int)num(v, "status"), str(v, "media"), 1);
			rc = message_seal_reply(ep, &c, orig, olen, bucket, &out);
		}
		ck_assert_msg(rc == want, "%s: seal gave %s", comment,
		    pserr_code(rc));
		if (want == PS_OK) {
			ck_assert_uint_eq(out.len, strlen(SENTINEL) + wlen);
			ck_assert_msg(memcmp(out.p + strlen(SENTINEL), wire,
			    wlen) == 0, "%s: wire differs from the reference",
			    comment);
		} else {
			ck_assert(buf_is(&out, SENTINEL));
		}
		envelope_wipe(&c);
		buf_reset(&out);
		ck_assert_int_eq(buf_puts(&out, SENTINEL), PS_OK);
	}
	if (open != NULL) {
		want = code_of(open);
		if (strcmp(kind, "request") == 0) {
			req_open_ctx(&c, method, path);
			rc = message_open_request(ep, &c, lookup, &la, wire, wlen,
			    &out, &r);
		} else {
			reply_ctx(&c, (int)num(v, "status"), str(v, "media"), 0);
			rc = message_open_reply(ep, &c, lookup, &la, wire, wlen,
			    &out);
		}
		ck_assert_msg(rc == want, "%s: open gave %s, want %s", comment,
		    pserr_code(rc), pserr_code(want));
		ck_assert_int_le(la.calls, 1);
		ck_assert_int_eq(c.keyed, rc == PS_OK);
		if (want != PS_OK) {
			ck_assert(buf_is(&out, SENTINEL));
		} else if (strcmp(kind, "request") == 0) {
			ck_assert_uint_eq(r.ts, unum(v, "ts"));
			ck_assert_uint_eq(r.qlen, qlen);
			if (qlen > 0)
				ck_assert_mem_eq(r.query, query, qlen);
			ck_assert_uint_eq(r.len, olen);
			if (olen > 0)
				ck_assert_mem_eq(r.body, orig, olen);
			ck_assert_mem_eq(c.kid, KID, 16);
			ck_assert_mem_eq(c.nonce, NONCE, 16);
			ck_assert_mem_eq(la.seen, KID, 16);
		} else {
			ck_assert_uint_eq(out.len, strlen(SENTINEL) + olen);
			ck_assert_mem_eq(out.p + strlen(SENTINEL), orig, olen);
			ck_assert_mem_eq(c.reply, REPLY, 16);
		}
		envelope_wipe(&c);
	}
	buf_free(&out);
	free(orig);
	free(wire);
	free(query);
}
END_TEST

/* ------------------------------------------------------------ routing */

static const struct {
	const char *method;
	const char *uri;
	pserr rc;
	enum message_endpoint ep;
} routes[] = {
	{ "POST", "/v1/chat/completions", PS_OK, MESSAGE_CHAT },
	{ "POST", "/v1/completions", PS_OK, MESSAGE_COMPLETIONS },
	{ "POST", "/v1/embeddings", PS_OK, MESSAGE_EMBEDDINGS },
	{ "GET", "/v1/models", PS_OK, MESSAGE_MODELS },
	{ "POST", "/v1/chat/completions?x=1", PS_OK, MESSAGE_CHAT },
	{ "GET", "/v1/models?", PS_OK, MESSAGE_MODELS },
	{ "GET", "/v1/chat/completions", PS_ERR_METHOD, 0 },
	{ "POST", "/v1/models", PS_ERR_METHOD, 0 },
	{ "post", "/v1/completions", PS_ERR_METHOD, 0 },
	{ "POST", "/v1/chat/completions/", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/V1/completions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1//completions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/chat%2Fcompletions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/completions#x", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	/* The endpoints of issue 11, and their path parameters. */
	{ "GET", "/v1/models/gpt-4o", PS_OK, MESSAGE_MODEL },
	{ "GET", "/v1/models/org%2Fmodel-7b", PS_OK, MESSAGE_MODEL },
	{ "GET", "/v1/models/org%2fm%2Fx", PS_OK, MESSAGE_MODEL },
	{ "GET", "/v1/models/a.b_c-d~e:f@g+h=i", PS_OK, MESSAGE_MODEL },
	{ "GET", "/v1/models/%41%3a", PS_OK, MESSAGE_MODEL },
	{ "GET", "/v1/models/...", PS_OK, MESSAGE_MODEL },
	{ "GET", "/v1/models/a?x=1", PS_OK, MESSAGE_MODEL },
	{ "POST", "/v1/responses", PS_OK, MESSAGE_RESPONSES },
	{ "GET", "/v1/responses/resp_0123abc", PS_OK, MESSAGE_RESPONSE_GET },
	{ "GET", "/v1/responses/resp_1?include=x&stream=true", PS_OK,
	  MESSAGE_RESPONSE_GET },
	{ "DELETE", "/v1/responses/resp_1", PS_OK, MESSAGE_RESPONSE_DELETE },
	{ "GET", "/v1/responses/resp_1/input_items?after=a&limit=2", PS_OK,
	  MESSAGE_RESPONSE_INPUT_ITEMS },
	{ "POST", "/v1/responses/resp_1/cancel", PS_OK,
	  MESSAGE_RESPONSE_CANCEL },
	{ "POST", "/v1/messages", PS_OK, MESSAGE_MESSAGES },
	{ "POST", "/v1/messages/count_tokens", PS_OK, MESSAGE_COUNT_TOKENS },
	{ "POST", "/v1/rerank", PS_OK, MESSAGE_RERANK },
	{ "POST", "/rerank", PS_OK, MESSAGE_RERANK },
	{ "POST", "/v2/rerank", PS_OK, MESSAGE_RERANK },
	{ "POST", "/v1/score", PS_OK, MESSAGE_SCORE },
	{ "POST", "/tokenize", PS_OK, MESSAGE_TOKENIZE },
	{ "POST", "/detokenize", PS_OK, MESSAGE_DETOKENIZE },
	{ "POST", "/v1/responses/resp_1", PS_ERR_METHOD, 0 },
	{ "PUT", "/v1/responses/resp_1", PS_ERR_METHOD, 0 },
	{ "GET", "/v1/responses/resp_1/cancel", PS_ERR_METHOD, 0 },
	{ "DELETE", "/v1/models/m", PS_ERR_METHOD, 0 },
	{ "GET", "/rerank", PS_ERR_METHOD, 0 },
	{ "GET", "/v2/rerank", PS_ERR_METHOD, 0 },
	{ "GET", "/v1/messages", PS_ERR_METHOD, 0 },
	{ "GET", "/v1/audio/transcriptions", PS_ERR_METHOD, 0 },
	{ "POST", "/v3/rerank", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/tokenize", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses", PS_ERR_METHOD, 0 },
	{ "GET", "/v1/responses/", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses//input_items", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/.", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/..", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/%2e%2E", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/%2E", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/../models", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a/b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%2Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%2fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a\\b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%5Cb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%5cb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%252Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%25", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%2", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%zz", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%00", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%20b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%C3%A9", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a\xc3\xa9", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a#b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a;b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a%3Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/a\x01", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a/b", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/%2Fa", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%2F", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%2F%2Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/..%2Fa", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%2F..", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%2F.%2Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%2F%2e%2e%2Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%5Cb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/a%252Fb", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/..", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/responses/resp_1/input_items/", PS_ERR_UNKNOWN_ENDPOINT,
	  0 },
	{ "GET", "/v1/responses/resp_1/input_items/x", PS_ERR_UNKNOWN_ENDPOINT,
	  0 },
	{ "GET", "/v1/Responses/resp_1", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "?/v1/models", PS_ERR_UNKNOWN_ENDPOINT, 0 },
};

START_TEST(test_route)
{
	enum message_endpoint ep = (enum message_endpoint)99;
	const char *q;
	size_t plen, qlen;
	pserr rc;

	message_target(routes[_i].uri, &plen, &q, &qlen);
	rc = message_route(routes[_i].method, routes[_i].uri, plen, &ep);
	ck_assert_msg(rc == routes[_i].rc, "%s %s: got %d", routes[_i].method,
	    routes[_i].uri, rc);
	if (rc == PS_OK) {
		ck_assert_int_eq(ep, routes[_i].ep);
		ck_assert_str_eq(message_method(ep), routes[_i].method);
		if (strstr(message_path(ep), "{id}") == NULL &&
		    ep != MESSAGE_RERANK)
			ck_assert_uint_eq(strlen(message_path(ep)), plen);
	}
}
END_TEST

/* The id's length cap (PS_CAP_PATH_ID), with every byte plain or
 * encoded. */
START_TEST(test_route_id_cap)
{
	char path[32 + 3 * PS_CAP_PATH_ID + 16];
	enum message_endpoint ep;
	size_t n;

	n = (size_t)snprintf(path, sizeof(path), "/v1/responses/");
	memset(path + n, 'a', PS_CAP_PATH_ID);
	ck_assert_int_eq(message_route("GET", path, n + PS_CAP_PATH_ID, &ep),
	    PS_OK);
	ck_assert_int_eq(ep, MESSAGE_RESPONSE_GET);
	memset(path + n, 'a', PS_CAP_PATH_ID + 1);
	ck_assert_int_eq(message_route("GET", path, n + PS_CAP_PATH_ID + 1,
	    &ep), PS_ERR_UNKNOWN_ENDPOINT);
	/* The cap counts the bytes as sent, encoded. */
	memcpy(path + n + PS_CAP_PATH_ID - 3, "%41", 3);
	ck_assert_int_eq(message_route("GET", path, n + PS_CAP_PATH_ID, &ep),
	    PS_OK);
	memcpy(path + n + PS_CAP_PATH_ID - 2, "%41", 3);
	ck_assert_int_eq(message_route("GET", path, n + PS_CAP_PATH_ID + 1,
	    &ep), PS_ERR_UNKNOWN_ENDPOINT);
	/* The longest path an id makes is bound whole (the AAD's ctx). */
	{
		struct envelope_ctx c;

		n = (size_t)snprintf(path, sizeof(path), "/v1/responses/");
		memset(path + n, 'a', PS_CAP_PATH_ID);
		memcpy(path + n + PS_CAP_PATH_ID, "/input_items", 12);
		n += PS_CAP_PATH_ID + 12;
		ck_assert_int_eq(message_route("GET", path, n, &ep), PS_OK);
		ck_assert_int_eq(ep, MESSAGE_RESPONSE_INPUT_ITEMS);
		envelope_init(&c, ENVELOPE_REQUEST);
		ck_assert_int_eq(envelope_bind_request(&c, "DELETE", path, n),
		    PS_OK);
		envelope_wipe(&c);
	}
	ck_assert_str_eq(message_name(MESSAGE_RESPONSE_GET),
	    "/v1/responses/{id}");
	ck_assert_str_eq(message_name(MESSAGE_RESPONSE_DELETE),
	    "DELETE /v1/responses/{id}");
	ck_assert_str_eq(message_path(MESSAGE_TRANSCRIPTIONS),
	    "/v1/audio/transcriptions");
	ck_assert(message_bodyless(MESSAGE_RESPONSE_CANCEL));
	ck_assert(message_bodyless(MESSAGE_MODEL));
	ck_assert(!message_bodyless(MESSAGE_RESPONSES));
	ck_assert(!message_bodyless(MESSAGE_RERANK));
}
END_TEST

START_TEST(test_target)
{
	const char *q;
	size_t plen, qlen;
	enum message_endpoint ep;

	message_target("/a?b?c", &plen, &q, &qlen);
	ck_assert_uint_eq(plen, 2);
	ck_assert_str_eq(q, "b?c");
	ck_assert_uint_eq(qlen, 3);
	message_target("/a", &plen, &q, &qlen);
	ck_assert_uint_eq(plen, 2);
	ck_assert_ptr_null(q);
	ck_assert_uint_eq(qlen, 0);
	message_target("/a?", &plen, &q, &qlen);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(qlen, 0);
	ck_assert_int_eq(message_route(NULL, "/v1/models", 10, &ep),
	    PS_ERR_ARG);
	ck_assert_int_eq(message_route("GET", NULL, 0, &ep), PS_ERR_ARG);
	ck_assert(message_bodyless(MESSAGE_MODELS));
	ck_assert(!message_bodyless(MESSAGE_CHAT));
}
END_TEST

START_TEST(test_is_plain)
{
	static const char *const chat_q[] = { "model", "stream",
		"stream_options", "max_tokens", "max_completion_tokens", "n" };
	static const char *const never[] = { "messages", "prompt", "input",
		"tools", "temperature", "ps2", "Model", "model ", "", "ids" };
	size_t i;

	for (i = 0; i < 6; i++) {
		ck_assert(message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST,
		    chat_q[i], strlen(chat_q[i])));
		ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_RESPONSE,
		    chat_q[i], strlen(chat_q[i])));
		ck_assert(!message_is_plain(MESSAGE_MODELS, ENVELOPE_REQUEST,
		    chat_q[i], strlen(chat_q[i])));
	}
	ck_assert(!message_is_plain(MESSAGE_COMPLETIONS, ENVELOPE_REQUEST,
	    "max_completion_tokens", 21));
	ck_assert(message_is_plain(MESSAGE_EMBEDDINGS, ENVELOPE_REQUEST,
	    "model", 5));
	ck_assert(!message_is_plain(MESSAGE_EMBEDDINGS, ENVELOPE_REQUEST,
	    "n", 1));
	ck_assert(message_is_plain(MESSAGE_CHAT, ENVELOPE_RESPONSE, "id", 2));
	ck_assert(message_is_plain(MESSAGE_CHAT, ENVELOPE_RESPONSE, "usage",
	    5));
	ck_assert(!message_is_plain(MESSAGE_EMBEDDINGS, ENVELOPE_RESPONSE,
	    "id", 2));
	ck_assert(!message_is_plain(MESSAGE_MODELS, ENVELOPE_RESPONSE, "data",
	    4));
	/* An unescaped name may hold a NUL; a prefix or an extension of an
	 * allowed name is not allowed. */
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "model\0",
	    6));
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "mod\0l",
	    5));
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "\0", 1));
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "mode", 4));
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "models",
	    6));
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "model", 4));
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST,
		    never[i], strlen(never[i])));
	ck_assert(!message_is_plain(MESSAGE_CHAT, ENVELOPE_REQUEST, "model\0",
	    6));
}
END_TEST

/* ------------------------------------------------------- round trips */

static const char *const bodies[] = {
	"{}",
	"{\"model\":\"m\"}",
	"{\"messages\":[{\"role\":\"user\",\"content\":\"Gr\xc3\xbc\xc3\x9f"
	    "e \xf0\x9f\x94\x90\"}],\"model\":\"x\",\"n\":2}",
	" \t\r\n{ \"model\" : \"a\" ,\"stream\":true , \"x\" : [ 1 ,2 ] }\n",
	"{\"s\":\"\\\"q\\\\ \\u00e9 \\ud83d\\ude00\",\"e\":\"\",\"i\":-1.5e-3,"
	    "\"t\":true,\"f\":false,\"z\":null,\"o\":{\"a\":{\"b\":[]}},"
	    "\"a\":[1,\"two\",{}],\"model\":{\"nested\":[1]}}",
	"{\"mod\\u0065l\":\"escaped allowlisted\",\"\\u00e9t\\u00e9\":1,"
	    "\"\":\"empty name\",\"max_tokens\":0}",
	"{\"stream_options\":null,\"max_completion_tokens\":1,"
	    "\"model\":\"last\"}",
};

START_TEST(test_round_trip)
{
	const char *body = bodies[_i];
	struct message_request r;
	struct buf wire, out;

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat(body, &wire), PS_OK);
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.len, strlen(body));
	ck_assert_mem_eq(r.body, body, r.len);
	ck_assert_uint_eq(r.ts, 1700000000);
	ck_assert_uint_eq(r.qlen, 0);
	/* The wire ends with the envelope, and only it looks like one. */
	ck_assert(wire.len > 2 && wire.p[wire.len - 1] == '}');
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

START_TEST(test_large_prompt)
{
	struct message_request r;
	struct buf body, wire, out;
	size_t i;

	buf_init(&body, BODY_MAX);
	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&body, "{\"model\":\"m\",\"messages\":\""),
	    PS_OK);
	for (i = 0; i < (1u << 20); i++)
		ck_assert_int_eq(buf_putc(&body, (char)('a' + i % 26)), PS_OK);
	ck_assert_int_eq(buf_puts(&body, "\"}"), PS_OK);
	ck_assert_int_eq(buf_putc(&body, '\0'), PS_OK);
	body.len--;
	ck_assert_int_eq(seal_chat(body.p, &wire), PS_OK);
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.len, body.len);
	ck_assert(memcmp(r.body, body.p, body.len) == 0);
	buf_free(&body);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

START_TEST(test_many_members)
{
	struct message_request r;
	struct buf b, wire, out;
	size_t i;

	/* Enough members for the sorted duplicate check, names that are
	 * prefixes of one another, plain ones among them. */
	buf_init(&b, BODY_MAX);
	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"model\":\"m\""), PS_OK);
	for (i = 0; i < 300; i++) {
		char m[32];

		snprintf(m, sizeof(m), ",\"k%zu\":%zu", i, i);
		ck_assert_int_eq(buf_puts(&b, m), PS_OK);
	}
	ck_assert_int_eq(buf_puts(&b, ",\"n\":1}"), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '\0'), PS_OK);
	b.len--;
	ck_assert_int_eq(seal_chat(b.p, &wire), PS_OK);
	ck_assert(strncmp(wire.p, "{\"model\":\"m\",\"n\":1,\"ps2\":\"ps2:", 30)
	    == 0);
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.len, b.len);
	/* One duplicate among them. */
	b.len -= 7;
	ck_assert_int_eq(buf_puts(&b, ",\"k17\":1}"), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '\0'), PS_OK);
	buf_reset(&wire);
	ck_assert_int_eq(seal_chat(b.p, &wire), PS_ERR_INVALID_JSON);
	ck_assert_uint_eq(wire.len, 0);
	buf_free(&b);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

static const char *const bad_bodies[] = {
	"", " ", "[]", "\"x\"", "1", "null", "{", "}", "{\"a\":1,}", "{\"a\"}",
	"{\"a\":1}x", "{\"a\":1}{}", "{'a':1}", "{\"a\":NaN}", "{\"a\":01}",
	"\xef\xbb\xbf{}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\xff\"}",
	"{\"a\":\"\x01\"}", "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}",
	"{\"model\":\"x\",\"model\":\"y\"}", "{\"ps2\":\"x\"}",
	"{\"ps\\u0032\":1}", "{\"a\":1,\"ps2\":\"ps2:x\"}",
};

/* Not an original body: the sender refuses it; sealed by someone with the
 * key anyway, the receiver refuses it as not authentic. */
START_TEST(test_invalid_json)
{
	const char *s = bad_bodies[_i];
	struct envelope_ctx c;
	struct envelope_part parts[2];
	struct message_request r;
	uint8_t head[10] = { 0 };
	struct buf wire, out;

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&wire, SENTINEL), PS_OK);
	ck_assert_msg(seal_chat(s, &wire) == PS_ERR_INVALID_JSON,
	    "seal accepted body #%d", _i);
	ck_assert(buf_is(&wire, SENTINEL));
	reply_ctx(&c, 200, "application/json", 1);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &c, s, strlen(s), 0,
	    &wire), PS_ERR_INVALID_JSON);
	ck_assert(buf_is(&wire, SENTINEL));
	envelope_wipe(&c);

	buf_reset(&wire);
	req_ctx(&c, "POST", "/v1/chat/completions");
	parts[0].p = head;
	parts[0].n = sizeof(head);
	parts[1].p = s;
	parts[1].n = strlen(s);
	ck_assert_int_eq(buf_puts(&wire, "{\"ps2\":\""), PS_OK);
	ck_assert_int_eq(envelope_seal(&c, 0, 0, parts, 2, 0, &wire), PS_OK);
	ck_assert_int_eq(buf_puts(&wire, "\"}"), PS_OK);
	ck_assert_int_eq(buf_puts(&out, SENTINEL), PS_OK);
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r),
	    PS_ERR_DECRYPT);
	ck_assert(buf_is(&out, SENTINEL));
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

START_TEST(test_invalid_json_deep)
{
	struct buf b, wire;
	size_t i;

	buf_init(&b, BODY_MAX);
	buf_init(&wire, BODY_MAX);
	/* 512 levels in all is fine, 513 is not. */
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	for (i = 0; i < 511; i++)
		ck_assert_int_eq(buf_putc(&b, '['), PS_OK);
	for (i = 0; i < 511; i++)
		ck_assert_int_eq(buf_putc(&b, ']'), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "}"), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '\0'), PS_OK);
	ck_assert_int_eq(seal_chat(b.p, &wire), PS_OK);
	buf_reset(&b);
	buf_reset(&wire);
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	for (i = 0; i < 512; i++)
		ck_assert_int_eq(buf_putc(&b, '['), PS_OK);
	for (i = 0; i < 512; i++)
		ck_assert_int_eq(buf_putc(&b, ']'), PS_OK);
	ck_assert_int_eq(buf_puts(&b, "}"), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '\0'), PS_OK);
	ck_assert_int_eq(seal_chat(b.p, &wire), PS_ERR_INVALID_JSON);
	buf_free(&b);
	buf_free(&wire);
}
END_TEST

/* ------------------------------------------------------------ tamper */

static const char TAMPER_BODY[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
	"\"I do not agree\"}],\"stream\":false,\"max_tokens\":64,\"n\":1,"
	"\"temperature\":0.2}";

/* Every byte of the wire changed, deleted or doubled, and whitespace put
 * anywhere: never accepted, never released. */
START_TEST(test_tamper_every_byte)
{
	struct message_request r;
	struct buf wire, out;
	size_t i, k;
	char *t;
	pserr rc;

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat(TAMPER_BODY, &wire), PS_OK);
	t = malloc(wire.len + 1);
	ck_assert_ptr_nonnull(t);
	for (i = 0; i < wire.len; i++) {
		static const char subst[] = { 'A', 'B', ' ', '"', '0' };

		for (k = 0; k < sizeof(subst); k++) {
			if (wire.p[i] == subst[k])
				continue;
			memcpy(t, wire.p, wire.len);
			t[i] = subst[k];
			rc = open_chat(t, wire.len, &out, &r);
			ck_assert_msg(rc != PS_OK, "byte %zu as '%c' accepted", i,
			    subst[k]);
			ck_assert_uint_eq(out.len, 0);
		}
		/* Deleted. */
		memcpy(t, wire.p, i);
		memcpy(t + i, wire.p + i + 1, wire.len - i - 1);
		ck_assert(open_chat(t, wire.len - 1, &out, &r) != PS_OK);
		ck_assert_uint_eq(out.len, 0);
	}
	/* A space or a byte added at any place before the envelope. */
	free(t);
	t = malloc(wire.len + 1);
	for (i = 0; i <= wire.len; i++) {
		if (i > 30 && i < wire.len - 40)
			i = wire.len - 40;
		memcpy(t, wire.p, i);
		t[i] = ' ';
		memcpy(t + i + 1, wire.p + i, wire.len - i);
		ck_assert_msg(open_chat(t, wire.len + 1, &out, &r) != PS_OK,
		    "space at %zu accepted", i);
		ck_assert_uint_eq(out.len, 0);
	}
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	free(t);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

/* Plain members deleted, added, moved or changed: decrypt_failed. */
START_TEST(test_tamper_members)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "\"model\":\"gpt-4o\",", "" },
		{ ",\"n\":1", "" },
		{ ",\"stream\":false", "" },
		{ "{\"model\"", "{\"n\":2,\"model\"" },
		{ "{\"model\"", "{\"temperature\":1,\"model\"" },
		{ "{\"model\"", "{\"messages\":[],\"model\"" },
		{ "\"gpt-4o\"", "\"gpt-4o-mini\"" },
		{ "\"max_tokens\":64", "\"max_tokens\":6400" },
		{ "\"n\":1", "\"n\":8" },
		{ "\"stream\":false", "\"stream\":true" },
		{ "\"model\":\"gpt-4o\",\"stream\":false",
		  "\"stream\":false,\"model\":\"gpt-4o\"" },
		{ "\"model\"", "\"mod\\u0065l\"" },
		{ "{\"model\":\"gpt-4o\",", "{\"model\":\"gpt-4o\",\"model\":"
		  "\"gpt-4o\"," },
	};
	struct message_request r;
	struct buf wire, t, out;
	size_t i;
	char *at;

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat(TAMPER_BODY, &wire), PS_OK);
	ck_assert_int_eq(buf_putc(&wire, '\0'), PS_OK);
	wire.len--;
	ck_assert(strncmp(wire.p, "{\"model\":\"gpt-4o\",\"stream\":false,"
	    "\"max_tokens\":64,\"n\":1,\"ps2\":\"ps2:", 57) == 0);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		at = strstr(wire.p, edits[i].from);
		ck_assert_ptr_nonnull(at);
		buf_init(&t, BODY_MAX);
		ck_assert_int_eq(buf_append(&t, wire.p, (size_t)(at - wire.p)),
		    PS_OK);
		ck_assert_int_eq(buf_puts(&t, edits[i].to), PS_OK);
		ck_assert_int_eq(buf_puts(&t, at + strlen(edits[i].from)),
		    PS_OK);
		ck_assert_msg(open_chat(t.p, t.len, &out, &r) == PS_ERR_DECRYPT,
		    "edit %zu", i);
		ck_assert_uint_eq(out.len, 0);
		buf_free(&t);
	}
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

/* Method and path are bound; so are status and media type. */
START_TEST(test_bindings)
{
	static const char *const where[][2] = {
		{ "POST", "/v1/completions" }, { "POST", "/v1/embeddings" },
		{ "PUT", "/v1/chat/completions" },
		{ "POST", "/v1/chat/completions/" },
	};
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct message_request r;
	struct buf wire, out;
	size_t i;

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat("{\"model\":\"m\",\"messages\":[],\"n\":1}",
	    &wire), PS_OK);
	for (i = 0; i < 4; i++) {
		req_open_ctx(&c, where[i][0], where[i][1]);
		ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, lookup,
		    &la, wire.p, wire.len, &out, &r), PS_ERR_DECRYPT);
		ck_assert_uint_eq(out.len, 0);
		envelope_wipe(&c);
	}
	/* As another endpoint's request: its allowlist differs, and so does
	 * its bind. */
	req_open_ctx(&c, "POST", "/v1/chat/completions");
	ck_assert_int_eq(message_open_request(MESSAGE_EMBEDDINGS, &c, lookup,
	    &la, wire.p, wire.len, &out, &r), PS_ERR_DECRYPT);
	envelope_wipe(&c);

	buf_reset(&wire);
	reply_ctx(&c, 200, "application/json", 1);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &c,
	    "{\"id\":\"a\",\"choices\":[]}", 23, 0, &wire), PS_OK);
	envelope_wipe(&c);
	{
		static const struct {
			int status;
			const char *media;
		} r2[] = { { 201, "application/json" }, { 500,
		    "application/json" }, { 200, "text/html" }, { 200,
		    "application/json;" }, { 200, "text/event-stream" } };

		for (i = 0; i < 5; i++) {
			reply_ctx(&c, r2[i].status, r2[i].media, 0);
			ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c,
			    lookup, &la, wire.p, wire.len, &out), PS_ERR_DECRYPT);
			ck_assert_int_eq(c.keyed, 0);
			ck_assert_uint_eq(out.len, 0);
			envelope_wipe(&c);
		}
	}
	reply_ctx(&c, 200, "application/json", 0);
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la,
	    wire.p, wire.len, &out), PS_OK);
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

/* Two replies to one request: once keyed with one reply value, the
 * other reply is refused. */
START_TEST(test_reply_values)
{
	struct envelope_ctx a, b, c;
	struct lookup_arg la = { 0 };
	struct buf wa, wb, out;

	buf_init(&wa, BODY_MAX);
	buf_init(&wb, BODY_MAX);
	buf_init(&out, BODY_MAX);
	reply_ctx(&a, 200, "application/json", 1);
	b = a;
	b.reply[0] ^= 1;
	ck_assert_int_eq(envelope_derive(&b, SECRET), PS_OK);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &a, "{\"id\":\"1\"}",
	    10, 0, &wa), PS_OK);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &b, "{\"id\":\"1\"}",
	    10, 0, &wb), PS_OK);
	ck_assert_int_ne(memcmp(wa.p, wb.p, wa.len), 0);
	reply_ctx(&c, 200, "application/json", 0);
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la, wa.p,
	    wa.len, &out), PS_OK);
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la, wb.p,
	    wb.len, &out), PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(message_key_reply(&c, lookup, &la, wb.p + 17,
	    wb.len - 19), PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(message_key_reply(&c, lookup, &la, wa.p + 17,
	    wa.len - 19), PS_OK);
	/* The lookup was asked once, for the first message. */
	ck_assert_int_eq(la.calls, 1);
	/* Another request's nonce: refused before any lookup. */
	envelope_wipe(&c);
	reply_ctx(&c, 200, "application/json", 0);
	c.nonce[0] ^= 1;
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la, wa.p,
	    wa.len, &out), PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(la.calls, 1);
	envelope_wipe(&a);
	envelope_wipe(&b);
	envelope_wipe(&c);
	buf_free(&wa);
	buf_free(&wb);
	buf_free(&out);
}
END_TEST

/* ------------------------------------------------------------ lookup */

START_TEST(test_lookup)
{
	static const pserr errs[] = { PS_ERR_UNKNOWN_KEY, PS_ERR_NO_KEY };
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct message_request r;
	struct buf wire, out;
	size_t i;

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat("{\"model\":\"m\"}", &wire), PS_OK);
	for (i = 0; i < 2; i++) {
		la.rc = errs[i];
		la.calls = 0;
		req_open_ctx(&c, "POST", "/v1/chat/completions");
		ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, lookup,
		    &la, wire.p, wire.len, &out, &r), errs[i]);
		ck_assert_int_eq(la.calls, 1);
		ck_assert_mem_eq(la.seen, KID, 16);
		ck_assert_uint_eq(out.len, 0);
		envelope_wipe(&c);
	}
	/* No lookup for a wire that is not well-formed. */
	la.rc = PS_OK;
	la.calls = 0;
	req_open_ctx(&c, "POST", "/v1/chat/completions");
	ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, lookup, &la,
	    "{\"ps2\":\"ps2:00\"}", 16, &out, &r), PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, lookup, &la,
	    "{\"model\":1}", 11, &out, &r), PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, NULL, NULL,
	    wire.p, wire.len, &out, &r), PS_ERR_ARG);
	ck_assert_int_eq(la.calls, 0);
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

/*
 * A ciphertext that is not base64url, behind a well-formed head: the form
 * comes before the key (protocol.md section 4, step 2), so it is
 * invalid_envelope whether the kid is known (the key is looked up first
 * and the decoder refuses it) or not (the alphabet is checked then), and
 * nothing comes out.  The bad byte goes at each end and the middle.
 */
START_TEST(test_bad_ciphertext)
{
	static const pserr errs[] = { PS_OK, PS_ERR_UNKNOWN_KEY,
	    PS_ERR_NO_KEY };
	static const char bad[] = { '+', '/', '=', ':', '\\', '\x80' };
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct message_request r;
	struct buf wire, rwire, out;
	const char *env;
	size_t e, i, k, at[3], head, envlen, plen;
	char was;

	buf_init(&wire, BODY_MAX);
	buf_init(&rwire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat("{\"model\":\"m\",\"messages\":[]}",
	    &wire), PS_OK);
	reply_ctx(&c, 200, "application/json", 1);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &c,
	    "{\"id\":\"a\",\"choices\":[]}", 23, 0, &rwire), PS_OK);
	envelope_wipe(&c);
	for (e = 0; e < 3; e++)
		for (i = 0; i < sizeof(bad); i++)
			for (k = 0; k < 3; k++) {
				/* Request: the ciphertext starts after the
				 * plain members and the envelope's head. */
				ck_assert(message_locate(wire.p, wire.len,
				    &env, &envlen, &plen));
				head = plen + ENVELOPE_REQUEST_HEAD;
				at[0] = head;
				at[1] = (head + wire.len - 2) / 2;
				at[2] = wire.len - 3;
				la.rc = errs[e];
				la.calls = 0;
				was = wire.p[at[k]];
				wire.p[at[k]] = bad[i];
				req_open_ctx(&c, "POST", "/v1/chat/completions");
				ck_assert_int_eq(message_open_request(
				    MESSAGE_CHAT, &c, lookup, &la, wire.p,
				    wire.len, &out, &r), PS_ERR_INVALID_ENVELOPE);
				ck_assert_int_eq(la.calls, 1);
				ck_assert_int_eq(c.keyed, 0);
				ck_assert_uint_eq(out.len, 0);
				envelope_wipe(&c);
				wire.p[at[k]] = was;

				ck_assert(message_locate(rwire.p, rwire.len,
				    &env, &envlen, &plen));
				head = plen + ENVELOPE_REPLY_HEAD;
				at[0] = head;
				at[1] = (head + rwire.len - 2) / 2;
				at[2] = rwire.len - 3;
				la.calls = 0;
				was = rwire.p[at[k]];
				rwire.p[at[k]] = bad[i];
				reply_ctx(&c, 200, "application/json", 0);
				ck_assert_int_eq(message_open_reply(
				    MESSAGE_CHAT, &c, lookup, &la, rwire.p,
				    rwire.len, &out), PS_ERR_INVALID_ENVELOPE);
				ck_assert_int_eq(la.calls, 1);
				ck_assert_int_eq(c.keyed, 0);
				ck_assert_uint_eq(out.len, 0);
				envelope_wipe(&c);
				rwire.p[at[k]] = was;
			}
	/* Untouched, both open. */
	la.rc = PS_OK;
	req_open_ctx(&c, "POST", "/v1/chat/completions");
	ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, lookup, &la,
	    wire.p, wire.len, &out, &r), PS_OK);
	envelope_wipe(&c);
	out.len = 0;
	reply_ctx(&c, 200, "application/json", 0);
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la,
	    rwire.p, rwire.len, &out), PS_OK);
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&rwire);
	buf_free(&out);
}
END_TEST

/* No envelope: the receiver says why, in protocol.md's order. */
START_TEST(test_no_envelope)
{
	static const struct {
		const char *wire;
		pserr rc;
	} t[] = {
		{ "not json", PS_ERR_INVALID_JSON },
		{ "[1]", PS_ERR_INVALID_JSON },
		{ "{\"model\":\"m\"}", PS_ERR_INVALID_ENVELOPE },
		{ "{}", PS_ERR_INVALID_ENVELOPE },
		{ "{\"messages\":\"hi\"}", PS_ERR_PLAINTEXT_MEMBER },
		{ "{\"messages\":\"ps1:x\"}", PS_ERR_VERSION },
		{ "{\"model\":\"m\",\"messages\":\"\\u0070s1:x\"}",
		  PS_ERR_VERSION },
		{ "{\"messages\":\"ps1:x\",\"ps2\":1}", PS_ERR_INVALID_ENVELOPE },
		{ "{\"ps2\":\"ps2:x\",\"model\":\"m\"}", PS_ERR_INVALID_ENVELOPE },
		{ "{\"ps2\":\"ps2:x\"} ", PS_ERR_INVALID_ENVELOPE },
		{ "{\"x\":\"ps2\":\"\"}", PS_ERR_INVALID_ENVELOPE },
		{ "{\"ps2\":\"\"}", PS_ERR_INVALID_ENVELOPE },
		{ "\"}", PS_ERR_INVALID_JSON },
		{ "", PS_ERR_INVALID_JSON },
	};
	struct message_request r;
	struct buf out;
	size_t i;

	buf_init(&out, BODY_MAX);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(open_chat(t[i].wire, strlen(t[i].wire), &out, &r) ==
		    t[i].rc, "%s", t[i].wire);
	buf_free(&out);
}
END_TEST

/*
 * A receiver first guesses the envelope at the first "ps2":" of the wire
 * and falls back to the rule of protocol.md section 4 (the last quote)
 * when the guess fails and its text holds a quote.  A plain member may
 * hold such an object: the message still opens; and a member with one
 * put in front of the envelope is the rule's decrypt_failed, not the
 * guess's invalid_envelope.
 */
START_TEST(test_locate_guess)
{
	static const char req[] =
	    "{\"stream_options\":{\"ps2\":\"ps2:x\"},\"model\":\"m\","
	    "\"messages\":\"hi\"}";
	static const char rep[] =
	    "{\"id\":\"1\",\"usage\":{\"ps2\":\"ps2:x\"},\"choices\":[]}";
	struct envelope_ctx a, c;
	struct lookup_arg la = { 0 };
	struct message_request r;
	struct buf wire, t, out;
	const char *at;

	buf_init(&wire, BODY_MAX);
	buf_init(&t, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_chat(req, &wire), PS_OK);
	ck_assert(wire.len > 20 && memcmp(wire.p, "{\"stream_options\":"
	    "{\"ps2\":\"ps2:x\"},", 32) == 0);
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.len, strlen(req));
	ck_assert_mem_eq(r.body, req, r.len);
	/* The same object added in front of the envelope of a wire. */
	buf_reset(&wire);
	ck_assert_int_eq(seal_chat("{\"model\":\"m\",\"messages\":\"hi\"}",
	    &wire), PS_OK);
	ck_assert_int_eq(buf_putc(&wire, '\0'), PS_OK);
	wire.len--;
	ck_assert_ptr_nonnull(at = strstr(wire.p, ",\"ps2\":\"ps2:"));
	ck_assert_int_eq(buf_append(&t, wire.p, (size_t)(at - wire.p)), PS_OK);
	ck_assert_int_eq(buf_puts(&t, ",\"stream_options\":{\"ps2\":"
	    "\"ps2:x\"}"), PS_OK);
	ck_assert_int_eq(buf_puts(&t, at), PS_OK);
	buf_reset(&out);
	ck_assert_int_eq(open_chat(t.p, t.len, &out, &r), PS_ERR_DECRYPT);
	ck_assert_uint_eq(out.len, 0);

	/* A reply, whose plain "usage" holds one. */
	buf_reset(&wire);
	reply_ctx(&a, 200, "application/json", 1);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &a, rep,
	    strlen(rep), 0, &wire), PS_OK);
	ck_assert_ptr_nonnull(strstr(wire.p, "\"usage\":{\"ps2\":"));
	reply_ctx(&c, 200, "application/json", 0);
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la,
	    wire.p, wire.len, &out), PS_OK);
	ck_assert_uint_eq(out.len, strlen(rep));
	ck_assert_mem_eq(out.p, rep, out.len);
	envelope_wipe(&c);
	/* And one with such a member added: decrypt_failed again. */
	buf_reset(&wire);
	buf_reset(&out);
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &a, "{\"id\":\"1\"}",
	    10, 0, &wire), PS_OK);
	ck_assert_int_eq(buf_putc(&wire, '\0'), PS_OK);
	wire.len--;
	ck_assert_ptr_nonnull(at = strstr(wire.p, ",\"ps2\":\"ps2:"));
	buf_reset(&t);
	ck_assert_int_eq(buf_append(&t, wire.p, (size_t)(at - wire.p)), PS_OK);
	ck_assert_int_eq(buf_puts(&t, ",\"usage\":{\"ps2\":\"ps2:x\"}"),
	    PS_OK);
	ck_assert_int_eq(buf_puts(&t, at), PS_OK);
	reply_ctx(&c, 200, "application/json", 0);
	ck_assert_int_eq(message_open_reply(MESSAGE_CHAT, &c, lookup, &la,
	    t.p, t.len, &out), PS_ERR_DECRYPT);
	ck_assert_uint_eq(out.len, 0);
	envelope_wipe(&a);
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&t);
	buf_free(&out);
}
END_TEST

/* The peak resident size of this process, in bytes. */
static size_t
peak_rss(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return (size_t)ru.ru_maxrss * 1024;
}

/*
 * A wire of 600,000 tiny members and no envelope is answered before any
 * key is looked at, in memory that does not grow with the number of
 * members (it used to cost about 72 bytes a member, plus a copy while
 * the table grew: some 14 times the body).
 */
START_TEST(test_no_envelope_bounded)
{
	static const char *const last[] = { "", ",\"messages\":1",
	    ",\"n\":\"ps1:x\"", ",\"ps\\u0032\":1" };
	static const pserr want[] = { PS_ERR_INVALID_ENVELOPE,
	    PS_ERR_PLAINTEXT_MEMBER, PS_ERR_VERSION, PS_ERR_INVALID_ENVELOPE };
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct message_request r;
	struct buf b, out;
	size_t i, before, n = 600000;

	buf_init(&b, 16u << 20);
	buf_init(&out, 16u << 20);
	ck_assert_int_eq(buf_reserve(&b, 6 * n + 64), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '{'), PS_OK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(buf_append(&b, i ? ",\"n\":1" : "\"n\":1",
		    i ? 6 : 5), PS_OK);
	before = b.len;
	for (i = 0; i < sizeof(last) / sizeof(last[0]); i++) {
		size_t rss;

		b.len = before;
		ck_assert_int_eq(buf_puts(&b, last[i]), PS_OK);
		ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
		req_open_ctx(&c, "POST", "/v1/chat/completions");
		rss = peak_rss();
		ck_assert_int_eq(message_open_request(MESSAGE_CHAT, &c, lookup,
		    &la, b.p, b.len, &out, &r), want[i]);
		ck_assert_uint_eq(out.len, 0);
		ck_assert_int_eq(la.calls, 0);
		envelope_wipe(&c);
		/* Well below the body's own size. */
		ck_assert_msg(peak_rss() - rss < b.len / 2,
		    "the scan raised the peak by %zu bytes for a body of %zu",
		    peak_rss() - rss, b.len);
	}
	buf_free(&b);
	buf_free(&out);
}
END_TEST

/* ------------------------------------------------------------ queries */

START_TEST(test_query)
{
	struct envelope_ctx c;
	struct message_request r;
	struct lookup_arg la = { 0 };
	struct buf wire, out;
	char q[MESSAGE_QUERY_MAX + 2];

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	memset(q, 'q', sizeof(q));
	req_ctx(&c, "POST", "/v1/chat/completions");
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 1, q,
	    MESSAGE_QUERY_MAX + 1, "{}", 2, 0, &wire), PS_ERR_QUERY_TOO_LONG);
	q[5] = ' ';
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 1, q, 10, "{}",
	    2, 0, &wire), PS_ERR_BAD_QUERY);
	q[5] = '#';
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 1, q, 10, "{}",
	    2, 0, &wire), PS_ERR_BAD_QUERY);
	q[5] = '\x7f';
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 1, q, 10, "{}",
	    2, 0, &wire), PS_ERR_BAD_QUERY);
	q[5] = '\n';
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 1, q, 10, "{}",
	    2, 0, &wire), PS_ERR_BAD_QUERY);
	ck_assert_uint_eq(wire.len, 0);
	q[5] = '?';
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 1, q,
	    MESSAGE_QUERY_MAX, "{}", 2, 0, &wire), PS_OK);
	/* The query is inside the seal, not on the wire. */
	ck_assert_ptr_null(memmem(wire.p, wire.len, "qqqq", 4));
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.qlen, MESSAGE_QUERY_MAX);
	ck_assert_mem_eq(r.query, q, MESSAGE_QUERY_MAX);
	envelope_wipe(&c);

	/* A bodyless request carries no body. */
	buf_reset(&wire);
	req_ctx(&c, "GET", "/v1/models");
	ck_assert_int_eq(message_seal_request(MESSAGE_MODELS, &c, 1, "", 0,
	    "{}", 2, 0, &wire), PS_ERR_ARG);
	ck_assert_int_eq(message_seal_request(MESSAGE_MODELS, &c, 7, "a=b", 3,
	    NULL, 0, 0, &wire), PS_OK);
	ck_assert(strncmp(wire.p, "ps2:", 4) == 0);
	envelope_wipe(&c);
	req_open_ctx(&c, "GET", "/v1/models");
	buf_reset(&out);
	ck_assert_int_eq(message_open_request(MESSAGE_MODELS, &c, lookup, &la,
	    wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.ts, 7);
	ck_assert_uint_eq(r.qlen, 3);
	ck_assert_uint_eq(r.len, 0);
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

/* ------------------------------------------------------------ events */

static const char *const events[] = {
	"data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
	"event: message\nid: 4\ndata: {\"usage\":{\"t\":1},\"id\":\"y\"}\n\n",
	"data: {\"id\":\"z\",\ndata: \"q\":1}\n\n",
	"data: {\"id\":\"a\",\ndata: \"usage\":null}\r\n\r\n",
	"data: [DONE]\n\n",
	": comment only\n\n",
	"data: {\"id\":\"d\",\"id\":\"e\"}\n\n",
	"data\n\n",
};

START_TEST(test_events)
{
	struct envelope_ctx c, o;
	struct lookup_arg la = { 0 };
	struct buf wire, out;
	const char *ev = events[_i];

	buf_init(&wire, BODY_MAX);
	buf_init(&out, BODY_MAX);
	reply_ctx(&c, 200, "text/event-stream", 1);
	ck_assert_int_eq(message_seal_event(MESSAGE_CHAT, &c, 3, ev, strlen(ev),
	    256, &wire), PS_OK);
	ck_assert(wire.len > 0 && wire.p[0] == '{');
	/* Nothing of the event is readable but its plain members. */
	ck_assert_ptr_null(memmem(wire.p, wire.len, "choices", 7));
	ck_assert_ptr_null(memmem(wire.p, wire.len, "event", 5));
	reply_ctx(&o, 200, "text/event-stream", 0);
	ck_assert_int_eq(message_open_event(MESSAGE_CHAT, &o, lookup, &la, 2,
	    wire.p, wire.len, &out), PS_ERR_DECRYPT);
	ck_assert_int_eq(o.keyed, 0);
	ck_assert_int_eq(message_open_event(MESSAGE_CHAT, &o, lookup, &la, 3,
	    wire.p, wire.len, &out), PS_OK);
	ck_assert_uint_eq(out.len, strlen(ev));
	ck_assert_mem_eq(out.p, ev, out.len);
	/* As a body it is another message. */
	buf_reset(&out);
	envelope_wipe(&o);
	reply_ctx(&o, 200, "text/event-stream", 0);
	ck_assert_int_ne(message_open_reply(MESSAGE_CHAT, &o, lookup, &la,
	    wire.p, wire.len, &out), PS_OK);
	envelope_wipe(&c);
	envelope_wipe(&o);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

START_TEST(test_event_members)
{
	struct envelope_ctx c;
	struct buf wire;

	buf_init(&wire, BODY_MAX);
	reply_ctx(&c, 200, "text/event-stream", 1);
	ck_assert_int_eq(message_seal_event(MESSAGE_CHAT, &c, 0, events[1],
	    strlen(events[1]), 0, &wire), PS_OK);
	ck_assert(strncmp(wire.p, "{\"usage\":{\"t\":1},\"id\":\"y\",\"ps2\":\"",
	    33) == 0);
	buf_reset(&wire);
	ck_assert_int_eq(message_seal_event(MESSAGE_CHAT, &c, 0, events[2],
	    strlen(events[2]), 0, &wire), PS_OK);
	ck_assert(strncmp(wire.p, "{\"id\":\"z\",\"ps2\":", 16) == 0);
	buf_reset(&wire);
	ck_assert_int_eq(message_seal_event(MESSAGE_CHAT, &c, 0, events[4],
	    strlen(events[4]), 0, &wire), PS_OK);
	ck_assert(strncmp(wire.p, "{\"ps2\":\"ps2:", 12) == 0);
	buf_reset(&wire);
	ck_assert_int_eq(message_seal_event(MESSAGE_CHAT, &c, 0, events[6],
	    strlen(events[6]), 0, &wire), PS_OK);
	ck_assert(strncmp(wire.p, "{\"ps2\":\"ps2:", 12) == 0);
	envelope_wipe(&c);
	buf_free(&wire);
}
END_TEST

/* ------------------------------------------------------------ caps */

START_TEST(test_too_large)
{
	struct envelope_ctx c;
	struct message_request r;
	struct buf wire, small, out;
	const char *body = "{\"model\":\"m\",\"messages\":\"hello\"}";

	buf_init(&wire, BODY_MAX);
	ck_assert_int_eq(seal_chat(body, &wire), PS_OK);
	buf_init(&small, wire.len - 1);
	ck_assert_int_eq(seal_chat(body, &small), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(small.len, 0);
	buf_free(&small);
	buf_init(&small, wire.len);
	ck_assert_int_eq(seal_chat(body, &small), PS_OK);
	buf_free(&small);
	/* Opening needs room for the content. */
	buf_init(&out, 10 + strlen(body) - 1);
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r),
	    PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	buf_init(&out, 10 + strlen(body));
	ck_assert_int_eq(open_chat(wire.p, wire.len, &out, &r), PS_OK);
	buf_free(&out);
	/* A direction that does not match is misuse. */
	reply_ctx(&c, 200, "application/json", 1);
	ck_assert_int_eq(message_seal_request(MESSAGE_CHAT, &c, 0, "", 0, "{}",
	    2, 0, &wire), PS_ERR_ARG);
	envelope_wipe(&c);
	req_ctx(&c, "POST", "/v1/chat/completions");
	ck_assert_int_eq(message_seal_reply(MESSAGE_CHAT, &c, "{}", 2, 0,
	    &wire), PS_ERR_ARG);
	envelope_wipe(&c);
	buf_free(&wire);
}
END_TEST

static Suite *
message_suite(void)
{
	Suite *s = suite_create("message");
	TCase *tc;

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vector_count);
	tcase_add_loop_test(tc, test_vector, 0,
	    (int)json_object_array_length(vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("routing");
	tcase_add_loop_test(tc, test_route, 0,
	    (int)(sizeof(routes) / sizeof(routes[0])));
	tcase_add_test(tc, test_target);
	tcase_add_test(tc, test_route_id_cap);
	tcase_add_test(tc, test_is_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("bodies");
	tcase_add_loop_test(tc, test_round_trip, 0,
	    (int)(sizeof(bodies) / sizeof(bodies[0])));
	tcase_add_test(tc, test_large_prompt);
	tcase_add_test(tc, test_many_members);
	tcase_add_loop_test(tc, test_invalid_json, 0,
	    (int)(sizeof(bad_bodies) / sizeof(bad_bodies[0])));
	tcase_add_test(tc, test_invalid_json_deep);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_too_large);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("tamper");
	tcase_add_test(tc, test_tamper_every_byte);
	tcase_add_test(tc, test_tamper_members);
	tcase_add_test(tc, test_bindings);
	tcase_add_test(tc, test_reply_values);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_bad_ciphertext);
	tcase_add_test(tc, test_no_envelope);
	tcase_add_test(tc, test_locate_guess);
	tcase_add_test(tc, test_no_envelope_bounded);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_loop_test(tc, test_events, 0,
	    (int)(sizeof(events) / sizeof(events[0])));
	tcase_add_test(tc, test_event_members);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	root = json_object_from_file(TEST_SRCDIR "/vectors/message.json");
	if (root == NULL || !json_object_object_get_ex(root, "vectors",
	    &vectors)) {
		fprintf(stderr, "cannot read vectors/message.json\n");
		return 99;
	}
	if (load_fixed(str(root, "secret"), SECRET, 32) != 0 ||
	    load_fixed(str(root, "kid"), KID, 16) != 0 ||
	    load_fixed(str(root, "nonce"), NONCE, 16) != 0 ||
	    load_fixed(str(root, "reply"), REPLY, 16) != 0) {
		fprintf(stderr, "vectors/message.json: bad secret, kid, nonce "
		    "or reply\n");
		return 99;
	}
	sr = srunner_create(message_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_object_put(root);
	return failed == 0 ? 0 : 1;
}
