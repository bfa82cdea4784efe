/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/aspolicy.h"
#include "core/caps.h"
#include "core/codec.h"

#define HEADER "promptseal as policy v2\n"
#define RD_LABEL "promptseal as v1"
#define JOIN_REQUEST_LABEL "promptseal as join request v1"
#define JOIN_REPLY_LABEL "promptseal as join reply v1"

void
aspolicy_init(struct aspolicy *p)
{
	memset(p, 0, sizeof(*p));
}

void
aspolicy_free(struct aspolicy *p)
{
	free(p->keys);
	attest_allowlist_free(&p->workers);
	attest_allowlist_free(&p->peers);
	attest_allowlist_free(&p->as);
	memset(p, 0, sizeof(*p));
}

static int
has_key(const struct aspolicy *p, const uint8_t key[ATTEST_SIM_KEY_LEN])
{
	size_t i;

	for (i = 0; i < p->nkeys; i++)
		if (memcmp(p->keys[i], key, ATTEST_SIM_KEY_LEN) == 0)
			return 1;
	return 0;
}

pserr
aspolicy_add_key(struct aspolicy *p, const uint8_t key[ATTEST_SIM_KEY_LEN])
{
	uint8_t (*nk)[ATTEST_SIM_KEY_LEN];

	if (has_key(p, key))
		return PS_OK;
	if (p->nkeys >= ASPOLICY_MAX_KEYS)
		return PS_ERR_TOO_LARGE;
	if ((nk = realloc(p->keys, (p->nkeys + 1) * sizeof(*nk))) == NULL)
		return PS_ERR_NOMEM;
	p->keys = nk;
	memcpy(p->keys[p->nkeys++], key, ATTEST_SIM_KEY_LEN);
	return PS_OK;
}

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, ATTEST_SIM_KEY_LEN);
}

static int
cmp_m(const void *a, const void *b)
{
	const struct attest_measurement *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->b, y->b, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Append a line "<word> <hex>\n" for each measurement of al, sorted: the
 * digest must not depend on the order of the command line or of a
 * reply. */
static pserr
put_measurements(struct buf *out, const char *word,
    const struct attest_allowlist *al)
{
	char hex[2 * ATTEST_MEASUREMENT_MAX + 1];
	struct attest_measurement *ms;
	size_t i;
	pserr rc = PS_OK;

	if (al->n == 0)
		return PS_OK;
	if ((ms = malloc(al->n * sizeof(*ms))) == NULL)
		return PS_ERR_NOMEM;
	memcpy(ms, al->m, al->n * sizeof(*ms));
	qsort(ms, al->n, sizeof(*ms), cmp_m);
	for (i = 0; i < al->n && rc == PS_OK; i++) {
		attest_measurement_hex(&ms[i], hex);
		if ((rc = buf_puts(out, word)) == PS_OK &&
		    (rc = buf_putc(out, ' ')) == PS_OK &&
		    (rc = buf_puts(out, hex)) == PS_OK)
			rc = buf_putc(out, '\n');
	}
	free(ms);
	return rc;
}

pserr
aspolicy_serialise(const struct aspolicy *p, struct buf *out)
{
	uint8_t (*keys)[ATTEST_SIM_KEY_LEN] = NULL;
	char hex[2 * ATTEST_SIM_KEY_LEN + 1];
	size_t i, start = out->len;
	pserr rc = PS_ERR_NOMEM;

	if (p->nkeys > 0) {
		if ((keys = malloc(p->nkeys * sizeof(*keys))) == NULL)
			goto out;
		memcpy(keys, p->keys, p->nkeys * sizeof(*keys));
		qsort(keys, p->nkeys, sizeof(*keys), cmp_key);
	}
	if ((rc = buf_puts(out, HEADER)) != PS_OK)
		goto out;
	for (i = 0; i < p->nkeys; i++) {
		hex[codec_hex_encode(keys[i], ATTEST_SIM_KEY_LEN, hex)] = '\0';
		if ((rc = buf_puts(out, "platform sim ")) != PS_OK ||
		    (rc = buf_puts(out, hex)) != PS_OK ||
		    (rc = buf_putc(out, '\n')) != PS_OK)
			goto out;
	}
	if ((rc = put_measurements(out, "worker", &p->workers)) != PS_OK)
		goto out;
	rc = put_measurements(out, "peer", &p->peers);
out:
	if (rc != PS_OK)
		out->len = start;
	free(keys);
	return rc;
}

pserr
aspolicy_digest(const struct aspolicy *p, uint8_t out[ASPOLICY_DIGEST_LEN])
{
	struct buf b;
	unsigned int len = 0;
	pserr rc;

	buf_init(&b, 1u << 20);
	if ((rc = aspolicy_serialise(p, &b)) == PS_OK)
		rc = EVP_Digest(b.p, b.len, out, &len, EVP_sha256(), NULL) == 1 &&
		    len == ASPOLICY_DIGEST_LEN ? PS_OK : PS_ERR_CRYPTO;
	buf_free(&b);
	return rc;
}

/* SHA-512(label || challenge || pub || digest) into out. */
static pserr
labelled_report_data(const char *label, const uint8_t challenge[32],
    const uint8_t pub[32], const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN])
{
	uint8_t in[64 + 32 + 32 + ASPOLICY_DIGEST_LEN];
	unsigned int len = 0;
	size_t n = strlen(label);

	if (n > 64)
		return PS_ERR_ARG;
	memcpy(in, label, n);
	memcpy(in + n, challenge, 32);
	memcpy(in + n + 32, pub, 32);
	memcpy(in + n + 64, digest, ASPOLICY_DIGEST_LEN);
	return EVP_Digest(in, n + 64 + ASPOLICY_DIGEST_LEN, out, &len,
	    EVP_sha512(), NULL) == 1 && len == ATTEST_REPORT_DATA_LEN ? PS_OK :
	    PS_ERR_CRYPTO;
}

pserr
aspolicy_report_data(const uint8_t challenge[32], const uint8_t as_pub[32],
    const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN])
{
	return labelled_report_data(RD_LABEL, challenge, as_pub, digest, out);
}

pserr
aspolicy_join_request_report_data(const uint8_t challenge[32],
    const uint8_t joiner_pub[32], const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN])
{
	return labelled_report_data(JOIN_REQUEST_LABEL, challenge, joiner_pub,
	    digest, out);
}

pserr
aspolicy_join_report_data(const uint8_t challenge[32],
    const uint8_t joiner_pub[32], const uint8_t *wrapped, size_t n,
    const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN])
{
	uint8_t in[sizeof(JOIN_REPLY_LABEL) - 1 + 32 + 32 + 32 +
	    ASPOLICY_DIGEST_LEN];
	unsigned int len = 0;
	size_t at = sizeof(JOIN_REPLY_LABEL) - 1;

	memcpy(in, JOIN_REPLY_LABEL, at);
	memcpy(in + at, challenge, 32);
	memcpy(in + at + 32, joiner_pub, 32);
	if (EVP_Digest(wrapped, n, in + at + 64, &len, EVP_sha256(), NULL) != 1
	    || len != 32)
		return PS_ERR_CRYPTO;
	memcpy(in + at + 96, digest, ASPOLICY_DIGEST_LEN);
	return EVP_Digest(in, sizeof(in), out, &len, EVP_sha512(), NULL) == 1 &&
	    len == ATTEST_REPORT_DATA_LEN ? PS_OK : PS_ERR_CRYPTO;
}

int
aspolicy_accepts(const struct aspolicy *user, const struct aspolicy *as,
    char *why, size_t whylen)
{
	char hex[2 * ATTEST_MEASUREMENT_MAX + 1];
	size_t i;

	for (i = 0; i < as->nkeys; i++)
		if (!has_key(user, as->keys[i])) {
			hex[codec_hex_encode(as->keys[i], ATTEST_SIM_KEY_LEN,
			    hex)] = '\0';
			pserr_why(why, whylen, "the AS trusts platform key %s, "
			    "which the user's policy does not", hex);
			return 0;
		}
	for (i = 0; i < as->workers.n; i++)
		if (!attest_allowlist_has(&user->workers, &as->workers.m[i])) {
			attest_measurement_hex(&as->workers.m[i], hex);
			pserr_why(why, whylen, "the AS allows worker measurement "
			    "%s, which the user's policy does not", hex);
			return 0;
		}
	/* An AS build that may join gets the storage key, and with it every
	 * secret: the user must accept it as the AS itself. */
	for (i = 0; i < as->peers.n; i++)
		if (!attest_allowlist_has(&user->as, &as->peers.m[i])) {
			attest_measurement_hex(&as->peers.m[i], hex);
			pserr_why(why, whylen, "the AS lets AS measurement %s "
			    "join it, which the user's policy does not accept",
			    hex);
			return 0;
		}
	return 1;
}

/* One line of a policy file (s..e, trimmed, not empty, not a comment). */
static int
policy_line(struct aspolicy *p, const char *s, const char *e)
{
	struct attest_measurement m;
	uint8_t key[ATTEST_SIM_KEY_LEN];
	size_t n = (size_t)(e - s);
	char low[2 * ATTEST_SIM_KEY_LEN];
	const char *v;
	size_t i;

#define PFX(x) (n > sizeof(x) - 1 && memcmp(s, x, sizeof(x) - 1) == 0 && \
	(v = s + sizeof(x) - 1) != NULL)
	if (PFX("as-measurement ") || PFX("worker-measurement ")) {
		int as = s[0] == 'a';

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		if (attest_measurement_parse(v, (size_t)(e - v), &m) != PS_OK)
			return -1;
		return attest_allowlist_add(as ? &p->as : &p->workers, &m) ==
		    PS_OK ? 0 : -1;
	}
	if (PFX("platform-key sim ")) {
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		if ((size_t)(e - v) != sizeof(low))
			return -1;
		for (i = 0; i < sizeof(low); i++)
			low[i] = (char)tolower((unsigned char)v[i]);
		if (codec_hex_decode(low, sizeof(low), key, sizeof(key)) !=
		    PS_OK)
			return -1;
		return aspolicy_add_key(p, key) == PS_OK ? 0 : -1;
	}
#undef PFX
	return -1;
}

pserr
aspolicy_load(const char *path, struct aspolicy *p, char *why, size_t whylen)
{
	struct buf b;
	const char *q, *end;
	size_t line = 0;
	FILE *f = NULL;
	pserr rc = PS_OK;
	int c;

	buf_init(&b, PS_CAP_ALLOWLIST_FILE);
	if ((f = fopen(path, "re")) == NULL) {
		pserr_why(why, whylen, "cannot open the policy file (%m)");
		rc = PS_ERR_IO;
		goto out;
	}
	while (rc == PS_OK && (c = fgetc(f)) != EOF)
		if ((rc = buf_putc(&b, (char)c)) != PS_OK)
			pserr_why(why, whylen, "policy file too large");
	if (rc != PS_OK)
		goto out;
	q = b.p;
	end = b.p != NULL ? b.p + b.len : NULL;
	while (q != NULL && q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *s = q, *e = nl ? nl : end;

		line++;
		q = nl ? nl + 1 : end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		if (policy_line(p, s, e) != 0) {
			pserr_why(why, whylen, "line %zu: want \"as-measurement "
			    "HEX\", \"platform-key sim HEX\" or "
			    "\"worker-measurement HEX\"", line);
			rc = PS_ERR_CORRUPT;
			goto out;
		}
	}
	if (p->as.n == 0 || p->nkeys == 0 || p->workers.n == 0) {
		pserr_why(why, whylen, "the policy needs at least one "
		    "as-measurement, platform-key and worker-measurement");
		rc = PS_ERR_CORRUPT;
	}
out:
	if (f != NULL)
		fclose(f);
	buf_free(&b);
	return rc;
}

void
aspolicy_upload_aad(const uint8_t kid[16], int64_t expires,
    uint8_t out[ASPOLICY_UPLOAD_AAD_LEN])
{
	int i;

	memcpy(out, kid, 16);
	for (i = 0; i < 8; i++)
		out[16 + i] = (uint8_t)((uint64_t)expires >> (56 - 8 * i));
}
