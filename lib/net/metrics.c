/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/metrics.h"
#include "seal/message.h"

static const double bounds[] = { METRICS_LATENCY_BUCKETS };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))
#define NSTATUS 600

static struct {
	uint64_t requests[METRICS_EP_COUNT][NSTATUS];
	uint64_t errors[PS_ERR__COUNT];
	uint64_t stream_events;
	uint64_t streams[2];              /* failed, completed */
	uint64_t latency[NBOUNDS + 1];    /* per bucket, not cumulative */
	uint64_t latency_us;              /* the sum */
	uint64_t rotations;
	uint64_t uploads[2];              /* failed, ok */
} m;

static void
add(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void
metrics_request(int endpoint, int status)
{
	if (endpoint < 0 || endpoint >= METRICS_EP_COUNT)
		endpoint = METRICS_EP_OTHER;
	if (status < 100 || status >= NSTATUS)
		status = 0;
	add(&m.requests[endpoint][status]);
}

void
metrics_error(pserr rc)
{
	if ((int)rc > 0 && (int)rc < PS_ERR__COUNT)
		add(&m.errors[rc]);
}

void
metrics_stream_events(unsigned n)
{
	__atomic_fetch_add(&m.stream_events, (uint64_t)n, __ATOMIC_RELAXED);
}

void
metrics_stream_end(int ok)
{
	add(&m.streams[ok ? 1 : 0]);
}

void
metrics_upstream_latency(int64_t us)
{
	size_t i;

	if (us < 0)
		us = 0;
	for (i = 0; i < NBOUNDS; i++)
		if ((double)us <= bounds[i] * 1e6)
			break;
	add(&m.latency[i]);
	__atomic_fetch_add(&m.latency_us, (uint64_t)us, __ATOMIC_RELAXED);
}

void
metrics_rotation(void)
{
	add(&m.rotations);
}

void
metrics_upload(int ok)
{
	add(&m.uploads[ok ? 1 : 0]);
}

void
metrics_reset(void)
{
	memset(&m, 0, sizeof(m));
}

/* Append one formatted line; the longest is well under 256 bytes. */
static pserr
line(struct buf *out, const char *fmt, ...)
{
	char s[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s))
		return PS_ERR_ARG;
	return buf_append(out, s, (size_t)n);
}

static pserr
family(struct buf *out, const char *name, const char *type, const char *help)
{
	return line(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *
endpoint_name(int ep)
{
	return ep == METRICS_EP_OTHER ? "other" :
	    message_name((enum message_endpoint)ep);
}

#define TRY(x) do { if ((rc = (x)) != PS_OK) return rc; } while (0)

pserr
metrics_write(struct buf *out, const struct metrics_gauges *g)
{
	uint64_t cum = 0, v;
	size_t i;
	int ep, st;
	pserr rc;

	TRY(family(out, "promptseal_build_info", "gauge",
	    "The version of this program."));
	TRY(line(out, "promptseal_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION));
	TRY(family(out, "promptseal_ready", "gauge",
	    "1 when /healthz reports ready: a usable key and the next hop "
	    "reachable."));
	TRY(line(out, "promptseal_ready %d\n", g != NULL && g->ready ? 1 : 0));

	TRY(family(out, "promptseal_requests_total", "counter",
	    "Requests answered, by endpoint and HTTP status."));
	for (ep = 0; ep < METRICS_EP_COUNT; ep++)
		for (st = 0; st < NSTATUS; st++)
			if ((v = get(&m.requests[ep][st])) != 0)
				TRY(line(out, "promptseal_requests_total{endpoint="
				    "\"%s\",status=\"%d\"} %llu\n",
				    endpoint_name(ep), st, (unsigned long long)v));

	TRY(family(out, "promptseal_errors_total", "counter",
	    "Plain error replies, by the protocol's error code."));
	for (i = 1; i < PS_ERR__COUNT; i++)
		if ((v = get(&m.errors[i])) != 0)
			TRY(line(out, "promptseal_errors_total{code=\"%s\"} %llu\n",
			    pserr_code((pserr)i), (unsigned long long)v));

	TRY(family(out, "promptseal_stream_events_total", "counter",
	    "Stream events relayed."));
	TRY(line(out, "promptseal_stream_events_total %llu\n",
	    (unsigned long long)get(&m.stream_events)));
	TRY(family(out, "promptseal_streams_total", "counter",
	    "Streams ended, by result."));
	TRY(line(out, "promptseal_streams_total{result=\"completed\"} %llu\n",
	    (unsigned long long)get(&m.streams[1])));
	TRY(line(out, "promptseal_streams_total{result=\"failed\"} %llu\n",
	    (unsigned long long)get(&m.streams[0])));

	TRY(family(out, "promptseal_upstream_latency_seconds", "histogram",
	    "Time until the next hop's reply head."));
	for (i = 0; i <= NBOUNDS; i++) {
		cum += get(&m.latency[i]);
		if (i < NBOUNDS)
			TRY(line(out, "promptseal_upstream_latency_seconds_bucket"
			    "{le=\"%g\"} %llu\n", bounds[i],
			    (unsigned long long)cum));
		else
			TRY(line(out, "promptseal_upstream_latency_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", (unsigned long long)cum));
	}
	TRY(line(out, "promptseal_upstream_latency_seconds_sum %.6f\n",
	    (double)get(&m.latency_us) / 1e6));
	TRY(line(out, "promptseal_upstream_latency_seconds_count %llu\n",
	    (unsigned long long)cum));

	TRY(family(out, "promptseal_keys", "gauge",
	    "Usable (unexpired) keys held."));
	TRY(line(out, "promptseal_keys %ld\n", g != NULL ? g->keys : 0));
	if (g != NULL && g->key_age >= 0) {
		TRY(family(out, "promptseal_key_cache_age_seconds", "gauge",
		    "Seconds since the key file last changed."));
		TRY(line(out, "promptseal_key_cache_age_seconds %lld\n",
		    (long long)g->key_age));
	}
	if (g != NULL && g->keys_from_as) {
		TRY(family(out, "promptseal_key_rotations_total", "counter",
		    "New keys made by rotation."));
		TRY(line(out, "promptseal_key_rotations_total %llu\n",
		    (unsigned long long)get(&m.rotations)));
		TRY(family(out, "promptseal_key_uploads_total", "counter",
		    "Key uploads to the attestation service, by result."));
		TRY(line(out, "promptseal_key_uploads_total{result=\"ok\"} %llu\n",
		    (unsigned long long)get(&m.uploads[1])));
		TRY(line(out, "promptseal_key_uploads_total{result=\"failed\"} "
		    "%llu\n", (unsigned long long)get(&m.uploads[0])));
	}
	return PS_OK;
}
