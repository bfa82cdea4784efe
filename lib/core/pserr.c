/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/pserr.h"

static const struct {
	int status;
	const char *code;
	const char *type;
	const char *str;
} table[PS_ERR__COUNT] = {
	[PS_OK] = {200, "ok", "ok", "success"},
	[PS_ERR_INVALID_JSON] = {400, "invalid_json", "invalid_request_error",
	    "request body is not a JSON object"},
	[PS_ERR_INVALID_ENVELOPE] = {400, "invalid_envelope", "invalid_request_error",
	    "malformed encrypted value, or members mix key IDs or nonces"},
	[PS_ERR_PLAINTEXT_MEMBER] = {400, "plaintext_member", "invalid_request_error",
	    "a member that must be encrypted arrived in plain text"},
	[PS_ERR_DECRYPT] = {400, "decrypt_failed", "invalid_request_error",
	    "decryption failed"},
	[PS_ERR_UNKNOWN_ENDPOINT] = {404, "unknown_endpoint", "invalid_request_error",
	    "unknown endpoint"},
	[PS_ERR_METHOD] = {405, "method_not_allowed", "invalid_request_error",
	    "method not allowed"},
	[PS_ERR_TOO_LARGE] = {413, "body_too_large", "invalid_request_error",
	    "body too large"},
	[PS_ERR_MEDIA_TYPE] = {415, "unsupported_media_type", "invalid_request_error",
	    "request body must be application/json"},
	[PS_ERR_UNKNOWN_KEY] = {422, "unknown_key", "invalid_request_error",
	    "no secret is known for this key ID"},
	[PS_ERR_UPSTREAM] = {502, "upstream_unavailable", "api_error",
	    "the next hop refused or broke the connection"},
	[PS_ERR_BAD_UPSTREAM] = {502, "bad_upstream_response", "api_error",
	    "the next hop sent a reply that could not be authenticated or parsed"},
	[PS_ERR_NO_KEY] = {503, "no_key", "api_error",
	    "no usable secret is available"},
	[PS_ERR_TIMEOUT] = {504, "upstream_timeout", "api_error",
	    "the next hop did not answer in time"},
	[PS_ERR_STREAM_TRUNCATED] = {502, "stream_truncated", "api_error",
	    "the stream ended without a valid end-of-stream record"},
	[PS_ERR_VERSION] = {400, "unsupported_version", "invalid_request_error",
	    "wire format version 1 is not supported: both proxies must speak "
	    "version 2"},
	[PS_ERR_STALE] = {400, "stale_request", "invalid_request_error",
	    "the request's timestamp is outside the replay window (check the "
	    "clocks)"},
	[PS_ERR_PLAIN_QUERY] = {400, "plain_query", "invalid_request_error",
	    "a query string arrived in clear; version 2 seals it"},
	[PS_ERR_BAD_QUERY] = {400, "invalid_query", "invalid_request_error",
	    "the query string holds a byte the wire format does not carry"},
	[PS_ERR_REPLAYED] = {409, "replayed", "invalid_request_error",
	    "this request was seen before"},
	[PS_ERR_QUERY_TOO_LONG] = {414, "query_too_long", "invalid_request_error",
	    "the query string is longer than 4096 bytes"},
	[PS_ERR_REPLAY_FULL] = {503, "replay_table_full", "api_error",
	    "the worker's replay record is full; try again later"},
	[PS_ERR_INVALID_MULTIPART] = {400, "invalid_multipart",
	    "invalid_request_error",
	    "request body is not a multipart/form-data body this proxy accepts"},
	[PS_ERR_NOMEM] = {500, "internal_error", "api_error", "out of memory"},
	[PS_ERR_ARG] = {500, "internal_error", "api_error", "invalid argument"},
	[PS_ERR_CRYPTO] = {500, "internal_error", "api_error",
	    "cryptographic library failure"},
	[PS_ERR_IO] = {500, "internal_error", "api_error", "input/output error"},
	[PS_ERR_PERM] = {500, "internal_error", "api_error",
	    "file permissions or owner refused"},
	[PS_ERR_CORRUPT] = {500, "internal_error", "api_error",
	    "file content is corrupt"},
	[PS_ERR_EXPIRED] = {500, "internal_error", "api_error", "key expired"},
	[PS_ERR_NOT_FOUND] = {404, "not_found", "invalid_request_error", "not found"},
	[PS_ERR_EXISTS] = {409, "conflict", "invalid_request_error",
	    "already exists"},
	[PS_ERR_AUTH] = {401, "unauthorized", "invalid_request_error",
	    "authentication failed"},
	[PS_ERR_BAD_REQUEST] = {400, "invalid_request", "invalid_request_error",
	    "the request was refused as malformed"},
};

static int
valid(pserr rc)
{
	return (int)rc >= 0 && rc < PS_ERR__COUNT && table[rc].code != NULL;
}

const char *
pserr_str(pserr rc)
{
	return valid(rc) ? table[rc].str : "unknown error";
}

int
pserr_status(pserr rc)
{
	return valid(rc) ? table[rc].status : 500;
}

const char *
pserr_code(pserr rc)
{
	return valid(rc) ? table[rc].code : "internal_error";
}

const char *
pserr_type(pserr rc)
{
	return valid(rc) ? table[rc].type : "api_error";
}

/* Append s as the inside of a JSON string. */
static pserr
put_json_text(struct buf *b, const char *s)
{
	const char *run = s;
	char esc[8];
	pserr rc = PS_OK;

	for (; *s != '\0' && rc == PS_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		if ((rc = buf_append(b, run, (size_t)(s - run))) != PS_OK)
			break;
		if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = buf_append(b, esc, 6);
		} else {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = buf_append(b, esc, 2);
		}
		run = s + 1;
	}
	if (rc == PS_OK)
		rc = buf_append(b, run, (size_t)(s - run));
	return rc;
}

pserr
pserr_json_body(struct buf *out, const char *type, const char *code,
    const char *message)
{
	size_t start = out->len;
	pserr e;

	if ((e = buf_puts(out, "{\"error\":{\"message\":\"")) != PS_OK ||
	    (e = put_json_text(out, message)) != PS_OK ||
	    (e = buf_puts(out, "\",\"type\":\"")) != PS_OK ||
	    (e = put_json_text(out, type)) != PS_OK ||
	    (e = buf_puts(out, "\",\"code\":\"")) != PS_OK ||
	    (e = put_json_text(out, code)) != PS_OK ||
	    (e = buf_puts(out, "\"}}")) != PS_OK)
		out->len = start;
	return e;
}

pserr
pserr_json(pserr rc, struct buf *out)
{
	return pserr_json_body(out, pserr_type(rc), pserr_code(rc),
	    pserr_str(rc));
}

pserr
pserr_from_code(const char *code, size_t n)
{
	int i;

	/* Only what protocol.md section 6 lets a proxy send: not "ok", not
	 * the local failures' shared "internal_error", not the attestation
	 * service's answers. */
	for (i = PS_ERR_INVALID_JSON; i < PS_ERR_NOMEM; i++)
		if (strlen(table[i].code) == n && memcmp(table[i].code, code,
		    n) == 0)
			return (pserr)i;
	return PS_OK;
}

void
pserr_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
