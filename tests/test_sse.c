/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "seal/sse.h"

/* Lines seen by the callback, each written as "<line>|". */
struct seen {
	struct buf text;
	int lines;
	int stop_at;   /* return PS_ERR_IO on this line (1-based), 0: never */
};

static void
seen_init(struct seen *s)
{
	buf_init(&s->text, 1 << 20);
	s->lines = 0;
	s->stop_at = 0;
}

static pserr
collect(void *arg, const char *line, size_t len)
{
	struct seen *s = arg;

	s->lines++;
	ck_assert(memchr(line, '\n', len) == NULL);
	ck_assert(memchr(line, '\r', len) == NULL);
	ck_assert_int_eq(buf_append(&s->text, line, len), PS_OK);
	ck_assert_int_eq(buf_putc(&s->text, '|'), PS_OK);
	if (s->stop_at == s->lines)
		return PS_ERR_IO;
	return PS_OK;
}

static const char *
seen_str(struct seen *s)
{
	return buf_cstr(&s->text);
}

/* Read in (n bytes) in pieces cut at the offsets in cuts (ascending, ncuts
 * of them), then finish. */
static pserr
read_cut(const char *in, size_t n, const size_t *cuts, size_t ncuts,
    size_t max, struct seen *s)
{
	struct sse_reader r;
	size_t i, at = 0;
	pserr rc = PS_OK;

	sse_reader_init(&r, max);
	for (i = 0; i <= ncuts && rc == PS_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : n;

		rc = sse_reader_feed(&r, in + at, to - at, collect, s);
		at = to;
	}
	if (rc == PS_OK)
		rc = sse_reader_finish(&r, collect, s);
	if (rc == PS_OK)
		ck_assert(sse_reader_idle(&r));
	sse_reader_free(&r);
	return rc;
}

/* Every way to cut in in two, and byte by byte, gives expect. */
static void
check_all_cuts(const char *in, const char *expect, int nlines)
{
	size_t n = strlen(in), k, i;
	struct seen s;

	for (k = 0; k <= n; k++) {
		seen_init(&s);
		ck_assert_int_eq(read_cut(in, n, &k, 1, 1000, &s), PS_OK);
		ck_assert_msg(strcmp(seen_str(&s), expect) == 0,
		    "cut at %zu: got \"%s\"", k, seen_str(&s));
		ck_assert_int_eq(s.lines, nlines);
		buf_free(&s.text);
	}
	{
		size_t cuts[256];

		ck_assert(n < 256);
		for (i = 0; i < n; i++)
			cuts[i] = i;
		seen_init(&s);
		ck_assert_int_eq(read_cut(in, n, cuts, n, 1000, &s), PS_OK);
		ck_assert_str_eq(seen_str(&s), expect);
		ck_assert_int_eq(s.lines, nlines);
		buf_free(&s.text);
	}
}

START_TEST(test_lf)
{
	check_all_cuts("data: a\n\n: c\ndata:b\n\n", "data: a||: c|data:b||", 5);
}
END_TEST

START_TEST(test_crlf)
{
	check_all_cuts("data: a\r\n\r\n: c\r\ndata:b\r\n\r\n",
	    "data: a||: c|data:b||", 5);
}
END_TEST

START_TEST(test_cr)
{
	check_all_cuts("data: a\r\r: c\rdata:b\r\r", "data: a||: c|data:b||", 5);
}
END_TEST

START_TEST(test_mixed)
{
	/* CR LF is one line end; LF CR is two; CR CR is two. */
	check_all_cuts("a\r\nb\n\rc\r\rd\n", "a|b||c||d|", 6);
}
END_TEST

START_TEST(test_partial_last_line)
{
	check_all_cuts("a\nlast", "a|last|", 2);
	check_all_cuts("", "", 0);
	check_all_cuts("\n", "|", 1);
}
END_TEST

START_TEST(test_cr_then_lf_next_chunk)
{
	struct sse_reader r;
	struct seen s;

	seen_init(&s);
	sse_reader_init(&r, 100);
	ck_assert_int_eq(sse_reader_feed(&r, "data: x\r", 8, collect, &s), PS_OK);
	/* The line is handed over at the CR, before the LF is known. */
	ck_assert_int_eq(s.lines, 1);
	ck_assert(sse_reader_idle(&r));
	ck_assert_int_eq(sse_reader_feed(&r, "\n", 1, collect, &s), PS_OK);
	ck_assert_int_eq(s.lines, 1);
	ck_assert_int_eq(sse_reader_feed(&r, "\n", 1, collect, &s), PS_OK);
	ck_assert_int_eq(s.lines, 2);
	ck_assert_int_eq(sse_reader_feed(&r, "\r", 1, collect, &s), PS_OK);
	ck_assert_int_eq(sse_reader_feed(&r, "\r", 1, collect, &s), PS_OK);
	ck_assert_int_eq(sse_reader_finish(&r, collect, &s), PS_OK);
	ck_assert_str_eq(seen_str(&s), "data: x||||");
	ck_assert_int_eq(s.lines, 4);
	sse_reader_free(&r);
	buf_free(&s.text);
}
END_TEST

START_TEST(test_empty_feed)
{
	struct sse_reader r;
	struct seen s;

	seen_init(&s);
	sse_reader_init(&r, 10);
	ck_assert_int_eq(sse_reader_feed(&r, NULL, 0, collect, &s), PS_OK);
	ck_assert_int_eq(sse_reader_finish(&r, collect, &s), PS_OK);
	ck_assert_int_eq(s.lines, 0);
	ck_assert_ptr_null(r.line.p);
	sse_reader_free(&r);
	buf_free(&s.text);
}
END_TEST

START_TEST(test_max_line)
{
	char in[64];
	size_t n, k;
	struct seen s;

	/* Exactly max bytes is fine, split or not. */
	memcpy(in, "0123456789\n", 11);
	for (k = 0; k <= 11; k++) {
		seen_init(&s);
		ck_assert_int_eq(read_cut(in, 11, &k, 1, 10, &s), PS_OK);
		ck_assert_str_eq(seen_str(&s), "0123456789|");
		buf_free(&s.text);
	}
	/* One more is refused, wherever the input is cut, with or without
	 * a line end, and the lines before it are delivered. */
	memcpy(in, "ok\n0123456789A\nnever\n", 21);
	n = 21;
	for (k = 0; k <= n; k++) {
		seen_init(&s);
		ck_assert_int_eq(read_cut(in, n, &k, 1, 10, &s),
		    PS_ERR_TOO_LARGE);
		ck_assert_str_eq(seen_str(&s), "ok|");
		buf_free(&s.text);
	}
	seen_init(&s);
	ck_assert_int_eq(read_cut("0123456789A", 11, NULL, 0, 10, &s),
	    PS_ERR_TOO_LARGE);
	ck_assert_int_eq(s.lines, 0);
	buf_free(&s.text);
}
END_TEST

START_TEST(test_buffer_stays_small)
{
	struct sse_reader r;
	struct seen s;
	char line[] = "data: {\"x\":1}\n\n";
	int i;

	seen_init(&s);
	sse_reader_init(&r, 1 << 20);
	/* Lines cut across chunks: only the partial line is kept. */
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(sse_reader_feed(&r, line, 7, collect, &s), PS_OK);
		ck_assert_int_eq(sse_reader_feed(&r, line + 7, sizeof(line) - 8,
		    collect, &s), PS_OK);
		buf_reset(&s.text);
	}
	ck_assert_int_eq(s.lines, 20000);
	ck_assert_uint_le(r.line.cap, 256);
	sse_reader_free(&r);
	buf_free(&s.text);
}
END_TEST

START_TEST(test_callback_error_stops)
{
	struct sse_reader r;
	struct seen s;

	seen_init(&s);
	s.stop_at = 2;
	sse_reader_init(&r, 100);
	ck_assert_int_eq(sse_reader_feed(&r, "a\nb\nc\n", 6, collect, &s),
	    PS_ERR_IO);
	ck_assert_str_eq(seen_str(&s), "a|b|");
	sse_reader_free(&r);
	buf_free(&s.text);

	seen_init(&s);
	s.stop_at = 1;
	sse_reader_init(&r, 100);
	ck_assert_int_eq(sse_reader_feed(&r, "par", 3, collect, &s), PS_OK);
	ck_assert_int_eq(sse_reader_finish(&r, collect, &s), PS_ERR_IO);
	ck_assert_str_eq(seen_str(&s), "par|");
	sse_reader_free(&r);
	buf_free(&s.text);
}
END_TEST

static void
check_data(const char *line, int is_data, const char *val)
{
	const char *v = NULL;
	size_t vl = 0;

	ck_assert_int_eq(sse_data_value(line, strlen(line), &v, &vl), is_data);
	if (is_data) {
		ck_assert_uint_eq(vl, strlen(val));
		ck_assert(memcmp(v, val, vl) == 0);
	}
}

START_TEST(test_data_value)
{
	check_data("data: x", 1, "x");
	check_data("data:x", 1, "x");
	check_data("data:  x", 1, " x");
	check_data("data: {\"a\":1}", 1, "{\"a\":1}");
	check_data("data:", 1, "");
	check_data("data: ", 1, "");
	check_data("data", 1, "");
	check_data("data:[DONE]", 1, "[DONE]");
	check_data("Data: x", 0, NULL);
	check_data("datax", 0, NULL);
	check_data("dat", 0, NULL);
	check_data(" data: x", 0, NULL);
	check_data(": data: x", 0, NULL);
	check_data("event: data", 0, NULL);
	check_data("", 0, NULL);
}
END_TEST


/* ------------------------------------------------------ event splitter */

/* Events seen, each written as "<event>|". */
struct evs {
	struct buf text;
	int n;
	int stop_at;
};

static pserr
collect_event(void *arg, const char *ev, size_t len)
{
	struct evs *e = arg;

	e->n++;
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(buf_append(&e->text, ev, len), PS_OK);
	ck_assert_int_eq(buf_putc(&e->text, '|'), PS_OK);
	return e->stop_at == e->n ? PS_ERR_IO : PS_OK;
}

/* Split in (n bytes) fed in pieces of step bytes (0: whole); returns what
 * the callback saw and whether a partial event is left. */
static const char *
split(const char *in, size_t step, size_t max, int *pending, pserr *rc)
{
	static struct evs e;
	struct sse_events r;
	size_t n = strlen(in), at = 0;

	buf_free(&e.text);
	buf_init(&e.text, 1 << 20);
	e.n = 0;
	e.stop_at = 0;
	sse_events_init(&r, max);
	*rc = PS_OK;
	while (at < n && *rc == PS_OK) {
		size_t k = step == 0 || n - at < step ? n - at : step;

		*rc = sse_events_feed(&r, in + at, k, collect_event, &e);
		at += k;
	}
	*pending = sse_events_pending(&r);
	sse_events_free(&r);
	return buf_cstr(&e.text) != NULL ? buf_cstr(&e.text) : "";
}

static const struct {
	const char *in;
	const char *out;      /* events, each followed by '|' */
	int pending;
} splits[] = {
	{ "data: a\n\n", "data: a\n\n|", 0 },
	{ "data: a\n\ndata: b\n\n", "data: a\n\n|data: b\n\n|", 0 },
	{ "event: x\nid: 1\ndata: a\n\n", "event: x\nid: 1\ndata: a\n\n|", 0 },
	{ ": c\n\nretry: 5\n\n", ": c\n\n|retry: 5\n\n|", 0 },
	{ "data: a\r\n\r\n", "data: a\r\n\r\n|", 0 },
	{ "data: a\r\rdata: b\r\r", "data: a\r\r|data: b\r\r|", 0 },
	{ "\n\r\n\rdata: a\n\n", "data: a\n\n|", 0 },
	{ "data: a\n\n\n\ndata: b\n\n", "data: a\n\n|data: b\n\n|", 0 },
	{ "data: a\ndata: b\n", "", 1 },
	{ "data: a\n\ndata: b", "data: a\n\n|", 1 },
	{ "", "", 0 },
	{ "\n\n", "", 0 },
	{ "data\n\n", "data\n\n|", 0 },
	{ "data: a\r\ndata: b\n\r\n", "data: a\r\ndata: b\n\r\n|", 0 },
};

/* A line end at every offset of the first 16-byte blocks and beyond, for
 * each kind of line end: the line ends exactly there, whatever the cuts. */
START_TEST(test_line_end_everywhere)
{
	static const char *const ends[] = { "\n", "\r", "\r\n" };
	char in[128], expect[128];
	size_t len, k;

	for (len = 0; len <= 50; len++)
		for (k = 0; k < 3; k++) {
			memset(in, 'x', len);
			in[len] = '\0';
			strcat(in, ends[k]);
			strcat(in, "yyyyyyyyyyyyyyyyyyyy\n");
			memset(expect, 'x', len);
			expect[len] = '\0';
			strcat(expect, "|yyyyyyyyyyyyyyyyyyyy|");
			check_all_cuts(in, expect, 2);
		}
}
END_TEST

/* The same for events: an event's end found at every offset. */
START_TEST(test_event_end_everywhere)
{
	char in[160], want[160];
	const char *got;
	size_t len;
	int pending;
	pserr rc;

	for (len = 0; len <= 50; len++) {
		snprintf(in, sizeof(in), "data: %.*s\n\ndata: b\n\n", (int)len,
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		snprintf(want, sizeof(want), "data: %.*s\n\n|data: b\n\n|",
		    (int)len,
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		got = split(in, 0, 1 << 20, &pending, &rc);
		ck_assert_int_eq(rc, PS_OK);
		ck_assert_str_eq(got, want);
		ck_assert_int_eq(pending, 0);
		got = split(in, 7, 1 << 20, &pending, &rc);
		ck_assert_int_eq(rc, PS_OK);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

/* Whole, and byte by byte, the same events (no CR at a cut in these). */
START_TEST(test_events_split)
{
	const char *got;
	int pending;
	pserr rc;

	got = split(splits[_i].in, 0, 1 << 20, &pending, &rc);
	ck_assert_int_eq(rc, PS_OK);
	ck_assert_str_eq(got, splits[_i].out);
	ck_assert_int_eq(pending, splits[_i].pending);
	if (strchr(splits[_i].in, '\r') != NULL)
		return;
	got = split(splits[_i].in, 1, 1 << 20, &pending, &rc);
	ck_assert_int_eq(rc, PS_OK);
	ck_assert_str_eq(got, splits[_i].out);
	ck_assert_int_eq(pending, splits[_i].pending);
	got = split(splits[_i].in, 3, 1 << 20, &pending, &rc);
	ck_assert_str_eq(got, splits[_i].out);
}
END_TEST

/* A CR that ends an event at the end of a chunk: the event goes out at
 * once; an LF at the start of the next chunk belongs to its line end and
 * is dropped.  In the same chunk it is part of the event. */
START_TEST(test_events_cr_at_cut)
{
	struct sse_events r;
	struct evs e;

	buf_init(&e.text, 1 << 20);
	e.n = 0;
	e.stop_at = 0;
	sse_events_init(&r, 1024);
	ck_assert_int_eq(sse_events_feed(&r, "data: a\r\n\r", 10, collect_event,
	    &e), PS_OK);
	ck_assert_int_eq(e.n, 1);
	ck_assert_int_eq(sse_events_feed(&r, "\ndata: b\r", 9, collect_event,
	    &e), PS_OK);
	ck_assert_int_eq(e.n, 1);
	/* The CR that ended "data: b": an LF after it in the next chunk is
	 * kept, as the rest of that line end. */
	ck_assert_int_eq(sse_events_feed(&r, "\n\r\n", 3, collect_event, &e),
	    PS_OK);
	ck_assert_int_eq(e.n, 2);
	ck_assert_str_eq(buf_cstr(&e.text), "data: a\r\n\r|data: b\r\n\r\n|");
	ck_assert(!sse_events_pending(&r));
	/* An empty line before any event, cut after its CR. */
	ck_assert_int_eq(sse_events_feed(&r, "\r", 1, collect_event, &e),
	    PS_OK);
	ck_assert_int_eq(sse_events_feed(&r, "\ndata: c\n\n", 10, collect_event,
	    &e), PS_OK);
	ck_assert_int_eq(e.n, 3);
	ck_assert_str_eq(buf_cstr(&e.text),
	    "data: a\r\n\r|data: b\r\n\r\n|data: c\n\n|");
	sse_events_free(&r);
	buf_free(&e.text);
}
END_TEST

START_TEST(test_events_cap)
{
	const char *got;
	int pending;
	pserr rc;

	/* "data: a\n\n" is 9 bytes: 9 fits, 8 does not. */
	got = split("data: a\n\ndata: b\n\n", 0, 9, &pending, &rc);
	ck_assert_int_eq(rc, PS_OK);
	ck_assert_str_eq(got, "data: a\n\n|data: b\n\n|");
	got = split("data: a\n\n", 0, 8, &pending, &rc);
	ck_assert_int_eq(rc, PS_ERR_TOO_LARGE);
	got = split("data: a\n\n", 1, 8, &pending, &rc);
	ck_assert_int_eq(rc, PS_ERR_TOO_LARGE);
	got = split("data: aaaaaaaaaaaa", 5, 8, &pending, &rc);
	ck_assert_int_eq(rc, PS_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_events_callback_error)
{
	struct sse_events r;
	struct evs e;

	buf_init(&e.text, 1 << 20);
	e.n = 0;
	e.stop_at = 1;
	sse_events_init(&r, 1024);
	ck_assert_int_eq(sse_events_feed(&r, "data: a\n\ndata: b\n\n", 18,
	    collect_event, &e), PS_ERR_IO);
	ck_assert_int_eq(e.n, 1);
	sse_events_free(&r);
	buf_free(&e.text);
}
END_TEST

static const struct {
	const char *ev;
	const char *data;     /* NULL: no data line */
} datas[] = {
	{ "data: a\n\n", "a" },
	{ "data:a\n\n", "a" },
	{ "data:  a\n\n", " a" },
	{ "data\n\n", "" },
	{ "data: a\ndata: b\n\n", "a\nb" },
	{ "data: a\r\ndata:b\r\n\r\n", "a\nb" },
	{ "data: a\rdata: b\r\r", "a\nb" },
	{ "event: x\ndata: {}\nid: 1\n\n", "{}" },
	{ "event: x\n\n", NULL },
	{ ": data: x\n\n", NULL },
	{ " data: x\n\n", NULL },
	{ "data: a\ndata\ndata: c\n\n", "a\n\nc" },
	{ "Data: x\n\n", NULL },
};

START_TEST(test_event_data)
{
	const char *ev = datas[_i].ev, *d;
	struct buf scratch;
	size_t n;

	buf_init(&scratch, strlen(ev));
	ck_assert_int_eq(sse_event_data(ev, strlen(ev), &scratch, &d, &n),
	    PS_OK);
	if (datas[_i].data == NULL) {
		ck_assert_ptr_null(d);
	} else {
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(n, strlen(datas[_i].data));
		ck_assert_mem_eq(d, datas[_i].data, n);
		/* One data line is not copied. */
		if (strstr(datas[_i].data, "\n") == NULL)
			ck_assert(d >= ev && d < ev + strlen(ev));
	}
	buf_free(&scratch);
}
END_TEST

static Suite *
sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lf);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_cr);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_partial_last_line);
	tcase_add_test(tc, test_cr_then_lf_next_chunk);
	tcase_add_test(tc, test_empty_feed);
	tcase_add_test(tc, test_max_line);
	tcase_add_test(tc, test_buffer_stays_small);
	tcase_add_test(tc, test_callback_error_stops);
	tcase_add_test(tc, test_data_value);
	tcase_add_test(tc, test_line_end_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_loop_test(tc, test_events_split, 0,
	    (int)(sizeof(splits) / sizeof(splits[0])));
	tcase_add_test(tc, test_events_cr_at_cut);
	tcase_add_test(tc, test_event_end_everywhere);
	tcase_add_test(tc, test_events_cap);
	tcase_add_test(tc, test_events_callback_error);
	tcase_add_loop_test(tc, test_event_data, 0,
	    (int)(sizeof(datas) / sizeof(datas[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
