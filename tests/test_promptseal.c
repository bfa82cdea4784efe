/* SPDX-License-Identifier: ISC */
/*
 * The public library, through its installed interface only: this suite
 * links libpromptseal.la and includes nothing but promptseal.h.  The
 * wire format is version 2 (docs/protocol.md); the few places that look
 * into the sealed text know its envelope's layout:
 *     ps2:<kid 32 hex>:<nonce 22>:<ct>            (a request)
 *     ps2:<kid 32 hex>:<nonce 22>:<reply 22>:<ct> (a reply)
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include <promptseal.h>

#define CHAT "/v1/chat/completions"
#define COMPLETIONS "/v1/completions"
#define MODELS "/v1/models"
#define JSON "application/json"
#define SSE "text/event-stream"
#define MARKER "SECRET-MARKER"
/* Where the nonce, the reply value and the ciphertext begin in an
 * envelope's text. */
#define AT_NONCE 37
#define AT_REPLY 60
#define AT_REPLY_CT 83

static const uint8_t KID[PROMPTSEAL_KID_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};
static const uint8_t SECRET[PROMPTSEAL_SECRET_LEN] = {
	0x8c, 0x1f, 0x02, 0x73, 0x5a, 0x94, 0xe1, 0x3d, 0x60, 0x2b, 0xc7,
	0x48, 0x11, 0xfe, 0x39, 0xa6, 0x0d, 0x72, 0xb8, 0x55, 0xe4, 0x9a,
	0x23, 0x6f, 0xc1, 0x07, 0x3e, 0x8d, 0x51, 0xaa, 0x16, 0xf0,
};
static const uint8_t KID2[PROMPTSEAL_KID_LEN] = { 0xee };
static const uint8_t SECRET2[PROMPTSEAL_SECRET_LEN] = { 1 };

static const char REQUEST[] =
    "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":"
    "\"What is the capital of France?\"}],\"temperature\":0.5}";
static const char REPLY[] =
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Paris.\"}}],"
    "\"usage\":{\"total_tokens\":9}}";
static const char UPSTREAM[] =
    "data: {\"id\":\"c2\",\"choices\":[{\"delta\":{\"content\":\"Par\"}}]}\n\n"
    ": a comment\n"
    "data: {\"id\":\"c2\",\"choices\":[{\"delta\":{\"content\":\"is.\"}}]}\n\n"
    "data: [DONE]\n\n";
static const char PLAIN_STREAM[] =
    "data: {\"id\":\"c2\",\"choices\":[{\"delta\":{\"content\":\"Par\"}}]}\n\n"
    ": a comment\n"
    "data: {\"id\":\"c2\",\"choices\":[{\"delta\":{\"content\":\"is.\"}}]}\n\n"
    "data: [DONE]\n\n";

/* ------------------------------------------------ watching free() */

/*
 * Every block freed while a marker is watched is searched for it: a hit
 * is plaintext that reached free() without being wiped.  free() is
 * replaced for the whole process, the library's calls included; not under
 * AddressSanitizer, which owns the allocator.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#if !defined(UNDER_ASAN)
#include <dlfcn.h>
#include <malloc.h>
#define WATCH_FREES 1

static void (*real_free)(void *);
static const char *watched;
static int dirty_frees;

void
free(void *p)
{
	static int resolving;

	if (real_free == NULL) {
		/* A block freed while free itself is looked up is leaked. */
		if (resolving)
			return;
		resolving = 1;
		*(void **)&real_free = dlsym(RTLD_NEXT, "free");
		resolving = 0;
	}
	if (p != NULL && watched != NULL &&
	    memmem(p, malloc_usable_size(p), watched, strlen(watched)) != NULL)
		dirty_frees++;
	real_free(p);
}
#endif

/* ------------------------------------------------------------ helpers */

static promptseal_key *
key(const uint8_t *kid, const uint8_t *secret)
{
	promptseal_key *k = NULL;

	ck_assert_int_eq(promptseal_key_new(kid, secret, &k), PROMPTSEAL_OK);
	ck_assert_ptr_nonnull(k);
	return k;
}

/* The worker's key store: KID and KID2, or whatever rc says. */
struct store {
	int rc;                 /* returned when not 0 */
	const uint8_t *secret;  /* given for KID instead of SECRET */
	int calls;
	uint8_t seen[PROMPTSEAL_KID_LEN];
};

static int
lookup(void *arg, const uint8_t kid[PROMPTSEAL_KID_LEN],
    uint8_t secret[PROMPTSEAL_SECRET_LEN])
{
	struct store *st = arg;

	st->calls++;
	memcpy(st->seen, kid, PROMPTSEAL_KID_LEN);
	if (st->rc != 0)
		return st->rc;
	if (memcmp(kid, KID, PROMPTSEAL_KID_LEN) == 0)
		memcpy(secret, st->secret ? st->secret : SECRET,
		    PROMPTSEAL_SECRET_LEN);
	else if (memcmp(kid, KID2, PROMPTSEAL_KID_LEN) == 0)
		memcpy(secret, SECRET2, PROMPTSEAL_SECRET_LEN);
	else
		return PROMPTSEAL_E_UNKNOWN_KEY;
	return PROMPTSEAL_OK;
}

/* A copy of s with exactly its length on the heap, so a read past its end
 * shows up under AddressSanitizer. */
static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	return p;
}

/* Free a copy made by dup_n(), wiped: it may hold a watched plaintext. */
static void
drop(char *p, size_t n)
{
	explicit_bzero(p, n);
	free(p);
}

struct sealed {
	char *p;
	size_t n;
};

static void
sealed_free(struct sealed *s)
{
	promptseal_free(s->p, s->n);
	s->p = NULL;
	s->n = 0;
}

/* A client exchange for POST path under k, and its sealed request. */
static promptseal_exchange *
client(const promptseal_key *k, const char *path, const char *json,
    struct sealed *wire)
{
	promptseal_exchange *x = NULL;
	char *in = dup_n(json, strlen(json));

	ck_assert_int_eq(promptseal_exchange_new(k, "POST", path, &x),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_request(x, in, strlen(json), &wire->p,
	    &wire->n), PROMPTSEAL_OK);
	ck_assert_ptr_nonnull(wire->p);
	ck_assert_uint_eq(strlen(wire->p), wire->n);
	drop(in, strlen(json));
	return x;
}

/* The worker's side for a sealed request; the plain body must be json. */
static promptseal_exchange *
worker(const char *path, const struct sealed *wire, const char *json)
{
	struct store st = {0};
	promptseal_exchange *x = NULL;
	char *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", path,
	    wire->p, wire->n, &x, &out, &n), PROMPTSEAL_OK);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(n, strlen(json));
	ck_assert_str_eq(out, json);
	ck_assert_int_eq(st.calls, 1);
	ck_assert(memcmp(st.seen, KID, PROMPTSEAL_KID_LEN) == 0);
	promptseal_free(out, n);
	return x;
}

/* The start of the k-th (from 0) envelope in s, found by its prefix. */
static char *
nth_envelope(char *s, int k)
{
	char *p = s;

	for (;;) {
		p = strstr(p, "\"ps2:");
		ck_assert_ptr_nonnull(p);
		if (k-- == 0)
			return p + 1;
		p++;
	}
}

/* Change the base64url character at p into another one. */
static void
flip(char *p)
{
	*p = *p == 'A' ? 'B' : 'A';
}

/* Collects a stream's output. */
struct sink {
	char *all;
	size_t len;
	int calls;
	int fail_at;       /* return non-zero on this call (1-based) */
	int keep;          /* keep the bytes */
	int marker_seen;   /* a call held MARKER */
};

static int
sink_write(void *arg, const char *p, size_t n)
{
	struct sink *k = arg;
	char *np;

	k->calls++;
	ck_assert_uint_gt(n, 0);
	/* One call per whole event: it ends in its blank line. */
	ck_assert(p[n - 1] == '\n');
	if (memmem(p, n, MARKER, strlen(MARKER)) != NULL)
		k->marker_seen = 1;
	if (k->fail_at == k->calls)
		return 1;
	if (!k->keep)
		return 0;
	np = realloc(k->all, k->len + n + 1);
	ck_assert_ptr_nonnull(np);
	memcpy(np + k->len, p, n);
	k->all = np;
	k->len += n;
	k->all[k->len] = '\0';
	return 0;
}

static void
sink_init(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	k->keep = 1;
}

static const char *
sink_str(const struct sink *k)
{
	return k->all != NULL ? k->all : "";
}

static void begin(promptseal_exchange *x);

/* Feed s (n bytes) in pieces of step bytes to the worker's or client's
 * side, then finish; returns the first error. */
static int
feed(int open, promptseal_exchange *x, const char *s, size_t n, size_t step,
    struct sink *k)
{
	size_t i;
	int rc = PROMPTSEAL_OK;

	if (open)
		begin(x);
	for (i = 0; i < n && rc == PROMPTSEAL_OK; i += step) {
		size_t m = n - i < step ? n - i : step;
		char *piece = dup_n(s + i, m);

		rc = open ? promptseal_stream_open_feed(x, piece, m, sink_write, k) :
		    promptseal_stream_seal_feed(x, piece, m, sink_write, k);
		drop(piece, m);
	}
	if (rc != PROMPTSEAL_OK)
		return rc;
	return open ? promptseal_stream_open_finish(x, sink_write, k) :
	    promptseal_stream_seal_finish(x, PROMPTSEAL_OK, sink_write, k);
}

/* The client's side of a stream, begun as the worker sends it. */
static void
begin(promptseal_exchange *x)
{
	ck_assert_int_eq(promptseal_stream_open_begin(x, 200, SSE),
	    PROMPTSEAL_OK);
}

/* A whole exchange with a streamed reply: the worker's sealed stream of
 * upstream in w, the exchanges in *cx and *wx. */
static void
sealed_stream(const promptseal_key *k, const char *upstream, struct sink *w,
    promptseal_exchange **cx, promptseal_exchange **wx)
{
	struct sealed req = {0};

	*cx = client(k, CHAT, REQUEST, &req);
	*wx = worker(CHAT, &req, REQUEST);
	sealed_free(&req);
	sink_init(w);
	ck_assert_int_eq(feed(0, *wx, upstream, strlen(upstream), 5, w),
	    PROMPTSEAL_OK);
}

/* How the error event the library writes for code ends. */
static char *
error_event(const char *code)
{
	static char ev[512];

	snprintf(ev, sizeof(ev), "\"code\":\"%s\"}}\n\n", code);
	return ev;
}

/* ------------------------------------------------------------ errors */

START_TEST(test_errors_mapped)
{
	static const struct {
		int rc;
		int status;
		const char *code;
	} t[] = {
		{PROMPTSEAL_E_INVALID_JSON, 400, "invalid_json"},
		{PROMPTSEAL_E_INVALID_ENVELOPE, 400, "invalid_envelope"},
		{PROMPTSEAL_E_PLAINTEXT_MEMBER, 400, "plaintext_member"},
		{PROMPTSEAL_E_DECRYPT, 400, "decrypt_failed"},
		{PROMPTSEAL_E_UNKNOWN_ENDPOINT, 404, "unknown_endpoint"},
		{PROMPTSEAL_E_METHOD, 405, "method_not_allowed"},
		{PROMPTSEAL_E_TOO_LARGE, 413, "body_too_large"},
		{PROMPTSEAL_E_MEDIA_TYPE, 415, "unsupported_media_type"},
		{PROMPTSEAL_E_UNKNOWN_KEY, 422, "unknown_key"},
		{PROMPTSEAL_E_UPSTREAM, 502, "upstream_unavailable"},
		{PROMPTSEAL_E_BAD_UPSTREAM, 502, "bad_upstream_response"},
		{PROMPTSEAL_E_NO_KEY, 503, "no_key"},
		{PROMPTSEAL_E_TIMEOUT, 504, "upstream_timeout"},
		{PROMPTSEAL_E_STREAM_TRUNCATED, 502, "stream_truncated"},
		{PROMPTSEAL_E_UNSUPPORTED_VERSION, 400, "unsupported_version"},
		{PROMPTSEAL_E_STALE, 400, "stale_request"},
		{PROMPTSEAL_E_PLAIN_QUERY, 400, "plain_query"},
		{PROMPTSEAL_E_BAD_QUERY, 400, "invalid_query"},
		{PROMPTSEAL_E_REPLAYED, 409, "replayed"},
		{PROMPTSEAL_E_QUERY_TOO_LONG, 414, "query_too_long"},
		{PROMPTSEAL_E_REPLAY_FULL, 503, "replay_table_full"},
		{PROMPTSEAL_E_NOMEM, 500, "internal_error"},
		{PROMPTSEAL_E_ARG, 500, "internal_error"},
		{PROMPTSEAL_E_CRYPTO, 500, "internal_error"},
		{PROMPTSEAL_E_CALLBACK, 500, "internal_error"},
		{PROMPTSEAL_E_INTERNAL, 500, "internal_error"},
	};
	size_t i, j;

	/* The values are ABI. */
	ck_assert_int_eq(PROMPTSEAL_E_INVALID_JSON, 1);
	ck_assert_int_eq(PROMPTSEAL_E_STREAM_TRUNCATED, 14);
	ck_assert_int_eq(PROMPTSEAL_E_UNSUPPORTED_VERSION, 15);
	ck_assert_int_eq(PROMPTSEAL_E_REPLAY_FULL, 21);
	ck_assert_int_eq(PROMPTSEAL_E_NOMEM, 100);
	ck_assert_int_eq(PROMPTSEAL_E_INTERNAL, 104);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *s = promptseal_strerror(t[i].rc);

		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, "unknown error");
		ck_assert_int_eq(promptseal_error_status(t[i].rc), t[i].status);
		ck_assert_str_eq(promptseal_error_code(t[i].rc), t[i].code);
		/* Each code has words of its own. */
		for (j = 0; j < i; j++)
			ck_assert_str_ne(s, promptseal_strerror(t[j].rc));
	}
	ck_assert_str_eq(promptseal_strerror(PROMPTSEAL_OK), "success");
	ck_assert_int_eq(promptseal_error_status(PROMPTSEAL_OK), 200);
	ck_assert_str_eq(promptseal_error_code(PROMPTSEAL_OK), "ok");
	ck_assert_str_eq(promptseal_strerror(22), "unknown error");
	ck_assert_str_eq(promptseal_strerror(-1), "unknown error");
	ck_assert_int_eq(promptseal_error_status(9999), 500);
	ck_assert_str_eq(promptseal_error_code(9999), "internal_error");
	ck_assert_str_eq(promptseal_version(), PACKAGE_VERSION);
	promptseal_free(NULL, 0);
}
END_TEST

/* -------------------------------------------------------------- keys */

START_TEST(test_keys)
{
	promptseal_key *a = NULL, *b = NULL;
	uint8_t kid[PROMPTSEAL_KID_LEN], sec[PROMPTSEAL_SECRET_LEN];
	uint8_t kid2[PROMPTSEAL_KID_LEN], sec2[PROMPTSEAL_SECRET_LEN];

	ck_assert_int_eq(promptseal_key_new(NULL, SECRET, &a), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_key_new(KID, NULL, &a), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_key_new(KID, SECRET, NULL), PROMPTSEAL_E_ARG);
	ck_assert_ptr_null(a);
	a = key(KID, SECRET);
	ck_assert_int_eq(promptseal_key_kid(a, kid), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_key_secret(a, sec), PROMPTSEAL_OK);
	ck_assert(memcmp(kid, KID, sizeof(kid)) == 0);
	ck_assert(memcmp(sec, SECRET, sizeof(sec)) == 0);
	ck_assert_int_eq(promptseal_key_kid(NULL, kid), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_key_secret(a, NULL), PROMPTSEAL_E_ARG);
	promptseal_key_free(a);

	ck_assert_int_eq(promptseal_key_generate(NULL), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_key_generate(&a), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_key_generate(&b), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_key_kid(a, kid), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_key_secret(a, sec), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_key_kid(b, kid2), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_key_secret(b, sec2), PROMPTSEAL_OK);
	ck_assert(memcmp(kid, kid2, sizeof(kid)) != 0);
	ck_assert(memcmp(sec, sec2, sizeof(sec)) != 0);
	promptseal_key_free(a);
	promptseal_key_free(b);
	promptseal_key_free(NULL);
}
END_TEST

/* ------------------------------------------------------------ bodies */

START_TEST(test_body_round_trip)
{
	static const struct {
		const char *path;
		const char *req;
		const char *rep;
	} t[] = {
		{CHAT, REQUEST, REPLY},
		{COMPLETIONS "?x=1&y=%2F",
		    "{\"model\":\"m\",\"prompt\":\"Say " MARKER "\",\"n\":1}",
		    "{\"id\":\"c\",\"choices\":[{\"text\":\"" MARKER "\"}]}"},
		{"/v1/embeddings", "{\"model\":\"m\",\"input\":\"" MARKER "\"}",
		    "{\"data\":[{\"embedding\":[0.25,-1]}],\"usage\":{}}"},
	};
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		promptseal_exchange *cx, *wx;
		struct sealed req = {0}, rep = {0};
		char *out = NULL, *in;
		size_t n = 0;

		cx = client(k, t[i].path, t[i].req, &req);
		/* What crosses holds no plaintext of a sealed member, nor the
		 * query, which the path on the wire leaves out. */
		ck_assert_ptr_null(strstr(req.p, MARKER));
		ck_assert_ptr_null(strstr(req.p, "capital"));
		ck_assert_ptr_null(strstr(req.p, "x=1"));
		ck_assert_ptr_nonnull(strstr(req.p, "\"model\":"));
		ck_assert_str_eq(promptseal_exchange_target(cx), t[i].path);
		ck_assert_ptr_null(strchr(promptseal_exchange_path(cx), '?'));
		wx = worker(promptseal_exchange_path(cx), &req, t[i].req);
		/* The worker asks the inference server for the query that came
		 * sealed. */
		ck_assert_str_eq(promptseal_exchange_target(wx), t[i].path);
		ck_assert_str_eq(promptseal_exchange_path(wx),
		    promptseal_exchange_path(cx));

		in = dup_n(t[i].rep, strlen(t[i].rep));
		ck_assert_int_eq(promptseal_seal_reply(wx, 200, in,
		    strlen(t[i].rep), &rep.p, &rep.n), PROMPTSEAL_OK);
		free(in);
		ck_assert_uint_eq(strlen(rep.p), rep.n);
		ck_assert_ptr_null(strstr(rep.p, MARKER));
		ck_assert_ptr_null(strstr(rep.p, "Paris"));
		ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p,
		    rep.n, &out, &n), PROMPTSEAL_OK);
		ck_assert_uint_eq(n, strlen(t[i].rep));
		ck_assert_str_eq(out, t[i].rep);
		promptseal_free(out, n);
		sealed_free(&req);
		sealed_free(&rep);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST

/* Every exchange has a nonce of its own: the same body seals differently. */
START_TEST(test_fresh_nonce)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed a = {0}, b = {0};
	promptseal_exchange *x = client(k, CHAT, REQUEST, &a);
	promptseal_exchange *y = client(k, CHAT, REQUEST, &b);

	ck_assert_str_ne(a.p, b.p);
	ck_assert(memcmp(nth_envelope(a.p, 0) + AT_NONCE,
	    nth_envelope(b.p, 0) + AT_NONCE, 22) != 0);
	sealed_free(&a);
	sealed_free(&b);
	promptseal_exchange_free(x);
	promptseal_exchange_free(y);
	promptseal_key_free(k);
}
END_TEST

START_TEST(test_routes)
{
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *x = NULL;
	struct store st = {0};
	char *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(promptseal_exchange_new(k, "POST", "/v1/chat",
	    &x), PROMPTSEAL_E_UNKNOWN_ENDPOINT);
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", CHAT "/", &x),
	    PROMPTSEAL_E_UNKNOWN_ENDPOINT);
	ck_assert_int_eq(promptseal_exchange_new(k, "GET", CHAT, &x),
	    PROMPTSEAL_E_METHOD);
	ck_assert_int_eq(promptseal_exchange_new(k, "post", CHAT, &x),
	    PROMPTSEAL_E_METHOD);
	ck_assert_int_eq(promptseal_exchange_new(NULL, "POST", CHAT, &x),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_new(k, NULL, CHAT, &x),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", NULL, &x),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", CHAT, NULL),
	    PROMPTSEAL_E_ARG);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
	    "/v2/chat/completions", "{}", 2, &x, &out, &n),
	    PROMPTSEAL_E_UNKNOWN_ENDPOINT);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "PUT", CHAT,
	    "{}", 2, &x, &out, &n), PROMPTSEAL_E_METHOD);
	ck_assert_int_eq(promptseal_open_request(NULL, &st, "POST", CHAT,
	    "{}", 2, &x, &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    NULL, 2, &x, &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    "{}", 2, NULL, &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_ptr_null(x);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(st.calls, 0);
	promptseal_key_free(k);
}
END_TEST

/* A path with an id is bound as given: the worker opens it only under
 * the same method and path (protocol.md section 3, revision 2.1). */
START_TEST(test_path_id)
{
	static const char path[] = "/v1/responses/resp_1";
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *x = NULL, *y = NULL;
	struct store st = {0};
	char *hdr = NULL, *out = NULL;
	size_t hn = 0, n = 0;

	ck_assert_int_eq(promptseal_exchange_new(k, "DELETE",
	    "/v1/responses/resp_1?a=1", &x), PROMPTSEAL_OK);
	ck_assert_str_eq(promptseal_exchange_path(x), path);
	ck_assert_str_eq(promptseal_exchange_target(x),
	    "/v1/responses/resp_1?a=1");
	ck_assert_int_eq(promptseal_seal_request(x, NULL, 0, &hdr, &hn),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET", path, hdr,
	    hn, &y, &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "DELETE",
	    "/v1/responses/resp_2", hdr, hn, &y, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "DELETE",
	    "/v1/responses/..", hdr, hn, &y, &out, &n),
	    PROMPTSEAL_E_UNKNOWN_ENDPOINT);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "DELETE", path,
	    hdr, hn, &y, &out, &n), PROMPTSEAL_OK);
	ck_assert_str_eq(promptseal_exchange_target(y),
	    "/v1/responses/resp_1?a=1");
	ck_assert_uint_eq(n, 0);
	promptseal_free(out, n);
	promptseal_free(hdr, hn);
	promptseal_exchange_free(x);
	promptseal_exchange_free(y);
	x = NULL;
	ck_assert_int_eq(promptseal_exchange_new(k, "GET",
	    "/v1/models/a%2F..", &x), PROMPTSEAL_E_UNKNOWN_ENDPOINT);
	ck_assert_int_eq(promptseal_exchange_new(k, "GET",
	    "/v1/models/org%2Fm", &x), PROMPTSEAL_OK);
	ck_assert_str_eq(promptseal_exchange_path(x), "/v1/models/org%2Fm");
	promptseal_exchange_free(x);
	promptseal_key_free(k);
}
END_TEST

/* The query: sealed, so it is checked by the client and never taken in
 * clear by the worker. */
START_TEST(test_query)
{
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *x = NULL;
	struct store st = {0};
	char target[64 + PROMPTSEAL_QUERY_MAX + 2], *out = NULL;
	size_t n = 0, plen = strlen(COMPLETIONS);

	memcpy(target, COMPLETIONS "?", plen + 1);
	memset(target + plen + 1, 'q', PROMPTSEAL_QUERY_MAX);
	target[plen + 1 + PROMPTSEAL_QUERY_MAX] = '\0';
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", target, &x),
	    PROMPTSEAL_OK);
	ck_assert_str_eq(promptseal_exchange_target(x), target);
	promptseal_exchange_free(x);
	x = NULL;
	target[plen + 1 + PROMPTSEAL_QUERY_MAX] = 'q';
	target[plen + 2 + PROMPTSEAL_QUERY_MAX] = '\0';
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", target, &x),
	    PROMPTSEAL_E_QUERY_TOO_LONG);
	ck_assert_ptr_null(x);

	/* A byte the wire format does not carry. */
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", COMPLETIONS "?a b",
	    &x), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_request(x, REQUEST, strlen(REQUEST),
	    &out, &n), PROMPTSEAL_E_BAD_QUERY);
	ck_assert_ptr_null(out);
	promptseal_exchange_free(x);
	x = NULL;
	/* A '?' with nothing after it is no query. */
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", CHAT "?", &x),
	    PROMPTSEAL_OK);
	ck_assert_str_eq(promptseal_exchange_target(x), CHAT);
	promptseal_exchange_free(x);
	x = NULL;

	/* A query in clear reaches the worker: refused before any key is
	 * looked up. */
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
	    CHAT "?x=1", "{}", 2, &x, &out, &n), PROMPTSEAL_E_PLAIN_QUERY);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
	    CHAT "?", "{}", 2, &x, &out, &n), PROMPTSEAL_E_PLAIN_QUERY);
	ck_assert_int_eq(st.calls, 0);
	ck_assert_ptr_null(x);
	ck_assert_ptr_null(out);
	ck_assert_ptr_null(promptseal_exchange_target(NULL));
	ck_assert_ptr_null(promptseal_exchange_path(NULL));
	promptseal_key_free(k);
}
END_TEST

/* GET /v1/models: no body; the sealed request travels in a header, and
 * the reply is sealed like any other. */
START_TEST(test_models)
{
	static const char list[] = "{\"object\":\"list\",\"data\":[]}";
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx = NULL, *wx = NULL;
	struct store st = {0};
	char *hdr = NULL, *out = NULL, *rep = NULL, *plain = NULL;
	size_t hn = 0, n = 99, rn = 0, pn = 0;
	struct sink sk;
	char save;

	ck_assert_str_eq(PROMPTSEAL_REQUEST_HEADER, "Promptseal-Request");
	ck_assert_int_eq(promptseal_exchange_new(k, "GET", MODELS, &cx),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_request(cx, "{}", 2, &hdr, &hn),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_request(cx, NULL, 0, &hdr, &hn),
	    PROMPTSEAL_OK);
	/* A bare envelope: a header value. */
	ck_assert_uint_eq(strlen(hdr), hn);
	ck_assert(strncmp(hdr, "ps2:", 4) == 0);
	ck_assert_ptr_null(strpbrk(hdr, "\"{}\r\n "));

	/* No header, a body, or a header changed: refused. */
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET", MODELS,
	    NULL, 0, &wx, &out, &n), PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET", MODELS,
	    "{}", 2, &wx, &out, &n), PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_int_eq(st.calls, 0);
	save = hdr[70];
	flip(hdr + 70);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET", MODELS,
	    hdr, hn, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
	hdr[70] = save;
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET", MODELS,
	    hdr, hn, &wx, &out, &n), PROMPTSEAL_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(st.calls, 1);
	promptseal_free(out, n);
	ck_assert_str_eq(promptseal_exchange_target(wx), MODELS);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, list, strlen(list),
	    &rep, &rn), PROMPTSEAL_OK);
	ck_assert_ptr_null(strstr(rep, "list"));
	sink_init(&sk);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, "[]", 2, &plain,
	    &pn), PROMPTSEAL_E_INVALID_JSON);
	ck_assert_ptr_null(plain);
	promptseal_exchange_free(cx);

	/* Only the exchange the reply was made for opens it. */
	ck_assert_int_eq(promptseal_exchange_new(k, "GET", MODELS, &cx),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_request(cx, NULL, 0, &out, &n),
	    PROMPTSEAL_OK);
	promptseal_free(out, n);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep, rn, &plain,
	    &pn), PROMPTSEAL_E_INVALID_ENVELOPE);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_free(rep, rn);

	/* The whole round. */
	ck_assert_int_eq(promptseal_exchange_new(k, "GET", MODELS, &cx),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_stream_open_begin(cx, 200, SSE),
	    PROMPTSEAL_E_ARG);
	promptseal_free(hdr, hn);
	ck_assert_int_eq(promptseal_seal_request(cx, NULL, 0, &hdr, &hn),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET", MODELS,
	    hdr, hn, &wx, &out, &n), PROMPTSEAL_OK);
	promptseal_free(out, n);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, list, strlen(list),
	    &rep, &rn), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep, rn, &plain,
	    &pn), PROMPTSEAL_OK);
	ck_assert_str_eq(plain, list);
	promptseal_free(plain, pn);
	promptseal_free(rep, rn);
	promptseal_free(hdr, hn);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_key_free(k);
}
END_TEST

/* ------------------------------------------------------- tampering */

/* Any byte of the sealed request changed: refused, nothing released. */
START_TEST(test_request_changed_byte)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed req = {0};
	promptseal_exchange *cx = client(k, CHAT, REQUEST, &req);
	char *env = nth_envelope(req.p, 0), *end = strchr(env, '"');
	char *p;

	ck_assert_ptr_nonnull(end);
	for (p = env; p < end; p++) {
		promptseal_exchange *wx = NULL;
		struct store st = {0};
		char *out = NULL, save = *p;
		size_t n = 0;
		int rc;

		*p = *p == 'a' ? 'b' : *p == 'A' ? 'B' : 'A';
		rc = promptseal_open_request(lookup, &st, "POST", CHAT, req.p,
		    req.n, &wx, &out, &n);
		*p = save;
		ck_assert_msg(rc == PROMPTSEAL_E_DECRYPT ||
		    rc == PROMPTSEAL_E_INVALID_ENVELOPE ||
		    rc == PROMPTSEAL_E_PLAINTEXT_MEMBER ||
		    rc == PROMPTSEAL_E_UNKNOWN_KEY,
		    "byte %d: %s", (int)(p - env), promptseal_strerror(rc));
		ck_assert_ptr_null(wx);
		ck_assert_ptr_null(out);
		ck_assert_uint_eq(n, 0);
	}
	/* A byte in the middle of the ciphertext: it does not authenticate. */
	{
		promptseal_exchange *wx = NULL;
		struct store st = {0};
		char *out = NULL;
		size_t n = 0;

		char save = env[90];

		flip(env + 90);
		ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
		    CHAT, req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
		ck_assert_ptr_null(wx);
		ck_assert_ptr_null(out);
		env[90] = save;
	}
	/* The plain copy of a member changed, added or dropped: the sealed
	 * original says otherwise. */
	{
		static const char *const wires[] = {
			"{\"model\":\"gemo\",",
			"{\"model\":\"demo\",\"n\":1,",
			"{",
		};
		size_t i, at = (size_t)(env - 7 - req.p);

		ck_assert(strncmp(req.p, "{\"model\":\"demo\",\"ps2\":", 22) == 0);
		for (i = 0; i < sizeof(wires) / sizeof(wires[0]); i++) {
			promptseal_exchange *wx = NULL;
			struct store st = {0};
			char *out = NULL, w[4096];
			size_t n = 0;

			snprintf(w, sizeof(w), "%s%s", wires[i], req.p + at);
			ck_assert_int_eq(promptseal_open_request(lookup, &st,
			    "POST", CHAT, w, strlen(w), &wx, &out, &n),
			    PROMPTSEAL_E_DECRYPT);
			ck_assert_int_eq(st.calls, 1);
			ck_assert_ptr_null(wx);
			ck_assert_ptr_null(out);
		}
	}
	sealed_free(&req);
	promptseal_exchange_free(cx);
	promptseal_key_free(k);
}
END_TEST

/* The sealed request sent as another endpoint does not open (the member
 * allowlists differ), nor with another key behind the same key ID. */
START_TEST(test_request_wrong_key)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed req = {0};
	promptseal_exchange *cx = client(k, CHAT, REQUEST, &req), *wx = NULL;
	struct store st = {0};
	char *out = NULL;
	size_t n = 0;

	st.secret = SECRET2;
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(st.calls, 1);
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);

	memset(&st, 0, sizeof(st));
	st.rc = PROMPTSEAL_E_UNKNOWN_KEY;
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_UNKNOWN_KEY);
	st.rc = PROMPTSEAL_E_NO_KEY;
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_NO_KEY);
	st.rc = 42;
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_CALLBACK);
	st.rc = PROMPTSEAL_E_DECRYPT;
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_CALLBACK);
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);

	/* A key ID nobody knows. */
	{
		promptseal_key *other = key((const uint8_t *)"0123456789abcdef",
		    SECRET);
		struct sealed r2 = {0};
		promptseal_exchange *c2 = client(other, CHAT, REQUEST, &r2);

		memset(&st, 0, sizeof(st));
		ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
		    CHAT, r2.p, r2.n, &wx, &out, &n), PROMPTSEAL_E_UNKNOWN_KEY);
		ck_assert(memcmp(st.seen, "0123456789abcdef", 16) == 0);
		sealed_free(&r2);
		promptseal_exchange_free(c2);
		promptseal_key_free(other);
	}
	sealed_free(&req);
	promptseal_exchange_free(cx);
	promptseal_key_free(k);
}
END_TEST

/* Bodies that are not sealed requests: refused before any key is looked
 * up. */
START_TEST(test_request_not_sealed)
{
	static const struct {
		const char *body;
		int rc;
	} t[] = {
		{"", PROMPTSEAL_E_INVALID_JSON},
		{"[1]", PROMPTSEAL_E_INVALID_JSON},
		/* An object all the same: what is missing is its envelope (the
		 * sender refuses such a body, see test_state). */
		{"{\"model\":\"m\",\"model\":\"m\"}",
		    PROMPTSEAL_E_INVALID_ENVELOPE},
		{"{\"model\":\"m\",\"messages\":[]}", PROMPTSEAL_E_PLAINTEXT_MEMBER},
		{"{\"model\":\"m\"}", PROMPTSEAL_E_INVALID_ENVELOPE},
		{"{\"ps2\":\"ps2:00\",\"model\":\"m\"}",
		    PROMPTSEAL_E_INVALID_ENVELOPE},
		{"{\"model\":\"m\",\"ps2\":7}", PROMPTSEAL_E_INVALID_ENVELOPE},
		{"{\"model\":\"m\",\"ps2\":\"ps2:00\"}",
		    PROMPTSEAL_E_INVALID_ENVELOPE},
		/* A client of wire format 1. */
		{"{\"messages\":\"ps1:00\"}", PROMPTSEAL_E_UNSUPPORTED_VERSION},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		promptseal_exchange *wx = NULL;
		struct store st = {0};
		char *out = NULL, *in = dup_n(t[i].body, strlen(t[i].body));
		size_t n = 0;

		ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
		    CHAT, in, strlen(t[i].body), &wx, &out, &n), t[i].rc);
		ck_assert_int_eq(st.calls, 0);
		ck_assert_ptr_null(wx);
		ck_assert_ptr_null(out);
		free(in);
	}
}
END_TEST

/* A reply opens only for the exchange it was sealed for. */
START_TEST(test_reply_other_exchange)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed ra = {0}, rb = {0}, rep = {0};
	promptseal_exchange *a = client(k, CHAT, REQUEST, &ra);
	promptseal_exchange *b = client(k, CHAT, REQUEST, &rb);
	promptseal_exchange *wb = worker(CHAT, &rb, REQUEST);
	char *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(promptseal_seal_reply(wb, 200, REPLY, strlen(REPLY),
	    &rep.p, &rep.n), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(a, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_ptr_null(out);
	/* One reply per exchange: a's is spent. */
	ck_assert_int_eq(promptseal_open_reply(a, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_E_ARG);
	sealed_free(&ra);
	sealed_free(&rb);
	sealed_free(&rep);
	promptseal_exchange_free(a);
	promptseal_exchange_free(b);
	promptseal_exchange_free(wb);

	/* A request sent back to its client as the reply: the wrong
	 * direction, whose envelope has no reply value (a body with sealed
	 * members only, so that none is refused as plain first). */
	b = client(k, CHAT, "{\"messages\":[1]}", &rb);
	ck_assert_int_eq(promptseal_open_reply(b, 200, JSON, rb.p, rb.n, &out,
	    &n), PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_ptr_null(out);
	sealed_free(&rb);
	promptseal_exchange_free(b);
	promptseal_key_free(k);
}
END_TEST

START_TEST(test_reply_changed_byte)
{
	promptseal_key *k = key(KID, SECRET), *k2 = key(KID, SECRET2);
	struct sealed req = {0}, rep = {0};
	promptseal_exchange *cx = client(k, CHAT, REQUEST, &req), *wx;
	char *out = NULL;
	size_t n = 0;

	wx = worker(CHAT, &req, REQUEST);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, REPLY, strlen(REPLY),
	    &rep.p, &rep.n), PROMPTSEAL_OK);
	flip(nth_envelope(rep.p, 0) + 90);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p, rep.n, &out,
	    &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	sealed_free(&rep);
	sealed_free(&req);
	promptseal_exchange_free(cx);

	/* A client under another secret with the same key ID. */
	cx = client(k2, CHAT, REQUEST, &req);
	sealed_free(&req);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, "{\"choices\":1}",
	    13, &out, &n), PROMPTSEAL_E_PLAINTEXT_MEMBER);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_key_free(k);
	promptseal_key_free(k2);
}
END_TEST

/* Calls out of turn, and arguments out of range. */
START_TEST(test_state)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed req = {0}, rep = {0};
	promptseal_exchange *cx, *wx, *fresh = NULL;
	struct sink sk, ck;
	char *out = NULL;
	size_t n = 0;

	sink_init(&sk);
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", CHAT, &fresh),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(fresh, 200, JSON, "{}", 2, &out,
	    &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_begin(fresh, 200, SSE),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_feed(fresh, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_finish(fresh, sink_write, &sk),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_request(fresh, REQUEST,
	    strlen(REQUEST), NULL, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_request(fresh, REQUEST,
	    strlen(REQUEST), &out, NULL), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_request(fresh, "{\"model\":", 9,
	    &out, &n), PROMPTSEAL_E_INVALID_JSON);
	ck_assert_int_eq(promptseal_seal_request(fresh,
	    "{\"model\":\"m\",\"model\":\"m\"}", 25, &out, &n),
	    PROMPTSEAL_E_INVALID_JSON);
	ck_assert_int_eq(promptseal_seal_request(fresh, "{\"ps2\":1}", 9,
	    &out, &n), PROMPTSEAL_E_INVALID_JSON);
	/* A failed seal may be repeated. */
	ck_assert_int_eq(promptseal_seal_request(fresh, REQUEST,
	    strlen(REQUEST), &out, &n), PROMPTSEAL_OK);
	promptseal_free(out, n);
	out = NULL;
	ck_assert_int_eq(promptseal_seal_request(fresh, REQUEST,
	    strlen(REQUEST), &out, &n), PROMPTSEAL_E_ARG);
	promptseal_exchange_free(fresh);

	cx = client(k, CHAT, REQUEST, &req);
	wx = worker(CHAT, &req, REQUEST);
	/* Each side's calls belong to its side. */
	ck_assert_int_eq(promptseal_seal_request(wx, REQUEST, strlen(REQUEST),
	    &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_reply(wx, 200, JSON, req.p, req.n, &out,
	    &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_reply(cx, 200, REPLY, strlen(REPLY),
	    &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_feed(cx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_feed(wx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	/* The status must be one. */
	ck_assert_int_eq(promptseal_seal_reply(wx, 99, REPLY, strlen(REPLY),
	    &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_reply(wx, 600, REPLY, strlen(REPLY),
	    &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_reply(cx, 0, JSON, "{}", 2, &out, &n),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, NULL, "{}", 2, &out,
	    &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_begin(cx, 600, SSE),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_begin(cx, 200, NULL),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_begin(wx, 200, SSE),
	    PROMPTSEAL_E_ARG);
	/* Before a begin, no stream is taken. */
	ck_assert_int_eq(promptseal_stream_open_feed(cx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_pad(wx, PROMPTSEAL_PAD_BODY_MAX + 1,
	    0), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_pad(wx, 0,
	    PROMPTSEAL_PAD_STREAM_MAX + 1), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_pad(NULL, 0, 0), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_exchange_pad(wx, PROMPTSEAL_PAD_BODY_MAX,
	    PROMPTSEAL_PAD_STREAM_MAX), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1, NULL, &sk),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, NULL, 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_ptr_null(out);
	/* A failed reply seal may be repeated; then the reply is made. */
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, "x", 1, &out, &n),
	    PROMPTSEAL_E_INVALID_JSON);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, REPLY, strlen(REPLY),
	    &rep.p, &rep.n), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, REPLY, strlen(REPLY),
	    &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_OK);
	promptseal_free(out, n);
	out = NULL;
	ck_assert_int_eq(promptseal_stream_open_begin(cx, 200, SSE),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_feed(cx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(sk.calls, 0);
	sealed_free(&req);
	sealed_free(&rep);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);

	/* A stream takes the reply: no body after it, no call after its
	 * finish. */
	cx = client(k, CHAT, REQUEST, &req);
	wx = worker(CHAT, &req, REQUEST);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "data: [DONE]\n\n",
	    14, sink_write, &sk), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, REPLY, strlen(REPLY),
	    &out, &n), PROMPTSEAL_E_ARG);
	/* Only the codes of a break-off are a why. */
	ck_assert_int_eq(promptseal_stream_seal_finish(wx,
	    PROMPTSEAL_E_DECRYPT, sink_write, &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_finish(wx, PROMPTSEAL_OK,
	    sink_write, &sk), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_finish(wx, PROMPTSEAL_OK,
	    sink_write, &sk), PROMPTSEAL_E_ARG);
	begin(cx);
	ck_assert_int_eq(promptseal_stream_open_begin(cx, 200, SSE),
	    PROMPTSEAL_E_ARG);
	/* The client writes to a sink of its own: sk.all is its input. */
	sink_init(&ck);
	ck_assert_int_eq(promptseal_stream_open_feed(cx, sk.all, sk.len,
	    sink_write, &ck), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write, &ck),
	    PROMPTSEAL_OK);
	ck_assert_str_eq(sink_str(&ck), "data: [DONE]\n\n");
	ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write, &ck),
	    PROMPTSEAL_E_ARG);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(promptseal_stream_open_feed(NULL, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_finish(NULL, sink_write, &sk),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_finish(NULL, PROMPTSEAL_OK,
	    sink_write, &sk), PROMPTSEAL_E_ARG);
	free(sk.all);
	free(ck.all);
	sealed_free(&req);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_exchange_free(NULL);
	promptseal_key_free(k);
}
END_TEST

/* What the request was sent as is authenticated: another endpoint does
 * not open it, nor does a query added in clear. */
START_TEST(test_request_wrong_target)
{
	promptseal_key *k = key(KID, SECRET);
	static const char body[] = "{\"model\":\"m\",\"prompt\":\"hi\"}";
	struct sealed req = {0};
	promptseal_exchange *cx = client(k, COMPLETIONS "?a=1", body, &req);
	promptseal_exchange *wx = NULL;
	struct store st = {0};
	char *out = NULL;
	size_t n = 0;

	/* Chat takes the same members plain, so only the bind tells. */
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(st.calls, 1);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
	    "/v1/embeddings", req.p, req.n, &wx, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET",
	    COMPLETIONS, req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_METHOD);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
	    COMPLETIONS "?a=1", req.p, req.n, &wx, &out, &n),
	    PROMPTSEAL_E_PLAIN_QUERY);
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);
	/* The model list's header as a chat body, and a chat body as the
	 * model list's header. */
	{
		promptseal_exchange *mx = NULL;
		char *hdr = NULL;
		size_t hn = 0;

		ck_assert_int_eq(promptseal_exchange_new(k, "GET", MODELS, &mx),
		    PROMPTSEAL_OK);
		ck_assert_int_eq(promptseal_seal_request(mx, NULL, 0, &hdr,
		    &hn), PROMPTSEAL_OK);
		ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
		    CHAT, hdr, hn, &wx, &out, &n), PROMPTSEAL_E_INVALID_JSON);
		ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET",
		    MODELS, nth_envelope(req.p, 0),
		    strlen(nth_envelope(req.p, 0)) - 2, &wx, &out, &n),
		    PROMPTSEAL_E_DECRYPT);
		ck_assert_ptr_null(wx);
		promptseal_free(hdr, hn);
		promptseal_exchange_free(mx);
	}
	wx = worker(COMPLETIONS, &req, body);
	ck_assert_str_eq(promptseal_exchange_target(wx), COMPLETIONS "?a=1");
	sealed_free(&req);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_key_free(k);
}
END_TEST

/* The status and the media type of a reply are authenticated. */
START_TEST(test_reply_wrong_context)
{
	static const struct {
		int status;
		const char *ct;
		int rc;
	} t[] = {
		{200, JSON, PROMPTSEAL_OK},
		{200, " Application/JSON ; charset=utf-8", PROMPTSEAL_OK},
		{201, JSON, PROMPTSEAL_E_DECRYPT},
		{500, JSON, PROMPTSEAL_E_DECRYPT},
		{200, "text/html", PROMPTSEAL_E_DECRYPT},
		{200, SSE, PROMPTSEAL_E_DECRYPT},
		{200, "", PROMPTSEAL_E_DECRYPT},
		{200, "application/json\x01", PROMPTSEAL_E_DECRYPT},
	};
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sealed req = {0}, rep = {0};
		promptseal_exchange *cx = client(k, CHAT, REQUEST, &req), *wx;
		char *out = NULL;
		size_t n = 0;

		wx = worker(CHAT, &req, REQUEST);
		ck_assert_int_eq(promptseal_seal_reply(wx, 200, REPLY,
		    strlen(REPLY), &rep.p, &rep.n), PROMPTSEAL_OK);
		ck_assert_msg(promptseal_open_reply(cx, t[i].status, t[i].ct,
		    rep.p, rep.n, &out, &n) == t[i].rc, "%d %s", t[i].status,
		    t[i].ct);
		if (t[i].rc == PROMPTSEAL_OK)
			ck_assert_str_eq(out, REPLY);
		else
			ck_assert_ptr_null(out);
		promptseal_free(out, n);
		sealed_free(&req);
		sealed_free(&rep);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	/* An error of the inference server keeps its status. */
	{
		struct sealed req = {0}, rep = {0};
		promptseal_exchange *cx = client(k, CHAT, REQUEST, &req), *wx;
		static const char err[] = "{\"error\":{\"code\":\"rate\"}}";
		char *out = NULL;
		size_t n = 0;

		wx = worker(CHAT, &req, REQUEST);
		ck_assert_int_eq(promptseal_seal_reply(wx, 429, err,
		    strlen(err), &rep.p, &rep.n), PROMPTSEAL_OK);
		ck_assert_int_eq(promptseal_open_reply(cx, 429, JSON, rep.p,
		    rep.n, &out, &n), PROMPTSEAL_OK);
		ck_assert_str_eq(out, err);
		promptseal_free(out, n);
		sealed_free(&req);
		sealed_free(&rep);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	/* A stream relabelled: its first event does not authenticate. */
	for (i = 0; i < 3; i++) {
		static const int status[] = {201, 200, 200};
		static const char *const ct[] = {SSE, "text/plain", JSON};
		promptseal_exchange *cx, *wx;
		struct sink w, c;

		sealed_stream(k, UPSTREAM, &w, &cx, &wx);
		ck_assert_int_eq(promptseal_stream_open_begin(cx, status[i],
		    ct[i]), PROMPTSEAL_OK);
		sink_init(&c);
		ck_assert_int_eq(promptseal_stream_open_feed(cx, w.all, w.len,
		    sink_write, &c), PROMPTSEAL_E_DECRYPT);
		ck_assert_int_eq(c.calls, 1);
		ck_assert_ptr_nonnull(strstr(c.all, "decrypt_failed"));
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	/* Parameters of the media type do not matter. */
	{
		promptseal_exchange *cx, *wx;
		struct sink w, c;

		sealed_stream(k, UPSTREAM, &w, &cx, &wx);
		ck_assert_int_eq(promptseal_stream_open_begin(cx, 200,
		    "Text/Event-Stream; charset=utf-8"), PROMPTSEAL_OK);
		sink_init(&c);
		ck_assert_int_eq(promptseal_stream_open_feed(cx, w.all, w.len,
		    sink_write, &c), PROMPTSEAL_OK);
		ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write,
		    &c), PROMPTSEAL_OK);
		ck_assert_str_eq(sink_str(&c), PLAIN_STREAM);
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST

/* A request replayed to the worker opens again (the record of what was
 * accepted is the caller's, from promptseal_request_id()), and each
 * opening replies under a reply value of its own. */
START_TEST(test_replay)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed req = {0}, ra = {0}, rb = {0};
	promptseal_exchange *cx = client(k, CHAT, REQUEST, &req);
	promptseal_exchange *wa = worker(CHAT, &req, REQUEST);
	promptseal_exchange *wb = worker(CHAT, &req, REQUEST);
	uint8_t kid[PROMPTSEAL_KID_LEN], na[PROMPTSEAL_NONCE_LEN];
	uint8_t nb[PROMPTSEAL_NONCE_LEN];
	uint64_t ta = 0, tb = 0;
	int64_t now = (int64_t)time(NULL);
	char *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(promptseal_request_id(wa, &ta, kid, na),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_request_id(wb, &tb, NULL, nb),
	    PROMPTSEAL_OK);
	ck_assert(memcmp(kid, KID, sizeof(kid)) == 0);
	ck_assert(memcmp(na, nb, sizeof(na)) == 0);
	ck_assert_uint_eq(ta, tb);
	ck_assert((int64_t)ta >= now - 5 && (int64_t)ta <= now + 5);
	ck_assert_int_eq(promptseal_request_id(wa, NULL, NULL, NULL),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_request_id(cx, &ta, kid, na),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_request_id(NULL, &ta, kid, na),
	    PROMPTSEAL_E_ARG);

	/* The window: [now - W, now + 60 s]. */
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta, 300),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta + 300, 300),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta + 301, 300),
	    PROMPTSEAL_E_STALE);
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta - 60, 300),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta - 61, 300),
	    PROMPTSEAL_E_STALE);
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta + 1, 0),
	    PROMPTSEAL_E_STALE);
	ck_assert_int_eq(promptseal_request_fresh(wa, (int64_t)ta, -1),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_request_fresh(cx, (int64_t)ta, 300),
	    PROMPTSEAL_E_ARG);

	/* Two replies to one request: under two reply values. */
	ck_assert_int_eq(promptseal_seal_reply(wa, 200, REPLY, strlen(REPLY),
	    &ra.p, &ra.n), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_reply(wb, 200, REPLY, strlen(REPLY),
	    &rb.p, &rb.n), PROMPTSEAL_OK);
	ck_assert(memcmp(nth_envelope(ra.p, 0), nth_envelope(rb.p, 0),
	    AT_REPLY) == 0);
	ck_assert(memcmp(nth_envelope(ra.p, 0) + AT_REPLY,
	    nth_envelope(rb.p, 0) + AT_REPLY, 22) != 0);
	/* The client takes the first that comes, and only one. */
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rb.p, rb.n, &out,
	    &n), PROMPTSEAL_OK);
	ck_assert_str_eq(out, REPLY);
	promptseal_free(out, n);
	out = NULL;
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, ra.p, ra.n, &out,
	    &n), PROMPTSEAL_E_ARG);
	sealed_free(&req);
	sealed_free(&ra);
	sealed_free(&rb);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wa);
	promptseal_exchange_free(wb);
	promptseal_key_free(k);
}
END_TEST

/* Padding hides lengths: bodies to the bucket set, stream events to 256
 * bytes unless told otherwise. */
START_TEST(test_padding)
{
	static const char shorter[] =
	    "{\"model\":\"m\",\"messages\":[\"a\"]}";
	static const char longer[] =
	    "{\"model\":\"m\",\"messages\":[\"a much longer prompt\"]}";
	static const char tokens[] =
	    "data: {\"id\":\"c\",\"choices\":[\"P\"]}\n\n"
	    "data: {\"id\":\"c\",\"choices\":[\"aris is the capital\"]}\n\n";
	promptseal_key *k = key(KID, SECRET);
	size_t len[2][2];
	int pad, i;

	for (pad = 0; pad < 2; pad++)
		for (i = 0; i < 2; i++) {
			const char *body = i ? longer : shorter;
			promptseal_exchange *x = NULL, *wx;
			struct sealed req = {0};

			ck_assert_int_eq(promptseal_exchange_new(k, "POST", CHAT,
			    &x), PROMPTSEAL_OK);
			ck_assert_int_eq(promptseal_exchange_pad(x,
			    pad ? 1024 : 0, 0), PROMPTSEAL_OK);
			ck_assert_int_eq(promptseal_seal_request(x, body,
			    strlen(body), &req.p, &req.n), PROMPTSEAL_OK);
			len[pad][i] = req.n;
			/* The worker needs no setting to open it. */
			wx = worker(CHAT, &req, body);
			sealed_free(&req);
			promptseal_exchange_free(x);
			promptseal_exchange_free(wx);
		}
	ck_assert_uint_ne(len[0][0], len[0][1]);
	ck_assert_uint_eq(len[1][0], len[1][1]);
	/* 1024 bytes of plaintext: 1040 with the tag, in base64url. */
	ck_assert_uint_gt(len[1][0], 1386);

	/* Streams: the default bucket makes both events one length; no
	 * padding tells them apart. */
	for (pad = 0; pad < 2; pad++) {
		promptseal_exchange *cx, *wx;
		struct sealed req = {0};
		struct sink w, c;
		char *e2;

		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		if (!pad)
			ck_assert_int_eq(promptseal_exchange_pad(wx, 0, 0),
			    PROMPTSEAL_OK);
		sink_init(&w);
		ck_assert_int_eq(feed(0, wx, tokens, strlen(tokens), 16, &w),
		    PROMPTSEAL_OK);
		e2 = strstr(w.all, "\n\n") + 2;
		len[pad][0] = (size_t)(e2 - w.all);
		len[pad][1] = (size_t)(strstr(e2, "\n\n") + 2 - e2);
		sink_init(&c);
		ck_assert_int_eq(feed(1, cx, w.all, w.len, 7, &c),
		    PROMPTSEAL_OK);
		ck_assert_str_eq(sink_str(&c), tokens);
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	ck_assert_uint_ne(len[0][0], len[0][1]);
	ck_assert_uint_eq(len[1][0], len[1][1]);

	/* A reply body, padded by the worker. */
	for (pad = 0; pad < 2; pad++)
		for (i = 0; i < 2; i++) {
			const char *body = i ? longer : shorter;
			struct sealed req = {0}, rep = {0};
			promptseal_exchange *cx = client(k, CHAT, REQUEST, &req);
			promptseal_exchange *wx = worker(CHAT, &req, REQUEST);
			char *out = NULL;
			size_t n = 0;

			ck_assert_int_eq(promptseal_exchange_pad(wx,
			    pad ? 512 : 0, 0), PROMPTSEAL_OK);
			ck_assert_int_eq(promptseal_seal_reply(wx, 200, body,
			    strlen(body), &rep.p, &rep.n), PROMPTSEAL_OK);
			len[pad][i] = rep.n;
			ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON,
			    rep.p, rep.n, &out, &n), PROMPTSEAL_OK);
			ck_assert_str_eq(out, body);
			promptseal_free(out, n);
			sealed_free(&req);
			sealed_free(&rep);
			promptseal_exchange_free(cx);
			promptseal_exchange_free(wx);
		}
	ck_assert_uint_ne(len[0][0], len[0][1]);
	ck_assert_uint_eq(len[1][0], len[1][1]);
	promptseal_key_free(k);
}
END_TEST

/* ------------------------------------------------------------ streams */

/* How often word occurs in s. */
static int
count(const char *s, const char *word)
{
	int k = 0;

	while ((s = strstr(s, word)) != NULL) {
		k++;
		s++;
	}
	return k;
}

START_TEST(test_stream_round_trip)
{
	static const size_t steps[] = {1, 3, 64, 100000};
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		promptseal_exchange *cx, *wx;
		struct sink w, c;

		sealed_stream(k, UPSTREAM, &w, &cx, &wx);
		/* One sealed event per event, and the final record; nothing
		 * plain, a comment line neither, only the copies of the
		 * plain members. */
		ck_assert_int_eq(w.calls, 4);
		ck_assert_ptr_null(strstr(w.all, "\"content\":\"Par\""));
		ck_assert_ptr_null(strstr(w.all, "[DONE]"));
		ck_assert_ptr_null(strstr(w.all, "comment"));
		ck_assert_int_eq(count(w.all, "data: {\"id\":\"c2\",\"ps2\":"),
		    2);
		ck_assert_int_eq(count(w.all, "data: {\"ps2\":"), 1);
		ck_assert_int_eq(count(w.all, "data: ps2:"), 1);
		sink_init(&c);
		ck_assert_int_eq(feed(1, cx, w.all, w.len, steps[i], &c),
		    PROMPTSEAL_OK);
		ck_assert_int_eq(c.calls, 3);
		ck_assert_str_eq(sink_str(&c), PLAIN_STREAM);
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST


/* What the client writes and returns for a stream of the worker's that is
 * changed by edit. */
static void
check_open(const char *what, void (*edit)(struct sink *w, void *arg),
    void *arg, int want, const char *code)
{
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx, *wx;
	struct sink w, c;
	const char *s;
	size_t i;
	int rc, first;

	sealed_stream(k, UPSTREAM, &w, &cx, &wx);
	edit(&w, arg);
	sink_init(&c);
	begin(cx);
	/* Once the stream has failed, every call returns its error. */
	for (i = 0, first = PROMPTSEAL_OK; i < w.len; i += 11) {
		size_t m = w.len - i < 11 ? w.len - i : 11;

		rc = promptseal_stream_open_feed(cx, w.all + i, m, sink_write,
		    &c);
		if (first == PROMPTSEAL_OK)
			first = rc;
		ck_assert_int_eq(rc, first);
	}
	rc = promptseal_stream_open_finish(cx, sink_write, &c);
	ck_assert_msg(rc == want, "%s: %s", what, promptseal_strerror(rc));
	ck_assert(first == PROMPTSEAL_OK || first == want);
	ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write, &c),
	    PROMPTSEAL_E_ARG);
	s = sink_str(&c);
	ck_assert_msg(c.len > strlen(error_event(code)) &&
	    strcmp(s + c.len - strlen(error_event(code)),
	    error_event(code)) == 0, "%s: ends in %s", what, s);
	/* The error event is the last thing written, and only once. */
	ck_assert_int_eq(count(s, "data: {\"error\":"), 1);
	free(w.all);
	free(c.all);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_key_free(k);
}

static void
edit_flip(struct sink *w, void *arg)
{
	(void)arg;
	flip(nth_envelope(w->all, 0) + 90);
}

/* Cut after the first event. */
static void
edit_cut(struct sink *w, void *arg)
{
	(void)arg;
	w->len = (size_t)(strstr(w->all, "\n\n") + 2 - w->all);
	w->all[w->len] = '\0';
}

/* The end record only, without the events before it. */
static void
edit_drop(struct sink *w, void *arg)
{
	char *last = strstr(w->all, "data: ps2:");

	(void)arg;
	ck_assert_ptr_nonnull(last);
	memmove(w->all, last, strlen(last) + 1);
	w->len = strlen(w->all);
}

/* The two data events swapped. */
static void
edit_swap(struct sink *w, void *arg)
{
	char *e1 = w->all, *e2 = strstr(e1, "\n\n") + 2;
	char *e3 = strstr(e2, "\n\n") + 2;
	size_t n1 = (size_t)(e2 - e1), n2 = (size_t)(e3 - e2);
	char *t = malloc(n1 + n2);

	(void)arg;
	ck_assert_ptr_nonnull(t);
	memcpy(t, e2, n2);
	memcpy(t + n2, e1, n1);
	memcpy(e1, t, n1 + n2);
	free(t);
}

/* Replace the whole stream with text. */
static void
edit_replace(struct sink *w, void *arg)
{
	const char *text = arg;

	free(w->all);
	w->all = strdup(text);
	ck_assert_ptr_nonnull(w->all);
	w->len = strlen(text);
}

/* The events of another exchange under the same key. */
static void
edit_other(struct sink *w, void *arg)
{
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx, *wx;
	struct sink o;

	(void)arg;
	sealed_stream(k, UPSTREAM, &o, &cx, &wx);
	free(w->all);
	*w = o;
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_key_free(k);
}

/* Everything but the final record. */
static void
edit_no_final(struct sink *w, void *arg)
{
	char *last = strstr(w->all, "data: ps2:");

	(void)arg;
	ck_assert_ptr_nonnull(last);
	*last = '\0';
	w->len = strlen(w->all);
}

/* The final record moved before the last event: its count is short. */
static void
edit_final_early(struct sink *w, void *arg)
{
	char *last = strstr(w->all, "data: ps2:"), *prev, *t;
	size_t n;

	(void)arg;
	ck_assert_ptr_nonnull(last);
	/* The event before it starts after the blank line before that. */
	for (prev = last - 2; prev > w->all && !(prev[-1] == '\n' &&
	    prev[-2] == '\n'); prev--)
		;
	n = strlen(last);
	t = strdup(last);
	ck_assert_ptr_nonnull(t);
	memmove(prev + n, prev, (size_t)(last - prev));
	memcpy(prev, t, n);
	free(t);
}

/* Text before the stream. */
static void
edit_prepend(struct sink *w, void *arg)
{
	const char *text = arg;
	size_t n = strlen(text);
	char *np = malloc(n + w->len + 1);

	ck_assert_ptr_nonnull(np);
	memcpy(np, text, n);
	memcpy(np + n, w->all, w->len + 1);
	free(w->all);
	w->all = np;
	w->len += n;
}

/* The first event of a second reply to the very same request (sealed
 * under another reply value), then the rest of the first. */
static void
edit_other_reply(struct sink *w, void *arg)
{
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx, *wx, *wy;
	struct sealed req = {0};
	struct sink o;
	char *e1, *f1;
	size_t n1, nf;

	(void)arg;
	cx = client(k, CHAT, REQUEST, &req);
	wx = worker(CHAT, &req, REQUEST);
	wy = worker(CHAT, &req, REQUEST);
	sink_init(&o);
	ck_assert_int_eq(feed(0, wy, UPSTREAM, strlen(UPSTREAM), 64, &o),
	    PROMPTSEAL_OK);
	free(w->all);
	sink_init(w);
	ck_assert_int_eq(feed(0, wx, UPSTREAM, strlen(UPSTREAM), 64, w),
	    PROMPTSEAL_OK);
	/* Splice: wy's first event, then wx's events from the second. */
	f1 = strstr(o.all, "\n\n") + 2;
	nf = (size_t)(f1 - o.all);
	e1 = strstr(w->all, "\n\n") + 2;
	n1 = (size_t)(e1 - w->all);
	ck_assert(memcmp(o.all, w->all, 6) == 0);
	{
		char *np = malloc(nf + w->len - n1 + 1);

		ck_assert_ptr_nonnull(np);
		memcpy(np, o.all, nf);
		memcpy(np + nf, e1, w->len - n1 + 1);
		free(w->all);
		w->all = np;
		w->len = nf + w->len - n1;
	}
	free(o.all);
	sealed_free(&req);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_exchange_free(wy);
	promptseal_key_free(k);
}

START_TEST(test_stream_tamper)
{
	check_open("changed byte", edit_flip, NULL, PROMPTSEAL_E_DECRYPT,
	    "decrypt_failed");
	check_open("cut", edit_cut, NULL, PROMPTSEAL_E_STREAM_TRUNCATED,
	    "stream_truncated");
	check_open("dropped events", edit_drop, NULL,
	    PROMPTSEAL_E_STREAM_TRUNCATED, "stream_truncated");
	check_open("swapped events", edit_swap, NULL, PROMPTSEAL_E_DECRYPT,
	    "decrypt_failed");
	check_open("another exchange", edit_other, NULL, PROMPTSEAL_E_DECRYPT,
	    "decrypt_failed");
	check_open("plain event", edit_replace,
	    "data: {\"id\":\"x\",\"choices\":[]}\n\n", PROMPTSEAL_E_DECRYPT,
	    "decrypt_failed");
	check_open("plain [DONE]", edit_replace, "data: [DONE]\n\n",
	    PROMPTSEAL_E_DECRYPT, "decrypt_failed");
	check_open("the final record early", edit_final_early, NULL,
	    PROMPTSEAL_E_STREAM_TRUNCATED, "stream_truncated");
	check_open("no final record", edit_no_final, NULL,
	    PROMPTSEAL_E_STREAM_TRUNCATED, "stream_truncated");
	check_open("a plain line", edit_prepend, ": hello\n\n",
	    PROMPTSEAL_E_DECRYPT, "decrypt_failed");
	check_open("an event line", edit_prepend, "event: x\n",
	    PROMPTSEAL_E_DECRYPT, "decrypt_failed");
	check_open("another reply to the same request", edit_other_reply, NULL,
	    PROMPTSEAL_E_DECRYPT, "decrypt_failed");
	check_open("a reply of wire format 1", edit_replace,
	    "data: {\"id\":\"x\",\"choices\":\"ps1:AAAA\"}\n\n",
	    PROMPTSEAL_E_BAD_UPSTREAM, "bad_upstream_response");
	check_open("empty", edit_replace, "", PROMPTSEAL_E_STREAM_TRUNCATED,
	    "stream_truncated");
}
END_TEST

/* A plain error event of the worker's side in the stream is not
 * authenticated: none of its text is passed on, the stream ends with the
 * library's own error event. */
START_TEST(test_stream_worker_error)
{
	static const char ev[] = "data: {\"error\":{\"message\":\"" MARKER
	    "\",\"type\":\"api_error\",\"code\":\"upstream_unavailable\"}}\n\n";
	char expect[512];
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx, *wx;
	struct sink w, c;

	check_open("worker error", edit_replace, (void *)ev,
	    PROMPTSEAL_E_DECRYPT, "decrypt_failed");
	/* Its exact text, and none of the worker's. */
	sealed_stream(k, UPSTREAM, &w, &cx, &wx);
	sink_init(&c);
	ck_assert_int_eq(feed(1, cx, ev, strlen(ev), 7, &c),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert(!c.marker_seen);
	snprintf(expect, sizeof(expect), "data: {\"error\":{\"message\":"
	    "\"%s\",\"type\":\"invalid_request_error\",\"code\":"
	    "\"decrypt_failed\"}}\n\n",
	    promptseal_strerror(PROMPTSEAL_E_DECRYPT));
	ck_assert_str_eq(sink_str(&c), expect);
	free(w.all);
	free(c.all);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_key_free(k);
}
END_TEST

/* The worker seals why the inference server's stream broke off: the
 * client passes the error event on as the stream's last event, and the
 * stream is complete. */
START_TEST(test_stream_sealed_error)
{
	static const struct {
		int why;
		const char *code;
	} t[] = {
		{PROMPTSEAL_E_UPSTREAM, "upstream_unavailable"},
		{PROMPTSEAL_E_TIMEOUT, "upstream_timeout"},
		{PROMPTSEAL_E_TOO_LARGE, "body_too_large"},
	};
	static const char part[] =
	    "data: {\"id\":\"c3\",\"choices\":[]}\n\ndata: {\"id\":";
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		promptseal_exchange *cx, *wx;
		struct sealed req = {0};
		struct sink w, c;
		const char *e = error_event(t[i].code);

		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		sink_init(&w);
		ck_assert_int_eq(promptseal_stream_seal_feed(wx, part,
		    strlen(part), sink_write, &w), PROMPTSEAL_OK);
		ck_assert_int_eq(promptseal_stream_seal_finish(wx, t[i].why,
		    sink_write, &w), PROMPTSEAL_OK);
		/* The event, the error event, the final record; the partial
		 * event is dropped. */
		ck_assert_int_eq(w.calls, 3);
		ck_assert_ptr_null(strstr(w.all, t[i].code));
		sink_init(&c);
		ck_assert_int_eq(feed(1, cx, w.all, w.len, 5, &c),
		    PROMPTSEAL_OK);
		ck_assert_int_eq(c.calls, 2);
		ck_assert(strncmp(c.all, part, 32) == 0);
		ck_assert_uint_gt(c.len, strlen(e));
		ck_assert_str_eq(c.all + c.len - strlen(e), e);
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST

/* A write that fails stops the stream; nothing more is written. */
START_TEST(test_stream_callback_fails)
{
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx, *wx;
	struct sink w, c;
	int calls;

	sealed_stream(k, UPSTREAM, &w, &cx, &wx);
	sink_init(&c);
	c.fail_at = 2;
	begin(cx);
	ck_assert_int_eq(promptseal_stream_open_feed(cx, w.all, w.len,
	    sink_write, &c), PROMPTSEAL_E_CALLBACK);
	calls = c.calls;
	ck_assert_int_eq(calls, 2);
	ck_assert_int_eq(promptseal_stream_open_feed(cx, "\n", 1, sink_write,
	    &c), PROMPTSEAL_E_CALLBACK);
	ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write, &c),
	    PROMPTSEAL_E_CALLBACK);
	ck_assert_int_eq(c.calls, calls);
	free(w.all);
	free(c.all);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);

	/* The worker's side too. */
	{
		struct sealed req = {0};

		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		sink_init(&w);
		w.fail_at = 1;
		ck_assert_int_eq(promptseal_stream_seal_feed(wx, UPSTREAM,
		    strlen(UPSTREAM), sink_write, &w), PROMPTSEAL_E_CALLBACK);
		ck_assert_int_eq(promptseal_stream_seal_finish(wx, PROMPTSEAL_OK, sink_write,
		    &w), PROMPTSEAL_E_CALLBACK);
		ck_assert_int_eq(w.calls, 1);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST

/* What the inference server streams is sealed as it is, whatever it
 * holds; only an event over the limit ends the stream, with a sealed
 * error event. */
START_TEST(test_stream_seal_faults)
{
	static const char *const in[] = {
		"data: not json\n\n",
		"event: x\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\n",
		"",
	};
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		promptseal_exchange *cx, *wx;
		struct sealed req = {0};
		struct sink w, c;

		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		sink_init(&w);
		ck_assert_int_eq(feed(0, wx, in[i], strlen(in[i]), 4, &w),
		    PROMPTSEAL_OK);
		sink_init(&c);
		ck_assert_int_eq(feed(1, cx, w.all, w.len, 9, &c),
		    PROMPTSEAL_OK);
		ck_assert_str_eq(sink_str(&c), in[i]);
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}

	/* A line over 4 MiB. */
	{
		size_t n = (4u << 20) + 16;
		char *big = malloc(n);
		promptseal_exchange *cx, *wx;
		struct sealed req = {0};
		struct sink w, c;
		const char *e = error_event("body_too_large");

		ck_assert_ptr_nonnull(big);
		memset(big, 'x', n);
		memcpy(big, "data: ", 6);
		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		sink_init(&w);
		ck_assert_int_eq(promptseal_stream_seal_feed(wx, big, n,
		    sink_write, &w), PROMPTSEAL_E_TOO_LARGE);
		ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1,
		    sink_write, &w), PROMPTSEAL_E_TOO_LARGE);
		ck_assert_int_eq(promptseal_stream_seal_finish(wx,
		    PROMPTSEAL_OK, sink_write, &w), PROMPTSEAL_E_TOO_LARGE);
		/* The sealed error event and the final record. */
		ck_assert_int_eq(w.calls, 2);
		ck_assert_ptr_null(strstr(sink_str(&w), "body_too_large"));
		sink_init(&c);
		ck_assert_int_eq(feed(1, cx, w.all, w.len, 64, &c),
		    PROMPTSEAL_OK);
		ck_assert_str_eq(sink_str(&c) + c.len - strlen(e), e);
		free(w.all);
		free(c.all);
		free(big);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST

/* ------------------------------------------------------ plain errors */

START_TEST(test_plain_error)
{
	static const struct {
		const char *body;
		int rc;
	} t[] = {
		{"{\"error\":{\"message\":\"m\",\"type\":\"t\","
		    "\"code\":\"unknown_key\"}}", PROMPTSEAL_E_UNKNOWN_KEY},
		{" {\"error\" : {\"code\" : \"no_key\"}} ", PROMPTSEAL_E_NO_KEY},
		{"{\"error\":{\"code\":\"unknown\\u005fkey\"}}",
		    PROMPTSEAL_E_UNKNOWN_KEY},
		{"{\"err\\u006fr\":{\"code\":\"decrypt_failed\"}}",
		    PROMPTSEAL_E_DECRYPT},
		{"{\"error\":{\"code\":\"replayed\"}}", PROMPTSEAL_E_REPLAYED},
		{"{\"error\":{\"code\":\"stale_request\"}}", PROMPTSEAL_E_STALE},
		{"{\"error\":{\"code\":\"internal_error\"}}",
		    PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":{\"code\":\"ok\"}}", PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":{\"code\":\"whatever\"}}", PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":{\"code\":7}}", PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":{\"code\":\"no_key\",\"code\":\"no_key\"}}",
		    PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":{}}", PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":{\"code\":\"no_key\"},\"x\":1}",
		    PROMPTSEAL_E_BAD_UPSTREAM},
		{"{\"error\":\"no_key\"}", PROMPTSEAL_E_BAD_UPSTREAM},
		{"[{\"error\":{\"code\":\"no_key\"}}]", PROMPTSEAL_E_BAD_UPSTREAM},
		{"<html>502</html>", PROMPTSEAL_E_BAD_UPSTREAM},
		{"", PROMPTSEAL_E_BAD_UPSTREAM},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *in = dup_n(t[i].body, strlen(t[i].body));

		ck_assert_msg(promptseal_plain_error(in, strlen(t[i].body)) ==
		    t[i].rc, "%s", t[i].body);
		free(in);
	}
	ck_assert_int_eq(promptseal_plain_error(NULL, 0),
	    PROMPTSEAL_E_BAD_UPSTREAM);
	ck_assert_int_eq(promptseal_plain_error(NULL, 5),
	    PROMPTSEAL_E_BAD_UPSTREAM);
}
END_TEST

/* ------------------------------------------------- failure hygiene */

#if defined(WATCH_FREES)
/* Bodies whose sealed part holds the marker.  Each is refused twice: once
 * for a changed byte of its ciphertext (the tag fails after the bytes
 * were decrypted) and once for a changed plain copy (the original
 * decrypts and authenticates, and only the comparison of the wire form
 * refuses it). */
static const char MARKED[] =
    "{\"model\":\"m\",\"messages\":[\"" MARKER "-1\"]}";
static const char MARKED_REPLY[] =
    "{\"id\":\"r\",\"choices\":[\"" MARKER "-2\"]}";
static const char MARKED_STREAM[] =
    "data: {\"id\":\"s\",\"choices\":[\"" MARKER "-3\"]}\n\n"
    "data: [DONE]\n\n";

/* The client's side of MARKED_STREAM's sealed events w, changed at byte
 * at (a ciphertext byte when flip is set, else the plain copy "s"):
 * refused, and no event with the marker written. */
static void
stream_refused(const promptseal_key *k, size_t at, int do_flip)
{
	promptseal_exchange *cx, *wx;
	struct sealed req = {0};
	struct sink w, c;

	cx = client(k, CHAT, REQUEST, &req);
	wx = worker(CHAT, &req, REQUEST);
	sealed_free(&req);
	sink_init(&w);
	ck_assert_int_eq(feed(0, wx, MARKED_STREAM, strlen(MARKED_STREAM), 9,
	    &w), PROMPTSEAL_OK);
	if (do_flip)
		flip(nth_envelope(w.all, 0) + at);
	else {
		ck_assert_int_eq(w.all[at], 's');
		w.all[at] = 't';
	}
	sink_init(&c);
	c.keep = 0;
	ck_assert_int_eq(feed(1, cx, w.all, w.len, 13, &c),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert(!c.marker_seen);
	free(w.all);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
}

START_TEST(test_failure_wipes)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed req = {0}, rep = {0};
	promptseal_exchange *cx, *wx = NULL;
	struct store st = {0};
	char *out = NULL, *p, save;
	void (*volatile release)(void *);
	size_t n = 0;

	watched = MARKER;
	dirty_frees = 0;

	/* The worker's side. */
	cx = client(k, CHAT, MARKED, &req);
	p = nth_envelope(req.p, 0) + 80;
	save = *p;
	flip(p);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);
	*p = save;
	ck_assert_int_eq(req.p[10], 'm');
	req.p[10] = 'n';
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);
	req.p[10] = 'm';
	wx = worker(CHAT, &req, MARKED);
	sealed_free(&req);

	/* The client's side, a whole reply. */
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, MARKED_REPLY,
	    strlen(MARKED_REPLY), &rep.p, &rep.n), PROMPTSEAL_OK);
	ck_assert_int_eq(rep.p[7], 'r');
	rep.p[7] = 's';
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	sealed_free(&rep);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	cx = client(k, CHAT, MARKED, &req);
	wx = worker(CHAT, &req, MARKED);
	sealed_free(&req);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, MARKED_REPLY,
	    strlen(MARKED_REPLY), &rep.p, &rep.n), PROMPTSEAL_OK);
	flip(nth_envelope(rep.p, 0) + 100);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	sealed_free(&rep);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);

	/* The client's side, a stream. */
	stream_refused(k, 100, 1);
	stream_refused(k, 13, 0);

	/* And what succeeds is wiped by promptseal_free(). */
	cx = client(k, CHAT, MARKED, &req);
	wx = worker(CHAT, &req, MARKED);
	sealed_free(&req);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, MARKED_REPLY,
	    strlen(MARKED_REPLY), &rep.p, &rep.n), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, JSON, rep.p, rep.n,
	    &out, &n), PROMPTSEAL_OK);
	ck_assert_ptr_nonnull(strstr(out, MARKER));
	promptseal_free(out, n);
	sealed_free(&rep);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	ck_assert_int_eq(dirty_frees, 0);
	/* The watch itself works (called through a pointer, so the compiler
	 * cannot drop the block). */
	release = free;
	out = dup_n("x " MARKER, strlen(MARKER) + 2);
	release(out);
	ck_assert_int_eq(dirty_frees, 1);
	watched = NULL;
	promptseal_key_free(k);
}
END_TEST
#endif

static Suite *
promptseal_suite(void)
{
	Suite *s = suite_create("promptseal");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_errors_mapped);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_body_round_trip);
	tcase_add_test(tc, test_fresh_nonce);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_models);
	tcase_add_test(tc, test_request_changed_byte);
	tcase_add_test(tc, test_request_wrong_key);
	tcase_add_test(tc, test_request_not_sealed);
	tcase_add_test(tc, test_reply_other_exchange);
	tcase_add_test(tc, test_reply_changed_byte);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_request_wrong_target);
	tcase_add_test(tc, test_reply_wrong_context);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_padding);
	tcase_add_test(tc, test_stream_round_trip);
	tcase_add_test(tc, test_stream_tamper);
	tcase_add_test(tc, test_stream_worker_error);
	tcase_add_test(tc, test_stream_sealed_error);
	tcase_add_test(tc, test_stream_callback_fails);
	tcase_add_test(tc, test_stream_seal_faults);
	tcase_add_test(tc, test_plain_error);
	tcase_add_test(tc, test_path_id);
#if defined(WATCH_FREES)
	tcase_add_test(tc, test_failure_wipes);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(promptseal_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
