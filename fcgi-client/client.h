/* SPDX-License-Identifier: ISC */
/*
 * The client proxy's request handling: encrypt the user's request, forward
 * it to the worker, authenticate and decrypt the reply.
 */
#ifndef PROMPTSEAL_CLIENT_H
#define PROMPTSEAL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "asclient/asclient.h"
#include "keys/clientkey.h"
#include "keys/keycache.h"
#include "net/proxy.h"

/* Exactly one of keys and ck is set. */
struct client {
	struct proxy_opts opts;
	struct keycache *keys;   /* --key-file: pre-shared keys */
	struct clientkey *ck;    /* --as-url: keys made here, uploaded to the AS */
	const char *state_path;  /* --as-url: the key state file, read for
	                            /healthz and /metrics */
};

void *client_thread_init(void *app);
void client_thread_fini(void *app, void *thread_state);
void client_handle(void *app, void *thread_state, FCGX_Request *req);

/* The server's background task: with an AS, check once a second whether
 * the key is due for rotation (clientkey_tick). */
void client_background(void *app, int stop_fd);

/* How the client reaches the AS: the upload function of clientkey. */
struct client_as {
	struct asclient *as;
	char *token;             /* the bearer token, NUL terminated */
};

/* clientkey_upload_fn over asclient_upload; arg is a struct client_as. */
pserr client_as_upload(void *arg, const struct keycache_entry *key,
    int64_t *expires, char *why, size_t whylen);

#endif
