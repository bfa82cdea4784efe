/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "as/askey.h"
#include "core/buf.h"
#include "core/privfile.h"
#include "core/secret.h"

#define MAGIC "psk1"
#define SEAL_SALT "promptseal sim seal v1"

static pserr
hkdf(const uint8_t *ikm, size_t ikm_len, const char *salt, const void *info,
    size_t info_len, uint8_t out[32])
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kx = NULL;
	OSSL_PARAM params[5];
	pserr rc = PS_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, strlen(salt));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) != NULL &&
	    (kx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    EVP_KDF_derive(kx, out, 32, params) == 1)
		rc = PS_OK;
	EVP_KDF_CTX_free(kx);
	EVP_KDF_free(kdf);
	return rc;
}

pserr
askey_sim_sealing_key(const uint8_t platform_priv[ATTEST_SIM_KEY_LEN],
    const struct attest_measurement *m,
    const uint8_t digest[ASPOLICY_DIGEST_LEN], uint8_t out[32])
{
	uint8_t info[ATTEST_MEASUREMENT_MAX + ASPOLICY_DIGEST_LEN];

	memcpy(info, m->b, m->len);
	memcpy(info + m->len, digest, ASPOLICY_DIGEST_LEN);
	return hkdf(platform_priv, ATTEST_SIM_KEY_LEN, SEAL_SALT, info,
	    m->len + ASPOLICY_DIGEST_LEN, out);
}

pserr
askey_derive(const uint8_t key[ASSTORE_KEY_LEN], const char *label,
    uint8_t out[32])
{
	return hkdf(key, ASSTORE_KEY_LEN, "promptseal storage key v1", label,
	    strlen(label), out);
}

static int
gcm(int enc, const uint8_t sk[32], const uint8_t nonce[12],
    const uint8_t *in, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *x;
	int l1 = 0, l2 = 0, ok;

	if ((x = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, sk, nonce, enc) ==
	    1 && EVP_CipherUpdate(x, NULL, &l1, (const uint8_t *)MAGIC, 4) == 1 &&
	    EVP_CipherUpdate(x, out, &l1, in, ASSTORE_KEY_LEN) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag) ==
	    1) && EVP_CipherFinal_ex(x, out + l1, &l2) == 1 &&
	    l1 + l2 == ASSTORE_KEY_LEN &&
	    (!enc || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag) ==
	    1);
	EVP_CIPHER_CTX_free(x);
	if (!ok)
		secret_wipe(out, ASSTORE_KEY_LEN);
	return ok ? 0 : -1;
}

pserr
askey_seal_file(const char *path, const uint8_t sk[32],
    const uint8_t key[ASSTORE_KEY_LEN], char *why, size_t whylen)
{
	uint8_t f[ASKEY_FILE_LEN];
	pserr rc;

	memcpy(f, MAGIC, 4);
	if ((rc = secret_random(f + 4, 12)) != PS_OK)
		return rc;
	if (gcm(1, sk, f + 4, key, f + 16, f + 16 + ASSTORE_KEY_LEN) != 0)
		return PS_ERR_CRYPTO;
	return privfile_replace(path, f, sizeof(f), why, whylen);
}

pserr
askey_unseal_file(const char *path, const uint8_t sk[32],
    uint8_t key[ASSTORE_KEY_LEN], char *why, size_t whylen)
{
	uint8_t tag[16];
	struct buf b;
	pserr rc;

	buf_init(&b, ASKEY_FILE_LEN);
	if ((rc = privfile_read(path, &b, why, whylen)) != PS_OK)
		goto out;
	if (b.len != ASKEY_FILE_LEN || memcmp(b.p, MAGIC, 4) != 0) {
		pserr_why(why, whylen, "not a sealed storage key");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	memcpy(tag, b.p + 16 + ASSTORE_KEY_LEN, 16);
	if (gcm(0, sk, (const uint8_t *)b.p + 4, (const uint8_t *)b.p + 16, key,
	    tag) != 0) {
		pserr_why(why, whylen, "the sealed storage key does not open "
		    "here (another platform, measurement or policy)");
		rc = PS_ERR_DECRYPT;
		goto out;
	}
	rc = PS_OK;
out:
	buf_free(&b);
	return rc;
}
