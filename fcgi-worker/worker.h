/*
 * The worker proxy's request handling: decrypt, forward to the inference
 * server, encrypt the reply.
 */
#ifndef PROMPTSEAL_WORKER_H
#define PROMPTSEAL_WORKER_H

#include <fcgiapp.h>

#include "keys/keycache.h"
#include "net/proxy.h"

struct worker {
	struct proxy_opts opts;
	struct keycache *keys;
	const char *keysync_notify;  /* keysync's notify socket, or NULL */
	long key_wait_ms;            /* how long to wait for an unknown kid */
};

void *worker_thread_init(void *app);
void worker_thread_fini(void *app, void *thread_state);
void worker_handle(void *app, void *thread_state, FCGX_Request *req);

#endif
