/*
 * Helpers shared by the Check suites: hex, private directories and files,
 * key entries, the attestation service's fixture, and main().
 */
#ifndef PROMPTSEAL_TESTUTIL_H
#define PROMPTSEAL_TESTUTIL_H

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
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/secret.h"
#include "keys/keycache.h"

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

/* rm -r of a directory made by tu_tmpdir (one level deep). */
static inline void
tu_rmdir(char *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	ck_assert_int_eq(system(cmd), 0);
	free(d);
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

/* A key entry: kid all k, secret all 0x80 | k. */
static inline struct keycache_entry
tu_entry(uint8_t k, int64_t expires)
{
	struct keycache_entry e;

	memset(e.kid, k, sizeof(e.kid));
	memset(e.secret, 0x80 | k, sizeof(e.secret));
	e.expires = expires;
	return e;
}

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
	struct asapi_cfg cfg;                 /* prefix /as, ttl at most a day,
	                                       * challenges for 60 s */
};

static inline void
tu_as_setup(struct tu_as *a, const char *token)
{
	const struct asstore_limits lim = {100, 100};
	char path[256], pub[256], why[256], line[600];
	uint8_t ppub[ATTEST_SIM_KEY_LEN];

	memset(a, 0, sizeof(*a));
	a->dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/tokens", a->dir);
	snprintf(line, sizeof(line), "%s\n", token);
	tu_write(path, line, strlen(line), 0600);
	ck_assert_int_eq(tokens_load(path, &a->toks, why, sizeof(why)), PS_OK);
	snprintf(path, sizeof(path), "%s/as.db", a->dir);
	ck_assert_int_eq(asstore_sqlite_open(path, &lim, &a->store, why,
	    sizeof(why)), PS_OK);
	snprintf(path, sizeof(path), "%s/p.key", a->dir);
	snprintf(pub, sizeof(pub), "%s/p.pub", a->dir);
	ck_assert_int_eq(attest_sim_keygen(path, pub), PS_OK);
	ck_assert_int_eq(attest_sim_load_private(path, a->ppriv, why,
	    sizeof(why)), PS_OK);
	ck_assert_int_eq(attest_sim_load_public(pub, ppub, why, sizeof(why)),
	    PS_OK);
	ck_assert_int_eq(attest_sim_verifier_new(&ppub, 1, &a->ver), PS_OK);
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
}

static inline void
tu_as_teardown(struct tu_as *a)
{
	attest_allowlist_free(&a->allow);
	attest_verifier_free(a->ver);
	asstore_close(a->store);
	tokens_free(a->toks);
	secret_wipe(a->ppriv, sizeof(a->ppriv));
	tu_rmdir(a->dir);
}

/* Run the suite: main()'s exit status. */
static inline int
tu_run(Suite *s)
{
	SRunner *r = srunner_create(s);
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
