/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "as/asapi.h"
#include "as/asreply.h"
#include "as/asstore.h"
#include "attest/aspolicy.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "attest/release.h"
#include "attest/wrap.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/secret.h"
#include "testutil.h"

#define TOKEN "test-token-0123456789"
#define AUTH "Bearer " TOKEN
#define NOW 1700000000
#define KID "00112233445566778899aabbccddeeff"
/* base64 of the bytes 0x00..0x1f */
#define SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static struct tu_as as;
static struct asreply rep;

static void
setup(void)
{
	tu_as_setup(&as, TOKEN);
	asreply_init(&rep);
}

static void
teardown(void)
{
	asreply_free(&rep);
	tu_as_teardown(&as);
}

static int
call(const char *method, const char *uri, const char *auth, const char *ct,
    const char *body, int64_t now)
{
	struct asapi_request q = {method, uri, auth, ct, body,
	    body ? strlen(body) : 0};

	asapi_handle(&as.cfg, as.store, &q, now, &rep);
	return rep.status;
}

static const char *
body(void)
{
	const char *s = buf_cstr(&rep.body);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* The "code" of an error reply. */
static const char *
code(void)
{
	static char out[64];
	json_object *o = json_tokener_parse(body()), *e, *c;

	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "error", &e));
	ck_assert(json_object_object_get_ex(e, "code", &c));
	snprintf(out, sizeof(out), "%s", json_object_get_string(c));
	json_object_put(o);
	return out;
}

static const char *
message(void)
{
	static char out[256];
	json_object *o = json_tokener_parse(body()), *e, *c;

	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "error", &e));
	ck_assert(json_object_object_get_ex(e, "message", &c));
	snprintf(out, sizeof(out), "%s", json_object_get_string(c));
	json_object_put(o);
	return out;
}

/* The body of an upload of kid (hex) and secret (base64) until expires,
 * sealed to the AS's key as a client seals it. */
static const char *
sealed_body(const char *kid, const char *secret, int64_t expires)
{
	static char b[512];
	uint8_t k[16], sec[32];
	size_t got;

	ck_assert_int_eq(codec_hex_decode(kid, 32, k, 16), PS_OK);
	ck_assert_int_eq(codec_b64_decode(secret, strlen(secret), sec, 32,
	    &got), PS_OK);
	tu_as_upload_body(&as, k, sec, expires, b, sizeof(b));
	return b;
}

static int
upload(const char *kid, const char *secret, int64_t ttl, int64_t now)
{
	return call("POST", "/as/v1/secrets", AUTH, "application/json",
	    sealed_body(kid, secret, now + ttl), now);
}

START_TEST(routing)
{
	ck_assert_int_eq(call("POST", "/as/v1/nothing", NULL, NULL, "", NOW),
	    404);
	ck_assert_str_eq(code(), "unknown_endpoint");
	ck_assert_int_eq(call("POST", "/as/v1/secretsX", NULL, NULL, "", NOW),
	    404);
	ck_assert_int_eq(call("POST", "/v1/secrets", NULL, NULL, "", NOW), 404);
	ck_assert_int_eq(call("POST", "/asv1/secrets", NULL, NULL, "", NOW),
	    404);
	ck_assert_int_eq(call("POST", NULL, NULL, NULL, "", NOW), 404);
	ck_assert_int_eq(call("GET", "/as/v1/secrets", AUTH, NULL, "", NOW),
	    405);
	ck_assert_str_eq(code(), "method_not_allowed");
	ck_assert_ptr_nonnull(strstr(rep.headers, "Allow: POST\r\n"));
	ck_assert_int_eq(call("PUT", "/as/v1/fetch", NULL, NULL, "", NOW), 405);
	ck_assert_int_eq(call(NULL, "/as/v1/challenge", NULL, NULL, "", NOW),
	    405);
	/* A query string does not change the route. */
	ck_assert_int_eq(call("POST", "/as/v1/challenge?x=1", NULL, NULL, "",
	    NOW), 200);
}
END_TEST

/* One reply serves a thread's every request: the header lines of one
 * answer must not stay for the next. */
START_TEST(headers_per_request)
{
	ck_assert_int_eq(call("POST", "/as/v1/secrets", NULL,
	    "application/json", "{}", NOW), 401);
	ck_assert_ptr_nonnull(strstr(rep.headers, "WWW-Authenticate: Bearer"));
	ck_assert_int_eq(call("POST", "/as/v1/challenge", NULL, NULL, "", NOW),
	    200);
	ck_assert_str_eq(rep.headers, "Cache-Control: no-store\r\n");
	ck_assert_int_eq(call("GET", "/as/v1/challenge", NULL, NULL, "", NOW),
	    405);
	ck_assert_ptr_nonnull(strstr(rep.headers, "Allow: POST\r\n"));
	ck_assert_int_eq(upload(KID, SECRET, 60, NOW), 201);
	ck_assert_str_eq(rep.headers, "Cache-Control: no-store\r\n");
}
END_TEST

START_TEST(upload_ok_then_conflict)
{
	ck_assert_int_eq(upload(KID, SECRET, 3600, NOW), 201);
	ck_assert_str_eq(body(), "{\"kid\":\"" KID "\",\"expires\":1700003600}");
	ck_assert_ptr_nonnull(strstr(rep.headers, "Cache-Control: no-store"));
	ck_assert_int_eq(upload(KID, SECRET, 3600, NOW + 1), 409);
	ck_assert_str_eq(code(), "kid_exists");
	/* Another secret for the kid: refused as well. */
	ck_assert_int_eq(upload(KID, "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	    3600, NOW + 1), 409);
	/* Once expired, the kid is free. */
	ck_assert_int_eq(upload(KID, SECRET, 10, NOW + 3600), 201);
}
END_TEST

START_TEST(upload_auth)
{
	char b[512];

	snprintf(b, sizeof(b), "%s", sealed_body(KID, SECRET, NOW + 60));
	ck_assert_int_eq(call("POST", "/as/v1/secrets", NULL,
	    "application/json", b, NOW), 401);
	ck_assert_str_eq(code(), "unauthorized");
	ck_assert_ptr_nonnull(strstr(rep.headers, "WWW-Authenticate: Bearer"));
	ck_assert_int_eq(call("POST", "/as/v1/secrets", "Bearer " TOKEN "x",
	    "application/json", b, NOW), 401);
	ck_assert_int_eq(call("POST", "/as/v1/secrets", "Basic " TOKEN,
	    "application/json", b, NOW), 401);
	/* Nothing was stored by the refused calls. */
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json; charset=utf-8", b, NOW), 201);
}
END_TEST

START_TEST(upload_malformed)
{
	const char *bad[] = {
		"",
		"[]",
		"{",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\"}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":60} x",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":60.5}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":\"60\"}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":0}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":86401}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":-5}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET
		    "\",\"expires\":99999999999999999999}",
		"{\"kid\":\"" KID "\",\"kid\":\"" KID "\",\"secret\":\"" SECRET
		    "\",\"expires\":60}",
		"{\"kid\":\"00112233445566778899AABBCCDDEEFF\",\"secret\":\""
		    SECRET "\",\"expires\":60}",
		"{\"kid\":\"0011223344556677\",\"secret\":\"" SECRET
		    "\",\"expires\":60}",
		"{\"kid\":\"" KID "\",\"secret\":\"AAECAwQFBgcICQoLDA0ODxAREhMU"
		    "FRYXGBkaGxwdHh8\",\"expires\":60}",
		"{\"kid\":\"" KID "\",\"secret\":\"AAECAwQFBgcICQoLDA0ODxAREhMU"
		    "FRYXGBkaGxwdHg==\",\"expires\":60}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":60,"
		    "\"extra\":{\"nested\":1}}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":60,}",
		"{\"kid\":\"" KID "\"\"secret\":\"" SECRET "\",\"expires\":60}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":060}",
		"{\"kid\":\"" KID "\",\"secret\":\"" SECRET "\",\"expires\":60,"
		    "\"x\":\"\\ud800\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(call("POST", "/as/v1/secrets", AUTH,
		    "application/json", bad[i], NOW) == 400, "case %zu: %d",
		    i, rep.status);
		ck_assert_str_eq(code(), "invalid_request");
	}
	ck_assert_int_eq(upload(KID, SECRET, 0, NOW), 400);
	ck_assert_str_eq(message(), "expires must be later than now (Unix "
	    "seconds)");
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH, "text/plain",
	    "{}", NOW), 415);
	ck_assert_str_eq(code(), "unsupported_media_type");
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/jsonx", "{}", NOW), 415);
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH, NULL, "{}", NOW),
	    415);
	/* None of them stored anything. */
	ck_assert_int_eq(upload(KID, SECRET, 60, NOW), 201);
}
END_TEST

START_TEST(upload_json_forms)
{
	/* Escapes, unknown members, blanks. */
	char b[768];
	const char *sb = sealed_body(KID,
	    "//////////////////////////////////////////8=", NOW + 60);
	struct keycache_entry *l = NULL;
	size_t n;

	ck_assert_int_eq(strncmp(sb, "{\"kid\"", 6), 0);
	snprintf(b, sizeof(b), " {\n\t\"note\" : \"caf\\u00e9 "
	    "\\ud83d\\ude00\", \"n\": -1.5e3, \"t\": true, \"z\": null, "
	    "\"k\\u0069d\"%s\n", sb + 6);

	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json", b, NOW), 201);
	ck_assert_int_eq(asstore_list(as.store, NOW, &l, &n), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(l[0].secret[0], 0xff);
	ck_assert_uint_eq(l[0].secret[31], 0xff);
	ck_assert_int_eq(l[0].expires, NOW + 60);
	keyfile_entries_free(l, n);
}
END_TEST

/* A challenge from the API, decoded. */
static void
get_challenge(uint8_t ch[32], int64_t now)
{
	json_object *o, *c, *e;
	size_t got;

	ck_assert_int_eq(call("POST", "/as/v1/challenge", NULL, NULL, NULL,
	    now), 200);
	o = json_tokener_parse(body());
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "challenge", &c));
	ck_assert(json_object_object_get_ex(o, "expires", &e));
	ck_assert_int_eq(json_object_get_int64(e), now + 60);
	ck_assert_uint_eq(strlen(json_object_get_string(c)), 43);
	ck_assert_int_eq(codec_b64url_decode(json_object_get_string(c), 43, ch,
	    32, &got), PS_OK);
	ck_assert_uint_eq(got, 32);
	json_object_put(o);
}

/* The body of a fetch with evidence from platform key pk claiming m. */
static char *
fetch_body(const uint8_t ch[32], const uint8_t pub[32], const uint8_t *pk,
    const struct attest_measurement *m, const char *format)
{
	uint8_t rd[64];
	struct buf ev;
	char c64[44], p64[44], *e64, *out;
	size_t n;

	ck_assert_int_eq(attest_report_data(ch, 32, pub, rd), PS_OK);
	buf_init(&ev, PS_CAP_EVIDENCE);
	ck_assert_int_eq(attest_sim_report(pk, m, rd, &ev), PS_OK);
	c64[codec_b64url_encode(ch, 32, c64)] = 0;
	p64[codec_b64url_encode(pub, 32, p64)] = 0;
	e64 = calloc(1, CODEC_B64URL_LEN(ev.len) + 1);
	codec_b64url_encode((uint8_t *)ev.p, ev.len, e64);
	n = strlen(e64) + 256;
	out = malloc(n);
	snprintf(out, n, "{\"challenge\":\"%s\",\"format\":\"%s\","
	    "\"evidence\":\"%s\",\"pubkey\":\"%s\"}", c64, format, e64, p64);
	free(e64);
	buf_free(&ev);
	return out;
}

static int
fetch(const char *b, int64_t now)
{
	return call("POST", "/as/v1/fetch", NULL, "application/json", b, now);
}

/* Unwrap a fetch reply with priv and the challenge. */
static void
unwrap(const uint8_t priv[32], const uint8_t ch[32],
    struct keycache_entry **keys, size_t *n)
{
	json_object *o, *k, *c;
	struct buf plain;
	uint8_t *blob;
	size_t len, got;

	o = json_tokener_parse(body());
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "keys", &k));
	ck_assert(json_object_object_get_ex(o, "count", &c));
	len = strlen(json_object_get_string(k));
	blob = malloc(len);
	ck_assert_int_eq(codec_b64url_decode(json_object_get_string(k), len,
	    blob, len, &got), PS_OK);
	buf_init(&plain, 1 << 20);
	ck_assert_int_eq(wrap_open(priv, ch, 32, blob, got, &plain), PS_OK);
	ck_assert_int_eq(release_decode((uint8_t *)plain.p, plain.len, keys,
	    n), PS_OK);
	ck_assert_int_eq(json_object_get_int(c), (int)*n);
	buf_free(&plain);
	free(blob);
	json_object_put(o);
}

START_TEST(fetch_releases_wrapped)
{
	uint8_t ch[32], priv[32], pub[32];
	struct keycache_entry *keys = NULL;
	char *b;
	size_t n;

	ck_assert_int_eq(upload(KID, SECRET, 3600, NOW), 201);
	ck_assert_int_eq(upload("ffeeddccbbaa99887766554433221100",
	    "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 10, NOW), 201);
	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW + 5), 200);
	ck_assert_ptr_null(strstr(body(), SECRET));
	unwrap(priv, ch, &keys, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(keys[0].kid[0], 0x00);
	ck_assert_uint_eq(keys[0].secret[5], 5);
	ck_assert_int_eq(keys[0].expires, NOW + 3600);
	ck_assert_uint_eq(keys[1].kid[0], 0xff);
	ck_assert_uint_eq(keys[1].secret[0], 1);
	ck_assert_int_eq(keys[1].expires, NOW + 10);
	keyfile_entries_free(keys, n);
	/* The same request again: the challenge is used up. */
	ck_assert_int_eq(fetch(b, NOW + 6), 403);
	ck_assert_str_eq(code(), "attestation_failed");
	ck_assert_str_eq(message(),
	    "attestation failed: challenge unknown or already used");
	free(b);
	/* Later, the second secret has expired and is not released. */
	get_challenge(ch, NOW + 20);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW + 20), 200);
	unwrap(priv, ch, &keys, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(keys[0].kid[0], 0x00);
	keyfile_entries_free(keys, n);
	free(b);
	/* No secret at all: an empty, still wrapped, list. */
	get_challenge(ch, NOW + 4000);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW + 4000), 200);
	unwrap(priv, ch, &keys, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(keys);
	free(b);
}
END_TEST

START_TEST(fetch_refusals)
{
	uint8_t ch[32], priv[32], pub[32], other[32];
	struct attest_measurement bad = as.meas;
	char *b;

	ck_assert_int_eq(upload(KID, SECRET, 3600, NOW), 201);
	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);

	/* Stale: the challenge expired. */
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW + 60), 403);
	ck_assert_str_eq(message(), "attestation failed: challenge expired");
	free(b);

	/* Never issued. */
	memset(ch, 7, sizeof(ch));
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(),
	    "attestation failed: challenge unknown or already used");
	free(b);

	/* Disallowed measurement.  A refused try stores nothing (so no
	 * caller without good evidence can fill the table); the challenge
	 * is used up by its one release. */
	bad.b[0] ^= 1;
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, as.ppriv, &bad, "sim");
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(),
	    "attestation failed: measurement not in the allowlist");
	free(b);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW), 200);
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(),
	    "attestation failed: challenge unknown or already used");
	free(b);

	/* A challenge of the right form that this AS did not MAC. */
	get_challenge(ch, NOW);
	ch[10] ^= 1;
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(),
	    "attestation failed: challenge unknown or already used");
	free(b);

	/* Untrusted platform key. */
	ck_assert_int_eq(secret_random(other, sizeof(other)), PS_OK);
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, other, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(),
	    "attestation failed: evidence from an untrusted platform key");
	free(b);

	/* Evidence that binds another public key than the one sent. */
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	{
		char p64[44], *at = strstr(b, "\"pubkey\":\"") + 10;

		other[0] = 9;
		codec_b64url_encode(other, 32, p64);
		memcpy(at, p64, 43);
	}
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(), "attestation failed: evidence does not "
	    "bind this challenge and public key");
	free(b);

	/* Unknown format. */
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "tdx");
	ck_assert_int_eq(fetch(b, NOW), 403);
	ck_assert_str_eq(message(),
	    "attestation failed: unsupported evidence format");
	free(b);

	/* Malformed requests. */
	ck_assert_int_eq(fetch("{\"challenge\":\"abc\",\"format\":\"sim\","
	    "\"evidence\":\"AAAA\",\"pubkey\":\"abc\"}", NOW), 400);
	ck_assert_str_eq(message(),
	    "challenge must be the base64url of 32 bytes");
	ck_assert_int_eq(fetch("{\"format\":\"sim\"}", NOW), 400);
	ck_assert_int_eq(call("POST", "/as/v1/fetch", NULL, "text/plain", "{}",
	    NOW), 415);
	secret_wipe(priv, sizeof(priv));
}
END_TEST

/* Issue 12: unauthenticated challenges cannot exhaust anything.  Far
 * more challenges than the store remembers (100) are issued; evidence for
 * the last one still gets its release. */
START_TEST(challenges_stateless)
{
	uint8_t ch[32], priv[32], pub[32];
	char *b;
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(call("POST", "/as/v1/challenge", NULL, NULL,
		    NULL, NOW), 200);
	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);
	get_challenge(ch, NOW);
	b = fetch_body(ch, pub, as.ppriv, &as.meas, "sim");
	ck_assert_int_eq(fetch(b, NOW + 1), 200);
	free(b);
	secret_wipe(priv, sizeof(priv));
}
END_TEST

START_TEST(upload_sealed_only)
{
	char b[512], *at;
	uint8_t k[16];

	/* A raw secret is refused, never stored. */
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json", "{\"kid\":\"" KID "\",\"secret\":\"" SECRET
	    "\",\"expires\":60}", NOW), 400);
	ck_assert_str_eq(message(), "a raw secret is refused: seal it to the "
	    "attested key (POST /v1/attest)");
	/* Sealed for another kid: the kid is bound. */
	snprintf(b, sizeof(b), "%s", sealed_body(KID, SECRET, NOW + 60));
	at = strstr(b, KID);
	at[0] = 'f';
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json", b, NOW), 400);
	ck_assert_str_eq(message(), "the sealed secret does not open");
	/* Sealed for another expiry: bound as well. */
	snprintf(b, sizeof(b), "%s", sealed_body(KID, SECRET, NOW + 60));
	at = strstr(b, "\"expires\":") + 10;
	at[0] = at[0] == '7' ? '8' : '7';
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json", b, NOW), 400);
	/* Sealed to another key of the AS (an earlier instance). */
	memset(k, 0, sizeof(k));
	snprintf(b, sizeof(b), "%s", sealed_body(KID, SECRET, NOW + 60));
	at = strstr(b, "\"pubkey\":\"") + 10;
	at[0] = at[0] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json", b, NOW), 409);
	ck_assert_str_eq(code(), "as_key_changed");
	ck_assert_int_eq(upload(KID, SECRET, 60, NOW), 201);
	/* Whoever recorded that upload replays it once the secret expired:
	 * the expiry is sealed with it, so it does not come back. */
	snprintf(b, sizeof(b), "%s", sealed_body(KID, SECRET, NOW + 60));
	ck_assert_int_eq(call("POST", "/as/v1/secrets", AUTH,
	    "application/json", b, NOW + 60), 400);
	ck_assert_str_eq(message(), "expires must be later than now (Unix "
	    "seconds)");
	/* A life past --max-ttl is cut to it. */
	ck_assert_int_eq(upload(KID, SECRET, 10 * 86400, NOW + 60), 201);
	ck_assert_ptr_nonnull(strstr(body(), "\"expires\":1700086460}"));
}
END_TEST

/* The AS's own evidence binds the client's challenge, its key and the
 * digest of the policy it reports. */
START_TEST(attest_binds)
{
	uint8_t ch[32], pub[32], rd[64], dig[32];
	struct attest_measurement m;
	enum attest_fail why;
	json_object *o, *x, *pol, *keys, *ws;
	const struct attest_verifier *vs[1] = {as.ver};
	uint8_t ev[PS_CAP_EVIDENCE];
	size_t got, evlen;
	char b[128], c64[44], mhex[2 * ATTEST_MEASUREMENT_MAX + 1];

	memset(ch, 0x77, sizeof(ch));
	c64[codec_b64url_encode(ch, 32, c64)] = 0;
	snprintf(b, sizeof(b), "{\"challenge\":\"%s\"}", c64);
	ck_assert_int_eq(call("POST", "/as/v1/attest", NULL,
	    "application/json", b, NOW), 200);
	o = json_tokener_parse(body());
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "format", &x));
	ck_assert_str_eq(json_object_get_string(x), "sim");
	ck_assert(json_object_object_get_ex(o, "pubkey", &x));
	ck_assert_int_eq(codec_b64url_decode(json_object_get_string(x), 43,
	    pub, 32, &got), PS_OK);
	ck_assert_mem_eq(pub, as.as_pub, 32);
	ck_assert(json_object_object_get_ex(o, "evidence", &x));
	ck_assert_int_eq(codec_b64url_decode(json_object_get_string(x),
	    (size_t)json_object_get_string_len(x), ev, sizeof(ev), &evlen),
	    PS_OK);
	ck_assert(json_object_object_get_ex(o, "policy", &pol));
	ck_assert(json_object_object_get_ex(pol, "platform_keys", &keys));
	ck_assert(json_object_object_get_ex(pol, "worker_measurements", &ws));
	ck_assert_uint_eq(json_object_array_length(keys), 1);
	ck_assert_uint_eq(json_object_array_length(ws), 1);
	/* The AS builds that may join are policy too. */
	ck_assert(json_object_object_get_ex(pol, "peer_measurements", &ws));
	ck_assert_uint_eq(json_object_array_length(ws), 1);
	attest_measurement_hex(&as.as_meas, mhex);
	ck_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(ws, 0)), mhex);
	json_object_put(o);
	ck_assert_int_eq(aspolicy_report_data(ch, pub, as.digest, rd), PS_OK);
	ck_assert_int_eq(attest_check_rd(vs, 1, &as.policy.peers, "sim", ev, evlen, rd,
	    &m, &why), PS_OK);
	ck_assert_mem_eq(m.b, as.as_meas.b, 48);
	/* Another policy digest does not verify. */
	memcpy(dig, as.digest, 32);
	dig[0] ^= 1;
	ck_assert_int_eq(aspolicy_report_data(ch, pub, dig, rd), PS_OK);
	ck_assert_int_eq(attest_check_rd(vs, 1, &as.policy.peers, "sim", ev, evlen, rd,
	    &m, &why), PS_ERR_AUTH);
	ck_assert_int_eq(why, ATTEST_FAIL_REPORT_DATA);
	ck_assert_int_eq(call("POST", "/as/v1/attest", NULL,
	    "application/json", "{\"challenge\":\"abc\"}", NOW), 400);
}
END_TEST

/* Another AS instance with evidence binding this one's policy gets the
 * storage key, under this one's evidence binding what it got; with
 * another policy or measurement it gets nothing. */
START_TEST(join)
{
	uint8_t ch[32], priv[32], pub[32], rd[64], dig[32];
	struct attest_measurement bad = as.as_meas, m;
	const struct attest_verifier *vs[1] = {as.ver};
	enum attest_fail why;
	struct buf ev, plain, pev;
	char *b, c64[44], p64[44], *e64;
	int k;

	ck_assert_int_eq(wrap_keypair(priv, pub), PS_OK);
	/* k: 0 the good joiner, 1 another policy, 2 another build, 3 the
	 * AS's own /v1/attest evidence (another label). */
	for (k = 0; k < 4; k++) {
		json_object *o, *x;
		uint8_t blob[256];
		size_t n, got;

		get_challenge(ch, NOW);
		memcpy(dig, as.digest, 32);
		if (k == 1)
			dig[3] ^= 1;
		if (k == 3)
			ck_assert_int_eq(aspolicy_report_data(ch, pub, dig, rd),
			    PS_OK);
		else
			ck_assert_int_eq(aspolicy_join_request_report_data(ch,
			    pub, dig, rd), PS_OK);
		buf_init(&ev, PS_CAP_EVIDENCE);
		bad.b[0] = as.as_meas.b[0] ^ (k == 2);
		ck_assert_int_eq(attest_sim_report(as.ppriv, &bad, rd, &ev),
		    PS_OK);
		c64[codec_b64url_encode(ch, 32, c64)] = 0;
		p64[codec_b64url_encode(pub, 32, p64)] = 0;
		e64 = calloc(1, CODEC_B64URL_LEN(ev.len) + 1);
		codec_b64url_encode((uint8_t *)ev.p, ev.len, e64);
		n = strlen(e64) + 256;
		b = malloc(n);
		snprintf(b, n, "{\"challenge\":\"%s\",\"format\":\"sim\","
		    "\"evidence\":\"%s\",\"pubkey\":\"%s\"}", c64, e64, p64);
		if (k > 0) {
			ck_assert_int_eq(call("POST", "/as/v1/join", NULL,
			    "application/json", b, NOW), 403);
		} else {
			ck_assert_int_eq(call("POST", "/as/v1/join", NULL,
			    "application/json", b, NOW), 200);
			o = json_tokener_parse(body());
			ck_assert(json_object_object_get_ex(o, "keys", &x));
			ck_assert_int_eq(codec_b64url_decode(
			    json_object_get_string(x),
			    (size_t)json_object_get_string_len(x), blob,
			    sizeof(blob), &got), PS_OK);
			ck_assert(json_object_object_get_ex(o, "format", &x));
			ck_assert_str_eq(json_object_get_string(x), "sim");
			ck_assert(json_object_object_get_ex(o, "evidence", &x));
			buf_init(&pev, PS_CAP_EVIDENCE);
			ck_assert_int_eq(buf_reserve(&pev, PS_CAP_EVIDENCE),
			    PS_OK);
			ck_assert_int_eq(codec_b64url_decode(
			    json_object_get_string(x),
			    (size_t)json_object_get_string_len(x),
			    (uint8_t *)pev.p, PS_CAP_EVIDENCE, &pev.len), PS_OK);
			json_object_put(o);
			/* The peer's evidence binds the challenge, the
			 * joiner's key, the wrapped key and the policy. */
			ck_assert_int_eq(aspolicy_join_report_data(ch, pub,
			    blob, got, as.digest, rd), PS_OK);
			ck_assert_int_eq(attest_check_rd(vs, 1,
			    &as.policy.peers, "sim", (uint8_t *)pev.p, pev.len,
			    rd, &m, &why), PS_OK);
			ck_assert_mem_eq(m.b, as.as_meas.b, 48);
			blob[got - 1] ^= 1;
			ck_assert_int_eq(aspolicy_join_report_data(ch, pub,
			    blob, got, as.digest, rd), PS_OK);
			ck_assert_int_eq(attest_check_rd(vs, 1,
			    &as.policy.peers, "sim", (uint8_t *)pev.p, pev.len,
			    rd, &m, &why), PS_ERR_AUTH);
			blob[got - 1] ^= 1;
			buf_free(&pev);
			buf_init(&plain, 64);
			ck_assert_int_eq(wrap_open(priv, ch, 32, blob, got,
			    &plain), PS_OK);
			ck_assert_uint_eq(plain.len, 32);
			ck_assert_mem_eq(plain.p, as.storage_key, 32);
			buf_free(&plain);
		}
		free(e64);
		free(b);
		buf_free(&ev);
	}
	secret_wipe(priv, sizeof(priv));
}
END_TEST

/* Tenants: one token uploads as much as it can, more than the store holds
 * (100): at its limit it gets 429, and another token still gets in
 * (issue 10: one token's uploads made another's fail with 503
 * store_full). */
START_TEST(token_limits)
{
	char path[300], why[256], kid[33], b[512];
	struct tokens *t = NULL;
	uint8_t k[16], sec[32];
	int i;

	snprintf(path, sizeof(path), "%s/tokens2", as.dir);
	tu_write(path, "greedy 60 greedy-token-0123456789\n"
	    "modest 3 modest-token-0123456789\n", 67, 0600);
	ck_assert_int_eq(tokens_load(path, &t, why, sizeof(why)), PS_OK);
	as.cfg.tokens = t;
	memset(sec, 9, sizeof(sec));
	for (i = 0; i < 120; i++) {
		memset(k, 0, sizeof(k));
		k[0] = (uint8_t)(i + 1);
		codec_hex_encode(k, 16, kid);
		tu_as_upload_body(&as, k, sec, NOW + 60, b, sizeof(b));
		ck_assert_int_eq(call("POST", "/as/v1/secrets",
		    "Bearer greedy-token-0123456789", "application/json", b,
		    NOW), i < 60 ? 201 : 429);
	}
	ck_assert_str_eq(code(), "token_limit");
	memset(k, 0x40, sizeof(k));
	tu_as_upload_body(&as, k, sec, NOW + 60, b, sizeof(b));
	ck_assert_int_eq(call("POST", "/as/v1/secrets",
	    "Bearer modest-token-0123456789", "application/json", b, NOW), 201);
	as.cfg.tokens = as.toks;
	tokens_free(t);
}
END_TEST

/* The token is checked before the body is read (asapi_early). */
START_TEST(early_token_check)
{
	struct asapi_request q = {"POST", "/as/v1/secrets", NULL,
	    "application/json", NULL, 0};

	ck_assert_int_eq(asapi_early(&as.cfg, &q, &rep), 1);
	ck_assert_int_eq(rep.status, 401);
	q.authorization = AUTH;
	ck_assert_int_eq(asapi_early(&as.cfg, &q, &rep), 0);
	q.authorization = NULL;
	q.uri = "/as/v1/fetch";
	ck_assert_int_eq(asapi_early(&as.cfg, &q, &rep), 0);
}
END_TEST

static Suite *
asapi_suite(void)
{
	Suite *s = suite_create("asapi");
	TCase *t = tcase_create("api");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, routing);
	tcase_add_test(t, headers_per_request);
	tcase_add_test(t, upload_ok_then_conflict);
	tcase_add_test(t, upload_auth);
	tcase_add_test(t, upload_malformed);
	tcase_add_test(t, upload_json_forms);
	tcase_add_test(t, fetch_releases_wrapped);
	tcase_add_test(t, fetch_refusals);
	tcase_add_test(t, challenges_stateless);
	tcase_add_test(t, upload_sealed_only);
	tcase_add_test(t, attest_binds);
	tcase_add_test(t, join);
	tcase_add_test(t, token_limits);
	tcase_add_test(t, early_token_check);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(asapi_suite());
}
