#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "codec.h"
#include "envelope.h"
#include "secret.h"

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

static int
gcm_start(EVP_CIPHER_CTX *x, int enc, const struct envelope_ctx *c,
    const uint8_t *iv, const char *name, size_t name_len)
{
	uint8_t aad[AAD_FIXED];
	int outl;

	aad_fixed(c, aad);
	/* The IV length is the default 12, so no ctrl call is needed. */
	if (EVP_CipherInit_ex(x, gcm(), NULL, c->key, iv, enc) != 1)
		return -1;
	if (EVP_CipherUpdate(x, NULL, &outl, aad, AAD_FIXED) != 1)
		return -1;
	if (name_len > 0 && EVP_CipherUpdate(x, NULL, &outl,
	    (const uint8_t *)name, (int)name_len) != 1)
		return -1;
	return 0;
}

pserr
envelope_seal(const struct envelope_ctx *c, const char *name, size_t name_len,
    const void *pt, size_t pt_len, struct buf *out)
{
	uint8_t iv[ENVELOPE_IV_LEN], ct[SLICE_BYTES + ENVELOPE_TAG_LEN];
	const uint8_t *p = pt;
	EVP_CIPHER_CTX *x = NULL;
	size_t start = out->len, left = pt_len;
	char *o;
	int outl;
	pserr rc;

	if (name_len > INT32_MAX)
		return PS_ERR_ARG;
	if ((rc = buf_reserve(out, envelope_text_len(pt_len))) != PS_OK)
		return rc;
	if ((rc = secret_random(iv, sizeof(iv))) != PS_OK)
		return rc;
	rc = PS_ERR_CRYPTO;
	if ((x = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (gcm_start(x, 1, c, iv, name, name_len) != 0)
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
	EVP_CIPHER_CTX_free(x);
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
	rc = PS_ERR_CRYPTO;
	if ((x = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (gcm_start(x, 0, c, iv, name, name_len) != 0)
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
	 * plaintext went straight to out. */
	EVP_CIPHER_CTX_free(x);
	return rc;
}
