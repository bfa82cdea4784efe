/*
 * keysync: keeping a worker's key cache file (protocol.md section 7) in
 * step with the attestation service, and the refresh request a worker
 * sends when it meets a kid it does not know.
 *
 * promptseal-keysync fetches the secrets (asclient_fetch_keys) on an
 * interval and whenever a worker asks through the notify socket, a UNIX
 * datagram socket on which any datagram means "fetch now".  The cache file
 * is rewritten only when its content changes.
 */
#ifndef PROMPTSEAL_KEYSYNC_H
#define PROMPTSEAL_KEYSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "core/pserr.h"
#include "keys/keyfile.h"

/*
 * Worker side: ask the keysync listening on notify_socket_path for an
 * immediate fetch.  Never blocks: a full socket queue counts as success
 * (a fetch is already pending).  PS_ERR_IO when nobody listens there,
 * PS_ERR_ARG for a path too long for a socket address.
 */
pserr keysync_request_refresh(const char *notify_socket_path)
    PS_WARN_UNUSED;

/*
 * Bind the notify socket at path (mode 0600, non-blocking).  A stale
 * socket file is replaced; any other file there is refused (PS_ERR_EXISTS).
 */
pserr keysync_notify_open(const char *path, int *fd) PS_WARN_UNUSED;

/* Read and drop every pending datagram; returns how many there were. */
int keysync_notify_drain(int fd);

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
