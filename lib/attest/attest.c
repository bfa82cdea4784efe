/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/attest.h"
#include "core/caps.h"
#include "core/codec.h"

/* An allowlist file is short: one line per build that may run. */

const char *
attest_fail_str(enum attest_fail f)
{
	switch (f) {
	case ATTEST_FAIL_NONE:
		return "evidence accepted";
	case ATTEST_FAIL_FORMAT:
		return "unsupported evidence format";
	case ATTEST_FAIL_MALFORMED:
		return "malformed evidence";
	case ATTEST_FAIL_UNTRUSTED_PLATFORM:
		return "evidence from an untrusted platform key";
	case ATTEST_FAIL_SIGNATURE:
		return "evidence signature missing or invalid";
	case ATTEST_FAIL_REPORT_DATA:
		return "evidence does not bind this challenge and public key";
	case ATTEST_FAIL_MEASUREMENT:
		return "measurement not in the allowlist";
	case ATTEST_FAIL_CHALLENGE_UNKNOWN:
		return "challenge unknown or already used";
	case ATTEST_FAIL_CHALLENGE_EXPIRED:
		return "challenge expired";
	}
	return "evidence refused";
}

void
attest_verifier_free(struct attest_verifier *v)
{
	if (v != NULL)
		v->destroy(v);
}

void
attest_producer_free(struct attest_producer *p)
{
	if (p != NULL)
		p->destroy(p);
}

pserr
attest_report_data(const uint8_t *challenge, size_t clen,
    const uint8_t pubkey[ATTEST_PUBKEY_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN])
{
	EVP_MD_CTX *x;
	unsigned int len = 0;
	pserr rc = PS_ERR_CRYPTO;

	if ((x = EVP_MD_CTX_new()) == NULL)
		return PS_ERR_NOMEM;
	if (EVP_DigestInit_ex(x, EVP_sha512(), NULL) == 1 &&
	    EVP_DigestUpdate(x, challenge, clen) == 1 &&
	    EVP_DigestUpdate(x, pubkey, ATTEST_PUBKEY_LEN) == 1 &&
	    EVP_DigestFinal_ex(x, out, &len) == 1 &&
	    len == ATTEST_REPORT_DATA_LEN)
		rc = PS_OK;
	EVP_MD_CTX_free(x);
	return rc;
}

pserr
attest_measurement_parse(const char *hex, size_t n,
    struct attest_measurement *m)
{
	char low[2 * ATTEST_MEASUREMENT_MAX];
	size_t i;

	if (n % 2 != 0 || n < 2 * ATTEST_MEASUREMENT_MIN ||
	    n > 2 * ATTEST_MEASUREMENT_MAX)
		return PS_ERR_CORRUPT;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)hex[i]);
	if (codec_hex_decode(low, n, m->b, n / 2) != PS_OK)
		return PS_ERR_CORRUPT;
	m->len = n / 2;
	return PS_OK;
}

void
attest_measurement_hex(const struct attest_measurement *m, char *out)
{
	out[codec_hex_encode(m->b, m->len, out)] = '\0';
}

pserr
attest_allowlist_add(struct attest_allowlist *al,
    const struct attest_measurement *m)
{
	struct attest_measurement *nm;

	if (attest_allowlist_has(al, m))
		return PS_OK;
	nm = realloc(al->m, (al->n + 1) * sizeof(*nm));
	if (nm == NULL)
		return PS_ERR_NOMEM;
	al->m = nm;
	al->m[al->n++] = *m;
	return PS_OK;
}

/* The whole file into b.  Measurements are public: an ordinary readable
 * file will do. */
static pserr
read_measurements(const char *path, struct buf *b, char *why, size_t whylen)
{
	FILE *f;
	pserr rc = PS_OK;
	int c;

	if ((f = fopen(path, "re")) == NULL) {
		pserr_why(why, whylen, "cannot open the measurements file");
		return PS_ERR_IO;
	}
	while (rc == PS_OK && (c = fgetc(f)) != EOF)
		if ((rc = buf_putc(b, (char)c)) != PS_OK)
			pserr_why(why, whylen, "measurements file too large");
	if (rc == PS_OK && ferror(f)) {
		pserr_why(why, whylen, "cannot read the measurements file");
		rc = PS_ERR_IO;
	}
	fclose(f);
	return rc;
}

pserr
attest_allowlist_load(struct attest_allowlist *al, const char *path,
    char *why, size_t whylen)
{
	struct attest_allowlist add = {NULL, 0};
	struct attest_measurement m;
	struct buf b;
	const char *p, *end, *nl;
	size_t line = 0, i;
	pserr rc;

	buf_init(&b, PS_CAP_ALLOWLIST_FILE);
	if ((rc = read_measurements(path, &b, why, whylen)) != PS_OK)
		goto out;
	/* An empty file leaves b without memory. */
	p = b.p;
	end = b.p != NULL ? b.p + b.len : NULL;
	while (p != NULL && p < end) {
		const char *s, *e;

		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		e = nl ? nl : end;
		s = p;
		p = nl ? nl + 1 : end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		if (attest_measurement_parse(s, (size_t)(e - s), &m) != PS_OK) {
			pserr_why(why, whylen, "line %zu: not a measurement of "
			    "%d to %d bytes in hex", line,
			    ATTEST_MEASUREMENT_MIN, ATTEST_MEASUREMENT_MAX);
			rc = PS_ERR_CORRUPT;
			goto out;
		}
		if ((rc = attest_allowlist_add(&add, &m)) != PS_OK)
			goto out;
	}
	for (i = 0; i < add.n; i++)
		if ((rc = attest_allowlist_add(al, &add.m[i])) != PS_OK)
			goto out;
	rc = PS_OK;
out:
	attest_allowlist_free(&add);
	buf_free(&b);
	return rc;
}

int
attest_allowlist_has(const struct attest_allowlist *al,
    const struct attest_measurement *m)
{
	size_t i;

	for (i = 0; i < al->n; i++)
		if (al->m[i].len == m->len &&
		    memcmp(al->m[i].b, m->b, m->len) == 0)
			return 1;
	return 0;
}

void
attest_allowlist_free(struct attest_allowlist *al)
{
	free(al->m);
	al->m = NULL;
	al->n = 0;
}

pserr
attest_check_rd(const struct attest_verifier *const *vs, size_t nv,
    const struct attest_allowlist *al, const char *format, const uint8_t *ev,
    size_t n, const uint8_t rd[ATTEST_REPORT_DATA_LEN],
    struct attest_measurement *m, enum attest_fail *why)
{
	struct attest_measurement got;
	const struct attest_verifier *v = NULL;
	size_t i;
	pserr rc;

	*why = ATTEST_FAIL_NONE;
	for (i = 0; i < nv && v == NULL; i++)
		if (strcmp(vs[i]->format, format) == 0)
			v = vs[i];
	if (v == NULL) {
		*why = ATTEST_FAIL_FORMAT;
		return PS_ERR_AUTH;
	}
	if (n > PS_CAP_EVIDENCE) {
		*why = ATTEST_FAIL_MALFORMED;
		return PS_ERR_AUTH;
	}
	if ((rc = v->verify(v, ev, n, rd, &got, why)) != PS_OK)
		return rc;
	if (!attest_allowlist_has(al, &got)) {
		*why = ATTEST_FAIL_MEASUREMENT;
		return PS_ERR_AUTH;
	}
	if (m != NULL)
		*m = got;
	return PS_OK;
}

pserr
attest_check(const struct attest_verifier *const *vs, size_t nv,
    const struct attest_allowlist *al, const char *format, const uint8_t *ev,
    size_t n, const uint8_t *challenge, size_t clen,
    const uint8_t pubkey[ATTEST_PUBKEY_LEN], struct attest_measurement *m,
    enum attest_fail *why)
{
	uint8_t rd[ATTEST_REPORT_DATA_LEN];
	pserr rc;

	*why = ATTEST_FAIL_NONE;
	if ((rc = attest_report_data(challenge, clen, pubkey, rd)) != PS_OK)
		return rc;
	return attest_check_rd(vs, nv, al, format, ev, n, rd, m, why);
}
