/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/secret.h"

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
secret_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	secret_wipe(p, n);
	free(p);
}

int
secret_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

pserr
secret_random(void *p, size_t n)
{
	/* RAND_bytes takes an int: draw large requests in pieces. */
	unsigned char *q = p;

	while (n > 0) {
		size_t k = n > 1u << 20 ? 1u << 20 : n;

		if (RAND_bytes(q, (int)k) != 1)
			return PS_ERR_CRYPTO;
		q += k;
		n -= k;
	}
	return PS_OK;
}
