/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/keys/keyfile.c, the key cache file (protocol.md
 * section 7).
 *
 * Properties: what keyfile_parse accepts, an independent reader (json-c,
 * with the rules of keyfile.h checked on its tree) accepts too, with the
 * same keys in the same order; what the reader accepts keyfile_parse
 * accepts too, except for what json-c cannot see (a member name twice,
 * which it merges; "-0" as an expiry, which it reads as 0), where the
 * reason must say so; what it accepts encodes
 * (keyfile_encode) to a text that parses to the same keys and encodes to
 * itself; a refusal allocates nothing and leaves a reason.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "core/buf.h"
#include "core/caps.h"
#include "fuzz.h"
#include "keys/keyfile.h"
#include "seal/jscan.h"

#define MAX_KEYS 256

static int
hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* Standard base64 with padding of exactly 32 bytes, strict. */
static int
ref_b64_32(const char *s, size_t n, uint8_t out[32])
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t i, k = 0;

	if (n != 44 || s[43] != '=' || s[42] == '=')
		return -1;
	for (i = 0; i < 43; i++) {
		const char *q = memchr(al, s[i], 64);

		if (s[i] == '\0' || q == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(q - al);
		if (i % 4 == 3) {
			out[k++] = (uint8_t)(acc >> 16);
			out[k++] = (uint8_t)(acc >> 8);
			out[k++] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* 43 characters: 10 groups and 3 left, 18 bits, 2 bytes and 2 bits
	 * that must be zero. */
	if ((acc & 3) != 0)
		return -1;
	out[k++] = (uint8_t)(acc >> 10);
	out[k++] = (uint8_t)(acc >> 2);
	return k == 32 ? 0 : -1;
}

/* The rules of keyfile.h on json-c's tree.  Returns the key count, -1
 * for a refusal, -2 for more keys than it holds. */
static long
ref_parse(const char *s, size_t n, struct keycache_entry *keys)
{
	struct json_tokener *tk;
	struct json_object *root = NULL, *v, *arr;
	long count = -1;
	size_t i, j;

	if (n > PS_CAP_KEYFILE || jscan_value(s, n, JSCAN_MAX_DEPTH) != PS_OK)
		return -1;
	if (memchr(s, '\0', n) != NULL)
		/* json-c stops at a NUL byte; jscan refuses a raw one in a
		 * string and anywhere else, so this cannot be valid. */
		return -1;
	tk = json_tokener_new();
	root = json_tokener_parse_ex(tk, s, (int)n);
	json_tokener_free(tk);
	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) != 2)
		goto out;
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		goto out;
	/* "1.0" or "1e0" is a double in json-c: refused above. */
	if (!json_object_object_get_ex(root, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		goto out;
	if (json_object_array_length(arr) > MAX_KEYS) {
		count = -2;     /* beyond what this reference holds */
		goto out;
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *f;
		const char *t;

		if (!json_object_is_type(e, json_type_object) ||
		    json_object_object_length(e) != 3)
			goto out;
		if (!json_object_object_get_ex(e, "kid", &f) ||
		    !json_object_is_type(f, json_type_string) ||
		    json_object_get_string_len(f) != 32)
			goto out;
		t = json_object_get_string(f);
		for (j = 0; j < 32; j++) {
			if (hexv(t[j]) < 0)
				goto out;
			keys[i].kid[j / 2] = (uint8_t)(j % 2 ?
			    keys[i].kid[j / 2] | hexv(t[j]) : hexv(t[j]) << 4);
		}
		if (!json_object_object_get_ex(e, "secret", &f) ||
		    !json_object_is_type(f, json_type_string) ||
		    ref_b64_32(json_object_get_string(f),
		    (size_t)json_object_get_string_len(f), keys[i].secret) != 0)
			goto out;
		if (!json_object_object_get_ex(e, "expires", &f) ||
		    !json_object_is_type(f, json_type_int))
			goto out;
		/* json-c clamps past INT64_MAX, and so lands on the one
		 * value refused. */
		keys[i].expires = json_object_get_int64(f);
		if (keys[i].expires < 0 || keys[i].expires == INT64_MAX)
			goto out;
		for (j = 0; j < i; j++)
			if (memcmp(keys[j].kid, keys[i].kid, 16) == 0)
				goto out;
	}
	count = (long)json_object_array_length(arr);
out:
	json_object_put(root);
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keycache_entry ref[MAX_KEYS];
	struct keycache_entry *k = NULL, *k2 = NULL;
	const char *s = (const char *)data;
	struct buf t1, t2;
	size_t n = 0, n2 = 0;
	char why[256];
	long rn;
	pserr rc;

	if (size > 65536)
		return 0;
	why[0] = '\0';
	rc = keyfile_parse(s, size, &k, &n, why, sizeof(why));
	rn = ref_parse(s, size, ref);
	if (rn == -2) {
		keyfile_entries_free(k, n);
		return 0;
	}
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_CORRUPT);
	if (rc != PS_OK) {
		FUZZ_CHECK(k == NULL && why[0] != '\0');
		if (rn >= 0)
			FUZZ_CHECK(strstr(why, "twice") != NULL ||
			    strstr(why, "expires") != NULL);
		return 0;
	}
	FUZZ_CHECK(rn >= 0 && (size_t)rn == n);
	FUZZ_CHECK(n == 0 || memcmp(k, ref, n * sizeof(*k)) == 0);

	/* The round trip through the writer's encoding. */
	buf_init(&t1, PS_CAP_KEYFILE);
	buf_init(&t2, PS_CAP_KEYFILE);
	FUZZ_CHECK(keyfile_encode(k, n, &t1) == PS_OK);
	FUZZ_CHECK(keyfile_parse(t1.p, t1.len, &k2, &n2, why, sizeof(why)) ==
	    PS_OK);
	FUZZ_CHECK(n2 == n && (n == 0 || memcmp(k, k2, n * sizeof(*k)) == 0));
	FUZZ_CHECK(keyfile_encode(k2, n2, &t2) == PS_OK);
	FUZZ_CHECK(t1.len == t2.len && memcmp(t1.p, t2.p, t1.len) == 0);
	keyfile_entries_free(k, n);
	keyfile_entries_free(k2, n2);
	buf_free(&t1);
	buf_free(&t2);
	return 0;
}
