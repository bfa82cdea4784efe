/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/seal/envelope.c (protocol.md sections 2 and 3, wire
 * format version 2).
 *
 * - AES-256-GCM itself is checked through OpenSSL EVP against a subset of
 *   the NIST CAVP vectors (vectors/gcm_nist.txt).
 * - The known-answer vectors of vectors/envelope.txt come from
 *   tests/pswire.py, an implementation that shares no code with this one:
 *   envelope_derive must give their keys, envelope_seal their exact text
 *   (version 2 has no random IV), envelope_open their content, and every
 *   refused envelope must fail with its code.
 * - Every tamper case fails with its exact code and leaves the output
 *   buffer exactly as it was.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/pserr.h"
#include "seal/envelope.h"

#define SENTINEL "\x01sentinel\xff"
#define SENTINEL_LEN (sizeof(SENTINEL) - 1)
#define OUT_MAX (4u << 20)

/* The numbers of vectors gen_envelope.py writes; a shorter file fails. */
#define N_KEYS 6
#define N_SMALL 20
#define N_GENERATED 9
#define N_REFUSED 30
#define N_NIST_ENC 175
#define N_NIST_DEC 350

struct vec {
	char label[48];
	enum envelope_dir dir;
	uint32_t msg;
	int final;
	size_t bucket;
	uint8_t secret[ENVELOPE_SECRET_LEN];
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t nonce[ENVELOPE_NONCE_LEN];
	uint8_t reply[ENVELOPE_REPLY_LEN];
	int has_kid, has_nonce, has_reply;
	uint8_t key[ENVELOPE_KEY_LEN];      /* 'k' lines */
	uint8_t *ctx;
	size_t ctx_len;
	uint8_t *content;                   /* 'v' lines */
	size_t content_len;
	char *env;                          /* 'v' and 'x' lines */
	size_t env_len;
	uint8_t content_sha[32];            /* 'g' lines */
	uint8_t env_sha[32];
	pserr code;                         /* 'x' lines */
};

struct nist {
	int encrypt;
	int fail;
	uint8_t key[32];
	uint8_t iv[12];
	uint8_t *pt, *aad, *ct, *tag;
	size_t pt_len, aad_len, ct_len, tag_len;
};

static struct vec keys[16], small[64], generated[16], refused[64];
static size_t n_keys, n_small, n_generated, n_refused;
static struct nist nists[1024];
static size_t n_nist;

/* ------------------------------------------------------------ helpers */

/* Hex decoding kept separate from lib/core/codec.c so the vectors do not
 * depend on the code under test.  "-" is the empty string. */
static int
unhex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
unhex(const char *s, uint8_t **out, size_t *len)
{
	size_t n, i;

	if (strcmp(s, "-") == 0)
		s = "";
	n = strlen(s);
	if (n % 2 != 0)
		return -1;
	if ((*out = malloc(n / 2 + 1)) == NULL)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = unhex_nibble(s[2 * i]), lo = unhex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		(*out)[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static int
unhex_fixed(const char *s, uint8_t *out, size_t len)
{
	uint8_t *p;
	size_t n;

	if (unhex(s, &p, &n) != 0 || n != len) {
		return -1;
	}
	memcpy(out, p, len);
	free(p);
	return 0;
}

/* An optional fixed field: "-" leaves *has 0. */
static int
unhex_opt(const char *s, uint8_t *out, size_t len, int *has)
{
	*has = strcmp(s, "-") != 0;
	return *has ? unhex_fixed(s, out, len) : 0;
}

static void
sha256(const void *p, size_t n, uint8_t md[32])
{
	unsigned int mdlen = 0;

	ck_assert_int_eq(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(mdlen, 32);
}

/* The content of a 'g' line: a..z repeated, n bytes. */
static uint8_t *
gen_content(size_t n)
{
	uint8_t *p = malloc(n + 1);
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + i % 26);
	return p;
}

/* A keyed context for vector v. */
static void
ctx_of(const struct vec *v, struct envelope_ctx *c)
{
	envelope_init(c, v->dir);
	memcpy(c->kid, v->kid, sizeof(c->kid));
	memcpy(c->nonce, v->nonce, sizeof(c->nonce));
	if (v->dir == ENVELOPE_RESPONSE)
		memcpy(c->reply, v->reply, sizeof(c->reply));
	memcpy(c->bind, v->ctx, v->ctx_len);
	c->bind_len = v->ctx_len;
	ck_assert_int_eq(envelope_derive(c, v->secret), PS_OK);
}

static pserr
seal1(const struct envelope_ctx *c, uint32_t msg, int final, const void *p,
    size_t n, size_t bucket, struct buf *out)
{
	struct envelope_part part = { p, n };

	return envelope_seal(c, msg, final, &part, 1, bucket, out);
}

/* Open s under c with the output buffer holding a sentinel; expect want
 * and the buffer exactly as before. */
static void
expect_open_fails(const struct envelope_ctx *c, uint32_t msg, int final,
    const char *s, size_t n, pserr want, const char *what)
{
	struct buf out;
	pserr rc;

	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	rc = envelope_open(c, msg, final, s, n, &out);
	ck_assert_msg(rc == want, "%s: envelope_open gave %s, want %s", what,
	    pserr_code(rc), pserr_code(want));
	ck_assert_uint_eq(out.len, SENTINEL_LEN);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	buf_free(&out);
}

/* Open s under c and expect content after a sentinel. */
static void
expect_open_ok(const struct envelope_ctx *c, uint32_t msg, int final,
    const char *s, size_t n, const uint8_t *content, size_t len,
    const char *what)
{
	struct buf out;
	pserr rc;

	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	rc = envelope_open(c, msg, final, s, n, &out);
	ck_assert_msg(rc == PS_OK, "%s: envelope_open gave %s", what,
	    pserr_code(rc));
	ck_assert_uint_eq(out.len, SENTINEL_LEN + len);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	if (len > 0)
		ck_assert_mem_eq(out.p + SENTINEL_LEN, content, len);
	buf_free(&out);
}

/* --------------------------------------------------------- vector files */

static int
parse_dir(const char *s, enum envelope_dir *d)
{
	if (strcmp(s, "Q") == 0)
		*d = ENVELOPE_REQUEST;
	else if (strcmp(s, "R") == 0)
		*d = ENVELOPE_RESPONSE;
	else
		return -1;
	return 0;
}

static int
parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	x = strtoull(s, &end, 10);
	if (*end != '\0' || *s == '\0' || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static pserr
code_of(const char *s)
{
	if (strcmp(s, "invalid_envelope") == 0)
		return PS_ERR_INVALID_ENVELOPE;
	if (strcmp(s, "decrypt_failed") == 0)
		return PS_ERR_DECRYPT;
	return PS_OK;
}

static int
parse_line(char **f, size_t nf, struct vec *v)
{
	uint32_t x;

	memset(v, 0, sizeof(*v));
	if (strlen(f[1]) >= sizeof(v->label))
		return -1;
	strcpy(v->label, f[1]);
	if (parse_dir(f[2], &v->dir) != 0)
		return -1;
	if (f[0][0] == 'k') {
		return nf != 8 || unhex_fixed(f[3], v->secret, 32) != 0 ||
		    unhex_fixed(f[4], v->kid, 16) != 0 ||
		    unhex_fixed(f[5], v->nonce, 16) != 0 ||
		    unhex_opt(f[6], v->reply, 16, &v->has_reply) != 0 ||
		    unhex_fixed(f[7], v->key, 32) != 0 ? -1 : 0;
	}
	if (parse_u32(f[3], &v->msg) != 0 || parse_u32(f[4], &x) != 0 || x > 1)
		return -1;
	v->final = (int)x;
	if (f[0][0] == 'x') {
		if (nf != 12 || unhex_fixed(f[5], v->secret, 32) != 0 ||
		    unhex_opt(f[6], v->kid, 16, &v->has_kid) != 0 ||
		    unhex_opt(f[7], v->nonce, 16, &v->has_nonce) != 0 ||
		    unhex_opt(f[8], v->reply, 16, &v->has_reply) != 0 ||
		    unhex(f[9], &v->ctx, &v->ctx_len) != 0 ||
		    (v->env = strdup(f[10])) == NULL ||
		    (v->code = code_of(f[11])) == PS_OK)
			return -1;
		v->env_len = strlen(v->env);
		return 0;
	}
	if (parse_u32(f[5], &x) != 0)
		return -1;
	v->bucket = x;
	if (unhex_fixed(f[6], v->secret, 32) != 0 ||
	    unhex_fixed(f[7], v->kid, 16) != 0 ||
	    unhex_fixed(f[8], v->nonce, 16) != 0 ||
	    unhex_opt(f[9], v->reply, 16, &v->has_reply) != 0 ||
	    unhex(f[10], &v->ctx, &v->ctx_len) != 0)
		return -1;
	if (f[0][0] == 'v') {
		if (nf != 13 || unhex(f[11], &v->content, &v->content_len) != 0 ||
		    (v->env = strdup(f[12])) == NULL)
			return -1;
		v->env_len = strlen(v->env);
		return 0;
	}
	if (nf != 15 || parse_u32(f[11], &x) != 0)
		return -1;
	v->content_len = x;
	if (unhex_fixed(f[12], v->content_sha, 32) != 0 ||
	    parse_u32(f[13], &x) != 0 ||
	    unhex_fixed(f[14], v->env_sha, 32) != 0)
		return -1;
	v->env_len = x;
	return 0;
}

static int
parse_nist_line(char **f, size_t nf, struct nist *t)
{
	if (nf != 7)
		return -1;
	t->encrypt = f[0][0] == 'E';
	if (unhex_fixed(f[1], t->key, 32) != 0 ||
	    unhex_fixed(f[2], t->iv, 12) != 0)
		return -1;
	if (t->encrypt) {
		return unhex(f[3], &t->pt, &t->pt_len) != 0 ||
		    unhex(f[4], &t->aad, &t->aad_len) != 0 ||
		    unhex(f[5], &t->ct, &t->ct_len) != 0 ||
		    unhex(f[6], &t->tag, &t->tag_len) != 0 ? -1 : 0;
	}
	if (unhex(f[3], &t->ct, &t->ct_len) != 0 ||
	    unhex(f[4], &t->aad, &t->aad_len) != 0 ||
	    unhex(f[5], &t->tag, &t->tag_len) != 0)
		return -1;
	if (strcmp(f[6], "FAIL") == 0) {
		t->fail = 1;
		return 0;
	}
	return unhex(f[6], &t->pt, &t->pt_len);
}

/* Read one vector file; returns -1 with a message on any malformed line. */
static int
load(const char *file)
{
	char path[4096], *line = NULL, *f[16], *save = NULL, *tok;
	size_t cap = 0, nf, lineno = 0;
	ssize_t got;
	FILE *fp;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/vectors/%s", TEST_SRCDIR, file);
	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	while ((got = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (got > 0 && line[got - 1] == '\n')
			line[got - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		nf = 0;
		for (tok = strtok_r(line, " ", &save); tok != NULL && nf < 16;
		    tok = strtok_r(NULL, " ", &save))
			f[nf++] = tok;
		if (nf < 3)
			goto bad;
		if (strcmp(f[0], "k") == 0 && n_keys < 16) {
			if (parse_line(f, nf, &keys[n_keys++]) != 0)
				goto bad;
		} else if (strcmp(f[0], "v") == 0 && n_small < 64) {
			if (parse_line(f, nf, &small[n_small++]) != 0)
				goto bad;
		} else if (strcmp(f[0], "g") == 0 && n_generated < 16) {
			if (parse_line(f, nf, &generated[n_generated++]) != 0)
				goto bad;
		} else if (strcmp(f[0], "x") == 0 && n_refused < 64) {
			if (parse_line(f, nf, &refused[n_refused++]) != 0)
				goto bad;
		} else if ((strcmp(f[0], "E") == 0 || strcmp(f[0], "D") == 0) &&
		    n_nist < 1024) {
			if (parse_nist_line(f, nf, &nists[n_nist++]) != 0)
				goto bad;
		} else {
			goto bad;
		}
	}
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "%s:%zu: malformed vector line\n", path, lineno);
out:
	free(line);
	fclose(fp);
	return rc;
}

/* -------------------------------------------------------------- tests */

START_TEST(test_vector_counts)
{
	size_t i, enc = 0, dec = 0, fail = 0;

	ck_assert_uint_eq(n_keys, N_KEYS);
	ck_assert_uint_eq(n_small, N_SMALL);
	ck_assert_uint_eq(n_generated, N_GENERATED);
	ck_assert_uint_eq(n_refused, N_REFUSED);
	for (i = 0; i < n_nist; i++) {
		enc += nists[i].encrypt;
		dec += !nists[i].encrypt;
		fail += nists[i].fail;
	}
	ck_assert_uint_eq(enc, N_NIST_ENC);
	ck_assert_uint_eq(dec, N_NIST_DEC);
	ck_assert_uint_eq(fail, N_NIST_DEC / 2);
}
END_TEST

/* AES-256-GCM through EVP against NIST CAVP, before anything relies on it. */
START_TEST(test_gcm_nist)
{
	const struct nist *t = &nists[_i];
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t *out = malloc(t->pt_len + t->ct_len + 1), tag[16];
	int outl = 0, finl = 0, ok;

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, t->key,
	    t->iv, t->encrypt), 1);
	if (t->aad_len > 0)
		ck_assert_int_eq(EVP_CipherUpdate(x, NULL, &outl, t->aad,
		    (int)t->aad_len), 1);
	if (t->encrypt) {
		ck_assert_int_eq(EVP_EncryptUpdate(x, out, &outl, t->pt,
		    (int)t->pt_len), 1);
		ck_assert_int_eq(EVP_EncryptFinal_ex(x, out + outl, &finl), 1);
		ck_assert_uint_eq((size_t)(outl + finl), t->ct_len);
		if (t->ct_len > 0)
			ck_assert_mem_eq(out, t->ct, t->ct_len);
		ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG,
		    16, tag), 1);
		ck_assert_mem_eq(tag, t->tag, t->tag_len);
	} else {
		ck_assert_int_eq(EVP_DecryptUpdate(x, out, &outl, t->ct,
		    (int)t->ct_len), 1);
		ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG,
		    (int)t->tag_len, t->tag), 1);
		ok = EVP_DecryptFinal_ex(x, out + outl, &finl) == 1;
		ck_assert_int_eq(ok, !t->fail);
		if (ok) {
			ck_assert_uint_eq((size_t)(outl + finl), t->pt_len);
			if (t->pt_len > 0)
				ck_assert_mem_eq(out, t->pt, t->pt_len);
		}
	}
	EVP_CIPHER_CTX_free(x);
	free(out);
}
END_TEST

/* HKDF: the key per exchange and direction is the reference's. */
START_TEST(test_derive_known_answer)
{
	const struct vec *v = &keys[_i];
	struct envelope_ctx c;

	envelope_init(&c, v->dir);
	memcpy(c.kid, v->kid, 16);
	memcpy(c.nonce, v->nonce, 16);
	memcpy(c.reply, v->reply, 16);
	ck_assert_int_eq(c.keyed, 0);
	ck_assert_int_eq(envelope_derive(&c, v->secret), PS_OK);
	ck_assert_int_eq(c.keyed, 1);
	ck_assert_mem_eq(c.key, v->key, 32);
	/* A request key ignores whatever the reply field holds. */
	if (v->dir == ENVELOPE_REQUEST) {
		memset(c.reply, 0xa5, sizeof(c.reply));
		ck_assert_int_eq(envelope_derive(&c, v->secret), PS_OK);
		ck_assert_mem_eq(c.key, v->key, 32);
	}
	envelope_wipe(&c);
	ck_assert_int_eq(c.keyed, 0);
}
END_TEST

/* Every input of the key derivation changes the key. */
START_TEST(test_derive_inputs)
{
	const struct vec *v = &keys[1];   /* a reply key */
	struct envelope_ctx c, d;
	uint8_t secret[32];

	ck_assert_int_eq(v->dir, ENVELOPE_RESPONSE);
	envelope_init(&c, v->dir);
	memcpy(c.kid, v->kid, 16);
	memcpy(c.nonce, v->nonce, 16);
	memcpy(c.reply, v->reply, 16);
	ck_assert_int_eq(envelope_derive(&c, v->secret), PS_OK);
	d = c;
	d.dir = ENVELOPE_REQUEST;
	ck_assert_int_eq(envelope_derive(&d, v->secret), PS_OK);
	ck_assert_int_ne(memcmp(c.key, d.key, 32), 0);
	d = c;
	d.kid[15] ^= 1;
	ck_assert_int_eq(envelope_derive(&d, v->secret), PS_OK);
	ck_assert_int_ne(memcmp(c.key, d.key, 32), 0);
	d = c;
	d.nonce[0] ^= 0x80;
	ck_assert_int_eq(envelope_derive(&d, v->secret), PS_OK);
	ck_assert_int_ne(memcmp(c.key, d.key, 32), 0);
	d = c;
	d.reply[7] ^= 4;
	ck_assert_int_eq(envelope_derive(&d, v->secret), PS_OK);
	ck_assert_int_ne(memcmp(c.key, d.key, 32), 0);
	d = c;
	memcpy(secret, v->secret, 32);
	secret[31] ^= 1;
	ck_assert_int_eq(envelope_derive(&d, secret), PS_OK);
	ck_assert_int_ne(memcmp(c.key, d.key, 32), 0);
	/* The key is not the secret. */
	ck_assert_int_ne(memcmp(c.key, v->secret, 32), 0);
}
END_TEST

/* Seal gives the reference's exact text; open gives the content back. */
START_TEST(test_seal_known_answer)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;
	struct buf out;
	uint8_t kid[16], nonce[16], reply[16];

	ctx_of(v, &c);
	ck_assert_uint_eq(envelope_text_len(v->dir, v->content_len, v->bucket),
	    v->env_len);
	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(seal1(&c, v->msg, v->final, v->content, v->content_len,
	    v->bucket, &out), PS_OK);
	ck_assert_uint_eq(out.len, SENTINEL_LEN + v->env_len);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	ck_assert_msg(memcmp(out.p + SENTINEL_LEN, v->env, v->env_len) == 0,
	    "%s: sealed text differs from the reference", v->label);
	buf_free(&out);
	expect_open_ok(&c, v->msg, v->final, v->env, v->env_len, v->content,
	    v->content_len, v->label);
	ck_assert_int_eq(envelope_peek(v->dir, v->env, v->env_len, kid, nonce,
	    reply), PS_OK);
	ck_assert_mem_eq(kid, v->kid, 16);
	ck_assert_mem_eq(nonce, v->nonce, 16);
	if (v->dir == ENVELOPE_RESPONSE)
		ck_assert_mem_eq(reply, v->reply, 16);
	envelope_wipe(&c);
}
END_TEST

/*
 * envelope_head() reads what envelope_peek() reads but not the
 * ciphertext's alphabet: a byte there that is not base64url passes the
 * head, fails the peek, and envelope_open() refuses it as invalid_envelope
 * (at the start, the middle and the end of the ciphertext); a byte of the
 * head that is wrong fails both.
 */
START_TEST(test_head)
{
	const struct vec *v = &small[_i];
	uint8_t kid[16], nonce[16], reply[16], hk[16], hn[16], hr[16];
	size_t head = v->dir == ENVELOPE_REQUEST ? ENVELOPE_REQUEST_HEAD :
	    ENVELOPE_REPLY_HEAD, at[3], k;
	struct envelope_ctx c;
	char *t;

	ck_assert_int_eq(envelope_peek(v->dir, v->env, v->env_len, kid, nonce,
	    reply), PS_OK);
	ck_assert_int_eq(envelope_head(v->dir, v->env, v->env_len, hk, hn, hr),
	    PS_OK);
	ck_assert_mem_eq(hk, kid, 16);
	ck_assert_mem_eq(hn, nonce, 16);
	if (v->dir == ENVELOPE_RESPONSE)
		ck_assert_mem_eq(hr, reply, 16);
	ctx_of(v, &c);
	t = malloc(v->env_len);
	ck_assert_ptr_nonnull(t);
	at[0] = head;
	at[1] = (head + v->env_len) / 2;
	at[2] = v->env_len - 1;
	for (k = 0; k < 3; k++) {
		memcpy(t, v->env, v->env_len);
		t[at[k]] = '*';
		ck_assert_int_eq(envelope_head(v->dir, t, v->env_len, hk, hn,
		    hr), PS_OK);
		ck_assert_int_eq(envelope_peek(v->dir, t, v->env_len, kid,
		    nonce, reply), PS_ERR_INVALID_ENVELOPE);
		expect_open_fails(&c, v->msg, v->final, t, v->env_len,
		    PS_ERR_INVALID_ENVELOPE, v->label);
	}
	/* A kid that is not hex, a nonce that is not base64url. */
	for (k = 0; k < 2; k++) {
		memcpy(t, v->env, v->env_len);
		t[k == 0 ? 4 : 37] = '*';
		ck_assert_int_eq(envelope_head(v->dir, t, v->env_len, hk, hn,
		    hr), PS_ERR_INVALID_ENVELOPE);
		ck_assert_int_eq(envelope_peek(v->dir, t, v->env_len, kid,
		    nonce, reply), PS_ERR_INVALID_ENVELOPE);
	}
	free(t);
	envelope_wipe(&c);
}
END_TEST

/* The content may come in parts, split anywhere: the text is the same. */
START_TEST(test_seal_parts)
{
	const struct vec *v = &small[_i];
	struct envelope_part parts[3];
	struct envelope_ctx c;
	struct buf out;
	size_t a, b;

	ctx_of(v, &c);
	for (a = 0; a <= v->content_len; a++) {
		for (b = a; b <= v->content_len; b += 7) {
			parts[0].p = v->content;
			parts[0].n = a;
			parts[1].p = v->content + a;
			parts[1].n = b - a;
			parts[2].p = v->content + b;
			parts[2].n = v->content_len - b;
			buf_init(&out, OUT_MAX);
			ck_assert_int_eq(envelope_seal(&c, v->msg, v->final,
			    parts, 3, v->bucket, &out), PS_OK);
			ck_assert_uint_eq(out.len, v->env_len);
			ck_assert_mem_eq(out.p, v->env, v->env_len);
			buf_free(&out);
		}
	}
	envelope_wipe(&c);
}
END_TEST

/* Contents too large to store: seal and open agree with the reference's
 * digests; the tag may straddle two slices. */
START_TEST(test_generated)
{
	const struct vec *v = &generated[_i];
	struct envelope_ctx c;
	struct buf out;
	uint8_t md[32], *content = gen_content(v->content_len);

	sha256(content, v->content_len, md);
	ck_assert_mem_eq(md, v->content_sha, 32);
	ctx_of(v, &c);
	ck_assert_uint_eq(envelope_text_len(v->dir, v->content_len, v->bucket),
	    v->env_len);
	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(seal1(&c, v->msg, v->final, content, v->content_len,
	    v->bucket, &out), PS_OK);
	ck_assert_uint_eq(out.len, v->env_len);
	sha256(out.p, out.len, md);
	ck_assert_msg(memcmp(md, v->env_sha, 32) == 0,
	    "%s: sealed text differs from the reference", v->label);
	expect_open_ok(&c, v->msg, v->final, out.p, out.len, content,
	    v->content_len, v->label);
	buf_free(&out);
	free(content);
	envelope_wipe(&c);
}
END_TEST

/* The reference's refused envelopes fail with its code. */
START_TEST(test_refused_known_answer)
{
	const struct vec *v = &refused[_i];
	uint8_t kid[16], nonce[16], reply[16];
	struct envelope_ctx c;

	envelope_init(&c, v->dir);
	memcpy(c.bind, v->ctx, v->ctx_len);
	c.bind_len = v->ctx_len;
	/* Expect the exchange the vector names, else the envelope's own. */
	if (envelope_peek(v->dir, v->env, v->env_len, kid, nonce, reply) ==
	    PS_OK) {
		memcpy(c.kid, kid, 16);
		memcpy(c.nonce, nonce, 16);
		if (v->dir == ENVELOPE_RESPONSE)
			memcpy(c.reply, reply, 16);
	}
	if (v->has_kid)
		memcpy(c.kid, v->kid, 16);
	if (v->has_nonce)
		memcpy(c.nonce, v->nonce, 16);
	if (v->has_reply)
		memcpy(c.reply, v->reply, 16);
	ck_assert_int_eq(envelope_derive(&c, v->secret), PS_OK);
	expect_open_fails(&c, v->msg, v->final, v->env, v->env_len, v->code,
	    v->label);
	envelope_wipe(&c);
}
END_TEST

/* Every input of the IV and AAD is bound. */
START_TEST(test_tamper_binding)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;

	ctx_of(v, &c);
	expect_open_fails(&c, v->msg + 1, v->final, v->env, v->env_len,
	    PS_ERR_DECRYPT, "msg + 1");
	expect_open_fails(&c, v->msg ^ 0x80000000u, v->final, v->env,
	    v->env_len, PS_ERR_DECRYPT, "msg top bit");
	expect_open_fails(&c, v->msg, !v->final, v->env, v->env_len,
	    PS_ERR_DECRYPT, "final");
	c.bind[c.bind_len] = 'x';
	c.bind_len++;
	expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
	    PS_ERR_DECRYPT, "bind longer");
	c.bind_len--;
	if (c.bind_len > 0) {
		c.bind[0] ^= 1;
		expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
		    PS_ERR_DECRYPT, "bind changed");
		c.bind[0] ^= 1;
		c.bind_len--;
		expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
		    PS_ERR_DECRYPT, "bind shorter");
		c.bind_len++;
	}
	/* Another key for the same names fails to authenticate; another
	 * exchange's names are refused before decrypting. */
	c.key[0] ^= 1;
	expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
	    PS_ERR_DECRYPT, "key");
	c.key[0] ^= 1;
	c.kid[3] ^= 1;
	expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
	    PS_ERR_INVALID_ENVELOPE, "kid");
	c.kid[3] ^= 1;
	c.nonce[3] ^= 1;
	expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
	    PS_ERR_INVALID_ENVELOPE, "nonce");
	c.nonce[3] ^= 1;
	if (v->dir == ENVELOPE_RESPONSE) {
		c.reply[3] ^= 1;
		expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
		    PS_ERR_INVALID_ENVELOPE, "reply");
		c.reply[3] ^= 1;
	}
	/* The other direction reads another form. */
	c.dir = v->dir == ENVELOPE_REQUEST ? ENVELOPE_RESPONSE :
	    ENVELOPE_REQUEST;
	expect_open_fails(&c, v->msg, v->final, v->env, v->env_len,
	    PS_ERR_INVALID_ENVELOPE, "direction");
	envelope_wipe(&c);
}
END_TEST

/* Any byte of the ciphertext changed: refused, as malformed or as not
 * authentic, and nothing is released. */
START_TEST(test_tamper_bytes)
{
	const struct vec *v = &small[_i];
	size_t head = v->dir == ENVELOPE_REQUEST ? ENVELOPE_REQUEST_HEAD :
	    ENVELOPE_REPLY_HEAD, i;
	struct envelope_ctx c;
	struct buf out;
	char *t = strdup(v->env);
	pserr rc;

	ck_assert_ptr_nonnull(t);
	ctx_of(v, &c);
	for (i = 0; i < v->env_len; i++) {
		char was = t[i];

		t[i] = was == 'A' ? 'B' : 'A';
		if (i < head && (was == ':' || i < 4))
			t[i] = was == ':' ? '-' : 'q';
		buf_init(&out, OUT_MAX);
		rc = envelope_open(&c, v->msg, v->final, t, v->env_len, &out);
		ck_assert_msg(rc == PS_ERR_DECRYPT ||
		    rc == PS_ERR_INVALID_ENVELOPE, "%s: byte %zu changed: %s",
		    v->label, i, pserr_code(rc));
		ck_assert_uint_eq(out.len, 0);
		buf_free(&out);
		t[i] = was;
	}
	/* Cut at every length: too short, a base64url tail that is not
	 * canonical, or a tag that does not check. */
	for (i = 0; i < v->env_len; i++) {
		buf_init(&out, OUT_MAX);
		rc = envelope_open(&c, v->msg, v->final, v->env, i, &out);
		ck_assert_msg(i >= head + 27 ? rc == PS_ERR_DECRYPT ||
		    rc == PS_ERR_INVALID_ENVELOPE : rc ==
		    PS_ERR_INVALID_ENVELOPE, "%s: cut at %zu: %s", v->label, i,
		    pserr_code(rc));
		ck_assert_uint_eq(out.len, 0);
		buf_free(&out);
	}
	free(t);
	envelope_wipe(&c);
}
END_TEST

/* The output buffer's cap: content and padding that fit are accepted, one
 * byte less is PS_ERR_TOO_LARGE with the buffer untouched. */
START_TEST(test_output_caps)
{
	const struct vec *v = &small[_i];
	size_t padded = envelope_padded_len(v->content_len, v->bucket);
	struct envelope_ctx c;
	struct buf out;

	ctx_of(v, &c);
	buf_init(&out, SENTINEL_LEN + padded - ENVELOPE_MIN_PLAINTEXT);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_open(&c, v->msg, v->final, v->env,
	    v->env_len, &out), PS_OK);
	ck_assert_uint_eq(out.len, SENTINEL_LEN + v->content_len);
	buf_free(&out);
	if (padded > ENVELOPE_MIN_PLAINTEXT) {
		buf_init(&out, SENTINEL_LEN + padded - ENVELOPE_MIN_PLAINTEXT -
		    1);
		ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN),
		    PS_OK);
		ck_assert_int_eq(envelope_open(&c, v->msg, v->final, v->env,
		    v->env_len, &out), PS_ERR_TOO_LARGE);
		ck_assert_uint_eq(out.len, SENTINEL_LEN);
		buf_free(&out);
	}
	buf_init(&out, SENTINEL_LEN + v->env_len - 1);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(seal1(&c, v->msg, v->final, v->content,
	    v->content_len, v->bucket, &out), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, SENTINEL_LEN);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	buf_free(&out);
	envelope_wipe(&c);
}
END_TEST

START_TEST(test_padded_len)
{
	ck_assert_uint_eq(envelope_padded_len(0, 0), 4);
	ck_assert_uint_eq(envelope_padded_len(0, 1), 4);
	ck_assert_uint_eq(envelope_padded_len(5, 0), 9);
	ck_assert_uint_eq(envelope_padded_len(5, 256), 256);
	ck_assert_uint_eq(envelope_padded_len(252, 256), 256);
	ck_assert_uint_eq(envelope_padded_len(253, 256), 512);
	ck_assert_uint_eq(envelope_padded_len(0, 3), 6);
	ck_assert_uint_eq(envelope_padded_len(UINT32_MAX - 4, 0), UINT32_MAX);
	ck_assert_uint_eq(envelope_padded_len(UINT32_MAX - 3, 0), 0);
	ck_assert_uint_eq(envelope_padded_len(UINT32_MAX - 4, 256), 0);
	/* ps2: + kid + : + nonce + : + ct of 20 bytes (27 chars) */
	ck_assert_uint_eq(envelope_text_len(ENVELOPE_REQUEST, 0, 0), 60 + 27);
	ck_assert_uint_eq(envelope_text_len(ENVELOPE_RESPONSE, 0, 0), 83 + 27);
	ck_assert_uint_eq(envelope_text_len(ENVELOPE_RESPONSE, 1, 0), 83 + 28);
	ck_assert_uint_eq(envelope_text_len(ENVELOPE_REQUEST, 1, 256),
	    60 + CODEC_B64URL_LEN(272));
	ck_assert_uint_eq(envelope_text_len(ENVELOPE_REQUEST, UINT32_MAX, 0),
	    0);
}
END_TEST

/* Misuse is refused without output. */
START_TEST(test_misuse)
{
	struct envelope_ctx c = { 0 };
	struct envelope_part part = { "x", 1 };
	struct buf out;
	char path[ENVELOPE_BIND_MAX + 8];

	buf_init(&out, OUT_MAX);
	envelope_init(&c, ENVELOPE_REQUEST);
	/* Not keyed. */
	ck_assert_int_eq(envelope_seal(&c, 0, 0, &part, 1, 0, &out),
	    PS_ERR_ARG);
	ck_assert_int_eq(envelope_open(&c, 0, 0, small[0].env,
	    small[0].env_len, &out), PS_ERR_ARG);
	ck_assert_int_eq(envelope_derive(&c, small[0].secret), PS_OK);
	ck_assert_int_eq(envelope_seal(&c, 0, 0, &part, 1,
	    ENVELOPE_BUCKET_MAX + 1, &out), PS_ERR_ARG);
	ck_assert_int_eq(envelope_seal(&c, 0, 0, &part, 1, ENVELOPE_BUCKET_MAX,
	    &out), PS_OK);
	ck_assert_uint_eq(out.len, envelope_text_len(ENVELOPE_REQUEST, 1,
	    ENVELOPE_BUCKET_MAX));
	/* Binds that do not fit. */
	memset(path, '/', sizeof(path));
	ck_assert_int_eq(envelope_bind_request(&c, "POST", path,
	    ENVELOPE_BIND_MAX - 5), PS_OK);
	ck_assert_uint_eq(c.bind_len, ENVELOPE_BIND_MAX);
	ck_assert_int_eq(envelope_bind_request(&c, "POST", path,
	    ENVELOPE_BIND_MAX - 4), PS_ERR_ARG);
	ck_assert_int_eq(envelope_bind_reply(&c, 200, path,
	    ENVELOPE_BIND_MAX - 2), PS_OK);
	ck_assert_int_eq(envelope_bind_reply(&c, 200, path,
	    ENVELOPE_BIND_MAX - 1), PS_ERR_ARG);
	ck_assert_int_eq(envelope_bind_reply(&c, 99, "a", 1), PS_ERR_ARG);
	ck_assert_int_eq(envelope_bind_reply(&c, 1000, "a", 1), PS_ERR_ARG);
	ck_assert_int_eq(envelope_bind_reply(&c, 429, "text/x", 6), PS_OK);
	ck_assert_uint_eq(c.bind_len, 8);
	ck_assert_int_eq(c.bind[0], 429 >> 8);
	ck_assert_int_eq(c.bind[1], 429 & 0xff);
	ck_assert_int_eq(envelope_bind_request(&c, "GET", "/v1/models", 10),
	    PS_OK);
	ck_assert_mem_eq(c.bind, "GET\0/v1/models", 14);
	buf_free(&out);
	envelope_wipe(&c);
}
END_TEST

/* The thread's cached contexts may be dropped at any time. */
START_TEST(test_thread_wipe)
{
	const struct vec *v = &small[7];
	struct envelope_ctx c;
	struct buf out;

	ctx_of(v, &c);
	envelope_thread_wipe();
	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(seal1(&c, v->msg, v->final, v->content,
	    v->content_len, v->bucket, &out), PS_OK);
	ck_assert_mem_eq(out.p, v->env, v->env_len);
	envelope_thread_wipe();
	expect_open_ok(&c, v->msg, v->final, v->env, v->env_len, v->content,
	    v->content_len, "after wipe");
	envelope_thread_wipe();
	envelope_thread_wipe();
	buf_free(&out);
	envelope_wipe(&c);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc;

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vector_counts);
	tcase_add_loop_test(tc, test_gcm_nist, 0, (int)n_nist);
	tcase_add_loop_test(tc, test_derive_known_answer, 0, (int)n_keys);
	tcase_add_test(tc, test_derive_inputs);
	tcase_add_loop_test(tc, test_seal_known_answer, 0, (int)n_small);
	tcase_add_loop_test(tc, test_seal_parts, 0, (int)n_small);
	tcase_add_loop_test(tc, test_head, 0, (int)n_small);
	tcase_add_loop_test(tc, test_generated, 0, (int)n_generated);
	tcase_add_loop_test(tc, test_refused_known_answer, 0, (int)n_refused);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_padded_len);
	tcase_add_test(tc, test_misuse);
	tcase_add_test(tc, test_thread_wipe);
	tcase_add_loop_test(tc, test_output_caps, 0, (int)n_small);
	suite_add_tcase(s, tc);

	tc = tcase_create("tamper");
	tcase_add_loop_test(tc, test_tamper_binding, 0, (int)n_small);
	tcase_add_loop_test(tc, test_tamper_bytes, 0, (int)n_small);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (load("envelope.txt") != 0 || load("gcm_nist.txt") != 0)
		return 99;
	if (n_small == 0 || n_generated == 0 || n_nist == 0 || n_keys == 0 ||
	    n_refused == 0) {
		fprintf(stderr, "vector files are empty\n");
		return 99;
	}
	sr = srunner_create(envelope_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
