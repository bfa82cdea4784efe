/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/asclient/asclient_parse.c: the AS's replies read
 * strictly, and outputs left alone when a reply is refused.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <check.h>

#include "asclient/asclient_parse.h"
#include "core/caps.h"

#define CH32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"   /* 0..31 */

static pserr
challenge(const char *s, uint8_t ch[32], int64_t *exp)
{
	return asclient_parse_challenge(s, strlen(s), ch, exp);
}

START_TEST(test_challenge)
{
	uint8_t ch[32];
	int64_t exp = 0;
	int i;

	ck_assert_int_eq(challenge(" {\"challenge\":\"" CH32 "\",\"expires\":"
	    "1893456000}\n", ch, &exp), PS_OK);
	ck_assert_int_eq(exp, 1893456000);
	for (i = 0; i < 32; i++)
		ck_assert_uint_eq(ch[i], i);
}
END_TEST

/* What json-c alone would take, and a strict reader refuses. */
static const char *const not_strict[] = {
	"{\"challenge\":\"" CH32 "\",\"expires\":1} trailing",
	"{\"challenge\":\"" CH32 "\",\"expires\":1}{}",
	"{\"challenge\":\"" CH32 "\",\"expires\":1,}",
	"{\"challenge\":\"" CH32 "\",/* c */\"expires\":1}",
	"{'challenge':'" CH32 "',\"expires\":1}",
	"{\"challenge\":\"" CH32 "\",\"expires\":01}",
	"{\"challenge\":\"" CH32 "\",\"expires\":1,\"x\":\"\xc0\xaf\"}",
	"{\"challenge\":\"" CH32 "\",\"expires\":1,\"x\":\"\xed\xa0\x80\"}",
	"{\"challenge\":\"" CH32 "\",\"expires\":1,\"x\":\"\xf4\x90\x80\x80\"}",
	"{\"challenge\":\"" CH32 "\",\"expires\":1,\"x\":\"\xe2\x82\"}",
	"[\"challenge\"]",
	"",
	/* and what is JSON but not a challenge */
	"{\"challenge\":\"" CH32 "\"}",
	"{\"challenge\":\"" CH32 "\",\"expires\":\"1\"}",
	"{\"challenge\":\"" CH32 "AA\",\"expires\":1}",
	"{\"challenge\":\"" CH32 "=\",\"expires\":1}",
	"{\"challenge\":1,\"expires\":1}",
};

START_TEST(test_refused_leaves_outputs)
{
	uint8_t ch[32], want[32];
	int64_t exp = 42;

	memset(ch, 0xa5, sizeof(ch));
	memset(want, 0xa5, sizeof(want));
	ck_assert_int_eq(challenge(not_strict[_i], ch, &exp),
	    PS_ERR_BAD_UPSTREAM);
	ck_assert_mem_eq(ch, want, sizeof(ch));
	ck_assert_int_eq(exp, 42);
}
END_TEST

START_TEST(test_nul_inside)
{
	static const char s[] = "{\"expires\":1}\0{\"expires\":2}";
	int64_t exp = 42;

	ck_assert_int_eq(asclient_parse_upload(s, sizeof(s) - 1, &exp),
	    PS_ERR_BAD_UPSTREAM);
	ck_assert_int_eq(asclient_parse_upload(s, 13, &exp), PS_OK);
	ck_assert_int_eq(exp, 1);
}
END_TEST

START_TEST(test_keys)
{
	struct buf out;

	buf_init(&out, PS_CAP_AS_REPLY);
	ck_assert_int_eq(buf_append(&out, "ab", 2), PS_OK);
	ck_assert_int_eq(asclient_parse_keys("{\"keys\":\"Zm9v\"}", 15, 128,
	    &out), PS_OK);
	ck_assert_uint_eq(out.len, 5);
	ck_assert_mem_eq(out.p, "abfoo", 5);
	/* over max, not base64url, missing: out as it was */
	ck_assert_int_eq(asclient_parse_keys("{\"keys\":\"Zm9v\"}", 15, 2,
	    &out), PS_ERR_BAD_UPSTREAM);
	ck_assert_int_eq(asclient_parse_keys("{\"keys\":\"Zm9v=\"}", 16, 128,
	    &out), PS_ERR_BAD_UPSTREAM);
	ck_assert_int_eq(asclient_parse_keys("{\"key\":\"Zm9v\"}", 14, 128,
	    &out), PS_ERR_BAD_UPSTREAM);
	ck_assert_uint_eq(out.len, 5);
	ck_assert_mem_eq(out.p, "abfoo", 5);
	buf_free(&out);
}
END_TEST

#define PUB "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"  /* 1..32 */
#define KEY "abababababababababababababababababababababababababababababababab"
#define M32 "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"
#define M48 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

START_TEST(test_attest)
{
	static const char ok[] = "{\"format\":\"sim\",\"pubkey\":\"" PUB "\","
	    "\"evidence\":\"ZXZp\",\"policy\":{\"platform_keys\":[\"" KEY "\"],"
	    "\"worker_measurements\":[\"" M48 "\"],\"peer_measurements\":"
	    "[\"" M48 "\"," "\"" M32 "\"]}}";
	static const char bad[] = "{\"format\":\"sim\",\"pubkey\":\"" PUB "\","
	    "\"evidence\":\"ZXZp\",\"policy\":{\"platform_keys\":[\"" KEY "\"],"
	    "\"worker_measurements\":[\"cd\"],\"peer_measurements\":[]}}";
	/* A revision 2 AS: its policy says nothing of who may join. */
	static const char old[] = "{\"format\":\"sim\",\"pubkey\":\"" PUB "\","
	    "\"evidence\":\"ZXZp\",\"policy\":{\"platform_keys\":[\"" KEY "\"],"
	    "\"worker_measurements\":[\"" M48 "\"]}}";
	char format[ASCLIENT_FORMAT_MAX + 1] = "old";
	uint8_t pub[32];
	struct aspolicy asp;
	struct buf ev;

	aspolicy_init(&asp);
	buf_init(&ev, PS_CAP_EVIDENCE);
	ck_assert_int_eq(asclient_parse_attest(bad, sizeof(bad) - 1, format,
	    pub, &ev, &asp), PS_ERR_BAD_UPSTREAM);
	ck_assert_int_eq(asclient_parse_attest(old, sizeof(old) - 1, format,
	    pub, &ev, &asp), PS_ERR_BAD_UPSTREAM);
	ck_assert_str_eq(format, "old");
	ck_assert_uint_eq(asp.nkeys, 0);
	ck_assert_uint_eq(asp.workers.n, 0);
	ck_assert_int_eq(asclient_parse_attest(ok, sizeof(ok) - 1, format,
	    pub, &ev, &asp), PS_OK);
	ck_assert_str_eq(format, "sim");
	ck_assert_uint_eq(pub[0], 1);
	ck_assert_uint_eq(pub[31], 32);
	ck_assert_uint_eq(ev.len, 3);
	ck_assert_mem_eq(ev.p, "evi", 3);
	ck_assert_uint_eq(asp.nkeys, 1);
	ck_assert_uint_eq(asp.workers.n, 1);
	ck_assert_uint_eq(asp.peers.n, 2);
	ck_assert_uint_eq(asp.peers.m[1].len, 32);
	aspolicy_free(&asp);
	buf_free(&ev);
}
END_TEST

START_TEST(test_join)
{
	static const char ok[] = "{\"count\":1,\"keys\":\"Zm9v\","
	    "\"format\":\"sim\",\"evidence\":\"ZXZp\"}";
	static const char *const bad[] = {
		"{\"count\":1,\"keys\":\"Zm9v\"}",     /* an old peer */
		"{\"keys\":\"Zm9v\",\"evidence\":\"ZXZp\"}",
		"{\"keys\":\"Zm9v\",\"format\":\"\",\"evidence\":\"ZXZp\"}",
		"{\"keys\":\"Zm9v\",\"format\":\"sim\",\"evidence\":\"ZX=p\"}",
		"{\"keys\":7,\"format\":\"sim\",\"evidence\":\"ZXZp\"}",
		"{\"format\":\"sim\",\"evidence\":\"ZXZp\"}",
	};
	char format[ASCLIENT_FORMAT_MAX + 1] = "old";
	struct buf out, ev;
	size_t i;

	buf_init(&out, 256);
	buf_init(&ev, PS_CAP_EVIDENCE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(asclient_parse_join(bad[i], strlen(bad[i]), 128,
		    &out, format, &ev) == PS_ERR_BAD_UPSTREAM, "%s", bad[i]);
		ck_assert_uint_eq(out.len, 0);
		ck_assert_str_eq(format, "old");
	}
	ck_assert_int_eq(asclient_parse_join(ok, sizeof(ok) - 1, 2, &out,
	    format, &ev), PS_ERR_BAD_UPSTREAM);
	ck_assert_int_eq(asclient_parse_join(ok, sizeof(ok) - 1, 128, &out,
	    format, &ev), PS_OK);
	ck_assert_uint_eq(out.len, 3);
	ck_assert_mem_eq(out.p, "foo", 3);
	ck_assert_str_eq(format, "sim");
	ck_assert_uint_eq(ev.len, 3);
	ck_assert_mem_eq(ev.p, "evi", 3);
	buf_free(&out);
	buf_free(&ev);
}
END_TEST

START_TEST(test_error_text)
{
	static const char s[] = "{\"error\":{\"message\":\"no \\u00e9\\n\","
	    "\"type\":\"auth\",\"code\":\"bad_token\"}}";
	char out[64] = "HTTP 401";
	char tiny[12] = "HTTP 401";

	asclient_parse_error(s, sizeof(s) - 1, out, sizeof(out));
	/* The peer's words, printable ASCII only. */
	ck_assert_str_eq(out, "HTTP 401 bad_token: no ???");
	asclient_parse_error(s, sizeof(s) - 1, tiny, sizeof(tiny));
	ck_assert_str_eq(tiny, "HTTP 401 ba");
	strcpy(out, "HTTP 401");
	asclient_parse_error("<html>", 6, out, sizeof(out));
	ck_assert_str_eq(out, "HTTP 401");
}
END_TEST

static Suite *
asclient_parse_suite(void)
{
	Suite *s = suite_create("asclient_parse");
	TCase *tc = tcase_create("replies");

	tcase_add_test(tc, test_challenge);
	tcase_add_loop_test(tc, test_refused_leaves_outputs, 0,
	    sizeof(not_strict) / sizeof(not_strict[0]));
	tcase_add_test(tc, test_nul_inside);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_attest);
	tcase_add_test(tc, test_join);
	tcase_add_test(tc, test_error_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(asclient_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
