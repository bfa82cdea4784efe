/*
 * Unit tests of lib/seal/envelope.c (protocol.md sections 2 and 3).
 *
 * - AES-256-GCM itself is checked through OpenSSL EVP against a subset of
 *   the NIST CAVP vectors (vectors/gcm_nist.txt).
 * - envelope_open must reproduce the plaintext of every known-answer vector
 *   in vectors/envelope.txt, written by vectors/gen_envelope.py with an
 *   independent implementation.  Values too large to store are rebuilt
 *   here with EVP and compared by SHA-256 first.
 * - envelope_seal uses a random IV, so it is checked by form, length,
 *   freshness of the IV and a round trip through envelope_open.
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

/* Offsets of the parts in an envelope text. */
#define OFF_KID 4
#define OFF_NONCE 37
#define OFF_IV 60
#define OFF_CT 77

/* The numbers of vectors gen_envelope.py writes; a shorter file fails. */
#define N_SMALL 30
#define N_GENERATED 10
#define N_NIST_ENC 175
#define N_NIST_DEC 350

struct vec {
	char label[48];
	enum envelope_dir dir;
	uint32_t msg;
	int final;
	uint8_t *name;
	size_t name_len;
	uint8_t key[ENVELOPE_KEY_LEN];
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t nonce[ENVELOPE_NONCE_LEN];
	uint8_t iv[ENVELOPE_IV_LEN];
	/* 'v' lines */
	uint8_t *pt;
	size_t pt_len;
	char *env;
	size_t env_len;
	/* 'g' lines */
	uint8_t pt_sha[32];
	uint8_t env_sha[32];
};

struct nist {
	int encrypt;
	int fail;
	uint8_t key[32];
	uint8_t iv[12];
	uint8_t *pt, *aad, *ct, *tag;
	size_t pt_len, aad_len, ct_len, tag_len;
};

static struct vec small[64], generated[16];
static size_t n_small, n_generated;
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

static void
sha256(const void *p, size_t n, uint8_t md[32])
{
	unsigned int mdlen = 0;

	ck_assert_int_eq(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(mdlen, 32);
}

/* base64url without padding through OpenSSL's encoder, independent of
 * lib/core/codec.c. */
static char *
ref_b64url(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	size_t i, len;

	ck_assert_ptr_nonnull(s);
	len = (size_t)EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	while (len > 0 && s[len - 1] == '=')
		len--;
	s[len] = '\0';
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	return s;
}

static uint8_t *
b64url_decode_all(const char *s, size_t n, size_t *len)
{
	uint8_t *out;
	size_t got = 0;

	out = malloc(n + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(codec_b64url_decode(s, n, out, n + 1, &got), PS_OK);
	*len = got;
	return out;
}

static void
ctx_of(const struct vec *v, struct envelope_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->key = v->key;
	memcpy(c->kid, v->kid, sizeof(c->kid));
	memcpy(c->nonce, v->nonce, sizeof(c->nonce));
	c->dir = v->dir;
	c->msg = v->msg;
	c->final = v->final;
}

/* The envelope text of pt as protocol.md sections 2-3 define it, built
 * with one EVP pass and OpenSSL's base64. */
static char *
ref_seal(const struct vec *v, const uint8_t *pt, size_t pt_len)
{
	uint8_t aad[42], *ct;
	char *kid, *nonce, *iv, *cts, *text;
	EVP_CIPHER_CTX *x;
	size_t i, tlen;
	int outl = 0, finl = 0;

	memcpy(aad, "ps1\0", 4);
	aad[4] = (uint8_t)v->dir;
	memcpy(aad + 5, v->kid, 16);
	memcpy(aad + 21, v->nonce, 16);
	aad[37] = (uint8_t)(v->msg >> 24);
	aad[38] = (uint8_t)(v->msg >> 16);
	aad[39] = (uint8_t)(v->msg >> 8);
	aad[40] = (uint8_t)v->msg;
	aad[41] = (uint8_t)v->final;
	ct = malloc(pt_len + 16);
	ck_assert_ptr_nonnull(ct);
	x = EVP_CIPHER_CTX_new();
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, v->key,
	    v->iv), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(x, NULL, &outl, aad, 42), 1);
	if (v->name_len > 0)
		ck_assert_int_eq(EVP_EncryptUpdate(x, NULL, &outl, v->name,
		    (int)v->name_len), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(x, ct, &outl, pt, (int)pt_len), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(x, ct + outl, &finl), 1);
	ck_assert_uint_eq((size_t)outl + (size_t)finl, pt_len);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16,
	    ct + pt_len), 1);
	EVP_CIPHER_CTX_free(x);

	kid = malloc(33);
	ck_assert_ptr_nonnull(kid);
	for (i = 0; i < 16; i++)
		snprintf(kid + 2 * i, 3, "%02x", v->kid[i]);
	nonce = ref_b64url(v->nonce, 16);
	iv = ref_b64url(v->iv, 12);
	cts = ref_b64url(ct, pt_len + 16);
	tlen = 4 + 32 + 1 + strlen(nonce) + 1 + strlen(iv) + 1 + strlen(cts);
	text = malloc(tlen + 1);
	ck_assert_ptr_nonnull(text);
	snprintf(text, tlen + 1, "ps1:%s:%s:%s:%s", kid, nonce, iv, cts);
	free(kid);
	free(nonce);
	free(iv);
	free(cts);
	free(ct);
	return text;
}

/* The plaintext of a 'g' line: a JSON string of a..z repeated, n bytes. */
static uint8_t *
gen_plaintext(size_t n)
{
	uint8_t *p = malloc(n);
	size_t i;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(n, 2);
	p[0] = '"';
	for (i = 1; i + 1 < n; i++)
		p[i] = (uint8_t)('a' + (i - 1) % 26);
	p[n - 1] = '"';
	return p;
}

/* A copy of s (n bytes) with len bytes at off replaced by the n2 bytes of
 * with. */
static char *
splice(const char *s, size_t n, size_t off, size_t len, const char *with,
    size_t n2, size_t *outlen)
{
	char *r = malloc(n - len + n2 + 1);

	ck_assert_ptr_nonnull(r);
	ck_assert_uint_le(off + len, n);
	memcpy(r, s, off);
	memcpy(r + off, with, n2);
	memcpy(r + off + n2, s + off + len, n - off - len);
	*outlen = n - len + n2;
	r[*outlen] = '\0';
	return r;
}

/* Open s under c with the output buffer holding a sentinel; expect want
 * and the buffer exactly as before. */
static void
expect_open_fails(const struct envelope_ctx *c, const void *name,
    size_t name_len, const char *s, size_t n, pserr want, const char *what)
{
	struct buf out;
	pserr rc;

	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	rc = envelope_open(c, name, name_len, s, n, &out);
	ck_assert_msg(rc == want, "%s: envelope_open gave %s, want %s", what,
	    pserr_code(rc), pserr_code(want));
	ck_assert_uint_eq(out.len, SENTINEL_LEN);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	buf_free(&out);
}

/* Open s under c and expect the plaintext pt after a sentinel. */
static void
expect_open_ok(const struct envelope_ctx *c, const void *name,
    size_t name_len, const char *s, size_t n, const uint8_t *pt,
    size_t pt_len, const char *what)
{
	struct buf out;
	pserr rc;

	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	rc = envelope_open(c, name, name_len, s, n, &out);
	ck_assert_msg(rc == PS_OK, "%s: envelope_open gave %s", what,
	    pserr_code(rc));
	ck_assert_uint_eq(out.len, SENTINEL_LEN + pt_len);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	if (pt_len > 0)
		ck_assert_mem_eq(out.p + SENTINEL_LEN, pt, pt_len);
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
parse_vec_line(char **f, size_t nf, struct vec *v)
{
	unsigned long msg;
	char *end;

	if ((f[0][0] == 'v' && nf != 12) || (f[0][0] == 'g' && nf != 14))
		return -1;
	if (strlen(f[1]) >= sizeof(v->label))
		return -1;
	strcpy(v->label, f[1]);
	if (parse_dir(f[2], &v->dir) != 0)
		return -1;
	msg = strtoul(f[3], &end, 10);
	if (*end != '\0' || msg > UINT32_MAX)
		return -1;
	v->msg = (uint32_t)msg;
	if (strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0)
		return -1;
	v->final = f[4][0] == '1';
	if (unhex(f[5], &v->name, &v->name_len) != 0 ||
	    unhex_fixed(f[6], v->key, sizeof(v->key)) != 0 ||
	    unhex_fixed(f[7], v->kid, sizeof(v->kid)) != 0 ||
	    unhex_fixed(f[8], v->nonce, sizeof(v->nonce)) != 0 ||
	    unhex_fixed(f[9], v->iv, sizeof(v->iv)) != 0)
		return -1;
	if (f[0][0] == 'v') {
		if (unhex(f[10], &v->pt, &v->pt_len) != 0)
			return -1;
		if ((v->env = strdup(f[11])) == NULL)
			return -1;
		v->env_len = strlen(v->env);
	} else {
		v->pt_len = strtoul(f[10], &end, 10);
		if (*end != '\0')
			return -1;
		v->env_len = strtoul(f[12], &end, 10);
		if (*end != '\0')
			return -1;
		if (unhex_fixed(f[11], v->pt_sha, 32) != 0 ||
		    unhex_fixed(f[13], v->env_sha, 32) != 0)
			return -1;
	}
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
		if (nf == 0)
			goto bad;
		if (strcmp(f[0], "v") == 0 && n_small < 64) {
			if (parse_vec_line(f, nf, &small[n_small++]) != 0)
				goto bad;
		} else if (strcmp(f[0], "g") == 0 && n_generated < 16) {
			if (parse_vec_line(f, nf, &generated[n_generated++]) != 0)
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

	ck_assert_uint_eq(n_small, N_SMALL);
	ck_assert_uint_eq(n_generated, N_GENERATED);
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

/* Every stored vector opens to exactly its plaintext, and its text has the
 * length envelope_text_len promises. */
START_TEST(test_open_known_answer)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	char *ref;

	ctx_of(v, &c);
	ck_assert_uint_eq(v->env_len, envelope_text_len(v->pt_len));
	/* The test's own builder agrees with the generator. */
	ref = ref_seal(v, v->pt, v->pt_len);
	ck_assert_str_eq(ref, v->env);
	free(ref);
	expect_open_ok(&c, v->name, v->name_len, v->env, v->env_len, v->pt,
	    v->pt_len, v->label);
	ck_assert_int_eq(envelope_peek(v->env, v->env_len, kid, nonce), PS_OK);
	ck_assert_mem_eq(kid, v->kid, sizeof(kid));
	ck_assert_mem_eq(nonce, v->nonce, sizeof(nonce));
}
END_TEST

/* The output buffer's cap: plaintext that fits exactly is accepted, one
 * byte less is PS_ERR_TOO_LARGE with the buffer untouched. */
START_TEST(test_open_output_cap)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;
	struct buf out;

	ctx_of(v, &c);
	buf_init(&out, SENTINEL_LEN + v->pt_len);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_open(&c, (const char *)v->name, v->name_len,
	    v->env, v->env_len, &out), PS_OK);
	ck_assert_uint_eq(out.len, SENTINEL_LEN + v->pt_len);
	ck_assert_mem_eq(out.p + SENTINEL_LEN, v->pt, v->pt_len);
	buf_free(&out);

	buf_init(&out, SENTINEL_LEN + v->pt_len - 1);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_open(&c, (const char *)v->name, v->name_len,
	    v->env, v->env_len, &out), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, SENTINEL_LEN);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	buf_free(&out);
}
END_TEST

/* Seal: exact form and length, fresh IV, and a round trip. */
START_TEST(test_seal_round_trip)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;
	struct buf a, b;
	const size_t want = envelope_text_len(v->pt_len);
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN], *raw;
	size_t i, rawlen;

	ctx_of(v, &c);
	buf_init(&a, OUT_MAX);
	buf_init(&b, OUT_MAX);
	ck_assert_int_eq(buf_append(&a, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_seal(&c, (const char *)v->name, v->name_len,
	    v->pt, v->pt_len, &a), PS_OK);
	ck_assert_int_eq(envelope_seal(&c, (const char *)v->name, v->name_len,
	    v->pt, v->pt_len, &b), PS_OK);
	ck_assert_uint_eq(a.len, SENTINEL_LEN + want);
	ck_assert_uint_eq(b.len, want);
	ck_assert_uint_eq(want, v->env_len);
	ck_assert_mem_eq(a.p, SENTINEL, SENTINEL_LEN);

	/* Prefix, kid and nonce are those of the vector; then the IV. */
	ck_assert_mem_eq(a.p + SENTINEL_LEN, v->env, OFF_IV);
	ck_assert_mem_eq(b.p, v->env, OFF_IV);
	ck_assert_int_eq(a.p[SENTINEL_LEN + OFF_CT - 1], ':');
	for (i = OFF_IV; i < want; i++) {
		char ch = b.p[i];

		if (i == OFF_CT - 1)
			continue;
		ck_assert_msg((ch >= 'A' && ch <= 'Z') || (ch >= 'a' &&
		    ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_', "byte %zu of a sealed text is 0x%02x", i,
		    (unsigned char)ch);
	}
	/* Two seals of the same input draw different IVs, so differ. */
	ck_assert_int_ne(memcmp(a.p + SENTINEL_LEN + OFF_IV, b.p + OFF_IV, 16),
	    0);
	ck_assert_int_ne(memcmp(a.p + SENTINEL_LEN + OFF_CT, b.p + OFF_CT,
	    want - OFF_CT), 0);
	/* The ciphertext part decodes to pt_len + tag bytes. */
	raw = b64url_decode_all(b.p + OFF_CT, want - OFF_CT, &rawlen);
	ck_assert_uint_eq(rawlen, v->pt_len + ENVELOPE_TAG_LEN);
	free(raw);

	ck_assert_int_eq(envelope_peek(b.p, b.len, kid, nonce), PS_OK);
	ck_assert_mem_eq(kid, v->kid, sizeof(kid));
	ck_assert_mem_eq(nonce, v->nonce, sizeof(nonce));
	expect_open_ok(&c, v->name, v->name_len, a.p + SENTINEL_LEN, want,
	    v->pt, v->pt_len, "seal a");
	expect_open_ok(&c, v->name, v->name_len, b.p, b.len, v->pt, v->pt_len,
	    "seal b");
	/* What was sealed for one place does not open in another. */
	c.dir = v->dir == ENVELOPE_REQUEST ? ENVELOPE_RESPONSE :
	    ENVELOPE_REQUEST;
	expect_open_fails(&c, v->name, v->name_len, b.p, b.len, PS_ERR_DECRYPT,
	    "sealed, other dir");
	buf_free(&a);
	buf_free(&b);
}
END_TEST

/* Seal into a buffer without room: PS_ERR_TOO_LARGE, buffer untouched;
 * with exactly enough room it succeeds. */
START_TEST(test_seal_output_cap)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;
	struct buf out;

	ctx_of(v, &c);
	buf_init(&out, SENTINEL_LEN + v->env_len - 1);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_seal(&c, (const char *)v->name, v->name_len,
	    v->pt, v->pt_len, &out), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, SENTINEL_LEN);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	buf_free(&out);

	buf_init(&out, SENTINEL_LEN + v->env_len);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_seal(&c, (const char *)v->name, v->name_len,
	    v->pt, v->pt_len, &out), PS_OK);
	ck_assert_uint_eq(out.len, SENTINEL_LEN + v->env_len);
	buf_free(&out);
}
END_TEST

/* Every input of the AAD is bound: change one and authentication fails.
 * A kid or nonce other than the context's is refused before decrypting;
 * with the text rewritten to match the context it fails to authenticate. */
START_TEST(test_tamper_aad)
{
	const struct vec *v = &small[_i];
	const char *name = (const char *)v->name;
	struct envelope_ctx c;
	uint8_t key2[ENVELOPE_KEY_LEN];
	char namebuf[128], hex[33], *t;
	size_t i, tn;

	ck_assert_uint_lt(v->name_len + 2, sizeof(namebuf));

	ctx_of(v, &c);
	c.dir = v->dir == ENVELOPE_REQUEST ? ENVELOPE_RESPONSE :
	    ENVELOPE_REQUEST;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_DECRYPT, "direction");

	ctx_of(v, &c);
	c.msg = v->msg + 1;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_DECRYPT, "msg + 1");
	c.msg = v->msg ^ 0x80000000u;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_DECRYPT, "msg top bit");
	c.msg = v->msg ^ 0x100u;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_DECRYPT, "msg bit 8");

	ctx_of(v, &c);
	c.final = !v->final;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_DECRYPT, "final");

	/* Member name: another, longer, shorter, case changed, empty. */
	ctx_of(v, &c);
	expect_open_fails(&c, "other-member", 12, v->env, v->env_len,
	    PS_ERR_DECRYPT, "name other");
	memcpy(namebuf, v->name, v->name_len);
	namebuf[v->name_len] = 's';
	expect_open_fails(&c, namebuf, v->name_len + 1, v->env, v->env_len,
	    PS_ERR_DECRYPT, "name longer");
	namebuf[v->name_len] = '\0';
	expect_open_fails(&c, namebuf, v->name_len + 1, v->env, v->env_len,
	    PS_ERR_DECRYPT, "name with NUL");
	if (v->name_len > 0) {
		expect_open_fails(&c, name, v->name_len - 1, v->env, v->env_len,
		    PS_ERR_DECRYPT, "name shorter");
		expect_open_fails(&c, "", 0, v->env, v->env_len, PS_ERR_DECRYPT,
		    "name empty");
		expect_open_fails(&c, NULL, 0, v->env, v->env_len,
		    PS_ERR_DECRYPT, "name NULL");
		memcpy(namebuf, v->name, v->name_len);
		namebuf[0] ^= 0x20;
		expect_open_fails(&c, namebuf, v->name_len, v->env, v->env_len,
		    PS_ERR_DECRYPT, "name case");
	}

	/* Key. */
	memcpy(key2, v->key, sizeof(key2));
	key2[31] ^= 1;
	c.key = key2;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_DECRYPT, "key");

	/* kid and nonce that do not match the context. */
	ctx_of(v, &c);
	c.kid[0] ^= 0x10;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_INVALID_ENVELOPE, "ctx kid");
	ctx_of(v, &c);
	c.nonce[15] ^= 0x01;
	expect_open_fails(&c, name, v->name_len, v->env, v->env_len,
	    PS_ERR_INVALID_ENVELOPE, "ctx nonce");

	/* The same, with the text rewritten to carry the context's kid or
	 * nonce, so only the AAD differs. */
	ctx_of(v, &c);
	c.kid[0] ^= 0x10;
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", c.kid[i]);
	t = splice(v->env, v->env_len, OFF_KID, 32, hex, 32, &tn);
	expect_open_fails(&c, name, v->name_len, t, tn, PS_ERR_DECRYPT,
	    "kid rewritten");
	free(t);

	ctx_of(v, &c);
	c.nonce[15] ^= 0x10;
	{
		char *nb = ref_b64url(c.nonce, 16);

		t = splice(v->env, v->env_len, OFF_NONCE, 22, nb, 22, &tn);
		free(nb);
	}
	expect_open_fails(&c, name, v->name_len, t, tn, PS_ERR_DECRYPT,
	    "nonce rewritten");
	free(t);
}
END_TEST

/* Any flipped bit in the IV, the ciphertext or the tag fails to
 * authenticate. */
START_TEST(test_tamper_bits)
{
	const struct vec *v = &small[_i];
	struct envelope_ctx c;
	uint8_t iv[ENVELOPE_IV_LEN], *ct;
	size_t ctlen, i, tn;
	char *enc, *t, what[64];

	ctx_of(v, &c);
	for (i = 0; i < 8 * ENVELOPE_IV_LEN; i++) {
		memcpy(iv, v->iv, sizeof(iv));
		iv[i / 8] ^= (uint8_t)(1u << (i % 8));
		enc = ref_b64url(iv, sizeof(iv));
		t = splice(v->env, v->env_len, OFF_IV, 16, enc, 16, &tn);
		snprintf(what, sizeof(what), "iv bit %zu", i);
		expect_open_fails(&c, v->name, v->name_len, t, tn,
		    PS_ERR_DECRYPT, what);
		free(enc);
		free(t);
	}
	ct = b64url_decode_all(v->env + OFF_CT, v->env_len - OFF_CT, &ctlen);
	ck_assert_uint_eq(ctlen, v->pt_len + ENVELOPE_TAG_LEN);
	for (i = 0; i < 8 * ctlen; i++) {
		ct[i / 8] ^= (uint8_t)(1u << (i % 8));
		enc = ref_b64url(ct, ctlen);
		ct[i / 8] ^= (uint8_t)(1u << (i % 8));
		t = splice(v->env, v->env_len, OFF_CT, v->env_len - OFF_CT, enc,
		    strlen(enc), &tn);
		snprintf(what, sizeof(what), "%s bit %zu",
		    i / 8 < v->pt_len ? "ciphertext" : "tag", i);
		expect_open_fails(&c, v->name, v->name_len, t, tn,
		    PS_ERR_DECRYPT, what);
		free(enc);
		free(t);
	}
	/* Well-formed but longer or shorter ciphertexts, a bare tag. */
	t = splice(v->env, v->env_len, v->env_len, 0, "AAAA", 4, &tn);
	expect_open_fails(&c, v->name, v->name_len, t, tn, PS_ERR_DECRYPT,
	    "ct + 3 bytes");
	free(t);
	enc = ref_b64url(ct, ctlen - 1);
	t = splice(v->env, v->env_len, OFF_CT, v->env_len - OFF_CT, enc,
	    strlen(enc), &tn);
	expect_open_fails(&c, v->name, v->name_len, t, tn, PS_ERR_DECRYPT,
	    "ct - 1 byte");
	free(enc);
	free(t);
	enc = ref_b64url(ct + ctlen - ENVELOPE_TAG_LEN, ENVELOPE_TAG_LEN);
	t = splice(v->env, v->env_len, OFF_CT, v->env_len - OFF_CT, enc,
	    strlen(enc), &tn);
	expect_open_fails(&c, v->name, v->name_len, t, tn, PS_ERR_DECRYPT,
	    "tag only");
	free(enc);
	free(t);
	free(ct);
}
END_TEST

/* Malformed texts, built from a good one.  Each must be refused as
 * PS_ERR_INVALID_ENVELOPE by envelope_open (and by envelope_peek). */
struct mcase {
	char what[64];
	char *s;
	size_t n;
};

#define MAX_MCASES 160

static void
madd(struct mcase *m, size_t *k, const char *what, char *s, size_t n)
{
	ck_assert_uint_lt(*k, MAX_MCASES);
	snprintf(m[*k].what, sizeof(m[*k].what), "%s", what);
	m[*k].s = s;
	m[*k].n = n;
	(*k)++;
}

/* Replace len bytes at off of the vector's text. */
static void
mrep(struct mcase *m, size_t *k, const struct vec *v, const char *what,
    size_t off, size_t len, const char *with, size_t n2)
{
	size_t n;
	char *s = splice(v->env, v->env_len, off, len, with, n2, &n);

	madd(m, k, what, s, n);
}

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t
malformed_cases(const struct vec *v, struct mcase *m)
{
	static const char bad[] = {'+', '/', '=', ' ', '\0', '\n', '.', ':',
	    '"', (char)0x80, (char)0xff};
	const size_t ctn = v->env_len - OFF_CT;
	char what[64], ch, *s;
	size_t k = 0, i, pos[5], j, n;
	const char *p;

	madd(m, &k, "empty", strdup(""), 0);
	/* Prefix. */
	mrep(m, &k, v, "prefix ps2:", 0, 4, "ps2:", 4);
	mrep(m, &k, v, "prefix PS1:", 0, 4, "PS1:", 4);
	mrep(m, &k, v, "prefix Ps1:", 0, 4, "Ps1:", 4);
	mrep(m, &k, v, "prefix ps1;", 0, 4, "ps1;", 4);
	mrep(m, &k, v, "prefix ps1", 0, 4, "ps1", 3);
	mrep(m, &k, v, "no prefix", 0, 4, "", 0);
	mrep(m, &k, v, "prefix ps10:", 0, 4, "ps10:", 5);
	mrep(m, &k, v, "leading space", 0, 0, " ", 1);
	mrep(m, &k, v, "leading quote", 0, 0, "\"", 1);
	/* Part lengths. */
	mrep(m, &k, v, "kid 31 hex", OFF_KID, 1, "", 0);
	mrep(m, &k, v, "kid 33 hex", OFF_KID, 0, "0", 1);
	mrep(m, &k, v, "kid 30 hex", OFF_KID, 2, "", 0);
	mrep(m, &k, v, "kid 34 hex", OFF_KID, 0, "00", 2);
	mrep(m, &k, v, "nonce 21", OFF_NONCE, 1, "", 0);
	mrep(m, &k, v, "nonce 23", OFF_NONCE, 0, "A", 1);
	mrep(m, &k, v, "nonce 24", OFF_NONCE, 0, "AA", 2);
	mrep(m, &k, v, "iv 15", OFF_IV, 1, "", 0);
	mrep(m, &k, v, "iv 17", OFF_IV, 0, "A", 1);
	mrep(m, &k, v, "iv 20", OFF_IV, 0, "AAAA", 4);
	mrep(m, &k, v, "ct empty", OFF_CT, ctn, "", 0);
	mrep(m, &k, v, "ct 20 chars (15 bytes)", OFF_CT, ctn,
	    "AAAAAAAAAAAAAAAAAAAA", 20);
	mrep(m, &k, v, "ct 21 chars", OFF_CT, ctn,
	    "AAAAAAAAAAAAAAAAAAAAA", 21);
	mrep(m, &k, v, "ct first 20 chars", OFF_CT + 20, ctn - 20, "", 0);
	/* Ciphertext of length 1 mod 4, by growing and by shrinking. */
	for (j = 1; (ctn + j) % 4 != 1; j++)
		;
	mrep(m, &k, v, "ct grown to 1 mod 4", v->env_len, 0, "AAAA", j);
	for (j = 1; (ctn - j) % 4 != 1; j++)
		;
	mrep(m, &k, v, "ct shrunk to 1 mod 4", v->env_len - j, j, "", 0);
	/* Number of parts. */
	mrep(m, &k, v, "no ':' before ct", OFF_CT - 1, 1, "", 0);
	mrep(m, &k, v, "no iv", OFF_IV, 17, "", 0);
	mrep(m, &k, v, "no kid", OFF_KID, 33, "", 0);
	mrep(m, &k, v, "no ct", OFF_CT - 1, ctn + 1, "", 0);
	mrep(m, &k, v, "only prefix", 4, v->env_len - 4, "", 0);
	mrep(m, &k, v, "trailing ':'", v->env_len, 0, ":", 1);
	mrep(m, &k, v, "extra part", v->env_len, 0, ":AAAA", 5);
	mrep(m, &k, v, "extra part of a tag", v->env_len, 0,
	    ":AAAAAAAAAAAAAAAAAAAAAA", 23);
	mrep(m, &k, v, "extra ':' after prefix", 4, 0, ":", 1);
	mrep(m, &k, v, "':' in ct", OFF_CT + 4, 0, ":", 1);
	mrep(m, &k, v, "'.' as separator", OFF_NONCE - 1, 1, ".", 1);
	mrep(m, &k, v, "parts swapped", OFF_NONCE, 39,
	    v->env + OFF_IV, 16);
	/* Trailing bytes. */
	mrep(m, &k, v, "trailing LF", v->env_len, 0, "\n", 1);
	mrep(m, &k, v, "trailing NUL", v->env_len, 0, "", 1);
	mrep(m, &k, v, "trailing quote", v->env_len, 0, "\"", 1);
	mrep(m, &k, v, "trailing '='", v->env_len, 0, "=", 1);
	mrep(m, &k, v, "trailing '=='", v->env_len, 0, "==", 2);
	/* Kid: uppercase hex and non-hex. */
	mrep(m, &k, v, "kid uppercase A", OFF_KID + 31, 1, "A", 1);
	mrep(m, &k, v, "kid uppercase F", OFF_KID, 1, "F", 1);
	mrep(m, &k, v, "kid 'g'", OFF_KID + 7, 1, "g", 1);
	mrep(m, &k, v, "kid space", OFF_KID + 7, 1, " ", 1);
	mrep(m, &k, v, "kid '-'", OFF_KID + 7, 1, "-", 1);
	for (p = v->env + OFF_KID; p < v->env + OFF_KID + 32; p++) {
		if (*p >= 'a' && *p <= 'f') {
			ch = (char)(*p - 'a' + 'A');
			mrep(m, &k, v, "kid uppercased", (size_t)(p - v->env),
			    1, &ch, 1);
			break;
		}
	}
	/* Bytes outside the base64url alphabet in nonce, iv and ct. */
	pos[0] = OFF_NONCE;
	pos[1] = OFF_NONCE + 21;
	pos[2] = OFF_IV + 7;
	pos[3] = OFF_CT;
	pos[4] = v->env_len - 1;
	for (i = 0; i < sizeof(bad); i++) {
		for (j = 0; j < 5; j++) {
			snprintf(what, sizeof(what), "byte 0x%02x at %zu",
			    (unsigned char)bad[i], pos[j]);
			mrep(m, &k, v, what, pos[j], 1, &bad[i], 1);
		}
	}
	/* Non-canonical trailing bits: the nonce's 22 chars leave 4 unused
	 * bits, a ciphertext of 2 or 3 mod 4 chars leaves 4 or 2. */
	p = strchr(b64url_chars, v->env[OFF_NONCE + 21]);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq((p - b64url_chars) & 15, 0);
	ch = b64url_chars[(p - b64url_chars) | 1];
	mrep(m, &k, v, "nonce non-canonical", OFF_NONCE + 21, 1, &ch, 1);
	ch = b64url_chars[(p - b64url_chars) | 8];
	mrep(m, &k, v, "nonce non-canonical 8", OFF_NONCE + 21, 1, &ch, 1);
	if (ctn % 4 != 0) {
		unsigned mask = ctn % 4 == 2 ? 15 : 3;

		p = strchr(b64url_chars, v->env[v->env_len - 1]);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq((unsigned)(p - b64url_chars) & mask, 0);
		ch = b64url_chars[(p - b64url_chars) | 1];
		mrep(m, &k, v, "ct non-canonical", v->env_len - 1, 1, &ch, 1);
		ch = b64url_chars[(unsigned)(p - b64url_chars) | (mask + 1) / 2];
		mrep(m, &k, v, "ct non-canonical high", v->env_len - 1, 1, &ch,
		    1);
	}
	/* The whole text with its padding restored, as standard base64
	 * would write it. */
	if (ctn % 4 != 0) {
		n = 4 - ctn % 4;
		s = splice(v->env, v->env_len, v->env_len, 0, "==", n, &n);
		madd(m, &k, "ct padded", s, n);
	}
	return k;
}

START_TEST(test_open_malformed)
{
	const struct vec *v = &small[_i];
	struct mcase m[MAX_MCASES];
	struct envelope_ctx c;
	size_t n, i;

	ctx_of(v, &c);
	n = malformed_cases(v, m);
	ck_assert_uint_ge(n, 100);
	for (i = 0; i < n; i++) {
		expect_open_fails(&c, v->name, v->name_len, m[i].s, m[i].n,
		    PS_ERR_INVALID_ENVELOPE, m[i].what);
		free(m[i].s);
	}
}
END_TEST

/* envelope_peek checks the form of the whole text, not only the parts it
 * returns: a text it accepts is never refused as malformed later. */
START_TEST(test_peek_malformed)
{
	const struct vec *v = &small[_i];
	struct mcase m[MAX_MCASES];
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	size_t n, i;
	pserr rc;

	n = malformed_cases(v, m);
	for (i = 0; i < n; i++) {
		rc = envelope_peek(m[i].s, m[i].n, kid, nonce);
		ck_assert_msg(rc == PS_ERR_INVALID_ENVELOPE,
		    "%s: envelope_peek gave %s", m[i].what, pserr_code(rc));
		free(m[i].s);
	}
}
END_TEST

/* Values too large to store: rebuild the envelope with EVP, check it
 * against the generator's SHA-256, then open it across the slices
 * envelope.c works in. */
START_TEST(test_open_generated)
{
	const struct vec *v = &generated[_i];
	struct envelope_ctx c;
	struct buf out;
	uint8_t *pt, md[32], kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	char *env, *t;
	size_t tn, ctn, k;
	static const size_t flips[] = {0, 1, 16383, 16384, 16385};

	ctx_of(v, &c);
	pt = gen_plaintext(v->pt_len);
	sha256(pt, v->pt_len, md);
	ck_assert_mem_eq(md, v->pt_sha, 32);
	env = ref_seal(v, pt, v->pt_len);
	ck_assert_uint_eq(strlen(env), v->env_len);
	ck_assert_uint_eq(envelope_text_len(v->pt_len), v->env_len);
	sha256(env, v->env_len, md);
	ck_assert_mem_eq(md, v->env_sha, 32);
	ck_assert_int_eq(envelope_peek(env, v->env_len, kid, nonce), PS_OK);
	ck_assert_mem_eq(kid, v->kid, sizeof(kid));
	ck_assert_mem_eq(nonce, v->nonce, sizeof(nonce));

	buf_init(&out, v->pt_len + SENTINEL_LEN);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_open(&c, (const char *)v->name, v->name_len,
	    env, v->env_len, &out), PS_OK);
	ck_assert_uint_eq(out.len, SENTINEL_LEN + v->pt_len);
	ck_assert_mem_eq(out.p, SENTINEL, SENTINEL_LEN);
	sha256(out.p + SENTINEL_LEN, v->pt_len, md);
	ck_assert_mem_eq(md, v->pt_sha, 32);
	buf_free(&out);

	/* One byte short of room. */
	buf_init(&out, v->pt_len + SENTINEL_LEN - 1);
	ck_assert_int_eq(buf_append(&out, SENTINEL, SENTINEL_LEN), PS_OK);
	ck_assert_int_eq(envelope_open(&c, (const char *)v->name, v->name_len,
	    env, v->env_len, &out), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(out.len, SENTINEL_LEN);
	buf_free(&out);

	/* The tag may straddle two slices: flip its first and last bits. */
	{
		uint8_t *ct;
		char *enc;

		ct = b64url_decode_all(env + OFF_CT, v->env_len - OFF_CT, &ctn);
		ck_assert_uint_eq(ctn, v->pt_len + ENVELOPE_TAG_LEN);
		for (k = 0; k < 4; k++) {
			size_t bit = k == 0 ? 8 * v->pt_len :
			    k == 1 ? 8 * ctn - 1 :
			    k == 2 ? 8 * (v->pt_len - 1) : 7;

			ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			enc = ref_b64url(ct, ctn);
			ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			t = splice(env, v->env_len, OFF_CT, v->env_len - OFF_CT,
			    enc, strlen(enc), &tn);
			expect_open_fails(&c, v->name, v->name_len, t, tn,
			    PS_ERR_DECRYPT, "generated bit flip");
			free(enc);
			free(t);
		}
		free(ct);
	}
	/* A bad character after some plaintext has been decrypted: the
	 * partial output must be withdrawn. */
	ctn = v->env_len - OFF_CT;
	for (k = 0; k < sizeof(flips) / sizeof(flips[0]); k++) {
		if (flips[k] >= ctn)
			continue;
		t = splice(env, v->env_len, OFF_CT + flips[k], 1, "+", 1, &tn);
		expect_open_fails(&c, v->name, v->name_len, t, tn,
		    PS_ERR_INVALID_ENVELOPE, "generated bad char");
		ck_assert_int_eq(envelope_peek(t, tn, kid, nonce),
		    PS_ERR_INVALID_ENVELOPE);
		free(t);
	}
	t = splice(env, v->env_len, v->env_len - 1, 1, "=", 1, &tn);
	expect_open_fails(&c, v->name, v->name_len, t, tn,
	    PS_ERR_INVALID_ENVELOPE, "generated bad last char");
	free(t);
	c.msg ^= 1;
	expect_open_fails(&c, v->name, v->name_len, env, v->env_len,
	    PS_ERR_DECRYPT, "generated msg");
	c.msg ^= 1;

	/* Seal the same value and open it again. */
	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(envelope_seal(&c, (const char *)v->name, v->name_len,
	    pt, v->pt_len, &out), PS_OK);
	ck_assert_uint_eq(out.len, v->env_len);
	ck_assert_mem_eq(out.p, env, OFF_IV);
	expect_open_ok(&c, v->name, v->name_len, out.p, out.len, pt,
	    v->pt_len, "generated seal");
	buf_free(&out);
	free(env);
	free(pt);
}
END_TEST

/* envelope_text_len is the length of ps1:kid:nonce:iv:ct for n bytes. */
START_TEST(test_text_len)
{
	static const struct {
		size_t n, len;
	} t[] = {
		/* 77 header chars + base64url of n + 16 bytes */
		{0, 77 + 22}, {1, 77 + 23}, {2, 77 + 24}, {3, 77 + 26},
		{4, 77 + 27}, {5, 77 + 28}, {12272, 77 + 16384},
		{1048576, 77 + 1398123},
	};
	size_t i;

	ck_assert_uint_eq(ENVELOPE_HEADER_LEN, 77);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_uint_eq(envelope_text_len(t[i].n), t[i].len);
}
END_TEST

/* An empty plaintext is not a JSON text, but the envelope layer carries
 * whatever bytes it is given. */
START_TEST(test_seal_empty)
{
	struct vec v = small[0];
	struct envelope_ctx c;
	struct buf out;

	ctx_of(&v, &c);
	buf_init(&out, OUT_MAX);
	ck_assert_int_eq(envelope_seal(&c, "x", 1, "", 0, &out), PS_OK);
	ck_assert_uint_eq(out.len, envelope_text_len(0));
	expect_open_ok(&c, "x", 1, out.p, out.len, NULL, 0, "empty");
	buf_free(&out);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc;

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vector_counts);
	tcase_add_test(tc, test_text_len);
	tcase_add_loop_test(tc, test_gcm_nist, 0, (int)n_nist);
	tcase_add_loop_test(tc, test_open_known_answer, 0, (int)n_small);
	tcase_add_loop_test(tc, test_open_output_cap, 0, (int)n_small);
	tcase_add_loop_test(tc, test_open_generated, 0, (int)n_generated);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("seal");
	tcase_add_loop_test(tc, test_seal_round_trip, 0, (int)n_small);
	tcase_add_loop_test(tc, test_seal_output_cap, 0, (int)n_small);
	tcase_add_test(tc, test_seal_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("tamper");
	tcase_add_loop_test(tc, test_tamper_aad, 0, (int)n_small);
	tcase_add_loop_test(tc, test_tamper_bits, 0, (int)n_small);
	tcase_add_loop_test(tc, test_open_malformed, 0, (int)n_small);
	tcase_add_loop_test(tc, test_peek_malformed, 0, (int)n_small);
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
	if (n_small == 0 || n_generated == 0 || n_nist == 0) {
		fprintf(stderr, "vector files are empty\n");
		return 99;
	}
	sr = srunner_create(envelope_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
