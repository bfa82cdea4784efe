/* SPDX-License-Identifier: ISC */
/*
 * server: the FastCGI responder loop shared by every promptseal program,
 * and the few response helpers they all need.
 *
 * server_run() serves on the listening socket it is given (a path to bind,
 * or the socket on fd 0 that spawn-fcgi, lighttpd's bin-path and mod_fcgid
 * hand over) with a fixed pool of threads.  SIGTERM, SIGINT and SIGHUP are
 * blocked in every thread and taken by the main thread with sigwait(), so a
 * plain kill stops the process: libfcgi's own signal flag never reaches a
 * thread blocked in accept().
 */
#ifndef PROMPTSEAL_SERVER_H
#define PROMPTSEAL_SERVER_H

#include <stddef.h>

#include <fcgiapp.h>

#include "core/buf.h"
#include "core/pserr.h"

struct server_opts {
	const char *socket_path;  /* bind here (mode 0660); NULL: use fd 0 */
	int threads;              /* worker threads, >= 1 */
	int backlog;              /* listen() backlog when binding */
	int stop_seconds;         /* how long running requests may finish */
};

/* Called once per request on a pool thread; must finish the response
 * (FCGX_Finish_r is called by the loop afterwards).  thread_state is the
 * value thread_init returned for this thread (NULL if none). */
typedef void (*server_handler_fn)(void *app, void *thread_state,
    FCGX_Request *req);
typedef void *(*server_thread_init_fn)(void *app);
typedef void (*server_thread_fini_fn)(void *app, void *thread_state);

/*
 * A task beside the request threads (the client's key rotation, say), run
 * once in a thread of its own, started after the request threads with the
 * stop signals blocked.  stop_fd becomes readable at the stop and stays
 * so: poll it, never read or close it.  The task must then return soon:
 * like a running request, it has until the stop deadline (stop_seconds),
 * after which the process exits without waiting for it.
 */
typedef void (*server_background_fn)(void *app, int stop_fd);

struct server_app {
	server_handler_fn handle;
	server_thread_init_fn thread_init;  /* may be NULL */
	server_thread_fini_fn thread_fini;  /* may be NULL */
	void *app;
	server_background_fn background;    /* may be NULL */
};

/*
 * Serve until SIGTERM, SIGINT or SIGHUP, with a->background (when set)
 * running beside the requests.  Returns 0 after a clean stop, 1 when the
 * socket or a thread could not be set up (logged).  Must be called from
 * main() before any other thread is started.
 */
int server_run(const struct server_opts *o, const struct server_app *a);

/* A CGI parameter of req, or NULL. */
const char *server_param(FCGX_Request *req, const char *name);

/*
 * Read the request body into out, whose max is the body limit.  Reads to
 * EOF (Apache omits CONTENT_LENGTH on large bodies) but refuses at once a
 * CONTENT_LENGTH over the limit.  PS_ERR_TOO_LARGE past out->max,
 * PS_ERR_IO on a broken connection.
 */
pserr server_read_body(FCGX_Request *req, struct buf *out) PS_WARN_UNUSED;

/*
 * 1 when the request's CONTENT_TYPE is application/json (parameters such
 * as "; charset=utf-8" allowed, case-insensitive), else 0.
 */
int server_is_json(FCGX_Request *req);

/* Write the status line and headers.  headers is NULL or extra header
 * lines, each ending in "\r\n". */
void server_head(FCGX_Request *req, int status, const char *content_type,
    const char *headers);

/* Write a whole response with a Content-Length. */
void server_send(FCGX_Request *req, int status, const char *content_type,
    const char *headers, const char *body, size_t len);

/*
 * Write the plain error of protocol.md section 6 for rc:
 *   {"error": {"message": ..., "type": ..., "code": ...}}
 * with "Promptseal-Encrypted: false" and headers (NULL or extra header
 * lines, each ending in "\r\n").  The message is pserr_str(rc): it never
 * holds request data (pserr_json() builds it).
 */
void server_send_error(FCGX_Request *req, pserr rc, const char *headers);

/*
 * The status of the last head (server_head, server_send, ...) the calling
 * thread wrote since the last call, or 0; the next call says 0 until a
 * head is written again.  For counting what a handler answered.
 */
int server_status_take(void);

#endif
