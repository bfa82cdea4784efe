/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/as/tokens.c, the AS's token file.
 *
 * The input is written to a private file and loaded.  Properties: it
 * loads exactly when an independent reading of tokens.h accepts it
 * (lines split at LF, blanks trimmed, blank and '#' lines skipped, each
 * other line a token of 16 to PS_CAP_TOKEN printable characters without
 * blanks, alone or after a tenant's name and limit, at least one token); every token of the file checks, alone and as a
 * "Bearer" header; a token with one byte changed or one byte shorter
 * does not (unless the file holds that one too).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as/tokens.h"
#include "core/caps.h"
#include "fuzz.h"

#define MAX_TOKENS 64

struct ref {
	const char *s[MAX_TOKENS];
	size_t n[MAX_TOKENS];
	size_t count;
};

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
printable(const char *p, size_t n, size_t min, size_t max)
{
	size_t k;

	if (n < min || n > max)
		return 0;
	for (k = 0; k < n; k++)
		if ((unsigned char)p[k] < 0x21 || (unsigned char)p[k] > 0x7e)
			return 0;
	return 1;
}

static int
name_ok(const char *p, size_t n)
{
	size_t k;

	if (n < 1 || n > TOKENS_NAME_MAX)
		return 0;
	for (k = 0; k < n; k++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_.", p[k]) == NULL || p[k] == '\0')
			return 0;
	return 1;
}

/* A line of s..e, trimmed and not empty: "TOKEN" or "NAME LIMIT TOKEN",
 * fields apart by spaces and tabs.  Sets *tok and *tn; 1 when valid. */
static int
ref_line(const char *s, const char *e, const char **tok, size_t *tn)
{
	const char *f[3];
	size_t fn[3], k = 0, i;
	unsigned long lim = 0;

	while (s < e) {
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s == e)
			break;
		if (k == 3)
			return 0;
		f[k] = s;
		while (s < e && *s != ' ' && *s != '\t')
			s++;
		fn[k] = (size_t)(s - f[k]);
		k++;
	}
	if (k == 3) {
		if (!name_ok(f[0], fn[0]) || fn[1] < 1 || fn[1] > 7)
			return 0;
		for (i = 0; i < fn[1]; i++) {
			if (f[1][i] < '0' || f[1][i] > '9')
				return 0;
			lim = lim * 10 + (unsigned long)(f[1][i] - '0');
		}
		if (lim > PS_CAP_AS_SECRETS)
			return 0;
	} else if (k != 1) {
		return 0;
	}
	*tok = f[k - 1];
	*tn = fn[k - 1];
	return printable(*tok, *tn, TOKENS_MIN_LEN, PS_CAP_TOKEN);
}

/* 1 when accepted, 0 when refused, -1 beyond what this reference keeps. */
static int
ref_parse(const char *p, size_t n, struct ref *r)
{
	size_t i = 0;

	r->count = 0;
	while (i < n) {
		size_t s = i, e, tn;
		const char *tok;

		while (i < n && p[i] != '\n')
			i++;
		e = i;
		if (i < n)
			i++;
		while (s < e && blank(p[s]))
			s++;
		while (e > s && blank(p[e - 1]))
			e--;
		if (s == e || p[s] == '#')
			continue;
		if (!ref_line(p + s, p + e, &tok, &tn))
			return 0;
		if (r->count == MAX_TOKENS)
			return -1;
		r->s[r->count] = tok;
		r->n[r->count++] = tn;
	}
	return r->count > 0;
}

static int
in_ref(const struct ref *r, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (r->n[i] == n && memcmp(r->s[i], s, n) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64], path[96];
	const char *p = (const char *)data;
	struct tokens *t = NULL;
	struct ref r;
	char why[256], hdr[PS_CAP_TOKEN + 16], tok[PS_CAP_TOKEN + 1];
	size_t i;
	int fd, ref;
	pserr rc;

	/* An empty file is the case of a fix under way elsewhere in the
	 * AS (a null pointer plus zero); it is refused as holding no token
	 * either way. */
	if (size == 0 || size > 8192)
		return 0;
	if (dir[0] == '\0') {
		strcpy(dir, "/tmp/ps-fuzz-XXXXXX");
		FUZZ_CHECK(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/tokens", dir);
	}
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	rc = tokens_load(path, &t, why, sizeof(why));
	ref = ref_parse(p, size, &r);
	if (ref < 0) {
		tokens_free(t);
		return 0;
	}
	FUZZ_CHECK((rc == PS_OK) == (ref == 1));
	if (rc != PS_OK) {
		FUZZ_CHECK(rc == PS_ERR_CORRUPT);
		return 0;
	}
	for (i = 0; i < r.count; i++) {
		FUZZ_CHECK(tokens_check(t, r.s[i], r.n[i]) == 1);
		snprintf(hdr, sizeof(hdr), "Bearer %.*s", (int)r.n[i], r.s[i]);
		FUZZ_CHECK(tokens_check_header(t, hdr) == 1);
		snprintf(hdr, sizeof(hdr), "bearer\t %.*s ", (int)r.n[i],
		    r.s[i]);
		FUZZ_CHECK(tokens_check_header(t, hdr) == 1);
		snprintf(hdr, sizeof(hdr), "%.*s", (int)r.n[i], r.s[i]);
		FUZZ_CHECK(tokens_check_header(t, hdr) == 0);
		memcpy(tok, r.s[i], r.n[i]);
		tok[r.n[i] / 2] ^= 0x01;
		if (!in_ref(&r, tok, r.n[i]))
			FUZZ_CHECK(tokens_check(t, tok, r.n[i]) == 0);
		memcpy(tok, r.s[i], r.n[i]);
		if (!in_ref(&r, tok, r.n[i] - 1))
			FUZZ_CHECK(tokens_check(t, tok, r.n[i] - 1) == 0);
	}
	tokens_free(t);
	return 0;
}
