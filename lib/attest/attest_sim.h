/* SPDX-License-Identifier: ISC */
/*
 * attest_sim: the "sim" evidence format, a software platform.
 *
 * THE SIM PLATFORM PROVES NOTHING ABOUT HARDWARE.  Its platform key is an
 * ordinary Ed25519 key in a file: whoever can read that file can sign any
 * measurement for any report data.  It exists so that the whole key
 * exchange (challenge, evidence, allowlist, wrapping) runs and is tested
 * on machines without confidential-computing hardware.  See
 * docs/attestation.md.
 *
 * A sim report, all integers big-endian:
 *
 *     off  len  field
 *       0    4  magic "PSIM"
 *       4    1  version, 1
 *       5    1  mlen, the measurement length, 32..48
 *       6    2  reserved, 0
 *       8   32  platform public key (Ed25519)
 *      40   64  report data
 *     104 mlen  measurement
 *       .   64  Ed25519 signature by the platform key over bytes 0..104+mlen
 *
 * The measurement of a set of files ("promptseal-sim measure") is
 * SHA-384 over, for each file in the order given, its length as 8 bytes
 * big-endian followed by its content.
 */
#ifndef PROMPTSEAL_ATTEST_SIM_H
#define PROMPTSEAL_ATTEST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "core/buf.h"
#include "core/pserr.h"

#define ATTEST_SIM_FORMAT "sim"
#define ATTEST_SIM_KEY_LEN 32
#define ATTEST_SIM_SIG_LEN 64
#define ATTEST_SIM_HDR_LEN 104
#define ATTEST_SIM_MEASURE_LEN 48     /* SHA-384 */

/*
 * Make a platform key pair and write it as PEM: the private key (PKCS#8)
 * to privpath with mode 0600, the public key (SubjectPublicKeyInfo) to
 * pubpath with mode 0644.  Neither file may exist (PS_ERR_EXISTS).
 * "openssl genpkey -algorithm ed25519" makes keys that load just as well.
 */
pserr attest_sim_keygen(const char *privpath, const char *pubpath)
    PS_WARN_UNUSED;

/* Load a PEM Ed25519 public key.  PS_ERR_CORRUPT when it is not one. */
pserr attest_sim_load_public(const char *path,
    uint8_t pub[ATTEST_SIM_KEY_LEN], char *why, size_t whylen)
    PS_WARN_UNUSED;

/* Load a PEM Ed25519 private key from a file that passes privfile's rule
 * (mode 0600, our own).  priv is secret: wipe it after use. */
pserr attest_sim_load_private(const char *path,
    uint8_t priv[ATTEST_SIM_KEY_LEN], char *why, size_t whylen)
    PS_WARN_UNUSED;

/* The measurement of the n files in paths (see above).  PS_ERR_IO when a
 * file cannot be read. */
pserr attest_sim_measure_files(const char *const *paths, size_t n,
    struct attest_measurement *m) PS_WARN_UNUSED;

/* Append a report of m and report_data signed with priv to out. */
pserr attest_sim_report(const uint8_t priv[ATTEST_SIM_KEY_LEN],
    const struct attest_measurement *m,
    const uint8_t report_data[ATTEST_REPORT_DATA_LEN], struct buf *out)
    PS_WARN_UNUSED;

/* A verifier that trusts the n platform public keys in keys (copied). */
pserr attest_sim_verifier_new(const uint8_t (*keys)[ATTEST_SIM_KEY_LEN],
    size_t n, struct attest_verifier **out) PS_WARN_UNUSED;

/* A producer that signs reports of m with priv (both copied; the copy of
 * priv is wiped when the producer is freed). */
pserr attest_sim_producer_new(const uint8_t priv[ATTEST_SIM_KEY_LEN],
    const struct attest_measurement *m, struct attest_producer **out)
    PS_WARN_UNUSED;

/*
 * The worker side's whole set-up: the private key from path (as
 * attest_sim_load_private(), the reason in why) and a producer of m with
 * it.  The key is wiped here; only the producer holds a copy.
 */
pserr attest_sim_producer_load(const char *path,
    const struct attest_measurement *m, struct attest_producer **out,
    char *why, size_t whylen) PS_WARN_UNUSED;

#endif
