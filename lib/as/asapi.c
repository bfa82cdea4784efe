#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "as/asapi.h"
#include "attest/release.h"
#include "attest/wrap.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/secret.h"

#define REPLY_HEADERS "Cache-Control: no-store\r\n"
#define EVIDENCE_B64_MAX CODEC_B64URL_LEN(PS_CAP_EVIDENCE)
#define KEY_B64URL_LEN CODEC_B64URL_LEN(32)

/* ------------------------------------------------------------ replies */

void
asapi_reply_init(struct asapi_reply *r)
{
	r->status = 500;
	r->headers = REPLY_HEADERS;
	buf_init(&r->body, PS_CAP_AS_REPLY);
	r->note[0] = '\0';
}

void
asapi_reply_free(struct asapi_reply *r)
{
	buf_free(&r->body);
}

/* Append s as the inside of a JSON string. */
static pserr
put_json_text(struct buf *b, const char *s)
{
	pserr rc = PS_OK;
	char esc[8];

	for (; *s && rc == PS_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = buf_append(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = buf_append(b, esc, 6);
		} else {
			rc = buf_putc(b, (char)c);
		}
	}
	return rc;
}

void
asapi_error(struct asapi_reply *r, int status, const char *code,
    const char *message)
{
	pserr rc;

	buf_reset(&r->body);
	r->status = status;
	r->headers = REPLY_HEADERS;
	if ((rc = buf_puts(&r->body, "{\"error\":{\"message\":\"")) != PS_OK ||
	    (rc = put_json_text(&r->body, message)) != PS_OK ||
	    (rc = buf_puts(&r->body, "\",\"type\":\"")) != PS_OK ||
	    (rc = buf_puts(&r->body, status >= 500 ? "api_error" :
	    "invalid_request_error")) != PS_OK ||
	    (rc = buf_puts(&r->body, "\",\"code\":\"")) != PS_OK ||
	    (rc = buf_puts(&r->body, code)) != PS_OK ||
	    (rc = buf_puts(&r->body, "\"}}")) != PS_OK)
		buf_reset(&r->body);
	if (r->note[0] == '\0')
		snprintf(r->note, sizeof(r->note), "%s", code);
}

static void
internal(struct asapi_reply *r, const char *what, pserr rc)
{
	snprintf(r->note, sizeof(r->note), "%s: %s", what, pserr_str(rc));
	asapi_error(r, 500, "internal_error", "internal error");
}

/* ------------------------------------------------- flat JSON objects */

/*
 * The request bodies are flat objects of strings and integers.  This
 * parser decodes the members asked for into the caller's buffers (so the
 * secret in an upload is held nowhere else, and wiped by the caller);
 * unknown members are skipped when they are strings, numbers, true, false
 * or null, and refused when they are objects or arrays.
 */
enum ftype { F_STR, F_INT };

struct field {
	const char *name;
	enum ftype type;
	char *str;        /* F_STR: the decoded text, not NUL-terminated */
	size_t cap;       /* F_STR: the most it may hold */
	size_t len;
	int64_t num;      /* F_INT */
	int seen;
};

struct jp {
	const char *s;
	size_t n, i;
};

static void
ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
	    p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int
hex4(struct jp *p, unsigned *v)
{
	size_t k;

	*v = 0;
	if (p->n - p->i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		char c = p->s[p->i++];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Store byte c at out[*len] if out is given; -1 past cap. */
static int
put(char *out, size_t cap, size_t *len, unsigned c)
{
	if (out != NULL) {
		if (*len >= cap)
			return -1;
		out[*len] = (char)c;
	}
	(*len)++;
	return 0;
}

/* A string at p->i; its decoded bytes go to out (NULL: skip). */
static int
jstring(struct jp *p, char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (p->i >= p->n || p->s[p->i] != '"')
		return -1;
	p->i++;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i++];
		unsigned u, lo;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (put(out, cap, len, c) != 0)
				return -1;
			continue;
		}
		if (p->i >= p->n)
			return -1;
		c = (unsigned char)p->s[p->i++];
		switch (c) {
		case '"': case '\\': case '/':
			u = c;
			break;
		case 'b': u = '\b'; break;
		case 'f': u = '\f'; break;
		case 'n': u = '\n'; break;
		case 'r': u = '\r'; break;
		case 't': u = '\t'; break;
		case 'u':
			if (hex4(p, &u) != 0)
				return -1;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (p->n - p->i < 2 || p->s[p->i] != '\\' ||
				    p->s[p->i + 1] != 'u')
					return -1;
				p->i += 2;
				if (hex4(p, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (u < 0x80) {
				if (put(out, cap, len, u) != 0)
					return -1;
			} else if (u < 0x800) {
				if (put(out, cap, len, 0xc0 | u >> 6) != 0 ||
				    put(out, cap, len, 0x80 | (u & 0x3f)) != 0)
					return -1;
			} else if (u < 0x10000) {
				if (put(out, cap, len, 0xe0 | u >> 12) != 0 ||
				    put(out, cap, len, 0x80 | ((u >> 6) & 0x3f))
				    != 0 ||
				    put(out, cap, len, 0x80 | (u & 0x3f)) != 0)
					return -1;
			} else {
				if (put(out, cap, len, 0xf0 | u >> 18) != 0 ||
				    put(out, cap, len, 0x80 | ((u >> 12) & 0x3f))
				    != 0 ||
				    put(out, cap, len, 0x80 | ((u >> 6) & 0x3f))
				    != 0 ||
				    put(out, cap, len, 0x80 | (u & 0x3f)) != 0)
					return -1;
			}
			continue;
		default:
			return -1;
		}
		if (put(out, cap, len, u) != 0)
			return -1;
	}
	return -1;
}

static int
digit(struct jp *p)
{
	return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

/* A JSON number; *v gets it when it is an integer that fits int64 (else
 * *is_int is 0). */
static int
jnumber(struct jp *p, int64_t *v, int *is_int)
{
	uint64_t acc = 0;
	int neg = 0, over = 0;

	*is_int = 1;
	if (p->i < p->n && p->s[p->i] == '-') {
		neg = 1;
		p->i++;
	}
	if (!digit(p))
		return -1;
	if (p->s[p->i] == '0') {
		p->i++;
	} else {
		while (digit(p)) {
			unsigned d = (unsigned)(p->s[p->i++] - '0');

			if (acc > (UINT64_C(1) << 63) / 10 ||
			    acc * 10 + d > (UINT64_C(1) << 63))
				over = 1;
			else
				acc = acc * 10 + d;
		}
	}
	if (p->i < p->n && p->s[p->i] == '.') {
		*is_int = 0;
		p->i++;
		if (!digit(p))
			return -1;
		while (digit(p))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		*is_int = 0;
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!digit(p))
			return -1;
		while (digit(p))
			p->i++;
	}
	if (over || (!neg && acc > (uint64_t)INT64_MAX))
		*is_int = 0;
	if (*is_int)
		*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

static int
jskip(struct jp *p)
{
	static const char *lit[] = {"true", "false", "null"};
	size_t len, k;
	int64_t v;
	int is_int;

	if (p->i >= p->n)
		return -1;
	if (p->s[p->i] == '"')
		return jstring(p, NULL, 0, &len);
	if (p->s[p->i] == '-' || digit(p))
		return jnumber(p, &v, &is_int);
	for (k = 0; k < 3; k++) {
		len = strlen(lit[k]);
		if (p->n - p->i >= len && memcmp(p->s + p->i, lit[k], len) == 0) {
			p->i += len;
			return 0;
		}
	}
	return -1;
}

static pserr
json_flat(const char *s, size_t n, struct field *f, size_t nf)
{
	struct jp p = {s, n, 0};
	char name[64];
	size_t len, k;

	ws(&p);
	if (p.i >= p.n || p.s[p.i++] != '{')
		return PS_ERR_INVALID_JSON;
	ws(&p);
	if (p.i < p.n && p.s[p.i] == '}') {
		p.i++;
		goto end;
	}
	for (;;) {
		struct field *hit = NULL;

		ws(&p);
		if (jstring(&p, name, sizeof(name), &len) != 0)
			return PS_ERR_INVALID_JSON;
		ws(&p);
		if (p.i >= p.n || p.s[p.i++] != ':')
			return PS_ERR_INVALID_JSON;
		ws(&p);
		for (k = 0; k < nf; k++)
			if (strlen(f[k].name) == len &&
			    memcmp(f[k].name, name, len) == 0)
				hit = &f[k];
		if (hit == NULL) {
			if (jskip(&p) != 0)
				return PS_ERR_INVALID_JSON;
		} else if (hit->seen) {
			return PS_ERR_INVALID_JSON;
		} else if (hit->type == F_STR) {
			if (jstring(&p, hit->str, hit->cap, &hit->len) != 0)
				return PS_ERR_INVALID_JSON;
			hit->seen = 1;
		} else {
			int is_int;

			if (jnumber(&p, &hit->num, &is_int) != 0 || !is_int)
				return PS_ERR_INVALID_JSON;
			hit->seen = 1;
		}
		ws(&p);
		if (p.i >= p.n)
			return PS_ERR_INVALID_JSON;
		if (p.s[p.i] == ',') {
			p.i++;
			continue;
		}
		if (p.s[p.i++] != '}')
			return PS_ERR_INVALID_JSON;
		break;
	}
end:
	ws(&p);
	return p.i == p.n ? PS_OK : PS_ERR_INVALID_JSON;
}

/* ------------------------------------------------------------ handlers */

static int
is_json(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static void
bad_request(struct asapi_reply *r, const char *message)
{
	snprintf(r->note, sizeof(r->note), "invalid_request: %s", message);
	asapi_error(r, 400, "invalid_request", message);
}

static void
handle_secrets(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asapi_reply *r)
{
	char kidhex[64], sec64[128], msg[96], out[160];
	struct keycache_entry e;
	struct field f[] = {
		{"kid", F_STR, kidhex, sizeof(kidhex), 0, 0, 0},
		{"secret", F_STR, sec64, sizeof(sec64), 0, 0, 0},
		{"ttl", F_INT, NULL, 0, 0, 0, 0},
	};
	size_t got;
	pserr rc;
	int n;

	if (!tokens_check_header(c->tokens, q->authorization)) {
		asapi_error(r, 401, "unauthorized",
		    "a valid bearer token is required");
		r->headers = REPLY_HEADERS
		    "WWW-Authenticate: Bearer realm=\"promptseal-as\"\r\n";
		goto out;
	}
	if (!is_json(q->content_type)) {
		asapi_error(r, 415, "unsupported_media_type",
		    "request body must be application/json");
		goto out;
	}
	if (json_flat(q->body, q->body_len, f, 3) != PS_OK) {
		bad_request(r, "body is not a JSON object of kid, secret and "
		    "ttl");
		goto out;
	}
	if (!f[0].seen || !f[1].seen || !f[2].seen) {
		bad_request(r, "kid, secret and ttl are required");
		goto out;
	}
	if (codec_hex_decode(kidhex, f[0].len, e.kid, sizeof(e.kid)) != PS_OK) {
		bad_request(r, "kid must be 32 lowercase hex characters");
		goto out;
	}
	if (codec_b64_decode(sec64, f[1].len, e.secret, sizeof(e.secret),
	    &got) != PS_OK || got != sizeof(e.secret)) {
		bad_request(r, "secret must be the base64 of 32 bytes");
		goto out;
	}
	if (f[2].num < 1 || f[2].num > c->max_ttl) {
		snprintf(msg, sizeof(msg), "ttl must be 1 to %" PRId64
		    " seconds", c->max_ttl);
		bad_request(r, msg);
		goto out;
	}
	e.expires = now + f[2].num;
	rc = asstore_put(s, &e, now);
	if (rc == PS_ERR_EXISTS) {
		asapi_error(r, 409, "kid_exists",
		    "a secret with this kid exists");
		goto out;
	}
	if (rc == PS_ERR_TOO_LARGE) {
		asapi_error(r, 503, "store_full",
		    "the service holds its maximum of secrets");
		goto out;
	}
	if (rc != PS_OK) {
		internal(r, "store", rc);
		goto out;
	}
	n = snprintf(out, sizeof(out), "{\"kid\":\"%.32s\",\"expires\":%" PRId64
	    "}", kidhex, e.expires);
	r->status = 201;
	if (buf_append(&r->body, out, (size_t)n) != PS_OK)
		internal(r, "reply", PS_ERR_NOMEM);
	snprintf(r->note, sizeof(r->note), "stored, ttl %" PRId64, f[2].num);
out:
	secret_wipe(sec64, sizeof(sec64));
	secret_wipe(&e, sizeof(e));
}

static void
handle_challenge(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asapi_reply *r)
{
	uint8_t ch[RELEASE_CHALLENGE_LEN];
	char out[128];
	size_t k;
	pserr rc;
	int n;

	(void)q;
	if ((rc = secret_random(ch, sizeof(ch))) != PS_OK) {
		internal(r, "random", rc);
		return;
	}
	rc = asstore_challenge_put(s, ch, now + c->challenge_ttl, now);
	if (rc == PS_ERR_TOO_LARGE) {
		asapi_error(r, 503, "too_many_challenges",
		    "too many challenges outstanding, try again later");
		return;
	}
	if (rc != PS_OK) {
		internal(r, "store", rc);
		return;
	}
	n = snprintf(out, sizeof(out), "{\"challenge\":\"");
	k = codec_b64url_encode(ch, sizeof(ch), out + n);
	n += (int)k;
	n += snprintf(out + n, sizeof(out) - (size_t)n, "\",\"expires\":%"
	    PRId64 "}", now + c->challenge_ttl);
	r->status = 200;
	if (buf_append(&r->body, out, (size_t)n) != PS_OK)
		internal(r, "reply", PS_ERR_NOMEM);
	snprintf(r->note, sizeof(r->note), "issued");
}

/* Decode exactly want bytes of base64url. */
static int
b64url_exact(const char *s, size_t n, uint8_t *out, size_t want)
{
	size_t got;

	return codec_b64url_decode(s, n, out, want, &got) == PS_OK &&
	    got == want ? 0 : -1;
}

static void
handle_fetch(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asapi_reply *r)
{
	char chal64[2 * KEY_B64URL_LEN], pub64[2 * KEY_B64URL_LEN], format[32];
	char *ev64 = NULL, mhex[2 * ATTEST_MEASUREMENT_MAX + 1], head[64];
	uint8_t ch[RELEASE_CHALLENGE_LEN], pub[WRAP_KEY_LEN], *ev = NULL;
	struct attest_measurement m;
	struct keycache_entry *keys = NULL;
	struct buf plain, blob;
	enum attest_fail why;
	size_t nkeys = 0, evlen, k;
	struct field f[] = {
		{"challenge", F_STR, chal64, sizeof(chal64), 0, 0, 0},
		{"format", F_STR, format, sizeof(format) - 1, 0, 0, 0},
		{"evidence", F_STR, NULL, EVIDENCE_B64_MAX, 0, 0, 0},
		{"pubkey", F_STR, pub64, sizeof(pub64), 0, 0, 0},
	};
	char *o;
	pserr rc;
	int n;

	buf_init(&plain, (size_t)PS_CAP_AS_SECRETS * RELEASE_RECORD_LEN);
	buf_init(&blob, (size_t)PS_CAP_AS_SECRETS * RELEASE_RECORD_LEN +
	    WRAP_OVERHEAD);
	if (!is_json(q->content_type)) {
		asapi_error(r, 415, "unsupported_media_type",
		    "request body must be application/json");
		goto out;
	}
	if ((ev64 = malloc(EVIDENCE_B64_MAX)) == NULL ||
	    (ev = malloc(PS_CAP_EVIDENCE)) == NULL) {
		internal(r, "fetch", PS_ERR_NOMEM);
		goto out;
	}
	f[2].str = ev64;
	if (json_flat(q->body, q->body_len, f, 4) != PS_OK) {
		bad_request(r, "body is not a JSON object of challenge, format, "
		    "evidence and pubkey");
		goto out;
	}
	if (!f[0].seen || !f[1].seen || !f[2].seen || !f[3].seen) {
		bad_request(r, "challenge, format, evidence and pubkey are "
		    "required");
		goto out;
	}
	if (b64url_exact(chal64, f[0].len, ch, sizeof(ch)) != 0) {
		bad_request(r, "challenge must be the base64url of 32 bytes");
		goto out;
	}
	if (b64url_exact(pub64, f[3].len, pub, sizeof(pub)) != 0) {
		bad_request(r, "pubkey must be the base64url of 32 bytes");
		goto out;
	}
	if (codec_b64url_decode(ev64, f[2].len, ev, PS_CAP_EVIDENCE,
	    &evlen) != PS_OK) {
		bad_request(r, "evidence must be base64url");
		goto out;
	}
	format[f[1].len] = '\0';
	if (memchr(format, '\0', f[1].len) != NULL) {
		bad_request(r, "format must be a name");
		goto out;
	}

	/* The challenge is used up whatever the evidence turns out to be:
	 * one challenge, one try. */
	rc = asstore_challenge_take(s, ch, now);
	if (rc == PS_ERR_NOT_FOUND || rc == PS_ERR_EXPIRED) {
		why = rc == PS_ERR_NOT_FOUND ? ATTEST_FAIL_CHALLENGE_UNKNOWN :
		    ATTEST_FAIL_CHALLENGE_EXPIRED;
		goto refused;
	}
	if (rc != PS_OK) {
		internal(r, "store", rc);
		goto out;
	}
	rc = attest_check(c->verifiers, c->n_verifiers, c->allow, format, ev,
	    evlen, ch, sizeof(ch), pub, &m, &why);
	if (rc == PS_ERR_AUTH)
		goto refused;
	if (rc != PS_OK) {
		internal(r, "attestation", rc);
		goto out;
	}

	if ((rc = asstore_purge(s, now)) != PS_OK ||
	    (rc = asstore_list(s, now, &keys, &nkeys)) != PS_OK) {
		internal(r, "store", rc);
		goto out;
	}
	if ((rc = release_encode(keys, nkeys, &plain)) != PS_OK) {
		internal(r, "encode", rc);
		goto out;
	}
	rc = wrap_seal(pub, ch, sizeof(ch), plain.p, plain.len, &blob);
	if (rc == PS_ERR_CRYPTO) {
		bad_request(r, "pubkey is not a usable X25519 public key");
		goto out;
	}
	if (rc != PS_OK) {
		internal(r, "wrap", rc);
		goto out;
	}
	n = snprintf(head, sizeof(head), "{\"count\":%zu,\"keys\":\"", nkeys);
	if ((rc = buf_append(&r->body, head, (size_t)n)) != PS_OK ||
	    (rc = buf_reserve(&r->body, CODEC_B64URL_LEN(blob.len) + 2)) !=
	    PS_OK) {
		internal(r, "reply", rc);
		goto out;
	}
	o = r->body.p + r->body.len;
	k = codec_b64url_encode((uint8_t *)blob.p, blob.len, o);
	o[k++] = '"';
	o[k++] = '}';
	r->body.len += k;
	r->status = 200;
	attest_measurement_hex(&m, mhex);
	snprintf(r->note, sizeof(r->note), "released %zu secrets to %s "
	    "measurement %.24s...", nkeys, format, mhex);
	goto out;

refused:
	snprintf(r->note, sizeof(r->note), "attestation refused: %s",
	    attest_fail_str(why));
	{
		char msg[128];

		snprintf(msg, sizeof(msg), "attestation failed: %s",
		    attest_fail_str(why));
		asapi_error(r, 403, "attestation_failed", msg);
	}
out:
	release_entries_free(keys, nkeys);
	buf_free(&plain);
	buf_free(&blob);
	free(ev64);
	free(ev);
}

void
asapi_handle(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asapi_reply *r)
{
	static const struct {
		const char *path;
		void (*fn)(const struct asapi_cfg *, struct asstore *,
		    const struct asapi_request *, int64_t,
		    struct asapi_reply *);
	} routes[] = {
		{"/v1/secrets", handle_secrets},
		{"/v1/challenge", handle_challenge},
		{"/v1/fetch", handle_fetch},
	};
	size_t plen = strlen(c->prefix), ulen, i;
	const char *u = q->uri ? q->uri : "";

	buf_reset(&r->body);
	r->note[0] = '\0';
	/* Route on REQUEST_URI without its query; the web server's notion
	 * of SCRIPT_NAME and PATH_INFO differs between servers. */
	ulen = strcspn(u, "?");
	if (ulen < plen || memcmp(u, c->prefix, plen) != 0)
		goto not_found;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strlen(routes[i].path) != ulen - plen ||
		    memcmp(u + plen, routes[i].path, ulen - plen) != 0)
			continue;
		if (q->method == NULL || strcmp(q->method, "POST") != 0) {
			asapi_error(r, 405, "method_not_allowed",
			    "method not allowed");
			r->headers = REPLY_HEADERS "Allow: POST\r\n";
			return;
		}
		routes[i].fn(c, s, q, now, r);
		return;
	}
not_found:
	asapi_error(r, 404, "unknown_endpoint", "unknown endpoint");
}
