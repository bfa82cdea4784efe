/* SPDX-License-Identifier: ISC */
/*
 * askey: the storage key of the attestation service, the key the store
 * seals every secret under (as/asstore.h).  It exists only inside attested
 * AS instances: the first instance makes it, later ones get it from a
 * running one (POST /v1/join, wrapped to their attested key), and across
 * a restart it is kept sealed to the platform, never in the clear.
 *
 * Sealed to the "sim" platform (THE SIM PLATFORM PROVES NOTHING ABOUT
 * HARDWARE): the sealing key is
 *
 *     HKDF-SHA256(ikm  = the sim platform's private key,
 *                 salt = "promptseal sim seal v1",
 *                 info = AS measurement || policy digest, L = 32)
 *
 * so only an AS that claims the same measurement and enforces the same
 * policy on the same sim platform opens it; whoever holds the sim
 * platform key file can too.  On SEV-SNP the same role is played by a
 * key from MSG_KEY_REQ (bound to the measurement and the policy digest in
 * HOST_DATA), on TDX by a key released to the TD's measurement.  The file
 * is "psk1" || nonce (12) || AES-256-GCM(storage key) (32) || tag (16).
 */
#ifndef PROMPTSEAL_ASKEY_H
#define PROMPTSEAL_ASKEY_H

#include <stddef.h>
#include <stdint.h>

#include "as/asstore.h"
#include "attest/aspolicy.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/pserr.h"

#define ASKEY_FILE_LEN (4 + 12 + ASSTORE_KEY_LEN + 16)

/* The sim sealing key (above) into out (secret: wipe it). */
pserr askey_sim_sealing_key(const uint8_t platform_priv[ATTEST_SIM_KEY_LEN],
    const struct attest_measurement *m,
    const uint8_t digest[ASPOLICY_DIGEST_LEN], uint8_t out[32])
    PS_WARN_UNUSED;

/* Seal key under sk into path (mode 0600, replaced atomically). */
pserr askey_seal_file(const char *path, const uint8_t sk[32],
    const uint8_t key[ASSTORE_KEY_LEN], char *why, size_t whylen)
    PS_WARN_UNUSED;

/*
 * Open the sealed file path with sk into key.  PS_ERR_NOT_FOUND when
 * there is no file, PS_ERR_DECRYPT when it does not open (another
 * platform, measurement or policy), PS_ERR_PERM / PS_ERR_IO / PS_ERR_CORRUPT
 * as privfile_read() and for a file of another length.
 */
pserr askey_unseal_file(const char *path, const uint8_t sk[32],
    uint8_t key[ASSTORE_KEY_LEN], char *why, size_t whylen) PS_WARN_UNUSED;

/* A key derived from the storage key for one purpose (label), so that
 * all instances that share it agree: e.g. the challenges' MAC key. */
pserr askey_derive(const uint8_t key[ASSTORE_KEY_LEN], const char *label,
    uint8_t out[32]) PS_WARN_UNUSED;

#endif
