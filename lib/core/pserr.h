/* SPDX-License-Identifier: ISC */
/*
 * pserr: the one error type of the promptseal library.
 *
 * Every library function that can fail returns a pserr value: 0 (PS_OK) for
 * success, a positive code otherwise.  Codes that a proxy reports to its peer
 * map to protocol.md section 6 through pserr_status() and pserr_code().
 */
#ifndef PROMPTSEAL_PSERR_H
#define PROMPTSEAL_PSERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define PS_WARN_UNUSED __attribute__((warn_unused_result))
#define PS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PS_WARN_UNUSED
#define PS_PRINTF(a, b)
#endif

typedef enum {
	PS_OK = 0,
	/* protocol.md section 6 */
	PS_ERR_INVALID_JSON,      /* 400 invalid_json */
	PS_ERR_INVALID_ENVELOPE,  /* 400 invalid_envelope */
	PS_ERR_PLAINTEXT_MEMBER,  /* 400 plaintext_member */
	PS_ERR_DECRYPT,           /* 400 decrypt_failed */
	PS_ERR_UNKNOWN_ENDPOINT,  /* 404 unknown_endpoint */
	PS_ERR_METHOD,            /* 405 method_not_allowed */
	PS_ERR_TOO_LARGE,         /* 413 body_too_large */
	PS_ERR_MEDIA_TYPE,        /* 415 unsupported_media_type */
	PS_ERR_UNKNOWN_KEY,       /* 422 unknown_key */
	PS_ERR_UPSTREAM,          /* 502 upstream_unavailable */
	PS_ERR_BAD_UPSTREAM,      /* 502 bad_upstream_response */
	PS_ERR_NO_KEY,            /* 503 no_key */
	PS_ERR_TIMEOUT,           /* 504 upstream_timeout */
	PS_ERR_STREAM_TRUNCATED,  /* stream error event stream_truncated */
	PS_ERR_VERSION,           /* 400 unsupported_version */
	PS_ERR_STALE,             /* 400 stale_request */
	PS_ERR_PLAIN_QUERY,       /* 400 plain_query */
	PS_ERR_BAD_QUERY,         /* 400 invalid_query */
	PS_ERR_REPLAYED,          /* 409 replayed */
	PS_ERR_QUERY_TOO_LONG,    /* 414 query_too_long */
	PS_ERR_REPLAY_FULL,       /* 503 replay_table_full */
	PS_ERR_INVALID_MULTIPART, /* 400 invalid_multipart */
	/* local failures: 500 internal_error if they reach a peer */
	PS_ERR_NOMEM,
	PS_ERR_ARG,               /* a caller passed a bad argument */
	PS_ERR_CRYPTO,
	PS_ERR_IO,
	PS_ERR_PERM,
	PS_ERR_CORRUPT,
	PS_ERR_EXPIRED,
	/* results of lookups and checks (files, the AS's store, evidence,
	 * the AS's answers to asclient); no proxy answers with them, and the
	 * AS writes its own error codes (docs/as-api.md) */
	PS_ERR_NOT_FOUND,         /* 404 not_found */
	PS_ERR_EXISTS,            /* 409 conflict */
	PS_ERR_AUTH,              /* 401 unauthorized */
	PS_ERR_BAD_REQUEST,       /* 400 invalid_request: the AS refused a
	                           * request as malformed (400 or 415) */
	PS_ERR__COUNT
} pserr;

/* A short human-readable sentence; never NULL, never contains user data. */
const char *pserr_str(pserr rc);

/* The HTTP status a proxy answers with for rc (500 for local failures). */
int pserr_status(pserr rc);

/* The protocol.md section 6 code string ("invalid_json", ...), or
 * "internal_error" for local failures. */
const char *pserr_code(pserr rc);

struct buf;

/*
 * Append the error body of protocol.md section 6 for rc to out:
 *   {"error":{"message":"...","type":"...","code":"..."}}
 * (no trailing newline).  The message is pserr_str(rc), never request data.
 */
pserr pserr_json(pserr rc, struct buf *out);

/* The OpenAI error "type" for rc ("invalid_request_error", ...). */
const char *pserr_type(pserr rc);

/*
 * The code of protocol.md section 6 named code (n bytes, not
 * NUL-terminated), for a proxy that maps a peer's plain error onto its
 * own: one of the section 6 codes a proxy may send, or PS_OK when code
 * is none of them ("internal_error", "ok", the attestation service's
 * codes and anything unknown give PS_OK).
 */
pserr pserr_from_code(const char *code, size_t n);

/*
 * Append the error body {"error":{"message":"...","type":"...","code":"..."}}
 * (no trailing newline) with the three strings, escaped as JSON strings
 * ('/' is not escaped), to out: the one writer of that body, for
 * pserr_json() and for the attestation service's own codes.  The caller
 * passes no request data in them.  On failure out is left as it was.
 */
pserr pserr_json_body(struct buf *out, const char *type, const char *code,
    const char *message) PS_WARN_UNUSED;

/*
 * Write a reason for a log line to why (whylen bytes, always NUL
 * terminated, cut when longer).  Does nothing when why is NULL or whylen
 * is 0.  The reason names no secret and no request content.
 */
void pserr_why(char *why, size_t whylen, const char *fmt, ...) PS_PRINTF(3, 4);

#endif
