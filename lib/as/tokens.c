/* SPDX-License-Identifier: ISC */
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
	char (*name)[TOKENS_NAME_MAX + 1];
	size_t *limit;
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

static int
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > TOKENS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* The next blank-separated field of s..e: its start in *f, its length
 * returned; s moves past it. */
static size_t
field(const char **s, const char *e, const char **f)
{
	const char *p = *s;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	*f = p;
	while (p < e && *p != ' ' && *p != '\t')
		p++;
	*s = p;
	return (size_t)(p - *f);
}

/*
 * One line (trimmed, not empty): "TOKEN", or "NAME LIMIT TOKEN".  -1 when
 * it is neither.
 */
static int
parse_line(struct tokens *t, const char *s, const char *e)
{
	const char *f[4];
	size_t n[4], k = 0, i;
	unsigned long lim = 0;

	while (k < 4 && s < e && (n[k] = field(&s, e, &f[k])) > 0)
		k++;
	if (k == 1) {
		memcpy(t->name[t->n], TOKENS_DEFAULT_NAME,
		    sizeof(TOKENS_DEFAULT_NAME));
		t->limit[t->n] = 0;
	} else if (k == 3 && valid_name(f[0], n[0])) {
		if (n[1] > 7)
			return -1;
		for (i = 0; i < n[1]; i++) {
			if (f[1][i] < '0' || f[1][i] > '9')
				return -1;
			lim = lim * 10 + (unsigned long)(f[1][i] - '0');
		}
		if (lim > PS_CAP_AS_SECRETS)
			return -1;
		memcpy(t->name[t->n], f[0], n[0]);
		t->name[t->n][n[0]] = '\0';
		t->limit[t->n] = lim;
	} else
		return -1;
	if (!valid_token(f[k - 1], n[k - 1]) ||
	    digest(f[k - 1], n[k - 1], t->d[t->n]) != 0)
		return -1;
	t->n++;
	return 0;
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
	    (t->d = calloc(lines, DIGEST_LEN)) == NULL ||
	    (t->name = calloc(lines, sizeof(*t->name))) == NULL ||
	    (t->limit = calloc(lines, sizeof(*t->limit))) == NULL)
		goto out;
	/* An empty file leaves b.p NULL, and NULL + 0 is undefined. */
	p = b.p != NULL ? b.p : "";
	end = p + b.len;
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
		if (parse_line(t, s, e) != 0) {
			pserr_why(why, whylen, "line %zu: not TOKEN or NAME "
			    "LIMIT TOKEN (docs/as-api.md)", line);
			rc = PS_ERR_CORRUPT;
			goto out;
		}
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

/* The index of the token s (n bytes), or -1. */
static long
find(const struct tokens *t, const char *s, size_t n)
{
	uint8_t d[DIGEST_LEN];
	size_t i;
	long at = -1;

	/* Comparing digests makes the comparison independent of the
	 * tokens' lengths; every digest is compared, hit or not, and the
	 * index is picked without a branch on the comparison. */
	if (t == NULL || s == NULL || digest(s, n, d) != 0)
		return -1;
	for (i = 0; i < t->n; i++) {
		long hit = secret_equal(d, t->d[i], DIGEST_LEN);

		at = (at & ~(-hit)) | ((long)i & -hit);
	}
	secret_wipe(d, sizeof(d));
	return at;
}

int
tokens_check(const struct tokens *t, const char *s, size_t n)
{
	return find(t, s, n) >= 0;
}

int
tokens_check_header(const struct tokens *t, const char *a)
{
	return tokens_find_header(t, a, NULL, NULL);
}

int
tokens_find_header(const struct tokens *t, const char *a, const char **name,
    size_t *limit)
{
	size_t n;
	long at;

	if (a == NULL || strncasecmp(a, "Bearer", 6) != 0 ||
	    (a[6] != ' ' && a[6] != '\t'))
		return 0;
	a += 6;
	while (*a == ' ' || *a == '\t')
		a++;
	n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	if (!valid_token(a, n) || (at = find(t, a, n)) < 0)
		return 0;
	if (name != NULL)
		*name = t->name[at];
	if (limit != NULL)
		*limit = t->limit[at];
	return 1;
}

void
tokens_free(struct tokens *t)
{
	if (t == NULL)
		return;
	secret_free(t->d, t->n * DIGEST_LEN);
	free(t->name);
	free(t->limit);
	free(t);
}
