/* SPDX-License-Identifier: ISC */
/*
 * asreply: one answer of the attestation service (docs/as-api.md): a
 * status, extra header lines, a JSON body and a note for the log line.
 *
 * Every answer carries "Cache-Control: no-store".  Error bodies have the
 * OpenAI shape {"error":{"message","type","code"}} (core/pserr's writer),
 * with the AS's own codes; the type is "api_error" for a 5xx status and
 * "invalid_request_error" otherwise.  The note never holds a secret, a
 * token or request data beyond what the AS decided.
 */
#ifndef PROMPTSEAL_ASREPLY_H
#define PROMPTSEAL_ASREPLY_H

#include <stddef.h>

#include "core/buf.h"
#include "core/pserr.h"

#define ASREPLY_HEADERS "Cache-Control: no-store\r\n"

struct asreply {
	int status;
	const char *headers;           /* static header lines, each ending
	                                * in CRLF */
	struct buf body;               /* JSON, capped at PS_CAP_AS_REPLY */
	char note[160];                /* for the log: never a secret */
};

/* Set r up as a 500 with an empty body.  Allocates nothing. */
void asreply_init(struct asreply *r);

/* Make r a 500 with an empty body and no note again, keeping memory. */
void asreply_reset(struct asreply *r);

/* Wipe and free the body's memory. */
void asreply_free(struct asreply *r);

/*
 * Make r the error answer status with code and message (static text or
 * text the AS wrote, never request data).  The note becomes code unless
 * one was set before.  Never fails: a body that cannot be written stays
 * empty.
 */
void asreply_error(struct asreply *r, int status, const char *code,
    const char *message);

/* A 400 invalid_request with message, noted as such. */
void asreply_bad_request(struct asreply *r, const char *message);

/* A 500 internal_error; the note says what failed and rc. */
void asreply_internal(struct asreply *r, const char *what, pserr rc);

/*
 * Make r a success with status and the small JSON body printf'd from fmt
 * (at most 255 bytes).  An internal error when the body does not fit.
 */
void asreply_ok(struct asreply *r, int status, const char *fmt, ...)
    PS_PRINTF(3, 4);

/* Set the note for the log line (cut at its size). */
void asreply_note(struct asreply *r, const char *fmt, ...) PS_PRINTF(2, 3);

#endif
