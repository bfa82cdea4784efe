/* SPDX-License-Identifier: ISC */
/*
 * clientkey: the client proxy's own secrets when they reach the workers
 * through the attestation service (protocol.md sections 1 and 8).
 *
 * Every client process of one installation shares one key state file in
 * the key cache format (protocol.md section 7; mode 0600, written whole
 * with keyfile_write): the newest key and the older ones that have not
 * expired.  A rotation runs under an exclusive flock() of "<state>.lock":
 * the process that holds the lock re-reads the file, and does nothing when
 * another process has rotated already; otherwise it makes a key with a
 * fresh kid that expires after ttl seconds, uploads it, and only after the
 * upload writes the file: the new key and the unexpired old ones (at most
 * PS_CAP_CLIENT_KEYS in all, the ones that expire last).  A key that is
 * in the file is therefore always at the AS as well.
 *
 * With a time to live ttl (seconds, at least CLIENTKEY_MIN_TTL):
 *   grace  = 1 s, or 2 s from a ttl of 20 s: how long a new key waits
 *            after its upload before it encrypts, so that the workers'
 *            keysync can fetch it first; the previous key goes on
 *            meanwhile.  A key counts as uploaded at its expiry minus
 *            ttl, in whole seconds, so the wait is grace to grace + 1 s.
 *   lead   = ttl / 3 + grace + 2: a rotation is due when the newest key
 *            expires in less than lead seconds (or there is none), so the
 *            new key takes over about ttl / 3 seconds before the old one
 *            expires (one second less when the periodic check comes late),
 *            and exchanges begun with the old key can finish.
 *
 * Every function takes the time "now" (Unix seconds) from its caller.
 */
#ifndef PROMPTSEAL_CLIENTKEY_H
#define PROMPTSEAL_CLIENTKEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/pserr.h"
#include "keys/keyfile.h"

#define CLIENTKEY_MIN_TTL 8
#define CLIENTKEY_MAX_TTL (30 * 86400)

/*
 * Get key to the AS until key->expires.  PS_OK when stored, with the AS's
 * expiry in *expires; PS_ERR_EXISTS when the AS holds the kid already;
 * any other error otherwise, with a reason for a log line (never a secret
 * or a token) in why (whylen bytes, NUL terminated).  Called by one thread
 * at a time.
 */
typedef pserr (*clientkey_upload_fn)(void *arg,
    const struct keycache_entry *key, int64_t *expires, char *why,
    size_t whylen);

struct clientkey_cfg {
	const char *state_path;     /* the key state file */
	int64_t ttl;                /* CLIENTKEY_MIN_TTL .. CLIENTKEY_MAX_TTL */
	clientkey_upload_fn upload;
	void *upload_arg;
};

/* The keys of one state file, shared by the threads of a process. */
struct clientkey;

/*
 * Start on cfg (the path is copied; upload_arg must outlive the handle)
 * and load the state file if there is one.  PS_ERR_ARG for a ttl out of
 * range or a missing path or upload function, PS_ERR_NOMEM.
 */
pserr clientkey_new(const struct clientkey_cfg *cfg, struct clientkey **out)
    PS_WARN_UNUSED;

/* Wipe and free.  ck may be NULL.  No other thread may use ck any more. */
void clientkey_free(struct clientkey *ck);

/* The grace and lead of ttl (see the top of this file), in seconds. */
int64_t clientkey_grace(int64_t ttl);
int64_t clientkey_lead(int64_t ttl);

/*
 * 1 when a rotation is due at now for the n keys (no unexpired key, or the
 * one that expires last has less than the lead left), else 0.
 */
int clientkey_due(const struct keycache_entry *keys, size_t n, int64_t ttl,
    int64_t now);

/*
 * The index of the key that encrypts at now, or -1 when every key has
 * expired: of the unexpired keys whose grace is over, the one that
 * expires last; when the grace of every unexpired key is still running
 * (the first key of an installation), the one that expires last.
 */
int clientkey_pick(const struct keycache_entry *keys, size_t n, int64_t ttl,
    int64_t now);

/*
 * The key to encrypt a request with at now, copied to out (the caller
 * wipes it).  Reloads the state file first when it changed (one stat()).
 * Without a usable key, rotates at once (blocking on the lock, at most one
 * try a second per process) and picks again: the start of an installation,
 * or the end of an outage of the AS.  PS_ERR_NO_KEY when there is still
 * none.  Safe to call from any thread.
 */
pserr clientkey_get(struct clientkey *ck, int64_t now,
    struct keycache_entry *out) PS_WARN_UNUSED;

/*
 * The periodic step (once a second): reload the state file when it
 * changed and rotate when due.  Does not wait for a lock that another
 * thread or process holds: that one is rotating.  PS_OK when nothing was
 * due, the rotation was done, or another holds the lock; otherwise the
 * rotation's error, already logged (the first failure and then one line a
 * minute while they go on).  *rotated (may be NULL) says whether this
 * call wrote a new key.
 */
pserr clientkey_tick(struct clientkey *ck, int64_t now, int *rotated)
    PS_WARN_UNUSED;

/*
 * Upload key again for the rest of its life (a worker answered
 * unknown_key: the AS may have lost it).  PS_OK when the AS has it now or
 * had it already (409); PS_ERR_NO_KEY when key has expired at now; else
 * the upload's error (logged).  Safe to call from any thread.
 */
pserr clientkey_reupload(struct clientkey *ck,
    const struct keycache_entry *key, int64_t now) PS_WARN_UNUSED;

#endif
