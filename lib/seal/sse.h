/* SPDX-License-Identifier: ISC */
/*
 * sse: an incremental Server-Sent-Events line reader (protocol.md
 * section 5).  Input may be split at any byte; lines end in LF, CRLF or CR
 * (a CR at the end of one chunk and an LF at the start of the next are one
 * line end).  Each complete line is handed to a callback without its line
 * end; an empty line ends an event.
 */
#ifndef PROMPTSEAL_SSE_H
#define PROMPTSEAL_SSE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/pserr.h"

/* Called per complete line; a non-zero return stops the reader and is
 * returned by sse_reader_feed(). */
typedef pserr (*sse_line_fn)(void *arg, const char *line, size_t len);

struct sse_reader {
	struct buf line;   /* the partial line carried between chunks */
	int after_cr;      /* the last byte seen was a CR */
};

/* Set r up; no line may be longer than max_line bytes, not counting its
 * line end (PS_ERR_TOO_LARGE).  Allocates nothing until a line must be
 * carried over; the memory then held never exceeds max_line + 1 bytes. */
void sse_reader_init(struct sse_reader *r, size_t max_line);

/* Feed n bytes of p (p may be NULL when n is 0); calls fn for each line
 * completed by them, as soon as its line end is seen (a CR ends a line at
 * once, without waiting for a possible LF).  Returns PS_ERR_TOO_LARGE for
 * a line over max_line, PS_ERR_NOMEM, or fn's error.  After an error the
 * reader may only be freed. */
pserr sse_reader_feed(struct sse_reader *r, const char *p, size_t n,
    sse_line_fn fn, void *arg) PS_WARN_UNUSED;

/* End of input: a partial last line (no line end) is handed to fn. */
pserr sse_reader_finish(struct sse_reader *r, sse_line_fn fn, void *arg)
    PS_WARN_UNUSED;

/* 1 when r holds no partial line. */
int sse_reader_idle(const struct sse_reader *r);

/* Wipe and free r's memory. */
void sse_reader_free(struct sse_reader *r);

/*
 * The worker's side: an event splitter that keeps the raw bytes
 * (protocol.md section 5).  An event is its lines, as received, up to and
 * including the line end of the empty line that ends it.  Empty lines
 * before an event's first line make no event.  When an event's last line
 * end is a CR, an LF in the same chunk belongs to it and an LF at the
 * start of the next chunk is dropped.
 */
typedef pserr (*sse_event_fn)(void *arg, const char *ev, size_t len);

struct sse_events {
	struct buf ev;     /* the raw event being collected */
	size_t line;       /* bytes of its current line so far */
	int cr_open;       /* a CR ended a line of ev at a chunk's end */
	int drop_lf;       /* a CR ended an event (or an empty line before
	                      one) at a chunk's end */
};

/* Set r up; no event may be longer than max_event bytes
 * (PS_ERR_TOO_LARGE).  Allocates nothing until an event is held. */
void sse_events_init(struct sse_events *r, size_t max_event);

/* Feed n bytes of p; calls fn for each event completed by them, as soon
 * as its empty line is seen.  Returns PS_ERR_TOO_LARGE for an event over
 * max_event, PS_ERR_NOMEM, or fn's error; after an error r may only be
 * freed. */
pserr sse_events_feed(struct sse_events *r, const char *p, size_t n,
    sse_event_fn fn, void *arg) PS_WARN_UNUSED;

/* 1 when r holds part of an event (which the end of input drops). */
int sse_events_pending(const struct sse_events *r);

/* Wipe and free r's memory. */
void sse_events_free(struct sse_events *r);

/*
 * The data of one event (ev, n bytes, as sse_events hands it over): the
 * values of its data lines joined with LF.  With one data line *data
 * points into ev; with several they are joined into scratch (reset
 * first).  *data is NULL when the event has no data line.  Returns
 * PS_OK, or scratch's error.
 */
pserr sse_event_data(const char *ev, size_t n, struct buf *scratch,
    const char **data, size_t *dlen) PS_WARN_UNUSED;

/* When line is a data line ("data:" with an optional single space after
 * it, or the bare field name "data", whose value is empty), set *val and
 * *vlen to its value and return 1; else return 0. */
int sse_data_value(const char *line, size_t len, const char **val,
    size_t *vlen);

#endif
