/* SPDX-License-Identifier: ISC */
/*
 * asstore: what the attestation service (AS) keeps: the secrets clients
 * uploaded, until they expire, and the challenges attested callers have
 * used up.
 *
 * An interface (struct asstore_ops) with one implementation, SQLite in one
 * embedded file, that several AS processes may share at once.  A
 * distributed backend implements the same operations with the same
 * guarantees:
 *   - put is atomic: of two uploads of one kid, exactly one succeeds;
 *   - an expired secret is gone: never listed, and its kid may be reused;
 *   - one tenant (upload token) holds at most its own limit of secrets;
 *   - a challenge can be used once.
 *
 * Secrets are stored only sealed under the storage key (AES-256-GCM with a
 * fresh nonce per row, the kid, expiry and tenant as associated data): the
 * key exists only inside attested AS instances, so the file, its WAL, a
 * backup or a copy yields nothing.  The file is still created with mode
 * 0600 and refused when group or others have access, and deleted rows are
 * overwritten (secure_delete).
 */
#ifndef PROMPTSEAL_ASSTORE_H
#define PROMPTSEAL_ASSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "attest/release.h"
#include "core/pserr.h"
#include "keys/keyfile.h"

struct asstore;

struct asstore_ops {
	/*
	 * Store e (kid, secret, expires) for tenant (a name, at most 64
	 * bytes) unless an unexpired secret with that kid exists:
	 * PS_ERR_EXISTS.  PS_ERR_TOO_LARGE when the store already holds its
	 * maximum of unexpired secrets; PS_ERR_PERM when tenant holds
	 * tenant_limit of them (0: no limit of its own).  Expired secrets are
	 * purged in the same step.
	 */
	pserr (*put)(struct asstore *s, const struct keycache_entry *e,
	    const char *tenant, size_t tenant_limit, int64_t now);
	/*
	 * All secrets unexpired at now, ordered by kid, in a new array
	 * (free it with keyfile_entries_free); *keys is NULL when *n is 0.
	 */
	pserr (*list)(struct asstore *s, int64_t now,
	    struct keycache_entry **keys, size_t *n);
	/* Delete the secrets and challenges expired at now. */
	pserr (*purge)(struct asstore *s, int64_t now);
	/*
	 * Use challenge c (valid until expires, which the caller checked):
	 * PS_OK the first time, PS_ERR_EXISTS ever after.  PS_ERR_TOO_LARGE
	 * when the maximum of remembered challenges is reached.  Only
	 * callers whose evidence checked out get here, so nobody else can
	 * fill the table.
	 */
	pserr (*challenge_use)(struct asstore *s,
	    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t expires, int64_t now);
	void (*close)(struct asstore *s);
};

struct asstore {
	const struct asstore_ops *ops;
};

struct asstore_limits {
	size_t max_secrets;       /* unexpired secrets held at once */
	size_t max_challenges;    /* used challenges remembered until they
	                           * expire */
};

#define ASSTORE_KEY_LEN 32
#define ASSTORE_TENANT_MAX 64

/*
 * Open (creating it if needed, mode 0600) the SQLite store at path, its
 * secrets sealed under key (ASSTORE_KEY_LEN bytes, copied; a row sealed
 * under another key is never listed).  Each
 * thread must use its own handle; handles of any number of threads and
 * processes may share one file.  PS_ERR_PERM with the reason in why when
 * the file is refused; PS_ERR_IO when it cannot be opened or set up.
 */
pserr asstore_sqlite_open(const char *path, const struct asstore_limits *lim,
    const uint8_t key[ASSTORE_KEY_LEN], struct asstore **out, char *why,
    size_t whylen) PS_WARN_UNUSED;

/* For tests only: when set, called with the path after the file was
 * checked and before SQLite opens it. */
extern void (*asstore_sqlite_test_between)(const char *path);

/* Calls through s->ops, for readability at call sites. */
pserr asstore_put(struct asstore *s, const struct keycache_entry *e,
    int64_t now) PS_WARN_UNUSED;          /* tenant "", no limit of its own */
pserr asstore_put_for(struct asstore *s, const struct keycache_entry *e,
    const char *tenant, size_t tenant_limit, int64_t now) PS_WARN_UNUSED;
pserr asstore_list(struct asstore *s, int64_t now,
    struct keycache_entry **keys, size_t *n) PS_WARN_UNUSED;
pserr asstore_purge(struct asstore *s, int64_t now) PS_WARN_UNUSED;
pserr asstore_challenge_use(struct asstore *s,
    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t expires, int64_t now)
    PS_WARN_UNUSED;
/* s may be NULL. */
void asstore_close(struct asstore *s);

#endif
