/*
 * The public library, through its installed interface only: this suite
 * links libpromptseal.la and includes nothing but promptseal.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <promptseal.h>

#define CHAT "/v1/chat/completions"
#define MARKER "SECRET-MARKER"

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
		p = strstr(p, "\"ps1:");
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

/* Feed s (n bytes) in pieces of step bytes to the worker's or client's
 * side, then finish; returns the first error. */
static int
feed(int open, promptseal_exchange *x, const char *s, size_t n, size_t step,
    struct sink *k)
{
	size_t i;
	int rc = PROMPTSEAL_OK;

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
	    promptseal_stream_seal_finish(x, sink_write, k);
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
	ck_assert_str_eq(promptseal_strerror(15), "unknown error");
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
		{"/v1/completions?x=1",
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
		/* What crosses holds no plaintext of a sealed member. */
		ck_assert_ptr_null(strstr(req.p, MARKER));
		ck_assert_ptr_null(strstr(req.p, "capital"));
		ck_assert_ptr_nonnull(strstr(req.p, "\"model\":"));
		wx = worker(t[i].path, &req, t[i].req);

		in = dup_n(t[i].rep, strlen(t[i].rep));
		ck_assert_int_eq(promptseal_seal_reply(wx, 200, in,
		    strlen(t[i].rep), &rep.p, &rep.n), PROMPTSEAL_OK);
		free(in);
		ck_assert_uint_eq(strlen(rep.p), rep.n);
		ck_assert_ptr_null(strstr(rep.p, MARKER));
		ck_assert_ptr_null(strstr(rep.p, "Paris"));
		ck_assert_int_eq(promptseal_open_reply(cx, 200, rep.p, rep.n,
		    &out, &n), PROMPTSEAL_OK);
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
	ck_assert(memcmp(nth_envelope(a.p, 0) + 37, nth_envelope(b.p, 0) + 37,
	    22) != 0);
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

/* GET /v1/models: no body, and a reply that is checked, not sealed. */
START_TEST(test_models)
{
	static const char list[] = "{\"object\":\"list\",\"data\":[]}";
	promptseal_key *k = key(KID, SECRET);
	promptseal_exchange *cx = NULL, *wx = NULL;
	struct store st = {0};
	char *out = NULL, *rep = NULL, *plain = NULL;
	size_t n = 99, rn = 0, pn = 0;

	ck_assert_int_eq(promptseal_exchange_new(k, "GET", "/v1/models", &cx),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_request(cx, "{}", 2, &out, &n),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_seal_request(cx, NULL, 0, &out, &n),
	    PROMPTSEAL_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	promptseal_free(out, n);

	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET",
	    "/v1/models", "{}", 2, &wx, &out, &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "GET",
	    "/v1/models", NULL, 0, &wx, &out, &n), PROMPTSEAL_OK);
	ck_assert_uint_eq(n, 0);
	promptseal_free(out, n);
	ck_assert_int_eq(st.calls, 0);
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, list, strlen(list),
	    &rep, &rn), PROMPTSEAL_OK);
	ck_assert_str_eq(rep, list);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1, sink_write,
	    NULL), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, "[]", 2, &plain, &pn),
	    PROMPTSEAL_E_INVALID_JSON);
	promptseal_exchange_free(cx);

	ck_assert_int_eq(promptseal_exchange_new(k, "GET", "/v1/models", &cx),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_seal_request(cx, NULL, 0, &out, &n),
	    PROMPTSEAL_OK);
	promptseal_free(out, n);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, rep, rn, &plain, &pn),
	    PROMPTSEAL_OK);
	ck_assert_str_eq(plain, list);
	promptseal_free(plain, pn);
	promptseal_free(rep, rn);
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

		flip(env + 90);
		ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST",
		    CHAT, req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
		ck_assert_ptr_null(wx);
		ck_assert_ptr_null(out);
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
		{"{\"model\":\"m\",\"model\":\"m\"}", PROMPTSEAL_E_INVALID_JSON},
		{"{\"model\":\"m\",\"messages\":[]}", PROMPTSEAL_E_PLAINTEXT_MEMBER},
		{"{\"model\":\"m\"}", PROMPTSEAL_E_INVALID_ENVELOPE},
		{"{\"messages\":\"ps1:00\"}", PROMPTSEAL_E_INVALID_ENVELOPE},
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
	ck_assert_int_eq(promptseal_open_reply(a, 200, rep.p, rep.n, &out, &n),
	    PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_ptr_null(out);
	/* One reply per exchange: a's is spent. */
	ck_assert_int_eq(promptseal_open_reply(a, 200, rep.p, rep.n, &out, &n),
	    PROMPTSEAL_E_ARG);
	sealed_free(&ra);
	sealed_free(&rb);
	sealed_free(&rep);
	promptseal_exchange_free(a);
	promptseal_exchange_free(b);
	promptseal_exchange_free(wb);

	/* A request sent back to its client as the reply: the wrong
	 * direction (a body with sealed members only, so that none is
	 * refused as plain first). */
	b = client(k, CHAT, "{\"messages\":[1]}", &rb);
	ck_assert_int_eq(promptseal_open_reply(b, 200, rb.p, rb.n, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
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
	ck_assert_int_eq(promptseal_open_reply(cx, 200, rep.p, rep.n, &out,
	    &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	sealed_free(&rep);
	sealed_free(&req);
	promptseal_exchange_free(cx);

	/* A client under another secret with the same key ID. */
	cx = client(k2, CHAT, REQUEST, &req);
	sealed_free(&req);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, "{\"choices\":1}", 13,
	    &out, &n), PROMPTSEAL_E_PLAINTEXT_MEMBER);
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
	struct sink sk;
	char *out = NULL;
	size_t n = 0;

	sink_init(&sk);
	ck_assert_int_eq(promptseal_exchange_new(k, "POST", CHAT, &fresh),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(fresh, 200, "{}", 2, &out, &n),
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
	ck_assert_int_eq(promptseal_open_reply(wx, 200, req.p, req.n, &out,
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
	ck_assert_int_eq(promptseal_open_reply(cx, 0, "{}", 2, &out, &n),
	    PROMPTSEAL_E_ARG);
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
	ck_assert_int_eq(promptseal_open_reply(cx, 200, rep.p, rep.n, &out,
	    &n), PROMPTSEAL_OK);
	promptseal_free(out, n);
	out = NULL;
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
	ck_assert_int_eq(promptseal_stream_seal_finish(wx, sink_write, &sk),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_stream_seal_feed(wx, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_finish(wx, sink_write, &sk),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_feed(cx, sk.all, sk.len,
	    sink_write, &sk), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, rep.p, rep.n, &out,
	    &n), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write, &sk),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_stream_open_finish(cx, sink_write, &sk),
	    PROMPTSEAL_E_ARG);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(promptseal_stream_open_feed(NULL, "x", 1, sink_write,
	    &sk), PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_open_finish(NULL, sink_write, &sk),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_stream_seal_finish(NULL, sink_write, &sk),
	    PROMPTSEAL_E_ARG);
	free(sk.all);
	sealed_free(&req);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	promptseal_exchange_free(NULL);
	promptseal_key_free(k);
}
END_TEST

/* ------------------------------------------------------------ streams */

START_TEST(test_stream_round_trip)
{
	static const size_t steps[] = {1, 3, 64, 100000};
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		promptseal_exchange *cx, *wx;
		struct sink w, c;

		sealed_stream(k, UPSTREAM, &w, &cx, &wx);
		/* One sealed event per event, and the end; nothing plain. */
		ck_assert_int_eq(w.calls, 3);
		ck_assert_ptr_null(strstr(w.all, "Par"));
		ck_assert_ptr_null(strstr(w.all, "[DONE]"));
		ck_assert_ptr_nonnull(strstr(w.all, ": a comment\n"));
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
	char *last = strstr(w->all, "data: ps1:");

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
	    PROMPTSEAL_E_STREAM_TRUNCATED, "stream_truncated");
	check_open("empty", edit_replace, "", PROMPTSEAL_E_STREAM_TRUNCATED,
	    "stream_truncated");
}
END_TEST

/* The worker's plain error event is told in the library's words. */
START_TEST(test_stream_worker_error)
{
	static const char ev[] = "data: {\"error\":{\"message\":\"" MARKER
	    "\",\"type\":\"api_error\",\"code\":\"upstream_unavailable\"}}\n\n";
	static const char odd[] = "data: {\"error\":{\"message\":\"" MARKER
	    "\",\"code\":\"" MARKER "\"}}\n\n";
	char expect[512];

	check_open("worker error", edit_replace, (void *)ev,
	    PROMPTSEAL_E_UPSTREAM, "upstream_unavailable");
	check_open("worker error, code unknown", edit_replace, (void *)odd,
	    PROMPTSEAL_E_BAD_UPSTREAM, "bad_upstream_response");
	/* Its exact text, and none of the worker's. */
	{
		promptseal_key *k = key(KID, SECRET);
		promptseal_exchange *cx, *wx;
		struct sink w, c;

		sealed_stream(k, UPSTREAM, &w, &cx, &wx);
		sink_init(&c);
		ck_assert_int_eq(feed(1, cx, ev, strlen(ev), 7, &c),
		    PROMPTSEAL_E_UPSTREAM);
		ck_assert(!c.marker_seen);
		snprintf(expect, sizeof(expect), "data: {\"error\":{\"message\":"
		    "\"%s\",\"type\":\"api_error\",\"code\":"
		    "\"upstream_unavailable\"}}\n\n",
		    promptseal_strerror(PROMPTSEAL_E_UPSTREAM));
		ck_assert_str_eq(sink_str(&c), expect);
		free(w.all);
		free(c.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
		promptseal_key_free(k);
	}
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
		ck_assert_int_eq(promptseal_stream_seal_finish(wx, sink_write,
		    &w), PROMPTSEAL_E_CALLBACK);
		ck_assert_int_eq(w.calls, 1);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}
	promptseal_key_free(k);
}
END_TEST

/* Faults of the inference server's stream, on the worker's side. */
START_TEST(test_stream_seal_faults)
{
	static const struct {
		const char *in;
		int rc;
		const char *code;
	} t[] = {
		{"data: not json\n\n", PROMPTSEAL_E_BAD_UPSTREAM,
		    "bad_upstream_response"},
		{"data: {\"id\":\"a\",\"choices\":[]}\n\n", PROMPTSEAL_E_UPSTREAM,
		    "upstream_unavailable"},
		{"", PROMPTSEAL_E_UPSTREAM, "upstream_unavailable"},
	};
	promptseal_key *k = key(KID, SECRET);
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		promptseal_exchange *cx, *wx;
		struct sealed req = {0};
		struct sink w;
		const char *e = error_event(t[i].code);

		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		sink_init(&w);
		ck_assert_int_eq(feed(0, wx, t[i].in, strlen(t[i].in), 4, &w),
		    t[i].rc);
		ck_assert_uint_gt(w.len, strlen(e));
		ck_assert_str_eq(w.all + w.len - strlen(e), e);
		free(w.all);
		promptseal_exchange_free(cx);
		promptseal_exchange_free(wx);
	}

	/* A line over 4 MiB. */
	{
		size_t n = (4u << 20) + 16;
		char *big = malloc(n);
		promptseal_exchange *cx, *wx;
		struct sealed req = {0};
		struct sink w;

		ck_assert_ptr_nonnull(big);
		memset(big, 'x', n);
		memcpy(big, "data: ", 6);
		cx = client(k, CHAT, REQUEST, &req);
		wx = worker(CHAT, &req, REQUEST);
		sealed_free(&req);
		sink_init(&w);
		ck_assert_int_eq(promptseal_stream_seal_feed(wx, big, n,
		    sink_write, &w), PROMPTSEAL_E_TOO_LARGE);
		ck_assert_ptr_nonnull(strstr(sink_str(&w), "body_too_large"));
		free(w.all);
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

/* ------------------------------------------------------------ values */

START_TEST(test_value)
{
	static const char pt[] = "binary\0" MARKER "\xff";
	promptseal_key *k = key(KID, SECRET), *k2 = key(KID, SECRET2);
	promptseal_key *k3 = key(KID2, SECRET);
	char *v = NULL, *out = NULL, *w = NULL;
	size_t vn = 0, n = 0, wn = 0;
	int rc;

	ck_assert_int_eq(promptseal_value_seal(k, "label", pt, sizeof(pt),
	    &v, &vn), PROMPTSEAL_OK);
	ck_assert_uint_eq(strlen(v), vn);
	ck_assert_ptr_null(strstr(v, "binary"));
	ck_assert_int_eq(promptseal_value_open(k, "label", v, vn, &out, &n),
	    PROMPTSEAL_OK);
	ck_assert_uint_eq(n, sizeof(pt));
	ck_assert(memcmp(out, pt, n) == 0);
	ck_assert_int_eq(out[n], '\0');
	promptseal_free(out, n);
	out = NULL;
	n = 0;

	/* Sealed twice: two different texts. */
	ck_assert_int_eq(promptseal_value_seal(k, "label", pt, sizeof(pt),
	    &w, &wn), PROMPTSEAL_OK);
	ck_assert_str_ne(v, w);
	promptseal_free(w, wn);

	ck_assert_int_eq(promptseal_value_open(k, "Label", v, vn, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(promptseal_value_open(k, "", v, vn, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(promptseal_value_open(k2, "label", v, vn, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_int_eq(promptseal_value_open(k3, "label", v, vn, &out, &n),
	    PROMPTSEAL_E_UNKNOWN_KEY);
	rc = promptseal_value_open(k, "label", v, vn - 1, &out, &n);
	ck_assert(rc == PROMPTSEAL_E_DECRYPT ||
	    rc == PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_int_eq(promptseal_value_open(k, "label", v, 20, &out, &n),
	    PROMPTSEAL_E_INVALID_ENVELOPE);
	ck_assert_int_eq(promptseal_value_open(k, "label", "ps1:", 4, &out,
	    &n), PROMPTSEAL_E_INVALID_ENVELOPE);
	flip(v + 90);
	ck_assert_int_eq(promptseal_value_open(k, "label", v, vn, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	promptseal_free(v, vn);

	/* Empty label and empty value. */
	ck_assert_int_eq(promptseal_value_seal(k, "", NULL, 0, &v, &vn),
	    PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_value_open(k, "", v, vn, &out, &n),
	    PROMPTSEAL_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	promptseal_free(out, n);
	promptseal_free(v, vn);

	ck_assert_int_eq(promptseal_value_seal(NULL, "", "x", 1, &v, &vn),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_value_seal(k, NULL, "x", 1, &v, &vn),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_value_seal(k, "", NULL, 1, &v, &vn),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_value_open(k, "", NULL, 1, &out, &n),
	    PROMPTSEAL_E_ARG);
	ck_assert_int_eq(promptseal_value_open(k, "", "x", 1, NULL, &n),
	    PROMPTSEAL_E_ARG);
	promptseal_key_free(k);
	promptseal_key_free(k2);
	promptseal_key_free(k3);
}
END_TEST

/* ------------------------------------------------- failure hygiene */

#if defined(WATCH_FREES)
/* A chat request whose first sealed member holds the marker and decrypts,
 * and whose second does not authenticate. */
static const char MARKED[] =
    "{\"model\":\"m\",\"messages\":[\"" MARKER "-1\"],\"tools\":[1]}";
static const char MARKED_REPLY[] =
    "{\"id\":\"r\",\"choices\":[\"" MARKER "-2\"],\"x\":1}";
static const char MARKED_STREAM[] =
    "data: {\"id\":\"s\",\"choices\":[\"" MARKER "-3\"],\"x\":1}\n\n"
    "data: [DONE]\n\n";

START_TEST(test_failure_wipes)
{
	promptseal_key *k = key(KID, SECRET);
	struct sealed req = {0}, rep = {0};
	promptseal_exchange *cx, *wx = NULL;
	struct store st = {0};
	struct sink w, c;
	char *out = NULL, *v = NULL, *p, save;
	void (*volatile release)(void *);
	size_t n = 0, vn = 0;

	watched = MARKER;
	dirty_frees = 0;

	/* The worker's side. */
	cx = client(k, CHAT, MARKED, &req);
	p = nth_envelope(req.p, 1) + 80;
	save = *p;
	flip(p);
	ck_assert_int_eq(promptseal_open_request(lookup, &st, "POST", CHAT,
	    req.p, req.n, &wx, &out, &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(wx);
	ck_assert_ptr_null(out);
	*p = save;
	wx = worker(CHAT, &req, MARKED);
	sealed_free(&req);

	/* The client's side, a whole reply. */
	ck_assert_int_eq(promptseal_seal_reply(wx, 200, MARKED_REPLY,
	    strlen(MARKED_REPLY), &rep.p, &rep.n), PROMPTSEAL_OK);
	flip(nth_envelope(rep.p, 1) + 80);
	ck_assert_int_eq(promptseal_open_reply(cx, 200, rep.p, rep.n, &out,
	    &n), PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	sealed_free(&rep);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);

	/* The client's side, a stream. */
	cx = client(k, CHAT, REQUEST, &req);
	wx = worker(CHAT, &req, REQUEST);
	sealed_free(&req);
	sink_init(&w);
	ck_assert_int_eq(feed(0, wx, MARKED_STREAM, strlen(MARKED_STREAM), 9,
	    &w), PROMPTSEAL_OK);
	flip(nth_envelope(w.all, 1) + 80);
	sink_init(&c);
	c.keep = 0;
	ck_assert_int_eq(feed(1, cx, w.all, w.len, 13, &c),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert(!c.marker_seen);
	free(w.all);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);

	/* One value. */
	ck_assert_int_eq(promptseal_value_seal(k, "a", MARKER, strlen(MARKER),
	    &v, &vn), PROMPTSEAL_OK);
	ck_assert_int_eq(promptseal_value_open(k, "b", v, vn, &out, &n),
	    PROMPTSEAL_E_DECRYPT);
	ck_assert_ptr_null(out);
	/* And what succeeds is wiped by promptseal_free(). */
	ck_assert_int_eq(promptseal_value_open(k, "a", v, vn, &out, &n),
	    PROMPTSEAL_OK);
	ck_assert_str_eq(out, MARKER);
	promptseal_free(out, n);
	promptseal_free(v, vn);
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
	tcase_add_test(tc, test_models);
	tcase_add_test(tc, test_request_changed_byte);
	tcase_add_test(tc, test_request_wrong_key);
	tcase_add_test(tc, test_request_not_sealed);
	tcase_add_test(tc, test_reply_other_exchange);
	tcase_add_test(tc, test_reply_changed_byte);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_stream_round_trip);
	tcase_add_test(tc, test_stream_tamper);
	tcase_add_test(tc, test_stream_worker_error);
	tcase_add_test(tc, test_stream_callback_fails);
	tcase_add_test(tc, test_stream_seal_faults);
	tcase_add_test(tc, test_plain_error);
	tcase_add_test(tc, test_value);
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
