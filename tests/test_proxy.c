/*
 * Unit tests of the parts of lib/net/proxy.c that decide what a proxy
 * believes of its peer: which plain error it takes from the worker side
 * (only the code, never the text, protocol.md section 6), and the media
 * type a reply is bound to (section 3).
 */
#include "config.h"

#include <string.h>

#include <check.h>

#include "core/pserr.h"
#include "net/proxy.h"

static const struct {
	const char *body;
	pserr code;
} plain[] = {
	{ "{\"error\":{\"message\":\"no secret is known for this key ID\","
	  "\"type\":\"invalid_request_error\",\"code\":\"unknown_key\"}}",
	  PS_ERR_UNKNOWN_KEY },
	{ "{\"error\":{\"code\":\"no_key\"}}", PS_ERR_NO_KEY },
	{ " {\"error\" : {\"code\" : \"replayed\", \"message\": \"visit "
	  "http://evil.example\"}}\n", PS_ERR_REPLAYED },
	{ "{\"error\":{\"code\":\"upstream_unavailable\",\"x\":[1]},\"y\":2}",
	  PS_ERR_UPSTREAM },
	{ "{\"error\":{\"code\":\"unsupported_version\"}}", PS_ERR_VERSION },
	{ "{\"error\":{\"code\":\"decrypt_failed\"}}", PS_ERR_DECRYPT },
	/* Not ours, or not the shape: nothing. */
	{ "{\"error\":{\"code\":\"internal_error\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"evil\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"conflict\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"ok\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"no_key\\u0000\"}}", PS_OK },
	{ "{\"error\":{\"code\":\"no\\u005fkey\"}}", PS_OK },
	{ "{\"error\":{\"code\":7}}", PS_OK },
	{ "{\"error\":{\"message\":\"no code\"}}", PS_OK },
	{ "{\"error\":\"no_key\"}", PS_OK },
	{ "{\"code\":\"no_key\"}", PS_OK },
	{ "{\"error\":{\"code\":\"no_key\"}", PS_OK },
	{ "<html>502 Bad Gateway</html>", PS_OK },
	{ "", PS_OK },
	{ "[{\"error\":{\"code\":\"no_key\"}}]", PS_OK },
};

START_TEST(test_plain_error_code)
{
	ck_assert_int_eq(proxy_plain_error_code(plain[_i].body,
	    strlen(plain[_i].body)), plain[_i].code);
}
END_TEST

START_TEST(test_plain_error_limits)
{
	static char big[70000];
	const char *head = "{\"error\":{\"code\":\"no_key\",\"message\":\"";
	size_t n = strlen(head);

	ck_assert_int_eq(proxy_plain_error_code(NULL, 0), PS_OK);
	memcpy(big, head, n);
	memset(big + n, 'a', 65536 - n - 3);
	memcpy(big + 65536 - 3, "\"}}", 3);
	ck_assert_int_eq(proxy_plain_error_code(big, 65536), PS_ERR_NO_KEY);
	memset(big + n, 'a', 65537 - n - 3);
	memcpy(big + 65537 - 3, "\"}}", 3);
	ck_assert_int_eq(proxy_plain_error_code(big, 65537), PS_OK);
}
END_TEST

static const struct {
	const char *ct;
	const char *media;   /* NULL: refused */
} media[] = {
	{ "application/json", "application/json" },
	{ "Application/JSON; charset=utf-8", "application/json" },
	{ "  text/event-stream ;x=1", "text/event-stream" },
	{ "text/html", "text/html" },
	{ "", "" },
	{ "\ttext/plain\t", "text/plain" },
	{ "text/\x01x", NULL },
};

START_TEST(test_media_type)
{
	char out[64];
	int n = proxy_media_type(media[_i].ct, out, sizeof(out));

	if (media[_i].media == NULL) {
		ck_assert_int_eq(n, -1);
		return;
	}
	ck_assert_int_eq(n, (int)strlen(media[_i].media));
	ck_assert_str_eq(out, media[_i].media);
}
END_TEST

START_TEST(test_media_type_fits)
{
	char out[18];

	ck_assert_int_eq(proxy_media_type("text/event-stream", out, 18), 17);
	ck_assert_int_eq(proxy_media_type("text/event-stream", out, 17), -1);
	ck_assert(proxy_is_sse("text/event-stream; charset=utf-8"));
	ck_assert(!proxy_is_sse("text/event-streams"));
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("peer");

	tcase_add_loop_test(tc, test_plain_error_code, 0,
	    (int)(sizeof(plain) / sizeof(plain[0])));
	tcase_add_test(tc, test_plain_error_limits);
	tcase_add_loop_test(tc, test_media_type, 0,
	    (int)(sizeof(media) / sizeof(media[0])));
	tcase_add_test(tc, test_media_type_fits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
