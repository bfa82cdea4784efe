/* SPDX-License-Identifier: ISC */
/*
 * metrics: a proxy's counters, and their text in the Prometheus
 * exposition format 0.0.4 for GET /metrics.
 *
 * One set per process, shared by its threads: every count is a relaxed
 * atomic add, never a lock, so counting costs a request nothing it could
 * wait on.  Labels are fixed words (endpoint paths of the protocol,
 * status numbers, error codes): nothing a request carries, no kid, no
 * secret ever becomes a label or a value.
 */
#ifndef PROMPTSEAL_METRICS_H
#define PROMPTSEAL_METRICS_H

#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/message.h"

/* Request endpoints: enum message_endpoint's values, and these. */
#define METRICS_EP_OTHER  MESSAGE_ENDPOINT_COUNT /* no endpoint of the protocol */
#define METRICS_EP_COUNT  (MESSAGE_ENDPOINT_COUNT + 1)

/* The upstream latency histogram's bounds, in seconds (and +Inf). */
#define METRICS_LATENCY_BUCKETS \
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0

/* A request answered with status (100..599; others are counted as 0). */
void metrics_request(int endpoint, int status);

/* A plain error reply with rc's code (protocol.md section 6). */
void metrics_error(pserr rc);

/* n stream events relayed; a stream ended (ok: its final record sent). */
void metrics_stream_events(unsigned n);
void metrics_stream_end(int ok);

/* The next hop answered its head after us microseconds. */
void metrics_upstream_latency(int64_t us);

/* The client's keys: a rotation made a new key; an upload to the AS. */
void metrics_rotation(void);
void metrics_upload(int ok);

/* What is read at scrape time rather than counted. */
struct metrics_gauges {
	long keys;           /* usable keys now */
	int64_t key_age;     /* seconds since the keys' file changed, or -1 */
	int keys_from_as;    /* write rotations and uploads (client + AS) */
	int ready;           /* what /healthz says: 1 ready, 0 not */
};

/*
 * Append the text of every metric to out (its cap applies), each family
 * with its # HELP and # TYPE lines.  PS_ERR_TOO_LARGE past the cap,
 * PS_ERR_NOMEM.
 */
pserr metrics_write(struct buf *out, const struct metrics_gauges *g)
    PS_WARN_UNUSED;

/* Back to zero (for the tests). */
void metrics_reset(void);

#endif
