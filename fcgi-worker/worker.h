/* SPDX-License-Identifier: ISC */
/*
 * The worker proxy's request handling: open the sealed request, check that
 * it is fresh, forward the original to the inference server, seal the
 * reply.
 */
#ifndef PROMPTSEAL_WORKER_H
#define PROMPTSEAL_WORKER_H

#include <fcgiapp.h>

#include "keys/keycache.h"
#include "net/proxy.h"
#include "seal/replay.h"

struct worker {
	struct proxy_opts opts;
	struct keycache *keys;
	const char *keysync_notify;  /* keysync's notify socket, or NULL */
	long key_wait_ms;            /* how long to wait for an unknown kid */
	long key_waiters_max;        /* how many unknown kids may be waited
	                                for at once */
	struct worker_waits *waits;  /* the kids waited for now */
	size_t pad_stream;           /* padding bucket of stream events */
	struct replay *replay;       /* the node's record of accepted requests */
	long replay_window;          /* W, seconds */
};

/* Set up w->waits for w->key_waiters_max kids and w->opts.server.threads
 * threads; -1 when out of memory.  worker_waits_free() undoes it. */
int worker_waits_new(struct worker *w);
void worker_waits_free(struct worker *w);

void *worker_thread_init(void *app);
void worker_thread_fini(void *app, void *thread_state);
void worker_handle(void *app, void *thread_state, FCGX_Request *req);

#endif
