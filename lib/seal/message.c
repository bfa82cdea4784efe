/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/caps.h"
#include "core/secret.h"
#include "seal/jscan.h"
#include "seal/message.h"
#include "seal/message_wire.h"
#include "seal/sse.h"

/* protocol.md section 4.  NULL ends a list. */
static const char *const chat_request[] = { "model", "stream",
	"stream_options", "max_tokens", "max_completion_tokens", "n", NULL };
static const char *const completions_request[] = { "model", "stream",
	"stream_options", "max_tokens", "n", NULL };
static const char *const model_only[] = { "model", NULL };
static const char *const responses_request[] = { "model", "stream",
	"max_output_tokens", NULL };
static const char *const messages_request[] = { "model", "stream",
	"max_tokens", NULL };
static const char *const completion_reply[] = { "id", "usage", NULL };
static const char *const usage_only[] = { "usage", NULL };
/* Multipart fields (lib/seal/multipart.c); the reply's plain members. */
static const char *const audio_request[] = { "model", "stream", NULL };
static const char *const audio_reply[] = { "usage", NULL };
static const char *const none[] = { NULL };

/*
 * Every endpoint, indexed by its name.  A path holds at most one "{id}"
 * (where a path parameter goes, see id_ok()); kind says which ids are
 * allowed there.  An entry without a path is not routed (yet).
 */
enum id_kind { ID_NONE = 0, ID_OPAQUE, ID_MODEL };

static const struct endpoint {
	const char *method;
	const char *path;        /* the canonical path, or a template */
	enum id_kind id;
	int bodyless;
	const char *name;        /* a unique name, for metrics */
	const char *const *request;  /* plain members */
	const char *const *reply;
} endpoints[MESSAGE_ENDPOINT_COUNT] = {
	[MESSAGE_CHAT] = { "POST", "/v1/chat/completions", ID_NONE, 0,
	    NULL, chat_request, completion_reply },
	[MESSAGE_COMPLETIONS] = { "POST", "/v1/completions", ID_NONE, 0,
	    NULL, completions_request, completion_reply },
	[MESSAGE_EMBEDDINGS] = { "POST", "/v1/embeddings", ID_NONE, 0,
	    NULL, model_only, usage_only },
	[MESSAGE_MODELS] = { "GET", "/v1/models", ID_NONE, 1,
	    NULL, none, none },
	[MESSAGE_MODEL] = { "GET", "/v1/models/{id}", ID_MODEL, 1,
	    NULL, none, none },
	[MESSAGE_RESPONSES] = { "POST", "/v1/responses", ID_NONE, 0,
	    NULL, responses_request, completion_reply },
	[MESSAGE_RESPONSE_GET] = { "GET", "/v1/responses/{id}", ID_OPAQUE, 1,
	    NULL, none, none },
	[MESSAGE_RESPONSE_DELETE] = { "DELETE", "/v1/responses/{id}",
	    ID_OPAQUE, 1, "DELETE /v1/responses/{id}", none, none },
	[MESSAGE_RESPONSE_INPUT_ITEMS] = { "GET",
	    "/v1/responses/{id}/input_items", ID_OPAQUE, 1, NULL, none, none },
	[MESSAGE_RESPONSE_CANCEL] = { "POST", "/v1/responses/{id}/cancel",
	    ID_OPAQUE, 1, NULL, none, none },
	[MESSAGE_MESSAGES] = { "POST", "/v1/messages", ID_NONE, 0,
	    NULL, messages_request, completion_reply },
	[MESSAGE_COUNT_TOKENS] = { "POST", "/v1/messages/count_tokens",
	    ID_NONE, 0, NULL, model_only, none },
	[MESSAGE_RERANK] = { "POST", "/v1/rerank", ID_NONE, 0,
	    NULL, model_only, usage_only },
	[MESSAGE_SCORE] = { "POST", "/v1/score", ID_NONE, 0,
	    NULL, model_only, usage_only },
	[MESSAGE_TOKENIZE] = { "POST", "/tokenize", ID_NONE, 0,
	    NULL, model_only, none },
	[MESSAGE_DETOKENIZE] = { "POST", "/detokenize", ID_NONE, 0,
	    NULL, model_only, none },
	[MESSAGE_TRANSCRIPTIONS] = { "POST", "/v1/audio/transcriptions",
	    ID_NONE, 0, NULL, audio_request, audio_reply },
	[MESSAGE_TRANSLATIONS] = { "POST", "/v1/audio/translations",
	    ID_NONE, 0, NULL, audio_request, audio_reply },
};

/* The longest routed request, "DELETE" or "POST", NUL, the longest
 * template with an id of PS_CAP_PATH_ID bytes, must fit the AAD's ctx. */
_Static_assert(ENVELOPE_BIND_MAX >= 7 + sizeof("/v1/responses//input_items") +
    PS_CAP_PATH_ID, "ENVELOPE_BIND_MAX holds no request with the longest id");

/* Further paths of one endpoint: vLLM serves rerank under three. */
static const struct {
	const char *path;
	enum message_endpoint ep;
} aliases[] = {
	{ "/rerank", MESSAGE_RERANK },
	{ "/v2/rerank", MESSAGE_RERANK },
};


/* One top-level member, located by the scan.  raw is the name as sent;
 * name is its unescaped UTF-8 form, which the allowlist uses. */
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

/* Room for this many members without an allocation: a stream event has
 * about eight, and each event is scanned on its own. */
#define MEMBERS_INLINE 16

struct members {
	struct member *v;     /* inl, or allocated when there are more */
	size_t n;
	size_t cap;
	struct buf names;     /* unescaped forms of escaped names */
	struct member inl[MEMBERS_INLINE];
};

void
message_target(const char *uri, size_t *path_len, const char **query,
    size_t *query_len)
{
	const char *q = strchr(uri, '?');

	if (q == NULL) {
		*path_len = strlen(uri);
		*query = NULL;
		*query_len = 0;
		return;
	}
	*path_len = (size_t)(q - uri);
	*query = q + 1;
	*query_len = strlen(q + 1);
}

int
message_media_type(const char *ct, char *out, size_t outlen)
{
	size_t n = 0;
	const char *e;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (e = ct; *e != '\0' && *e != ';'; e++)
		;
	while (e > ct && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if ((size_t)(e - ct) >= outlen)
		return -1;
	for (; ct < e; ct++) {
		unsigned char c = (unsigned char)*ct;

		if (c < 0x20 || c == 0x7f)
			return -1;
		out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	return (int)n;
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static unsigned
hex_val(unsigned char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The bytes an id may hold, plain or percent-encoded: none of them is
 * special in a path, a query or to any URL decoder. */
static int
id_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '~' || c == ':' || c == '@' || c == '+' || c == '=';
}

/* 1 when a segment of an id of n decoded bytes, dots of them ".", may
 * stand: not empty, not "." or "..". */
static int
segment_ok(size_t n, size_t dots)
{
	return n > 0 && !(n == dots && n <= 2);
}

/*
 * A path parameter (protocol.md section 4, *Path parameters*): 1 to
 * PS_CAP_PATH_ID bytes of id_char() or "%XX" with XX hex of an id_char()
 * byte; for a model id also "%2F" (an encoded "/", which the proxies
 * never decode), with no segment between two of them, nor the whole id,
 * empty, "." or "..".  A plain "/" or "\", a "%" that is not "%XX", an
 * encoded "%", "\", control byte or non-ASCII byte is refused, so that
 * no decoding, however often done, reaches another path.
 */
static int
id_ok(const char *s, size_t n, enum id_kind kind)
{
	size_t i, seg = 0, dots = 0;

	if (n == 0 || n > PS_CAP_PATH_ID)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (n - i < 3 || !is_hex((unsigned char)s[i + 1]) ||
			    !is_hex((unsigned char)s[i + 2]))
				return 0;
			c = (unsigned char)(hex_val((unsigned char)s[i + 1]) << 4 |
			    hex_val((unsigned char)s[i + 2]));
			i += 2;
			if (c == '/' && kind == ID_MODEL) {
				if (!segment_ok(seg, dots))
					return 0;
				seg = dots = 0;
				continue;
			}
		}
		if (!id_char(c))
			return 0;
		seg++;
		if (c == '.')
			dots++;
	}
	return segment_ok(seg, dots);
}

/* 1 when path (n bytes) matches template t, a "{id}" standing for an id
 * of kind. */
static int
path_matches(const char *t, enum id_kind kind, const char *path, size_t n)
{
	const char *brace = strstr(t, "{id}");
	size_t head, tail;

	if (brace == NULL)
		return strlen(t) == n && memcmp(t, path, n) == 0;
	head = (size_t)(brace - t);
	tail = strlen(brace + 4);
	if (n < head + tail || memcmp(t, path, head) != 0 ||
	    memcmp(brace + 4, path + n - tail, tail) != 0)
		return 0;
	return id_ok(path + head, n - head - tail, kind);
}

pserr
message_route(const char *method, const char *path, size_t path_len,
    enum message_endpoint *ep)
{
	size_t i;
	int known = 0;

	if (method == NULL || path == NULL)
		return PS_ERR_ARG;
	/* Several endpoints may share a path, told apart by the method. */
	for (i = 0; i < MESSAGE_ENDPOINT_COUNT; i++) {
		const struct endpoint *e = &endpoints[i];

		if (e->path == NULL || !path_matches(e->path, e->id, path,
		    path_len))
			continue;
		if (strcmp(e->method, method) == 0) {
			*ep = (enum message_endpoint)i;
			return PS_OK;
		}
		known = 1;
	}
	for (i = 0; !known && i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strlen(aliases[i].path) != path_len ||
		    memcmp(aliases[i].path, path, path_len) != 0)
			continue;
		if (strcmp(endpoints[aliases[i].ep].method, method) != 0)
			return PS_ERR_METHOD;
		*ep = aliases[i].ep;
		return PS_OK;
	}
	return known ? PS_ERR_METHOD : PS_ERR_UNKNOWN_ENDPOINT;
}

static const struct endpoint *
endpoint_of(enum message_endpoint ep)
{
	return (size_t)ep < MESSAGE_ENDPOINT_COUNT &&
	    endpoints[ep].path != NULL ? &endpoints[ep] : NULL;
}

const char *
message_method(enum message_endpoint ep)
{
	const struct endpoint *e = endpoint_of(ep);

	return e != NULL ? e->method : "";
}

const char *
message_path(enum message_endpoint ep)
{
	const struct endpoint *e = endpoint_of(ep);

	return e != NULL ? e->path : "";
}

const char *
message_name(enum message_endpoint ep)
{
	const struct endpoint *e = endpoint_of(ep);

	return e == NULL ? "" : e->name != NULL ? e->name : e->path;
}

int
message_bodyless(enum message_endpoint ep)
{
	const struct endpoint *e = endpoint_of(ep);

	return e != NULL && e->bodyless;
}

int
message_typed_stream(enum message_endpoint ep)
{
	return ep == MESSAGE_RESPONSES || ep == MESSAGE_RESPONSE_GET ||
	    ep == MESSAGE_MESSAGES;
}

int
message_is_plain(enum message_endpoint ep, enum envelope_dir dir,
    const char *name, size_t name_len)
{
	const struct endpoint *e = endpoint_of(ep);
	const char *const *list;

	if (e == NULL)
		return 0;
	list = dir == ENVELOPE_REQUEST ? e->request : e->reply;
	for (; *list != NULL; list++) {
		const char *s = *list;
		size_t i = 0;

		/* A name may hold a NUL (\u0000): the list's NUL ends it. */
		while (i < name_len && s[i] != '\0' && s[i] == name[i])
			i++;
		if (i == name_len && s[i] == '\0')
			return 1;
	}
	return 0;
}

static int
is_multipart(enum message_endpoint ep)
{
	return ep == MESSAGE_TRANSCRIPTIONS || ep == MESSAGE_TRANSLATIONS;
}

static int
name_is(const struct member *e, const char *s)
{
	return e->name_len == strlen(s) && memcmp(e->name, s, e->name_len) == 0;
}

/* Whether x and y have the same unescaped name: most pairs differ in
 * length or first byte. */
static int
name_eq(const struct member *x, const struct member *y)
{
	return x->name_len == y->name_len && (x->name_len == 0 ||
	    (x->name[0] == y->name[0] &&
	    memcmp(x->name, y->name, x->name_len) == 0));
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
				if (name_eq(&ms->v[i], &ms->v[j]))
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
members_init(struct members *ms)
{
	ms->v = ms->inl;
	ms->n = 0;
	ms->cap = MEMBERS_INLINE;
	buf_init(&ms->names, 0);
}

static void
members_free(struct members *ms)
{
	if (ms->v != ms->inl)
		free(ms->v);
	ms->v = ms->inl;
	ms->n = 0;
	ms->cap = MEMBERS_INLINE;
	buf_free(&ms->names);
}

/*
 * Scan json (len bytes) once: check that it is exactly one JSON object and
 * note each member with its unescaped name and whether it stays plain for
 * (ep, dir).  With strict set it must also be an original body (no
 * duplicate names, no member named ps2).  Returns PS_ERR_INVALID_JSON,
 * PS_ERR_NOMEM or PS_OK; ms is freed by the caller either way.
 */
static pserr
members_scan(enum message_endpoint ep, enum envelope_dir dir,
    const char *json, size_t len, int strict, struct members *ms)
{
	struct jscan_object it;
	struct jscan_member m;
	size_t i;
	int more;
	pserr rc;

	members_free(ms);
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
			size_t ncap = ms->cap * 2;
			struct member *nv;

			if (ncap > SIZE_MAX / sizeof(*nv))
				return PS_ERR_NOMEM;
			if (ms->v == ms->inl) {
				if ((nv = malloc(ncap * sizeof(*nv))) == NULL)
					return PS_ERR_NOMEM;
				memcpy(nv, ms->inl, ms->n * sizeof(*nv));
			} else if ((nv = realloc(ms->v, ncap * sizeof(*nv))) ==
			    NULL)
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
		if (strict && name_is(e, "ps2"))
			return PS_ERR_INVALID_JSON;
	}
	return strict ? check_duplicates(ms) : PS_OK;
}

/* The length of the wire form up to and including the envelope's opening
 * quote, for the plain members of ms (NULL: none). */
static size_t
prefix_len(const struct members *ms)
{
	size_t n = 1 + PS2_MEMBER_LEN, i;

	for (i = 0; ms != NULL && i < ms->n; i++)
		if (ms->v[i].plain)
			/* "name":value, -- never longer than the original */
			n += ms->v[i].raw_len + 3 + ms->v[i].value_len + 1;
	return n;
}

/*
 * The wire form up to and including the envelope's opening quote, for the
 * plain members of ms (NULL: none), piece by piece to put: "{", then
 * "\"" name "\":" value "," for each, then "\"ps2\":\"".  Stops when
 * put returns 0, and returns 0 then.
 */
static int
prefix_walk(const struct members *ms,
    int (*put)(void *arg, const char *p, size_t n), void *arg)
{
	size_t i;

	if (!put(arg, "{", 1))
		return 0;
	for (i = 0; ms != NULL && i < ms->n; i++) {
		const struct member *e = &ms->v[i];

		if (e->plain && (!put(arg, "\"", 1) ||
		    !put(arg, e->raw, e->raw_len) || !put(arg, "\":", 2) ||
		    !put(arg, e->value, e->value_len) || !put(arg, ",", 1)))
			return 0;
	}
	return put(arg, PS2_MEMBER, PS2_MEMBER_LEN);
}

struct prefix_out {
	struct buf *out;
	pserr rc;
};

static int
prefix_append(void *arg, const char *p, size_t n)
{
	struct prefix_out *o = arg;

	return (o->rc = buf_append(o->out, p, n)) == PS_OK;
}

/* Append the prefix of prefix_walk() to out. */
static pserr
prefix_build(const struct members *ms, struct buf *out)
{
	struct prefix_out o = { out, PS_OK };

	(void)prefix_walk(ms, prefix_append, &o);
	return o.rc;
}

pserr
message_check_query(const char *q, size_t n)
{
	size_t i;

	if (n > MESSAGE_QUERY_MAX)
		return PS_ERR_QUERY_TOO_LONG;
	for (i = 0; i < n; i++)
		if ((unsigned char)q[i] < 0x21 || (unsigned char)q[i] > 0x7e ||
		    q[i] == '#')
			return PS_ERR_BAD_QUERY;
	return PS_OK;
}

/* The wire form for plain members ms (NULL: none) around the envelope of
 * parts, appended to out. */
static pserr
seal_wire(const struct envelope_ctx *c, uint32_t msg,
    const struct members *ms, const struct envelope_part *parts,
    size_t nparts, size_t bucket, struct buf *out)
{
	size_t start = out->len, n = 0, elen, i;
	pserr rc;

	for (i = 0; i < nparts; i++)
		n += parts[i].n;
	if ((elen = envelope_text_len(c->dir, n, bucket)) == 0)
		return PS_ERR_TOO_LARGE;
	if (elen > SIZE_MAX - prefix_len(ms) - 2)
		return PS_ERR_TOO_LARGE;
	/* Reserve it all so the buffer never moves. */
	if ((rc = buf_reserve(out, prefix_len(ms) + elen + 2)) != PS_OK)
		return rc;
	if ((rc = prefix_build(ms, out)) != PS_OK ||
	    (rc = envelope_seal(c, msg, 0, parts, nparts, bucket, out)) !=
	    PS_OK ||
	    (rc = buf_append(out, "\"}", 2)) != PS_OK)
		out->len = start;
	return rc;
}

pserr
message_seal_request(enum message_endpoint ep, const struct envelope_ctx *c,
    uint64_t ts, const char *query, size_t qlen, const char *body,
    size_t len, size_t bucket, struct buf *out)
{
	struct envelope_part parts[3];
	struct members ms;
	uint8_t head[REQUEST_HEAD];
	int i;
	pserr rc;

	members_init(&ms);
	/* Multipart requests have a wire form of their own (multipart.c). */
	if (c->dir != ENVELOPE_REQUEST || is_multipart(ep)) {
		rc = PS_ERR_ARG;
		goto out;
	}
	if ((rc = message_check_query(query, qlen)) != PS_OK)
		goto out;
	for (i = 0; i < 8; i++)
		head[i] = (uint8_t)(ts >> (56 - 8 * i));
	head[8] = (uint8_t)(qlen >> 8);
	head[9] = (uint8_t)qlen;
	parts[0].p = head;
	parts[0].n = sizeof(head);
	parts[1].p = query;
	parts[1].n = qlen;
	parts[2].p = body;
	parts[2].n = len;
	if (message_bodyless(ep)) {
		rc = len == 0 ? envelope_seal(c, 0, 0, parts, 2, bucket, out) :
		    PS_ERR_ARG;
		goto out;
	}
	if ((rc = members_scan(ep, c->dir, body, len, 1, &ms)) != PS_OK)
		goto out;
	rc = seal_wire(c, 0, &ms, parts, 3, bucket, out);
out:
	members_free(&ms);
	return rc;
}

pserr
message_seal_reply(enum message_endpoint ep, const struct envelope_ctx *c,
    const char *body, size_t len, size_t bucket, struct buf *out)
{
	struct envelope_part part = { body, len };
	struct members ms;
	pserr rc;

	members_init(&ms);
	if (c->dir != ENVELOPE_RESPONSE)
		rc = PS_ERR_ARG;
	else if ((rc = members_scan(ep, c->dir, body, len, 1, &ms)) == PS_OK)
		rc = seal_wire(c, 0, &ms, &part, 1, bucket, out);
	members_free(&ms);
	return rc;
}

/* The plain members of event ev: those of its data when that is an
 * original body.  *have is 0 when there are none; ms and scratch hold
 * what the members point into. */
static pserr
event_members(enum message_endpoint ep, const char *ev, size_t len,
    struct buf *scratch, struct members *ms, int *have)
{
	const char *data;
	size_t dlen;
	pserr rc;

	*have = 0;
	if ((rc = sse_event_data(ev, len, scratch, &data, &dlen)) != PS_OK)
		return rc;
	if (data == NULL)
		return PS_OK;
	rc = members_scan(ep, ENVELOPE_RESPONSE, data, dlen, 1, ms);
	if (rc == PS_ERR_INVALID_JSON)
		return PS_OK;
	if (rc == PS_OK)
		*have = 1;
	return rc;
}

pserr
message_seal_event(enum message_endpoint ep, const struct envelope_ctx *c,
    uint32_t msg, const char *ev, size_t len, size_t bucket,
    struct buf *out)
{
	struct envelope_part part = { ev, len };
	struct members ms;
	struct buf scratch;
	int have;
	pserr rc;

	members_init(&ms);
	buf_init(&scratch, len);
	if (c->dir != ENVELOPE_RESPONSE)
		rc = PS_ERR_ARG;
	else if ((rc = event_members(ep, ev, len, &scratch, &ms, &have)) ==
	    PS_OK)
		rc = seal_wire(c, msg, have ? &ms : NULL, &part, 1, bucket, out);
	members_free(&ms);
	/* A multi-line event's data is plaintext. */
	buf_free(&scratch);
	return rc;
}

/* ------------------------------------------------------------ opening */

/*
 * Locate the envelope of a wire body: it ends with "}, and the last quote
 * before that opens the value of a final member "ps2".  The envelope
 * alphabet has no quote, so this needs no JSON parser; whatever comes
 * before is checked against the recomputed wire form later.
 *
 * With guess, a guess at that envelope that does not read through it:
 * the text after the first "ps2":" of the wire.  In a wire a peer sealed
 * only the short plain members come before it, where the rule reads back
 * over the whole envelope (1.4 MB for a 1 MiB body), and the opening
 * reads it once more.  The guess is the rule's envelope exactly when its
 * text holds no quote.  Opening decodes every byte of the text in the
 * strict alphabet, which has none: a guess that opens was right, and a
 * receiver whose guess fails looks for a quote in it and, when it finds
 * one, starts again from the rule.  So every wire gets the rule's answer.
 */
static int
locate(const char *wire, size_t wlen, int guess, const char **env,
    size_t *envlen, size_t *plen)
{
	const char *at;
	size_t q;

	if (wlen < 1 + PS2_MEMBER_LEN + 2 || wire[wlen - 2] != '"' ||
	    wire[wlen - 1] != '}')
		return 0;
	/* q ends one past the envelope's opening quote. */
	if (guess) {
		at = memmem(wire, wlen - 2, PS2_MEMBER, PS2_MEMBER_LEN);
		if (at == NULL)
			return 0;
		q = (size_t)(at - wire) + PS2_MEMBER_LEN;
	} else {
		/* memrchr, not a byte loop: the envelope of a 1 MiB body is
		 * 1.4 MB long. */
		at = memrchr(wire, '"', wlen - 2);
		q = at != NULL ? (size_t)(at - wire) + 1 : 0;
		if (q < 1 + PS2_MEMBER_LEN || memcmp(wire + q - PS2_MEMBER_LEN,
		    PS2_MEMBER, PS2_MEMBER_LEN) != 0)
			return 0;
	}
	*env = wire + q;
	*envlen = wlen - 2 - q;
	*plen = q;
	return 1;
}

int
message_locate(const char *wire, size_t wlen, const char **env,
    size_t *envlen, size_t *plen)
{
	return locate(wire, wlen, 0, env, envlen, plen);
}

/* After a failure on the guessed envelope: 1 when the rule would have
 * located another one. */
static int
guess_was_wrong(const char *env, size_t envlen)
{
	return memchr(env, '"', envlen) != NULL;
}

/* 1 when the member's value is a JSON string whose text (escapes undone)
 * starts with "ps1:". */
static int
is_v1_value(const struct jscan_member *m, struct buf *scratch)
{
	const char *t = m->value + 1;
	size_t tn = m->value_len - 2;
	int yes;

	if (m->value[0] != '"')
		return 0;
	if (tn >= 4 && memcmp(t, ENVELOPE_V1_PREFIX, 4) == 0)
		return 1;
	if (memchr(t, '\\', tn) == NULL)
		return 0;
	buf_reset(scratch);
	if (jscan_unescape(t, tn, scratch) != PS_OK)
		return 0;
	yes = scratch->len >= 4 && memcmp(scratch->p, ENVELOPE_V1_PREFIX,
	    4) == 0;
	/* It may be a prompt sent in clear. */
	buf_reset(scratch);
	return yes;
}

/*
 * Why no envelope could be located in wire (protocol.md section 4).  This
 * runs before any key is looked at, on whatever anybody sent, so it keeps
 * nothing per member: one pass notes the three facts that decide, and
 * the memory used is bounded by the longest member name.
 */
pserr
message_diagnose(enum message_endpoint ep, enum envelope_dir dir,
    const char *wire, size_t wlen)
{
	struct jscan_object it;
	struct jscan_member m;
	struct buf scratch;
	int more, ps2 = 0, v1 = 0, sealed = 0;
	pserr rc;

	buf_init(&scratch, wlen);
	if ((rc = jscan_object_begin(&it, wire, wlen)) != PS_OK)
		goto out;
	for (;;) {
		const char *name;
		size_t name_len;

		if ((rc = jscan_object_next(&it, &m, &more)) != PS_OK)
			goto out;
		if (!more)
			break;
		name = m.name;
		name_len = m.name_len;
		if (m.name_escaped) {
			buf_reset(&scratch);
			if ((rc = jscan_unescape(m.name, m.name_len,
			    &scratch)) != PS_OK)
				goto out;
			name = scratch.p;
			name_len = scratch.len;
		}
		if (name_len == 3 && memcmp(name, "ps2", 3) == 0)
			ps2 = 1;
		if (!message_is_plain(ep, dir, name, name_len))
			sealed = 1;
		if (!v1 && is_v1_value(&m, &scratch))
			v1 = 1;
	}
	if (ps2)
		rc = PS_ERR_INVALID_ENVELOPE;
	else if (v1)
		rc = PS_ERR_VERSION;
	else if (sealed)
		rc = PS_ERR_PLAINTEXT_MEMBER;
	else
		rc = PS_ERR_INVALID_ENVELOPE;
out:
	buf_free(&scratch);
	return rc;
}

struct prefix_cmp {
	const char *wire;
	size_t plen, at;
	int diff;
};

static int
prefix_compare(void *arg, const char *p, size_t n)
{
	struct prefix_cmp *c = arg;

	if (n > c->plen - c->at)
		return 0;
	c->diff |= CRYPTO_memcmp(c->wire + c->at, p, n);
	c->at += n;
	return 1;
}

/* PS_OK when the wire's first plen bytes are the prefix recomputed for
 * plain members ms (NULL: none), else PS_ERR_DECRYPT.  Compared where
 * the members are, so no copy of the decrypted ones is made. */
static pserr
check_prefix(const struct members *ms, const char *wire, size_t plen)
{
	struct prefix_cmp c = { wire, plen, 0, 0 };

	return prefix_walk(ms, prefix_compare, &c) && c.at == plen &&
	    c.diff == 0 ? PS_OK : PS_ERR_DECRYPT;
}

/*
 * Step 2 of receiving a body (protocol.md section 4) for the envelope
 * text env, whose head envelope_head() has read into c: look up the
 * secret c's kid names and derive c's key from it (the secret is wiped;
 * PS_ERR_ARG without a lookup).  When there is no key and env is
 * malformed, PS_ERR_INVALID_ENVELOPE: the form comes before the key.
 * The ciphertext's base64url is checked only then, since with a key
 * envelope_open() refuses a malformed ciphertext as it decodes, with the
 * same error: the pass of envelope_peek() over all of env is saved.
 */
static pserr
message_key(struct envelope_ctx *c, message_lookup_fn lookup, void *arg,
    const char *env, size_t envlen)
{
	uint8_t secret[ENVELOPE_SECRET_LEN], kid[ENVELOPE_KID_LEN];
	uint8_t nonce[ENVELOPE_NONCE_LEN], reply[ENVELOPE_REPLY_LEN];
	pserr rc;

	if (lookup == NULL)
		return PS_ERR_ARG;
	if ((rc = lookup(arg, c->kid, secret)) == PS_OK)
		rc = envelope_derive(c, secret);
	secret_wipe(secret, sizeof(secret));
	if (rc != PS_OK &&
	    envelope_peek(c->dir, env, envlen, kid, nonce, reply) != PS_OK)
		rc = PS_ERR_INVALID_ENVELOPE;
	return rc;
}

pserr
message_open_content(struct envelope_ctx *c, message_lookup_fn lookup,
    void *arg, const char *env, size_t envlen, struct buf *out,
    struct message_request *r)
{
	const char *content;
	size_t start = out->len, clen, qlen;
	uint64_t ts = 0;
	int i;
	pserr rc;

	if ((rc = envelope_head(c->dir, env, envlen, c->kid, c->nonce,
	    NULL)) != PS_OK ||
	    (rc = message_key(c, lookup, arg, env, envlen)) != PS_OK ||
	    (rc = envelope_open(c, 0, 0, env, envlen, out)) != PS_OK)
		return rc;
	clen = out->len - start;
	content = out->p + start;
	if (clen < REQUEST_HEAD)
		return PS_ERR_DECRYPT;
	for (i = 0; i < 8; i++)
		ts = ts << 8 | (uint8_t)content[i];
	qlen = (size_t)(uint8_t)content[8] << 8 | (uint8_t)content[9];
	if (qlen > clen - REQUEST_HEAD)
		return PS_ERR_DECRYPT;
	/* Only the client could have sealed it: a query it should have
	 * refused. */
	if (message_check_query(content + REQUEST_HEAD, qlen) != PS_OK)
		return PS_ERR_BAD_QUERY;
	r->ts = ts;
	r->query = content + REQUEST_HEAD;
	r->qlen = qlen;
	r->body = content + REQUEST_HEAD + qlen;
	r->len = clen - REQUEST_HEAD - qlen;
	return PS_OK;
}

/* message_open_request() on the envelope env of wire (the whole wire for a
 * bodyless endpoint). */
static pserr
open_request(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, const char *env,
    size_t envlen, size_t plen, struct buf *out, struct message_request *r)
{
	struct members ms;
	size_t start = out->len;
	pserr rc;

	members_init(&ms);
	c->keyed = 0;
	if ((rc = message_open_content(c, lookup, arg, env, envlen, out, r)) !=
	    PS_OK)
		goto out;
	if (message_bodyless(ep)) {
		rc = r->len == 0 ? PS_OK : PS_ERR_DECRYPT;
		goto out;
	}
	rc = members_scan(ep, c->dir, r->body, r->len, 1, &ms);
	if (rc == PS_OK)
		rc = check_prefix(&ms, wire, plen);
	else if (rc == PS_ERR_INVALID_JSON)
		rc = PS_ERR_DECRYPT;
out:
	if (rc != PS_OK) {
		if (out->len > start)
			secret_wipe(out->p + start, out->len - start);
		out->len = start;
		secret_wipe(c->key, sizeof(c->key));
		c->keyed = 0;
	}
	members_free(&ms);
	return rc;
}

pserr
message_open_request(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, size_t wlen,
    struct buf *out, struct message_request *r)
{
	const char *env;
	size_t envlen, plen;
	pserr rc;

	if (c->dir != ENVELOPE_REQUEST || is_multipart(ep)) {
		secret_wipe(c->key, sizeof(c->key));
		c->keyed = 0;
		return PS_ERR_ARG;
	}
	if (message_bodyless(ep))
		return open_request(ep, c, lookup, arg, wire, wire, wlen, 0,
		    out, r);
	if (locate(wire, wlen, 1, &env, &envlen, &plen)) {
		rc = open_request(ep, c, lookup, arg, wire, env, envlen, plen,
		    out, r);
		if (rc == PS_OK || !guess_was_wrong(env, envlen))
			return rc;
	}
	if (!message_locate(wire, wlen, &env, &envlen, &plen))
		return message_diagnose(ep, c->dir, wire, wlen);
	return open_request(ep, c, lookup, arg, wire, env, envlen, plen, out,
	    r);
}

pserr
message_key_reply(struct envelope_ctx *c, message_lookup_fn lookup,
    void *arg, const char *s, size_t n)
{
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	uint8_t reply[ENVELOPE_REPLY_LEN];
	pserr rc;

	if (c->dir != ENVELOPE_RESPONSE)
		return PS_ERR_ARG;
	if ((rc = envelope_head(c->dir, s, n, kid, nonce, reply)) != PS_OK)
		return rc;
	if (memcmp(kid, c->kid, sizeof(kid)) != 0 ||
	    memcmp(nonce, c->nonce, sizeof(nonce)) != 0)
		return PS_ERR_INVALID_ENVELOPE;
	if (c->keyed)
		/* Every message of a reply carries the first one's value:
		 * another one means another reply. */
		return memcmp(reply, c->reply, sizeof(reply)) == 0 ? PS_OK :
		    PS_ERR_INVALID_ENVELOPE;
	memcpy(c->reply, reply, sizeof(reply));
	if ((rc = message_key(c, lookup, arg, s, n)) != PS_OK) {
		memset(c->reply, 0, sizeof(c->reply));
		c->keyed = 0;
	}
	return rc;
}

/* open_reply() on the envelope env of wire. */
static pserr
open_reply_at(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, uint32_t msg, int event,
    const char *wire, const char *env, size_t envlen, size_t plen,
    struct buf *out)
{
	struct members ms;
	struct buf scratch;
	const char *content;
	size_t start = out->len;
	int was_keyed = c->keyed, have = 0;
	pserr rc;

	members_init(&ms);
	buf_init(&scratch, 0);
	/* Once keyed, envelope_open() itself refuses another kid, nonce or
	 * reply value (PS_ERR_INVALID_ENVELOPE, as message_key_reply()
	 * would): peeking first parsed and checked every event twice. */
	if ((!was_keyed && (rc = message_key_reply(c, lookup, arg, env,
	    envlen)) != PS_OK) ||
	    (rc = envelope_open(c, msg, 0, env, envlen, out)) != PS_OK)
		goto out;
	/* An empty content may have left out without memory. */
	content = out->len > start ? out->p + start : "";
	if (event) {
		buf_init(&scratch, out->len - start);
		rc = event_members(ep, content, out->len - start, &scratch, &ms,
		    &have);
	} else {
		rc = members_scan(ep, c->dir, content, out->len - start, 1,
		    &ms);
		have = 1;
		if (rc == PS_ERR_INVALID_JSON)
			rc = PS_ERR_DECRYPT;
	}
	if (rc == PS_OK)
		rc = check_prefix(have ? &ms : NULL, wire, plen);
out:
	if (rc != PS_OK) {
		if (out->len > start)
			secret_wipe(out->p + start, out->len - start);
		out->len = start;
		if (!was_keyed && c->keyed) {
			secret_wipe(c->key, sizeof(c->key));
			memset(c->reply, 0, sizeof(c->reply));
			c->keyed = 0;
		}
	}
	members_free(&ms);
	buf_free(&scratch);
	return rc;
}

/* A reply body or an event: open, then check the wire against the
 * original. */
static pserr
open_reply(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, uint32_t msg, int event,
    const char *wire, size_t wlen, struct buf *out)
{
	const char *env;
	size_t envlen, plen;
	pserr rc;

	if (c->dir != ENVELOPE_RESPONSE)
		return PS_ERR_ARG;
	/* An event's envelope is a few hundred bytes: the rule reads them
	 * faster than the guess finds its member. */
	if (!event && locate(wire, wlen, 1, &env, &envlen, &plen)) {
		rc = open_reply_at(ep, c, lookup, arg, msg, event, wire, env,
		    envlen, plen, out);
		if (rc == PS_OK || !guess_was_wrong(env, envlen))
			return rc;
	}
	if (!message_locate(wire, wlen, &env, &envlen, &plen))
		return message_diagnose(ep, c->dir, wire, wlen);
	return open_reply_at(ep, c, lookup, arg, msg, event, wire, env, envlen,
	    plen, out);
}

pserr
message_open_reply(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, size_t wlen,
    struct buf *out)
{
	return open_reply(ep, c, lookup, arg, 0, 0, wire, wlen, out);
}

pserr
message_open_event(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, uint32_t msg, const char *wire,
    size_t wlen, struct buf *out)
{
	return open_reply(ep, c, lookup, arg, msg, 1, wire, wlen, out);
}
