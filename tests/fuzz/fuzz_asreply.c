/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/asclient/asclient_parse.c, the AS's replies as the
 * client proxy and promptseal-keysync read them.
 *
 * The first byte picks the reply (upload, challenge, attest, keys,
 * error, join); the rest is the reply.  Properties: a reply is accepted only
 * when jscan, the project's own strict RFC 8259 reader (written apart
 * from json-c), finds it one JSON object; a decoded value encodes back to
 * a string of the reply (a round trip); the outputs are unchanged when a
 * reply is refused; an error text stays printable ASCII, NUL-terminated,
 * within its buffer, and keeps what it held before.
 */
#include "config.h"

#include <string.h>

#include "asclient/asclient_parse.h"
#include "core/caps.h"
#include "core/codec.h"
#include "fuzz.h"
#include "seal/jscan.h"

/* 1 when s (n bytes) is one JSON object to jscan. */
static int
is_object(const char *s, size_t n)
{
	size_t i = 0;

	if (jscan_value(s, n, JSCAN_MAX_DEPTH) != PS_OK)
		return 0;
	while (i < n && strchr(" \t\r\n", s[i]) != NULL)
		i++;
	return i < n && s[i] == '{';
}

/* 1 when the base64url of p (n bytes), quoted, occurs in s. */
static int
encoded_in(const char *s, size_t len, const uint8_t *p, size_t n)
{
	char *enc;
	size_t k;
	int found;

	if (n > PS_CAP_AS_REPLY || (enc = malloc(CODEC_B64URL_LEN(n) + 2)) ==
	    NULL)
		return 0;
	enc[0] = '"';
	k = 1 + codec_b64url_encode(p, n, enc + 1);
	enc[k++] = '"';
	found = memmem(s, len, enc, k) != NULL;
	free(enc);
	return found;
}

static void
check_error(const char *s, size_t n)
{
	char out[64];
	size_t k, at;

	memcpy(out, "HTTP 400", 9);
	asclient_parse_error(s, n, out, sizeof(out));
	at = strnlen(out, sizeof(out));
	FUZZ_CHECK(at < sizeof(out));
	FUZZ_CHECK(memcmp(out, "HTTP 400", 8) == 0);
	for (k = 0; k < at; k++)
		FUZZ_CHECK(out[k] >= 0x20 && out[k] < 0x7f);
	if (at > 8)
		FUZZ_CHECK(is_object(s, n));
	asclient_parse_error(s, n, out, 0);   /* no room: nothing written */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	char format[ASCLIENT_FORMAT_MAX + 1];
	uint8_t ch[32], pub[32];
	int64_t exp;
	struct aspolicy asp;
	struct buf out;
	pserr rc;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		exp = 42;
		rc = asclient_parse_upload(s, n, &exp);
		FUZZ_CHECK(rc == PS_OK || rc == PS_ERR_BAD_UPSTREAM);
		FUZZ_CHECK(rc != PS_OK || is_object(s, n));
		FUZZ_CHECK(rc == PS_OK || exp == 42);
		break;
	case 1:
		memset(ch, 0xa5, sizeof(ch));
		exp = 42;
		rc = asclient_parse_challenge(s, n, ch, &exp);
		if (rc == PS_OK) {
			FUZZ_CHECK(is_object(s, n));
			FUZZ_CHECK(encoded_in(s, n, ch, sizeof(ch)));
		} else {
			uint8_t want[32];

			memset(want, 0xa5, sizeof(want));
			FUZZ_CHECK(rc == PS_ERR_BAD_UPSTREAM);
			FUZZ_CHECK(memcmp(ch, want, sizeof(ch)) == 0 && exp == 42);
		}
		break;
	case 2:
		aspolicy_init(&asp);
		buf_init(&out, PS_CAP_EVIDENCE);
		FUZZ_CHECK(buf_append(&out, "old", 3) == PS_OK);
		memset(pub, 0xa5, sizeof(pub));
		memcpy(format, "old", 4);
		rc = asclient_parse_attest(s, n, format, pub, &out, &asp);
		if (rc == PS_OK) {
			FUZZ_CHECK(is_object(s, n));
			FUZZ_CHECK(strlen(format) >= 1);
			FUZZ_CHECK(encoded_in(s, n, pub, sizeof(pub)));
			FUZZ_CHECK(encoded_in(s, n, (const uint8_t *)out.p,
			    out.len));
			FUZZ_CHECK(asp.nkeys <= 256 && asp.workers.n <= 256 &&
			    asp.peers.n <= 256);
		} else {
			FUZZ_CHECK(rc == PS_ERR_BAD_UPSTREAM);
			FUZZ_CHECK(out.len == 3 && memcmp(out.p, "old", 3) == 0);
			FUZZ_CHECK(strcmp(format, "old") == 0);
			FUZZ_CHECK(asp.nkeys == 0 && asp.workers.n == 0 &&
			    asp.peers.n == 0);
		}
		aspolicy_free(&asp);
		buf_free(&out);
		break;
	case 3:
		buf_init(&out, PS_CAP_AS_REPLY);
		FUZZ_CHECK(buf_append(&out, "old", 3) == PS_OK);
		rc = asclient_parse_keys(s, n, 128, &out);
		if (rc == PS_OK) {
			FUZZ_CHECK(is_object(s, n));
			FUZZ_CHECK(out.len >= 3 && out.len - 3 <= 128);
			FUZZ_CHECK(encoded_in(s, n, (const uint8_t *)out.p + 3,
			    out.len - 3));
		} else {
			FUZZ_CHECK(rc == PS_ERR_BAD_UPSTREAM);
			FUZZ_CHECK(out.len == 3);
		}
		FUZZ_CHECK(memcmp(out.p, "old", 3) == 0);
		buf_free(&out);
		break;
	case 5: {
		struct buf ev;

		buf_init(&out, PS_CAP_AS_REPLY);
		buf_init(&ev, PS_CAP_EVIDENCE);
		FUZZ_CHECK(buf_append(&out, "old", 3) == PS_OK);
		memcpy(format, "old", 4);
		rc = asclient_parse_join(s, n, 128, &out, format, &ev);
		if (rc == PS_OK) {
			FUZZ_CHECK(is_object(s, n));
			FUZZ_CHECK(strlen(format) >= 1);
			FUZZ_CHECK(out.len >= 3 && out.len - 3 <= 128);
			FUZZ_CHECK(encoded_in(s, n, (const uint8_t *)out.p + 3,
			    out.len - 3));
			FUZZ_CHECK(encoded_in(s, n, (const uint8_t *)ev.p,
			    ev.len));
		} else {
			FUZZ_CHECK(rc == PS_ERR_BAD_UPSTREAM);
			FUZZ_CHECK(out.len == 3);
			FUZZ_CHECK(strcmp(format, "old") == 0);
		}
		FUZZ_CHECK(memcmp(out.p, "old", 3) == 0);
		buf_free(&out);
		buf_free(&ev);
		break;
	}
	default:
		check_error(s, n);
		break;
	}
	return 0;
}
