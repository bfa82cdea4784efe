/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest/attest_sim.h"
#include "core/caps.h"
#include "core/privfile.h"
#include "core/secret.h"

#define SIM_MAGIC "PSIM"
#define SIM_VERSION 1

pserr
attest_sim_load_public(const char *path, uint8_t pub[ATTEST_SIM_KEY_LEN],
    char *why, size_t whylen)
{
	EVP_PKEY *k = NULL;
	size_t len = ATTEST_SIM_KEY_LEN;
	FILE *f;
	pserr rc = PS_ERR_CORRUPT;

	if ((f = fopen(path, "re")) == NULL) {
		rc = errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_IO;
		pserr_why(why, whylen, "cannot open the platform public key");
		return rc;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 ||
	    len != ATTEST_SIM_KEY_LEN) {
		pserr_why(why, whylen, "not a PEM Ed25519 public key");
		goto out;
	}
	rc = PS_OK;
out:
	EVP_PKEY_free(k);
	return rc;
}

pserr
attest_sim_measure_files(const char *const *paths, size_t n,
    struct attest_measurement *m)
{
	uint8_t chunk[16384], be[8];
	EVP_MD_CTX *x = NULL;
	unsigned int len = 0;
	FILE *f = NULL;
	size_t i, got;
	long size;
	int k;
	pserr rc = PS_ERR_CRYPTO;

	if ((x = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x, EVP_sha384(), NULL) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		uint64_t total = 0;

		rc = PS_ERR_IO;
		if ((f = fopen(paths[i], "re")) == NULL ||
		    fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) != 0)
			goto out;
		for (k = 0; k < 8; k++)
			be[k] = (uint8_t)((uint64_t)size >> (56 - 8 * k));
		rc = PS_ERR_CRYPTO;
		if (EVP_DigestUpdate(x, be, sizeof(be)) != 1)
			goto out;
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			if (EVP_DigestUpdate(x, chunk, got) != 1)
				goto out;
			total += got;
		}
		/* A file that changed size while read gives no measurement
		 * at all rather than a wrong one. */
		rc = PS_ERR_IO;
		if (ferror(f) || total != (uint64_t)size)
			goto out;
		fclose(f);
		f = NULL;
	}
	rc = PS_ERR_CRYPTO;
	if (EVP_DigestFinal_ex(x, m->b, &len) != 1 ||
	    len != ATTEST_SIM_MEASURE_LEN)
		goto out;
	m->len = len;
	rc = PS_OK;
out:
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(x);
	return rc;
}

/* PS_ERR_AUTH for a signature that does not verify. */
static pserr
sim_check_sig(const uint8_t pub[ATTEST_SIM_KEY_LEN], const uint8_t *msg,
    size_t n, const uint8_t sig[ATTEST_SIM_SIG_LEN])
{
	EVP_PKEY *k;
	EVP_MD_CTX *x = NULL;
	pserr rc = PS_ERR_CRYPTO;

	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    ATTEST_SIM_KEY_LEN);
	if (k == NULL) {
		/* Not a point on the curve: nobody can have signed for it. */
		ERR_clear_error();
		rc = PS_ERR_AUTH;
		goto out;
	}
	if ((x = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(x, NULL, NULL, NULL, k) != 1)
		goto out;
	if (EVP_DigestVerify(x, sig, ATTEST_SIM_SIG_LEN, msg, n) == 1) {
		rc = PS_OK;
	} else {
		ERR_clear_error();
		rc = PS_ERR_AUTH;
	}
out:
	EVP_MD_CTX_free(x);
	EVP_PKEY_free(k);
	return rc;
}

struct sim_verifier {
	struct attest_verifier v;
	size_t n;
	uint8_t (*keys)[ATTEST_SIM_KEY_LEN];
};

static pserr
sim_verify(const struct attest_verifier *v, const uint8_t *ev, size_t n,
    const uint8_t report_data[ATTEST_REPORT_DATA_LEN],
    struct attest_measurement *m, enum attest_fail *why)
{
	const struct sim_verifier *s = v->state;
	size_t mlen, i;
	int trusted = 0;
	pserr rc;

	if (n < ATTEST_SIM_HDR_LEN || memcmp(ev, SIM_MAGIC, 4) != 0 ||
	    ev[4] != SIM_VERSION || ev[6] != 0 || ev[7] != 0) {
		*why = ATTEST_FAIL_MALFORMED;
		return PS_ERR_AUTH;
	}
	mlen = ev[5];
	if (mlen < ATTEST_MEASUREMENT_MIN || mlen > ATTEST_MEASUREMENT_MAX ||
	    n != ATTEST_SIM_HDR_LEN + mlen + ATTEST_SIM_SIG_LEN) {
		*why = ATTEST_FAIL_MALFORMED;
		return PS_ERR_AUTH;
	}
	for (i = 0; i < s->n; i++)
		trusted |= memcmp(s->keys[i], ev + 8, ATTEST_SIM_KEY_LEN) == 0;
	if (!trusted) {
		*why = ATTEST_FAIL_UNTRUSTED_PLATFORM;
		return PS_ERR_AUTH;
	}
	rc = sim_check_sig(ev + 8, ev, ATTEST_SIM_HDR_LEN + mlen,
	    ev + ATTEST_SIM_HDR_LEN + mlen);
	if (rc != PS_OK) {
		if (rc == PS_ERR_AUTH)
			*why = ATTEST_FAIL_SIGNATURE;
		return rc;
	}
	if (CRYPTO_memcmp(ev + 40, report_data, ATTEST_REPORT_DATA_LEN) != 0) {
		*why = ATTEST_FAIL_REPORT_DATA;
		return PS_ERR_AUTH;
	}
	m->len = mlen;
	memcpy(m->b, ev + ATTEST_SIM_HDR_LEN, mlen);
	return PS_OK;
}

static void
sim_verifier_destroy(struct attest_verifier *v)
{
	struct sim_verifier *s = v->state;

	free(s->keys);
	free(s);
}

pserr
attest_sim_verifier_new(const uint8_t (*keys)[ATTEST_SIM_KEY_LEN], size_t n,
    struct attest_verifier **out)
{
	struct sim_verifier *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PS_ERR_NOMEM;
	if (n > 0 && (s->keys = calloc(n, ATTEST_SIM_KEY_LEN)) == NULL) {
		free(s);
		return PS_ERR_NOMEM;
	}
	if (n > 0)
		memcpy(s->keys, keys, n * ATTEST_SIM_KEY_LEN);
	s->n = n;
	s->v.format = ATTEST_SIM_FORMAT;
	s->v.verify = sim_verify;
	s->v.destroy = sim_verifier_destroy;
	s->v.state = s;
	*out = &s->v;
	return PS_OK;
}
