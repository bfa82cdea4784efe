/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/seal/multipart.c (protocol.md section 4, "Multipart
 * bodies").
 *
 * - vectors/multipart.json comes from tests/pswire.py: the strict
 *   parser's verdict on each form (every refusal among them), sealing
 *   its requests must give its wire forms exactly and opening them the
 *   originals back, each tampered wire must fail with the reference's
 *   code releasing nothing, and text replies likewise.
 * - The iterator's parts, every byte of a wire changed, the JSON string
 *   escaping, a buffer cap.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/pserr.h"
#include "seal/envelope.h"
#include "seal/message.h"
#include "seal/message_wire.h"
#include "seal/multipart.h"

#define SENTINEL "sentinel"
#define N_VECTORS 94

static uint8_t SECRET[32], KID[16], NONCE[16], REPLY[16];
static struct json_object *root, *vectors;

static int
nib(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* A heap copy of hex s, exactly *n bytes (reads past it show under
 * AddressSanitizer). */
static char *
unhex(const char *s, size_t *n)
{
	size_t len = strlen(s), i;
	char *p;

	ck_assert_uint_eq(len % 2, 0);
	p = malloc(len / 2 ? len / 2 : 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len / 2; i++) {
		ck_assert(nib(s[2 * i]) >= 0 && nib(s[2 * i + 1]) >= 0);
		p[i] = (char)(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
	}
	*n = len / 2;
	return p;
}

static int
load_fixed(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if (nib(s[2 * i]) < 0 || nib(s[2 * i + 1]) < 0)
			return -1;
		out[i] = (uint8_t)(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
	}
	return 0;
}

static const char *
str(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t
num(struct json_object *o, const char *name)
{
	struct json_object *v;

	ck_assert(json_object_object_get_ex(o, name, &v));
	return json_object_get_int64(v);
}

static pserr
code_of(const char *s)
{
	static const pserr all[] = { PS_ERR_INVALID_JSON,
		PS_ERR_INVALID_ENVELOPE, PS_ERR_PLAINTEXT_MEMBER,
		PS_ERR_DECRYPT, PS_ERR_VERSION, PS_ERR_BAD_QUERY,
		PS_ERR_QUERY_TOO_LONG, PS_ERR_MEDIA_TYPE,
		PS_ERR_INVALID_MULTIPART };
	size_t i;

	if (strcmp(s, "ok") == 0)
		return PS_OK;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(pserr_code(all[i]), s) == 0)
			return all[i];
	ck_abort_msg("unknown code %s", s);
	return PS_OK;
}

static enum message_endpoint
ep_of(const char *path)
{
	enum message_endpoint ep;

	ck_assert_int_eq(message_route("POST", path, strlen(path), &ep), PS_OK);
	return ep;
}

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t secret[ENVELOPE_SECRET_LEN])
{
	int *calls = arg;

	if (calls != NULL)
		(*calls)++;
	if (memcmp(kid, KID, ENVELOPE_KID_LEN) != 0)
		return PS_ERR_UNKNOWN_KEY;
	memcpy(secret, SECRET, ENVELOPE_SECRET_LEN);
	return PS_OK;
}

static void
request_ctx(struct envelope_ctx *c, const char *path, int keyed)
{
	envelope_init(c, ENVELOPE_REQUEST);
	ck_assert_int_eq(envelope_bind_request(c, "POST", path, strlen(path)),
	    PS_OK);
	if (keyed) {
		memcpy(c->kid, KID, sizeof(KID));
		memcpy(c->nonce, NONCE, sizeof(NONCE));
		ck_assert_int_eq(envelope_derive(c, SECRET), PS_OK);
	}
}

static void
reply_ctx(struct envelope_ctx *c, int status, const char *media, int keyed)
{
	envelope_init(c, ENVELOPE_RESPONSE);
	memcpy(c->kid, KID, sizeof(KID));
	memcpy(c->nonce, NONCE, sizeof(NONCE));
	ck_assert_int_eq(envelope_bind_reply(c, status, media, strlen(media)),
	    PS_OK);
	if (keyed) {
		memcpy(c->reply, REPLY, sizeof(REPLY));
		ck_assert_int_eq(envelope_derive(c, SECRET), PS_OK);
	}
}

/* ------------------------------------------------------------ vectors */

START_TEST(test_vectors_count)
{
	ck_assert_int_eq((int)json_object_array_length(vectors), N_VECTORS);
}
END_TEST

static void
check_form(struct json_object *v, const char *comment)
{
	enum message_endpoint ep = ep_of(str(v, "path"));
	size_t ctn, bn, pn, elen;
	char *ct = unhex(str(v, "ct"), &ctn), *b = unhex(str(v, "body"), &bn);
	pserr want = code_of(str(v, "check")), rc;
	struct envelope_ctx c;
	struct buf out;

	rc = multipart_check(ep, ct, ctn, b, bn);
	ck_assert_msg(rc == want, "%s: %s, want %s", comment, pserr_code(rc),
	    str(v, "check"));
	request_ctx(&c, str(v, "path"), 1);
	buf_init(&out, 1u << 20);
	ck_assert_int_eq(buf_append(&out, SENTINEL, strlen(SENTINEL)), PS_OK);
	rc = multipart_seal_request(ep, &c, 1, "", 0, ct, ctn, b, bn, 0, &out);
	ck_assert_msg(rc == want, "%s: sealing says %s", comment,
	    pserr_code(rc));
	if (want == PS_OK) {
		/* The plain copies, as the reference writes them. */
		char *plain = unhex(str(v, "plain"), &pn);

		elen = envelope_text_len(ENVELOPE_REQUEST, 10 + 2 + ctn + bn, 0);
		ck_assert_uint_eq(out.len, strlen(SENTINEL) + pn + elen + 2);
		ck_assert_msg(memcmp(out.p + strlen(SENTINEL), plain, pn) == 0,
		    "%s: plain copies differ", comment);
		free(plain);
	} else {
		ck_assert_uint_eq(out.len, strlen(SENTINEL));
	}
	buf_free(&out);
	envelope_wipe(&c);
	free(ct);
	free(b);
}

static void
check_request(struct json_object *v, const char *comment)
{
	const char *path = str(v, "path"), *seal = str(v, "seal");
	enum message_endpoint ep = ep_of(path);
	size_t ctn, bn, qn, wn;
	char *ct = unhex(str(v, "ct"), &ctn), *b = unhex(str(v, "body"), &bn);
	char *q = unhex(str(v, "query"), &qn), *wire = unhex(str(v, "wire"), &wn);
	pserr want = code_of(str(v, "open")), rc;
	struct multipart_request r;
	struct envelope_ctx c;
	struct buf out;
	int calls = 0;

	if (seal != NULL) {
		request_ctx(&c, path, 1);
		buf_init(&out, 1u << 20);
		rc = multipart_seal_request(ep, &c, (uint64_t)num(v, "ts"), q, qn,
		    ct, ctn, b, bn, (size_t)num(v, "bucket"), &out);
		ck_assert_msg(rc == code_of(seal), "%s: sealing says %s",
		    comment, pserr_code(rc));
		if (rc == PS_OK) {
			ck_assert_uint_eq(out.len, wn);
			ck_assert_msg(memcmp(out.p, wire, wn) == 0,
			    "%s: sealed wire differs", comment);
		}
		buf_free(&out);
		envelope_wipe(&c);
	}
	if (wn > 0 || want != PS_OK) {
		request_ctx(&c, path, 0);
		buf_init(&out, 1u << 20);
		ck_assert_int_eq(buf_append(&out, SENTINEL, strlen(SENTINEL)), PS_OK);
		memset(&r, 0, sizeof(r));
		rc = multipart_open_request(ep, &c, lookup, &calls, wire, wn, &out,
		    &r);
		ck_assert_msg(rc == want, "%s: opening says %s, want %s",
		    comment, pserr_code(rc), str(v, "open"));
		if (rc == PS_OK) {
			ck_assert(c.keyed);
			ck_assert_uint_eq(r.ts, (uint64_t)num(v, "ts"));
			ck_assert_uint_eq(r.qlen, qn);
			ck_assert(qn == 0 || memcmp(r.query, q, qn) == 0);
			ck_assert_uint_eq(r.ctlen, ctn);
			ck_assert(memcmp(r.ct, ct, ctn) == 0);
			ck_assert_uint_eq(r.len, bn);
			ck_assert(memcmp(r.body, b, bn) == 0);
		} else {
			/* Nothing released, no key kept. */
			ck_assert_uint_eq(out.len, strlen(SENTINEL));
			ck_assert(!c.keyed);
		}
		ck_assert_int_le(calls, 1);
		buf_free(&out);
		envelope_wipe(&c);
	}
	free(ct);
	free(b);
	free(q);
	free(wire);
}

static void
check_text(struct json_object *v, const char *comment)
{
	const char *media = str(v, "media");
	int status = (int)num(v, "status");
	size_t bn, wn;
	char *b = unhex(str(v, "body"), &bn), *wire = unhex(str(v, "wire"), &wn);
	pserr want = code_of(str(v, "open")), rc;
	struct envelope_ctx c;
	struct buf out;

	reply_ctx(&c, status, media, 0);
	buf_init(&out, 1u << 20);
	ck_assert_int_eq(buf_append(&out, SENTINEL, strlen(SENTINEL)), PS_OK);
	rc = multipart_open_text_reply(&c, lookup, NULL, wire, wn, &out);
	ck_assert_msg(rc == want, "%s: opening says %s", comment,
	    pserr_code(rc));
	if (rc == PS_OK) {
		ck_assert_uint_eq(out.len, strlen(SENTINEL) + bn);
		ck_assert(memcmp(out.p + strlen(SENTINEL), b, bn) == 0);
		envelope_wipe(&c);
		/* And sealing gives the same wire. */
		reply_ctx(&c, status, media, 1);
		buf_reset(&out);
		ck_assert_int_eq(multipart_seal_text_reply(&c, b, bn, 0, &out),
		    PS_OK);
		ck_assert_uint_eq(out.len, wn);
		ck_assert(memcmp(out.p, wire, wn) == 0);
	} else {
		ck_assert_uint_eq(out.len, strlen(SENTINEL));
		ck_assert(!c.keyed);
	}
	buf_free(&out);
	envelope_wipe(&c);
	free(b);
	free(wire);
}

START_TEST(test_vectors)
{
	struct json_object *v = json_object_array_get_idx(vectors, (size_t)_i);
	const char *kind = str(v, "kind"), *comment = str(v, "comment");

	if (strcmp(kind, "form") == 0)
		check_form(v, comment);
	else if (strcmp(kind, "request") == 0)
		check_request(v, comment);
	else if (strcmp(kind, "text") == 0)
		check_text(v, comment);
	else
		ck_abort_msg("unknown kind %s", kind);
}
END_TEST

/* ------------------------------------------------------------ parser */

#define B "XyZ"
#define CT "multipart/form-data; boundary=" B

START_TEST(test_iterator)
{
	static const char body[] = "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"file\"; filename=\"a b.wav\"\r\n"
	    "Content-Type: audio/wav\r\n\r\n"
	    "RIFF\r\n--X\r\n" "\r\n--" B "\r\n"
	    "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
	    "whisper-1\r\n--" B "--";
	struct multipart_iter it;
	struct multipart_part p;
	int more;

	ck_assert_int_eq(multipart_begin(&it, CT, strlen(CT), body,
	    sizeof(body) - 1), PS_OK);
	ck_assert_int_eq(multipart_next(&it, &p, &more), PS_OK);
	ck_assert(more);
	ck_assert_uint_eq(p.name_len, 4);
	ck_assert(memcmp(p.name, "file", 4) == 0);
	ck_assert_ptr_nonnull(p.filename);
	ck_assert_uint_eq(p.filename_len, 7);
	ck_assert(memcmp(p.filename, "a b.wav", 7) == 0);
	ck_assert_uint_eq(p.value_len, 11);
	ck_assert(memcmp(p.value, "RIFF\r\n--X\r\n", 11) == 0);
	ck_assert_int_eq(multipart_next(&it, &p, &more), PS_OK);
	ck_assert(more);
	ck_assert_ptr_null(p.filename);
	ck_assert_uint_eq(p.value_len, 9);
	ck_assert_int_eq(multipart_next(&it, &p, &more), PS_OK);
	ck_assert(!more);
	ck_assert_int_eq(multipart_next(&it, &p, &more), PS_OK);
	ck_assert(!more);
}
END_TEST

/* Every cut of a good body is refused, never read past. */
START_TEST(test_every_cut)
{
	static const char good[] = "--" B "\r\n"
	    "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
	    "m\r\n--" B "--\r\n";
	size_t n;

	for (n = 0; n < sizeof(good) - 1; n++) {
		char *p = malloc(n ? n : 1);
		pserr rc;

		memcpy(p, good, n);
		rc = multipart_check(MESSAGE_TRANSCRIPTIONS, CT, strlen(CT), p, n);
		/* Only the cut of the final CRLF is still a form. */
		ck_assert_int_eq(rc, n == sizeof(good) - 3 ? PS_OK :
		    PS_ERR_INVALID_MULTIPART);
		free(p);
	}
	ck_assert_int_eq(multipart_check(MESSAGE_TRANSCRIPTIONS, CT, strlen(CT),
	    good, sizeof(good) - 1), PS_OK);
}
END_TEST

START_TEST(test_boundary)
{
	const char *b;
	size_t n;

	ck_assert_int_eq(multipart_boundary(CT, strlen(CT), &b, &n), PS_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(b, B, 3) == 0);
	ck_assert_int_eq(multipart_boundary(NULL, 0, &b, &n), PS_ERR_MEDIA_TYPE);
	ck_assert_int_eq(multipart_boundary("", 0, &b, &n), PS_ERR_MEDIA_TYPE);
	ck_assert_int_eq(multipart_boundary("multipart/form-dataX; boundary=a",
	    32, &b, &n), PS_ERR_MEDIA_TYPE);
	ck_assert_int_eq(multipart_boundary("multipart/form-data;boundary", 28,
	    &b, &n), PS_ERR_INVALID_MULTIPART);
	ck_assert_int_eq(multipart_boundary("multipart/form-data; boundary=a;",
	    32, &b, &n), PS_ERR_INVALID_MULTIPART);
}
END_TEST

START_TEST(test_json_string)
{
	static const char v[] = "a\"b\\c\x01\x1f\x7f\xc3\xbc";
	static const char want[] = "\"a\\\"b\\\\c\\u0001\\u001f\x7f\xc3\xbc\"";
	struct buf out;

	buf_init(&out, 1024);
	ck_assert_int_eq(multipart_json_string(v, sizeof(v) - 1, &out), PS_OK);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert(memcmp(out.p, want, out.len) == 0);
	buf_free(&out);
}
END_TEST

/* ------------------------------------------------------------ wire */

static const char FORM[] = "--" B "\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"x.wav\"\r\n\r\n"
    "RIFFdata\r\n--" B "\r\n"
    "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
    "whisper-1\r\n--" B "--\r\n";

/* Any byte of a wire changed: refused, nothing released. */
START_TEST(test_every_byte)
{
	struct envelope_ctx c;
	struct multipart_request r;
	struct buf wire, out;
	size_t i;

	request_ctx(&c, "/v1/audio/transcriptions", 1);
	buf_init(&wire, 1u << 20);
	ck_assert_int_eq(multipart_seal_request(MESSAGE_TRANSCRIPTIONS, &c, 5,
	    "q=1", 3, CT, strlen(CT), FORM, sizeof(FORM) - 1, 0, &wire), PS_OK);
	envelope_wipe(&c);
	buf_init(&out, 1u << 20);
	for (i = 0; i < wire.len; i++) {
		char save = wire.p[i];
		pserr rc;

		wire.p[i] = save == 'A' ? 'B' : 'A';
		request_ctx(&c, "/v1/audio/transcriptions", 0);
		rc = multipart_open_request(MESSAGE_TRANSCRIPTIONS, &c, lookup,
		    NULL, wire.p, wire.len, &out, &r);
		ck_assert_msg(rc != PS_OK, "byte %zu changed, still opens", i);
		ck_assert_uint_eq(out.len, 0);
		envelope_wipe(&c);
		wire.p[i] = save;
	}
	/* A byte of the ciphertext that is not base64url: invalid_envelope
	 * under the kid the lookup knows and under one it does not (a hex
	 * digit of the kid changed: the form comes before the key), with
	 * the kid looked up once either way. */
	for (i = 0; i < 2; i++) {
		const char *env;
		size_t envlen, plen, at = wire.len - 10;
		char save = wire.p[at], kid0;
		int calls = 0;

		ck_assert(message_locate(wire.p, wire.len, &env, &envlen,
		    &plen));
		kid0 = wire.p[plen + 4];
		wire.p[at] = '*';
		if (i == 1)
			wire.p[plen + 4] = kid0 == '0' ? '1' : '0';
		request_ctx(&c, "/v1/audio/transcriptions", 0);
		ck_assert_int_eq(multipart_open_request(MESSAGE_TRANSCRIPTIONS,
		    &c, lookup, &calls, wire.p, wire.len, &out, &r),
		    PS_ERR_INVALID_ENVELOPE);
		ck_assert_int_eq(calls, 1);
		ck_assert_uint_eq(out.len, 0);
		envelope_wipe(&c);
		wire.p[at] = save;
		wire.p[plen + 4] = kid0;
	}
	request_ctx(&c, "/v1/audio/transcriptions", 0);
	ck_assert_int_eq(multipart_open_request(MESSAGE_TRANSCRIPTIONS, &c,
	    lookup, NULL, wire.p, wire.len, &out, &r), PS_OK);
	ck_assert_uint_eq(r.ts, 5);
	ck_assert_uint_eq(r.len, sizeof(FORM) - 1);
	/* Another endpoint's bind: the path is authenticated. */
	envelope_wipe(&c);
	buf_reset(&out);
	request_ctx(&c, "/v1/audio/translations", 0);
	ck_assert_int_eq(multipart_open_request(MESSAGE_TRANSLATIONS, &c,
	    lookup, NULL, wire.p, wire.len, &out, &r), PS_ERR_DECRYPT);
	/* Not a multipart endpoint; and the JSON wire form is not theirs. */
	ck_assert_int_eq(multipart_open_request(MESSAGE_CHAT, &c, lookup, NULL,
	    wire.p, wire.len, &out, &r), PS_ERR_ARG);
	{
		struct message_request mr;

		ck_assert_int_eq(message_open_request(MESSAGE_TRANSCRIPTIONS, &c,
		    lookup, NULL, wire.p, wire.len, &out, &mr), PS_ERR_ARG);
		request_ctx(&c, "/v1/audio/transcriptions", 1);
		ck_assert_int_eq(message_seal_request(MESSAGE_TRANSCRIPTIONS, &c,
		    5, "", 0, "{}", 2, 0, &out), PS_ERR_ARG);
		ck_assert_uint_eq(out.len, 0);
	}
	envelope_wipe(&c);
	buf_free(&wire);
	buf_free(&out);
}
END_TEST

START_TEST(test_out_cap)
{
	struct envelope_ctx c;
	struct buf out;

	request_ctx(&c, "/v1/audio/transcriptions", 1);
	buf_init(&out, 100);
	ck_assert_int_eq(buf_append(&out, SENTINEL, strlen(SENTINEL)), PS_OK);
	ck_assert_int_eq(multipart_seal_request(MESSAGE_TRANSCRIPTIONS, &c, 5,
	    "", 0, CT, strlen(CT), FORM, sizeof(FORM) - 1, 0, &out),
	    PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, strlen(SENTINEL));
	ck_assert_int_eq(multipart_seal_request(MESSAGE_TRANSCRIPTIONS, &c, 5,
	    "a b", 3, CT, strlen(CT), FORM, sizeof(FORM) - 1, 0, &out),
	    PS_ERR_BAD_QUERY);
	buf_free(&out);
	envelope_wipe(&c);
}
END_TEST

static Suite *
multipart_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("vectors");

	tcase_add_test(tc, test_vectors_count);
	tcase_add_loop_test(tc, test_vectors, 0, N_VECTORS);
	suite_add_tcase(s, tc);
	tc = tcase_create("parser");
	tcase_add_test(tc, test_iterator);
	tcase_add_test(tc, test_every_cut);
	tcase_add_test(tc, test_boundary);
	tcase_add_test(tc, test_json_string);
	suite_add_tcase(s, tc);
	tc = tcase_create("wire");
	tcase_add_test(tc, test_every_byte);
	tcase_add_test(tc, test_out_cap);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	root = json_object_from_file(TEST_SRCDIR "/vectors/multipart.json");
	if (root == NULL || !json_object_object_get_ex(root, "vectors",
	    &vectors)) {
		fprintf(stderr, "cannot read vectors/multipart.json\n");
		return 99;
	}
	if (load_fixed(str(root, "secret"), SECRET, 32) != 0 ||
	    load_fixed(str(root, "kid"), KID, 16) != 0 ||
	    load_fixed(str(root, "nonce"), NONCE, 16) != 0 ||
	    load_fixed(str(root, "reply"), REPLY, 16) != 0) {
		fprintf(stderr, "vectors/multipart.json: bad fixture\n");
		return 99;
	}
	sr = srunner_create(multipart_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_object_put(root);
	return failed == 0 ? 0 : 1;
}
