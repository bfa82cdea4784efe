/* SPDX-License-Identifier: ISC */
/*
 * asclient_parse: the AS's replies (docs/as-api.md) read into their
 * parts, apart from the transport so that tests and the fuzz target can
 * reach them.  A reply is strict JSON (RFC 8259 as seal/jscan.h reads
 * it): one object, whitespace around it only, at most
 * ASCLIENT_PARSE_DEPTH levels.  Every function takes the reply's bytes (s, len; s need not
 * end in NUL) and returns PS_OK, or PS_ERR_BAD_UPSTREAM when the reply
 * is not what it should be; on failure its outputs are unchanged.
 */
#ifndef PROMPTSEAL_ASCLIENT_PARSE_H
#define PROMPTSEAL_ASCLIENT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "attest/aspolicy.h"
#include "core/buf.h"
#include "core/pserr.h"

#define ASCLIENT_PARSE_DEPTH 16
#define ASCLIENT_FORMAT_MAX  31   /* an evidence format's name */

/* An upload's reply: {"expires": N, ...}. */
pserr asclient_parse_upload(const char *s, size_t len, int64_t *expires)
    PS_WARN_UNUSED;

/* A challenge: {"challenge": base64url of 32 bytes, "expires": N}. */
pserr asclient_parse_challenge(const char *s, size_t len,
    uint8_t challenge[32], int64_t *expires) PS_WARN_UNUSED;

/*
 * The AS's attestation: {"format": 1 to ASCLIENT_FORMAT_MAX bytes,
 * "pubkey": base64url of 32 bytes, "evidence": base64url of at most
 * PS_CAP_EVIDENCE bytes, "policy": {"platform_keys": [hex keys],
 * "worker_measurements": [measurements], "peer_measurements":
 * [measurements]}} (at most 256 of each).  format
 * gets the name NUL-terminated, ev the evidence (replacing its content),
 * asp (initialised; whatever it held is freed) the policy.
 */
pserr asclient_parse_attest(const char *s, size_t len,
    char format[ASCLIENT_FORMAT_MAX + 1], uint8_t pub[32], struct buf *ev,
    struct aspolicy *asp) PS_WARN_UNUSED;

/* A fetch's reply: {"keys": base64url of at most max bytes},
 * decoded and appended to out. */
pserr asclient_parse_keys(const char *s, size_t len, size_t max,
    struct buf *out) PS_WARN_UNUSED;

/*
 * A join's reply: the wrapped storage key as asclient_parse_keys, and
 * the peer's evidence ("format" and "evidence" as in an attestation):
 * format gets the name NUL-terminated, ev the evidence (replacing its
 * content).
 */
pserr asclient_parse_join(const char *s, size_t len, size_t max,
    struct buf *out, char format[ASCLIENT_FORMAT_MAX + 1], struct buf *ev)
    PS_WARN_UNUSED;

/*
 * An error reply's words for a log line: " <code>: <message>" of
 * {"error": {"code": ..., "message": ...}} (either may be missing),
 * appended to the NUL-terminated text out of outlen bytes, cut to fit,
 * every byte outside printable ASCII written as '?' (the text comes from
 * the peer).  Nothing is appended when the reply is not such an object.
 */
void asclient_parse_error(const char *s, size_t len, char *out,
    size_t outlen);

#endif
