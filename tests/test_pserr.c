/*
 * pserr: the one writer of the error body, the reason buffer, and the
 * code of the AS's refusals.  The protocol.md section 6 table is checked
 * in test_codec.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "testutil.h"

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

START_TEST(why)
{
	char w[8];

	pserr_why(w, sizeof(w), "line %d: %s", 12, "bad");
	ck_assert_str_eq(w, "line 12");
	pserr_why(w, sizeof(w), "%s", "ok");
	ck_assert_str_eq(w, "ok");
	/* No buffer, or no room: nothing happens. */
	pserr_why(NULL, 10, "%s", "x");
	w[0] = 'z';
	pserr_why(w, 0, "%s", "x");
	ck_assert_int_eq(w[0], 'z');
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

	tcase_add_test(t, json_body_bytes);
	tcase_add_test(t, json_body_escapes);
	tcase_add_test(t, json_is_json_body);
	tcase_add_test(t, json_body_cap);
	tcase_add_test(t, why);
	tcase_add_test(t, bad_request);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(pserr_suite());
}
