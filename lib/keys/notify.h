/* SPDX-License-Identifier: ISC */
/*
 * notify: the worker's "fetch now" to promptseal-keysync.
 *
 * keysync listens on a UNIX datagram socket on which any datagram means
 * "fetch the keys now"; a worker that meets a kid it does not know sends
 * one.  This is all of keysync that the worker links: it writes no key
 * file.
 */
#ifndef PROMPTSEAL_NOTIFY_H
#define PROMPTSEAL_NOTIFY_H

#include "core/pserr.h"

/*
 * Worker side: ask the keysync listening on path for an immediate fetch.
 * Never blocks: a full socket queue counts as success (a fetch is already
 * pending).  PS_ERR_IO when nobody listens there, PS_ERR_ARG for a NULL
 * path or one too long for a socket address.
 */
pserr notify_send(const char *path) PS_WARN_UNUSED;

/*
 * keysync side: bind the socket at path (mode 0600, non-blocking) and set
 * *fd.  A stale socket file is replaced; any other file there is refused
 * (PS_ERR_EXISTS).  PS_ERR_ARG for a path too long, PS_ERR_IO.
 */
pserr notify_open(const char *path, int *fd) PS_WARN_UNUSED;

/* Read and drop every pending datagram; returns how many there were. */
int notify_drain(int fd);

#endif
