/* SPDX-License-Identifier: ISC */
/*
 * wrap: seal data to the holder of an X25519 private key, so that it can be
 * read by nobody else, even on a wire without TLS.  The attestation service
 * uses it to hand secrets to a worker's ephemeral public key.
 *
 * The sender makes a fresh ephemeral X25519 key pair for every wrap:
 *
 *     shared   = X25519(eph_priv, recipient_pub)      (all-zero refused)
 *     okm      = HKDF-SHA256(ikm  = shared,
 *                            salt = "promptseal wrap v1",
 *                            info = "promptseal wrap v1" || eph_pub ||
 *                                   recipient_pub,
 *                            L    = 44)
 *     key, iv  = okm[0..32), okm[32..44)
 *     blob     = "psw1" || eph_pub(32) || AES-256-GCM(key, iv, aad, pt) || tag(16)
 *
 * where aad is the caller's context (the AS binds its challenge there) and
 * the quoted strings are their ASCII bytes without a terminator.  The IV
 * comes from the KDF: each key encrypts exactly one message, because the
 * ephemeral key is never reused.
 */
#ifndef PROMPTSEAL_WRAP_H
#define PROMPTSEAL_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"

#define WRAP_KEY_LEN 32               /* X25519 public and private keys */
#define WRAP_MAGIC "psw1"
#define WRAP_MAGIC_LEN 4
#define WRAP_TAG_LEN 16
#define WRAP_OVERHEAD (WRAP_MAGIC_LEN + WRAP_KEY_LEN + WRAP_TAG_LEN)

/* Make an X25519 key pair.  priv is secret: wipe it after use. */
pserr wrap_keypair(uint8_t priv[WRAP_KEY_LEN], uint8_t pub[WRAP_KEY_LEN])
    PS_WARN_UNUSED;

/* The public key of priv. */
pserr wrap_public(const uint8_t priv[WRAP_KEY_LEN], uint8_t pub[WRAP_KEY_LEN])
    PS_WARN_UNUSED;

/*
 * Wrap pt_len bytes of pt to recipient_pub under the context aad (aad may
 * be NULL when aad_len is 0) and append the blob, pt_len + WRAP_OVERHEAD
 * bytes, to out.  On failure out is left as it was.  PS_ERR_CRYPTO for a
 * public key that yields an all-zero shared secret.
 */
pserr wrap_seal(const uint8_t recipient_pub[WRAP_KEY_LEN], const void *aad,
    size_t aad_len, const void *pt, size_t pt_len, struct buf *out)
    PS_WARN_UNUSED;

/*
 * Open the blob (n bytes) with the recipient's private key under aad and
 * append the plaintext to out.  PS_ERR_DECRYPT for every failure of the
 * blob itself (too short, wrong magic, bad key, authentication failed);
 * PS_ERR_TOO_LARGE when the plaintext does not fit in out.  On failure out
 * holds exactly what it held before: no plaintext is released.
 */
pserr wrap_open(const uint8_t priv[WRAP_KEY_LEN], const void *aad,
    size_t aad_len, const void *blob, size_t n, struct buf *out)
    PS_WARN_UNUSED;

#endif
