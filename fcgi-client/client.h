/*
 * The client proxy's request handling: encrypt the user's request, forward
 * it to the worker, authenticate and decrypt the reply.
 */
#ifndef PROMPTSEAL_CLIENT_H
#define PROMPTSEAL_CLIENT_H

#include <fcgiapp.h>

#include "keycache.h"
#include "proxy.h"

struct client {
	struct proxy_opts opts;
	struct keycache *keys;   /* --key-file: pre-shared keys */
};

void *client_thread_init(void *app);
void client_thread_fini(void *app, void *thread_state);
void client_handle(void *app, void *thread_state, FCGX_Request *req);

#endif
