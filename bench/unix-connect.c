/* SPDX-License-Identifier: ISC */
/*
 * unix-connect.so: lets a load generator that only speaks TCP (wrk) reach
 * a server on a UNIX socket, without a relay process in between.
 *
 *   PS_UNIX_PORT=9 PS_UNIX_PATH=/run/x.sock LD_PRELOAD=./unix-connect.so \
 *       wrk http://127.0.0.1:9/...
 *
 * A connect() to 127.0.0.1:$PS_UNIX_PORT is made on a fresh AF_UNIX socket
 * to $PS_UNIX_PATH, moved onto the caller's descriptor with dup2() (file
 * status and descriptor flags carried over); every other connect() is
 * left alone.  Options the caller sets later for TCP (TCP_NODELAY) fail
 * harmlessly on the UNIX socket.  Benchmark use only.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static connect_fn real;
	const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
	const char *port = getenv("PS_UNIX_PORT");
	const char *path = getenv("PS_UNIX_PATH");
	struct sockaddr_un un;
	int u, flags, fdflags, saved;

	if (real == NULL)
		real = (connect_fn)dlsym(RTLD_NEXT, "connect");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (sa == NULL || sa->sa_family != AF_INET ||
	    len < (socklen_t)sizeof(*in) || port == NULL || path == NULL ||
	    in->sin_addr.s_addr != htonl(INADDR_LOOPBACK) ||
	    ntohs(in->sin_port) != atoi(port))
		return real(fd, sa, len);
	if (strlen(path) >= sizeof(un.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, path, strlen(path) + 1);
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    (fdflags = fcntl(fd, F_GETFD)) < 0 ||
	    (u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (fcntl(u, F_SETFL, flags) < 0 || dup2(u, fd) < 0 ||
	    fcntl(fd, F_SETFD, fdflags) < 0) {
		saved = errno;
		close(u);
		errno = saved;
		return -1;
	}
	close(u);
	return real(fd, (const struct sockaddr *)&un, sizeof(un));
}
