/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "asclient/asclient_parse.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/caps.h"
#include "core/codec.h"
#include "seal/jscan.h"

/* The reply as a JSON object, or NULL.  jscan, the project's strict
 * reader, decides what is JSON: json-c takes comments, single quotes,
 * trailing commas, leading zeros, raw control bytes and invalid UTF-8
 * even in its strict mode, and json_tokener_parse() ignores whatever
 * follows the first value.  json-c only builds the tree of what jscan
 * accepted, so the AS's reply is read one way only. */
static json_object *
object(const char *s, size_t len)
{
	json_tokener *tok;
	json_object *o;
	size_t i = 0;

	if (len == 0 || len > PS_CAP_AS_REPLY ||
	    jscan_value(s, len, ASCLIENT_PARSE_DEPTH) != PS_OK)
		return NULL;
	while (strchr(" \t\r\n", s[i]) != NULL)
		i++;
	/* A NUL (from \u0000) cannot end json-c's input: it is handed the
	 * length.  jscan's depth counts as json-c's does, plus one. */
	if (s[i] != '{' || (tok = json_tokener_new_ex(ASCLIENT_PARSE_DEPTH +
	    1)) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int
get_int(json_object *o, const char *name, int64_t *v)
{
	json_object *x;

	if (!json_object_object_get_ex(o, name, &x) ||
	    !json_object_is_type(x, json_type_int))
		return -1;
	*v = json_object_get_int64(x);
	return 0;
}

static const char *
get_str(json_object *o, const char *name, size_t *len)
{
	json_object *x;

	if (!json_object_object_get_ex(o, name, &x) ||
	    !json_object_is_type(x, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(x);
	return json_object_get_string(x);
}

/* Exactly n bytes of base64url at s (len bytes) into out. */
static int
b64_exact(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t got;

	return s != NULL && codec_b64url_decode(s, len, out, n, &got) ==
	    PS_OK && got == n ? 0 : -1;
}

pserr
asclient_parse_upload(const char *s, size_t len, int64_t *expires)
{
	json_object *o;
	int64_t exp;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	if ((o = object(s, len)) == NULL)
		return rc;
	if (get_int(o, "expires", &exp) == 0) {
		*expires = exp;
		rc = PS_OK;
	}
	json_object_put(o);
	return rc;
}

pserr
asclient_parse_challenge(const char *s, size_t len, uint8_t challenge[32],
    int64_t *expires)
{
	uint8_t ch[32];
	json_object *o;
	const char *v;
	size_t n;
	int64_t exp;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	if ((o = object(s, len)) == NULL)
		return rc;
	v = get_str(o, "challenge", &n);
	if (b64_exact(v, n, ch, sizeof(ch)) == 0 &&
	    get_int(o, "expires", &exp) == 0) {
		memcpy(challenge, ch, sizeof(ch));
		*expires = exp;
		rc = PS_OK;
	}
	json_object_put(o);
	return rc;
}

/* Parse a JSON array of platform keys (hex of ATTEST_SIM_KEY_LEN bytes)
 * into p when al is NULL, else of measurements into al.  -1 when it is
 * not one. */
static int
policy_list(json_object *arr, struct aspolicy *p, struct attest_allowlist *al)
{
	size_t i, n, len;
	const char *s;

	if (!json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) > 256)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(x, json_type_string))
			return -1;
		s = json_object_get_string(x);
		len = (size_t)json_object_get_string_len(x);
		if (al == NULL) {
			uint8_t k[ATTEST_SIM_KEY_LEN];

			if (len != 2 * sizeof(k) || codec_hex_decode(s, len, k,
			    sizeof(k)) != PS_OK || aspolicy_add_key(p, k) !=
			    PS_OK)
				return -1;
		} else {
			struct attest_measurement m;

			if (attest_measurement_parse(s, len, &m) != PS_OK ||
			    attest_allowlist_add(al, &m) != PS_OK)
				return -1;
		}
	}
	return 0;
}

/* The reply's "format" (its name at *f, *flen bytes) and "evidence",
 * decoded into dec (empty).  -1 when either is not what it should be. */
static int
get_evidence(json_object *o, const char **f, size_t *flen, struct buf *dec)
{
	const char *v;
	size_t n;

	if ((*f = get_str(o, "format", flen)) == NULL || *flen == 0 ||
	    *flen > ASCLIENT_FORMAT_MAX || memchr(*f, '\0', *flen) != NULL ||
	    (v = get_str(o, "evidence", &n)) == NULL ||
	    n > CODEC_B64URL_LEN(PS_CAP_EVIDENCE) ||
	    buf_reserve(dec, PS_CAP_EVIDENCE) != PS_OK ||
	    codec_b64url_decode(v, n, (uint8_t *)dec->p, PS_CAP_EVIDENCE,
	    &dec->len) != PS_OK)
		return -1;
	return 0;
}

pserr
asclient_parse_attest(const char *s, size_t len,
    char format[ASCLIENT_FORMAT_MAX + 1], uint8_t pub[32], struct buf *ev,
    struct aspolicy *asp)
{
	json_object *o, *pol, *keys, *workers, *peers;
	struct aspolicy got;
	struct buf dec;
	uint8_t k[32];
	const char *v, *f;
	size_t n, flen;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	aspolicy_init(&got);
	buf_init(&dec, PS_CAP_EVIDENCE);
	if ((o = object(s, len)) == NULL ||
	    get_evidence(o, &f, &flen, &dec) != 0)
		goto out;
	v = get_str(o, "pubkey", &n);
	if (b64_exact(v, n, k, sizeof(k)) != 0)
		goto out;
	if (!json_object_object_get_ex(o, "policy", &pol) ||
	    !json_object_object_get_ex(pol, "platform_keys", &keys) ||
	    !json_object_object_get_ex(pol, "worker_measurements", &workers) ||
	    !json_object_object_get_ex(pol, "peer_measurements", &peers) ||
	    policy_list(keys, &got, NULL) != 0 ||
	    policy_list(workers, &got, &got.workers) != 0 ||
	    policy_list(peers, &got, &got.peers) != 0)
		goto out;
	/* Everything parsed: only now are the outputs written. */
	buf_reset(ev);
	if (buf_append(ev, dec.p, dec.len) != PS_OK)
		goto out;
	aspolicy_free(asp);
	*asp = got;
	aspolicy_init(&got);
	memcpy(format, f, flen);
	format[flen] = '\0';
	memcpy(pub, k, sizeof(k));
	rc = PS_OK;
out:
	buf_free(&dec);
	aspolicy_free(&got);
	json_object_put(o);
	return rc;
}

/* The reply's "keys", decoded and appended to out (unchanged on
 * failure).  -1 when it is not base64url of at most max bytes. */
static int
get_keys(json_object *o, size_t max, struct buf *out)
{
	const char *v;
	size_t n, got;

	if ((v = get_str(o, "keys", &n)) == NULL || n > CODEC_B64URL_LEN(max) ||
	    buf_reserve(out, n) != PS_OK ||
	    codec_b64url_decode(v, n, (uint8_t *)out->p + out->len,
	    out->max - out->len, &got) != PS_OK || got > max)
		return -1;
	out->len += got;
	return 0;
}

pserr
asclient_parse_keys(const char *s, size_t len, size_t max, struct buf *out)
{
	json_object *o;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	if ((o = object(s, len)) == NULL)
		return rc;
	if (get_keys(o, max, out) == 0)
		rc = PS_OK;
	json_object_put(o);
	return rc;
}

pserr
asclient_parse_join(const char *s, size_t len, size_t max, struct buf *out,
    char format[ASCLIENT_FORMAT_MAX + 1], struct buf *ev)
{
	json_object *o;
	struct buf dec;
	const char *f;
	size_t flen, start = out->len;
	pserr rc = PS_ERR_BAD_UPSTREAM;

	buf_init(&dec, PS_CAP_EVIDENCE);
	if ((o = object(s, len)) == NULL ||
	    get_evidence(o, &f, &flen, &dec) != 0 ||
	    get_keys(o, max, out) != 0)
		goto out;
	buf_reset(ev);
	if (buf_append(ev, dec.p, dec.len) != PS_OK) {
		out->len = start;
		goto out;
	}
	memcpy(format, f, flen);
	format[flen] = '\0';
	rc = PS_OK;
out:
	buf_free(&dec);
	json_object_put(o);
	return rc;
}

/* Append s (NUL-terminated, from the peer) to out, printable ASCII only. */
static void
append_clean(char *out, size_t outlen, const char *s)
{
	size_t at = strlen(out);

	for (; *s != '\0' && at + 1 < outlen; s++)
		out[at++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	out[at] = '\0';
}

void
asclient_parse_error(const char *s, size_t len, char *out, size_t outlen)
{
	json_object *o, *e;
	const char *v;
	size_t n;

	if (outlen == 0 || (o = object(s, len)) == NULL)
		return;
	if (json_object_object_get_ex(o, "error", &e) &&
	    json_object_is_type(e, json_type_object)) {
		if ((v = get_str(e, "code", &n)) != NULL) {
			append_clean(out, outlen, " ");
			append_clean(out, outlen, v);
		}
		if ((v = get_str(e, "message", &n)) != NULL) {
			append_clean(out, outlen, ": ");
			append_clean(out, outlen, v);
		}
	}
	json_object_put(o);
}
