/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "as/asapi.h"
#include "as/asbody.h"
#include "attest/hpke.h"
#include "attest/release.h"
#include "attest/wrap.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/http.h"
#include "core/secret.h"

/* What a request's strings may hold, in the encodings of docs/as-api.md;
 * twice the length needed, so that escapes are no reason to refuse. */
#define KID_HEX_MAX 64
#define SEALED_B64_MAX 128
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

enum { UP_KID, UP_EXPIRES, UP_PUBKEY, UP_ENC, UP_SEALED, UP_SECRET, UP_N };

/* Open the sealed secret of an upload into e->secret; -1 with the answer
 * in r when it is not sealed to this AS's key or does not open. */
static int
upload_open(const struct asapi_cfg *c, const struct asbody_field *f,
    struct keycache_entry *e, int64_t expires, struct asreply *r)
{
	uint8_t pub[32], enc[HPKE_ENC_LEN], ct[32 + HPKE_TAG_LEN], aad[24];
	struct buf pt;
	int ret = -1;

	buf_init(&pt, sizeof(e->secret));
	if (b64url_exact(&f[UP_PUBKEY].str, pub, sizeof(pub)) != 0 ||
	    b64url_exact(&f[UP_ENC].str, enc, sizeof(enc)) != 0 ||
	    b64url_exact(&f[UP_SEALED].str, ct, sizeof(ct)) != 0) {
		asreply_bad_request(r, "pubkey and enc must be the base64url "
		    "of 32 bytes, sealed of 48");
		goto out;
	}
	if (CRYPTO_memcmp(pub, c->as_pub, sizeof(pub)) != 0) {
		/* Another instance's key, or this one's before a restart:
		 * the client attests again. */
		asreply_error(r, 409, "as_key_changed", "the secret is sealed "
		    "to another key of the attestation service: attest again");
		goto out;
	}
	aspolicy_upload_aad(e->kid, expires, aad);
	if (hpke_open(&hpke_suite_default, c->as_priv, enc,
	    ASPOLICY_UPLOAD_INFO, sizeof(ASPOLICY_UPLOAD_INFO) - 1, aad, sizeof(aad),
	    ct, sizeof(ct), &pt) != PS_OK || pt.len != sizeof(e->secret)) {
		asreply_bad_request(r, "the sealed secret does not open");
		goto out;
	}
	memcpy(e->secret, pt.p, sizeof(e->secret));
	ret = 0;
out:
	buf_free(&pt);
	return ret;
}

/*
 * The secret and its expiry from an upload's body into e, at time now:
 * the expiry the client sealed it with, at most --max-ttl from now.  -1
 * with the answer in r when the body is refused.
 */
static int
upload_parse(const struct asapi_cfg *c, const struct asapi_request *q,
    int64_t now, struct keycache_entry *e, struct asreply *r)
{
	struct asbody_field f[UP_N] = {
		[UP_KID] = {"kid", ASBODY_STR, KID_HEX_MAX},
		[UP_EXPIRES] = {"expires", ASBODY_INT, 0},
		[UP_PUBKEY] = {"pubkey", ASBODY_STR, KEY_B64URL_MAX},
		[UP_ENC] = {"enc", ASBODY_STR, KEY_B64URL_MAX},
		[UP_SEALED] = {"sealed", ASBODY_STR, SEALED_B64_MAX},
		[UP_SECRET] = {"secret", ASBODY_STR, SEALED_B64_MAX},
	};
	int ret = -1;
	pserr rc;

	if ((rc = asbody_parse(q->body, q->body_len, f, UP_N)) == PS_ERR_NOMEM)
		asreply_internal(r, "upload", rc);
	else if (rc != PS_OK)
		asreply_bad_request(r, "body is not a JSON object of kid, "
		    "expires, pubkey, enc and sealed");
	else if (f[UP_SECRET].seen)
		/* A raw secret never crosses the wire: whoever terminates
		 * TLS in front of the AS would read it. */
		asreply_bad_request(r, "a raw secret is refused: seal it to "
		    "the attested key (POST /v1/attest)");
	else if (!f[UP_KID].seen || !f[UP_EXPIRES].seen || !f[UP_PUBKEY].seen ||
	    !f[UP_ENC].seen || !f[UP_SEALED].seen)
		asreply_bad_request(r, "kid, expires, pubkey, enc and sealed are "
		    "required");
	else if (codec_hex_decode(f[UP_KID].str.p, f[UP_KID].str.len, e->kid,
	    sizeof(e->kid)) != PS_OK)
		asreply_bad_request(r, "kid must be 32 lowercase hex "
		    "characters");
	else if (f[UP_EXPIRES].num <= now)
		/* An expired secret is gone for good: a recorded upload
		 * replayed later does not bring it back. */
		asreply_bad_request(r, "expires must be later than now (Unix "
		    "seconds)");
	else if (upload_open(c, f, e, f[UP_EXPIRES].num, r) == 0) {
		e->expires = f[UP_EXPIRES].num - now > c->max_ttl ?
		    now + c->max_ttl : f[UP_EXPIRES].num;
		ret = 0;
	}
	asbody_free(f, UP_N);
	return ret;
}

static void
unauthorized(struct asreply *r)
{
	asreply_error(r, 401, "unauthorized", "a valid bearer token is "
	    "required");
	r->headers = ASREPLY_HEADERS
	    "WWW-Authenticate: Bearer realm=\"promptseal-as\"\r\n";
}

static void
handle_secrets(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	struct keycache_entry e;
	char kidhex[2 * sizeof(e.kid) + 1];
	const char *tenant = NULL;
	size_t limit = 0;
	pserr rc;

	memset(&e, 0, sizeof(e));
	if (!tokens_find_header(c->tokens, q->authorization, &tenant, &limit)) {
		unauthorized(r);
		goto out;
	}
	if (!http_is_json(q->content_type)) {
		unsupported_media_type(r);
		goto out;
	}
	if (upload_parse(c, q, now, &e, r) != 0)
		goto out;
	rc = asstore_put_for(s, &e, tenant, limit, now);
	if (rc == PS_ERR_EXISTS)
		asreply_error(r, 409, "kid_exists",
		    "a secret with this kid exists");
	else if (rc == PS_ERR_PERM) {
		asreply_note(r, "token %s at its limit of %zu", tenant, limit);
		asreply_error(r, 429, "token_limit",
		    "this token holds its maximum of secrets");
	} else if (rc == PS_ERR_TOO_LARGE)
		asreply_error(r, 503, "store_full",
		    "the service holds its maximum of secrets");
	else if (rc != PS_OK)
		asreply_internal(r, "store", rc);
	else {
		kidhex[codec_hex_encode(e.kid, sizeof(e.kid), kidhex)] = '\0';
		asreply_note(r, "stored for %s, ttl %" PRId64, tenant,
		    e.expires - now);
		asreply_ok(r, 201, "{\"kid\":\"%s\",\"expires\":%" PRId64 "}",
		    kidhex, e.expires);
	}
out:
	secret_wipe(&e, sizeof(e));
}

int
asapi_early(const struct asapi_cfg *c, const struct asapi_request *q,
    struct asreply *r)
{
	size_t plen = strlen(c->prefix), ulen;
	const char *u = q->uri ? q->uri : "";
	static const char up[] = "/v1/secrets";

	ulen = strcspn(u, "?");
	if (ulen != plen + sizeof(up) - 1 || memcmp(u, c->prefix, plen) != 0 ||
	    memcmp(u + plen, up, sizeof(up) - 1) != 0 ||
	    q->method == NULL || strcmp(q->method, "POST") != 0 ||
	    tokens_check_header(c->tokens, q->authorization))
		return 0;
	asreply_reset(r);
	unauthorized(r);
	return 1;
}

/* ---------------------------------------------- POST /v1/challenge */

/*
 * A challenge is stateless: expires (8, big-endian) || random (8) ||
 * HMAC-SHA256(challenge key, the first 16 bytes), cut to 16.  Issuing one
 * stores nothing, so unauthenticated callers cannot exhaust anything; the
 * store remembers a challenge only once evidence for it checked out, to
 * refuse it a second time.
 */
static int
challenge_mac(const struct asapi_cfg *c, const uint8_t *head,
    uint8_t mac[16])
{
	uint8_t full[32];
	unsigned int len = 0;
	int ok;

	ok = HMAC(EVP_sha256(), c->challenge_key, 32, head, 16, full, &len) !=
	    NULL && len == 32;
	memcpy(mac, full, 16);
	secret_wipe(full, sizeof(full));
	return ok ? 0 : -1;
}

static int64_t
challenge_expires(const uint8_t ch[RELEASE_CHALLENGE_LEN])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | ch[i];
	return (int64_t)v;
}

/* PS_OK, PS_ERR_NOT_FOUND (not ours) or PS_ERR_EXPIRED. */
static pserr
challenge_check(const struct asapi_cfg *c,
    const uint8_t ch[RELEASE_CHALLENGE_LEN], int64_t now)
{
	uint8_t mac[16];

	if (challenge_mac(c, ch, mac) != 0)
		return PS_ERR_CRYPTO;
	if (CRYPTO_memcmp(mac, ch + 16, 16) != 0)
		return PS_ERR_NOT_FOUND;
	return challenge_expires(ch) > now ? PS_OK : PS_ERR_EXPIRED;
}

static void
handle_challenge(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	uint8_t ch[RELEASE_CHALLENGE_LEN];
	char ch64[CODEC_B64URL_LEN(RELEASE_CHALLENGE_LEN) + 1];
	int64_t expires = now + c->challenge_ttl;
	pserr rc;
	int i;

	(void)q;
	(void)s;
	for (i = 0; i < 8; i++)
		ch[i] = (uint8_t)((uint64_t)expires >> (56 - 8 * i));
	if ((rc = secret_random(ch + 8, 8)) != PS_OK) {
		asreply_internal(r, "random", rc);
		return;
	}
	if (challenge_mac(c, ch, ch + 16) != 0) {
		asreply_internal(r, "mac", PS_ERR_CRYPTO);
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

	if (!http_is_json(q->content_type))
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
 * Check the challenge, the evidence against the report data rd with the
 * allowlist al, and use the challenge up: 0 with x->m set when it checks
 * out, else -1 with the answer in r.  Nothing is stored for a caller
 * whose evidence does not check out.
 */
static int
fetch_attest(const struct asapi_cfg *c, struct asstore *s, struct fetch *x,
    const struct attest_allowlist *al, const uint8_t *rd, int64_t now,
    struct asreply *r)
{
	enum attest_fail why;
	pserr rc;

	rc = challenge_check(c, x->ch, now);
	if (rc == PS_ERR_NOT_FOUND || rc == PS_ERR_EXPIRED) {
		refused(r, rc == PS_ERR_NOT_FOUND ?
		    ATTEST_FAIL_CHALLENGE_UNKNOWN :
		    ATTEST_FAIL_CHALLENGE_EXPIRED);
		return -1;
	}
	if (rc != PS_OK) {
		asreply_internal(r, "challenge", rc);
		return -1;
	}
	if (rd != NULL)
		rc = attest_check_rd(c->verifiers, c->n_verifiers, al,
		    x->format, x->ev, x->evlen, rd, &x->m, &why);
	else
		rc = attest_check(c->verifiers, c->n_verifiers, al, x->format,
		    x->ev, x->evlen, x->ch, sizeof(x->ch), x->pub, &x->m, &why);
	if (rc == PS_ERR_AUTH) {
		refused(r, why);
		return -1;
	}
	if (rc != PS_OK) {
		asreply_internal(r, "attestation", rc);
		return -1;
	}
	/* One challenge, one release: a replay of good evidence is
	 * refused. */
	rc = asstore_challenge_use(s, x->ch, challenge_expires(x->ch), now);
	if (rc == PS_ERR_EXISTS) {
		refused(r, ATTEST_FAIL_CHALLENGE_UNKNOWN);
		return -1;
	}
	if (rc == PS_ERR_TOO_LARGE) {
		asreply_error(r, 503, "too_many_challenges",
		    "too many challenges used recently, try again later");
		return -1;
	}
	if (rc != PS_OK) {
		asreply_internal(r, "store", rc);
		return -1;
	}
	return 0;
}

/* The 200 body {"count":n,"keys":"<base64url of blob>"}, and with
 * evidence ev (a join's; NULL for a fetch) "format" and "evidence". */
static pserr
put_released(const struct asapi_cfg *c, struct asreply *r, size_t n,
    const struct buf *blob, const struct buf *ev)
{
	char head[64];
	int len;
	pserr rc;

	len = snprintf(head, sizeof(head), "{\"count\":%zu,\"keys\":\"", n);
	buf_reset(&r->body);
	if ((rc = buf_append(&r->body, head, (size_t)len)) != PS_OK ||
	    (rc = codec_b64url_append(&r->body, blob->p, blob->len)) != PS_OK ||
	    (rc = buf_putc(&r->body, '"')) != PS_OK)
		return rc;
	if (ev != NULL && ((rc = buf_puts(&r->body, ",\"format\":\"")) !=
	    PS_OK || (rc = buf_puts(&r->body, c->self->format)) != PS_OK ||
	    (rc = buf_puts(&r->body, "\",\"evidence\":\"")) != PS_OK ||
	    (rc = codec_b64url_append(&r->body, ev->p, ev->len)) != PS_OK ||
	    (rc = buf_putc(&r->body, '"')) != PS_OK))
		return rc;
	if ((rc = buf_putc(&r->body, '}')) != PS_OK)
		return rc;
	r->status = 200;
	return PS_OK;
}

/* Wrap every unexpired secret to the attested key and answer with it. */
static void
fetch_release(const struct asapi_cfg *c, struct asstore *s,
    const struct fetch *x, int64_t now, struct asreply *r)
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
	if (rc != PS_OK || (rc = put_released(c, r, n, &blob, NULL)) != PS_OK) {
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
	if (fetch_parse(q, &x, r) == 0 &&
	    fetch_attest(c, s, &x, c->allow, NULL, now, r) == 0)
		fetch_release(c, s, &x, now, r);
	free(x.ev);
}

/* --------------------------------------------------- POST /v1/join */

/*
 * Another AS instance asks for the storage key.  Its evidence must bind
 * the challenge, its ephemeral key and this instance's own policy digest
 * (aspolicy_join_request_report_data): a joiner enforces exactly the
 * policy this one does, and runs an AS build of the policy's peers.
 * The answer carries this instance's own evidence over the wrapped key
 * (aspolicy_join_report_data), so that the joiner takes the storage key
 * only from an attested peer, not from whoever answers at the peer's
 * address.
 */
static void
handle_join(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	uint8_t rd[ATTEST_REPORT_DATA_LEN];
	char mhex[2 * ATTEST_MEASUREMENT_MAX + 1];
	struct fetch x;
	struct buf blob, ev;

	memset(&x, 0, sizeof(x));
	buf_init(&blob, 256);
	buf_init(&ev, PS_CAP_EVIDENCE);
	if (c->storage_key == NULL || c->policy->peers.n == 0) {
		asreply_error(r, 404, "unknown_endpoint", "unknown endpoint");
		goto out;
	}
	if (fetch_parse(q, &x, r) != 0)
		goto out;
	if (aspolicy_join_request_report_data(x.ch, x.pub, c->policy_digest,
	    rd) != PS_OK) {
		asreply_internal(r, "join", PS_ERR_CRYPTO);
		goto out;
	}
	if (fetch_attest(c, s, &x, &c->policy->peers, rd, now, r) != 0)
		goto out;
	if (wrap_seal(x.pub, x.ch, sizeof(x.ch), c->storage_key,
	    ASSTORE_KEY_LEN, &blob) != PS_OK ||
	    aspolicy_join_report_data(x.ch, x.pub, (const uint8_t *)blob.p,
	    blob.len, c->policy_digest, rd) != PS_OK ||
	    c->self->produce(c->self, rd, &ev) != PS_OK ||
	    put_released(c, r, 1, &blob, &ev) != PS_OK) {
		asreply_internal(r, "join", PS_ERR_CRYPTO);
		goto out;
	}
	attest_measurement_hex(&x.m, mhex);
	asreply_note(r, "storage key to an AS instance, measurement %.24s...",
	    mhex);
out:
	free(x.ev);
	buf_free(&blob);
	buf_free(&ev);
}

/* ------------------------------------------------- POST /v1/attest */

enum { AT_CHALLENGE, AT_N };

/* Append "[\"hex\",...]" of the n items of len bytes each at p (stride
 * bytes apart) to b. */
static pserr
hex_array(struct buf *b, const uint8_t *p, size_t n, size_t stride,
    const size_t *lens)
{
	char hex[2 * ATTEST_MEASUREMENT_MAX + 1];
	size_t i, len;
	pserr rc;

	if ((rc = buf_putc(b, '[')) != PS_OK)
		return rc;
	for (i = 0; i < n; i++) {
		len = lens != NULL ? lens[i] : stride;
		hex[codec_hex_encode(p + i * stride, len, hex)] = '\0';
		if ((i > 0 && (rc = buf_putc(b, ',')) != PS_OK) ||
		    (rc = buf_putc(b, '"')) != PS_OK ||
		    (rc = buf_puts(b, hex)) != PS_OK ||
		    (rc = buf_putc(b, '"')) != PS_OK)
			return rc;
	}
	return buf_putc(b, ']');
}

/* Append "[\"hex\",...]" of the measurements of al to b. */
static pserr
measurement_array(struct buf *b, const struct attest_allowlist *al)
{
	size_t *lens = NULL, i;
	pserr rc;

	if (al->n > 0 && (lens = malloc(al->n * sizeof(*lens))) == NULL)
		return PS_ERR_NOMEM;
	for (i = 0; i < al->n; i++)
		lens[i] = al->m[i].len;
	rc = hex_array(b, al->n > 0 ? al->m[0].b : NULL, al->n,
	    sizeof(al->m[0]), lens);
	free(lens);
	return rc;
}

/* The 200 body of an attest. */
static pserr
put_attested(const struct asapi_cfg *c, struct asreply *r,
    const struct buf *ev)
{
	const struct aspolicy *p = c->policy;
	pserr rc;

	buf_reset(&r->body);
	if ((rc = buf_puts(&r->body, "{\"format\":\"")) != PS_OK ||
	    (rc = buf_puts(&r->body, c->self->format)) != PS_OK ||
	    (rc = buf_puts(&r->body, "\",\"suite\":{\"kem\":32,\"kdf\":1,"
	    "\"aead\":2},\"pubkey\":\"")) != PS_OK ||
	    (rc = codec_b64url_append(&r->body, c->as_pub, 32)) != PS_OK ||
	    (rc = buf_puts(&r->body, "\",\"evidence\":\"")) != PS_OK ||
	    (rc = codec_b64url_append(&r->body, ev->p, ev->len)) != PS_OK ||
	    (rc = buf_puts(&r->body, "\",\"policy\":{\"platform_keys\":")) !=
	    PS_OK ||
	    (rc = hex_array(&r->body, (const uint8_t *)p->keys, p->nkeys,
	    ATTEST_SIM_KEY_LEN, NULL)) != PS_OK ||
	    (rc = buf_puts(&r->body, ",\"worker_measurements\":")) != PS_OK ||
	    (rc = measurement_array(&r->body, &p->workers)) != PS_OK ||
	    (rc = buf_puts(&r->body, ",\"peer_measurements\":")) != PS_OK ||
	    (rc = measurement_array(&r->body, &p->peers)) != PS_OK ||
	    (rc = buf_puts(&r->body, "}}")) != PS_OK)
		return rc;
	r->status = 200;
	return PS_OK;
}

static void
handle_attest(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r)
{
	struct asbody_field f[AT_N] = {
		[AT_CHALLENGE] = {"challenge", ASBODY_STR, KEY_B64URL_MAX},
	};
	uint8_t ch[32], rd[ATTEST_REPORT_DATA_LEN];
	struct buf ev;
	pserr rc;

	(void)s;
	(void)now;
	buf_init(&ev, PS_CAP_EVIDENCE);
	if (!http_is_json(q->content_type)) {
		unsupported_media_type(r);
		goto out;
	}
	if ((rc = asbody_parse(q->body, q->body_len, f, AT_N)) == PS_ERR_NOMEM) {
		asreply_internal(r, "attest", rc);
		goto out;
	}
	if (rc != PS_OK || !f[AT_CHALLENGE].seen ||
	    b64url_exact(&f[AT_CHALLENGE].str, ch, sizeof(ch)) != 0) {
		asreply_bad_request(r, "body must be {\"challenge\": the "
		    "base64url of 32 bytes}");
		goto out;
	}
	if ((rc = aspolicy_report_data(ch, c->as_pub, c->policy_digest, rd)) !=
	    PS_OK || (rc = c->self->produce(c->self, rd, &ev)) != PS_OK ||
	    (rc = put_attested(c, r, &ev)) != PS_OK) {
		asreply_internal(r, "attest", rc);
		goto out;
	}
	asreply_note(r, "attested with %s evidence", c->self->format);
out:
	asbody_free(f, AT_N);
	buf_free(&ev);
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
		{"/v1/attest", handle_attest},
		{"/v1/secrets", handle_secrets},
		{"/v1/challenge", handle_challenge},
		{"/v1/fetch", handle_fetch},
		{"/v1/join", handle_join},
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
