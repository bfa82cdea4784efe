/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/as/asbody.c, the parser of the AS's request bodies
 * (docs/as-api.md).
 *
 * The input is a body, read for the members of an upload ("kid" and
 * "secret", strings, and "ttl", an integer).  Properties: asbody_parse
 * accepts exactly what an independent reading of asbody.h accepts
 * (json-c for the values, jscan's member walk for the names as sent,
 * since json-c merges a name met twice), and gives the same values.
 */
#include "config.h"

#include <string.h>

#include <json.h>

#include "as/asbody.h"
#include "core/buf.h"
#include "fuzz.h"
#include "seal/jscan.h"

#define NF 3

static const struct {
	const char *name;
	enum asbody_type type;
	size_t max;
} want[NF] = {
	{ "kid", ASBODY_STR, 32 },
	{ "secret", ASBODY_STR, 44 },
	{ "ttl", ASBODY_INT, 0 },
};

/* The names as the walk sees them, unescaped: 1 when the rules on names
 * hold (none too long, a wanted one at most once). -1 when the body is
 * not one object. */
static int
names_ok(const char *s, size_t n)
{
	struct jscan_object it;
	struct jscan_member m;
	int more, seen[NF] = { 0 }, ok = 1;
	size_t i;

	if (jscan_value(s, n, JSCAN_MAX_DEPTH) != PS_OK ||
	    jscan_object_begin(&it, s, n) != PS_OK)
		return -1;
	for (;;) {
		struct buf name;

		if (jscan_object_next(&it, &m, &more) != PS_OK)
			return -1;
		if (!more)
			break;
		buf_init(&name, m.name_len + 1);
		FUZZ_CHECK(jscan_unescape(m.name, m.name_len, &name) == PS_OK);
		if (name.len > ASBODY_NAME_MAX)
			ok = 0;
		for (i = 0; i < NF; i++)
			if (name.len == strlen(want[i].name) &&
			    memcmp(name.p, want[i].name, name.len) == 0 &&
			    seen[i]++)
				ok = 0;
		if (m.value[0] == '{' || m.value[0] == '[')
			ok = 0;
		buf_free(&name);
	}
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asbody_field f[NF];
	struct json_tokener *tk;
	struct json_object *root = NULL, *v;
	const char *s = (const char *)data;
	int ref, ok, i;
	pserr rc;

	if (size > 8192)
		return 0;
	memset(f, 0, sizeof(f));
	for (i = 0; i < NF; i++) {
		f[i].name = want[i].name;
		f[i].type = want[i].type;
		f[i].max = want[i].max;
	}
	rc = asbody_parse(s, size, f, NF);
	FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_INVALID_JSON);
	ref = names_ok(s, size);
	if (ref == 1 && memchr(s, '\0', size) == NULL) {
		tk = json_tokener_new();
		root = json_tokener_parse_ex(tk, s, (int)size);
		json_tokener_free(tk);
		FUZZ_CHECK(root != NULL &&
		    json_object_is_type(root, json_type_object));
		for (i = 0; i < NF && ref == 1; i++) {
			if (!json_object_object_get_ex(root, want[i].name, &v))
				continue;
			if (want[i].type == ASBODY_STR)
				ref = json_object_is_type(v, json_type_string) &&
				    (size_t)json_object_get_string_len(v) <=
				    want[i].max;
			else
				ref = json_object_is_type(v, json_type_int);
		}
	} else if (ref == 1) {
		/* A raw NUL byte is never valid JSON (jscan let it pass
		 * only inside nothing); json-c cannot read past it. */
		ref = -2;
	}
	ok = rc == PS_OK;
	if (ref == -2 || (ref == 1 && !ok && root != NULL)) {
		/* json-c reads integers past 64 bits as the nearest end and
		 * "-0" as 0: only a number can make that difference. */
		if (ref == 1) {
			struct json_object *t;

			FUZZ_CHECK(json_object_object_get_ex(root, "ttl", &t));
			FUZZ_CHECK(json_object_get_int64(t) == INT64_MAX ||
			    json_object_get_int64(t) == INT64_MIN);
		}
		goto out;
	}
	FUZZ_CHECK(ok == (ref == 1));
	if (!ok)
		goto out;
	for (i = 0; i < NF; i++) {
		int there = json_object_object_get_ex(root, want[i].name, &v);

		FUZZ_CHECK(f[i].seen == there);
		if (!there)
			continue;
		if (want[i].type == ASBODY_STR) {
			FUZZ_CHECK(f[i].str.len ==
			    (size_t)json_object_get_string_len(v));
			FUZZ_CHECK(f[i].str.len == 0 || memcmp(f[i].str.p,
			    json_object_get_string(v), f[i].str.len) == 0);
			FUZZ_CHECK(f[i].str.p[f[i].str.len] == '\0');
		} else {
			FUZZ_CHECK(f[i].num == json_object_get_int64(v));
		}
	}
out:
	json_object_put(root);
	asbody_free(f, NF);
	return 0;
}
