/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "keys/notify.h"

static int
set_addr(struct sockaddr_un *a, const char *path)
{
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(a->sun_path))
		return -1;
	memcpy(a->sun_path, path, n);
	return 0;
}

pserr
notify_send(const char *path)
{
	struct sockaddr_un a;
	ssize_t w;
	int fd, e;

	if (path == NULL || set_addr(&a, path) != 0)
		return PS_ERR_ARG;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return PS_ERR_IO;
	w = sendto(fd, "r", 1, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a));
	e = errno;
	close(fd);
	if (w == 1)
		return PS_OK;
	/* A full queue means requests are already waiting to be seen. */
	return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS ? PS_OK :
	    PS_ERR_IO;
}

pserr
notify_open(const char *path, int *out)
{
	struct sockaddr_un a;
	struct stat st;
	mode_t old;
	int fd, r;

	if (path == NULL || set_addr(&a, path) != 0)
		return PS_ERR_ARG;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return PS_ERR_EXISTS;
		/* Left behind by a keysync that did not stop cleanly. */
		if (unlink(path) != 0)
			return PS_ERR_IO;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return PS_ERR_IO;
	/* Only our own user (the workers') may ask for a fetch. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r != 0) {
		close(fd);
		return PS_ERR_IO;
	}
	*out = fd;
	return PS_OK;
}

int
notify_drain(int fd)
{
	char b[64];
	int n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}
