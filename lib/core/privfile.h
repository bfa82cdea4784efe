/* SPDX-License-Identifier: ISC */
/*
 * privfile: files that hold secrets (bearer tokens, a platform private key,
 * the key cache file, the attestation service's store).
 *
 * The rule, the one protocol.md section 7 sets for the key cache: such a
 * file is a regular file owned by the effective user, with no permission
 * bits for group or others; it is opened without following a symbolic
 * link and checked once open (the path may change between a check and an
 * open).  The directory that holds it is owned by the effective user or
 * by root and is not writable by group or others (sticky or not: whoever
 * may create names there may plant a file or a link where a writer's next
 * rename or a reader's next open lands); it is checked on its open
 * descriptor, and a reader opens the file relative to that descriptor.
 * A writer replaces the file whole, so a reader never sees half a file.
 *
 * privfile.c holds what readers need (the rule, the read, the stamp);
 * privfile_write.c the writers, so a program that only reads links no
 * writer.
 *
 * A reason (why, whylen) is a NUL-terminated sentence, cut to whylen
 * bytes, that names no content; why may be NULL when whylen is 0.
 */
#ifndef PROMPTSEAL_PRIVFILE_H
#define PROMPTSEAL_PRIVFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/buf.h"
#include "core/pserr.h"

/*
 * Check the open file fd against the rule.  PS_ERR_PERM with the reason
 * written to why, PS_ERR_IO when fstat fails.
 */
pserr privfile_check_fd(int fd, char *why, size_t whylen) PS_WARN_UNUSED;

/*
 * Check the directory that holds path (the part before its last '/', "."
 * when there is none) against the rule.  PS_ERR_PERM with the reason
 * written to why (it names the directory), PS_ERR_IO when it cannot be
 * opened or is not a directory, PS_ERR_NOMEM.
 */
pserr privfile_check_dir(const char *path, char *why, size_t whylen)
    PS_WARN_UNUSED;

/*
 * Read the whole file path into out (out->max caps it) after checking it
 * against the rule, without following a symbolic link.  PS_ERR_PERM,
 * PS_ERR_IO (cannot open or read; PS_ERR_NOT_FOUND when it does not exist)
 * or PS_ERR_TOO_LARGE, with the reason in why.  On failure out holds what
 * it held before; the bytes read are wiped.
 */
pserr privfile_read(const char *path, struct buf *out, char *why,
    size_t whylen) PS_WARN_UNUSED;

/* What privfile_load found wrong with a file. */
enum privfile_fault {
	PRIVFILE_OK = 0,
	PRIVFILE_MISSING,       /* PS_ERR_NOT_FOUND: no such file, or no
	                         * such directory (err) */
	PRIVFILE_LINK,          /* PS_ERR_PERM: a symbolic link */
	PRIVFILE_OPEN,          /* PS_ERR_IO: open failed otherwise (err) */
	PRIVFILE_STAT,          /* PS_ERR_IO: fstat failed (err) */
	PRIVFILE_NOT_REGULAR,   /* PS_ERR_PERM: a directory, FIFO, ... */
	PRIVFILE_OWNER,         /* PS_ERR_PERM: owned by uid, not by euid */
	PRIVFILE_MODE,          /* PS_ERR_PERM: mode gives group or others
	                         * access */
	PRIVFILE_TOO_LARGE,     /* PS_ERR_TOO_LARGE: more than out->max */
	PRIVFILE_READ,          /* PS_ERR_IO: read failed (err) */
	PRIVFILE_NOMEM,         /* PS_ERR_NOMEM */
	PRIVFILE_DIR_OPEN,      /* PS_ERR_IO: its directory cannot be opened
	                         * (err; ENOTDIR: not a directory) */
	PRIVFILE_DIR_OWNER,     /* PS_ERR_PERM: its directory is owned by uid,
	                         * neither by euid nor by root */
	PRIVFILE_DIR_MODE       /* PS_ERR_PERM: group or others may write in
	                         * its directory (mode) */
};

/* The facts behind a refusal, for a caller that words its own reason. */
struct privfile_status {
	enum privfile_fault fault;
	int err;            /* errno of the call that failed, else 0 */
	uid_t uid;          /* the file's owner (once fstat has run), or
	                     * the directory's for PRIVFILE_DIR_* */
	mode_t mode;        /* its permission bits, st_mode & 07777 (same) */
};

/*
 * privfile_read, with the facts in *st instead of a sentence (st->fault
 * is PRIVFILE_OK on success).  Same return values and the same guarantee
 * for out.  st may not be NULL.
 */
pserr privfile_load(const char *path, struct buf *out,
    struct privfile_status *st) PS_WARN_UNUSED;

/*
 * What one stat() of a path shows, to tell whether a file changed since
 * the last look.  A failed stat() is a stamp too (err set, the rest 0),
 * so a missing file is seen as one state, not as a change each time.
 */
struct privfile_stamp {
	int err;            /* errno of a failed stat(), else 0 */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

/* Take the stamp of path (exactly one stat(), following links). */
void privfile_stamp(const char *path, struct privfile_stamp *out);

/*
 * 1 when a and b show the same file unchanged: both failed with the same
 * errno, or device, inode, size, mtime and ctime are all equal.  A file
 * replaced within one timestamp tick by another of the same size that
 * reuses the inode number looks unchanged.
 */
int privfile_stamp_equal(const struct privfile_stamp *a,
    const struct privfile_stamp *b);

/*
 * Replace path with the n bytes at p as a whole: a temporary file in the
 * same directory (mode 0600 whatever the umask, a name nobody can guess),
 * write all, fsync, rename over path, fsync of the directory.  A reader
 * sees the old file or the new one, never part of one.  The directory is
 * checked first (privfile_check_dir: PS_ERR_PERM with the reason).
 *
 * PS_ERR_ARG for a NULL or empty path, one that ends in '/', or p NULL
 * with n > 0; PS_ERR_NOMEM; PS_ERR_CRYPTO when no random name could be
 * drawn; PS_ERR_IO with the reason in why when the file cannot be
 * written: then the old file is intact and no temporary file is left
 * behind.  PS_ERR_IO is also returned, after the new file is in place,
 * when only the fsync of the directory failed: the new file may then not
 * survive a crash.
 */
pserr privfile_replace(const char *path, const void *p, size_t n, char *why,
    size_t whylen) PS_WARN_UNUSED;

/*
 * Create path (it must not exist: PS_ERR_EXISTS) with mode 0600 and write
 * n bytes of p to it, with fsync.  A partly written file is removed.
 */
pserr privfile_create(const char *path, const void *p, size_t n)
    PS_WARN_UNUSED;

#endif
