/* SPDX-License-Identifier: ISC */
/*
 * Fixtures shared by the Check suites: hex, private temporary
 * directories, files, keys and key cache files, and the attestation
 * service.
 */
#ifndef PROMPTSEAL_TESTUTIL_H
#define PROMPTSEAL_TESTUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "as/asapi.h"
#include "as/asstore.h"
#include "as/tokens.h"
#include "attest/aspolicy.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "attest/hpke.h"
#include "attest/wrap.h"
#include "core/codec.h"
#include "core/privfile.h"
#include "core/secret.h"
#include "keys/keyfile.h"

/* Decode lowercase hex into a malloc'd buffer; aborts the test on bad
 * input.  *n gets the length. */
static inline uint8_t *
tu_hex(const char *h, size_t *n)
{
	size_t len = strlen(h), i;
	uint8_t *p;

	ck_assert_uint_eq(len % 2, 0);
	p = malloc(len / 2 + 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len / 2; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		p[i] = (uint8_t)v;
	}
	*n = len / 2;
	return p;
}

/* A fresh private directory for one test (mode 0700).  Returns a malloc'd
 * path. */
static inline char *
tu_tmpdir(void)
{
	char *d = strdup("/tmp/ps-test-XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* rm -r of a directory made by tu_tmpdir, also after a test that took
 * its write permission away. */
static inline void
tu_rmdir(char *d)
{
	char cmd[512];

	chmod(d, 0700);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	ck_assert_int_eq(system(cmd), 0);
	free(d);
}

/* "<dir>/<name>" into out (cap bytes); aborts the test when it is cut. */
static inline void
tu_path(char *out, size_t cap, const char *dir, const char *name)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/%s", dir, name), (int)cap);
}

/* The number of entries in directory d, "." and ".." not counted. */
static inline int
tu_dir_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* Write n bytes to path with the given mode. */
static inline void
tu_write(const char *path, const void *p, size_t n, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Replace path by a new file (a new inode, so a reader that stamps the
 * file sees the change) that holds n bytes of p, then give it mode. */
static inline void
tu_put(const char *path, const void *p, size_t n, mode_t mode)
{
	char why[256];
	pserr rc = privfile_replace(path, p, n, why, sizeof(why));

	ck_assert_msg(rc == PS_OK, "replace %s: %s (%s)", path, pserr_str(rc),
	    why);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* tu_put of a NUL-terminated text, without its NUL. */
static inline void
tu_put_text(const char *path, const char *text, mode_t mode)
{
	tu_put(path, text, strlen(text), mode);
}

/* Read a whole file into a NUL-terminated malloc'd string; *len (may be
 * NULL) gets its length. */
static inline char *
tu_slurp(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(read(fd, p, (size_t)st.st_size), st.st_size);
	p[st.st_size] = 0;
	close(fd);
	if (len != NULL)
		*len = (size_t)st.st_size;
	return p;
}

/* Run every test of s; the exit status of a suite's main(). */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ------------------------------------------------------------- keys */

/* A key whose every kid byte is k and every secret byte 0x80 | k. */
static inline struct keycache_entry
tu_entry(uint8_t k, int64_t expires)
{
	struct keycache_entry e;

	memset(e.kid, k, sizeof(e.kid));
	memset(e.secret, 0x80 | k, sizeof(e.secret));
	e.expires = expires;
	return e;
}

/* A key of distinct bytes: tag selects the kid and the secret. */
static inline void
tu_mk(struct keycache_entry *e, uint8_t tag, int64_t expires)
{
	int i;

	for (i = 0; i < ENVELOPE_KID_LEN; i++)
		e->kid[i] = (uint8_t)(tag + i);
	for (i = 0; i < ENVELOPE_KEY_LEN; i++)
		e->secret[i] = (uint8_t)(tag * 7 + i * 3 + 1);
	e->expires = expires;
}

/* The keys of the key cache file at path, in file order; the test fails
 * when it cannot be read.  Free with keyfile_entries_free. */
static inline size_t
tu_read_keys(const char *path, struct keycache_entry **keys)
{
	char why[256] = "";
	size_t n = 0;
	pserr rc;

	*keys = NULL;
	rc = keyfile_read(path, keys, &n, why, sizeof(why));
	ck_assert_msg(rc == PS_OK, "read %s: %s (%s)", path, pserr_str(rc),
	    why);
	return n;
}

/*
 * A key cache file of one key: kid 00 01 .. 0f, secret 00 01 .. 1f,
 * expires 1700000000.  TU_SECRET_B64_STEM is that secret in base64
 * without its '=': where this text shows up in a reason or a log line,
 * secret content has leaked.
 */
#define TU_SECRET_B64_STEM "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define TU_KID "\"kid\": \"000102030405060708090a0b0c0d0e0f\""
#define TU_SEC "\"secret\": \"" TU_SECRET_B64_STEM "=\""
#define TU_EXP "\"expires\": 1700000000"
#define TU_WRAP(k) "{\"version\": 1, \"keys\": [" k "]}"
#define TU_ONE TU_WRAP("{" TU_KID ", " TU_SEC ", " TU_EXP "}")

/* The key of TU_ONE, with another expiry. */
static inline void
tu_kat_entry(struct keycache_entry *e, int64_t expires)
{
	int i;

	for (i = 0; i < ENVELOPE_KID_LEN; i++)
		e->kid[i] = (uint8_t)i;
	for (i = 0; i < ENVELOPE_KEY_LEN; i++)
		e->secret[i] = (uint8_t)i;
	e->expires = expires;
}

/* ---------------------------------------------- attestation service */

/*
 * An attestation service as the API sees it, in a fresh directory: one
 * bearer token, a SQLite store (100 secrets, 100 challenges), a sim
 * platform key pair made and loaded through files as the programs do, and
 * one allowed measurement (48 bytes of 0x42).
 */
struct tu_as {
	char *dir;
	struct tokens *toks;
	struct asstore *store;
	struct attest_verifier *ver;
	const struct attest_verifier *vers[1];
	struct attest_allowlist allow;
	struct attest_measurement meas;
	uint8_t ppriv[ATTEST_SIM_KEY_LEN];    /* the platform's private key */
	uint8_t ppub[ATTEST_SIM_KEY_LEN];
	struct asapi_cfg cfg;                 /* prefix /as, ttl at most a day,
	                                       * challenges for 60 s */
	/* The AS's own identity: its X25519 key pair, its sim evidence of
	 * measurement 48 bytes of 0x55, its policy (the platform key, the
	 * allowed measurement, its own build as the one peer that may join),
	 * a storage key of 0x11s and a challenge key
	 * of 0x22s. */
	uint8_t as_priv[32], as_pub[32], storage_key[32], challenge_key[32];
	struct attest_measurement as_meas;
	struct attest_producer *self;
	struct aspolicy policy;
	uint8_t digest[ASPOLICY_DIGEST_LEN];
};

static inline void
tu_as_setup(struct tu_as *a, const char *token)
{
	const struct asstore_limits lim = {100, 100};
	char path[256], pub[256], why[256], line[600];
	uint8_t *ppub = a->ppub;

	memset(a, 0, sizeof(*a));
	a->dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/tokens", a->dir);
	snprintf(line, sizeof(line), "%s\n", token);
	tu_write(path, line, strlen(line), 0600);
	ck_assert_int_eq(tokens_load(path, &a->toks, why, sizeof(why)), PS_OK);
	snprintf(path, sizeof(path), "%s/as.db", a->dir);
	memset(a->storage_key, 0x11, sizeof(a->storage_key));
	memset(a->challenge_key, 0x22, sizeof(a->challenge_key));
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, a->storage_key,
	    &a->store, why, sizeof(why)), PS_OK);
	snprintf(path, sizeof(path), "%s/p.key", a->dir);
	snprintf(pub, sizeof(pub), "%s/p.pub", a->dir);
	ck_assert_int_eq(attest_sim_keygen(path, pub), PS_OK);
	ck_assert_int_eq(attest_sim_load_private(path, a->ppriv, why,
	    sizeof(why)), PS_OK);
	ck_assert_int_eq(attest_sim_load_public(pub, ppub, why, sizeof(why)),
	    PS_OK);
	ck_assert_int_eq(attest_sim_verifier_new(
	    (const uint8_t (*)[ATTEST_SIM_KEY_LEN])ppub, 1, &a->ver), PS_OK);
	a->vers[0] = a->ver;
	memset(&a->meas, 0x42, sizeof(a->meas));
	a->meas.len = 48;
	ck_assert_int_eq(attest_allowlist_add(&a->allow, &a->meas), PS_OK);
	a->cfg.prefix = "/as";
	a->cfg.tokens = a->toks;
	a->cfg.verifiers = a->vers;
	a->cfg.n_verifiers = 1;
	a->cfg.allow = &a->allow;
	a->cfg.max_ttl = 86400;
	a->cfg.challenge_ttl = 60;
	ck_assert_int_eq(wrap_keypair(a->as_priv, a->as_pub), PS_OK);
	memset(&a->as_meas, 0x55, sizeof(a->as_meas));
	a->as_meas.len = 48;
	ck_assert_int_eq(attest_sim_producer_new(a->ppriv, &a->as_meas,
	    &a->self), PS_OK);
	aspolicy_init(&a->policy);
	ck_assert_int_eq(aspolicy_add_key(&a->policy, ppub), PS_OK);
	ck_assert_int_eq(attest_allowlist_add(&a->policy.workers, &a->meas),
	    PS_OK);
	ck_assert_int_eq(attest_allowlist_add(&a->policy.peers, &a->as_meas),
	    PS_OK);
	ck_assert_int_eq(aspolicy_digest(&a->policy, a->digest), PS_OK);
	a->cfg.as_priv = a->as_priv;
	a->cfg.as_pub = a->as_pub;
	a->cfg.self = a->self;
	a->cfg.policy = &a->policy;
	a->cfg.policy_digest = a->digest;
	a->cfg.challenge_key = a->challenge_key;
	a->cfg.storage_key = a->storage_key;
}

/*
 * The JSON body of an upload of kid and secret until expires, the secret
 * sealed to the AS's key as a client seals it, into out (cap bytes).
 */
static inline void
tu_as_upload_body(const struct tu_as *a, const uint8_t kid[16],
    const uint8_t secret[32], int64_t expires, char *out, size_t cap)
{
	uint8_t enc[32], aad[ASPOLICY_UPLOAD_AAD_LEN];
	char kidhex[33], pub64[64], enc64[64], ct64[96];
	struct buf ct;

	buf_init(&ct, 64);
	aspolicy_upload_aad(kid, expires, aad);
	ck_assert_int_eq(hpke_seal(&hpke_suite_default, a->as_pub,
	    ASPOLICY_UPLOAD_INFO, sizeof(ASPOLICY_UPLOAD_INFO) - 1, aad,
	    sizeof(aad), secret, 32, enc, &ct), PS_OK);
	kidhex[codec_hex_encode(kid, 16, kidhex)] = '\0';
	pub64[codec_b64url_encode(a->as_pub, 32, pub64)] = '\0';
	enc64[codec_b64url_encode(enc, 32, enc64)] = '\0';
	ct64[codec_b64url_encode((const uint8_t *)ct.p, ct.len, ct64)] = '\0';
	snprintf(out, cap, "{\"kid\":\"%s\",\"expires\":%lld,\"pubkey\":"
	    "\"%s\",\"enc\":\"%s\",\"sealed\":\"%s\"}", kidhex,
	    (long long)expires, pub64, enc64, ct64);
	buf_free(&ct);
}

static inline void
tu_as_teardown(struct tu_as *a)
{
	attest_allowlist_free(&a->allow);
	attest_producer_free(a->self);
	aspolicy_free(&a->policy);
	attest_verifier_free(a->ver);
	asstore_close(a->store);
	tokens_free(a->toks);
	secret_wipe(a->ppriv, sizeof(a->ppriv));
	tu_rmdir(a->dir);
}

#endif
