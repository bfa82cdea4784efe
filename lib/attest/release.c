/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attest/release.h"
#include "core/caps.h"
#include "core/secret.h"

#define KID_LEN 16
#define SECRET_LEN 32
#define EXPIRES_AT (KID_LEN + SECRET_LEN)

pserr
release_encode(const struct keycache_entry *k, size_t n, struct buf *out)
{
	uint8_t rec[RELEASE_RECORD_LEN];
	size_t start = out->len, i;
	uint64_t e;
	int j;
	pserr rc = PS_OK;

	for (i = 0; i < n && rc == PS_OK; i++) {
		memcpy(rec, k[i].kid, KID_LEN);
		memcpy(rec + KID_LEN, k[i].secret, SECRET_LEN);
		e = (uint64_t)k[i].expires;
		for (j = 0; j < 8; j++)
			rec[EXPIRES_AT + j] = (uint8_t)(e >> (56 - 8 * j));
		rc = buf_append(out, rec, sizeof(rec));
	}
	secret_wipe(rec, sizeof(rec));
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	return rc;
}

static int
by_kid(const void *a, const void *b)
{
	return memcmp(((const struct keycache_entry *)a)->kid,
	    ((const struct keycache_entry *)b)->kid, KID_LEN);
}

pserr
release_decode(const uint8_t *p, size_t len, struct keycache_entry **k,
    size_t *n)
{
	struct keycache_entry *a = NULL;
	size_t cnt, i;
	uint64_t e;
	int b;

	if (len % RELEASE_RECORD_LEN != 0)
		return PS_ERR_CORRUPT;
	cnt = len / RELEASE_RECORD_LEN;
	if (cnt > 0 && (a = calloc(cnt, sizeof(*a))) == NULL)
		return PS_ERR_NOMEM;
	for (i = 0; i < cnt; i++, p += RELEASE_RECORD_LEN) {
		memcpy(a[i].kid, p, KID_LEN);
		memcpy(a[i].secret, p + KID_LEN, SECRET_LEN);
		for (e = 0, b = 0; b < 8; b++)
			e = e << 8 | p[EXPIRES_AT + b];
		a[i].expires = (int64_t)e;
	}
	/* Two secrets for one kid would make the choice arbitrary. */
	if (cnt > 1)
		secret_sort(a, cnt, sizeof(*a), by_kid);
	for (i = 1; i < cnt; i++)
		if (memcmp(a[i - 1].kid, a[i].kid, KID_LEN) == 0) {
			keyfile_entries_free(a, cnt);
			return PS_ERR_CORRUPT;
		}
	*k = a;
	*n = cnt;
	return PS_OK;
}

pserr
release_seal(const uint8_t pub[WRAP_KEY_LEN],
    const uint8_t challenge[RELEASE_CHALLENGE_LEN],
    const struct keycache_entry *k, size_t n, struct buf *blob)
{
	struct buf plain;
	pserr rc;

	buf_init(&plain, (size_t)PS_CAP_AS_SECRETS * RELEASE_RECORD_LEN);
	if ((rc = release_encode(k, n, &plain)) == PS_OK)
		rc = wrap_seal(pub, challenge, RELEASE_CHALLENGE_LEN, plain.p,
		    plain.len, blob);
	buf_free(&plain);
	return rc;
}

pserr
release_open(const uint8_t priv[WRAP_KEY_LEN],
    const uint8_t challenge[RELEASE_CHALLENGE_LEN], const void *blob,
    size_t len, struct keycache_entry **k, size_t *n)
{
	struct buf plain;
	pserr rc;

	/* The plaintext is never longer than the blob. */
	buf_init(&plain, len);
	if ((rc = wrap_open(priv, challenge, RELEASE_CHALLENGE_LEN, blob, len,
	    &plain)) == PS_OK)
		rc = release_decode((const uint8_t *)plain.p, plain.len, k, n);
	buf_free(&plain);
	return rc;
}
