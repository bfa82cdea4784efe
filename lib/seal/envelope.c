/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/codec.h"
#include "core/secret.h"
#include "seal/envelope.h"

/* Work in slices that are whole base64 groups: 12288 bytes, 16384 chars. */
#define SLICE_BYTES 12288
#define SLICE_CHARS 16384
/* Plaintexts up to this size are sealed and opened through a buffer on
 * the stack, in one EVP update: a stream event is 256 bytes. */
#define STAGE_BYTES 1024
/* "ps2" 0x00 dir kid nonce reply msg final */
#define AAD_FIXED (4 + 1 + ENVELOPE_KID_LEN + ENVELOPE_NONCE_LEN + \
	ENVELOPE_REPLY_LEN + 4 + 1)
#define SALT "promptseal v2"
#define SALT_LEN 13
#define INFO_LEN (1 + ENVELOPE_KID_LEN + ENVELOPE_NONCE_LEN + \
	ENVELOPE_REPLY_LEN)

static const uint8_t zeros[512];

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
envelope_init(struct envelope_ctx *c, enum envelope_dir dir)
{
	memset(c, 0, sizeof(*c));
	c->dir = dir;
}

void
envelope_wipe(struct envelope_ctx *c)
{
	secret_wipe(c, sizeof(*c));
}

pserr
envelope_bind_request(struct envelope_ctx *c, const char *method,
    const char *path, size_t path_len)
{
	size_t m = strlen(method);

	if (m + 1 + path_len > ENVELOPE_BIND_MAX)
		return PS_ERR_ARG;
	memcpy(c->bind, method, m);
	c->bind[m] = 0;
	memcpy(c->bind + m + 1, path, path_len);
	c->bind_len = m + 1 + path_len;
	return PS_OK;
}

pserr
envelope_bind_reply(struct envelope_ctx *c, int status, const char *media,
    size_t media_len)
{
	if (status < 100 || status > 999 || media_len > ENVELOPE_BIND_MAX - 2)
		return PS_ERR_ARG;
	c->bind[0] = (uint8_t)(status >> 8);
	c->bind[1] = (uint8_t)status;
	memcpy(c->bind + 2, media, media_len);
	c->bind_len = 2 + media_len;
	return PS_OK;
}

/*
 * SHA-256, fetched once, for HKDF.  HKDF through EVP_PKEY_derive costs a
 * provider fetch and two context set-ups on every call, about 85,000
 * instructions, more than sealing a 1 KiB body; two HMACs over EVP_Digest
 * with the digest fetched once cost a tenth of that.
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *
envelope_sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}
#else
const EVP_MD *
envelope_sha256(void)
{
	return EVP_sha256();
}
#endif

#define SHA256_LEN 32
#define SHA256_BLOCK 64

/* HMAC-SHA256 (RFC 2104) of a || b under key (at most one block, as every
 * key here is: the salt and a pseudorandom key).  1 on success. */
static int
hmac_sha256(EVP_MD_CTX *m, const uint8_t *key, size_t klen, const void *a,
    size_t alen, const void *b, size_t blen, uint8_t out[SHA256_LEN])
{
	uint8_t pad[SHA256_BLOCK], inner[SHA256_LEN];
	size_t i;
	int ok;

	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, klen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	ok = EVP_DigestInit_ex(m, envelope_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, pad, sizeof(pad)) == 1 &&
	    EVP_DigestUpdate(m, a, alen) == 1 &&
	    (blen == 0 || EVP_DigestUpdate(m, b, blen) == 1) &&
	    EVP_DigestFinal_ex(m, inner, NULL) == 1;
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && EVP_DigestInit_ex(m, envelope_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, pad, sizeof(pad)) == 1 &&
	    EVP_DigestUpdate(m, inner, sizeof(inner)) == 1 &&
	    EVP_DigestFinal_ex(m, out, NULL) == 1;
	secret_wipe(pad, sizeof(pad));
	secret_wipe(inner, sizeof(inner));
	return ok;
}

pserr
envelope_derive(struct envelope_ctx *c, const uint8_t *secret)
{
	static const uint8_t one = 1;
	uint8_t info[INFO_LEN], prk[SHA256_LEN];
	EVP_MD_CTX *m;
	pserr rc = PS_ERR_CRYPTO;

	c->keyed = 0;
	info[0] = (uint8_t)c->dir;
	memcpy(info + 1, c->kid, ENVELOPE_KID_LEN);
	memcpy(info + 1 + ENVELOPE_KID_LEN, c->nonce, ENVELOPE_NONCE_LEN);
	/* The request direction has no reply value: 16 zero bytes, whatever
	 * the field holds. */
	if (c->dir == ENVELOPE_RESPONSE)
		memcpy(info + 1 + ENVELOPE_KID_LEN + ENVELOPE_NONCE_LEN,
		    c->reply, ENVELOPE_REPLY_LEN);
	else
		memset(info + 1 + ENVELOPE_KID_LEN + ENVELOPE_NONCE_LEN, 0,
		    ENVELOPE_REPLY_LEN);
	if ((m = EVP_MD_CTX_new()) == NULL)
		return PS_ERR_CRYPTO;
	/* HKDF (RFC 5869) with L = 32: one block of expand, T(1). */
	if (!hmac_sha256(m, (const uint8_t *)SALT, SALT_LEN, secret,
	    ENVELOPE_SECRET_LEN, NULL, 0, prk) ||
	    !hmac_sha256(m, prk, sizeof(prk), info, INFO_LEN, &one, 1,
	    c->key)) {
		secret_wipe(c->key, sizeof(c->key));
		goto out;
	}
	c->keyed = 1;
	rc = PS_OK;
out:
	secret_wipe(prk, sizeof(prk));
	/* The digest state held the secret's hash input: cleansed on free. */
	EVP_MD_CTX_free(m);
	return rc;
}

size_t
envelope_padded_len(size_t n, size_t bucket)
{
	size_t p;

	if (n > UINT32_MAX - ENVELOPE_MIN_PLAINTEXT)
		return 0;
	p = n + ENVELOPE_MIN_PLAINTEXT;
	if (bucket > 1) {
		size_t r = p % bucket;

		if (r != 0) {
			if (bucket - r > UINT32_MAX - p)
				return 0;
			p += bucket - r;
		}
	}
	return p;
}

size_t
envelope_text_len(enum envelope_dir dir, size_t n, size_t bucket)
{
	size_t p = envelope_padded_len(n, bucket);

	if (p == 0)
		return 0;
	/* p is at most a u32, so this cannot overflow a 64-bit size_t; on a
	 * 32-bit one it may, and is refused. */
	if (p + ENVELOPE_TAG_LEN > (SIZE_MAX - ENVELOPE_REPLY_HEAD) / 4 * 3)
		return 0;
	return (dir == ENVELOPE_REQUEST ? ENVELOPE_REQUEST_HEAD :
	    ENVELOPE_REPLY_HEAD) + CODEC_B64URL_LEN(p + ENVELOPE_TAG_LEN);
}

/*
 * The cipher, fetched once: with OpenSSL 3 the implicit fetch behind
 * EVP_aes_256_gcm() takes a lock on every init.
 */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void
gcm_fetch(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *
gcm(void)
{
	pthread_once(&gcm_once, gcm_fetch);
	return gcm_cipher != NULL ? gcm_cipher : EVP_aes_256_gcm();
}
#else
static const EVP_CIPHER *
gcm(void)
{
	return EVP_aes_256_gcm();
}
#endif

/*
 * Per thread: one cipher context per direction with the key it was last
 * set up with.  A stream seals or opens many events under one key, and a
 * fresh context with its key schedule costs more than a short event.
 * envelope_thread_wipe() drops both at the end of each exchange.
 */
struct gcm_cache {
	EVP_CIPHER_CTX *x[2];                 /* [0] decrypt, [1] encrypt */
	uint8_t key[2][ENVELOPE_KEY_LEN];
	int keyed[2];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_ok;

static void
cache_free(void *p)
{
	struct gcm_cache *g = p;

	EVP_CIPHER_CTX_free(g->x[0]);
	EVP_CIPHER_CTX_free(g->x[1]);
	secret_free(g, sizeof(*g));
}

static void
cache_init(void)
{
	cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

static struct gcm_cache *
cache_get(void)
{
	struct gcm_cache *g;

	pthread_once(&cache_once, cache_init);
	if (!cache_ok)
		return NULL;
	if ((g = pthread_getspecific(cache_key)) != NULL)
		return g;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->x[0] = EVP_CIPHER_CTX_new();
	g->x[1] = EVP_CIPHER_CTX_new();
	if (g->x[0] == NULL || g->x[1] == NULL ||
	    pthread_setspecific(cache_key, g) != 0) {
		cache_free(g);
		return NULL;
	}
	return g;
}

void
envelope_thread_wipe(void)
{
	struct gcm_cache *g;
	int i;

	pthread_once(&cache_once, cache_init);
	if (!cache_ok || (g = pthread_getspecific(cache_key)) == NULL)
		return;
	for (i = 0; i < 2; i++) {
		/* Reset cleanses the key schedule. */
		EVP_CIPHER_CTX_reset(g->x[i]);
		secret_wipe(g->key[i], sizeof(g->key[i]));
		g->keyed[i] = 0;
	}
}

/* The thread's context for direction enc, set up for c's key and the IV
 * of (msg, final), with the AAD fed in; NULL on failure. */
static EVP_CIPHER_CTX *
gcm_start(struct gcm_cache *g, int enc, const struct envelope_ctx *c,
    uint32_t msg, int final)
{
	EVP_CIPHER_CTX *x = g->x[enc];
	uint8_t iv[ENVELOPE_IV_LEN], aad[AAD_FIXED + ENVELOPE_BIND_MAX];
	int outl;

	memset(iv, 0, sizeof(iv));
	iv[0] = final ? 1 : 0;
	put_u32(iv + 8, msg);
	memcpy(aad, "ps2\0", 4);
	aad[4] = (uint8_t)c->dir;
	memcpy(aad + 5, c->kid, ENVELOPE_KID_LEN);
	memcpy(aad + 21, c->nonce, ENVELOPE_NONCE_LEN);
	if (c->dir == ENVELOPE_RESPONSE)
		memcpy(aad + 37, c->reply, ENVELOPE_REPLY_LEN);
	else
		memset(aad + 37, 0, ENVELOPE_REPLY_LEN);
	put_u32(aad + 53, msg);
	aad[57] = final ? 1 : 0;
	/* The IV length is the default 12, so no ctrl call is needed.  The
	 * same key keeps its schedule: only the IV is set anew, which resets
	 * the GCM state. */
	if (g->keyed[enc] && CRYPTO_memcmp(g->key[enc], c->key,
	    ENVELOPE_KEY_LEN) == 0) {
		if (EVP_CipherInit_ex(x, NULL, NULL, NULL, iv, enc) != 1)
			goto fail;
	} else {
		g->keyed[enc] = 0;
		if (EVP_CipherInit_ex(x, gcm(), NULL, c->key, iv, enc) != 1)
			goto fail;
		memcpy(g->key[enc], c->key, ENVELOPE_KEY_LEN);
		g->keyed[enc] = 1;
	}
	/* One update for the whole AAD: each EVP call has its cost, and a
	 * second one would start in the middle of a GHASH block. */
	memcpy(aad + AAD_FIXED, c->bind, c->bind_len);
	if (EVP_CipherUpdate(x, NULL, &outl, aad,
	    (int)(AAD_FIXED + c->bind_len)) != 1)
		goto fail;
	return x;
fail:
	/* Set up from scratch next time. */
	g->keyed[enc] = 0;
	return NULL;
}

/* Plaintext goes in piece by piece, ciphertext comes out in slices that
 * are base64url-encoded as they fill: nothing is held twice, and the
 * plaintext is never copied. */
struct sealer {
	EVP_CIPHER_CTX *x;
	uint8_t ct[SLICE_BYTES + ENVELOPE_TAG_LEN];
	size_t fill;
	char *o;
};

static int
feed(struct sealer *z, const void *p, size_t n)
{
	const uint8_t *q = p;
	int outl;

	while (n > 0) {
		size_t k = SLICE_BYTES - z->fill;

		if (k > n)
			k = n;
		if (EVP_EncryptUpdate(z->x, z->ct + z->fill, &outl, q,
		    (int)k) != 1 || (size_t)outl != k)
			return -1;
		z->fill += k;
		q += k;
		n -= k;
		if (z->fill == SLICE_BYTES) {
			z->o += codec_b64url_encode(z->ct, SLICE_BYTES, z->o);
			z->fill = 0;
		}
	}
	return 0;
}

pserr
envelope_seal(const struct envelope_ctx *c, uint32_t msg, int final,
    const struct envelope_part *parts, size_t nparts, size_t bucket,
    struct buf *out)
{
	struct sealer z;
	struct gcm_cache *g;
	uint8_t lenb[4], stage[STAGE_BYTES];
	size_t start = out->len, n = 0, p, pad, tlen, i, staged = 0;
	int outl;
	pserr rc;

	if (!c->keyed || bucket > ENVELOPE_BUCKET_MAX)
		return PS_ERR_ARG;
	for (i = 0; i < nparts; i++) {
		if (parts[i].n > SIZE_MAX - n)
			return PS_ERR_TOO_LARGE;
		n += parts[i].n;
	}
	if ((p = envelope_padded_len(n, bucket)) == 0 ||
	    (tlen = envelope_text_len(c->dir, n, bucket)) == 0)
		return PS_ERR_TOO_LARGE;
	if ((rc = buf_reserve(out, tlen)) != PS_OK)
		return rc;
	if ((g = cache_get()) == NULL)
		return PS_ERR_NOMEM;
	rc = PS_ERR_CRYPTO;
	if ((z.x = gcm_start(g, 1, c, msg, final)) == NULL)
		goto out;
	z.fill = 0;
	z.o = out->p + out->len;
	memcpy(z.o, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN);
	z.o += ENVELOPE_PREFIX_LEN;
	z.o += codec_hex_encode(c->kid, ENVELOPE_KID_LEN, z.o);
	*z.o++ = ':';
	z.o += codec_b64url_encode(c->nonce, ENVELOPE_NONCE_LEN, z.o);
	*z.o++ = ':';
	if (c->dir == ENVELOPE_RESPONSE) {
		z.o += codec_b64url_encode(c->reply, ENVELOPE_REPLY_LEN, z.o);
		*z.o++ = ':';
	}

	if (p <= sizeof(stage)) {
		/* A small plaintext (a stream event) in one update: length,
		 * parts and padding fed one by one cost three EVP calls, two
		 * of them starting in the middle of an AES block. */
		uint8_t *q = stage;

		put_u32(q, (uint32_t)n);
		q += 4;
		for (i = 0; i < nparts; i++) {
			if (parts[i].n > 0)
				memcpy(q, parts[i].p, parts[i].n);
			q += parts[i].n;
		}
		memset(q, 0, p - (size_t)(q - stage));
		staged = p;
		if (feed(&z, stage, p) != 0)
			goto out;
	} else {
		put_u32(lenb, (uint32_t)n);
		if (feed(&z, lenb, sizeof(lenb)) != 0)
			goto out;
		for (i = 0; i < nparts; i++)
			if (parts[i].n > 0 &&
			    feed(&z, parts[i].p, parts[i].n) != 0)
				goto out;
		for (pad = p - ENVELOPE_MIN_PLAINTEXT - n; pad > 0;) {
			size_t k = pad < sizeof(zeros) ? pad : sizeof(zeros);

			if (feed(&z, zeros, k) != 0)
				goto out;
			pad -= k;
		}
	}
	/* GCM holds nothing back: Final writes no bytes, only the tag. */
	if (EVP_EncryptFinal_ex(z.x, z.ct + z.fill, &outl) != 1 || outl != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(z.x, EVP_CTRL_GCM_GET_TAG, ENVELOPE_TAG_LEN,
	    z.ct + z.fill) != 1)
		goto out;
	z.o += codec_b64url_encode(z.ct, z.fill + ENVELOPE_TAG_LEN, z.o);
	out->len = (size_t)(z.o - out->p);
	rc = out->len - start == tlen ? PS_OK : PS_ERR_CRYPTO;
out:
	if (rc != PS_OK) {
		out->len = start;
		g->keyed[1] = 0;
	}
	secret_wipe(lenb, sizeof(lenb));
	secret_wipe(stage, staged);
	/* z.ct held only ciphertext, which is public. */
	return rc;
}

/* Split envelope text of direction dir into its parts; the lengths of
 * kid, nonce and reply are fixed, the ciphertext must hold at least a
 * length and a tag. */
static pserr
parse(enum envelope_dir dir, const char *s, size_t n, uint8_t *kid,
    uint8_t *nonce, uint8_t *reply, const char **ct, size_t *ctlen)
{
	size_t head = dir == ENVELOPE_REQUEST ? ENVELOPE_REQUEST_HEAD :
	    ENVELOPE_REPLY_HEAD, got;

	if (n < head + CODEC_B64URL_LEN(ENVELOPE_MIN_PLAINTEXT +
	    ENVELOPE_TAG_LEN))
		return PS_ERR_INVALID_ENVELOPE;
	if (memcmp(s, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN) != 0 ||
	    s[36] != ':' || s[59] != ':' ||
	    (dir == ENVELOPE_RESPONSE && s[82] != ':'))
		return PS_ERR_INVALID_ENVELOPE;
	if (codec_hex_decode(s + 4, 32, kid, ENVELOPE_KID_LEN) != PS_OK)
		return PS_ERR_INVALID_ENVELOPE;
	if (codec_b64url_decode(s + 37, 22, nonce, ENVELOPE_NONCE_LEN, &got) !=
	    PS_OK || got != ENVELOPE_NONCE_LEN)
		return PS_ERR_INVALID_ENVELOPE;
	if (dir == ENVELOPE_RESPONSE && (codec_b64url_decode(s + 60, 22,
	    reply, ENVELOPE_REPLY_LEN, &got) != PS_OK ||
	    got != ENVELOPE_REPLY_LEN))
		return PS_ERR_INVALID_ENVELOPE;
	*ct = s + head;
	*ctlen = n - head;
	/* A further ':' or any other byte is caught by the base64url
	 * decoder; a length of 1 mod 4 is never valid base64url. */
	if (*ctlen % 4 == 1)
		return PS_ERR_INVALID_ENVELOPE;
	return PS_OK;
}

/* envelope_peek(), and with check 0 envelope_head(). */
static pserr
peek(enum envelope_dir dir, const char *s, size_t n, uint8_t *kid,
    uint8_t *nonce, uint8_t *reply, int check)
{
	uint8_t r[ENVELOPE_REPLY_LEN];
	const char *ct;
	size_t ctlen;
	pserr rc;

	if ((rc = parse(dir, s, n, kid, nonce, r, &ct, &ctlen)) != PS_OK)
		return rc;
	/* The ciphertext is checked here as envelope_open() would decode it,
	 * so a text that passes peek is never refused as malformed later (a
	 * caller acts on the kid before opening). */
	if (check && codec_b64url_check(ct, ctlen) != PS_OK)
		return PS_ERR_INVALID_ENVELOPE;
	if (dir == ENVELOPE_RESPONSE)
		memcpy(reply, r, ENVELOPE_REPLY_LEN);
	return PS_OK;
}

pserr
envelope_peek(enum envelope_dir dir, const char *s, size_t n,
    uint8_t kid[ENVELOPE_KID_LEN], uint8_t nonce[ENVELOPE_NONCE_LEN],
    uint8_t *reply)
{
	return peek(dir, s, n, kid, nonce, reply, 1);
}

pserr
envelope_head(enum envelope_dir dir, const char *s, size_t n,
    uint8_t kid[ENVELOPE_KID_LEN], uint8_t nonce[ENVELOPE_NONCE_LEN],
    uint8_t *reply)
{
	return peek(dir, s, n, kid, nonce, reply, 0);
}

pserr
envelope_open(const struct envelope_ctx *c, uint32_t msg, int final,
    const char *s, size_t n, struct buf *out)
{
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	uint8_t reply[ENVELOPE_REPLY_LEN], tag[ENVELOPE_TAG_LEN], lenb[4];
	uint8_t raw[SLICE_BYTES], stage[STAGE_BYTES];
	struct gcm_cache *g;
	EVP_CIPHER_CTX *x = NULL;
	size_t start = out->len, ctlen, total, p, pos = 0, tagpos = 0, got;
	size_t staged = 0;
	size_t content, i;
	const char *ct;
	unsigned char acc = 0;
	int outl;
	pserr rc;

	if (!c->keyed)
		return PS_ERR_ARG;
	if ((rc = parse(c->dir, s, n, kid, nonce, reply, &ct, &ctlen)) !=
	    PS_OK)
		return rc;
	if (memcmp(kid, c->kid, ENVELOPE_KID_LEN) != 0 ||
	    memcmp(nonce, c->nonce, ENVELOPE_NONCE_LEN) != 0 ||
	    (c->dir == ENVELOPE_RESPONSE &&
	    memcmp(reply, c->reply, ENVELOPE_REPLY_LEN) != 0))
		return PS_ERR_INVALID_ENVELOPE;
	total = ctlen / 4 * 3 + (ctlen % 4 ? ctlen % 4 - 1 : 0);
	if (total < ENVELOPE_MIN_PLAINTEXT + ENVELOPE_TAG_LEN)
		return PS_ERR_INVALID_ENVELOPE;
	p = total - ENVELOPE_TAG_LEN;
	if ((rc = buf_reserve(out, p - ENVELOPE_MIN_PLAINTEXT)) != PS_OK)
		return rc;
	if ((g = cache_get()) == NULL)
		return PS_ERR_NOMEM;
	rc = PS_ERR_CRYPTO;
	if ((x = gcm_start(g, 0, c, msg, final)) == NULL)
		goto out;

	if (p <= sizeof(stage) && ctlen <= SLICE_CHARS) {
		/* A small message (a stream event): one update into the
		 * stack, then the length and the rest out of it. */
		if (codec_b64url_decode(ct, ctlen, raw, sizeof(raw), &got) !=
		    PS_OK || got != total) {
			rc = PS_ERR_INVALID_ENVELOPE;
			goto out;
		}
		staged = p;
		if (EVP_DecryptUpdate(x, stage, &outl, raw, (int)p) != 1 ||
		    (size_t)outl != p)
			goto out;
		memcpy(lenb, stage, ENVELOPE_MIN_PLAINTEXT);
		memcpy(out->p + out->len, stage + ENVELOPE_MIN_PLAINTEXT,
		    p - ENVELOPE_MIN_PLAINTEXT);
		out->len += p - ENVELOPE_MIN_PLAINTEXT;
		memcpy(tag, raw + p, ENVELOPE_TAG_LEN);
		ctlen = 0;
	}
	while (ctlen > 0) {
		size_t k = ctlen > SLICE_CHARS ? SLICE_CHARS : ctlen;
		size_t body, head = 0;

		if (codec_b64url_decode(ct, k, raw, sizeof(raw), &got) != PS_OK) {
			rc = PS_ERR_INVALID_ENVELOPE;
			goto out;
		}
		ct += k;
		ctlen -= k;
		/* Bytes before p are ciphertext, the rest the tag; the first
		 * four of the plaintext are its length and go aside. */
		body = pos + got <= p ? got : pos < p ? p - pos : 0;
		if (pos < ENVELOPE_MIN_PLAINTEXT && body > 0) {
			head = ENVELOPE_MIN_PLAINTEXT - pos;
			if (head > body)
				head = body;
			if (EVP_DecryptUpdate(x, lenb + pos, &outl, raw,
			    (int)head) != 1)
				goto out;
		}
		if (body > head) {
			if (EVP_DecryptUpdate(x, (uint8_t *)out->p + out->len,
			    &outl, raw + head, (int)(body - head)) != 1)
				goto out;
			out->len += (size_t)outl;
		}
		for (i = body; i < got; i++)
			tag[tagpos++] = raw[i];
		pos += got;
	}
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, ENVELOPE_TAG_LEN,
	    tag) != 1)
		goto out;
	/* GCM holds nothing back: Final writes no plaintext. */
	if (EVP_DecryptFinal_ex(x, raw, &outl) != 1 || outl != 0) {
		rc = PS_ERR_DECRYPT;
		goto out;
	}
	/* Authentic: now the length and the padding may be looked at. */
	rc = PS_ERR_DECRYPT;
	content = (size_t)lenb[0] << 24 | (size_t)lenb[1] << 16 |
	    (size_t)lenb[2] << 8 | lenb[3];
	if (content > p - ENVELOPE_MIN_PLAINTEXT)
		goto out;
	for (i = start + content; i < out->len; i++)
		acc |= (unsigned char)out->p[i];
	if (acc != 0)
		goto out;
	out->len = start + content;
	rc = PS_OK;
out:
	if (rc != PS_OK) {
		if (out->len > start)
			secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	secret_wipe(lenb, sizeof(lenb));
	secret_wipe(stage, staged);
	/* raw held only ciphertext and the tag, which are public; the
	 * plaintext went straight to out.  A context that failed for any
	 * other reason than the tag is set up from scratch next time. */
	if (rc != PS_OK && rc != PS_ERR_DECRYPT && x != NULL)
		g->keyed[0] = 0;
	return rc;
}
