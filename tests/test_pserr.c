/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/core/pserr.c: the protocol.md section 6 table, the
 * local codes, the one writer of the error body, the reason buffer, and
 * the code of the AS's refusals.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "testutil.h"

/* protocol.md section 6, and the stream error code of section 5. */
static const struct {
	pserr rc;
	int status;
	const char *code;
	const char *json;
} section6[] = {
	{PS_ERR_INVALID_JSON, 400, "invalid_json",
	    "{\"error\":{\"message\":\"request body is not a JSON object\","
	    "\"type\":\"invalid_request_error\",\"code\":\"invalid_json\"}}"},
	{PS_ERR_INVALID_ENVELOPE, 400, "invalid_envelope",
	    "{\"error\":{\"message\":\"malformed encrypted value, or members "
	    "mix key IDs or nonces\",\"type\":\"invalid_request_error\","
	    "\"code\":\"invalid_envelope\"}}"},
	{PS_ERR_PLAINTEXT_MEMBER, 400, "plaintext_member",
	    "{\"error\":{\"message\":\"a member that must be encrypted arrived "
	    "in plain text\",\"type\":\"invalid_request_error\","
	    "\"code\":\"plaintext_member\"}}"},
	{PS_ERR_DECRYPT, 400, "decrypt_failed",
	    "{\"error\":{\"message\":\"decryption failed\","
	    "\"type\":\"invalid_request_error\",\"code\":\"decrypt_failed\"}}"},
	{PS_ERR_UNKNOWN_ENDPOINT, 404, "unknown_endpoint",
	    "{\"error\":{\"message\":\"unknown endpoint\","
	    "\"type\":\"invalid_request_error\",\"code\":\"unknown_endpoint\"}}"},
	{PS_ERR_METHOD, 405, "method_not_allowed",
	    "{\"error\":{\"message\":\"method not allowed\","
	    "\"type\":\"invalid_request_error\","
	    "\"code\":\"method_not_allowed\"}}"},
	{PS_ERR_TOO_LARGE, 413, "body_too_large",
	    "{\"error\":{\"message\":\"body too large\","
	    "\"type\":\"invalid_request_error\",\"code\":\"body_too_large\"}}"},
	{PS_ERR_MEDIA_TYPE, 415, "unsupported_media_type",
	    "{\"error\":{\"message\":\"request body must be application/json "
	    "(multipart/form-data for audio)\","
	    "\"type\":\"invalid_request_error\","
	    "\"code\":\"unsupported_media_type\"}}"},
	{PS_ERR_UNKNOWN_KEY, 422, "unknown_key",
	    "{\"error\":{\"message\":\"no secret is known for this key ID\","
	    "\"type\":\"invalid_request_error\",\"code\":\"unknown_key\"}}"},
	{PS_ERR_UPSTREAM, 502, "upstream_unavailable",
	    "{\"error\":{\"message\":\"the next hop refused or broke the "
	    "connection\",\"type\":\"api_error\","
	    "\"code\":\"upstream_unavailable\"}}"},
	{PS_ERR_BAD_UPSTREAM, 502, "bad_upstream_response",
	    "{\"error\":{\"message\":\"the next hop sent a reply that could not "
	    "be authenticated or parsed\",\"type\":\"api_error\","
	    "\"code\":\"bad_upstream_response\"}}"},
	{PS_ERR_NO_KEY, 503, "no_key",
	    "{\"error\":{\"message\":\"no usable secret is available\","
	    "\"type\":\"api_error\",\"code\":\"no_key\"}}"},
	{PS_ERR_TIMEOUT, 504, "upstream_timeout",
	    "{\"error\":{\"message\":\"the next hop did not answer in time\","
	    "\"type\":\"api_error\",\"code\":\"upstream_timeout\"}}"},
	{PS_ERR_STREAM_TRUNCATED, 502, "stream_truncated",
	    "{\"error\":{\"message\":\"the stream ended without a valid "
	    "end-of-stream record\",\"type\":\"api_error\","
	    "\"code\":\"stream_truncated\"}}"},
	{PS_ERR_VERSION, 400, "unsupported_version",
	    "{\"error\":{\"message\":\"wire format version 1 is not "
	    "supported: both proxies must speak version 2\","
	    "\"type\":\"invalid_request_error\","
	    "\"code\":\"unsupported_version\"}}"},
	{PS_ERR_STALE, 400, "stale_request",
	    "{\"error\":{\"message\":\"the request's timestamp is outside "
	    "the replay window (check the clocks)\","
	    "\"type\":\"invalid_request_error\",\"code\":\"stale_request\"}}"},
	{PS_ERR_PLAIN_QUERY, 400, "plain_query",
	    "{\"error\":{\"message\":\"a query string arrived in clear; "
	    "version 2 seals it\",\"type\":\"invalid_request_error\","
	    "\"code\":\"plain_query\"}}"},
	{PS_ERR_BAD_QUERY, 400, "invalid_query",
	    "{\"error\":{\"message\":\"the query string holds a byte the "
	    "wire format does not carry\",\"type\":\"invalid_request_error\","
	    "\"code\":\"invalid_query\"}}"},
	{PS_ERR_REPLAYED, 409, "replayed",
	    "{\"error\":{\"message\":\"this request was seen before\","
	    "\"type\":\"invalid_request_error\",\"code\":\"replayed\"}}"},
	{PS_ERR_QUERY_TOO_LONG, 414, "query_too_long",
	    "{\"error\":{\"message\":\"the query string is longer than 4096 "
	    "bytes\",\"type\":\"invalid_request_error\","
	    "\"code\":\"query_too_long\"}}"},
	{PS_ERR_REPLAY_FULL, 503, "replay_table_full",
	    "{\"error\":{\"message\":\"the worker's replay record is full; "
	    "try again later\",\"type\":\"api_error\","
	    "\"code\":\"replay_table_full\"}}"},
};

/* A peer's plain error maps onto our own code only for section 6 codes a
 * proxy sends. */
START_TEST(test_pserr_from_code)
{
	size_t i;

	for (i = 0; i < sizeof(section6) / sizeof(section6[0]); i++)
		ck_assert_int_eq(pserr_from_code(section6[i].code,
		    strlen(section6[i].code)), section6[i].rc);
	ck_assert_int_eq(pserr_from_code("internal_error", 14), PS_OK);
	ck_assert_int_eq(pserr_from_code("ok", 2), PS_OK);
	ck_assert_int_eq(pserr_from_code("conflict", 8), PS_OK);
	ck_assert_int_eq(pserr_from_code("not_found", 9), PS_OK);
	ck_assert_int_eq(pserr_from_code("unauthorized", 12), PS_OK);
	ck_assert_int_eq(pserr_from_code("", 0), PS_OK);
	ck_assert_int_eq(pserr_from_code("no_key_", 7), PS_OK);
	ck_assert_int_eq(pserr_from_code("no_ke", 5), PS_OK);
	ck_assert_int_eq(pserr_from_code("no_key\0", 7), PS_OK);
	ck_assert_int_eq(pserr_from_code("visit http://evil", 17), PS_OK);
}
END_TEST

START_TEST(test_pserr_section6)
{
	const size_t i = (size_t)_i;
	struct buf b;

	ck_assert_int_eq(pserr_status(section6[i].rc), section6[i].status);
	ck_assert_str_eq(pserr_code(section6[i].rc), section6[i].code);
	buf_init(&b, 4096);
	ck_assert_int_eq(pserr_json(section6[i].rc, &b), PS_OK);
	ck_assert_str_eq(buf_cstr(&b), section6[i].json);
	buf_free(&b);
}
END_TEST

START_TEST(test_pserr_local)
{
	static const pserr local[] = {PS_ERR_NOMEM, PS_ERR_ARG, PS_ERR_CRYPTO,
	    PS_ERR_IO, PS_ERR_PERM, PS_ERR_CORRUPT, PS_ERR_EXPIRED};
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		ck_assert_int_eq(pserr_status(local[i]), 500);
		ck_assert_str_eq(pserr_code(local[i]), "internal_error");
		ck_assert_str_eq(pserr_type(local[i]), "api_error");
	}
	buf_init(&b, 4096);
	ck_assert_int_eq(pserr_json(PS_ERR_NOMEM, &b), PS_OK);
	ck_assert_str_eq(buf_cstr(&b),
	    "{\"error\":{\"message\":\"out of memory\",\"type\":\"api_error\","
	    "\"code\":\"internal_error\"}}");
	buf_free(&b);

	/* Results of lookups and checks: the statuses they would have,
	 * should one reach a peer. */
	ck_assert_int_eq(pserr_status(PS_ERR_NOT_FOUND), 404);
	ck_assert_str_eq(pserr_code(PS_ERR_NOT_FOUND), "not_found");
	ck_assert_int_eq(pserr_status(PS_ERR_EXISTS), 409);
	ck_assert_str_eq(pserr_code(PS_ERR_EXISTS), "conflict");
	ck_assert_int_eq(pserr_status(PS_ERR_AUTH), 401);
	ck_assert_str_eq(pserr_code(PS_ERR_AUTH), "unauthorized");

	/* Out of range. */
	ck_assert_int_eq(pserr_status(PS_ERR__COUNT), 500);
	ck_assert_str_eq(pserr_code(PS_ERR__COUNT), "internal_error");
	ck_assert_str_eq(pserr_type(PS_ERR__COUNT), "api_error");
	ck_assert_str_eq(pserr_str(PS_ERR__COUNT), "unknown error");
	ck_assert_int_eq(pserr_status((pserr)-1), 500);
	ck_assert_str_eq(pserr_code((pserr)-1), "internal_error");
	ck_assert_str_eq(pserr_str((pserr)-1), "unknown error");
	ck_assert_str_eq(pserr_code(PS_OK), "ok");
	ck_assert_int_eq(pserr_status(PS_OK), 200);
}
END_TEST

/* Every code, known or not, gives one JSON object of the OpenAI error
 * shape, appended after what the buffer held. */
START_TEST(test_pserr_json_all)
{
	const pserr rc = (pserr)(_i - 1);
	struct json_object *o = NULL, *e, *f;
	struct buf b;
	const char *s;

	ck_assert_ptr_nonnull(pserr_str(rc));
	ck_assert_uint_gt(strlen(pserr_str(rc)), 0);
	buf_init(&b, 4096);
	ck_assert_int_eq(buf_puts(&b, "HTTP body: "), PS_OK);
	ck_assert_int_eq(pserr_json(rc, &b), PS_OK);
	s = buf_cstr(&b);
	ck_assert_mem_eq(s, "HTTP body: ", 11);
	o = json_tokener_parse(s + 11);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_object_length(o), 1);
	ck_assert(json_object_object_get_ex(o, "error", &e));
	ck_assert_int_eq(json_object_object_length(e), 3);
	ck_assert(json_object_object_get_ex(e, "message", &f));
	ck_assert_str_eq(json_object_get_string(f), pserr_str(rc));
	ck_assert(json_object_object_get_ex(e, "type", &f));
	ck_assert_str_eq(json_object_get_string(f), pserr_type(rc));
	ck_assert(json_object_object_get_ex(e, "code", &f));
	ck_assert_str_eq(json_object_get_string(f), pserr_code(rc));
	/* Nothing needed escaping: the text is the fields verbatim. */
	ck_assert_uint_eq(strlen(s + 11), strlen("{\"error\":{\"message\":\"\","
	    "\"type\":\"\",\"code\":\"\"}}") + strlen(pserr_str(rc)) +
	    strlen(pserr_type(rc)) + strlen(pserr_code(rc)));
	json_object_put(o);
	buf_free(&b);
}
END_TEST

/* A buffer without room: PS_ERR_TOO_LARGE, content as before. */
START_TEST(test_pserr_json_cap)
{
	struct buf b;
	const size_t full = strlen("{\"error\":{\"message\":\"decryption "
	    "failed\",\"type\":\"invalid_request_error\","
	    "\"code\":\"decrypt_failed\"}}");
	size_t room;

	for (room = 0; room < full; room++) {
		buf_init(&b, 3 + room);
		ck_assert_int_eq(buf_puts(&b, "abc"), PS_OK);
		ck_assert_int_eq(pserr_json(PS_ERR_DECRYPT, &b),
		    PS_ERR_TOO_LARGE);
		ck_assert_uint_eq(b.len, 3);
		ck_assert_mem_eq(b.p, "abc", 3);
		buf_free(&b);
	}
	buf_init(&b, 3 + full);
	ck_assert_int_eq(buf_puts(&b, "abc"), PS_OK);
	ck_assert_int_eq(pserr_json(PS_ERR_DECRYPT, &b), PS_OK);
	ck_assert_uint_eq(b.len, 3 + full);
	buf_free(&b);
}
END_TEST

START_TEST(test_pserr_why)
{
	char why[8];

	memset(why, 'x', sizeof(why));
	pserr_why(why, sizeof(why), "%s %d", "abc", 12345);
	ck_assert_str_eq(why, "abc 123");       /* cut, NUL terminated */
	pserr_why(why, sizeof(why), "ok");
	ck_assert_str_eq(why, "ok");
	pserr_why(NULL, 0, "ignored %d", 1);    /* no buffer: nothing */
	memset(why, 'x', sizeof(why));
	pserr_why(why, 0, "ignored");
	ck_assert_int_eq(why[0], 'x');
}
END_TEST

START_TEST(json_body_bytes)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(buf_puts(&b, "keep"), PS_OK);
	ck_assert_int_eq(pserr_json_body(&b, "invalid_request_error",
	    "kid_exists", "a secret with this kid exists"), PS_OK);
	ck_assert_str_eq(buf_cstr(&b), "keep{\"error\":{\"message\":\"a secret "
	    "with this kid exists\",\"type\":\"invalid_request_error\","
	    "\"code\":\"kid_exists\"}}");
	buf_free(&b);
}
END_TEST

/* Every string is escaped, and what comes out is the JSON it claims. */
START_TEST(json_body_escapes)
{
	const char *msg = "q\" b\\ s/ \t\x1f caf\xc3\xa9";
	json_object *o, *e, *v;
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(pserr_json_body(&b, "t\"", "c\\", msg), PS_OK);
	ck_assert_str_eq(buf_cstr(&b), "{\"error\":{\"message\":"
	    "\"q\\\" b\\\\ s/ \\u0009\\u001f caf\xc3\xa9\","
	    "\"type\":\"t\\\"\",\"code\":\"c\\\\\"}}");
	o = json_tokener_parse(buf_cstr(&b));
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "error", &e));
	ck_assert(json_object_object_get_ex(e, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), msg);
	json_object_put(o);
	buf_free(&b);
}
END_TEST

/* pserr_json() is pserr_json_body() of the table's strings. */
START_TEST(json_is_json_body)
{
	struct buf a, b;
	int i;

	buf_init(&a, 4096);
	buf_init(&b, 4096);
	for (i = 0; i < PS_ERR__COUNT; i++) {
		buf_reset(&a);
		buf_reset(&b);
		ck_assert_int_eq(pserr_json((pserr)i, &a), PS_OK);
		ck_assert_int_eq(pserr_json_body(&b, pserr_type((pserr)i),
		    pserr_code((pserr)i), pserr_str((pserr)i)), PS_OK);
		ck_assert_str_eq(buf_cstr(&a), buf_cstr(&b));
	}
	buf_free(&a);
	buf_free(&b);
}
END_TEST

/* Past the cap nothing is appended, at every length. */
START_TEST(json_body_cap)
{
	struct buf b;
	size_t max;

	for (max = 0; max < 81; max++) {
		buf_init(&b, max);
		ck_assert_int_eq(pserr_json_body(&b, "api_error",
		    "internal_error", "internal error"), PS_ERR_TOO_LARGE);
		ck_assert_uint_eq(b.len, 0);
		buf_free(&b);
	}
	buf_init(&b, 81);
	ck_assert_int_eq(pserr_json_body(&b, "api_error", "internal_error",
	    "internal error"), PS_OK);
	ck_assert_uint_eq(b.len, 81);
	buf_free(&b);
}
END_TEST

START_TEST(bad_request)
{
	ck_assert_int_eq(pserr_status(PS_ERR_BAD_REQUEST), 400);
	ck_assert_str_eq(pserr_code(PS_ERR_BAD_REQUEST), "invalid_request");
	ck_assert_str_eq(pserr_type(PS_ERR_BAD_REQUEST),
	    "invalid_request_error");
	ck_assert_int_ne(PS_ERR_BAD_REQUEST, PS_ERR_ARG);
	ck_assert_int_eq(pserr_status(PS_ERR_ARG), 500);
}
END_TEST

static Suite *
pserr_suite(void)
{
	Suite *s = suite_create("pserr");
	TCase *t = tcase_create("core");

	tcase_add_loop_test(t, test_pserr_section6, 0,
	    (int)(sizeof(section6) / sizeof(section6[0])));
	tcase_add_test(t, test_pserr_local);
	/* -1 .. PS_ERR__COUNT: every code and one out of range each side. */
	tcase_add_loop_test(t, test_pserr_json_all, 0, PS_ERR__COUNT + 2);
	tcase_add_test(t, test_pserr_json_cap);
	tcase_add_test(t, test_pserr_from_code);
	tcase_add_test(t, test_pserr_why);
	tcase_add_test(t, json_body_bytes);
	tcase_add_test(t, json_body_escapes);
	tcase_add_test(t, json_is_json_body);
	tcase_add_test(t, json_body_cap);
	tcase_add_test(t, bad_request);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(pserr_suite());
}
