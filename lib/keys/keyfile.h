/* SPDX-License-Identifier: ISC */
/*
 * keyfile: the key cache file format (protocol.md section 7).
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
 * key.  A member name that appears twice in one object is refused too:
 * readers that keep the first and readers that keep the last would see
 * two different keys.  A file larger than PS_CAP_KEYFILE bytes is refused
 * as corrupt.
 *
 * The text is parsed with jscan, which copies nothing: a secret goes from
 * the caller's text straight into its entry (through one scratch buffer,
 * wiped, only when the text escapes characters), so the only copies of a
 * secret are the text, which its owner wipes, and the entry.
 *
 * keyfile.c holds the reader (the worker links it), keyfile_write.c what
 * makes keys and files (keysync, the client and the AS; not the worker).
 */
#ifndef PROMPTSEAL_KEYFILE_H
#define PROMPTSEAL_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/pserr.h"
#include "seal/envelope.h"

/*
 * One key.  The type keeps the name of the key cache, whose file this is
 * the format of; the AS store, the AS client and the client's own keys
 * hold their keys in it too.
 */
struct keycache_entry {
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t secret[ENVELOPE_KEY_LEN];
	int64_t expires;          /* Unix seconds, 0 .. INT64_MAX - 1 */
};

/*
 * PS_OK when the n entries (keys may be NULL when n is 0) make a set a
 * reader takes: every expiry in 0 .. INT64_MAX - 1 and no kid twice.
 * PS_ERR_ARG otherwise, PS_ERR_NOMEM.
 */
pserr keyfile_check(const struct keycache_entry *keys, size_t n)
    PS_WARN_UNUSED;

/*
 * Parse the len bytes at s as a key cache file.  On success *keys (free
 * with keyfile_entries_free; NULL when *n is 0) and *n are set.
 * PS_ERR_CORRUPT for bad content (see the top of this file), PS_ERR_NOMEM;
 * on failure a reason without secret content is written to why (whylen
 * bytes, NUL terminated; why may be NULL when whylen is 0) and nothing is
 * allocated.  s is only read: the caller wipes it.
 */
pserr keyfile_parse(const char *s, size_t len, struct keycache_entry **keys,
    size_t *n, char *why, size_t whylen) PS_WARN_UNUSED;

/*
 * Read and parse the file at path.  Refuses (PS_ERR_PERM) a file that is
 * not a regular file (a symbolic link included), is group- or
 * world-accessible, or is owned by another user than the effective one
 * (the privfile rule); PS_ERR_CORRUPT for bad content or a file larger
 * than PS_CAP_KEYFILE; PS_ERR_IO when it cannot be read (missing
 * included); PS_ERR_NOMEM.  Outputs and why as for keyfile_parse.  Every
 * buffer that held the file text is wiped.
 */
pserr keyfile_read(const char *path, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen) PS_WARN_UNUSED;

/* Wipe and free an array returned by keyfile_parse or keyfile_read.  keys
 * may be NULL. */
void keyfile_entries_free(struct keycache_entry *keys, size_t n);

/* ------------------------------------------------ keyfile_write.c */

/*
 * Fill e with a fresh random kid and secret (CSPRNG) that expire at
 * expires.  Returns PS_ERR_ARG for an expiry outside 0 .. INT64_MAX - 1
 * or a NULL e, PS_ERR_CRYPTO when no random bytes could be drawn; on
 * failure e is wiped.  The caller wipes e when done with it.
 */
pserr keyfile_generate(struct keycache_entry *e, int64_t expires)
    PS_WARN_UNUSED;

/*
 * Append the text of a file that holds the n entries to out, in the
 * layout every writer of promptseal uses (one key a line).  PS_ERR_ARG
 * when keyfile_check refuses the set, PS_ERR_TOO_LARGE past out->max,
 * PS_ERR_NOMEM; on failure out holds what it held before.  The caller
 * wipes out.
 */
pserr keyfile_encode(const struct keycache_entry *keys, size_t n,
    struct buf *out) PS_WARN_UNUSED;

/*
 * Write n entries to path as a whole with privfile_replace (temporary
 * file, mode 0600, fsync, rename, fsync of the directory): on any failure
 * the previous file is left intact.
 *
 * keys may be NULL when n is 0 (an empty key set).  Returns PS_ERR_ARG for
 * a bad argument, an expiry out of range, two entries with the same kid or
 * a set that would not fit in PS_CAP_KEYFILE (a reader would refuse
 * such a file); PS_ERR_IO when the file cannot be written (the reason is
 * logged), and then no temporary file is left behind.  PS_ERR_IO is also
 * returned, after the new file is in place, when only the fsync of the
 * directory failed: the new file may then not survive a crash.
 */
pserr keyfile_write(const char *path, const struct keycache_entry *keys,
    size_t n) PS_WARN_UNUSED;

#endif
