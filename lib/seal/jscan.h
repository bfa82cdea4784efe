/* SPDX-License-Identifier: ISC */
/*
 * jscan: a validating JSON scanner that builds nothing.
 *
 * It checks that bytes are JSON (RFC 8259) and says where values begin and
 * end, so a caller can take a member's value as the exact bytes the sender
 * wrote.  Nothing is allocated and nothing is copied, except by
 * jscan_unescape().
 *
 * What is accepted, exactly:
 *  - the RFC 8259 grammar and nothing more: no comments, no trailing
 *    commas, no single quotes, no NaN or Infinity, no leading '+' or '0'
 *    in numbers, no byte order mark;
 *  - whitespace is space, tab, LF and CR only;
 *  - strings must be valid UTF-8 (no overlong forms, no surrogates encoded
 *    in UTF-8, nothing above U+10FFFF, no truncated sequences) and may not
 *    hold a raw byte below 0x20; the only escapes are \" \\ \/ \b \f \n \r
 *    \t and \uXXXX; a \u escape of a high surrogate must be followed at
 *    once by a \u escape of a low surrogate, and a lone surrogate of either
 *    kind is refused, so every accepted string unescapes to valid UTF-8
 *    (\u0000 is accepted and unescapes to a NUL byte);
 *  - arrays and objects nest at most max_depth deep (never more than
 *    JSCAN_MAX_DEPTH).  The iterator counts the top-level object as one
 *    level, so a whole document is held to JSCAN_MAX_DEPTH.
 *
 * Duplicate member names are not looked at here.
 *
 * Every function reads only the n bytes it is given; s need not be
 * NUL-terminated.  Malformed input gives PS_ERR_INVALID_JSON.
 */
#ifndef PROMPTSEAL_JSCAN_H
#define PROMPTSEAL_JSCAN_H

#include <stddef.h>

#include "core/buf.h"
#include "core/pserr.h"

#define JSCAN_MAX_DEPTH 512

/*
 * PS_OK when s (n bytes) is exactly one JSON value, with optional
 * whitespace before and after it, whose arrays and objects nest at most
 * max_depth deep (values above JSCAN_MAX_DEPTH are taken as
 * JSCAN_MAX_DEPTH; 0 admits scalars only).  Else PS_ERR_INVALID_JSON.
 */
pserr jscan_value(const char *s, size_t n, unsigned max_depth)
    PS_WARN_UNUSED;

/* Walks the members of one top-level object.  All fields are private. */
struct jscan_object {
	const char *s;
	size_t n;
	size_t pos;
	int state;
};

/* One member, as pointers into the scanned text. */
struct jscan_member {
	const char *name;     /* the name as sent, between its quotes */
	size_t name_len;
	int name_escaped;     /* 1 when name holds a backslash escape */
	const char *value;    /* the value's bytes, no whitespace around */
	size_t value_len;
};

/*
 * Start walking the object that s (n bytes) must hold.  Returns
 * PS_ERR_INVALID_JSON when s, after optional whitespace, does not start
 * with '{'; the rest is checked by jscan_object_next().
 */
pserr jscan_object_begin(struct jscan_object *it, const char *s, size_t n)
    PS_WARN_UNUSED;

/*
 * Scan the next member.  On PS_OK, *more is 1 and m describes the member,
 * or *more is 0 when the object has ended and only whitespace follows it
 * up to n.  Member values nest at most JSCAN_MAX_DEPTH - 1 deep.  Returns
 * PS_ERR_INVALID_JSON for anything malformed, then and on every later
 * call.  The whole text is valid once *more has come back 0.
 */
pserr jscan_object_next(struct jscan_object *it, struct jscan_member *m,
    int *more) PS_WARN_UNUSED;

/*
 * Append the UTF-8 bytes that the string contents s (n bytes, between the
 * quotes, as accepted by the scanner) stand for to out.  The result is
 * never longer than n, and out must have room for n bytes.  Bytes other
 * than escapes are copied unchecked.  Returns PS_ERR_INVALID_JSON for a
 * malformed escape or a lone surrogate, or buf_reserve()'s error; on
 * failure out is left as it was.
 */
pserr jscan_unescape(const char *s, size_t n, struct buf *out)
    PS_WARN_UNUSED;

#endif
