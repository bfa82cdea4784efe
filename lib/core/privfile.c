/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/privfile.h"
#include "core/secret.h"

#define READ_CHUNK 4096

/* The code and the short reason privfile_read gives for each fault. */
static const struct {
	pserr rc;
	const char *why;
} faults[] = {
	[PRIVFILE_OK] = {PS_OK, ""},
	[PRIVFILE_MISSING] = {PS_ERR_NOT_FOUND, "no such file"},
	[PRIVFILE_LINK] = {PS_ERR_PERM, "is a symbolic link"},
	[PRIVFILE_OPEN] = {PS_ERR_IO, "cannot open"},
	[PRIVFILE_STAT] = {PS_ERR_IO, "cannot stat the file"},
	[PRIVFILE_NOT_REGULAR] = {PS_ERR_PERM, "not a regular file"},
	[PRIVFILE_OWNER] = {PS_ERR_PERM, "owned by another user"},
	[PRIVFILE_MODE] = {PS_ERR_PERM,
	    "group or others have access (want mode 0600)"},
	[PRIVFILE_TOO_LARGE] = {PS_ERR_TOO_LARGE, "file too large"},
	[PRIVFILE_READ] = {PS_ERR_IO, "read error"},
	[PRIVFILE_NOMEM] = {PS_ERR_NOMEM, "out of memory"},
	[PRIVFILE_DIR_OPEN] = {PS_ERR_IO, "cannot open its directory"},
	[PRIVFILE_DIR_OWNER] = {PS_ERR_PERM,
	    "its directory is owned by another user (want this user or root)"},
	[PRIVFILE_DIR_MODE] = {PS_ERR_PERM,
	    "group or others may write in its directory (chmod go-w)"},
};

static pserr
fail(struct privfile_status *st, enum privfile_fault f)
{
	st->fault = f;
	return faults[f].rc;
}

static pserr
fail_errno(struct privfile_status *st, enum privfile_fault f, int err)
{
	st->err = err;
	return fail(st, f);
}

/* The rule, on the file that is open: not on the path, which may have
 * been replaced since the open. */
static pserr
check(int fd, struct stat *sb, struct privfile_status *st)
{
	if (fstat(fd, sb) != 0)
		return fail_errno(st, PRIVFILE_STAT, errno);
	st->uid = sb->st_uid;
	st->mode = sb->st_mode & 07777;
	if (!S_ISREG(sb->st_mode))
		return fail(st, PRIVFILE_NOT_REGULAR);
	if (sb->st_uid != geteuid())
		return fail(st, PRIVFILE_OWNER);
	if ((sb->st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return fail(st, PRIVFILE_MODE);
	return PS_OK;
}

/*
 * Open the directory that holds path and check it against the rule.  On
 * PS_OK *dirfd is its descriptor and *base points at the last component
 * of path; otherwise *dirfd is -1.
 */
static pserr
open_dir(const char *path, int *dirfd, const char **base,
    struct privfile_status *st)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	struct stat sb;
	int fd = -1;
	pserr rc;

	*dirfd = -1;
	if (slash == NULL) {
		*base = path;
		dir = strdup(".");
	} else {
		*base = slash + 1;
		dir = slash == path ? strdup("/") :
		    strndup(path, (size_t)(slash - path));
	}
	if (dir == NULL)
		return fail(st, PRIVFILE_NOMEM);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		/* No directory, no file: said as for a missing file. */
		rc = fail_errno(st, errno == ENOENT ? PRIVFILE_MISSING :
		    PRIVFILE_DIR_OPEN, errno);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		rc = fail_errno(st, PRIVFILE_DIR_OPEN, errno);
		goto out;
	}
	st->uid = sb.st_uid;
	st->mode = sb.st_mode & 07777;
	if (sb.st_uid != geteuid() && sb.st_uid != 0)
		rc = fail(st, PRIVFILE_DIR_OWNER);
	else if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		rc = fail(st, PRIVFILE_DIR_MODE);
	else
		rc = PS_OK;
out:
	if (rc != PS_OK && fd >= 0)
		close(fd);
	else if (rc == PS_OK)
		*dirfd = fd;
	free(dir);
	return rc;
}

pserr
privfile_check_dir(const char *path, char *why, size_t whylen)
{
	struct privfile_status st;
	const char *base;
	int fd;
	pserr rc;

	memset(&st, 0, sizeof(st));
	if (path == NULL)
		return PS_ERR_ARG;
	if ((rc = open_dir(path, &fd, &base, &st)) != PS_OK) {
		errno = st.err;
		if (st.fault == PRIVFILE_MISSING)
			rc = PS_ERR_IO;
		if (st.fault == PRIVFILE_DIR_OPEN || st.fault == PRIVFILE_MISSING)
			pserr_why(why, whylen, "%s: %m",
			    faults[PRIVFILE_DIR_OPEN].why);
		else
			pserr_why(why, whylen, "%s, mode %04o",
			    faults[st.fault].why, (unsigned)st.mode);
		return rc;
	}
	close(fd);
	return PS_OK;
}

pserr
privfile_check_fd(int fd, char *why, size_t whylen)
{
	struct privfile_status st;
	struct stat sb;
	pserr rc;

	memset(&st, 0, sizeof(st));
	if ((rc = check(fd, &sb, &st)) != PS_OK)
		pserr_why(why, whylen, "%s", faults[st.fault].why);
	return rc;
}

/*
 * Read fd to its end into out, straight into out's memory (no copy on the
 * stack), never past out->max.
 */
static pserr
read_rest(int fd, struct buf *out, struct privfile_status *st)
{
	for (;;) {
		size_t room;
		ssize_t r;

		if (out->len == out->max) {
			/* Full: one byte more tells whether the file is too
			 * large (it may have grown since the fstat). */
			char c;

			r = read(fd, &c, 1);
			secret_wipe(&c, 1);
			if (r > 0)
				return fail(st, PRIVFILE_TOO_LARGE);
		} else {
			/* Use the room the buffer has; buf_reserve keeps one
			 * byte beyond it for buf_cstr. */
			room = out->cap > out->len + 1 ?
			    out->cap - out->len - 1 : 0;
			if (room == 0) {
				room = out->max - out->len;
				if (room > READ_CHUNK)
					room = READ_CHUNK;
				if (buf_reserve(out, room) != PS_OK)
					return fail(st, PRIVFILE_NOMEM);
			}
			if (room > out->max - out->len)
				room = out->max - out->len;
			r = read(fd, out->p + out->len, room);
			if (r > 0)
				out->len += (size_t)r;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_errno(st, PRIVFILE_READ, errno);
		if (r == 0)
			return PS_OK;
	}
}

pserr
privfile_load(const char *path, struct buf *out, struct privfile_status *st)
{
	size_t start = out->len, want;
	const char *base;
	struct stat sb;
	int fd, dirfd, e;
	pserr rc;

	memset(st, 0, sizeof(*st));
	if ((rc = open_dir(path, &dirfd, &base, st)) != PS_OK)
		return rc;
	/* Relative to the directory just checked, so that the path cannot
	 * lead elsewhere since.  O_NOFOLLOW: a link could point a reader at
	 * any file of its user.  O_NONBLOCK: opening a FIFO must not hang;
	 * the rule refuses it. */
	fd = openat(dirfd, base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	e = errno;
	close(dirfd);
	if (fd < 0)
		return fail_errno(st, e == ENOENT ? PRIVFILE_MISSING :
		    e == ELOOP ? PRIVFILE_LINK : PRIVFILE_OPEN, e);
	st->uid = 0;
	st->mode = 0;
	if ((rc = check(fd, &sb, st)) != PS_OK)
		goto out;
	if ((unsigned long long)sb.st_size > out->max - out->len) {
		rc = fail(st, PRIVFILE_TOO_LARGE);
		goto out;
	}
	/* All of it and one byte for the read that sees the end, in one
	 * allocation: a larger buffer later would mean one more copy. */
	want = (size_t)sb.st_size;
	if (want < out->max - out->len)
		want++;
	if (buf_reserve(out, want) != PS_OK) {
		rc = fail(st, PRIVFILE_NOMEM);
		goto out;
	}
	rc = read_rest(fd, out, st);
out:
	if (rc != PS_OK && out->len > start) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	close(fd);
	return rc;
}

pserr
privfile_read(const char *path, struct buf *out, char *why, size_t whylen)
{
	struct privfile_status st;
	pserr rc;

	if ((rc = privfile_load(path, out, &st)) != PS_OK) {
		if (st.fault >= PRIVFILE_DIR_OWNER)
			pserr_why(why, whylen, "%s, mode %04o",
			    faults[st.fault].why, (unsigned)st.mode);
		else
			pserr_why(why, whylen, "%s", faults[st.fault].why);
	}
	return rc;
}

void
privfile_stamp(const char *path, struct privfile_stamp *out)
{
	struct stat sb;

	memset(out, 0, sizeof(*out));
	if (stat(path, &sb) != 0) {
		out->err = errno != 0 ? errno : EIO;
		return;
	}
	out->dev = sb.st_dev;
	out->ino = sb.st_ino;
	out->size = sb.st_size;
	out->mtim = sb.st_mtim;
	out->ctim = sb.st_ctim;
}

int
privfile_stamp_equal(const struct privfile_stamp *a,
    const struct privfile_stamp *b)
{
	if (a->err != 0 || b->err != 0)
		return a->err == b->err;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}
