/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/privfile.h"
#include "core/secret.h"

#define TEMP_TRIES 8

static pserr
write_all(int fd, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return PS_ERR_IO;
		if (w == 0) {
			/* Not seen on a regular file; name it like a full
			 * disk rather than leave a stale errno. */
			errno = ENOSPC;
			return PS_ERR_IO;
		}
		q += w;
		n -= (size_t)w;
	}
	return PS_OK;
}

/*
 * "<dir>/.<name>.tmp.<16 hex>": hidden, in the same directory (rename
 * must not cross file systems), and a random part nobody can predict to
 * plant a file or link there first.
 */
static pserr
temp_name(const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = (size_t)(base - path), len;
	uint8_t rnd[8];
	char hex[CODEC_HEX_LEN(sizeof(rnd)) + 1], *t;
	pserr rc;

	if ((rc = secret_random(rnd, sizeof(rnd))) != PS_OK)
		return rc;
	hex[codec_hex_encode(rnd, sizeof(rnd), hex)] = 0;
	len = strlen(path) + sizeof(hex) + 8;
	if ((t = malloc(len)) == NULL)
		return PS_ERR_NOMEM;
	snprintf(t, len, "%.*s.%s.tmp.%s", (int)dirlen, path, base, hex);
	*out = t;
	return PS_OK;
}

/* The directory that holds path, for its fsync after the rename. */
static char *
dir_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static pserr
create_temp(const char *path, char **tmp, int *fd, char *why, size_t whylen)
{
	char *t = NULL;
	int f = -1, i;
	pserr rc = PS_ERR_IO;

	for (i = 0; i < TEMP_TRIES; i++) {
		if ((rc = temp_name(path, &t)) != PS_OK)
			goto out;
		f = open(t, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (f >= 0 || errno != EEXIST)
			break;
		free(t);
		t = NULL;
	}
	if (f < 0) {
		pserr_why(why, whylen, "cannot create a temporary file: %m");
		rc = PS_ERR_IO;
		goto out;
	}
	/* Exactly 0600 whatever the umask: a umask of 0277 would otherwise
	 * leave a file its owner cannot read back. */
	if (fchmod(f, 0600) != 0) {
		pserr_why(why, whylen, "cannot chmod the temporary file: %m");
		close(f);
		unlink(t);
		rc = PS_ERR_IO;
		goto out;
	}
	*tmp = t;
	*fd = f;
	t = NULL;
	rc = PS_OK;
out:
	free(t);
	return rc;
}

static pserr
sync_dir(const char *dir, char *why, size_t whylen)
{
	int fd;
	pserr rc = PS_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		pserr_why(why, whylen, "cannot open its directory to sync it: "
		    "%m");
		return PS_ERR_IO;
	}
	/* Some file systems cannot sync a directory (EINVAL); nothing more
	 * can be done there. */
	if (fsync(fd) != 0 && errno != EINVAL) {
		pserr_why(why, whylen, "cannot sync its directory: %m");
		rc = PS_ERR_IO;
	}
	close(fd);
	return rc;
}

pserr
privfile_replace(const char *path, const void *p, size_t n, char *why,
    size_t whylen)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, renamed = 0, cr;
	pserr rc;

	pserr_why(why, whylen, "%s", "");
	if (path == NULL || *path == '\0' || path[strlen(path) - 1] == '/' ||
	    (p == NULL && n > 0))
		return PS_ERR_ARG;
	if ((dir = dir_name(path)) == NULL) {
		rc = PS_ERR_NOMEM;
		goto out;
	}
	if ((rc = privfile_check_dir(path, why, whylen)) != PS_OK)
		goto out;
	if ((rc = create_temp(path, &tmp, &fd, why, whylen)) != PS_OK)
		goto out;
	/* A full disk shows here (ENOSPC, or EFBIG past a size limit) or in
	 * fsync/close; either way the old file is still the one at path. */
	if ((rc = write_all(fd, p, n)) != PS_OK) {
		pserr_why(why, whylen, "cannot write the temporary file: %m");
		goto out;
	}
	if (fsync(fd) != 0) {
		pserr_why(why, whylen, "cannot sync the temporary file: %m");
		rc = PS_ERR_IO;
		goto out;
	}
	cr = close(fd);
	fd = -1;
	if (cr != 0) {
		pserr_why(why, whylen, "cannot close the temporary file: %m");
		rc = PS_ERR_IO;
		goto out;
	}
	if (rename(tmp, path) != 0) {
		pserr_why(why, whylen, "cannot rename the temporary file over "
		    "it: %m");
		rc = PS_ERR_IO;
		goto out;
	}
	renamed = 1;
	rc = sync_dir(dir, why, whylen);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL && !renamed)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

pserr
privfile_create(const char *path, const void *p, size_t n)
{
	int fd;
	pserr rc = PS_ERR_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? PS_ERR_EXISTS : PS_ERR_IO;
	/* The umask may only remove bits; make sure none were added. */
	if (fchmod(fd, 0600) != 0)
		goto out;
	if (write_all(fd, p, n) != PS_OK || fsync(fd) != 0)
		goto out;
	rc = PS_OK;
out:
	if (close(fd) != 0 && rc == PS_OK)
		rc = PS_ERR_IO;
	if (rc != PS_OK)
		unlink(path);
	return rc;
}
