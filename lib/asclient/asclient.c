/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "asclient/asclient.h"
#include "asclient/asclient_parse.h"
#include "attest/attest_sim.h"
#include "attest/hpke.h"
#include "attest/release.h"
#include "attest/wrap.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/secret.h"
#include "net/kept.h"

struct asclient {
	CURL *h;
	char *url;
	char *ca_file;
	char *pin;
	char *unix_socket;
	long connect_timeout_ms;
	long timeout_ms;
	int allow_http;
	const struct aspolicy *policy;
	char *policy_file;
	char err[256];
};

pserr
asclient_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? PS_OK :
	    PS_ERR_NOMEM;
}

static char *
dup_or_null(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

pserr
asclient_new(const struct asclient_opts *o, struct asclient **out)
{
	struct asclient *c;
	int fail = 0;

	if (o->url == NULL || (strncasecmp(o->url, "https://", 8) != 0 &&
	    !(o->allow_http && strncasecmp(o->url, "http://", 7) == 0)))
		return PS_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PS_ERR_NOMEM;
	c->url = dup_or_null(o->url, &fail);
	c->ca_file = dup_or_null(o->ca_file, &fail);
	c->pin = dup_or_null(o->pin, &fail);
	c->unix_socket = dup_or_null(o->unix_socket, &fail);
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : 5000;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 15000;
	c->allow_http = o->allow_http;
	c->policy = o->policy;
	c->policy_file = dup_or_null(o->policy_file, &fail);
	/* A trailing slash on the base would double the one of each path. */
	if (c->url != NULL) {
		size_t n = strlen(c->url);

		while (n > 0 && c->url[n - 1] == '/')
			c->url[--n] = '\0';
	}
	if (fail || (c->h = curl_easy_init()) == NULL) {
		asclient_free(c);
		return PS_ERR_NOMEM;
	}
	*out = c;
	return PS_OK;
}

void
asclient_free(struct asclient *c)
{
	if (c == NULL)
		return;
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	free(c->url);
	free(c->ca_file);
	free(c->pin);
	free(c->unix_socket);
	free(c->policy_file);
	free(c);
}

const char *
asclient_error(const struct asclient *c)
{
	return c->err;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;

	/* Returning less than n makes curl stop with CURLE_WRITE_ERROR. */
	return buf_append(b, p, n) == PS_OK ? n : 0;
}

/* Map an error reply of the AS to a code and the error text. */
static pserr
status_error(struct asclient *c, long status, const struct buf *reply)
{
	pserr_why(c->err, sizeof(c->err), "HTTP %ld", status);
	asclient_parse_error(reply->p, reply->len, c->err, sizeof(c->err));
	switch (status) {
	case 401:
	case 403:
		return PS_ERR_AUTH;
	case 409:
		return PS_ERR_EXISTS;
	case 400:
	case 415:
		return PS_ERR_BAD_REQUEST;
	default:
		return status >= 500 && status < 600 ? PS_ERR_UPSTREAM :
		    PS_ERR_BAD_UPSTREAM;
	}
}

/* The request's header lines; NULL when memory runs out. */
static struct curl_slist *
request_headers(const char *auth_header)
{
	static const char *const fixed[] = {
		"Content-Type: application/json",
		/* Ask for no "100 Continue" round trip. */
		"Expect:",
	};
	struct curl_slist *hdr = NULL, *h;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if ((h = curl_slist_append(hdr, fixed[i])) == NULL)
			goto fail;
		hdr = h;
	}
	if (auth_header != NULL) {
		if ((h = curl_slist_append(hdr, auth_header)) == NULL)
			goto fail;
		hdr = h;
	}
	return hdr;
fail:
	curl_slist_free_all(hdr);
	return NULL;
}

/* Wipe (the token sits in a copy curl made of its line) and free. */
static void
headers_free(struct curl_slist *hdr)
{
	struct curl_slist *h;

	for (h = hdr; h != NULL; h = h->next)
		secret_wipe(h->data, strlen(h->data));
	curl_slist_free_all(hdr);
}

/* Set the handle up for one POST: HTTPS only and verified, no redirects,
 * the timeouts, the reply into reply. */
static void
setup_post(struct asclient *c, const char *url, struct curl_slist *hdr,
    const char *body, size_t len, struct buf *reply)
{
	curl_easy_reset(c->h);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR,
	    c->allow_http ? "https,http" : "https");
#else
	curl_easy_setopt(c->h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS |
	    (c->allow_http ? CURLPROTO_HTTP : 0)));
#endif
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file != NULL)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, c->ca_file);
	if (c->pin != NULL)
		curl_easy_setopt(c->h, CURLOPT_PINNEDPUBLICKEY, c->pin);
	if (c->unix_socket != NULL)
		curl_easy_setopt(c->h, CURLOPT_UNIX_SOCKET_PATH, c->unix_socket);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c->h, CURLOPT_POST, 1L);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c->h, CURLOPT_USERAGENT, "promptseal/" PACKAGE_VERSION);
}

/* The code for a transfer that ended with cc; the error set. */
static pserr
transfer_error(struct asclient *c, CURLcode cc, const struct buf *reply)
{
	if (cc == CURLE_WRITE_ERROR) {
		pserr_why(c->err, sizeof(c->err), "reply larger than %zu bytes",
		    reply->max);
		return PS_ERR_BAD_UPSTREAM;
	}
	pserr_why(c->err, sizeof(c->err), "%s", curl_easy_strerror(cc));
	return cc == CURLE_OPERATION_TIMEDOUT ? PS_ERR_TIMEOUT :
	    PS_ERR_UPSTREAM;
}

/*
 * POST body to <url><path>, the reply into reply (capped by its max).
 * PS_OK when the status is want; otherwise the mapped error.
 */
static pserr
post(struct asclient *c, const char *path, const char *auth_header,
    const char *body, size_t len, long want, struct buf *reply)
{
	struct curl_slist *hdr;
	char url[1024];
	CURLcode cc;
	long status = 0;

	c->err[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >=
	    sizeof(url)) {
		pserr_why(c->err, sizeof(c->err), "AS url too long");
		return PS_ERR_ARG;
	}
	if ((hdr = request_headers(auth_header)) == NULL)
		return PS_ERR_NOMEM;
	setup_post(c, url, hdr, body, len, reply);
	cc = curl_easy_perform(c->h);
	/* Every AS call may go twice: an upload that did arrive is answered
	 * kid_exists, a fetch's challenge is refused once used. */
	if (kept_connection_died(c->h, cc)) {
		log_info("the AS's web server closed a kept connection as it "
		    "was reused (%s): once more on a fresh one",
		    curl_easy_strerror(cc));
		buf_reset(reply);
		curl_easy_setopt(c->h, CURLOPT_FRESH_CONNECT, 1L);
		cc = curl_easy_perform(c->h);
		curl_easy_setopt(c->h, CURLOPT_FRESH_CONNECT, 0L);
	}
	/* The body may hold a secret: curl must not keep a pointer to it. */
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdr);
	if (cc != CURLE_OK)
		return transfer_error(c, cc, reply);
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	return status == want ? PS_OK : status_error(c, status, reply);
}

/*
 * Attest the AS against pol, seal the secret to its key and post the
 * upload with the header line auth; the reply into reply.
 */
static pserr
upload_once(struct asclient *c, const struct aspolicy *pol, const char *auth,
    const uint8_t kid[16], const uint8_t secret[32], int64_t expires,
    struct buf *reply)
{
	uint8_t as_pub[32], enc[HPKE_ENC_LEN], aad[ASPOLICY_UPLOAD_AAD_LEN];
	char kidhex[33];
	struct buf body, sealed;
	pserr rc;

	buf_init(&body, 1024);
	buf_init(&sealed, 64);
	/* Before any secret leaves: the AS proves what it runs and what it
	 * enforces, and gets the secret only sealed to its attested key. */
	if ((rc = asclient_attest(c, pol, as_pub)) != PS_OK)
		goto out;
	aspolicy_upload_aad(kid, expires, aad);
	if ((rc = hpke_seal(&hpke_suite_default, as_pub, ASPOLICY_UPLOAD_INFO,
	    sizeof(ASPOLICY_UPLOAD_INFO) - 1, aad, sizeof(aad), secret, 32, enc,
	    &sealed)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "cannot seal to the AS's key");
		goto out;
	}
	kidhex[codec_hex_encode(kid, 16, kidhex)] = '\0';
	{
		char exps[32];

		snprintf(exps, sizeof(exps), "%" PRId64, expires);
		if ((rc = buf_puts(&body, "{\"kid\":\"")) != PS_OK ||
		    (rc = buf_puts(&body, kidhex)) != PS_OK ||
		    (rc = buf_puts(&body, "\",\"expires\":")) != PS_OK ||
		    (rc = buf_puts(&body, exps)) != PS_OK ||
		    (rc = buf_puts(&body, ",\"pubkey\":\"")) != PS_OK ||
		    (rc = codec_b64url_append(&body, as_pub, 32)) != PS_OK ||
		    (rc = buf_puts(&body, "\",\"enc\":\"")) != PS_OK ||
		    (rc = codec_b64url_append(&body, enc, sizeof(enc))) != PS_OK ||
		    (rc = buf_puts(&body, "\",\"sealed\":\"")) != PS_OK ||
		    (rc = codec_b64url_append(&body, sealed.p,
		    sealed.len)) != PS_OK ||
		    (rc = buf_puts(&body, "\"}")) != PS_OK)
			goto out;
	}
	rc = post(c, "/v1/secrets", auth, body.p, body.len, 201, reply);
out:
	buf_free(&body);
	buf_free(&sealed);
	return rc;
}

pserr
asclient_upload(struct asclient *c, const char *token, const uint8_t kid[16],
    const uint8_t secret[32], int64_t until, int64_t *expires)
{
	char why[200] = "";
	struct aspolicy fresh;
	const struct aspolicy *pol = c->policy;
	struct buf reply, auth;
	int try;
	const char *p;
	int64_t exp;
	pserr rc;

	for (p = token; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return PS_ERR_ARG;
	buf_init(&reply, PS_CAP_AS_SMALL_REPLY);
	buf_init(&auth, 1024);
	aspolicy_init(&fresh);
	if (c->policy_file != NULL) {
		if (aspolicy_load(c->policy_file, &fresh, why, sizeof(why)) !=
		    PS_OK) {
			pserr_why(c->err, sizeof(c->err), "the trust policy "
			    "%s: %s: nothing is uploaded", c->policy_file, why);
			rc = PS_ERR_AUTH;
			goto out;
		}
		pol = &fresh;
	}
	if (pol == NULL) {
		pserr_why(c->err, sizeof(c->err), "no trust policy for the AS: "
		    "nothing is uploaded");
		rc = PS_ERR_AUTH;
		goto out;
	}
	if ((rc = buf_puts(&auth, "Authorization: Bearer ")) != PS_OK ||
	    (rc = buf_puts(&auth, token)) != PS_OK ||
	    buf_cstr(&auth) == NULL)
		goto out;
	/* An AS instance that does not hold the key the secret was sealed
	 * to (another instance behind the same name, or one restarted
	 * since the attest) answers 409 as_key_changed: attest again, once.
	 * Never taken for kid_exists: the secret is not at the AS. */
	for (try = 0; try < 2; try++) {
		buf_reset(&reply);
		rc = upload_once(c, pol, auth.p, kid, secret, until, &reply);
		if (rc != PS_ERR_EXISTS || strstr(c->err, " as_key_changed") ==
		    NULL)
			break;
		rc = PS_ERR_UPSTREAM;
	}
	if (rc != PS_OK)
		goto out;
	if ((rc = asclient_parse_upload(reply.p, reply.len, &exp)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "the AS's upload reply is "
		    "malformed");
		goto out;
	}
	if (expires != NULL)
		*expires = exp;
out:
	buf_free(&auth);
	buf_free(&reply);
	aspolicy_free(&fresh);
	return rc;
}

/*
 * Check an AS's evidence (format, ev) for report data rd: signed by a
 * platform key of pol, of an AS build in builds.  PS_ERR_AUTH when it is
 * refused, with "<who> is refused: ..." in c->err, binds saying what the
 * report data hold; other codes for a local failure.
 */
static pserr
check_as_evidence(struct asclient *c, const struct aspolicy *pol,
    const struct attest_allowlist *builds, const char *format,
    const struct buf *ev, const uint8_t rd[ATTEST_REPORT_DATA_LEN],
    const char *who, const char *binds)
{
	struct attest_verifier *v = NULL;
	const struct attest_verifier *vs[1];
	enum attest_fail fail;
	pserr rc;

	if ((rc = attest_sim_verifier_new(
	    (const uint8_t (*)[ATTEST_SIM_KEY_LEN])pol->keys, pol->nkeys,
	    &v)) != PS_OK)
		return rc;
	vs[0] = v;
	rc = attest_check_rd(vs, 1, builds, format, (const uint8_t *)ev->p,
	    ev->len, rd, NULL, &fail);
	if (rc == PS_ERR_AUTH)
		pserr_why(c->err, sizeof(c->err), "%s is refused: %s%s%s", who,
		    fail == ATTEST_FAIL_MEASUREMENT ? "AS " : "",
		    fail == ATTEST_FAIL_REPORT_DATA ? "its evidence does not "
		    "bind " : "", fail == ATTEST_FAIL_REPORT_DATA ? binds :
		    attest_fail_str(fail));
	attest_verifier_free(v);
	return rc;
}

pserr
asclient_attest(struct asclient *c, const struct aspolicy *user,
    uint8_t as_pub[32])
{
	uint8_t ch[32], pub[32], digest[ASPOLICY_DIGEST_LEN];
	uint8_t rd[ATTEST_REPORT_DATA_LEN];
	char body[128], format[ASCLIENT_FORMAT_MAX + 1], why[192] = "";
	struct aspolicy asp;
	struct buf reply, ev;
	pserr rc;
	int n;

	aspolicy_init(&asp);
	buf_init(&reply, PS_CAP_AS_SMALL_REPLY);
	buf_init(&ev, PS_CAP_EVIDENCE);
	/* The client's own challenge: fresh evidence, whatever the AS's
	 * clock or challenges say. */
	if ((rc = secret_random(ch, sizeof(ch))) != PS_OK)
		goto out;
	n = snprintf(body, sizeof(body), "{\"challenge\":\"");
	n += (int)codec_b64url_encode(ch, sizeof(ch), body + n);
	n += snprintf(body + n, sizeof(body) - (size_t)n, "\"}");
	if ((rc = post(c, "/v1/attest", NULL, body, (size_t)n, 200, &reply)) !=
	    PS_OK)
		goto out;
	if ((rc = asclient_parse_attest(reply.p, reply.len, format, pub, &ev,
	    &asp)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "the AS's attest reply is "
		    "malformed");
		goto out;
	}
	if ((rc = aspolicy_digest(&asp, digest)) != PS_OK ||
	    (rc = aspolicy_report_data(ch, pub, digest, rd)) != PS_OK ||
	    (rc = check_as_evidence(c, user, &user->as, format, &ev, rd,
	    "the AS", "this challenge, its key and its policy")) != PS_OK)
		goto out;
	if (!aspolicy_accepts(user, &asp, why, sizeof(why))) {
		pserr_why(c->err, sizeof(c->err), "the AS is refused: %s", why);
		rc = PS_ERR_AUTH;
		goto out;
	}
	memcpy(as_pub, pub, 32);
	rc = PS_OK;
out:
	aspolicy_free(&asp);
	buf_free(&reply);
	buf_free(&ev);
	return rc;
}

pserr
asclient_challenge(struct asclient *c, uint8_t challenge[32],
    int64_t *expires)
{
	struct buf reply;
	int64_t exp;
	pserr rc;

	buf_init(&reply, PS_CAP_AS_SMALL_REPLY);
	if ((rc = post(c, "/v1/challenge", NULL, "", 0, 200, &reply)) != PS_OK)
		goto out;
	if ((rc = asclient_parse_challenge(reply.p, reply.len, challenge,
	    &exp)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "the AS's challenge reply is "
		    "malformed");
		goto out;
	}
	if (expires != NULL)
		*expires = exp;
out:
	buf_free(&reply);
	return rc;
}

pserr
asclient_fetch(struct asclient *c, const uint8_t challenge[32],
    const char *format, const uint8_t *evidence, size_t n,
    const uint8_t pubkey[32], struct buf *wrapped)
{
	struct buf body, reply;
	char *p;
	pserr rc;

	if (n > PS_CAP_EVIDENCE || strlen(format) > ASCLIENT_FORMAT_MAX ||
	    strpbrk(format, "\"\\") != NULL)
		return PS_ERR_ARG;
	buf_init(&body, PS_CAP_AS_BODY);
	buf_init(&reply, PS_CAP_AS_REPLY);
	if ((rc = buf_reserve(&body, 256 + CODEC_B64URL_LEN(n))) != PS_OK)
		goto out;
	p = body.p;
	p += sprintf(p, "{\"challenge\":\"");
	p += codec_b64url_encode(challenge, 32, p);
	p += sprintf(p, "\",\"format\":\"%s\",\"evidence\":\"", format);
	p += codec_b64url_encode(evidence, n, p);
	p += sprintf(p, "\",\"pubkey\":\"");
	p += codec_b64url_encode(pubkey, 32, p);
	p += sprintf(p, "\"}");
	body.len = (size_t)(p - body.p);
	if ((rc = post(c, "/v1/fetch", NULL, body.p, body.len, 200, &reply)) !=
	    PS_OK)
		goto out;
	if ((rc = asclient_parse_keys(reply.p, reply.len, PS_CAP_AS_REPLY,
	    wrapped)) != PS_OK)
		pserr_why(c->err, sizeof(c->err), "the AS's fetch reply is "
		    "malformed");
out:
	buf_free(&body);
	buf_free(&reply);
	return rc;
}

pserr
asclient_fetch_keys(struct asclient *c, const struct attest_producer *p,
    struct keycache_entry **keys, size_t *n)
{
	uint8_t ch[RELEASE_CHALLENGE_LEN], priv[WRAP_KEY_LEN], pub[WRAP_KEY_LEN];
	uint8_t rd[ATTEST_REPORT_DATA_LEN];
	struct buf ev, wrapped;
	pserr rc;

	buf_init(&ev, PS_CAP_EVIDENCE);
	buf_init(&wrapped, PS_CAP_AS_REPLY);
	if ((rc = asclient_challenge(c, ch, NULL)) != PS_OK)
		goto out;
	/* A fresh key pair per exchange: the private key lives only for the
	 * length of this call. */
	if ((rc = wrap_keypair(priv, pub)) != PS_OK)
		goto out;
	if ((rc = attest_report_data(ch, sizeof(ch), pub, rd)) != PS_OK ||
	    (rc = p->produce(p, rd, &ev)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "cannot produce %s evidence: "
		    "%s", p->format, pserr_str(rc));
		goto out;
	}
	if ((rc = asclient_fetch(c, ch, p->format, (uint8_t *)ev.p, ev.len,
	    pub, &wrapped)) != PS_OK)
		goto out;
	if ((rc = release_open(priv, ch, wrapped.p, wrapped.len, keys, n)) !=
	    PS_OK) {
		pserr_why(c->err, sizeof(c->err), "the AS's wrapped keys do not "
		    "open or parse");
		rc = PS_ERR_BAD_UPSTREAM;
		goto out;
	}
	rc = PS_OK;
out:
	secret_wipe(priv, sizeof(priv));
	buf_free(&ev);
	buf_free(&wrapped);
	return rc;
}

pserr
asclient_join(struct asclient *c, const struct attest_producer *p,
    const struct aspolicy *self, const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t key[32])
{
	uint8_t ch[RELEASE_CHALLENGE_LEN], priv[WRAP_KEY_LEN], pub[WRAP_KEY_LEN];
	uint8_t rd[ATTEST_REPORT_DATA_LEN];
	char format[ASCLIENT_FORMAT_MAX + 1];
	struct buf ev, wrapped, out;
	struct buf body, reply;
	pserr rc;

	buf_init(&ev, PS_CAP_EVIDENCE);
	buf_init(&wrapped, 256);
	buf_init(&out, 32);
	buf_init(&body, PS_CAP_AS_BODY);
	buf_init(&reply, PS_CAP_AS_SMALL_REPLY);
	if ((rc = asclient_challenge(c, ch, NULL)) != PS_OK ||
	    (rc = wrap_keypair(priv, pub)) != PS_OK)
		goto out;
	if ((rc = aspolicy_join_request_report_data(ch, pub, digest, rd)) !=
	    PS_OK || (rc = p->produce(p, rd, &ev)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "cannot produce %s evidence",
		    p->format);
		goto out;
	}
	if ((rc = buf_puts(&body, "{\"challenge\":\"")) != PS_OK ||
	    (rc = codec_b64url_append(&body, ch, sizeof(ch))) != PS_OK ||
	    (rc = buf_puts(&body, "\",\"format\":\"")) != PS_OK ||
	    (rc = buf_puts(&body, p->format)) != PS_OK ||
	    (rc = buf_puts(&body, "\",\"evidence\":\"")) != PS_OK ||
	    (rc = codec_b64url_append(&body, ev.p, ev.len)) != PS_OK ||
	    (rc = buf_puts(&body, "\",\"pubkey\":\"")) != PS_OK ||
	    (rc = codec_b64url_append(&body, pub, sizeof(pub))) != PS_OK ||
	    (rc = buf_puts(&body, "\"}")) != PS_OK)
		goto out;
	if ((rc = post(c, "/v1/join", NULL, body.p, body.len, 200, &reply)) !=
	    PS_OK)
		goto out;
	if ((rc = asclient_parse_join(reply.p, reply.len, 128, &wrapped,
	    format, &ev)) != PS_OK) {
		pserr_why(c->err, sizeof(c->err), "the peer's reply is "
		    "malformed");
		goto out;
	}
	/* Whoever answers at the peer's address could wrap a key of its own
	 * to ours: the key is taken only under evidence of an AS build this
	 * instance lets join, on a platform it trusts, enforcing its very
	 * policy, that binds our challenge, our key and this wrapped key. */
	if ((rc = aspolicy_join_report_data(ch, pub, (const uint8_t *)
	    wrapped.p, wrapped.len, digest, rd)) != PS_OK ||
	    (rc = check_as_evidence(c, self, &self->peers, format, &ev, rd,
	    "the peer", "this challenge, this key, its answer and this "
	    "policy")) != PS_OK)
		goto out;
	rc = PS_ERR_BAD_UPSTREAM;
	if (wrap_open(priv, ch, sizeof(ch), wrapped.p, wrapped.len, &out) !=
	    PS_OK || out.len != 32) {
		pserr_why(c->err, sizeof(c->err), "the peer's storage key does "
		    "not open");
		goto out;
	}
	memcpy(key, out.p, 32);
	rc = PS_OK;
out:
	secret_wipe(priv, sizeof(priv));
	buf_free(&ev);
	buf_free(&wrapped);
	buf_free(&out);
	buf_free(&body);
	buf_free(&reply);
	return rc;
}
