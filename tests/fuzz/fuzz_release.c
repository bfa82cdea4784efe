/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/attest/release.c, the records the AS releases to an
 * attested worker, as keysync reads them out of a fetch reply.
 *
 * The first byte picks the mode: the rest is a record sequence to decode
 * (mode 0), a blob to open (mode 1), or records to seal and open (mode
 * 2).  Properties: release_decode accepts exactly a whole number of
 * records without a repeated kid (checked here byte by byte), gives them
 * ordered by kid with the fields of the layout, and release_encode of
 * that gives the records sorted; a blob not sealed for this key never
 * opens and leaves the outputs untouched; records sealed open to the
 * same set, and not under another challenge.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attest/release.h"
#include "core/buf.h"
#include "fuzz.h"

static int
cmp_rec(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t priv[WRAP_KEY_LEN], pub[WRAP_KEY_LEN];
	static int ready;
	static const uint8_t ch1[32] = { 1 }, ch2[32] = { 2 };
	struct keycache_entry *k = (void *)&ready, *k2 = NULL;
	size_t n = 12345, n2 = 0, i, cnt;
	const uint8_t *p = data + 1;
	uint8_t *sorted = NULL;
	struct buf enc, blob;
	int dup = 0;
	pserr rc;

	if (size < 1 || size > 56 * 64 + 1)
		return 0;
	if (!ready) {
		FUZZ_CHECK(wrap_keypair(priv, pub) == PS_OK);
		ready = 1;
	}
	size--;
	buf_init(&enc, 1 << 20);
	buf_init(&blob, 1 << 20);
	switch (data[0] % 3) {
	case 0:
		rc = release_decode(p, size, &k, &n);
		cnt = size / RELEASE_RECORD_LEN;
		if (size % RELEASE_RECORD_LEN == 0 && cnt > 0) {
			sorted = malloc(size);
			FUZZ_CHECK(sorted != NULL);
			memcpy(sorted, p, size);
			qsort(sorted, cnt, RELEASE_RECORD_LEN, cmp_rec);
			for (i = 1; i < cnt; i++)
				if (memcmp(sorted + (i - 1) * 56, sorted + i * 56,
				    16) == 0)
					dup = 1;
		}
		FUZZ_CHECK((rc == PS_OK) == (size % RELEASE_RECORD_LEN == 0 &&
		    !dup));
		if (rc != PS_OK) {
			FUZZ_CHECK(rc == PS_ERR_CORRUPT);
			FUZZ_CHECK(k == (void *)&ready && n == 12345);
			break;
		}
		FUZZ_CHECK(n == cnt);
		for (i = 0; i < n; i++) {
			const uint8_t *r = sorted + i * 56;
			uint64_t e = 0;
			int b;

			for (b = 0; b < 8; b++)
				e = e << 8 | r[48 + b];
			FUZZ_CHECK(memcmp(k[i].kid, r, 16) == 0);
			FUZZ_CHECK(memcmp(k[i].secret, r + 16, 32) == 0);
			FUZZ_CHECK((uint64_t)k[i].expires == e);
		}
		FUZZ_CHECK(release_encode(k, n, &enc) == PS_OK);
		FUZZ_CHECK(enc.len == size && (size == 0 ||
		    memcmp(enc.p, sorted, size) == 0));
		keyfile_entries_free(k, n);
		break;
	case 1:
		rc = release_open(priv, ch1, p, size, &k, &n);
		FUZZ_CHECK(rc == PS_ERR_DECRYPT);
		FUZZ_CHECK(k == (void *)&ready && n == 12345);
		break;
	default:
		/* Make records of the input whatever they hold, then seal. */
		size -= size % RELEASE_RECORD_LEN;
		if (release_decode(p, size, &k, &n) != PS_OK)
			break;
		FUZZ_CHECK(release_seal(pub, ch1, k, n, &blob) == PS_OK);
		FUZZ_CHECK(release_open(priv, ch1, blob.p, blob.len, &k2, &n2) ==
		    PS_OK);
		FUZZ_CHECK(n2 == n && (n == 0 || memcmp(k, k2, n * sizeof(*k)) ==
		    0));
		keyfile_entries_free(k2, n2);
		k2 = (void *)&ready;
		n2 = 7;
		FUZZ_CHECK(release_open(priv, ch2, blob.p, blob.len, &k2, &n2) ==
		    PS_ERR_DECRYPT);
		FUZZ_CHECK(k2 == (void *)&ready && n2 == 7);
		keyfile_entries_free(k, n);
		break;
	}
	free(sorted);
	buf_free(&enc);
	buf_free(&blob);
	return 0;
}
