#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as/asapi.h"
#include "as/asbody.h"
#include "attest/release.h"
#include "attest/wrap.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/secret.h"

/* What a request's strings may hold, in the encodings of docs/as-api.md;
 * twice the length needed, so that escapes are no reason to refuse. */
#define KID_HEX_MAX 64
#define SECRET_B64_MAX 128
#define KEY_B64URL_MAX (2 * CODEC_B64URL_LEN(32))
#define FORMAT_MAX 31
#define EVIDENCE_B64_MAX CODEC_B64URL_LEN(PS_CAP_EVIDENCE)
#define BLOB_MAX ((size_t)PS_CAP_AS_SECRETS * RELEASE_RECORD_LEN + \
	WRAP_OVERHEAD)

typedef void (*handler)(const struct asapi_cfg *, struct asstore *,
    const struct asapi_request *, int64_t, struct asreply *);

static void
unsupported_media_type(struct asreply *r)
{
	asreply_error(r, 415, "unsupported_media_type",
	    "request body must be application/json");
}

/* Decode exactly want bytes of base64url from a field. */
static int
b64url_exact(const struct buf *s, uint8_t *out, size_t want)
{
	size_t got;

	return codec_b64url_decode(s->p, s->len, out, want, &got) == PS_OK &&
	    got == want ? 0 : -1;
}

/* ------------------------------------------------ POST /v1/secrets */

enum { UP_KID, UP_SECRET, UP_TTL, UP_N };

/*
 * The secret and its ttl from an upload's body into e (expires unset) and
 * *ttl.  -1 with the answer in r when the body is refused.
 */
static int
upload_parse(const struct asapi_cfg *c, const struct asapi_request *q,
    struct keycache_entry *e, int64_t *ttl, struct asreply *r)
{
	struct asbody_field f[UP_N] = {
		[UP_KID] = {"kid", ASBODY_STR, KID_HEX_MAX},
		[UP_SECRET] = {"secret", ASBODY_STR, SECRET_B64_MAX},
		[UP_TTL] = {"ttl", ASBODY_INT, 0},
	};
	char msg[96];
	size_t got;
	int ret = -1;
	pserr rc;

	if ((rc = asbody_parse(q->body, q->body_len, f, UP_N)) == PS_ERR_NOMEM)
		asreply_internal(r, "upload", rc);
	else if (rc != PS_OK)
		asreply_bad_request(r, "body is not a JSON object of kid, "
		    "secret and ttl");
	else if (!f[UP_KID].seen || !f[UP_SECRET].seen || !f[UP_TTL].seen)
		asreply_bad_request(r, "kid, secret and ttl are required");
	else if (codec_hex_decode(f[UP_KID].str.p, f[UP_KID].str.len, e->kid,
	    sizeof(e->kid)) != PS_OK)
		asreply_bad_request(r, "kid must be 32 lowercase hex "
		    "characters");
	else if (codec_b64_decode(f[UP_SECRET].str.p, f[UP_SECRET].str.len,
	    e->secret, sizeof(e->secret), &got) != PS_OK ||
	    got != sizeof(e->secret))
		asreply_bad_request(r, "secret must be the base64 of 32 bytes");
	else if (f[UP_TTL].num < 1 || f[UP_TTL].num > c->max_ttl) {
		pserr_why(msg, sizeof(msg), "ttl must be 1 to %" PRId64
		    " seconds", c->max_ttl);
		asreply_bad_request(r, msg);
	} else {
		*ttl = f[UP_TTL].num;
		ret = 0;
	}
	asbody_free(f, UP_N);
	return ret;
}

static void
handle_secrets(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	struct keycache_entry e;
	char kidhex[2 * sizeof(e.kid) + 1];
	int64_t ttl;
	pserr rc;

	memset(&e, 0, sizeof(e));
	if (!tokens_check_header(c->tokens, q->authorization)) {
		asreply_error(r, 401, "unauthorized",
		    "a valid bearer token is required");
		r->headers = ASREPLY_HEADERS
		    "WWW-Authenticate: Bearer realm=\"promptseal-as\"\r\n";
		goto out;
	}
	if (!asbody_is_json(q->content_type)) {
		unsupported_media_type(r);
		goto out;
	}
	if (upload_parse(c, q, &e, &ttl, r) != 0)
		goto out;
	e.expires = now + ttl;
	rc = asstore_put(s, &e, now);
	if (rc == PS_ERR_EXISTS)
		asreply_error(r, 409, "kid_exists",
		    "a secret with this kid exists");
	else if (rc == PS_ERR_TOO_LARGE)
		asreply_error(r, 503, "store_full",
		    "the service holds its maximum of secrets");
	else if (rc != PS_OK)
		asreply_internal(r, "store", rc);
	else {
		kidhex[codec_hex_encode(e.kid, sizeof(e.kid), kidhex)] = '\0';
		asreply_note(r, "stored, ttl %" PRId64, ttl);
		asreply_ok(r, 201, "{\"kid\":\"%s\",\"expires\":%" PRId64 "}",
		    kidhex, e.expires);
	}
out:
	secret_wipe(&e, sizeof(e));
}

/* ---------------------------------------------- POST /v1/challenge */

static void
handle_challenge(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	uint8_t ch[RELEASE_CHALLENGE_LEN];
	char ch64[CODEC_B64URL_LEN(RELEASE_CHALLENGE_LEN) + 1];
	int64_t expires = now + c->challenge_ttl;
	pserr rc;

	(void)q;
	if ((rc = secret_random(ch, sizeof(ch))) != PS_OK) {
		asreply_internal(r, "random", rc);
		return;
	}
	rc = asstore_challenge_put(s, ch, expires, now);
	if (rc == PS_ERR_TOO_LARGE) {
		asreply_error(r, 503, "too_many_challenges",
		    "too many challenges outstanding, try again later");
		return;
	}
	if (rc != PS_OK) {
		asreply_internal(r, "store", rc);
		return;
	}
	ch64[codec_b64url_encode(ch, sizeof(ch), ch64)] = '\0';
	asreply_note(r, "issued");
	asreply_ok(r, 200, "{\"challenge\":\"%s\",\"expires\":%" PRId64 "}",
	    ch64, expires);
}

/* -------------------------------------------------- POST /v1/fetch */

enum { FE_CHALLENGE, FE_FORMAT, FE_EVIDENCE, FE_PUBKEY, FE_N };

struct fetch {
	uint8_t ch[RELEASE_CHALLENGE_LEN];
	uint8_t pub[WRAP_KEY_LEN];
	char format[FORMAT_MAX + 1];
	uint8_t *ev;                   /* PS_CAP_EVIDENCE bytes */
	size_t evlen;
	struct attest_measurement m;   /* once the evidence checked out */
};

/* Decode the fields of a fetch into x; -1 with the 400 in r when one is
 * bad. */
static int
fetch_decode(const struct asbody_field *f, struct fetch *x,
    struct asreply *r)
{
	const struct buf *fmt = &f[FE_FORMAT].str;

	if (b64url_exact(&f[FE_CHALLENGE].str, x->ch, sizeof(x->ch)) != 0)
		asreply_bad_request(r, "challenge must be the base64url of 32 "
		    "bytes");
	else if (b64url_exact(&f[FE_PUBKEY].str, x->pub, sizeof(x->pub)) != 0)
		asreply_bad_request(r, "pubkey must be the base64url of 32 "
		    "bytes");
	else if (codec_b64url_decode(f[FE_EVIDENCE].str.p,
	    f[FE_EVIDENCE].str.len, x->ev, PS_CAP_EVIDENCE, &x->evlen) != PS_OK)
		asreply_bad_request(r, "evidence must be base64url");
	else if (memchr(fmt->p, '\0', fmt->len) != NULL)
		asreply_bad_request(r, "format must be a name");
	else {
		memcpy(x->format, fmt->p, fmt->len);
		x->format[fmt->len] = '\0';
		return 0;
	}
	return -1;
}

/* The request of a fetch into x; -1 with the answer in r when refused. */
static int
fetch_parse(const struct asapi_request *q, struct fetch *x,
    struct asreply *r)
{
	struct asbody_field f[FE_N] = {
		[FE_CHALLENGE] = {"challenge", ASBODY_STR, KEY_B64URL_MAX},
		[FE_FORMAT] = {"format", ASBODY_STR, FORMAT_MAX},
		[FE_EVIDENCE] = {"evidence", ASBODY_STR, EVIDENCE_B64_MAX},
		[FE_PUBKEY] = {"pubkey", ASBODY_STR, KEY_B64URL_MAX},
	};
	int ret = -1;
	pserr rc = PS_OK;

	if (!asbody_is_json(q->content_type))
		unsupported_media_type(r);
	else if ((x->ev = malloc(PS_CAP_EVIDENCE)) == NULL ||
	    (rc = asbody_parse(q->body, q->body_len, f, FE_N)) == PS_ERR_NOMEM)
		asreply_internal(r, "fetch", PS_ERR_NOMEM);
	else if (rc != PS_OK)
		asreply_bad_request(r, "body is not a JSON object of "
		    "challenge, format, evidence and pubkey");
	else if (!f[FE_CHALLENGE].seen || !f[FE_FORMAT].seen ||
	    !f[FE_EVIDENCE].seen || !f[FE_PUBKEY].seen)
		asreply_bad_request(r, "challenge, format, evidence and pubkey "
		    "are required");
	else
		ret = fetch_decode(f, x, r);
	asbody_free(f, FE_N);
	return ret;
}

static void
refused(struct asreply *r, enum attest_fail why)
{
	char msg[128];

	asreply_note(r, "attestation refused: %s", attest_fail_str(why));
	pserr_why(msg, sizeof(msg), "attestation failed: %s",
	    attest_fail_str(why));
	asreply_error(r, 403, "attestation_failed", msg);
}

/*
 * Use up the challenge and check the evidence: 0 with x->m set when it
 * checks out, else -1 with the answer in r.
 */
static int
fetch_attest(const struct asapi_cfg *c, struct asstore *s, struct fetch *x,
    int64_t now, struct asreply *r)
{
	enum attest_fail why;
	pserr rc;

	/* The challenge is used up whatever the evidence turns out to be:
	 * one challenge, one try. */
	rc = asstore_challenge_take(s, x->ch, now);
	if (rc == PS_ERR_NOT_FOUND || rc == PS_ERR_EXPIRED) {
		refused(r, rc == PS_ERR_NOT_FOUND ?
		    ATTEST_FAIL_CHALLENGE_UNKNOWN :
		    ATTEST_FAIL_CHALLENGE_EXPIRED);
		return -1;
	}
	if (rc != PS_OK) {
		asreply_internal(r, "store", rc);
		return -1;
	}
	rc = attest_check(c->verifiers, c->n_verifiers, c->allow, x->format,
	    x->ev, x->evlen, x->ch, sizeof(x->ch), x->pub, &x->m, &why);
	if (rc == PS_ERR_AUTH)
		refused(r, why);
	else if (rc != PS_OK)
		asreply_internal(r, "attestation", rc);
	return rc == PS_OK ? 0 : -1;
}

/* The 200 body {"count":n,"keys":"<base64url of blob>"}. */
static pserr
put_released(struct asreply *r, size_t n, const struct buf *blob)
{
	char head[64];
	size_t k;
	char *o;
	int len;
	pserr rc;

	len = snprintf(head, sizeof(head), "{\"count\":%zu,\"keys\":\"", n);
	buf_reset(&r->body);
	if ((rc = buf_append(&r->body, head, (size_t)len)) != PS_OK ||
	    (rc = buf_reserve(&r->body, CODEC_B64URL_LEN(blob->len) + 2)) !=
	    PS_OK)
		return rc;
	o = r->body.p + r->body.len;
	k = codec_b64url_encode((const uint8_t *)blob->p, blob->len, o);
	o[k++] = '"';
	o[k++] = '}';
	r->body.len += k;
	r->status = 200;
	return PS_OK;
}

/* Wrap every unexpired secret to the attested key and answer with it. */
static void
fetch_release(struct asstore *s, const struct fetch *x, int64_t now,
    struct asreply *r)
{
	char mhex[2 * ATTEST_MEASUREMENT_MAX + 1];
	struct keycache_entry *keys = NULL;
	struct buf blob;
	size_t n = 0;
	pserr rc;

	buf_init(&blob, BLOB_MAX);
	if ((rc = asstore_purge(s, now)) != PS_OK ||
	    (rc = asstore_list(s, now, &keys, &n)) != PS_OK) {
		asreply_internal(r, "store", rc);
		goto out;
	}
	rc = release_seal(x->pub, x->ch, keys, n, &blob);
	if (rc == PS_ERR_CRYPTO) {
		asreply_bad_request(r, "pubkey is not a usable X25519 public "
		    "key");
		goto out;
	}
	if (rc != PS_OK || (rc = put_released(r, n, &blob)) != PS_OK) {
		asreply_internal(r, "release", rc);
		goto out;
	}
	attest_measurement_hex(&x->m, mhex);
	asreply_note(r, "released %zu secrets to %s measurement %.24s...", n,
	    x->format, mhex);
out:
	keyfile_entries_free(keys, n);
	buf_free(&blob);
}

static void
handle_fetch(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	struct fetch x;

	memset(&x, 0, sizeof(x));
	if (fetch_parse(q, &x, r) == 0 && fetch_attest(c, s, &x, now, r) == 0)
		fetch_release(s, &x, now, r);
	free(x.ev);
}

/* ---------------------------------------------------------- routes */

/* The handler of the path u (ulen bytes, below the prefix), or NULL. */
static handler
route(const char *u, size_t ulen)
{
	static const struct {
		const char *path;
		handler fn;
	} routes[] = {
		{"/v1/secrets", handle_secrets},
		{"/v1/challenge", handle_challenge},
		{"/v1/fetch", handle_fetch},
	};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == ulen &&
		    memcmp(u, routes[i].path, ulen) == 0)
			return routes[i].fn;
	return NULL;
}

void
asapi_handle(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	size_t plen = strlen(c->prefix), ulen;
	const char *u = q->uri ? q->uri : "";
	handler fn = NULL;

	/* All of r, header lines included: it served the thread's last
	 * request. */
	asreply_reset(r);
	/* Route on REQUEST_URI without its query; the web server's notion
	 * of SCRIPT_NAME and PATH_INFO differs between servers. */
	ulen = strcspn(u, "?");
	if (ulen >= plen && memcmp(u, c->prefix, plen) == 0)
		fn = route(u + plen, ulen - plen);
	if (fn == NULL) {
		asreply_error(r, 404, "unknown_endpoint", "unknown endpoint");
		return;
	}
	if (q->method == NULL || strcmp(q->method, "POST") != 0) {
		asreply_error(r, 405, "method_not_allowed",
		    "method not allowed");
		r->headers = ASREPLY_HEADERS "Allow: POST\r\n";
		return;
	}
	fn(c, s, q, now, r);
}
