#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/secret.h"
#include "seal/jscan.h"
#include "seal/message.h"

/* protocol.md section 4.  NULL ends a list. */
static const char *const chat_request[] = { "model", "stream",
	"stream_options", "max_tokens", "max_completion_tokens", "n", NULL };
static const char *const completions_request[] = { "model", "stream",
	"stream_options", "max_tokens", "n", NULL };
static const char *const embeddings_request[] = { "model", NULL };
static const char *const completion_response[] = { "id", "usage", NULL };
static const char *const embeddings_response[] = { "usage", NULL };

static const struct {
	const char *method;
	const char *path;
	enum message_endpoint ep;
} routes[] = {
	{ "POST", "/v1/chat/completions", MESSAGE_CHAT },
	{ "POST", "/v1/completions", MESSAGE_COMPLETIONS },
	{ "POST", "/v1/embeddings", MESSAGE_EMBEDDINGS },
	{ "GET", "/v1/models", MESSAGE_MODELS },
};

/* One top-level member, located by the scan.  raw is the name as sent;
 * name is its unescaped UTF-8 form, which the allowlist and the AAD use. */
struct member {
	const char *raw;
	size_t raw_len;
	const char *name;
	size_t name_len;
	size_t name_off;      /* offset in members.names when escaped */
	int escaped;
	const char *value;
	size_t value_len;
	int plain;
};

struct members {
	struct member *v;
	size_t n;
	size_t cap;
	struct buf names;     /* unescaped forms of escaped names */
};

pserr
message_route(const char *method, const char *path, enum message_endpoint *ep)
{
	size_t plen, i;
	const char *q;

	if (method == NULL || path == NULL)
		return PS_ERR_ARG;
	q = strchr(path, '?');
	plen = q != NULL ? (size_t)(q - path) : strlen(path);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strlen(routes[i].path) != plen ||
		    memcmp(routes[i].path, path, plen) != 0)
			continue;
		if (strcmp(routes[i].method, method) != 0)
			return PS_ERR_METHOD;
		*ep = routes[i].ep;
		return PS_OK;
	}
	return PS_ERR_UNKNOWN_ENDPOINT;
}

int
message_is_plain(enum message_endpoint ep, enum envelope_dir dir,
    const char *name, size_t name_len)
{
	const char *const *list;

	switch (ep) {
	case MESSAGE_CHAT:
		list = dir == ENVELOPE_REQUEST ? chat_request :
		    completion_response;
		break;
	case MESSAGE_COMPLETIONS:
		list = dir == ENVELOPE_REQUEST ? completions_request :
		    completion_response;
		break;
	case MESSAGE_EMBEDDINGS:
		list = dir == ENVELOPE_REQUEST ? embeddings_request :
		    embeddings_response;
		break;
	case MESSAGE_MODELS:
		return 1;
	default:
		return 0;
	}
	for (; *list != NULL; list++)
		if (strlen(*list) == name_len &&
		    memcmp(*list, name, name_len) == 0)
			return 1;
	return 0;
}

/* *a += b; PS_ERR_TOO_LARGE when the sum does not fit a size_t. */
static pserr
size_add(size_t *a, size_t b)
{
	if (b > SIZE_MAX - *a)
		return PS_ERR_TOO_LARGE;
	*a += b;
	return PS_OK;
}

static int
name_cmp(const struct member *x, const struct member *y)
{
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int r = n ? memcmp(x->name, y->name, n) : 0;

	if (r != 0)
		return r;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int
member_ptr_cmp(const void *a, const void *b)
{
	return name_cmp(*(const struct member *const *)a,
	    *(const struct member *const *)b);
}

/* Refuse two members with the same unescaped name: peers whose parsers
 * keep the first or the last one would see different messages. */
static pserr
check_duplicates(const struct members *ms)
{
	const struct member **sorted = NULL;
	size_t i;
	pserr rc = PS_OK;

	if (ms->n < 2)
		return PS_OK;
	if (ms->n <= 8) {
		size_t j;

		for (i = 0; i < ms->n; i++)
			for (j = i + 1; j < ms->n; j++)
				if (name_cmp(&ms->v[i], &ms->v[j]) == 0)
					return PS_ERR_INVALID_JSON;
		return PS_OK;
	}
	if ((sorted = calloc(ms->n, sizeof(*sorted))) == NULL)
		return PS_ERR_NOMEM;
	for (i = 0; i < ms->n; i++)
		sorted[i] = &ms->v[i];
	qsort(sorted, ms->n, sizeof(*sorted), member_ptr_cmp);
	for (i = 1; i < ms->n; i++)
		if (name_cmp(sorted[i - 1], sorted[i]) == 0) {
			rc = PS_ERR_INVALID_JSON;
			break;
		}
	free(sorted);
	return rc;
}

static void
members_free(struct members *ms)
{
	free(ms->v);
	ms->v = NULL;
	ms->n = ms->cap = 0;
	buf_free(&ms->names);
}

/*
 * Scan json (len bytes) once: check that it is exactly one JSON object
 * without duplicate names, and note each member with its unescaped name
 * and whether it stays plain for (ep, dir).  Returns PS_ERR_INVALID_JSON,
 * PS_ERR_NOMEM or PS_OK; ms is freed by the caller either way.
 */
static pserr
members_scan(enum message_endpoint ep, enum envelope_dir dir,
    const char *json, size_t len, struct members *ms)
{
	struct jscan_object it;
	struct jscan_member m;
	size_t i;
	int more;
	pserr rc;

	ms->v = NULL;
	ms->n = ms->cap = 0;
	buf_init(&ms->names, len);
	if ((rc = jscan_object_begin(&it, json, len)) != PS_OK)
		return rc;
	for (;;) {
		struct member *e;

		if ((rc = jscan_object_next(&it, &m, &more)) != PS_OK)
			return rc;
		if (!more)
			break;
		if (ms->n == ms->cap) {
			size_t ncap = ms->cap ? ms->cap * 2 : 16;
			struct member *nv;

			if (ncap > SIZE_MAX / sizeof(*nv))
				return PS_ERR_NOMEM;
			if ((nv = realloc(ms->v, ncap * sizeof(*nv))) == NULL)
				return PS_ERR_NOMEM;
			ms->v = nv;
			ms->cap = ncap;
		}
		e = &ms->v[ms->n++];
		e->raw = m.name;
		e->raw_len = m.name_len;
		e->escaped = m.name_escaped;
		e->value = m.value;
		e->value_len = m.value_len;
		e->name = m.name;
		e->name_len = m.name_len;
		e->name_off = 0;
		if (m.name_escaped) {
			e->name_off = ms->names.len;
			if ((rc = jscan_unescape(m.name, m.name_len,
			    &ms->names)) != PS_OK)
				return rc;
			e->name_len = ms->names.len - e->name_off;
		}
	}
	/* The names buffer is complete, so pointers into it are stable. */
	for (i = 0; i < ms->n; i++) {
		struct member *e = &ms->v[i];

		if (e->escaped)
			e->name = ms->names.p + e->name_off;
		e->plain = message_is_plain(ep, dir, e->name, e->name_len);
	}
	return check_duplicates(ms);
}

pserr
message_seal(enum message_endpoint ep, const struct envelope_ctx *c,
    const char *json, size_t len, struct buf *out)
{
	struct members ms;
	size_t start = out->len, need, i;
	pserr rc;

	if ((rc = members_scan(ep, c->dir, json, len, &ms)) != PS_OK)
		goto out;
	if (ep == MESSAGE_MODELS) {
		/* Nothing in it is encrypted: pass it on as it came. */
		rc = buf_append(out, json, len);
		goto out;
	}

	/* {"raw":value,...}: reserve it all so the buffer never moves. */
	need = 2 + (ms.n > 0 ? ms.n - 1 : 0);
	for (i = 0; i < ms.n; i++) {
		const struct member *e = &ms.v[i];

		if ((rc = size_add(&need, e->raw_len + 3)) != PS_OK ||
		    (rc = size_add(&need, e->plain ? e->value_len :
		    envelope_text_len(e->value_len) + 2)) != PS_OK)
			goto out;
	}
	if ((rc = buf_reserve(out, need)) != PS_OK)
		goto out;

	if ((rc = buf_putc(out, '{')) != PS_OK)
		goto out;
	for (i = 0; i < ms.n; i++) {
		const struct member *e = &ms.v[i];

		if (i > 0 && (rc = buf_putc(out, ',')) != PS_OK)
			goto out;
		if ((rc = buf_putc(out, '"')) != PS_OK ||
		    (rc = buf_append(out, e->raw, e->raw_len)) != PS_OK ||
		    (rc = buf_append(out, "\":", 2)) != PS_OK)
			goto out;
		if (e->plain) {
			if ((rc = buf_append(out, e->value, e->value_len)) !=
			    PS_OK)
				goto out;
			continue;
		}
		if ((rc = buf_putc(out, '"')) != PS_OK ||
		    (rc = envelope_seal(c, e->name, e->name_len, e->value,
		    e->value_len, out)) != PS_OK ||
		    (rc = buf_putc(out, '"')) != PS_OK)
			goto out;
	}
	rc = buf_putc(out, '}');
out:
	if (rc != PS_OK && out->len > start) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	members_free(&ms);
	return rc;
}

/* The plaintext length of a well-formed envelope of n text bytes (its
 * form checked by envelope_peek). */
static size_t
open_len(size_t n)
{
	size_t k = n - ENVELOPE_HEADER_LEN;

	return k / 4 * 3 + (k % 4 ? k % 4 - 1 : 0) - ENVELOPE_TAG_LEN;
}

/*
 * Check that the value of a member that must be encrypted is an envelope
 * string and return its text (between the quotes) with its kid and nonce.
 */
static pserr
envelope_member(const struct member *e, struct buf *scratch,
    const char **s, size_t *n, uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t nonce[ENVELOPE_NONCE_LEN])
{
	const char *t;
	size_t tn;
	pserr rc;

	if (e->value[0] != '"')
		return PS_ERR_PLAINTEXT_MEMBER;
	t = e->value + 1;
	tn = e->value_len - 2;
	if (tn < ENVELOPE_PREFIX_LEN ||
	    memcmp(t, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN) != 0) {
		/* A string whose value starts with "ps1:" only once its
		 * escapes are undone is still an envelope, a malformed one.
		 * This path holds plaintext, so the scratch copy is wiped. */
		if (memchr(t, '\\', tn) == NULL)
			return PS_ERR_PLAINTEXT_MEMBER;
		buf_reset(scratch);
		if ((rc = jscan_unescape(t, tn, scratch)) != PS_OK)
			return rc;
		rc = scratch->len >= ENVELOPE_PREFIX_LEN &&
		    memcmp(scratch->p, ENVELOPE_PREFIX,
		    ENVELOPE_PREFIX_LEN) == 0 ? PS_ERR_INVALID_ENVELOPE :
		    PS_ERR_PLAINTEXT_MEMBER;
		buf_reset(scratch);
		return rc;
	}
	/* Envelope text has no character that needs an escape, so a
	 * backslash in it is refused by envelope_peek() like any other
	 * stray byte. */
	if ((rc = envelope_peek(t, tn, kid, nonce)) != PS_OK)
		return rc;
	*s = t;
	*n = tn;
	return PS_OK;
}

pserr
message_open(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *json, size_t len,
    struct buf *out)
{
	uint8_t key[ENVELOPE_KEY_LEN];
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	uint8_t got_kid[ENVELOPE_KID_LEN], got_nonce[ENVELOPE_NONCE_LEN];
	struct envelope_ctx oc;
	struct members ms;
	struct buf scratch;
	size_t start = out->len, need, i, sealed = 0;
	const char *t;
	size_t tn;
	pserr rc;

	buf_init(&scratch, len);
	if ((rc = members_scan(ep, c->dir, json, len, &ms)) != PS_OK)
		goto out;
	if (ep == MESSAGE_MODELS) {
		rc = buf_append(out, json, len);
		goto out;
	}

	/* Check the form of every member before any key is looked up or
	 * any value decrypted, so the first fault in the body decides the
	 * error whatever the key.  need cannot overflow: the output is
	 * never longer than the input. */
	need = 2 + (ms.n > 0 ? ms.n - 1 : 0);
	for (i = 0; i < ms.n; i++) {
		const struct member *e = &ms.v[i];

		need += e->raw_len + 3;
		if (e->plain) {
			need += e->value_len;
			continue;
		}
		if ((rc = envelope_member(e, &scratch, &t, &tn, got_kid,
		    got_nonce)) != PS_OK)
			goto out;
		if (sealed == 0) {
			/* The expected pair: the caller's, or the first met. */
			memcpy(kid, lookup == NULL ? c->kid : got_kid,
			    sizeof(kid));
			memcpy(nonce, lookup == NULL ? c->nonce : got_nonce,
			    sizeof(nonce));
		}
		if (memcmp(got_kid, kid, sizeof(kid)) != 0 ||
		    memcmp(got_nonce, nonce, sizeof(nonce)) != 0) {
			rc = PS_ERR_INVALID_ENVELOPE;
			goto out;
		}
		need += open_len(tn);
		sealed++;
	}
	if (sealed == 0) {
		rc = PS_ERR_INVALID_ENVELOPE;
		goto out;
	}

	oc = *c;
	if (lookup != NULL) {
		if ((rc = lookup(arg, kid, key)) != PS_OK)
			goto out;
		memcpy(oc.kid, kid, sizeof(kid));
		memcpy(oc.nonce, nonce, sizeof(nonce));
		oc.key = key;
	}
	if ((rc = buf_reserve(out, need)) != PS_OK)
		goto out;

	if ((rc = buf_putc(out, '{')) != PS_OK)
		goto out;
	for (i = 0; i < ms.n; i++) {
		const struct member *e = &ms.v[i];
		size_t vstart;

		if (i > 0 && (rc = buf_putc(out, ',')) != PS_OK)
			goto out;
		if ((rc = buf_putc(out, '"')) != PS_OK ||
		    (rc = buf_append(out, e->raw, e->raw_len)) != PS_OK ||
		    (rc = buf_append(out, "\":", 2)) != PS_OK)
			goto out;
		if (e->plain) {
			if ((rc = buf_append(out, e->value, e->value_len)) !=
			    PS_OK)
				goto out;
			continue;
		}
		vstart = out->len;
		if ((rc = envelope_open(&oc, e->name, e->name_len,
		    e->value + 1, e->value_len - 2, out)) != PS_OK)
			goto out;
		/* One level is taken by the object it is spliced into. */
		if (jscan_value(out->p + vstart, out->len - vstart,
		    JSCAN_MAX_DEPTH - 1) != PS_OK) {
			rc = PS_ERR_INVALID_ENVELOPE;
			goto out;
		}
	}
	if ((rc = buf_putc(out, '}')) != PS_OK)
		goto out;
	if (lookup != NULL) {
		memcpy(c->kid, kid, sizeof(kid));
		memcpy(c->nonce, nonce, sizeof(nonce));
	}
out:
	if (rc != PS_OK && out->len > start) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	secret_wipe(key, sizeof(key));
	buf_free(&scratch);
	members_free(&ms);
	return rc;
}
