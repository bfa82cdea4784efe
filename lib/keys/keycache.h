/* SPDX-License-Identifier: ISC */
/*
 * keycache: the live set of keys a process holds: the keys of one key
 * cache file (keys/keyfile.h, protocol.md section 7), shared by the
 * threads of a process and reloaded when the file changes.
 */
#ifndef PROMPTSEAL_KEYCACHE_H
#define PROMPTSEAL_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/pserr.h"
#include "keys/keyfile.h"
#include "seal/envelope.h"

/* The live cache: the keys, the file's path and its last stamp. */
struct keycache;

/*
 * Open a live cache on path and load it.  A missing, unreadable or refused
 * file is not an error here: the cache starts empty and the reason is
 * logged; requests then get PS_ERR_NO_KEY.  Returns PS_ERR_NOMEM only
 * (PS_ERR_ARG for a NULL argument).
 */
pserr keycache_open(const char *path, struct keycache **kc) PS_WARN_UNUSED;

/* Wipe and free the cache.  kc may be NULL.  No other thread may use kc
 * any more. */
void keycache_close(struct keycache *kc);

/*
 * Reload the file if it changed since the last load: one stat() of the
 * path (privfile_stamp) and no lock but a read lock when it did not, a
 * second stat() under the reload lock and a reload (keyfile_read) when its
 * device, inode, size, mtime or ctime differ from the last attempt.  A
 * file that is unreadable, corrupt or refused leaves the keys in use as
 * they were and logs why, once per change of the file (not once per
 * call).  Safe to call from any thread; callers call it once per
 * request, before keycache_find or keycache_newest.
 *
 * A file replaced within one timestamp tick by another of the same size
 * that reuses the inode number of the one last seen is not noticed until
 * the file changes again; writers replace the file seconds apart.
 */
void keycache_refresh(struct keycache *kc);

/*
 * Find the secret for kid that is unexpired at now (expires > now) and copy
 * it to secret, which the caller wipes.  PS_ERR_UNKNOWN_KEY when unexpired
 * keys exist but none for kid, PS_ERR_NO_KEY when there are none at all.
 * Does not look at the file (no stat()): call keycache_refresh() first.
 * Safe to call from any thread.
 */
pserr keycache_find(struct keycache *kc, const uint8_t kid[ENVELOPE_KID_LEN],
    int64_t now, uint8_t secret[ENVELOPE_KEY_LEN]) PS_WARN_UNUSED;

/*
 * The unexpired key that expires last (a client with pre-shared keys),
 * copied to out, which the caller wipes; of keys that expire at the same
 * time, the first in the file.  PS_ERR_NO_KEY when there is none.  Does not
 * look at the file (no stat()): call keycache_refresh() first.  Safe to
 * call from any thread.
 */
pserr keycache_newest(struct keycache *kc, int64_t now,
    struct keycache_entry *out) PS_WARN_UNUSED;

/*
 * For health and metrics: *usable, the number of keys unexpired at now;
 * *mtime, the modification time of the file they were loaded from (0
 * before a first load).  Nothing of a key.  Does not look at the file.
 * Safe to call from any thread; kc may be NULL (0 and 0).
 */
void keycache_stats(struct keycache *kc, int64_t now, size_t *usable,
    int64_t *mtime);

#endif
