/*
 * asstore: what the attestation service (AS) keeps: the secrets clients
 * uploaded, until they expire, and the single-use challenges it issued.
 *
 * An interface (struct asstore_ops) with one implementation, SQLite in one
 * embedded file, that several AS processes may share at once.  A
 * distributed backend implements the same operations with the same
 * guarantees:
 *   - put is atomic: of two uploads of one kid, exactly one succeeds;
 *   - an expired secret is gone: never listed, and its kid may be reused;
 *   - a challenge can be taken once, by one caller, before it expires.
 *
 * The SQLite file holds the secrets in plain text: it is created with
 * mode 0600 and refused when group or others have access (as are its
 * -wal and -shm files, which SQLite creates with the same mode).  Put it
 * on a disk only the AS's user can read.  Deleted secrets are overwritten
 * (secure_delete).
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
	 * Store e (kid, secret, expires) unless an unexpired secret with
	 * that kid exists: PS_ERR_EXISTS.  PS_ERR_TOO_LARGE when the store
	 * already holds its maximum of unexpired secrets.  Expired secrets
	 * are purged in the same step.
	 */
	pserr (*put)(struct asstore *s, const struct keycache_entry *e,
	    int64_t now);
	/*
	 * All secrets unexpired at now, ordered by kid, in a new array
	 * (free it with keyfile_entries_free); *keys is NULL when *n is 0.
	 */
	pserr (*list)(struct asstore *s, int64_t now,
	    struct keycache_entry **keys, size_t *n);
	/* Delete the secrets and challenges expired at now. */
	pserr (*purge)(struct asstore *s, int64_t now);
	/*
	 * Record a new challenge valid until expires.  PS_ERR_TOO_LARGE
	 * when the maximum of outstanding challenges is reached.
	 */
	pserr (*challenge_put)(struct asstore *s,
	    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t expires, int64_t now);
	/*
	 * Take (consume) challenge c: PS_OK once, PS_ERR_EXPIRED when it
	 * expired before now, PS_ERR_NOT_FOUND when it was never issued or
	 * was already taken.  Either way it can never be taken again.
	 */
	pserr (*challenge_take)(struct asstore *s,
	    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t now);
	void (*close)(struct asstore *s);
};

struct asstore {
	const struct asstore_ops *ops;
};

struct asstore_limits {
	size_t max_secrets;       /* unexpired secrets held at once */
	size_t max_challenges;    /* unexpired challenges outstanding */
};

/*
 * Open (creating it if needed, mode 0600) the SQLite store at path.  Each
 * thread must use its own handle; handles of any number of threads and
 * processes may share one file.  PS_ERR_PERM with the reason in why when
 * the file is refused; PS_ERR_IO when it cannot be opened or set up.
 */
pserr asstore_sqlite_open(const char *path, const struct asstore_limits *lim,
    struct asstore **out, char *why, size_t whylen) PS_WARN_UNUSED;

/* Calls through s->ops, for readability at call sites. */
pserr asstore_put(struct asstore *s, const struct keycache_entry *e,
    int64_t now) PS_WARN_UNUSED;
pserr asstore_list(struct asstore *s, int64_t now,
    struct keycache_entry **keys, size_t *n) PS_WARN_UNUSED;
pserr asstore_purge(struct asstore *s, int64_t now) PS_WARN_UNUSED;
pserr asstore_challenge_put(struct asstore *s,
    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t expires, int64_t now)
    PS_WARN_UNUSED;
pserr asstore_challenge_take(struct asstore *s,
    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t now) PS_WARN_UNUSED;
/* s may be NULL. */
void asstore_close(struct asstore *s);

#endif
