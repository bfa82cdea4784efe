/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/secret.h"

void
secret_wipe(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
	/* Every request's buffers are wiped, a few MB for a 1 MiB body:
	 * explicit_bzero is memset (vector stores) behind a barrier, about
	 * three times as fast as OPENSSL_cleanse on those. */
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	OPENSSL_cleanse(p, n);
#endif
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

static void
swap(unsigned char *a, unsigned char *b, size_t size)
{
	unsigned char c;

	while (size-- > 0) {
		c = *a;
		*a++ = *b;
		*b++ = c;
	}
}

/* Let the element at i sink below its larger children, within n. */
static void
sift(unsigned char *base, size_t i, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && cmp(base + c * size, base + (c + 1) * size) < 0)
			c++;
		if (cmp(base + i * size, base + c * size) >= 0)
			return;
		swap(base + i * size, base + c * size, size);
		i = c;
	}
}

void
secret_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	unsigned char *b = base;
	size_t i;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		sift(b, i, n, size, cmp);
	for (i = n - 1; i > 0; i--) {
		swap(b, b + i * size, size);
		sift(b, 0, i, size, cmp);
	}
}

pserr
secret_no_dumps(void)
{
	const struct rlimit none = {0, 0};

	return setrlimit(RLIMIT_CORE, &none) == 0 &&
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? PS_OK : PS_ERR_IO;
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

struct reserve {
	unsigned char b[SECRET_RESERVE];
	size_t left;             /* unused bytes at the end of b */
	unsigned long refills;
};

/* Through a thread-specific key, not __thread: TLS in a shared library
 * would make libpromptseal need the dynamic loader's __tls_get_addr. */
static pthread_key_t reserve_key;
static pthread_once_t reserve_once = PTHREAD_ONCE_INIT;
static int reserve_key_ok;

static void
reserve_free(void *arg)
{
	secret_free(arg, sizeof(struct reserve));
}

/* After fork() only the forking thread lives on in the child: its
 * reserve is the parent's too and must not be used again there. */
static void
reserve_atfork_child(void)
{
	struct reserve *r;

	if (reserve_key_ok && (r = pthread_getspecific(reserve_key)) != NULL) {
		secret_wipe(r->b, sizeof(r->b));
		r->left = 0;
	}
}

static void
reserve_init(void)
{
	reserve_key_ok = pthread_key_create(&reserve_key, reserve_free) == 0;
	(void)pthread_atfork(NULL, NULL, reserve_atfork_child);
}

pserr
secret_nonce(void *p, size_t n)
{
	struct reserve *r;

	if (n == 0 || n > SECRET_NONCE_MAX || p == NULL)
		return PS_ERR_ARG;
	pthread_once(&reserve_once, reserve_init);
	/* Without a key to wipe it at thread exit, no reserve. */
	if (!reserve_key_ok)
		return secret_random(p, n);
	if ((r = pthread_getspecific(reserve_key)) == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return secret_random(p, n);
		if (pthread_setspecific(reserve_key, r) != 0) {
			free(r);
			return secret_random(p, n);
		}
	}
	if (r->left < n) {
		if (RAND_bytes(r->b, (int)sizeof(r->b)) != 1) {
			secret_wipe(r->b, sizeof(r->b));
			r->left = 0;
			return PS_ERR_CRYPTO;
		}
		r->left = sizeof(r->b);
		r->refills++;
	}
	r->left -= n;
	memcpy(p, r->b + r->left, n);
	secret_wipe(r->b + r->left, n);
	return PS_OK;
}

unsigned long
secret_nonce_refills(void)
{
	struct reserve *r;

	pthread_once(&reserve_once, reserve_init);
	if (!reserve_key_ok || (r = pthread_getspecific(reserve_key)) == NULL)
		return 0;
	return r->refills;
}
