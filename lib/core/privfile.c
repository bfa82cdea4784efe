#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/privfile.h"
#include "core/secret.h"

static void
say(char *why, size_t whylen, const char *s)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", s);
}

pserr
privfile_check_fd(int fd, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		say(why, whylen, "cannot stat the file");
		return PS_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		say(why, whylen, "not a regular file");
		return PS_ERR_PERM;
	}
	if (st.st_uid != geteuid()) {
		say(why, whylen, "owned by another user");
		return PS_ERR_PERM;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		say(why, whylen, "group or others have access (want mode 0600)");
		return PS_ERR_PERM;
	}
	return PS_OK;
}

pserr
privfile_read(const char *path, struct buf *out, char *why, size_t whylen)
{
	char chunk[4096];
	size_t start = out->len;
	ssize_t got;
	int fd;
	pserr rc;

	/* O_NONBLOCK: a FIFO put in the file's place must not hang us before
	 * the check refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		say(why, whylen, e == ENOENT ? "no such file" :
		    e == ELOOP ? "is a symbolic link" : "cannot open");
		return e == ENOENT ? PS_ERR_NOT_FOUND :
		    e == ELOOP ? PS_ERR_PERM : PS_ERR_IO;
	}
	if ((rc = privfile_check_fd(fd, why, whylen)) != PS_OK)
		goto out;
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			say(why, whylen, "read error");
			rc = PS_ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		if ((rc = buf_append(out, chunk, (size_t)got)) != PS_OK) {
			say(why, whylen, rc == PS_ERR_TOO_LARGE ?
			    "file too large" : "out of memory");
			goto out;
		}
	}
	rc = PS_OK;
out:
	if (rc != PS_OK) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	secret_wipe(chunk, sizeof(chunk));
	close(fd);
	return rc;
}

pserr
privfile_create(const char *path, const void *p, size_t n)
{
	const char *q = p;
	ssize_t w;
	int fd;
	pserr rc = PS_ERR_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? PS_ERR_EXISTS : PS_ERR_IO;
	/* The umask may only remove bits; make sure none were added. */
	if (fchmod(fd, 0600) != 0)
		goto out;
	while (n > 0) {
		w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		q += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	rc = PS_OK;
out:
	if (close(fd) != 0 && rc == PS_OK)
		rc = PS_ERR_IO;
	if (rc != PS_OK)
		unlink(path);
	return rc;
}
