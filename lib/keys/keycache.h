/*
 * keycache: the protected key cache file (protocol.md section 7) and the
 * live set of keys a process holds.
 *
 *   {"version": 1, "keys": [{"kid": "<32 hex>",
 *     "secret": "<base64 of 32 bytes>", "expires": <Unix seconds>}, ...]}
 *
 * A reader is strict: version must be the integer 1; each kid is 32
 * lowercase hex characters; each secret is standard base64 (with padding)
 * of exactly 32 bytes; expires is a JSON integer in 0 .. INT64_MAX - 1; no
 * kid appears twice.  Members other than the ones above are refused, not
 * ignored: a field a future version adds may change what a key means (a
 * "not before", say), and a reader that does not know it must not use the
 * key.  Two members of the same name inside one object cannot be told
 * apart from one (the JSON parser keeps the last).  A file larger than
 * PS_CAP_KEYFILE bytes is refused as corrupt.
 */
#ifndef PROMPTSEAL_KEYCACHE_H
#define PROMPTSEAL_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/caps.h"
#include "core/pserr.h"
#include "seal/envelope.h"


struct keycache_entry {
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t secret[ENVELOPE_KEY_LEN];
	int64_t expires;          /* Unix seconds, 0 .. INT64_MAX - 1 */
};

/*
 * Fill e with a fresh random kid and secret (CSPRNG) that expire at
 * expires.  Returns PS_ERR_ARG for an expiry outside 0 .. INT64_MAX - 1,
 * PS_ERR_CRYPTO when no random bytes could be drawn; on failure e is
 * wiped.  The caller wipes e when done with it.
 */
pserr keycache_generate(struct keycache_entry *e, int64_t expires)
    PS_WARN_UNUSED;

/*
 * Write n entries to path as a whole: a temporary file in the same
 * directory (mode 0600), fsync, rename over path, fsync of the directory.
 * On any failure the previous file is left intact.
 *
 * keys may be NULL when n is 0 (an empty key set).  Returns PS_ERR_ARG for
 * a bad argument, an expiry out of range, two entries with the same kid or
 * a set that would not fit in PS_CAP_KEYFILE (a reader would refuse
 * such a file); PS_ERR_IO when the file cannot be written (the reason is
 * logged), and then no temporary file is left behind.  PS_ERR_IO is also
 * returned, after the new file is in place, when only the fsync of the
 * directory failed: the new file may then not survive a crash.
 */
pserr keycache_write(const char *path, const struct keycache_entry *keys,
    size_t n) PS_WARN_UNUSED;

/*
 * Read path.  Refuses (PS_ERR_PERM) a file that is not a regular file
 * (a symbolic link included), is group- or world-accessible, or is owned
 * by another user than the effective one; PS_ERR_CORRUPT for bad content
 * (see the top of this file); PS_ERR_IO when it cannot be read (missing
 * included); PS_ERR_NOMEM.  On success *keys (free with
 * keycache_entries_free; NULL when *n is 0) and *n are set; on failure a
 * reason without secret content is written to why (whylen bytes, NUL
 * terminated; why may be NULL when whylen is 0).  Every buffer that held
 * the file text is wiped.
 */
pserr keycache_read(const char *path, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen) PS_WARN_UNUSED;

/* Wipe and free an array returned by keycache_read.  keys may be NULL. */
void keycache_entries_free(struct keycache_entry *keys, size_t n);

/* The live cache: the keys of one file, shared by the threads of a process,
 * reloaded when the file changes. */
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
 * Reload the file if it changed since the last load: exactly one stat()
 * of the path, and a reload only when its device, inode, size, mtime or
 * ctime differ from the last attempt.  A file that is unreadable, corrupt
 * or refused leaves the keys in use as they were and logs why, once per
 * change of the file (not once per call).  Safe to call from any thread;
 * callers call it once per request, before keycache_find or
 * keycache_newest.
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

#endif
