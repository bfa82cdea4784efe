/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "attest/hpke.h"
#include "core/secret.h"

#define NH 32                  /* SHA-256 */
#define NN 12                  /* the AEAD nonce */
#define MAX_NK 32
/* The most a labeled input holds: "HPKE-v1" || suite_id (10) || label
 * (at most 13) || ikm or info.  Callers' info is capped to keep this on
 * the stack. */
#define INFO_MAX 1024
#define LABELED_MAX (7 + 10 + 16 + 2 + INFO_MAX + 2 * HPKE_KEY_LEN)

const struct hpke_suite hpke_suite_default = {
	HPKE_KEM_X25519_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES256GCM
};

int
hpke_suite_supported(const struct hpke_suite *s)
{
	return s != NULL && s->kem == HPKE_KEM_X25519_SHA256 &&
	    s->kdf == HPKE_KDF_HKDF_SHA256 &&
	    (s->aead == HPKE_AEAD_AES128GCM || s->aead == HPKE_AEAD_AES256GCM);
}

static size_t
aead_nk(const struct hpke_suite *s)
{
	return s->aead == HPKE_AEAD_AES128GCM ? 16 : 32;
}

/* suite_id of the KEM ("KEM" || kem) or of the whole suite ("HPKE" ||
 * kem || kdf || aead); its length. */
static size_t
suite_id(const struct hpke_suite *s, int kem_only, uint8_t out[10])
{
	if (kem_only) {
		memcpy(out, "KEM", 3);
		out[3] = (uint8_t)(s->kem >> 8);
		out[4] = (uint8_t)s->kem;
		return 5;
	}
	memcpy(out, "HPKE", 4);
	out[4] = (uint8_t)(s->kem >> 8);
	out[5] = (uint8_t)s->kem;
	out[6] = (uint8_t)(s->kdf >> 8);
	out[7] = (uint8_t)s->kdf;
	out[8] = (uint8_t)(s->aead >> 8);
	out[9] = (uint8_t)s->aead;
	return 10;
}

/* LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" ||
 * suite_id || label || ikm).  An empty salt is HMAC's zero key. */
static int
labeled_extract(const struct hpke_suite *s, int kem_only, const void *salt,
    size_t salt_len, const char *label, const void *ikm, size_t ikm_len,
    uint8_t prk[NH])
{
	uint8_t in[LABELED_MAX], sid[10];
	size_t n = 0, sl = suite_id(s, kem_only, sid), ll = strlen(label);
	unsigned int outl = 0;
	int ok;

	if (ikm_len > INFO_MAX + 2 * HPKE_KEY_LEN)
		return -1;
	memcpy(in + n, "HPKE-v1", 7);
	n += 7;
	memcpy(in + n, sid, sl);
	n += sl;
	memcpy(in + n, label, ll);
	n += ll;
	if (ikm_len > 0)
		memcpy(in + n, ikm, ikm_len);
	n += ikm_len;
	ok = HMAC(EVP_sha256(), salt_len ? salt : "", (int)salt_len, in, n,
	    prk, &outl) != NULL && outl == NH;
	secret_wipe(in, n);
	return ok ? 0 : -1;
}

/* LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) ||
 * "HPKE-v1" || suite_id || label || info, L), L at most 255 * NH. */
static int
labeled_expand(const struct hpke_suite *s, int kem_only, const uint8_t prk[NH],
    const char *label, const void *info, size_t info_len, uint8_t *out,
    size_t L)
{
	uint8_t in[NH + LABELED_MAX + 1], t[NH], sid[10];
	size_t n = 0, hdr, sl = suite_id(s, kem_only, sid), ll = strlen(label);
	size_t done = 0, take;
	unsigned int outl;
	uint8_t i = 0;
	int ret = -1;

	if (info_len > INFO_MAX + 2 * HPKE_KEY_LEN || L > 255 * NH)
		return -1;
	/* in = T(i-1) || labeled info || i; T(0) is empty. */
	n = NH;
	in[n++] = (uint8_t)(L >> 8);
	in[n++] = (uint8_t)L;
	memcpy(in + n, "HPKE-v1", 7);
	n += 7;
	memcpy(in + n, sid, sl);
	n += sl;
	memcpy(in + n, label, ll);
	n += ll;
	if (info_len > 0)
		memcpy(in + n, info, info_len);
	n += info_len;
	hdr = n;
	while (done < L) {
		size_t start = i == 0 ? NH : 0;

		in[hdr] = ++i;
		outl = 0;
		if (HMAC(EVP_sha256(), prk, NH, in + start, hdr + 1 - start, t,
		    &outl) == NULL || outl != NH)
			goto out;
		take = L - done < NH ? L - done : NH;
		memcpy(out + done, t, take);
		done += take;
		memcpy(in, t, NH);
	}
	ret = 0;
out:
	secret_wipe(in, sizeof(in));
	secret_wipe(t, sizeof(t));
	return ret;
}

pserr
hpke_derive_keypair(const struct hpke_suite *s, const uint8_t *ikm,
    size_t ikm_len, uint8_t sk[HPKE_KEY_LEN], uint8_t pk[HPKE_KEY_LEN])
{
	uint8_t prk[NH];
	EVP_PKEY *k = NULL;
	size_t l = HPKE_KEY_LEN;
	pserr rc = PS_ERR_CRYPTO;

	if (!hpke_suite_supported(s) || ikm_len < 32)
		return PS_ERR_ARG;
	if (labeled_extract(s, 1, NULL, 0, "dkp_prk", ikm, ikm_len, prk) != 0 ||
	    labeled_expand(s, 1, prk, "sk", NULL, 0, sk, HPKE_KEY_LEN) != 0)
		goto out;
	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk,
	    HPKE_KEY_LEN)) == NULL ||
	    EVP_PKEY_get_raw_public_key(k, pk, &l) != 1 || l != HPKE_KEY_LEN)
		goto out;
	rc = PS_OK;
out:
	if (rc != PS_OK)
		secret_wipe(sk, HPKE_KEY_LEN);
	secret_wipe(prk, sizeof(prk));
	EVP_PKEY_free(k);
	return rc;
}

/* X25519(priv, peer); -1 for an all-zero result (a low-order peer key). */
static int
dh(const uint8_t priv[HPKE_KEY_LEN], const uint8_t peer[HPKE_KEY_LEN],
    uint8_t out[HPKE_KEY_LEN])
{
	static const uint8_t zero[HPKE_KEY_LEN];
	EVP_PKEY *a, *b;
	EVP_PKEY_CTX *x = NULL;
	size_t l = HPKE_KEY_LEN;
	int ret = -1;

	a = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    HPKE_KEY_LEN);
	b = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer,
	    HPKE_KEY_LEN);
	if (a != NULL && b != NULL && (x = EVP_PKEY_CTX_new(a, NULL)) != NULL &&
	    EVP_PKEY_derive_init(x) == 1 && EVP_PKEY_derive_set_peer(x, b) == 1 &&
	    EVP_PKEY_derive(x, out, &l) == 1 && l == HPKE_KEY_LEN &&
	    !secret_equal(out, zero, HPKE_KEY_LEN))
		ret = 0;
	EVP_PKEY_CTX_free(x);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	if (ret != 0)
		secret_wipe(out, HPKE_KEY_LEN);
	return ret;
}

/*
 * The shared secret of DHKEM (ExtractAndExpand over dh with kem_context =
 * enc || pkR), then the base-mode key schedule: key (Nk bytes) and
 * base_nonce.
 */
static int
schedule(const struct hpke_suite *s, const uint8_t dhv[HPKE_KEY_LEN],
    const uint8_t enc[HPKE_ENC_LEN], const uint8_t pkR[HPKE_KEY_LEN],
    const void *info, size_t info_len, uint8_t key[MAX_NK],
    uint8_t nonce[NN])
{
	uint8_t kctx[2 * HPKE_KEY_LEN], prk[NH], shared[NH], secret[NH];
	uint8_t ctx[1 + 2 * NH];
	int ret = -1;

	memcpy(kctx, enc, HPKE_ENC_LEN);
	memcpy(kctx + HPKE_ENC_LEN, pkR, HPKE_KEY_LEN);
	if (labeled_extract(s, 1, NULL, 0, "eae_prk", dhv, HPKE_KEY_LEN,
	    prk) != 0 ||
	    labeled_expand(s, 1, prk, "shared_secret", kctx, sizeof(kctx),
	    shared, NH) != 0)
		goto out;
	ctx[0] = 0x00;                 /* mode_base */
	if (labeled_extract(s, 0, NULL, 0, "psk_id_hash", NULL, 0,
	    ctx + 1) != 0 ||
	    labeled_extract(s, 0, NULL, 0, "info_hash", info, info_len,
	    ctx + 1 + NH) != 0 ||
	    labeled_extract(s, 0, shared, NH, "secret", NULL, 0, secret) != 0 ||
	    labeled_expand(s, 0, secret, "key", ctx, sizeof(ctx), key,
	    aead_nk(s)) != 0 ||
	    labeled_expand(s, 0, secret, "base_nonce", ctx, sizeof(ctx), nonce,
	    NN) != 0)
		goto out;
	ret = 0;
out:
	secret_wipe(prk, sizeof(prk));
	secret_wipe(shared, sizeof(shared));
	secret_wipe(secret, sizeof(secret));
	return ret;
}

static const EVP_CIPHER *
aead_cipher(const struct hpke_suite *s)
{
	return s->aead == HPKE_AEAD_AES128GCM ? EVP_aes_128_gcm() :
	    EVP_aes_256_gcm();
}

/* Sequence number 0: the nonce is base_nonce itself. */
static pserr
aead_seal(const struct hpke_suite *s, const uint8_t *key,
    const uint8_t nonce[NN], const void *aad, size_t aad_len, const void *pt,
    size_t pt_len, struct buf *ct)
{
	EVP_CIPHER_CTX *x = NULL;
	size_t start = ct->len;
	uint8_t *o;
	int l1 = 0, l2 = 0;
	pserr rc;

	if (pt_len > INT_MAX - HPKE_TAG_LEN || aad_len > INT_MAX)
		return PS_ERR_TOO_LARGE;
	if ((rc = buf_reserve(ct, pt_len + HPKE_TAG_LEN)) != PS_OK)
		return rc;
	o = (uint8_t *)ct->p + start;
	rc = PS_ERR_CRYPTO;
	if ((x = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(x, aead_cipher(s), NULL, key, nonce) != 1 ||
	    (aad_len > 0 && EVP_EncryptUpdate(x, NULL, &l1, aad,
	    (int)aad_len) != 1) ||
	    EVP_EncryptUpdate(x, o, &l1, pt, (int)pt_len) != 1 ||
	    EVP_EncryptFinal_ex(x, o + l1, &l2) != 1 ||
	    (size_t)(l1 + l2) != pt_len ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, HPKE_TAG_LEN,
	    o + pt_len) != 1) {
		secret_wipe(o, pt_len + HPKE_TAG_LEN);
		goto out;
	}
	ct->len = start + pt_len + HPKE_TAG_LEN;
	rc = PS_OK;
out:
	EVP_CIPHER_CTX_free(x);
	return rc;
}

static pserr
seal_with(const struct hpke_suite *s, const uint8_t pkR[HPKE_KEY_LEN],
    const uint8_t skE[HPKE_KEY_LEN], const uint8_t pkE[HPKE_KEY_LEN],
    const void *info, size_t info_len, const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, uint8_t enc[HPKE_ENC_LEN], struct buf *ct)
{
	uint8_t dhv[HPKE_KEY_LEN], key[MAX_NK], nonce[NN];
	pserr rc = PS_ERR_CRYPTO;

	if (info_len > INFO_MAX)
		return PS_ERR_ARG;
	if (dh(skE, pkR, dhv) != 0 ||
	    schedule(s, dhv, pkE, pkR, info, info_len, key, nonce) != 0)
		goto out;
	if ((rc = aead_seal(s, key, nonce, aad, aad_len, pt, pt_len, ct)) !=
	    PS_OK)
		goto out;
	memcpy(enc, pkE, HPKE_ENC_LEN);
out:
	secret_wipe(dhv, sizeof(dhv));
	secret_wipe(key, sizeof(key));
	secret_wipe(nonce, sizeof(nonce));
	return rc;
}

/*
 * hpke_seal() with the ephemeral key derived from ikmE as DeriveKeyPair
 * does.  Static, so that no program can reuse an ephemeral key (that
 * reuses the AES key and nonce); the known-answer tests need a fixed one,
 * and tests/test_hpke.c includes this file to reach it.
 */
static pserr
seal_ikm(const struct hpke_suite *s, const uint8_t pkR[HPKE_KEY_LEN],
    const uint8_t ikmE[32], const void *info, size_t info_len,
    const void *aad, size_t aad_len, const void *pt, size_t pt_len,
    uint8_t enc[HPKE_ENC_LEN], struct buf *ct)
{
	uint8_t skE[HPKE_KEY_LEN], pkE[HPKE_KEY_LEN];
	pserr rc;

	if ((rc = hpke_derive_keypair(s, ikmE, 32, skE, pkE)) != PS_OK)
		return rc;
	rc = seal_with(s, pkR, skE, pkE, info, info_len, aad, aad_len, pt,
	    pt_len, enc, ct);
	secret_wipe(skE, sizeof(skE));
	return rc;
}

pserr
hpke_seal(const struct hpke_suite *s, const uint8_t pkR[HPKE_KEY_LEN],
    const void *info, size_t info_len, const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, uint8_t enc[HPKE_ENC_LEN], struct buf *ct)
{
	uint8_t ikm[32];
	pserr rc;

	/* GenerateKeyPair() as DeriveKeyPair(random(Nsk)), RFC 9180 7.1.3. */
	if (!hpke_suite_supported(s))
		return PS_ERR_ARG;
	if ((rc = secret_random(ikm, sizeof(ikm))) != PS_OK)
		return rc;
	rc = seal_ikm(s, pkR, ikm, info, info_len, aad, aad_len, pt,
	    pt_len, enc, ct);
	secret_wipe(ikm, sizeof(ikm));
	return rc;
}

pserr
hpke_open(const struct hpke_suite *s, const uint8_t skR[HPKE_KEY_LEN],
    const uint8_t enc[HPKE_ENC_LEN], const void *info, size_t info_len,
    const void *aad, size_t aad_len, const void *ct, size_t ct_len,
    struct buf *pt)
{
	uint8_t dhv[HPKE_KEY_LEN], pkR[HPKE_KEY_LEN], key[MAX_NK], nonce[NN];
	uint8_t tag[HPKE_TAG_LEN];
	EVP_CIPHER_CTX *x = NULL;
	EVP_PKEY *k = NULL;
	size_t start = pt->len, n, l = HPKE_KEY_LEN;
	uint8_t *o;
	int l1 = 0, l2 = 0;
	pserr rc;

	if (!hpke_suite_supported(s) || info_len > INFO_MAX)
		return PS_ERR_ARG;
	if (ct_len < HPKE_TAG_LEN || ct_len - HPKE_TAG_LEN > INT_MAX ||
	    aad_len > INT_MAX)
		return PS_ERR_DECRYPT;
	n = ct_len - HPKE_TAG_LEN;
	if (n > pt->max - pt->len)
		return PS_ERR_TOO_LARGE;
	if ((rc = buf_reserve(pt, n)) != PS_OK)
		return rc;
	o = (uint8_t *)pt->p + start;
	rc = PS_ERR_DECRYPT;
	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, skR,
	    HPKE_KEY_LEN)) == NULL ||
	    EVP_PKEY_get_raw_public_key(k, pkR, &l) != 1 || l != HPKE_KEY_LEN)
		goto out;
	if (dh(skR, enc, dhv) != 0 ||
	    schedule(s, dhv, enc, pkR, info, info_len, key, nonce) != 0)
		goto out;
	memcpy(tag, (const uint8_t *)ct + n, HPKE_TAG_LEN);
	if ((x = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(x, aead_cipher(s), NULL, key, nonce) != 1 ||
	    (aad_len > 0 && EVP_DecryptUpdate(x, NULL, &l1, aad,
	    (int)aad_len) != 1) ||
	    EVP_DecryptUpdate(x, o, &l1, ct, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, HPKE_TAG_LEN,
	    tag) != 1 ||
	    EVP_DecryptFinal_ex(x, o + l1, &l2) != 1 ||
	    (size_t)(l1 + l2) != n) {
		secret_wipe(o, n);
		goto out;
	}
	pt->len = start + n;
	rc = PS_OK;
out:
	secret_wipe(dhv, sizeof(dhv));
	secret_wipe(key, sizeof(key));
	secret_wipe(nonce, sizeof(nonce));
	EVP_CIPHER_CTX_free(x);
	EVP_PKEY_free(k);
	return rc;
}
