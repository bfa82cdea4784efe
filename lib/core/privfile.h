/*
 * privfile: files that hold secrets (bearer tokens, a platform private key,
 * the attestation service's store).  Such a file must be a regular file
 * owned by the effective user, with no permission bits for group or
 * others, the rule protocol.md section 7 sets for the key cache.
 */
#ifndef PROMPTSEAL_PRIVFILE_H
#define PROMPTSEAL_PRIVFILE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/pserr.h"

/*
 * Check the open file fd against the rule.  PS_ERR_PERM with the reason
 * written to why (a NUL-terminated sentence naming no content; why may be
 * NULL when whylen is 0), PS_ERR_IO when fstat fails.
 */
pserr privfile_check_fd(int fd, char *why, size_t whylen) PS_WARN_UNUSED;

/*
 * Read the whole file path into out (out->max caps it) after checking it
 * against the rule, without following a symbolic link.  PS_ERR_PERM,
 * PS_ERR_IO (cannot open or read; PS_ERR_NOT_FOUND when it does not exist)
 * or PS_ERR_TOO_LARGE, with the reason in why.  On failure out holds what
 * it held before.
 */
pserr privfile_read(const char *path, struct buf *out, char *why,
    size_t whylen) PS_WARN_UNUSED;

/*
 * Create path (it must not exist: PS_ERR_EXISTS) with mode 0600 and write
 * n bytes of p to it, with fsync.  A partly written file is removed.
 */
pserr privfile_create(const char *path, const void *p, size_t n)
    PS_WARN_UNUSED;

#endif
