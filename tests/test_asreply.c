/* SPDX-License-Identifier: ISC */
/*
 * asreply: the bytes of the AS's answers (docs/as-api.md): error bodies
 * with their type, escaping, notes, headers and the cap.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "as/asreply.h"
#include "core/caps.h"
#include "testutil.h"

static struct asreply r;

static void
setup(void)
{
	asreply_init(&r);
}

static void
teardown(void)
{
	asreply_free(&r);
}

static const char *
body(void)
{
	const char *s = buf_cstr(&r.body);

	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(fresh)
{
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.headers, "Cache-Control: no-store\r\n");
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_uint_eq(r.body.max, PS_CAP_AS_REPLY);
	ck_assert_str_eq(r.note, "");
}
END_TEST

START_TEST(error_bodies)
{
	asreply_error(&r, 409, "kid_exists", "a secret with this kid exists");
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(body(), "{\"error\":{\"message\":\"a secret with this "
	    "kid exists\",\"type\":\"invalid_request_error\","
	    "\"code\":\"kid_exists\"}}");
	ck_assert_str_eq(r.note, "kid_exists");
	/* 5xx: api_error; the body is replaced, the first note stays. */
	asreply_error(&r, 503, "store_full", "full");
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(body(), "{\"error\":{\"message\":\"full\","
	    "\"type\":\"api_error\",\"code\":\"store_full\"}}");
	ck_assert_str_eq(r.note, "kid_exists");
	ck_assert_str_eq(r.headers, ASREPLY_HEADERS);
}
END_TEST

START_TEST(bad_request_and_internal)
{
	asreply_bad_request(&r, "ttl must be 1 to 60 seconds");
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(body(), "{\"error\":{\"message\":\"ttl must be 1 to "
	    "60 seconds\",\"type\":\"invalid_request_error\","
	    "\"code\":\"invalid_request\"}}");
	ck_assert_str_eq(r.note,
	    "invalid_request: ttl must be 1 to 60 seconds");
	asreply_reset(&r);
	ck_assert_int_eq(r.status, 500);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_str_eq(r.note, "");
	asreply_internal(&r, "store", PS_ERR_IO);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(body(), "{\"error\":{\"message\":\"internal error\","
	    "\"type\":\"api_error\",\"code\":\"internal_error\"}}");
	ck_assert_str_eq(r.note, "store: input/output error");
}
END_TEST

/* Messages are JSON-escaped; '/' is left alone. */
START_TEST(escaping)
{
	asreply_error(&r, 403, "attestation_failed",
	    "a \"quote\", a \\ and a/slash\n\x01");
	ck_assert_str_eq(body(), "{\"error\":{\"message\":\"a \\\"quote\\\", a "
	    "\\\\ and a/slash\\u000a\\u0001\",\"type\":"
	    "\"invalid_request_error\",\"code\":\"attestation_failed\"}}");
}
END_TEST

START_TEST(ok_bodies)
{
	char big[300];

	asreply_ok(&r, 201, "{\"kid\":\"%s\",\"expires\":%d}", "00ff", 7);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(body(), "{\"kid\":\"00ff\",\"expires\":7}");
	/* A body past its 255 bytes is an internal error, not a cut one. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	asreply_reset(&r);
	asreply_ok(&r, 200, "\"%s\"", big);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.note, "reply: body too large");
}
END_TEST

START_TEST(notes_are_cut)
{
	char big[400];

	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	asreply_note(&r, "%s", big);
	ck_assert_uint_eq(strlen(r.note), sizeof(r.note) - 1);
}
END_TEST

/* A body that cannot be written leaves it empty, the status set. */
START_TEST(error_past_cap)
{
	r.body.max = 20;
	asreply_error(&r, 404, "unknown_endpoint", "unknown endpoint");
	ck_assert_int_eq(r.status, 404);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_str_eq(r.note, "unknown_endpoint");
}
END_TEST

static Suite *
asreply_suite(void)
{
	Suite *s = suite_create("asreply");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, fresh);
	tcase_add_test(t, error_bodies);
	tcase_add_test(t, bad_request_and_internal);
	tcase_add_test(t, escaping);
	tcase_add_test(t, ok_bodies);
	tcase_add_test(t, notes_are_cut);
	tcase_add_test(t, error_past_cap);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(asreply_suite());
}
