/*
 * keycache: the protected key cache file (protocol.md section 7) and the
 * live set of keys a process holds.
 *
 *   {"version": 1, "keys": [{"kid": "<32 hex>",
 *     "secret": "<base64 of 32 bytes>", "expires": <Unix seconds>}, ...]}
 */
#ifndef PROMPTSEAL_KEYCACHE_H
#define PROMPTSEAL_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "pserr.h"

struct keycache_entry {
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t secret[ENVELOPE_KEY_LEN];
	int64_t expires;          /* Unix seconds */
};

/*
 * Write n entries to path as a whole: a temporary file in the same
 * directory (mode 0600), fsync, rename over path, fsync of the directory.
 * On any failure the previous file is left intact.
 */
pserr keycache_write(const char *path, const struct keycache_entry *keys,
    size_t n) PS_WARN_UNUSED;

/*
 * Read path.  Refuses (PS_ERR_PERM) a file that is not a regular file, is
 * group- or world-accessible, or is owned by another user than the
 * effective one; PS_ERR_CORRUPT for bad content; PS_ERR_IO when it cannot
 * be read.  On success *keys (free with keycache_entries_free) and *n are
 * set; on failure a reason without secret content is written to why.
 */
pserr keycache_read(const char *path, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen) PS_WARN_UNUSED;

/* Wipe and free an array returned by keycache_read. */
void keycache_entries_free(struct keycache_entry *keys, size_t n);

/* The live cache: the keys of one file, shared by the threads of a process,
 * reloaded when the file changes. */
struct keycache;

/*
 * Open a live cache on path and load it.  A missing, unreadable or refused
 * file is not an error here: the cache starts empty and the reason is
 * logged; requests then get PS_ERR_NO_KEY.  Returns PS_ERR_NOMEM only.
 */
pserr keycache_open(const char *path, struct keycache **kc) PS_WARN_UNUSED;

/* Wipe and free the cache.  kc may be NULL. */
void keycache_close(struct keycache *kc);

/*
 * Reload the file if it changed since the last load (one stat()).  A file
 * that is unreadable, corrupt or refused leaves the keys in use as they
 * were and logs why.  Safe to call from any thread.
 */
void keycache_refresh(struct keycache *kc);

/*
 * Find the secret for kid that is unexpired at now, after a
 * keycache_refresh().  PS_ERR_UNKNOWN_KEY when unexpired keys exist but
 * none for kid, PS_ERR_NO_KEY when there are none at all.
 */
pserr keycache_find(struct keycache *kc, const uint8_t kid[ENVELOPE_KID_LEN],
    int64_t now, uint8_t secret[ENVELOPE_KEY_LEN]) PS_WARN_UNUSED;

/*
 * The unexpired key that expires last (a client with pre-shared keys),
 * after a keycache_refresh().  PS_ERR_NO_KEY when there is none.
 */
pserr keycache_newest(struct keycache *kc, int64_t now,
    struct keycache_entry *out) PS_WARN_UNUSED;

#endif
