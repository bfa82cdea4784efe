/* SPDX-License-Identifier: ISC */
/*
 * asclient: the client side of the attestation service's HTTP API
 * (docs/as-api.md), over libcurl.  The client proxy uploads its secret
 * with it; the worker's polling helper (promptseal-keysync) attests and
 * fetches with it.
 *
 * The AS is reached over HTTPS only, verified against a CA file or a
 * pinned public key (or the system's CAs when neither is given); redirects
 * are not followed; every reply is capped and every call has a timeout.
 * One handle serves one thread at a time and keeps its connection alive
 * between calls.
 */
#ifndef PROMPTSEAL_ASCLIENT_H
#define PROMPTSEAL_ASCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "attest/aspolicy.h"
#include "attest/attest.h"
#include "core/buf.h"
#include "core/pserr.h"
#include "keys/keyfile.h"

struct asclient_opts {
	const char *url;          /* the API's base: "https://as.example/as" */
	const char *ca_file;      /* PEM CA bundle to verify the AS, or NULL */
	const char *pin;          /* CURLOPT_PINNEDPUBLICKEY value
	                           * ("sha256//<base64>" or a key file), or NULL */
	long connect_timeout_ms;  /* 0: 5000 */
	long timeout_ms;          /* whole call; 0: 15000 */
	const char *unix_socket;  /* talk HTTP over this socket, or NULL */
	int allow_http;           /* accept an http:// url (tests only: the
	                           * AS would not be authenticated) */
	const struct aspolicy *policy;  /* the user's trust policy: uploads
	                           * go only to an AS it accepts; NULL: no
	                           * upload at all.  Must outlive the handle. */
	const char *policy_file;  /* or the file to read it from at every
	                           * upload (aspolicy_load()), so that a
	                           * change counts from the next rotation */
};

struct asclient;

/* Call once from main() before any thread starts (curl_global_init). */
pserr asclient_global_init(void) PS_WARN_UNUSED;

/*
 * A handle for o (the strings are copied).  PS_ERR_ARG for a url that is
 * not https:// (or http:// with allow_http), PS_ERR_NOMEM.
 */
pserr asclient_new(const struct asclient_opts *o, struct asclient **out)
    PS_WARN_UNUSED;

/* c may be NULL. */
void asclient_free(struct asclient *c);

/*
 * Why the last call failed, for a log line: the transport error, or the
 * HTTP status with the AS's error code and message.  Never holds a secret
 * or a token.  "" after a success.
 */
const char *asclient_error(const struct asclient *c);

/*
 * Challenge the AS (POST <url>/v1/attest) with 32 fresh random bytes and
 * verify its evidence against the user's policy: a platform key of the
 * policy signed it, it reports an AS measurement of the policy, it binds
 * this challenge, the AS's X25519 key and the digest of the policy the AS
 * reports, and that policy is one the user's accepts
 * (aspolicy_accepts()).  PS_OK with the AS's key in as_pub; PS_ERR_AUTH
 * when anything is refused (the reason in asclient_error()); other codes
 * as asclient_upload.
 */
pserr asclient_attest(struct asclient *c, const struct aspolicy *user,
    uint8_t as_pub[32]) PS_WARN_UNUSED;

/*
 * Upload a secret (POST <url>/v1/secrets) that expires at until (Unix
 * seconds) with bearer token, after asclient_attest() with the handle's
 * policy: the secret travels only sealed (HPKE, attest/hpke.h), bound to
 * its kid and expiry, to the key of an AS the user's policy accepts;
 * nothing is sent when the AS is refused.  Returns
 *   PS_OK             stored; *expires (may be NULL) gets the AS's expiry
 *                     (until, or earlier within the AS's --max-ttl)
 *   PS_ERR_EXISTS     409: the kid exists at the AS
 *   PS_ERR_AUTH       401: the token was refused
 *   PS_ERR_BAD_REQUEST  400 or 415: the AS refused the request
 *   PS_ERR_ARG        a token that cannot go into a header
 *   PS_ERR_UPSTREAM   no connection, TLS verification failed, or 5xx
 *   PS_ERR_TIMEOUT    no answer in time
 *   PS_ERR_BAD_UPSTREAM  any other status, or a reply that does not parse
 */
pserr asclient_upload(struct asclient *c, const char *token,
    const uint8_t kid[16], const uint8_t secret[32], int64_t until,
    int64_t *expires) PS_WARN_UNUSED;

/* Get a challenge (POST <url>/v1/challenge); codes as asclient_upload. */
pserr asclient_challenge(struct asclient *c, uint8_t challenge[32],
    int64_t *expires) PS_WARN_UNUSED;

/*
 * Send evidence (POST <url>/v1/fetch) and append the wrapped blob to
 * wrapped.  PS_ERR_AUTH when the AS refused the evidence (403); other
 * codes as asclient_upload.
 */
pserr asclient_fetch(struct asclient *c, const uint8_t challenge[32],
    const char *format, const uint8_t *evidence, size_t n,
    const uint8_t pubkey[32], struct buf *wrapped) PS_WARN_UNUSED;

/*
 * The whole exchange of a worker: a challenge, a fresh X25519 key pair,
 * evidence from p binding both, the fetch, and the unwrap.  On success
 * *keys (free with keyfile_entries_free; NULL when *n is 0) holds the
 * unexpired secrets the AS released.  PS_ERR_BAD_UPSTREAM when the
 * wrapped reply does not open; other codes as the calls above.
 */
pserr asclient_fetch_keys(struct asclient *c, const struct attest_producer *p,
    struct keycache_entry **keys, size_t *n) PS_WARN_UNUSED;

/*
 * Join a running AS instance (POST <url>/v1/join): a challenge, a fresh
 * X25519 key pair, evidence from p binding both and the policy digest of
 * this instance, and the storage key the peer wraps to that key, into
 * key.  The key is taken only when the evidence the peer answers with
 * comes from a platform key of self, reports an AS build of self's peers,
 * and binds the challenge, the key pair, the wrapped key and digest.
 * PS_ERR_AUTH when the peer refused or is refused (the reason in
 * asclient_error()); PS_ERR_BAD_UPSTREAM when its reply does not parse or
 * open; other codes as asclient_upload.
 */
pserr asclient_join(struct asclient *c, const struct attest_producer *p,
    const struct aspolicy *self, const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t key[32]) PS_WARN_UNUSED;

#endif
