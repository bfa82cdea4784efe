#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/codec.h"
#include "core/secret.h"
#include "seal/envelope.h"

/* Work in slices that are whole base64 groups: 12288 bytes, 16384 chars. */
#define SLICE_BYTES 12288
#define SLICE_CHARS 16384
#define AAD_FIXED (4 + 1 + ENVELOPE_KID_LEN + ENVELOPE_NONCE_LEN + 4 + 1)

size_t
envelope_text_len(size_t n)
{
	return ENVELOPE_HEADER_LEN + CODEC_B64URL_LEN(n + ENVELOPE_TAG_LEN);
}

/* The fixed part of the AAD; the member name follows it as a second
 * EVP update, so it is never copied. */
static void
aad_fixed(const struct envelope_ctx *c, uint8_t *a)
{
	memcpy(a, "ps1\0", 4);
	a[4] = (uint8_t)c->dir;
	memcpy(a + 5, c->kid, ENVELOPE_KID_LEN);
	memcpy(a + 21, c->nonce, ENVELOPE_NONCE_LEN);
	a[37] = (uint8_t)(c->msg >> 24);
	a[38] = (uint8_t)(c->msg >> 16);
	a[39] = (uint8_t)(c->msg >> 8);
	a[40] = (uint8_t)c->msg;
	a[41] = c->final ? 1 : 0;
}

/*
 * The cipher, fetched once: with OpenSSL 3 the implicit fetch behind
 * EVP_aes_256_gcm() takes a lock on every init, and a stream seals
 * several values per event.
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
 * set up with, and a reserve of random bytes for IVs.  A message or a
 * stream seals and opens many values under one key, and OpenSSL 3 makes
 * both a fresh context with its key schedule and each RAND_bytes() call
 * cost far more than sealing a short value.  IVs are public; the reserve
 * is refilled after a fork, so parent and child never share one.
 */
struct gcm_cache {
	EVP_CIPHER_CTX *x[2];                 /* [0] decrypt, [1] encrypt */
	uint8_t key[2][ENVELOPE_KEY_LEN];
	int keyed[2];
	uint8_t rnd[4080];
	size_t rnd_left;
	pid_t pid;
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

static pserr
fresh_iv(struct gcm_cache *g, uint8_t iv[ENVELOPE_IV_LEN])
{
	pserr rc;

	if (g->rnd_left < ENVELOPE_IV_LEN || g->pid != getpid()) {
		if ((rc = secret_random(g->rnd, sizeof(g->rnd))) != PS_OK)
			return rc;
		g->rnd_left = sizeof(g->rnd);
		g->pid = getpid();
	}
	g->rnd_left -= ENVELOPE_IV_LEN;
	memcpy(iv, g->rnd + g->rnd_left, ENVELOPE_IV_LEN);
	/* Each IV is handed out once. */
	memset(g->rnd + g->rnd_left, 0, ENVELOPE_IV_LEN);
	return PS_OK;
}

/* The thread's context for direction enc, set up for c's key and iv, with
 * the AAD fed in; NULL on failure. */
static EVP_CIPHER_CTX *
gcm_start(struct gcm_cache *g, int enc, const struct envelope_ctx *c,
    const uint8_t *iv, const char *name, size_t name_len)
{
	EVP_CIPHER_CTX *x = g->x[enc];
	uint8_t aad[AAD_FIXED];
	int outl;

	aad_fixed(c, aad);
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
	if (EVP_CipherUpdate(x, NULL, &outl, aad, AAD_FIXED) != 1)
		goto fail;
	if (name_len > 0 && EVP_CipherUpdate(x, NULL, &outl,
	    (const uint8_t *)name, (int)name_len) != 1)
		goto fail;
	return x;
fail:
	/* Set up from scratch next time. */
	g->keyed[enc] = 0;
	return NULL;
}

pserr
envelope_seal(const struct envelope_ctx *c, const char *name, size_t name_len,
    const void *pt, size_t pt_len, struct buf *out)
{
	uint8_t iv[ENVELOPE_IV_LEN], ct[SLICE_BYTES + ENVELOPE_TAG_LEN];
	const uint8_t *p = pt;
	struct gcm_cache *g;
	EVP_CIPHER_CTX *x = NULL;
	size_t start = out->len, left = pt_len;
	char *o;
	int outl;
	pserr rc;

	if (name_len > INT32_MAX)
		return PS_ERR_ARG;
	if ((rc = buf_reserve(out, envelope_text_len(pt_len))) != PS_OK)
		return rc;
	if ((g = cache_get()) == NULL)
		return PS_ERR_NOMEM;
	if ((rc = fresh_iv(g, iv)) != PS_OK)
		return rc;
	rc = PS_ERR_CRYPTO;
	if ((x = gcm_start(g, 1, c, iv, name, name_len)) == NULL)
		goto out;

	o = out->p + out->len;
	memcpy(o, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN);
	o += ENVELOPE_PREFIX_LEN;
	o += codec_hex_encode(c->kid, ENVELOPE_KID_LEN, o);
	*o++ = ':';
	o += codec_b64url_encode(c->nonce, ENVELOPE_NONCE_LEN, o);
	*o++ = ':';
	o += codec_b64url_encode(iv, ENVELOPE_IV_LEN, o);
	*o++ = ':';

	/* Encrypt and encode slice by slice so a large value is never held
	 * twice; only the last slice carries the tag. */
	for (;;) {
		size_t k = left > SLICE_BYTES ? SLICE_BYTES : left;
		size_t m = k;

		if (k > 0 && EVP_EncryptUpdate(x, ct, &outl, p, (int)k) != 1)
			goto out;
		p += k;
		left -= k;
		if (left == 0) {
			if (EVP_EncryptFinal_ex(x, ct + k, &outl) != 1)
				goto out;
			if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG,
			    ENVELOPE_TAG_LEN, ct + k) != 1)
				goto out;
			m += ENVELOPE_TAG_LEN;
		}
		o += codec_b64url_encode(ct, m, o);
		if (left == 0)
			break;
	}
	out->len = (size_t)(o - out->p);
	rc = PS_OK;
out:
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	/* ct held only ciphertext, which is public: nothing to wipe. */
	if (rc != PS_OK && x != NULL)
		g->keyed[1] = 0;
	return rc;
}

/* Split envelope text into its parts; the lengths of kid, nonce and iv are
 * fixed, the ciphertext must hold at least a tag. */
static pserr
parse(const char *s, size_t n, uint8_t *kid, uint8_t *nonce, uint8_t *iv,
    const char **ct, size_t *ctlen)
{
	size_t got;

	if (n < ENVELOPE_HEADER_LEN + CODEC_B64URL_LEN(ENVELOPE_TAG_LEN))
		return PS_ERR_INVALID_ENVELOPE;
	if (memcmp(s, ENVELOPE_PREFIX, ENVELOPE_PREFIX_LEN) != 0 ||
	    s[36] != ':' || s[59] != ':' || s[76] != ':')
		return PS_ERR_INVALID_ENVELOPE;
	if (codec_hex_decode(s + 4, 32, kid, ENVELOPE_KID_LEN) != PS_OK)
		return PS_ERR_INVALID_ENVELOPE;
	if (codec_b64url_decode(s + 37, 22, nonce, ENVELOPE_NONCE_LEN, &got) !=
	    PS_OK || got != ENVELOPE_NONCE_LEN)
		return PS_ERR_INVALID_ENVELOPE;
	if (codec_b64url_decode(s + 60, 16, iv, ENVELOPE_IV_LEN, &got) !=
	    PS_OK || got != ENVELOPE_IV_LEN)
		return PS_ERR_INVALID_ENVELOPE;
	*ct = s + ENVELOPE_HEADER_LEN;
	*ctlen = n - ENVELOPE_HEADER_LEN;
	/* A fifth ':' or any other byte is caught by the base64url decoder;
	 * a length of 1 mod 4 is never valid base64url. */
	if (*ctlen % 4 == 1)
		return PS_ERR_INVALID_ENVELOPE;
	return PS_OK;
}

pserr
envelope_peek(const char *s, size_t n, uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t nonce[ENVELOPE_NONCE_LEN])
{
	uint8_t iv[ENVELOPE_IV_LEN];
	const char *ct;
	size_t ctlen;
	pserr rc;

	if ((rc = parse(s, n, kid, nonce, iv, &ct, &ctlen)) != PS_OK)
		return rc;
	/* The ciphertext is checked here as envelope_open() would decode it,
	 * so a text that passes peek is never refused as malformed later (a
	 * caller acts on the kid before opening); checking costs far less
	 * than decoding. */
	if (codec_b64url_check(ct, ctlen) != PS_OK)
		return PS_ERR_INVALID_ENVELOPE;
	return PS_OK;
}

pserr
envelope_open(const struct envelope_ctx *c, const char *name, size_t name_len,
    const char *s, size_t n, struct buf *out)
{
	uint8_t kid[ENVELOPE_KID_LEN], nonce[ENVELOPE_NONCE_LEN];
	uint8_t iv[ENVELOPE_IV_LEN], tag[ENVELOPE_TAG_LEN], raw[SLICE_BYTES];
	struct gcm_cache *g;
	EVP_CIPHER_CTX *x = NULL;
	size_t start = out->len, ctlen, total, pos = 0, tagpos = 0, got;
	const char *ct;
	int outl;
	pserr rc;

	if (name_len > INT32_MAX)
		return PS_ERR_ARG;
	if ((rc = parse(s, n, kid, nonce, iv, &ct, &ctlen)) != PS_OK)
		return rc;
	if (memcmp(kid, c->kid, ENVELOPE_KID_LEN) != 0 ||
	    memcmp(nonce, c->nonce, ENVELOPE_NONCE_LEN) != 0)
		return PS_ERR_INVALID_ENVELOPE;
	total = ctlen / 4 * 3 + (ctlen % 4 ? ctlen % 4 - 1 : 0);
	if (total < ENVELOPE_TAG_LEN)
		return PS_ERR_INVALID_ENVELOPE;
	if ((rc = buf_reserve(out, total - ENVELOPE_TAG_LEN)) != PS_OK)
		return rc;
	if ((g = cache_get()) == NULL)
		return PS_ERR_NOMEM;
	rc = PS_ERR_CRYPTO;
	if ((x = gcm_start(g, 0, c, iv, name, name_len)) == NULL)
		goto out;

	while (ctlen > 0) {
		size_t k = ctlen > SLICE_CHARS ? SLICE_CHARS : ctlen;
		size_t body, i;

		if (codec_b64url_decode(ct, k, raw, sizeof(raw), &got) != PS_OK) {
			rc = PS_ERR_INVALID_ENVELOPE;
			goto out;
		}
		ct += k;
		ctlen -= k;
		/* Bytes before total - TAG are ciphertext, the rest the tag. */
		body = pos + got <= total - ENVELOPE_TAG_LEN ? got :
		    pos < total - ENVELOPE_TAG_LEN ? total - ENVELOPE_TAG_LEN - pos : 0;
		if (body > 0) {
			if (EVP_DecryptUpdate(x, (uint8_t *)out->p + out->len,
			    &outl, raw, (int)body) != 1)
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
	if (EVP_DecryptFinal_ex(x, (uint8_t *)out->p + out->len, &outl) != 1) {
		rc = PS_ERR_DECRYPT;
		goto out;
	}
	rc = PS_OK;
out:
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	/* raw held only ciphertext and the tag, which are public; the
	 * plaintext went straight to out.  A context that failed for any
	 * other reason than the tag is set up from scratch next time. */
	if (rc != PS_OK && rc != PS_ERR_DECRYPT && x != NULL)
		g->keyed[0] = 0;
	return rc;
}
