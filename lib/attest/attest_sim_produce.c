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

/* The sim platform's producing side (keys, reports): the worker's
 * polling helper and the AS carry it, the client proxy does not. */
/* Write k as PEM to a new file path: the private key with mode 0600, or
 * the public key with mode 0644. */
static pserr
write_pem(const char *path, EVP_PKEY *k, int private)
{
	BIO *b = NULL;
	BUF_MEM *mem = NULL;
	FILE *f = NULL;
	int fd = -1;
	pserr rc = PS_ERR_CRYPTO;

	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		goto out;
	if ((private ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL) : PEM_write_bio_PUBKEY(b, k)) != 1)
		goto out;
	if (BIO_get_mem_ptr(b, &mem) != 1 || mem == NULL)
		goto out;
	if (private) {
		rc = privfile_create(path, mem->data, mem->length);
		goto out;
	}
	rc = PS_ERR_IO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0) {
		rc = errno == EEXIST ? PS_ERR_EXISTS : PS_ERR_IO;
		goto out;
	}
	if ((f = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	if (fwrite(mem->data, 1, mem->length, f) != mem->length ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto out;
	rc = PS_OK;
out:
	if (f != NULL && fclose(f) != 0 && rc == PS_OK)
		rc = PS_ERR_IO;
	if (fd >= 0)
		close(fd);
	if (!private && rc != PS_OK && rc != PS_ERR_EXISTS)
		unlink(path);
	BIO_free(b);
	return rc;
}

pserr
attest_sim_keygen(const char *privpath, const char *pubpath)
{
	EVP_PKEY *k = NULL;
	pserr rc = PS_ERR_CRYPTO;

	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		goto out;
	if ((rc = write_pem(privpath, k, 1)) != PS_OK)
		goto out;
	if ((rc = write_pem(pubpath, k, 0)) != PS_OK)
		unlink(privpath);
out:
	EVP_PKEY_free(k);
	return rc;
}

pserr
attest_sim_load_private(const char *path, uint8_t priv[ATTEST_SIM_KEY_LEN],
    char *why, size_t whylen)
{
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	struct buf pem;
	size_t len = ATTEST_SIM_KEY_LEN;
	pserr rc;

	buf_init(&pem, PS_CAP_PEM);
	if ((rc = privfile_read(path, &pem, why, whylen)) != PS_OK)
		goto out;
	rc = PS_ERR_CORRUPT;
	if ((b = BIO_new_mem_buf(pem.p, (int)pem.len)) == NULL) {
		rc = PS_ERR_NOMEM;
		goto out;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_private_key(k, priv, &len) != 1 ||
	    len != ATTEST_SIM_KEY_LEN) {
		secret_wipe(priv, ATTEST_SIM_KEY_LEN);
		pserr_why(why, whylen, "not an unencrypted PEM Ed25519 private "
		    "key");
		goto out;
	}
	rc = PS_OK;
out:
	EVP_PKEY_free(k);
	BIO_free(b);
	buf_free(&pem);
	return rc;
}


static pserr
sim_sign(const uint8_t priv[ATTEST_SIM_KEY_LEN], const uint8_t *msg, size_t n,
    uint8_t sig[ATTEST_SIM_SIG_LEN])
{
	EVP_PKEY *k;
	EVP_MD_CTX *x = NULL;
	size_t siglen = ATTEST_SIM_SIG_LEN;
	pserr rc = PS_ERR_CRYPTO;

	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    ATTEST_SIM_KEY_LEN);
	if (k == NULL || (x = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(x, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(x, sig, &siglen, msg, n) == 1 &&
	    siglen == ATTEST_SIM_SIG_LEN)
		rc = PS_OK;
out:
	EVP_MD_CTX_free(x);
	EVP_PKEY_free(k);
	return rc;
}

pserr
attest_sim_report(const uint8_t priv[ATTEST_SIM_KEY_LEN],
    const struct attest_measurement *m,
    const uint8_t report_data[ATTEST_REPORT_DATA_LEN], struct buf *out)
{
	uint8_t r[ATTEST_SIM_HDR_LEN + ATTEST_MEASUREMENT_MAX +
	    ATTEST_SIM_SIG_LEN];
	size_t body = ATTEST_SIM_HDR_LEN + m->len, pl = ATTEST_SIM_KEY_LEN;
	EVP_PKEY *k;
	pserr rc;

	if (m->len < ATTEST_MEASUREMENT_MIN || m->len > ATTEST_MEASUREMENT_MAX)
		return PS_ERR_ARG;
	memcpy(r, SIM_MAGIC, 4);
	r[4] = SIM_VERSION;
	r[5] = (uint8_t)m->len;
	r[6] = r[7] = 0;
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    ATTEST_SIM_KEY_LEN);
	if (k == NULL || EVP_PKEY_get_raw_public_key(k, r + 8, &pl) != 1 ||
	    pl != ATTEST_SIM_KEY_LEN) {
		EVP_PKEY_free(k);
		return PS_ERR_CRYPTO;
	}
	EVP_PKEY_free(k);
	memcpy(r + 40, report_data, ATTEST_REPORT_DATA_LEN);
	memcpy(r + ATTEST_SIM_HDR_LEN, m->b, m->len);
	if ((rc = sim_sign(priv, r, body, r + body)) != PS_OK)
		return rc;
	return buf_append(out, r, body + ATTEST_SIM_SIG_LEN);
}

struct sim_producer {
	struct attest_producer p;
	uint8_t priv[ATTEST_SIM_KEY_LEN];
	struct attest_measurement m;
};

static pserr
sim_produce(const struct attest_producer *p,
    const uint8_t report_data[ATTEST_REPORT_DATA_LEN], struct buf *evidence)
{
	const struct sim_producer *s = p->state;

	return attest_sim_report(s->priv, &s->m, report_data, evidence);
}

static void
sim_producer_destroy(struct attest_producer *p)
{
	secret_free(p->state, sizeof(struct sim_producer));
}

pserr
attest_sim_producer_new(const uint8_t priv[ATTEST_SIM_KEY_LEN],
    const struct attest_measurement *m, struct attest_producer **out)
{
	struct sim_producer *s;

	if (m->len < ATTEST_MEASUREMENT_MIN || m->len > ATTEST_MEASUREMENT_MAX)
		return PS_ERR_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PS_ERR_NOMEM;
	memcpy(s->priv, priv, ATTEST_SIM_KEY_LEN);
	s->m = *m;
	s->p.format = ATTEST_SIM_FORMAT;
	s->p.produce = sim_produce;
	s->p.destroy = sim_producer_destroy;
	s->p.state = s;
	*out = &s->p;
	return PS_OK;
}

pserr
attest_sim_producer_load(const char *path, const struct attest_measurement *m,
    struct attest_producer **out, char *why, size_t whylen)
{
	uint8_t priv[ATTEST_SIM_KEY_LEN];
	pserr rc;

	if ((rc = attest_sim_load_private(path, priv, why, whylen)) != PS_OK)
		return rc;
	if ((rc = attest_sim_producer_new(priv, m, out)) != PS_OK)
		pserr_why(why, whylen, "%s", pserr_str(rc));
	secret_wipe(priv, sizeof(priv));
	return rc;
}
