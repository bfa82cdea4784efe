/* SPDX-License-Identifier: ISC */
/*
 * keysync: keeping a worker's key cache file (protocol.md section 7) in
 * step with the attestation service.  Used by promptseal-keysync only.
 *
 * promptseal-keysync fetches the secrets (asclient_fetch_keys) on an
 * interval and whenever a worker asks through the notify socket
 * (keys/notify.h).  The cache file is rewritten only when its content
 * changes.
 */
#ifndef PROMPTSEAL_KEYSYNC_H
#define PROMPTSEAL_KEYSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "core/pserr.h"
#include "keys/keyfile.h"

/* The cache file and the content last written to (or found in) it. */
struct keysync;

/*
 * Start on the cache file at path.  Its current content, if it can be
 * read, is taken as the last written, so a restart does not rewrite an
 * up-to-date file.  PS_ERR_NOMEM only.
 */
pserr keysync_new(const char *path, struct keysync **out) PS_WARN_UNUSED;

/* Wipe and free.  k may be NULL. */
void keysync_free(struct keysync *k);

/*
 * Make the cache file hold exactly the n keys (sorted here by kid; the
 * array is reordered): keyfile_write() when they differ from the last
 * content, nothing otherwise.  *changed (may be NULL) says whether the
 * file was written.  On a write failure the file is as before.
 */
pserr keysync_apply(struct keysync *k, struct keycache_entry *keys, size_t n,
    int *changed) PS_WARN_UNUSED;

/* Retry delays after failures: min_ms, then doubling up to max_ms. */
struct keysync_backoff {
	int64_t min_ms, max_ms, cur_ms;
};

void keysync_backoff_init(struct keysync_backoff *b, int64_t min_ms,
    int64_t max_ms);

/* The delay before the next try after one more failure. */
int64_t keysync_backoff_next(struct keysync_backoff *b);

/* Back to min_ms after a success. */
void keysync_backoff_reset(struct keysync_backoff *b);

#endif
