#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json.h>

#include "core/codec.h"
#include "seal/envelope.h"
#include "seal/jscan.h"
#include "seal/message.h"

static const uint8_t KEY[ENVELOPE_KEY_LEN] = {
	0x8c, 0x1f, 0x02, 0x73, 0x5a, 0x94, 0xe1, 0x3d, 0x60, 0x2b, 0xc7,
	0x48, 0x11, 0xfe, 0x39, 0xa6, 0x0d, 0x72, 0xb8, 0x55, 0xe4, 0x9a,
	0x23, 0x6f, 0xc1, 0x07, 0x3e, 0x8d, 0x51, 0xaa, 0x16, 0xf0,
};
static const uint8_t KEY2[ENVELOPE_KEY_LEN] = { 1 };
static const uint8_t KID[ENVELOPE_KID_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};
static const uint8_t KID2[ENVELOPE_KID_LEN] = { 0xee };
static const uint8_t NONCE[ENVELOPE_NONCE_LEN] = {
	0xa5, 0x5a, 0x00, 0xff, 0x10, 0x20, 0x30, 0x40,
	0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0,
};
static const uint8_t NONCE2[ENVELOPE_NONCE_LEN] = { 0x77 };

#define BODY_MAX (64u << 20)

static void
ctx_init(struct envelope_ctx *c, enum envelope_dir dir)
{
	memset(c, 0, sizeof(*c));
	c->key = KEY;
	memcpy(c->kid, KID, sizeof(c->kid));
	memcpy(c->nonce, NONCE, sizeof(c->nonce));
	c->dir = dir;
}

/* Knows KID (KEY), KID2 (KEY2) and, when set, vkid (vkey). */
struct lookup_arg {
	const uint8_t *vkid;
	const uint8_t *vkey;
	pserr rc;
	int calls;
	uint8_t seen[ENVELOPE_KID_LEN];
};

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t key[ENVELOPE_KEY_LEN])
{
	struct lookup_arg *a = arg;

	a->calls++;
	memcpy(a->seen, kid, ENVELOPE_KID_LEN);
	if (a->rc != PS_OK)
		return a->rc;
	if (a->vkid != NULL && memcmp(kid, a->vkid, ENVELOPE_KID_LEN) == 0)
		memcpy(key, a->vkey, ENVELOPE_KEY_LEN);
	else if (memcmp(kid, KID, ENVELOPE_KID_LEN) == 0)
		memcpy(key, KEY, ENVELOPE_KEY_LEN);
	else if (memcmp(kid, KID2, ENVELOPE_KID_LEN) == 0)
		memcpy(key, KEY2, ENVELOPE_KEY_LEN);
	else
		return PS_ERR_UNKNOWN_KEY;
	return PS_OK;
}

/* Bodies are passed from heap copies of exactly their length, so a read
 * past the end shows up under AddressSanitizer. */
static pserr
seal_n(enum message_endpoint ep, const struct envelope_ctx *c,
    const char *json, size_t n, struct buf *out)
{
	char *p = malloc(n ? n : 1);
	pserr rc;

	ck_assert_ptr_nonnull(p);
	memcpy(p, json, n);
	rc = message_seal(ep, c, p, n, out);
	free(p);
	return rc;
}

static pserr
open_n(enum message_endpoint ep, struct envelope_ctx *c, struct lookup_arg *la,
    const char *json, size_t n, struct buf *out)
{
	char *p = malloc(n ? n : 1);
	pserr rc;

	ck_assert_ptr_nonnull(p);
	memcpy(p, json, n);
	rc = message_open(ep, c, la ? lookup : NULL, la, p, n, out);
	free(p);
	return rc;
}

static pserr
seal_s(enum message_endpoint ep, const struct envelope_ctx *c,
    const char *json, struct buf *out)
{
	return seal_n(ep, c, json, strlen(json), out);
}

static pserr
open_b(enum message_endpoint ep, struct envelope_ctx *c, struct lookup_arg *la,
    const struct buf *in, struct buf *out)
{
	return open_n(ep, c, la, in->p, in->len, out);
}

static int
buf_is(const struct buf *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->p, s, b->len) == 0;
}

/* Find the member whose name is raw (as sent) in body. */
static int
find_member(const char *body, size_t n, const char *raw, const char **v,
    size_t *vn)
{
	struct jscan_object it;
	struct jscan_member m;
	int more;

	ck_assert_int_eq(jscan_object_begin(&it, body, n), PS_OK);
	for (;;) {
		ck_assert_int_eq(jscan_object_next(&it, &m, &more), PS_OK);
		if (!more)
			return 0;
		if (m.name_len == strlen(raw) &&
		    memcmp(m.name, raw, m.name_len) == 0) {
			*v = m.value;
			*vn = m.value_len;
			return 1;
		}
	}
}

/* Append "<envelope of pt under name>" (with quotes) to b. */
static void
put_env(struct buf *b, const struct envelope_ctx *c, const char *name,
    const char *pt, size_t ptlen)
{
	ck_assert_int_eq(buf_putc(b, '"'), PS_OK);
	ck_assert_int_eq(envelope_seal(c, name, strlen(name), pt, ptlen, b),
	    PS_OK);
	ck_assert_int_eq(buf_putc(b, '"'), PS_OK);
}

/* {"<name>":<envelope of pt>} */
static void
one_env_body(struct buf *b, const struct envelope_ctx *c, const char *name,
    const char *pt, size_t ptlen)
{
	buf_init(b, BODY_MAX);
	ck_assert_int_eq(buf_puts(b, "{\""), PS_OK);
	ck_assert_int_eq(buf_puts(b, name), PS_OK);
	ck_assert_int_eq(buf_puts(b, "\":"), PS_OK);
	put_env(b, c, name, pt, ptlen);
	ck_assert_int_eq(buf_putc(b, '}'), PS_OK);
}

/* ------------------------------------------------------------ routing */

static const struct {
	const char *method;
	const char *path;
	pserr rc;
	enum message_endpoint ep;
} routes[] = {
	{ "POST", "/v1/chat/completions", PS_OK, MESSAGE_CHAT },
	{ "POST", "/v1/completions", PS_OK, MESSAGE_COMPLETIONS },
	{ "POST", "/v1/embeddings", PS_OK, MESSAGE_EMBEDDINGS },
	{ "GET", "/v1/models", PS_OK, MESSAGE_MODELS },
	{ "POST", "/v1/chat/completions?api-version=1", PS_OK, MESSAGE_CHAT },
	{ "POST", "/v1/chat/completions?", PS_OK, MESSAGE_CHAT },
	{ "GET", "/v1/models?limit=5&x=/v1/chat", PS_OK, MESSAGE_MODELS },
	{ "POST", "/v1/embeddings?a?b", PS_OK, MESSAGE_EMBEDDINGS },
	{ "GET", "/v1/chat/completions", PS_ERR_METHOD, 0 },
	{ "PUT", "/v1/completions", PS_ERR_METHOD, 0 },
	{ "GET", "/v1/embeddings?x", PS_ERR_METHOD, 0 },
	{ "POST", "/v1/models", PS_ERR_METHOD, 0 },
	{ "HEAD", "/v1/models", PS_ERR_METHOD, 0 },
	{ "post", "/v1/chat/completions", PS_ERR_METHOD, 0 },
	{ "", "/v1/models", PS_ERR_METHOD, 0 },
	{ "POST", "/v1/chat/completions/", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/chat/completionsX", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/chat/completion", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/chat", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/V1/completions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "//v1/completions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1//completions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/chat%2Fcompletions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/completions#x", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "v1/completions", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/v1/models/gpt-4o", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "/", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "GET", "?/v1/models", PS_ERR_UNKNOWN_ENDPOINT, 0 },
	{ "POST", "/v1/files", PS_ERR_UNKNOWN_ENDPOINT, 0 },
};

START_TEST(test_route)
{
	enum message_endpoint ep = (enum message_endpoint)99;
	pserr rc = message_route(routes[_i].method, routes[_i].path, &ep);

	ck_assert_msg(rc == routes[_i].rc, "%s %s: got %d", routes[_i].method,
	    routes[_i].path, rc);
	if (rc == PS_OK)
		ck_assert_int_eq(ep, routes[_i].ep);
}
END_TEST

START_TEST(test_route_null)
{
	enum message_endpoint ep;

	ck_assert_int_eq(message_route(NULL, "/v1/models", &ep), PS_ERR_ARG);
	ck_assert_int_eq(message_route("GET", NULL, &ep), PS_ERR_ARG);
}
END_TEST

/* ---------------------------------------------------------- allowlists */

/* Names from every list and some near misses, in one compact body. */
static const char *const all_names[] = {
	"model", "stream", "stream_options", "max_tokens",
	"max_completion_tokens", "n", "id", "usage", "messages", "prompt",
	"input", "choices", "object", "created", "temperature", "Model",
	"model ", "", "ids", "usag",
};
static const char *const all_values[] = {
	"\"gpt-4o\"", "true", "{\"include_usage\":true}", "100", "200", "1",
	"\"chatcmpl-1\"", "{\"prompt_tokens\":1,\"total_tokens\":2}",
	"[{\"role\":\"user\",\"content\":\"hi\"}]", "\"p\"", "[\"a\",\"b\"]",
	"[]", "\"list\"", "1700000000", "0.5", "\"x\"", "\"y\"", "\"z\"",
	"null", "false",
};
#define N_NAMES (sizeof(all_names) / sizeof(all_names[0]))

static const struct {
	enum message_endpoint ep;
	enum envelope_dir dir;
	const char *plain[8];
} lists[] = {
	{ MESSAGE_CHAT, ENVELOPE_REQUEST, { "model", "stream",
	    "stream_options", "max_tokens", "max_completion_tokens", "n" } },
	{ MESSAGE_CHAT, ENVELOPE_RESPONSE, { "id", "usage" } },
	{ MESSAGE_COMPLETIONS, ENVELOPE_REQUEST, { "model", "stream",
	    "stream_options", "max_tokens", "n" } },
	{ MESSAGE_COMPLETIONS, ENVELOPE_RESPONSE, { "id", "usage" } },
	{ MESSAGE_EMBEDDINGS, ENVELOPE_REQUEST, { "model" } },
	{ MESSAGE_EMBEDDINGS, ENVELOPE_RESPONSE, { "usage" } },
};

static int
listed(int l, const char *name)
{
	int i;

	for (i = 0; i < 8 && lists[l].plain[i] != NULL; i++)
		if (strcmp(lists[l].plain[i], name) == 0)
			return 1;
	return 0;
}

static void
all_body(struct buf *b)
{
	size_t i;

	buf_init(b, BODY_MAX);
	ck_assert_int_eq(buf_putc(b, '{'), PS_OK);
	for (i = 0; i < N_NAMES; i++) {
		if (i > 0)
			ck_assert_int_eq(buf_putc(b, ','), PS_OK);
		ck_assert_int_eq(buf_putc(b, '"'), PS_OK);
		ck_assert_int_eq(buf_puts(b, all_names[i]), PS_OK);
		ck_assert_int_eq(buf_puts(b, "\":"), PS_OK);
		ck_assert_int_eq(buf_puts(b, all_values[i]), PS_OK);
	}
	ck_assert_int_eq(buf_putc(b, '}'), PS_OK);
}

START_TEST(test_is_plain)
{
	size_t i;

	for (i = 0; i < N_NAMES; i++) {
		const char *s = all_names[i];

		ck_assert_int_eq(message_is_plain(lists[_i].ep, lists[_i].dir,
		    s, strlen(s)), listed(_i, s));
	}
	ck_assert_int_eq(message_is_plain(lists[_i].ep, lists[_i].dir,
	    "model\0", 6), 0);
	ck_assert_int_eq(message_is_plain(lists[_i].ep, lists[_i].dir,
	    "usage", 4), 0);
	ck_assert_int_eq(message_is_plain(MESSAGE_MODELS, lists[_i].dir,
	    "messages", 8), 1);
}
END_TEST

START_TEST(test_allowlist)
{
	struct envelope_ctx c, c2;
	struct lookup_arg la = { 0 };
	struct buf body, sealed, opened, pt;
	size_t i, plain = 0;

	ctx_init(&c, lists[_i].dir);
	all_body(&body);
	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	buf_init(&pt, BODY_MAX);
	ck_assert_int_eq(seal_n(lists[_i].ep, &c, body.p, body.len, &sealed),
	    PS_OK);

	for (i = 0; i < N_NAMES; i++) {
		const char *v;
		size_t vn, ln = strlen(all_values[i]);
		uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];

		ck_assert(find_member(sealed.p, sealed.len, all_names[i], &v,
		    &vn));
		if (listed(_i, all_names[i])) {
			/* Byte for byte as it came. */
			ck_assert_uint_eq(vn, ln);
			ck_assert(memcmp(v, all_values[i], ln) == 0);
			plain++;
			continue;
		}
		ck_assert_uint_ge(vn, 2 + ENVELOPE_HEADER_LEN);
		ck_assert(memcmp(v, "\"ps1:", 5) == 0);
		ck_assert_int_eq(v[vn - 1], '"');
		ck_assert_int_eq(envelope_peek(v + 1, vn - 2, kid, nonce),
		    PS_OK);
		ck_assert(memcmp(kid, KID, sizeof(kid)) == 0);
		ck_assert(memcmp(nonce, NONCE, sizeof(nonce)) == 0);
		buf_reset(&pt);
		ck_assert_int_eq(envelope_open(&c, all_names[i],
		    strlen(all_names[i]), v + 1, vn - 2, &pt), PS_OK);
		ck_assert_uint_eq(pt.len, ln);
		ck_assert(memcmp(pt.p, all_values[i], ln) == 0);
	}
	for (i = 0; i < 8 && lists[_i].plain[i] != NULL; i++)
		;
	ck_assert_uint_eq(plain, i);

	/* Opened with the expected kid and nonce... */
	ck_assert_int_eq(open_b(lists[_i].ep, &c, NULL, &sealed, &opened),
	    PS_OK);
	ck_assert_uint_eq(opened.len, body.len);
	ck_assert(memcmp(opened.p, body.p, body.len) == 0);
	/* ...and with a lookup, which learns them. */
	memset(&c2, 0, sizeof(c2));
	c2.dir = lists[_i].dir;
	buf_reset(&opened);
	ck_assert_int_eq(open_b(lists[_i].ep, &c2, &la, &sealed, &opened),
	    PS_OK);
	ck_assert_int_eq(la.calls, 1);
	ck_assert(memcmp(la.seen, KID, sizeof(KID)) == 0);
	ck_assert(memcmp(c2.kid, KID, sizeof(KID)) == 0);
	ck_assert(memcmp(c2.nonce, NONCE, sizeof(NONCE)) == 0);
	ck_assert_ptr_null(c2.key);
	ck_assert_uint_eq(opened.len, body.len);
	ck_assert(memcmp(opened.p, body.p, body.len) == 0);
	/* The other direction's receiver refuses it. */
	c.dir = lists[_i].dir == ENVELOPE_REQUEST ? ENVELOPE_RESPONSE :
	    ENVELOPE_REQUEST;
	buf_reset(&opened);
	ck_assert_int_ne(open_b(lists[_i].ep, &c, NULL, &sealed, &opened),
	    PS_OK);
	ck_assert_uint_eq(opened.len, 0);

	buf_free(&body);
	buf_free(&sealed);
	buf_free(&opened);
	buf_free(&pt);
}
END_TEST

START_TEST(test_models)
{
	static const char *const bodies[] = {
		"{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\","
		    "\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"}]}",
		" {\n  \"object\" : \"list\",\n  \"data\" : [ ]\n}\n",
		"{}",
	};
	struct envelope_ctx c, c2;
	struct lookup_arg la = { 0 };
	struct buf out;
	size_t i;
	int d;

	buf_init(&out, BODY_MAX);
	for (d = 0; d < 2; d++) {
		enum envelope_dir dir = d ? ENVELOPE_RESPONSE :
		    ENVELOPE_REQUEST;

		ctx_init(&c, dir);
		for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			/* Passed through as they are, whitespace and all. */
			buf_reset(&out);
			ck_assert_int_eq(seal_s(MESSAGE_MODELS, &c, bodies[i],
			    &out), PS_OK);
			ck_assert(buf_is(&out, bodies[i]));
			buf_reset(&out);
			memset(&c2, 0, sizeof(c2));
			c2.dir = dir;
			ck_assert_int_eq(open_n(MESSAGE_MODELS, &c2, &la,
			    bodies[i], strlen(bodies[i]), &out), PS_OK);
			ck_assert(buf_is(&out, bodies[i]));
			ck_assert_int_eq(la.calls, 0);
		}
		buf_reset(&out);
		ck_assert_int_eq(seal_s(MESSAGE_MODELS, &c, "[]", &out),
		    PS_ERR_INVALID_JSON);
		ck_assert_int_eq(open_n(MESSAGE_MODELS, &c, NULL, "{\"a\":1",
		    6, &out), PS_ERR_INVALID_JSON);
		ck_assert_int_eq(open_n(MESSAGE_MODELS, &c, NULL,
		    "{\"a\":1,\"a\":1}", 13, &out), PS_ERR_INVALID_JSON);
		ck_assert_uint_eq(out.len, 0);
	}
	buf_free(&out);
}
END_TEST

/* ------------------------------------------------ known-answer vectors */

static const char *
vget(struct json_object *o, const char *k)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s", k);
	return json_object_get_string(v);
}

static void
hex_buf(const char *hex, struct buf *b)
{
	size_t n = strlen(hex);

	buf_init(b, BODY_MAX);
	ck_assert_int_eq(n % 2, 0);
	ck_assert_int_eq(buf_reserve(b, n / 2 + 1), PS_OK);
	if (n > 0)
		ck_assert_int_eq(codec_hex_decode(hex, n, (uint8_t *)b->p,
		    n / 2), PS_OK);
	b->len = n / 2;
}

static enum message_endpoint
ep_named(const char *s)
{
	if (strcmp(s, "chat") == 0)
		return MESSAGE_CHAT;
	if (strcmp(s, "completions") == 0)
		return MESSAGE_COMPLETIONS;
	if (strcmp(s, "embeddings") == 0)
		return MESSAGE_EMBEDDINGS;
	ck_assert_str_eq(s, "models");
	return MESSAGE_MODELS;
}

START_TEST(test_vectors)
{
	struct json_object *root, *vs, *o;
	uint8_t key[ENVELOPE_KEY_LEN], kid[ENVELOPE_KID_LEN];
	uint8_t nonce[ENVELOPE_NONCE_LEN];
	size_t i, n;
	int nok = 0, nfail = 0;

	root = json_object_from_file(TEST_SRCDIR "/vectors/message.json");
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(codec_hex_decode(vget(root, "key"), 64, key,
	    sizeof(key)), PS_OK);
	ck_assert_int_eq(codec_hex_decode(vget(root, "kid"), 32, kid,
	    sizeof(kid)), PS_OK);
	ck_assert_int_eq(codec_hex_decode(vget(root, "nonce"), 32, nonce,
	    sizeof(nonce)), PS_OK);
	ck_assert(json_object_object_get_ex(root, "vectors", &vs));
	n = json_object_array_length(vs);
	ck_assert_uint_ge(n, 30);
	for (i = 0; i < n; i++) {
		const char *comment, *result, *got;
		struct envelope_ctx c;
		struct buf sealed, plain, out;
		struct json_object *x;
		struct lookup_arg la = { 0 };
		enum message_endpoint ep;
		pserr rc;
		int pass;

		o = json_object_array_get_idx(vs, i);
		comment = vget(o, "comment");
		result = vget(o, "result");
		ep = ep_named(vget(o, "endpoint"));
		hex_buf(vget(o, "sealed"), &sealed);
		if (strcmp(result, "ok") == 0)
			hex_buf(vget(o, "plain"), &plain);
		else
			buf_init(&plain, 0);
		buf_init(&out, BODY_MAX);

		/* Once with the expected kid and nonce, once with a lookup. */
		for (pass = 0; pass < 2; pass++) {
			memset(&c, 0, sizeof(c));
			c.dir = strcmp(vget(o, "dir"), "request") == 0 ?
			    ENVELOPE_REQUEST : ENVELOPE_RESPONSE;
			ck_assert(json_object_object_get_ex(o, "msg", &x));
			c.msg = (uint32_t)json_object_get_int64(x);
			ck_assert(json_object_object_get_ex(o, "final", &x));
			c.final = json_object_get_boolean(x);
			if (pass == 0) {
				c.key = key;
				memcpy(c.kid, kid, sizeof(kid));
				memcpy(c.nonce, nonce, sizeof(nonce));
			}
			la.vkid = kid;
			la.vkey = key;
			ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
			rc = open_b(ep, &c, pass ? &la : NULL, &sealed, &out);
			got = rc == PS_OK ? "ok" : pserr_code(rc);
			ck_assert_msg(strcmp(got, result) == 0,
			    "%s (pass %d): got %s, want %s", comment, pass,
			    got, result);
			ck_assert(memcmp(out.p, "prefix", 6) == 0);
			if (rc != PS_OK) {
				ck_assert_uint_eq(out.len, 6);
			} else {
				ck_assert_msg(out.len == 6 + plain.len &&
				    memcmp(out.p + 6, plain.p, plain.len) == 0,
				    "%s: wrong plain body", comment);
				if (pass == 1 && ep != MESSAGE_MODELS) {
					ck_assert(memcmp(c.kid, kid, 16) == 0);
					ck_assert(memcmp(c.nonce, nonce,
					    16) == 0);
				}
			}
			buf_reset(&out);
		}
		if (rc == PS_OK)
			nok++;
		else
			nfail++;
		buf_free(&sealed);
		buf_free(&plain);
		buf_free(&out);
	}
	ck_assert_int_ge(nok, 10);
	ck_assert_int_ge(nfail, 20);
	json_object_put(root);
}
END_TEST

/* ------------------------------------------------------------ contents */

START_TEST(test_every_type)
{
	static const char *const values[] = {
		"\"text \\\"q\\\" \\\\ \\u00e9 \\ud83d\\ude00 \\n\"", "\"\"",
		"42", "-1.5e-3", "0", "true", "false", "null",
		"{\"a\":{\"b\":[1,2,{\"c\":null}]}}", "{}", "{ }",
		"[1,\"two\",3.0,true,false,null,[],{}]", "[]", "[ ]",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "1E+400",
	};
	struct envelope_ctx c;
	struct buf body, sealed, opened, pt;
	size_t i;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&body, BODY_MAX);
	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	buf_init(&pt, BODY_MAX);
	ck_assert_int_eq(buf_putc(&body, '{'), PS_OK);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "v%zu", i);
		ck_assert_int_eq(buf_putc(&body, '"'), PS_OK);
		ck_assert_int_eq(buf_puts(&body, name), PS_OK);
		ck_assert_int_eq(buf_puts(&body, "\":"), PS_OK);
		ck_assert_int_eq(buf_puts(&body, values[i]), PS_OK);
		if (i + 1 < sizeof(values) / sizeof(values[0]))
			ck_assert_int_eq(buf_putc(&body, ','), PS_OK);
	}
	ck_assert_int_eq(buf_putc(&body, '}'), PS_OK);
	ck_assert_int_eq(jscan_value(body.p, body.len, 512), PS_OK);

	ck_assert_int_eq(seal_n(MESSAGE_CHAT, &c, body.p, body.len, &sealed),
	    PS_OK);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char name[16];
		const char *v;
		size_t vn;

		snprintf(name, sizeof(name), "v%zu", i);
		ck_assert(find_member(sealed.p, sealed.len, name, &v, &vn));
		ck_assert(memcmp(v, "\"ps1:", 5) == 0);
		buf_reset(&pt);
		ck_assert_int_eq(envelope_open(&c, name, strlen(name), v + 1,
		    vn - 2, &pt), PS_OK);
		ck_assert(buf_is(&pt, values[i]));
	}
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &sealed, &opened),
	    PS_OK);
	ck_assert_uint_eq(opened.len, body.len);
	ck_assert(memcmp(opened.p, body.p, body.len) == 0);
	buf_free(&body);
	buf_free(&sealed);
	buf_free(&opened);
	buf_free(&pt);
}
END_TEST

START_TEST(test_names)
{
	/* Raw UTF-8, escapes, a surrogate pair, an escaped quote, an escaped
	 * NUL, and an escaped spelling of an allowlisted name. */
	static const char body[] =
	    "{\"m\xc3\xa9ssages\":1,\"\\u00e9t\\u00e9\":2,"
	    "\"\\ud83d\\ude00\":3,\"a\\\"b\":4,\"nul\\u0000\":5,"
	    "\"mod\\u0065l\":\"gpt\",\"\":7}";
	static const struct {
		const char *raw;
		const char *name;
		size_t name_len;
		int plain;
	} want[] = {
		{ "m\xc3\xa9ssages", "m\xc3\xa9ssages", 9, 0 },
		{ "\\u00e9t\\u00e9", "\xc3\xa9t\xc3\xa9", 5, 0 },
		{ "\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4, 0 },
		{ "a\\\"b", "a\"b", 3, 0 },
		{ "nul\\u0000", "nul\0", 4, 0 },
		{ "mod\\u0065l", "model", 5, 1 },
		{ "", "", 0, 0 },
	};
	struct envelope_ctx c;
	struct buf sealed, opened, pt;
	size_t i;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	buf_init(&pt, BODY_MAX);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c, body, &sealed), PS_OK);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *v;
		size_t vn;

		/* The name goes out as it came in. */
		ck_assert_msg(find_member(sealed.p, sealed.len, want[i].raw,
		    &v, &vn), "no member %zu", i);
		if (want[i].plain) {
			ck_assert_uint_eq(vn, 5);
			ck_assert(memcmp(v, "\"gpt\"", 5) == 0);
			continue;
		}
		/* The AAD holds the unescaped UTF-8 name, not the raw one. */
		buf_reset(&pt);
		ck_assert_int_eq(envelope_open(&c, want[i].name,
		    want[i].name_len, v + 1, vn - 2, &pt), PS_OK);
		ck_assert_uint_eq(pt.len, 1);
		ck_assert_int_eq(pt.p[0], (char)('1' + i));
		if (strcmp(want[i].raw, want[i].name) != 0) {
			buf_reset(&pt);
			ck_assert_int_eq(envelope_open(&c, want[i].raw,
			    strlen(want[i].raw), v + 1, vn - 2, &pt),
			    PS_ERR_DECRYPT);
		}
	}
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &sealed, &opened),
	    PS_OK);
	ck_assert(buf_is(&opened, body));
	buf_free(&sealed);
	buf_free(&opened);
	buf_free(&pt);
}
END_TEST

START_TEST(test_whitespace)
{
	struct envelope_ctx c;
	struct buf sealed, opened;
	const char *v;
	size_t vn;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c,
	    "\r\n { \"model\" :\t\"x\" ,\n \"messages\" : [ 1 , 2 ] }\n ",
	    &sealed), PS_OK);
	ck_assert(memcmp(sealed.p, "{\"model\":\"x\",\"messages\":\"ps1:",
	    29) == 0);
	ck_assert_uint_eq(sealed.len, strlen("{\"model\":\"x\",\"messages\":"
	    "\"\"}") + envelope_text_len(strlen("[ 1 , 2 ]")));
	ck_assert(find_member(sealed.p, sealed.len, "messages", &v, &vn));
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &sealed, &opened),
	    PS_OK);
	ck_assert(buf_is(&opened, "{\"model\":\"x\",\"messages\":[ 1 , 2 ]}"));
	/* An empty object stays one. */
	buf_reset(&sealed);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c, " { } ", &sealed), PS_OK);
	ck_assert(buf_is(&sealed, "{}"));
	buf_free(&sealed);
	buf_free(&opened);
}
END_TEST

START_TEST(test_context_fields)
{
	struct envelope_ctx c;
	struct buf sealed, opened;

	ctx_init(&c, ENVELOPE_RESPONSE);
	c.msg = 7;
	c.final = 1;
	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	ck_assert_int_eq(seal_s(MESSAGE_COMPLETIONS, &c,
	    "{\"id\":\"c\",\"choices\":[]}", &sealed), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_COMPLETIONS, &c, NULL, &sealed,
	    &opened), PS_OK);
	ck_assert(buf_is(&opened, "{\"id\":\"c\",\"choices\":[]}"));
	c.final = 0;
	ck_assert_int_eq(open_b(MESSAGE_COMPLETIONS, &c, NULL, &sealed,
	    &opened), PS_ERR_DECRYPT);
	c.final = 1;
	c.msg = 8;
	ck_assert_int_eq(open_b(MESSAGE_COMPLETIONS, &c, NULL, &sealed,
	    &opened), PS_ERR_DECRYPT);
	c.msg = 7;
	c.key = KEY2;
	ck_assert_int_eq(open_b(MESSAGE_COMPLETIONS, &c, NULL, &sealed,
	    &opened), PS_ERR_DECRYPT);
	ck_assert_uint_eq(opened.len, strlen("{\"id\":\"c\",\"choices\":[]}"));
	buf_free(&sealed);
	buf_free(&opened);
}
END_TEST

/* A 1 MiB prompt with the escapes and UTF-8 of real text. */
START_TEST(test_large_prompt)
{
	static const char head[] = "{\"model\":\"gpt-4o\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"";
	static const char tail[] = "\"}],\"max_tokens\":16}";
	size_t n = 1 << 20, i, vlen;
	struct envelope_ctx c, c2;
	struct lookup_arg la = { 0 };
	struct buf body, sealed, opened;
	const char *v;
	size_t vn;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&body, BODY_MAX);
	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	ck_assert_int_eq(buf_puts(&body, head), PS_OK);
	for (i = 0; body.len < n - sizeof(tail); i++) {
		if (i % 97 == 96)
			ck_assert_int_eq(buf_puts(&body, "\\n"), PS_OK);
		else if (i % 1009 == 1008)
			ck_assert_int_eq(buf_puts(&body, "\xc3\xa9"), PS_OK);
		else if (i % 4099 == 4098)
			ck_assert_int_eq(buf_puts(&body, "\\\""), PS_OK);
		else
			ck_assert_int_eq(buf_putc(&body, (char)('a' + i % 26)),
			    PS_OK);
	}
	ck_assert_int_eq(buf_puts(&body, tail), PS_OK);
	ck_assert_uint_ge(body.len, n - 8);

	ck_assert_int_eq(seal_n(MESSAGE_CHAT, &c, body.p, body.len, &sealed),
	    PS_OK);
	vlen = body.len - strlen(head) - strlen(tail) + strlen("[{\"role\":"
	    "\"user\",\"content\":\"\"}]");
	ck_assert_uint_eq(sealed.len, strlen("{\"model\":\"gpt-4o\","
	    "\"messages\":\"\",\"max_tokens\":16}") + envelope_text_len(vlen));
	ck_assert(find_member(sealed.p, sealed.len, "max_tokens", &v, &vn));
	ck_assert_uint_eq(vn, 2);

	memset(&c2, 0, sizeof(c2));
	c2.dir = ENVELOPE_REQUEST;
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &sealed, &opened),
	    PS_OK);
	ck_assert_uint_eq(opened.len, body.len);
	ck_assert(memcmp(opened.p, body.p, body.len) == 0);
	buf_free(&body);
	buf_free(&sealed);
	buf_free(&opened);
}
END_TEST

/* ---------------------------------------------------------- tampering */

START_TEST(test_direction)
{
	static const struct {
		enum message_endpoint ep;
		const char *body;
	} cases[] = {
		{ MESSAGE_CHAT, "{\"messages\":[{\"role\":\"user\"}],"
		    "\"tools\":[]}" },
		{ MESSAGE_COMPLETIONS, "{\"prompt\":\"p\"}" },
		{ MESSAGE_EMBEDDINGS, "{\"input\":\"x\",\"data\":[]}" },
	};
	struct envelope_ctx c;
	struct buf sealed, out;
	size_t i;
	int d;

	buf_init(&sealed, BODY_MAX);
	buf_init(&out, BODY_MAX);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (d = 0; d < 2; d++) {
			ctx_init(&c, d ? ENVELOPE_RESPONSE : ENVELOPE_REQUEST);
			buf_reset(&sealed);
			ck_assert_int_eq(seal_s(cases[i].ep, &c, cases[i].body,
			    &sealed), PS_OK);
			ck_assert_int_eq(open_b(cases[i].ep, &c, NULL, &sealed,
			    &out), PS_OK);
			ck_assert(buf_is(&out, cases[i].body));
			buf_reset(&out);
			/* Reflected back in the other direction. */
			c.dir = d ? ENVELOPE_REQUEST : ENVELOPE_RESPONSE;
			ck_assert_int_eq(open_b(cases[i].ep, &c, NULL, &sealed,
			    &out), PS_ERR_DECRYPT);
			ck_assert_uint_eq(out.len, 0);
		}
	}
	buf_free(&sealed);
	buf_free(&out);
}
END_TEST

START_TEST(test_swap)
{
	struct envelope_ctx c;
	struct buf sealed, moved, out;
	const char *va, *vb;
	size_t na, nb;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&sealed, BODY_MAX);
	buf_init(&moved, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c,
	    "{\"messages\":\"a\",\"tools\":\"b\"}", &sealed), PS_OK);
	ck_assert(find_member(sealed.p, sealed.len, "messages", &va, &na));
	ck_assert(find_member(sealed.p, sealed.len, "tools", &vb, &nb));

	/* Values swapped between the two names. */
	ck_assert_int_eq(buf_puts(&moved, "{\"messages\":"), PS_OK);
	ck_assert_int_eq(buf_append(&moved, vb, nb), PS_OK);
	ck_assert_int_eq(buf_puts(&moved, ",\"tools\":"), PS_OK);
	ck_assert_int_eq(buf_append(&moved, va, na), PS_OK);
	ck_assert_int_eq(buf_putc(&moved, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &moved, &out),
	    PS_ERR_DECRYPT);
	ck_assert_uint_eq(out.len, 0);

	/* Members reordered keep their names: that is fine. */
	buf_reset(&moved);
	ck_assert_int_eq(buf_puts(&moved, "{\"tools\":"), PS_OK);
	ck_assert_int_eq(buf_append(&moved, vb, nb), PS_OK);
	ck_assert_int_eq(buf_puts(&moved, ",\"messages\":"), PS_OK);
	ck_assert_int_eq(buf_append(&moved, va, na), PS_OK);
	ck_assert_int_eq(buf_putc(&moved, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &moved, &out), PS_OK);
	ck_assert(buf_is(&out, "{\"tools\":\"b\",\"messages\":\"a\"}"));
	buf_reset(&out);

	/* A value renamed, also by an escaped spelling of another name. */
	buf_reset(&moved);
	ck_assert_int_eq(buf_puts(&moved, "{\"prompt\":"), PS_OK);
	ck_assert_int_eq(buf_append(&moved, va, na), PS_OK);
	ck_assert_int_eq(buf_putc(&moved, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &moved, &out),
	    PS_ERR_DECRYPT);
	buf_reset(&moved);
	ck_assert_int_eq(buf_puts(&moved, "{\"tool\\u0073\":"), PS_OK);
	ck_assert_int_eq(buf_append(&moved, vb, nb), PS_OK);
	ck_assert_int_eq(buf_putc(&moved, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &moved, &out), PS_OK);
	ck_assert(buf_is(&out, "{\"tool\\u0073\":\"b\"}"));
	buf_free(&sealed);
	buf_free(&moved);
	buf_free(&out);
}
END_TEST

START_TEST(test_other_message)
{
	struct envelope_ctx c, c1, cn, ck, c2;
	struct lookup_arg la = { 0 };
	struct buf b, out;

	ctx_init(&c, ENVELOPE_RESPONSE);
	c1 = c;
	c1.msg = 1;
	cn = c;
	memcpy(cn.nonce, NONCE2, sizeof(NONCE2));
	ck = c;
	ck.key = KEY2;
	memcpy(ck.kid, KID2, sizeof(KID2));
	buf_init(&out, BODY_MAX);
	memset(&c2, 0, sizeof(c2));
	c2.dir = ENVELOPE_RESPONSE;

	/* From another event of the same exchange. */
	one_env_body(&b, &c1, "choices", "[]", 2);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_DECRYPT);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_DECRYPT);
	buf_free(&b);
	/* From another exchange. */
	one_env_body(&b, &cn, "choices", "[]", 2);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	/* Checked before any later member: a plain member after it does not
	 * decide the error. */
	buf_free(&b);
	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"choices\":"), PS_OK);
	put_env(&b, &cn, "choices", "[]", 2);
	ck_assert_int_eq(buf_puts(&b, ",\"object\":1}"), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	buf_free(&b);
	/* Under another kid than the request's. */
	one_env_body(&b, &ck, "choices", "[]", 2);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	/* ...which a worker with that kid's key does open. */
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out), PS_OK);
	ck_assert(buf_is(&out, "{\"choices\":[]}"));
	ck_assert(memcmp(c2.kid, KID2, sizeof(KID2)) == 0);
	buf_reset(&out);
	buf_free(&b);

	/* Members of one body mixing events, nonces or kids. */
	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"choices\":"), PS_OK);
	put_env(&b, &c, "choices", "[]", 2);
	ck_assert_int_eq(buf_puts(&b, ",\"object\":"), PS_OK);
	put_env(&b, &c1, "object", "1", 1);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_DECRYPT);
	memset(&c2, 0, sizeof(c2));
	c2.dir = ENVELOPE_RESPONSE;
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_DECRYPT);
	buf_free(&b);

	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"choices\":"), PS_OK);
	put_env(&b, &c, "choices", "[]", 2);
	ck_assert_int_eq(buf_puts(&b, ",\"object\":"), PS_OK);
	put_env(&b, &cn, "object", "1", 1);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	la.calls = 0;
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(la.calls, 0);
	buf_free(&b);

	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"choices\":"), PS_OK);
	put_env(&b, &ck, "choices", "[]", 2);
	ck_assert_int_eq(buf_puts(&b, ",\"object\":"), PS_OK);
	put_env(&b, &c, "object", "1", 1);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert_int_eq(la.calls, 0);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&b);
	buf_free(&out);
}
END_TEST

START_TEST(test_plaintext_member)
{
	static const struct {
		const char *value;
		pserr rc;
	} cases[] = {
		{ "1", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"hello\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "{\"a\":\"ps1:\"}", PS_ERR_PLAINTEXT_MEMBER },
		{ "[\"ps1:\"]", PS_ERR_PLAINTEXT_MEMBER },
		{ "null", PS_ERR_PLAINTEXT_MEMBER },
		{ "true", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"ps1\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"PS1:x\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\" ps1:x\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"ps2:x\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"\\\\ps1:x\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"\\u0070s\"", PS_ERR_PLAINTEXT_MEMBER },
		{ "\"\\u0070s1:x\"", PS_ERR_INVALID_ENVELOPE },
		{ "\"ps1\\u003ax\"", PS_ERR_INVALID_ENVELOPE },
		{ "\"ps1:\"", PS_ERR_INVALID_ENVELOPE },
		{ "\"ps1:garbage\"", PS_ERR_INVALID_ENVELOPE },
		{ "\"ps1:\\n\"", PS_ERR_INVALID_ENVELOPE },
	};
	struct envelope_ctx c, c2;
	struct lookup_arg la = { 0 };
	struct buf b, out;
	size_t i;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&out, BODY_MAX);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Alone, and after a good envelope. */
		buf_init(&b, BODY_MAX);
		ck_assert_int_eq(buf_puts(&b, "{\"model\":\"m\",\"messages\":"),
		    PS_OK);
		ck_assert_int_eq(buf_puts(&b, cases[i].value), PS_OK);
		ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
		ck_assert_msg(open_b(MESSAGE_CHAT, &c, NULL, &b, &out) ==
		    cases[i].rc, "case %zu", i);
		buf_free(&b);

		buf_init(&b, BODY_MAX);
		ck_assert_int_eq(buf_puts(&b, "{\"tools\":"), PS_OK);
		put_env(&b, &c, "tools", "[]", 2);
		ck_assert_int_eq(buf_puts(&b, ",\"messages\":"), PS_OK);
		ck_assert_int_eq(buf_puts(&b, cases[i].value), PS_OK);
		ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
		memset(&c2, 0, sizeof(c2));
		c2.dir = ENVELOPE_REQUEST;
		ck_assert_msg(open_b(MESSAGE_CHAT, &c2, &la, &b, &out) ==
		    cases[i].rc, "case %zu after an envelope", i);
		ck_assert_int_eq(la.calls, 0);
		ck_assert_uint_eq(out.len, 0);
		buf_free(&b);
	}
	buf_free(&out);
}
END_TEST

/* A good envelope with bytes of its text changed inside the JSON string. */
START_TEST(test_envelope_escapes)
{
	struct envelope_ctx c;
	struct buf b, bad, out;
	const char *v;
	size_t vn, k;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&out, BODY_MAX);
	one_env_body(&b, &c, "messages", "\"hi\"", 4);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out), PS_OK);
	buf_reset(&out);
	ck_assert(find_member(b.p, b.len, "messages", &v, &vn));
	/* One character written as \u00XX: same string, but not an
	 * envelope text, at every kind of position. */
	for (k = 5; k + 1 < vn; k += 7) {
		char esc[8];

		buf_init(&bad, BODY_MAX);
		ck_assert_int_eq(buf_append(&bad, b.p, (size_t)(v - b.p) + k),
		    PS_OK);
		snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)v[k]);
		ck_assert_int_eq(buf_puts(&bad, esc), PS_OK);
		ck_assert_int_eq(buf_append(&bad, v + k + 1,
		    b.len - (size_t)(v - b.p) - k - 1), PS_OK);
		ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &bad, &out),
		    PS_ERR_INVALID_ENVELOPE);
		ck_assert_uint_eq(out.len, 0);
		buf_free(&bad);
	}
	/* A \/ inserted. */
	buf_init(&bad, BODY_MAX);
	ck_assert_int_eq(buf_append(&bad, b.p, (size_t)(v - b.p) + 40), PS_OK);
	ck_assert_int_eq(buf_puts(&bad, "\\/"), PS_OK);
	ck_assert_int_eq(buf_append(&bad, v + 40, b.len - (size_t)(v - b.p) -
	    40), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &bad, &out),
	    PS_ERR_INVALID_ENVELOPE);
	buf_free(&bad);
	buf_free(&b);
	buf_free(&out);
}
END_TEST

static const char *const bad_plaintexts[] = {
	"1 2", "{\"a\":1}x", "", " ", "\n\t", "[1,", "1,\"model\":\"x\"",
	"\"\\ud800\"", "\"\xff\"", "\"\xc0\xaf\"", "nul", "\"a", "}", "1}",
	"[1]]", "{\"a\":1},{\"b\":2}", "\"\x01\"", "01", "'a'", "NaN",
	"\xef\xbb\xbf" "1",
};

START_TEST(test_plaintext_not_one_value)
{
	struct envelope_ctx c, c2;
	struct lookup_arg la = { 0 };
	struct buf b, out;
	const char *pt = bad_plaintexts[_i];

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	one_env_body(&b, &c, "messages", pt, strlen(pt));
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert(buf_is(&out, "prefix"));
	memset(&c2, 0, sizeof(c2));
	c2.dir = ENVELOPE_REQUEST;
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert(buf_is(&out, "prefix"));
	/* c learns nothing from a failed open. */
	ck_assert(memcmp(c2.kid, (uint8_t[ENVELOPE_KID_LEN]){ 0 }, 16) == 0);
	buf_free(&b);
	buf_free(&out);
}
END_TEST

START_TEST(test_plaintext_edges)
{
	struct envelope_ctx c;
	struct buf b, out;
	size_t i;
	char *deep = malloc(1024);

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&out, BODY_MAX);
	/* Whitespace around one value is still one value, spliced as is. */
	one_env_body(&b, &c, "messages", " 1 ", 3);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out), PS_OK);
	ck_assert(buf_is(&out, "{\"messages\": 1 }"));
	buf_reset(&out);
	buf_free(&b);
	/* A plaintext's depth counts with the object it goes into. */
	ck_assert_ptr_nonnull(deep);
	for (i = 0; i < 511; i++) {
		deep[i] = '[';
		deep[511 + i] = ']';
	}
	one_env_body(&b, &c, "messages", deep, 1022);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out), PS_OK);
	ck_assert_int_eq(jscan_value(out.p, out.len, JSCAN_MAX_DEPTH), PS_OK);
	buf_reset(&out);
	buf_free(&b);
	memmove(deep + 1, deep, 1022);
	deep[0] = '[';
	deep[1023] = ']';
	one_env_body(&b, &c, "messages", deep, 1024);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&b);
	free(deep);
	buf_free(&out);
}
END_TEST

static const char *const bad_bodies[] = {
	"", " ", "{", "}", "{\"messages\":1", "{\"messages\":",
	"{\"messages\"", "{\"a\":1}x", "{\"a\":1} {}", "{}{}", "[]",
	"[{\"a\":1}]", "\"s\"", "1", "null", "true", "{\"a\":1,}",
	"{,\"a\":1}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
	"{\"a\":\"\x01\"}",
	"{\"a\":\"\n\"}", "{\"a\":\"\\ud800\"}", "{\"\\udc00\":1}",
	"{\"a\":\"\xff\"}", "{\"\xc3\":1}", "{\"a\":01}", "{\"a\":.5}",
	"{\"a\":tru}", "{\"a\":NaN}", "{\"a\":'x'}", "{a:1}", "\xef\xbb\xbf{}",
	"{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}",
	"{\"model\":\"x\",\"model\":\"y\"}", "{\"\":1,\"\":2}",
	"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	"{\"m1\":1,\"m2\":2,\"m3\":3,\"m4\":4,\"m5\":5,\"m6\":6,\"m7\":7,"
	    "\"m8\":8,\"m9\":9,\"m10\":10,\"m11\":11,\"m12\":12,\"m1\":13}",
	"{\"x\":1,\"m2\":2,\"m3\":3,\"m4\":4,\"m5\":5,\"m6\":6,\"m7\":7,"
	    "\"m8\":8,\"m9\":9,\"m10\":10,\"m11\":11,\"m12\":12,\"m\\u0031\":1,"
	    "\"m1\":13}",
};

START_TEST(test_invalid_json)
{
	const char *s = bad_bodies[_i];
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct buf out;
	int d;

	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	for (d = 0; d < 2; d++) {
		enum message_endpoint ep = d ? MESSAGE_EMBEDDINGS :
		    MESSAGE_CHAT;

		ctx_init(&c, d ? ENVELOPE_RESPONSE : ENVELOPE_REQUEST);
		ck_assert_msg(seal_s(ep, &c, s, &out) == PS_ERR_INVALID_JSON,
		    "seal accepted body #%d", _i);
		ck_assert_msg(open_n(ep, &c, NULL, s, strlen(s), &out) ==
		    PS_ERR_INVALID_JSON, "open accepted body #%d", _i);
		ck_assert_msg(open_n(ep, &c, &la, s, strlen(s), &out) ==
		    PS_ERR_INVALID_JSON, "open accepted body #%d", _i);
		ck_assert_int_eq(la.calls, 0);
		ck_assert(buf_is(&out, "prefix"));
	}
	buf_free(&out);
}
END_TEST

START_TEST(test_invalid_json_deep)
{
	struct envelope_ctx c;
	struct buf b, out;
	size_t i;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&b, BODY_MAX);
	buf_init(&out, BODY_MAX);
	/* 512 levels in all is fine, 513 is not. */
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	for (i = 0; i < 511; i++)
		ck_assert_int_eq(buf_putc(&b, '['), PS_OK);
	for (i = 0; i < 511; i++)
		ck_assert_int_eq(buf_putc(&b, ']'), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(seal_n(MESSAGE_CHAT, &c, b.p, b.len, &out), PS_OK);
	buf_reset(&out);
	buf_reset(&b);
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	for (i = 0; i < 512; i++)
		ck_assert_int_eq(buf_putc(&b, '['), PS_OK);
	for (i = 0; i < 512; i++)
		ck_assert_int_eq(buf_putc(&b, ']'), PS_OK);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(seal_n(MESSAGE_CHAT, &c, b.p, b.len, &out),
	    PS_ERR_INVALID_JSON);
	ck_assert_int_eq(open_n(MESSAGE_CHAT, &c, NULL, b.p, b.len, &out),
	    PS_ERR_INVALID_JSON);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&b);
	buf_free(&out);
}
END_TEST

START_TEST(test_many_members)
{
	struct envelope_ctx c;
	struct buf b, sealed, out;
	size_t i;

	/* Enough members to take the sorted duplicate check, names that are
	 * prefixes of one another, and no duplicate: all accepted. */
	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&b, BODY_MAX);
	buf_init(&sealed, BODY_MAX);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"model\":\"m\""), PS_OK);
	for (i = 0; i < 300; i++) {
		char m[32];

		/* k1, k10, k100, ...: each a prefix of later ones. */
		snprintf(m, sizeof(m), ",\"k%zu\":%zu", i, i);
		ck_assert_int_eq(buf_puts(&b, m), PS_OK);
	}
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(seal_n(MESSAGE_CHAT, &c, b.p, b.len, &sealed), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &sealed, &out), PS_OK);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert(memcmp(out.p, b.p, b.len) == 0);
	buf_free(&b);
	buf_free(&sealed);
	buf_free(&out);
}
END_TEST

/* --------------------------------------------------------- key lookup */

START_TEST(test_lookup_errors)
{
	static const pserr errs[] = { PS_ERR_UNKNOWN_KEY, PS_ERR_NO_KEY };
	struct envelope_ctx c, c2;
	struct lookup_arg la = { 0 };
	struct buf b, out;
	size_t i;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&out, BODY_MAX);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	one_env_body(&b, &c, "messages", "[]", 2);
	for (i = 0; i < 2; i++) {
		memset(&c2, 0, sizeof(c2));
		c2.dir = ENVELOPE_REQUEST;
		la.rc = errs[i];
		la.calls = 0;
		ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
		    errs[i]);
		ck_assert_int_eq(la.calls, 1);
		ck_assert(memcmp(la.seen, KID, sizeof(KID)) == 0);
		ck_assert(buf_is(&out, "prefix"));
		ck_assert(memcmp(c2.kid, (uint8_t[ENVELOPE_KID_LEN]){ 0 },
		    16) == 0);
	}
	buf_free(&b);
	/* A kid the lookup does not know. */
	c.key = KEY2;
	memset(c.kid, 0x42, sizeof(c.kid));
	one_env_body(&b, &c, "messages", "[]", 2);
	la.rc = PS_OK;
	memset(&c2, 0, sizeof(c2));
	c2.dir = ENVELOPE_REQUEST;
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_UNKNOWN_KEY);
	/* A key that does not fit the kid. */
	memcpy(c.kid, KID, sizeof(KID));
	buf_free(&b);
	one_env_body(&b, &c, "messages", "[]", 2);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c2, &la, &b, &out),
	    PS_ERR_DECRYPT);
	ck_assert(buf_is(&out, "prefix"));
	buf_free(&b);
	buf_free(&out);
}
END_TEST

START_TEST(test_no_envelope)
{
	static const struct {
		enum message_endpoint ep;
		enum envelope_dir dir;
		const char *body;
	} cases[] = {
		{ MESSAGE_CHAT, ENVELOPE_REQUEST, "{\"model\":\"m\"}" },
		{ MESSAGE_CHAT, ENVELOPE_REQUEST, "{}" },
		{ MESSAGE_CHAT, ENVELOPE_RESPONSE,
		    "{\"id\":\"x\",\"usage\":{}}" },
		{ MESSAGE_CHAT, ENVELOPE_RESPONSE, " { } " },
		{ MESSAGE_EMBEDDINGS, ENVELOPE_REQUEST, "{\"model\":\"m\"}" },
		{ MESSAGE_EMBEDDINGS, ENVELOPE_RESPONSE, "{\"usage\":null}" },
	};
	struct envelope_ctx c;
	struct lookup_arg la = { 0 };
	struct buf out;
	size_t i;

	buf_init(&out, BODY_MAX);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctx_init(&c, cases[i].dir);
		ck_assert_int_eq(open_n(cases[i].ep, &c, NULL, cases[i].body,
		    strlen(cases[i].body), &out), PS_ERR_INVALID_ENVELOPE);
		ck_assert_int_eq(open_n(cases[i].ep, &c, &la, cases[i].body,
		    strlen(cases[i].body), &out), PS_ERR_INVALID_ENVELOPE);
		ck_assert_int_eq(la.calls, 0);
		ck_assert_uint_eq(out.len, 0);
		/* Sealing such a body is not refused: nothing to seal. */
		ck_assert_int_eq(seal_s(cases[i].ep, &c, cases[i].body, &out),
		    PS_OK);
		buf_reset(&out);
	}
	buf_free(&out);
}
END_TEST

/* ----------------------------------------------------- failure hygiene */

static int
holds(const struct buf *b, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; b->p != NULL && i + n <= b->cap; i++)
		if (memcmp(b->p + i, s, n) == 0)
			return 1;
	return 0;
}

START_TEST(test_failure_wipes)
{
	static const char secret[] = "\"SECRET-MARKER-1234\"";
	struct envelope_ctx c;
	struct buf b, out;
	const char *v;
	size_t vn;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&out, BODY_MAX);
	/* The first member decrypts, the second does not authenticate. */
	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	put_env(&b, &c, "messages", secret, strlen(secret));
	ck_assert_int_eq(buf_puts(&b, ",\"tools\":"), PS_OK);
	put_env(&b, &c, "prompt", "1", 1);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_DECRYPT);
	ck_assert(buf_is(&out, "prefix"));
	ck_assert(!holds(&out, "SECRET-MARKER"));
	buf_free(&b);

	/* The second decrypts to something that is not one value. */
	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	put_env(&b, &c, "messages", secret, strlen(secret));
	ck_assert_int_eq(buf_puts(&b, ",\"tools\":"), PS_OK);
	put_env(&b, &c, "tools", "1 \"SECRET-MARKER-2\"", 19);
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert(buf_is(&out, "prefix"));
	ck_assert(!holds(&out, "SECRET-MARKER"));
	buf_free(&b);

	/* The second has a bad character deep in its ciphertext. */
	buf_init(&b, BODY_MAX);
	ck_assert_int_eq(buf_puts(&b, "{\"messages\":"), PS_OK);
	put_env(&b, &c, "messages", secret, strlen(secret));
	ck_assert_int_eq(buf_puts(&b, ",\"tools\":"), PS_OK);
	put_env(&b, &c, "tools", secret, strlen(secret));
	ck_assert_int_eq(buf_putc(&b, '}'), PS_OK);
	ck_assert(find_member(b.p, b.len, "tools", &v, &vn));
	b.p[(size_t)(v - b.p) + vn - 5] = '.';
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &b, &out),
	    PS_ERR_INVALID_ENVELOPE);
	ck_assert(buf_is(&out, "prefix"));
	ck_assert(!holds(&out, "SECRET-MARKER"));
	buf_free(&b);
	buf_free(&out);
}
END_TEST

START_TEST(test_too_large)
{
	static const char body[] = "{\"model\":\"m\",\"messages\":\"hello\"}";
	struct envelope_ctx c;
	struct buf sealed, out;
	size_t need;

	ctx_init(&c, ENVELOPE_REQUEST);
	buf_init(&sealed, BODY_MAX);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c, body, &sealed), PS_OK);
	need = sealed.len;

	/* Seal into a buffer one byte short, then just big enough. */
	buf_init(&out, 6 + need - 1);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c, body, &out),
	    PS_ERR_TOO_LARGE);
	ck_assert(buf_is(&out, "prefix"));
	buf_free(&out);
	buf_init(&out, 6 + need);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	ck_assert_int_eq(seal_s(MESSAGE_CHAT, &c, body, &out), PS_OK);
	buf_free(&out);

	buf_init(&out, 6 + strlen(body) - 1);
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &sealed, &out),
	    PS_ERR_TOO_LARGE);
	ck_assert(buf_is(&out, "prefix"));
	buf_free(&out);
	buf_init(&out, 6 + strlen(body));
	ck_assert_int_eq(buf_puts(&out, "prefix"), PS_OK);
	ck_assert_int_eq(open_b(MESSAGE_CHAT, &c, NULL, &sealed, &out), PS_OK);
	ck_assert_uint_eq(out.len, 6 + strlen(body));
	buf_free(&out);
	buf_free(&sealed);
}
END_TEST

static Suite *
message_suite(void)
{
	Suite *s = suite_create("message");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_route, 0,
	    (int)(sizeof(routes) / sizeof(routes[0])));
	tcase_add_test(tc, test_route_null);
	tcase_add_loop_test(tc, test_is_plain, 0,
	    (int)(sizeof(lists) / sizeof(lists[0])));
	tcase_add_loop_test(tc, test_allowlist, 0,
	    (int)(sizeof(lists) / sizeof(lists[0])));
	tcase_add_test(tc, test_models);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_every_type);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_context_fields);
	tcase_add_test(tc, test_large_prompt);
	tcase_add_test(tc, test_direction);
	tcase_add_test(tc, test_swap);
	tcase_add_test(tc, test_other_message);
	tcase_add_test(tc, test_plaintext_member);
	tcase_add_test(tc, test_envelope_escapes);
	tcase_add_loop_test(tc, test_plaintext_not_one_value, 0,
	    (int)(sizeof(bad_plaintexts) / sizeof(bad_plaintexts[0])));
	tcase_add_test(tc, test_plaintext_edges);
	tcase_add_loop_test(tc, test_invalid_json, 0,
	    (int)(sizeof(bad_bodies) / sizeof(bad_bodies[0])));
	tcase_add_test(tc, test_invalid_json_deep);
	tcase_add_test(tc, test_many_members);
	tcase_add_test(tc, test_lookup_errors);
	tcase_add_test(tc, test_no_envelope);
	tcase_add_test(tc, test_failure_wipes);
	tcase_add_test(tc, test_too_large);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(message_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
