/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/attest/wrap.c, opening a wrapped blob (the AS's
 * records for an attested worker).
 *
 * The first byte picks the mode: the rest is a blob to open (mode 0), or
 * a plaintext and a context to wrap (mode 1).  Properties: a blob not
 * made for this key never opens, and a refused open leaves the output as
 * it was (no plaintext released); a wrapped plaintext opens to itself
 * under its context and key; one byte of the blob changed, the blob cut,
 * another context or another key is refused, output unchanged; the blob
 * is WRAP_OVERHEAD bytes longer than the plaintext.
 */
#include "config.h"

#include <string.h>

#include "attest/wrap.h"
#include "core/buf.h"
#include "fuzz.h"

#define SENTINEL "keep"

static uint8_t priv[WRAP_KEY_LEN], pub[WRAP_KEY_LEN];
static uint8_t priv2[WRAP_KEY_LEN], pub2[WRAP_KEY_LEN];

static pserr
open_into(const uint8_t *key, const void *aad, size_t aad_len,
    const uint8_t *blob, size_t n, struct buf *out)
{
	pserr rc;

	buf_reset(out);
	FUZZ_CHECK(buf_puts(out, SENTINEL) == PS_OK);
	rc = wrap_open(key, aad, aad_len, blob, n, out);
	if (rc != PS_OK) {
		FUZZ_CHECK(rc == PS_ERR_DECRYPT || rc == PS_ERR_TOO_LARGE);
		FUZZ_CHECK(out->len == 4 && memcmp(out->p, SENTINEL, 4) == 0);
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct buf blob, out;
	size_t alen, plen, i;
	const uint8_t *aad, *pt;

	if (size < 1 || size > 8192)
		return 0;
	if (!ready) {
		FUZZ_CHECK(wrap_keypair(priv, pub) == PS_OK);
		FUZZ_CHECK(wrap_keypair(priv2, pub2) == PS_OK);
		ready = 1;
	}
	buf_init(&blob, 1 << 20);
	buf_init(&out, 1 << 20);
	if ((data[0] & 1) == 0) {
		FUZZ_CHECK(open_into(priv, "ctx", 3, data + 1, size - 1, &out) !=
		    PS_OK);
		goto done;
	}
	/* The context is as long as the second byte says. */
	alen = size > 1 ? data[1] % 64 : 0;
	if (alen > size - 2)
		alen = size > 2 ? size - 2 : 0;
	aad = data + 2;
	pt = data + 2 + alen;
	plen = size > 2 + alen ? size - 2 - alen : 0;
	FUZZ_CHECK(wrap_seal(pub, aad, alen, pt, plen, &blob) == PS_OK);
	FUZZ_CHECK(blob.len == plen + WRAP_OVERHEAD);
	FUZZ_CHECK(open_into(priv, aad, alen, (uint8_t *)blob.p, blob.len,
	    &out) == PS_OK);
	FUZZ_CHECK(out.len == 4 + plen && (plen == 0 ||
	    memcmp(out.p + 4, pt, plen) == 0));
	FUZZ_CHECK(open_into(priv2, aad, alen, (uint8_t *)blob.p, blob.len,
	    &out) != PS_OK);
	FUZZ_CHECK(open_into(priv, "other", 5, (uint8_t *)blob.p, blob.len,
	    &out) != PS_OK || (alen == 5 && memcmp(aad, "other", 5) == 0));
	FUZZ_CHECK(open_into(priv, aad, alen, (uint8_t *)blob.p, blob.len - 1,
	    &out) != PS_OK);
	/* A plaintext that does not fit: refused whole. */
	if (plen > 0) {
		struct buf small;

		buf_init(&small, 4 + plen - 1);
		FUZZ_CHECK(buf_puts(&small, SENTINEL) == PS_OK);
		FUZZ_CHECK(wrap_open(priv, aad, alen, (uint8_t *)blob.p,
		    blob.len, &small) == PS_ERR_TOO_LARGE);
		FUZZ_CHECK(small.len == 4);
		buf_free(&small);
	}
	for (i = 0; i < 8; i++) {
		size_t at = ((size_t)data[i % size] * 257u + i * 31u) % blob.len;

		blob.p[at] ^= (char)(1u << (i % 8));
		FUZZ_CHECK(open_into(priv, aad, alen, (uint8_t *)blob.p,
		    blob.len, &out) != PS_OK);
		blob.p[at] ^= (char)(1u << (i % 8));
	}
done:
	buf_free(&blob);
	buf_free(&out);
	return 0;
}
