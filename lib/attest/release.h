/* SPDX-License-Identifier: ISC */
/*
 * release: what the attestation service releases to an attested worker
 * (docs/as-api.md), the one format both sides of a fetch share.
 *
 * The AS answers a fetch with the secrets it holds, as a sequence of
 * records ordered by kid, one per secret, all integers big-endian:
 *
 *     kid (16) | secret (32) | expires (8, signed Unix seconds)
 *
 * wrapped (wrap.h) to the worker's ephemeral public key with the 32 bytes
 * of the challenge the evidence answered as the context.  The AS server
 * seals, the worker's polling helper opens; neither needs the other's code.
 */
#ifndef PROMPTSEAL_RELEASE_H
#define PROMPTSEAL_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "attest/wrap.h"
#include "core/buf.h"
#include "core/pserr.h"
#include "keys/keyfile.h"

#define RELEASE_CHALLENGE_LEN 32
#define RELEASE_RECORD_LEN 56

/*
 * Append the records of the n secrets in k to out.  On failure out is
 * left as it was (and what was appended is wiped).
 */
pserr release_encode(const struct keycache_entry *k, size_t n,
    struct buf *out) PS_WARN_UNUSED;

/*
 * Parse len bytes of records into a new array ordered by kid (free it
 * with keyfile_entries_free; NULL when *n is 0).  PS_ERR_CORRUPT when len
 * is not a multiple of the record length or a kid repeats; *k and *n are
 * set only on success.
 */
pserr release_decode(const uint8_t *p, size_t len, struct keycache_entry **k,
    size_t *n) PS_WARN_UNUSED;

/*
 * The AS's side: the records of the n secrets in k, wrapped to pub under
 * challenge, appended to blob.  PS_ERR_CRYPTO when pub is not a usable
 * X25519 public key; on failure blob is left as it was.
 */
pserr release_seal(const uint8_t pub[WRAP_KEY_LEN],
    const uint8_t challenge[RELEASE_CHALLENGE_LEN],
    const struct keycache_entry *k, size_t n, struct buf *blob)
    PS_WARN_UNUSED;

/*
 * The worker's side: open the blob (len bytes) with priv under challenge
 * and parse its records as release_decode() does.  PS_ERR_DECRYPT when the
 * blob does not open, PS_ERR_CORRUPT when its records do not parse; no
 * plaintext is left anywhere on failure.
 */
pserr release_open(const uint8_t priv[WRAP_KEY_LEN],
    const uint8_t challenge[RELEASE_CHALLENGE_LEN], const void *blob,
    size_t len, struct keycache_entry **k, size_t *n) PS_WARN_UNUSED;

#endif
