#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "as/tokens.h"
#include "core/buf.h"
#include "core/caps.h"
#include "core/privfile.h"
#include "core/secret.h"

#define DIGEST_LEN 32

struct tokens {
	size_t n;
	uint8_t (*d)[DIGEST_LEN];
};

static int
digest(const void *p, size_t n, uint8_t out[DIGEST_LEN])
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 &&
	    len == DIGEST_LEN ? 0 : -1;
}

static int
valid_token(const char *s, size_t n)
{
	size_t i;

	if (n < TOKENS_MIN_LEN || n > PS_CAP_TOKEN)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

pserr
tokens_load(const char *path, struct tokens **out, char *why, size_t whylen)
{
	struct tokens *t = NULL;
	struct buf b;
	const char *p, *end;
	size_t line = 0, lines = 1, i;
	pserr rc;

	buf_init(&b, PS_CAP_TOKENS_FILE);
	if ((rc = privfile_read(path, &b, why, whylen)) != PS_OK)
		goto out;
	for (i = 0; i < b.len; i++)
		lines += b.p[i] == '\n';
	rc = PS_ERR_NOMEM;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->d = calloc(lines, DIGEST_LEN)) == NULL)
		goto out;
	p = b.p;
	end = b.p + b.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;

		line++;
		p = nl ? nl + 1 : end;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s == e || *s == '#')
			continue;
		if (!valid_token(s, (size_t)(e - s))) {
			pserr_why(why, whylen, "line %zu: a token is %d to %d "
			    "printable characters without blanks", line,
			    TOKENS_MIN_LEN, PS_CAP_TOKEN);
			rc = PS_ERR_CORRUPT;
			goto out;
		}
		if (digest(s, (size_t)(e - s), t->d[t->n]) != 0) {
			rc = PS_ERR_CRYPTO;
			goto out;
		}
		t->n++;
	}
	if (t->n == 0) {
		pserr_why(why, whylen, "the file holds no token");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	*out = t;
	t = NULL;
	rc = PS_OK;
out:
	tokens_free(t);
	buf_free(&b);
	return rc;
}

int
tokens_check(const struct tokens *t, const char *s, size_t n)
{
	uint8_t d[DIGEST_LEN];
	size_t i;
	int hit = 0;

	/* Comparing digests makes the comparison independent of the
	 * tokens' lengths; every digest is compared, hit or not. */
	if (t == NULL || s == NULL || digest(s, n, d) != 0)
		return 0;
	for (i = 0; i < t->n; i++)
		hit |= secret_equal(d, t->d[i], DIGEST_LEN);
	secret_wipe(d, sizeof(d));
	return hit;
}

int
tokens_check_header(const struct tokens *t, const char *a)
{
	size_t n;

	if (a == NULL || strncasecmp(a, "Bearer", 6) != 0 ||
	    (a[6] != ' ' && a[6] != '\t'))
		return 0;
	a += 6;
	while (*a == ' ' || *a == '\t')
		a++;
	n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	if (!valid_token(a, n))
		return 0;
	return tokens_check(t, a, n);
}

void
tokens_free(struct tokens *t)
{
	if (t == NULL)
		return;
	secret_free(t->d, t->n * DIGEST_LEN);
	free(t);
}
