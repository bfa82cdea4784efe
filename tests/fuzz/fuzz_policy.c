/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the two measurement files a person writes, the user's
 * trust policy (aspolicy_load(), promptseal-client --as-policy) and the
 * AS's measurement allowlist (attest_allowlist_load(), --measurements).
 *
 * The first byte picks the file (even: a trust policy, odd: an
 * allowlist); the rest is written to a file and loaded.  Properties: a
 * file loads exactly when an independent reading of aspolicy.h and
 * attest.h accepts it (lines apart by LF, blanks as isspace() has them
 * trimmed, blank and '#' lines skipped; "as-measurement HEX",
 * "worker-measurement HEX" and "platform-key sim HEX", at least one of
 * each, in a policy; one HEX a line in an allowlist; a measurement 32 to
 * 48 bytes of hex in either case, a key 32), and then it holds exactly
 * the measurements and keys that reading found; a refused allowlist adds
 * nothing to the list it was loaded into.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/aspolicy.h"
#include "attest/attest.h"
#include "core/caps.h"
#include "fuzz.h"

#define MAX_ITEMS 256

struct item {
	int kind;                      /* 'a', 'w', 'k', or 'm' (allowlist) */
	size_t len;
	uint8_t b[ATTEST_MEASUREMENT_MAX];
};

struct ref {
	struct item it[MAX_ITEMS];
	size_t n;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n hex characters of either case, n/2 bytes from min to max, into out. */
static int
hex_bytes(const char *s, size_t n, size_t min, size_t max, uint8_t *out)
{
	size_t i;

	if (n % 2 != 0 || n / 2 < min || n / 2 > max)
		return -1;
	for (i = 0; i < n; i += 2) {
		int hi = hexval((unsigned char)s[i]);
		int lo = hexval((unsigned char)s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
starts(const char *s, size_t n, const char *word, size_t *at)
{
	size_t k = strlen(word);

	if (n <= k || memcmp(s, word, k) != 0)
		return 0;
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	*at = k;
	return 1;
}

/* One trimmed line (not blank, not a comment) into it; -1 when bad. */
static int
ref_line(int policy, const char *s, size_t n, struct item *it)
{
	size_t at = 0;

	if (!policy) {
		it->kind = 'm';
		it->len = n / 2;
		return hex_bytes(s, n, ATTEST_MEASUREMENT_MIN,
		    ATTEST_MEASUREMENT_MAX, it->b);
	}
	if (starts(s, n, "as-measurement ", &at) ||
	    starts(s, n, "worker-measurement ", &at)) {
		it->kind = s[0] == 'a' ? 'a' : 'w';
		it->len = (n - at) / 2;
		return hex_bytes(s + at, n - at, ATTEST_MEASUREMENT_MIN,
		    ATTEST_MEASUREMENT_MAX, it->b);
	}
	if (starts(s, n, "platform-key sim ", &at)) {
		it->kind = 'k';
		it->len = ATTEST_SIM_KEY_LEN;
		return hex_bytes(s + at, n - at, ATTEST_SIM_KEY_LEN,
		    ATTEST_SIM_KEY_LEN, it->b);
	}
	return -1;
}

/* 1 accepted, 0 refused, -1 beyond what this reference keeps. */
static int
ref_parse(int policy, const char *p, size_t n, struct ref *r)
{
	size_t i = 0, k, have[128] = {0};

	r->n = 0;
	if (n > PS_CAP_ALLOWLIST_FILE)
		return 0;
	while (i < n) {
		size_t s = i, e;

		while (i < n && p[i] != '\n')
			i++;
		e = i;
		if (i < n)
			i++;
		while (s < e && isspace((unsigned char)p[s]))
			s++;
		while (e > s && isspace((unsigned char)p[e - 1]))
			e--;
		if (s == e || p[s] == '#')
			continue;
		if (r->n == MAX_ITEMS)
			return -1;
		if (ref_line(policy, p + s, e - s, &r->it[r->n]) != 0)
			return 0;
		r->n++;
	}
	for (k = 0; k < r->n; k++)
		have[r->it[k].kind]++;
	return !policy || (have['a'] > 0 && have['w'] > 0 && have['k'] > 0);
}

/* How many distinct items of kind the reference holds. */
static size_t
ref_distinct(const struct ref *r, int kind)
{
	size_t i, j, n = 0;

	for (i = 0; i < r->n; i++) {
		if (r->it[i].kind != kind)
			continue;
		for (j = 0; j < i; j++)
			if (r->it[j].kind == kind &&
			    r->it[j].len == r->it[i].len &&
			    memcmp(r->it[j].b, r->it[i].b, r->it[i].len) == 0)
				break;
		n += j == i;
	}
	return n;
}

static int
list_has(const struct attest_allowlist *al, const struct item *it)
{
	struct attest_measurement m;

	m.len = it->len;
	memcpy(m.b, it->b, it->len);
	return attest_allowlist_has(al, &m);
}

static int
keys_have(const struct aspolicy *p, const uint8_t *k)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++)
		if (memcmp(p->keys[i], k, ATTEST_SIM_KEY_LEN) == 0)
			return 1;
	return 0;
}

static void
check_policy(const char *path, int want, const struct ref *r)
{
	struct aspolicy p;
	char why[256];
	size_t i;
	pserr rc;

	aspolicy_init(&p);
	rc = aspolicy_load(path, &p, why, sizeof(why));
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_CORRUPT);
	FUZZ_CHECK((rc == PS_OK) == (want == 1));
	if (rc == PS_OK) {
		FUZZ_CHECK(p.as.n == ref_distinct(r, 'a'));
		FUZZ_CHECK(p.workers.n == ref_distinct(r, 'w'));
		FUZZ_CHECK(p.nkeys == ref_distinct(r, 'k'));
		FUZZ_CHECK(p.peers.n == 0);
		for (i = 0; i < r->n; i++)
			FUZZ_CHECK(r->it[i].kind == 'k' ?
			    keys_have(&p, r->it[i].b) :
			    list_has(r->it[i].kind == 'a' ? &p.as : &p.workers,
			    &r->it[i]));
	}
	aspolicy_free(&p);
}

static void
check_allowlist(const char *path, int want, const struct ref *r)
{
	static const struct item before = {'m', 32, {0xee}};
	struct attest_allowlist al = {NULL, 0};
	struct attest_measurement m;
	size_t i, n = ref_distinct(r, 'm') + 1;
	char why[256];
	pserr rc;

	/* One measurement there already: a refused file leaves it alone. */
	m.len = before.len;
	memcpy(m.b, before.b, before.len);
	FUZZ_CHECK(attest_allowlist_add(&al, &m) == PS_OK);
	rc = attest_allowlist_load(&al, path, why, sizeof(why));
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_CORRUPT ||
	    rc == PS_ERR_TOO_LARGE);
	FUZZ_CHECK((rc == PS_OK) == (want == 1));
	FUZZ_CHECK(list_has(&al, &before));
	if (rc == PS_OK) {
		for (i = 0; i < r->n; i++) {
			FUZZ_CHECK(list_has(&al, &r->it[i]));
			if (r->it[i].len == before.len &&
			    memcmp(r->it[i].b, before.b, before.len) == 0)
				n = ref_distinct(r, 'm');
		}
		FUZZ_CHECK(al.n == n);
	} else {
		FUZZ_CHECK(al.n == 1);
	}
	attest_allowlist_free(&al);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref r;
	const char *path;
	int policy, want;

	if (size < 1)
		return 0;
	policy = data[0] % 2 == 0;
	path = fuzz_file(data + 1, size - 1);
	if ((want = ref_parse(policy, (const char *)data + 1, size - 1,
	    &r)) < 0)
		return 0;
	if (policy)
		check_policy(path, want, &r);
	else
		check_allowlist(path, want, &r);
	return 0;
}
