/* SPDX-License-Identifier: ISC */
/*
 * upstream: the next hop over HTTP/1.1 with libcurl: the worker proxy on
 * the client side (http or verified https), the inference server on a UNIX
 * socket on the worker side.
 *
 * One struct upstream per thread holds one curl handle, so connections are
 * kept alive across requests.  Replies are handed over as they arrive,
 * chunk by chunk, so a stream is relayed without being buffered.
 */
#ifndef PROMPTSEAL_UPSTREAM_H
#define PROMPTSEAL_UPSTREAM_H

#include <stddef.h>

#include "core/pserr.h"

struct upstream_cfg {
	const char *base_url;     /* "http://host:port", "https://...", or
	                             "http://localhost" with unix_path */
	const char *unix_path;    /* UNIX socket to connect to, or NULL */
	const char *ca_file;      /* CA bundle for https, NULL: system CAs */
	long connect_timeout_ms;
	long idle_timeout_s;      /* give up when no byte came for this long */
};

/* What the head callback learns about the reply. */
struct upstream_reply {
	long status;
	const char *content_type; /* "" when absent */
	int encrypted;            /* Promptseal-Encrypted: -1 absent, 0 false, 1 true */
	long long length;         /* Content-Length of the body, -1 unknown */
};

/* Called once, before the first body byte (or at the end for an empty
 * body).  A non-zero return aborts the exchange and is returned. */
typedef pserr (*upstream_head_fn)(void *arg, const struct upstream_reply *r);
/* Called per received chunk of the body. */
typedef pserr (*upstream_data_fn)(void *arg, const char *p, size_t n);

struct upstream;

/*
 * 1 when url is "http://" or "https://" (any case) followed by a host that
 * is this machine's loopback: "localhost" (any case, a final dot allowed),
 * an IPv4 address in 127.0.0.0/8, or "[::1]"; user information before an
 * '@' and a port are allowed.  0 for anything else (other hosts, names
 * that merely resolve to loopback, a malformed URL, NULL).  A plain
 * http:// upstream is safe only there: elsewhere the user's Authorization
 * header would travel in clear.
 */
int upstream_is_loopback(const char *url);

/*
 * What every connection to the next hop gets before it connects: on a TCP
 * socket (AF_INET/AF_INET6) TCP_MAXSEG clamped to 16 KiB, which keeps
 * loopback streams from stalling ~200 ms on a window narrower than one
 * 64 KiB segment; any other socket is left alone.  Returns 0, or -1 with
 * errno from setsockopt.  Exported for its unit test.
 */
int upstream_tune_socket(int fd);

/* Call once from main() before any thread starts. */
pserr upstream_global_init(void) PS_WARN_UNUSED;

/* A handle for cfg (the strings are not copied and must outlive it). */
pserr upstream_new(const struct upstream_cfg *cfg, struct upstream **out)
    PS_WARN_UNUSED;

void upstream_free(struct upstream *u);

/*
 * Send one request: method "GET", "POST" or another bodyless one
 * ("DELETE"), path appended to base_url,
 * headers a NULL-terminated list of "Name: value" lines (or NULL), body of
 * len bytes (POST).  Returns PS_OK when a whole reply was received (any
 * status), PS_ERR_UPSTREAM when the connection failed or broke off,
 * PS_ERR_TIMEOUT when the next hop fell silent, or a callback's error.
 * *started is set to 1 once the head callback has run (a failure after it
 * must be reported inside the reply, e.g. as a stream error event).
 */
pserr upstream_request(struct upstream *u, const char *method,
    const char *path, const char *const *headers, const char *body,
    size_t len, upstream_head_fn head, upstream_data_fn data, void *arg,
    int *started) PS_WARN_UNUSED;

/*
 * Whether the next hop of cfg can be reached now: a connection (and for
 * https a verified TLS handshake) within cfg->connect_timeout_ms, on a
 * handle of its own, closed again.  PS_OK or PS_ERR_UPSTREAM (PS_ERR_NOMEM).
 * Nothing is sent.  Safe to call from any thread.
 */
pserr upstream_reachable(const struct upstream_cfg *cfg) PS_WARN_UNUSED;

#endif
