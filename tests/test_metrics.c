/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/net/metrics.c: what the counters say after known
 * traffic, and that the text parses as the Prometheus exposition format
 * 0.0.4 (a small parser below: # HELP and # TYPE before each family's
 * samples, names and labels of the grammar, values that are numbers,
 * histogram buckets cumulative and ending in +Inf = _count).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "net/metrics.h"
#include "seal/message.h"
#include "testutil.h"

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' ||
	    s[0] == ':'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return 0;
	return 1;
}

/* Parse the whole text; fail the test at the first bad line.  Returns the
 * value of the sample whose name-and-labels is want (or -1). */
static double
parse(const char *text, const char *want)
{
	char family[128] = "", type[32] = "", line[512];
	const char *p = text, *nl;
	double found = -1, v, last_bucket = -1;
	int help_seen = 0;

	while (*p != '\0') {
		size_t n, k;
		char *s, *end;

		nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "last line without a newline");
		n = (size_t)(nl - p);
		ck_assert_uint_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			s = line + 7;
			k = strcspn(s, " ");
			ck_assert(name_ok(s, k));
			ck_assert_uint_lt(k, sizeof(family));
			memcpy(family, s, k);
			family[k] = '\0';
			help_seen = 1;
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			s = line + 7;
			k = strcspn(s, " ");
			ck_assert_msg(help_seen && strlen(family) == k &&
			    strncmp(s, family, k) == 0, "TYPE without HELP: %s", line);
			s += k + 1;
			ck_assert_msg(strcmp(s, "counter") == 0 ||
			    strcmp(s, "gauge") == 0 || strcmp(s, "histogram") == 0,
			    "type %s", s);
			snprintf(type, sizeof(type), "%s", s);
			continue;
		}
		ck_assert_msg(line[0] != '#', "comment %s", line);
		ck_assert_msg(type[0] != '\0', "sample before TYPE: %s", line);
		/* name{label="value",...} value */
		k = strcspn(line, "{ ");
		ck_assert_msg(name_ok(line, k), "name in %s", line);
		ck_assert_msg(strncmp(line, family, strlen(family)) == 0,
		    "%s outside family %s", line, family);
		if (strcmp(type, "histogram") == 0)
			ck_assert(k == strlen(family) + 7 || k == strlen(family) + 4 ||
			    k == strlen(family) + 6);
		else
			ck_assert_uint_eq(k, strlen(family));
		s = line + k;
		if (*s == '{') {
			s++;
			while (*s != '}') {
				k = strcspn(s, "=");
				ck_assert_msg(name_ok(s, k), "label in %s", line);
				s += k;
				ck_assert(s[0] == '=' && s[1] == '"');
				s += 2;
				while (*s != '"') {
					ck_assert(*s != '\0' && *s != '\n');
					if (*s == '\\')
						s++;
					s++;
				}
				s++;
				if (*s == ',')
					s++;
				else
					ck_assert_msg(*s == '}', "labels in %s", line);
			}
			s++;
		}
		ck_assert_msg(*s == ' ', "no value in %s", line);
		*s = '\0';
		s++;
		v = strtod(s, &end);
		ck_assert_msg(end != s && *end == '\0', "value in %s", s);
		if (strstr(line, "_bucket{") != NULL) {
			ck_assert(v >= last_bucket);
			last_bucket = v;
		} else if (strcmp(type, "histogram") == 0 &&
		    strstr(line, "_count") != NULL) {
			ck_assert(v == last_bucket);
			last_bucket = -1;
		}
		if (want != NULL && strcmp(line, want) == 0)
			found = v;
	}
	return found;
}

static char *
scrape(const struct metrics_gauges *g)
{
	struct buf b;
	char *t;

	buf_init(&b, 1u << 20);
	ck_assert_int_eq(metrics_write(&b, g), PS_OK);
	t = malloc(b.len + 1);
	ck_assert_ptr_nonnull(t);
	memcpy(t, b.p, b.len);
	t[b.len] = '\0';
	buf_free(&b);
	return t;
}

START_TEST(empty)
{
	struct metrics_gauges g = {0, -1, 0, 0};
	char *t;

	metrics_reset();
	t = scrape(&g);
	parse(t, NULL);
	ck_assert_ptr_null(strstr(t, "promptseal_requests_total{"));
	ck_assert_ptr_null(strstr(t, "key_cache_age"));
	ck_assert_ptr_null(strstr(t, "rotations"));
	ck_assert_double_eq(parse(t, "promptseal_ready"), 0);
	ck_assert_double_eq(parse(t,
	    "promptseal_upstream_latency_seconds_count"), 0);
	free(t);
	t = scrape(NULL);
	parse(t, NULL);
	free(t);
}
END_TEST

START_TEST(counts)
{
	struct metrics_gauges g = {3, 42, 1, 1};
	char *t;
	int i;

	metrics_reset();
	for (i = 0; i < 3; i++)
		metrics_request(MESSAGE_CHAT, 200);
	metrics_request(MESSAGE_MODELS, 200);
	metrics_request(METRICS_EP_OTHER, 404);
	metrics_request(-7, 1000);
	metrics_error(PS_ERR_UNKNOWN_ENDPOINT);
	metrics_error(PS_ERR_TOO_LARGE);
	metrics_error(PS_ERR_TOO_LARGE);
	metrics_error(PS_OK);
	metrics_error((pserr)-1);
	for (i = 0; i < 2; i++)
		metrics_stream_events(2);
	metrics_stream_events(1);
	metrics_stream_events(0);
	metrics_stream_end(1);
	metrics_stream_end(0);
	metrics_upstream_latency(1000);       /* 1 ms */
	metrics_upstream_latency(300000);     /* 0.3 s */
	metrics_upstream_latency(100000000);  /* 100 s */
	metrics_upstream_latency(-5);
	metrics_rotation();
	metrics_upload(1);
	metrics_upload(1);
	metrics_upload(0);
	t = scrape(&g);
	ck_assert_double_eq(parse(t, "promptseal_requests_total{endpoint="
	    "\"/v1/chat/completions\",status=\"200\"}"), 3);
	ck_assert_double_eq(parse(t, "promptseal_requests_total{endpoint="
	    "\"/v1/models\",status=\"200\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_requests_total{endpoint="
	    "\"other\",status=\"404\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_requests_total{endpoint="
	    "\"other\",status=\"0\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_errors_total{code="
	    "\"body_too_large\"}"), 2);
	ck_assert_double_eq(parse(t, "promptseal_errors_total{code="
	    "\"unknown_endpoint\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_stream_events_total"), 5);
	ck_assert_double_eq(parse(t, "promptseal_streams_total{result="
	    "\"completed\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_streams_total{result="
	    "\"failed\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_upstream_latency_seconds_"
	    "bucket{le=\"0.005\"}"), 2);
	ck_assert_double_eq(parse(t, "promptseal_upstream_latency_seconds_"
	    "bucket{le=\"0.5\"}"), 3);
	ck_assert_double_eq(parse(t, "promptseal_upstream_latency_seconds_"
	    "bucket{le=\"60\"}"), 3);
	ck_assert_double_eq(parse(t, "promptseal_upstream_latency_seconds_"
	    "bucket{le=\"+Inf\"}"), 4);
	ck_assert_double_eq(parse(t,
	    "promptseal_upstream_latency_seconds_count"), 4);
	ck_assert_double_eq_tol(parse(t,
	    "promptseal_upstream_latency_seconds_sum"), 100.301, 1e-6);
	ck_assert_double_eq(parse(t, "promptseal_keys"), 3);
	ck_assert_double_eq(parse(t, "promptseal_key_cache_age_seconds"), 42);
	ck_assert_double_eq(parse(t, "promptseal_key_rotations_total"), 1);
	ck_assert_double_eq(parse(t, "promptseal_key_uploads_total{result="
	    "\"ok\"}"), 2);
	ck_assert_double_eq(parse(t, "promptseal_key_uploads_total{result="
	    "\"failed\"}"), 1);
	ck_assert_double_eq(parse(t, "promptseal_ready"), 1);
	free(t);
}
END_TEST

/* The text is capped like every buffer: a small cap fails cleanly. */
START_TEST(capped)
{
	struct metrics_gauges g = {1, 1, 1, 1};
	struct buf b;

	metrics_reset();
	buf_init(&b, 64);
	ck_assert_int_eq(metrics_write(&b, &g), PS_ERR_TOO_LARGE);
	buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, empty);
	tcase_add_test(tc, counts);
	tcase_add_test(tc, capped);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
