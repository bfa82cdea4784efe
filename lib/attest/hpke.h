/* SPDX-License-Identifier: ISC */
/*
 * hpke: Hybrid Public Key Encryption (RFC 9180), base mode, single shot,
 * on OpenSSL 3.0's EVP (OpenSSL has an HPKE API only from 3.2).
 *
 * The suite is named by its RFC 9180 identifiers:
 *
 *     KEM  0x0020  DHKEM(X25519, HKDF-SHA256)
 *     KDF  0x0001  HKDF-SHA256
 *     AEAD 0x0002  AES-256-GCM      (what promptseal uses)
 *     AEAD 0x0001  AES-128-GCM      (only so that RFC 9180 appendix A.1,
 *                                    the published X25519 vector, checks
 *                                    this code; RFC 9180 publishes no
 *                                    X25519 vector with AES-256-GCM)
 *
 * A caller names the suite it means; a hybrid post-quantum KEM
 * (ML-KEM-768 + X25519) becomes another KEM identifier here once the
 * platform's OpenSSL offers ML-KEM, and the wire formats that carry a
 * suite (docs/as-api.md) take it unchanged.
 *
 * Single shot: one message per encapsulation (sequence number 0), which is
 * all promptseal needs (a client seals one secret to the AS's key).
 */
#ifndef PROMPTSEAL_HPKE_H
#define PROMPTSEAL_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"

#define HPKE_KEM_X25519_SHA256 0x0020
#define HPKE_KDF_HKDF_SHA256 0x0001
#define HPKE_AEAD_AES128GCM 0x0001
#define HPKE_AEAD_AES256GCM 0x0002

#define HPKE_KEY_LEN 32        /* X25519 private and public keys, enc */
#define HPKE_ENC_LEN 32
#define HPKE_TAG_LEN 16

struct hpke_suite {
	uint16_t kem, kdf, aead;
};

/* The suite promptseal uses: 0x0020, 0x0001, 0x0002. */
extern const struct hpke_suite hpke_suite_default;

/* 1 when this code implements s, else 0. */
int hpke_suite_supported(const struct hpke_suite *s);

/*
 * DeriveKeyPair(ikm) of the KEM (RFC 9180 section 7.1.3): the private key
 * sk (secret: wipe it) and its public key pk from ikm (at least 32 bytes).
 */
pserr hpke_derive_keypair(const struct hpke_suite *s, const uint8_t *ikm,
    size_t ikm_len, uint8_t sk[HPKE_KEY_LEN], uint8_t pk[HPKE_KEY_LEN])
    PS_WARN_UNUSED;

/*
 * SealBase: encapsulate to pkR with a fresh ephemeral key, then seal pt
 * (pt_len bytes) with info and aad (either may be NULL when its length is
 * 0).  Writes the encapsulated key to enc and appends pt_len +
 * HPKE_TAG_LEN bytes of ciphertext to ct.  PS_ERR_CRYPTO for a pkR that
 * gives an all-zero shared secret; on failure ct is left as it was.
 */
pserr hpke_seal(const struct hpke_suite *s, const uint8_t pkR[HPKE_KEY_LEN],
    const void *info, size_t info_len, const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, uint8_t enc[HPKE_ENC_LEN], struct buf *ct)
    PS_WARN_UNUSED;

/*
 * OpenBase: open ct (ct_len bytes) with skR, the encapsulated key enc, info
 * and aad, and append the plaintext to pt.  PS_ERR_DECRYPT for every
 * failure of the message (too short, bad enc, authentication failed),
 * PS_ERR_TOO_LARGE when it does not fit in pt.  On failure pt holds what
 * it held before: no plaintext is released.
 */
pserr hpke_open(const struct hpke_suite *s, const uint8_t skR[HPKE_KEY_LEN],
    const uint8_t enc[HPKE_ENC_LEN], const void *info, size_t info_len,
    const void *aad, size_t aad_len, const void *ct, size_t ct_len,
    struct buf *pt) PS_WARN_UNUSED;

#endif
