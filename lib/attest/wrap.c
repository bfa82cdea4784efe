/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "attest/wrap.h"
#include "core/secret.h"

#define LABEL "promptseal wrap v1"
#define LABEL_LEN (sizeof(LABEL) - 1)
#define GCM_KEY_LEN 32
#define GCM_IV_LEN 12
#define HDR_LEN (WRAP_MAGIC_LEN + WRAP_KEY_LEN)

pserr
wrap_keypair(uint8_t priv[WRAP_KEY_LEN], uint8_t pub[WRAP_KEY_LEN])
{
	EVP_PKEY *k = NULL;
	size_t l1 = WRAP_KEY_LEN, l2 = WRAP_KEY_LEN;
	pserr rc = PS_ERR_CRYPTO;

	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
		goto out;
	if (EVP_PKEY_get_raw_private_key(k, priv, &l1) != 1 ||
	    EVP_PKEY_get_raw_public_key(k, pub, &l2) != 1 ||
	    l1 != WRAP_KEY_LEN || l2 != WRAP_KEY_LEN) {
		secret_wipe(priv, WRAP_KEY_LEN);
		goto out;
	}
	rc = PS_OK;
out:
	EVP_PKEY_free(k);
	return rc;
}

pserr
wrap_public(const uint8_t priv[WRAP_KEY_LEN], uint8_t pub[WRAP_KEY_LEN])
{
	EVP_PKEY *k;
	size_t l = WRAP_KEY_LEN;
	pserr rc = PS_ERR_CRYPTO;

	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    WRAP_KEY_LEN);
	if (k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &l) == 1 &&
	    l == WRAP_KEY_LEN)
		rc = PS_OK;
	EVP_PKEY_free(k);
	return rc;
}

/* key || iv from X25519(priv, peer) and both public keys, in the order
 * sender (ephemeral) then recipient, whichever side computes it. */
static pserr
derive(const uint8_t priv[WRAP_KEY_LEN], const uint8_t peer[WRAP_KEY_LEN],
    const uint8_t eph_pub[WRAP_KEY_LEN], const uint8_t rcpt_pub[WRAP_KEY_LEN],
    uint8_t okm[GCM_KEY_LEN + GCM_IV_LEN])
{
	static const uint8_t zero[WRAP_KEY_LEN];
	uint8_t shared[WRAP_KEY_LEN], info[LABEL_LEN + 2 * WRAP_KEY_LEN];
	EVP_PKEY *a = NULL, *b = NULL;
	EVP_PKEY_CTX *x = NULL;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kx = NULL;
	OSSL_PARAM params[5];
	size_t slen = sizeof(shared);
	pserr rc = PS_ERR_CRYPTO;

	a = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    WRAP_KEY_LEN);
	b = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer,
	    WRAP_KEY_LEN);
	if (a == NULL || b == NULL)
		goto out;
	if ((x = EVP_PKEY_CTX_new(a, NULL)) == NULL ||
	    EVP_PKEY_derive_init(x) != 1 ||
	    EVP_PKEY_derive_set_peer(x, b) != 1 ||
	    EVP_PKEY_derive(x, shared, &slen) != 1 || slen != sizeof(shared))
		goto out;
	/* A low-order peer key gives an all-zero secret that anyone knows;
	 * OpenSSL refuses it too, this keeps the rule visible. */
	if (secret_equal(shared, zero, sizeof(shared)))
		goto out;

	memcpy(info, LABEL, LABEL_LEN);
	memcpy(info + LABEL_LEN, eph_pub, WRAP_KEY_LEN);
	memcpy(info + LABEL_LEN + WRAP_KEY_LEN, rcpt_pub, WRAP_KEY_LEN);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    shared, sizeof(shared));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (char *)LABEL, LABEL_LEN);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, sizeof(info));
	params[4] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (kx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(kx, okm, GCM_KEY_LEN + GCM_IV_LEN, params) != 1)
		goto out;
	rc = PS_OK;
out:
	secret_wipe(shared, sizeof(shared));
	EVP_KDF_CTX_free(kx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(x);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	return rc;
}

/* AES-256-GCM over the header (magic || eph_pub) is not needed: eph_pub is
 * bound through the KDF info, so only the caller's aad goes in the AAD. */
static int
gcm(EVP_CIPHER_CTX *x, int enc, const uint8_t *okm, const void *aad,
    size_t aad_len)
{
	int outl;

	if (EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, okm,
	    okm + GCM_KEY_LEN, enc) != 1)
		return -1;
	if (aad_len > 0 && EVP_CipherUpdate(x, NULL, &outl, aad,
	    (int)aad_len) != 1)
		return -1;
	return 0;
}

/*
 * wrap_seal() with the given ephemeral private key.  Static, so that no
 * program can reuse an ephemeral key (that reuses the AES key and IV, which
 * breaks GCM); the known-answer tests need a fixed one, and
 * tests/test_wrap.c includes this file to reach it.
 */
static pserr
seal_eph(const uint8_t eph_priv[WRAP_KEY_LEN],
    const uint8_t recipient_pub[WRAP_KEY_LEN], const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, struct buf *out)
{
	uint8_t eph_pub[WRAP_KEY_LEN], okm[GCM_KEY_LEN + GCM_IV_LEN];
	EVP_CIPHER_CTX *x = NULL;
	size_t start = out->len;
	uint8_t *o;
	int outl, fin;
	pserr rc;

	if (pt_len > INT_MAX - WRAP_OVERHEAD || aad_len > INT_MAX)
		return PS_ERR_ARG;
	if ((rc = buf_reserve(out, pt_len + WRAP_OVERHEAD)) != PS_OK)
		return rc;
	if ((rc = wrap_public(eph_priv, eph_pub)) != PS_OK)
		return rc;
	if ((rc = derive(eph_priv, recipient_pub, eph_pub, recipient_pub,
	    okm)) != PS_OK)
		goto out;
	rc = PS_ERR_CRYPTO;
	if ((x = EVP_CIPHER_CTX_new()) == NULL ||
	    gcm(x, 1, okm, aad, aad_len) != 0)
		goto out;
	o = (uint8_t *)out->p + out->len;
	memcpy(o, WRAP_MAGIC, WRAP_MAGIC_LEN);
	memcpy(o + WRAP_MAGIC_LEN, eph_pub, WRAP_KEY_LEN);
	o += HDR_LEN;
	outl = 0;
	if (pt_len > 0 && EVP_EncryptUpdate(x, o, &outl, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(x, o + outl, &fin) != 1)
		goto out;
	o += outl + fin;
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, WRAP_TAG_LEN, o) != 1)
		goto out;
	out->len += pt_len + WRAP_OVERHEAD;
	rc = PS_OK;
out:
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	secret_wipe(okm, sizeof(okm));
	EVP_CIPHER_CTX_free(x);
	return rc;
}

pserr
wrap_seal(const uint8_t recipient_pub[WRAP_KEY_LEN], const void *aad,
    size_t aad_len, const void *pt, size_t pt_len, struct buf *out)
{
	uint8_t eph_priv[WRAP_KEY_LEN], eph_pub[WRAP_KEY_LEN];
	pserr rc;

	if ((rc = wrap_keypair(eph_priv, eph_pub)) != PS_OK)
		return rc;
	rc = seal_eph(eph_priv, recipient_pub, aad, aad_len, pt, pt_len, out);
	secret_wipe(eph_priv, sizeof(eph_priv));
	return rc;
}

pserr
wrap_open(const uint8_t priv[WRAP_KEY_LEN], const void *aad, size_t aad_len,
    const void *blob, size_t n, struct buf *out)
{
	const uint8_t *b = blob;
	uint8_t pub[WRAP_KEY_LEN], okm[GCM_KEY_LEN + GCM_IV_LEN];
	uint8_t tag[WRAP_TAG_LEN];
	EVP_CIPHER_CTX *x = NULL;
	size_t start = out->len, ctlen;
	int outl, fin;
	pserr rc;

	if (n < WRAP_OVERHEAD || n - WRAP_OVERHEAD > INT_MAX ||
	    memcmp(b, WRAP_MAGIC, WRAP_MAGIC_LEN) != 0)
		return PS_ERR_DECRYPT;
	if (aad_len > INT_MAX)
		return PS_ERR_ARG;
	ctlen = n - WRAP_OVERHEAD;
	if ((rc = buf_reserve(out, ctlen)) != PS_OK)
		return rc;
	if ((rc = wrap_public(priv, pub)) != PS_OK)
		return rc;
	/* A bad ephemeral key (low order, or not a key at all) is a broken
	 * blob, reported like every other broken blob. */
	if (derive(priv, b + WRAP_MAGIC_LEN, b + WRAP_MAGIC_LEN, pub, okm) !=
	    PS_OK) {
		rc = PS_ERR_DECRYPT;
		goto out;
	}
	rc = PS_ERR_CRYPTO;
	memcpy(tag, b + n - WRAP_TAG_LEN, WRAP_TAG_LEN);
	if ((x = EVP_CIPHER_CTX_new()) == NULL ||
	    gcm(x, 0, okm, aad, aad_len) != 0)
		goto out;
	outl = 0;
	if (ctlen > 0 && EVP_DecryptUpdate(x, (uint8_t *)out->p + out->len,
	    &outl, b + HDR_LEN, (int)ctlen) != 1)
		goto out;
	out->len += (size_t)outl;
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, WRAP_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(x, (uint8_t *)out->p + out->len, &fin) != 1) {
		rc = PS_ERR_DECRYPT;
		goto out;
	}
	out->len += (size_t)fin;
	rc = PS_OK;
out:
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	secret_wipe(okm, sizeof(okm));
	EVP_CIPHER_CTX_free(x);
	return rc;
}
