/* SPDX-License-Identifier: ISC */
/*
 * aspolicy: what an attestation service (AS) trusts, and what a user
 * accepts of it (protocol.md section 8, docs/attestation.md).
 *
 * The AS enforces a policy: the platform keys whose evidence it accepts,
 * the worker measurements it releases secrets to, and the AS builds it
 * lets join it (which get the storage key, so every secret).  Its
 * canonical serialisation, whose SHA-256 is the policy digest, is the
 * text
 *
 *     "promptseal as policy v2\n"
 *     "platform sim <64 lowercase hex>\n"   one per key, sorted, no repeats
 *     "worker <lowercase hex>\n"            one per measurement, sorted,
 *                                           no repeats
 *     "peer <lowercase hex>\n"              one per AS measurement that
 *                                           may join, sorted, no repeats
 *
 * The AS's own evidence binds its X25519 key, the client's challenge and
 * this digest:
 *
 *     report_data = SHA-512("promptseal as v1" || challenge (32) ||
 *                           as_pub (32) || policy digest (32))
 *
 * A joining instance's evidence binds the same with its ephemeral key
 * under a label of its own (so that neither passes for the other), and
 * the evidence the peer answers a join with binds what it gave:
 *
 *     report_data = SHA-512("promptseal as join request v1" ||
 *                           challenge (32) || joiner_pub (32) ||
 *                           policy digest (32))
 *     report_data = SHA-512("promptseal as join reply v1" ||
 *                           challenge (32) || joiner_pub (32) ||
 *                           SHA-256(wrapped) (32) || policy digest (32))
 *
 * The user's trust policy file (--as-policy) lists, one per line, with
 * blank lines and '#' comments skipped:
 *
 *     as-measurement <hex>          an AS build the user accepts
 *     platform-key sim <64 hex>     a platform whose evidence it accepts
 *                                   (AS and workers alike)
 *     worker-measurement <hex>      a worker build it accepts
 *
 * An AS policy is accepted when every platform key and every worker
 * measurement in it is in the user's policy, and every AS build that may
 * join it is an as-measurement of the user's.
 */
#ifndef PROMPTSEAL_ASPOLICY_H
#define PROMPTSEAL_ASPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/buf.h"
#include "core/pserr.h"

#define ASPOLICY_DIGEST_LEN 32
#define ASPOLICY_MAX_KEYS 64

struct aspolicy {
	uint8_t (*keys)[ATTEST_SIM_KEY_LEN];   /* platform keys (sim) */
	size_t nkeys;
	struct attest_allowlist workers;       /* worker measurements */
	struct attest_allowlist peers;         /* AS builds that may join */
	struct attest_allowlist as;            /* AS measurements (users) */
};

/* Zero p.  Free it with aspolicy_free(). */
void aspolicy_init(struct aspolicy *p);
void aspolicy_free(struct aspolicy *p);

/* Add a platform key (repeats are kept once).  PS_ERR_TOO_LARGE past
 * ASPOLICY_MAX_KEYS. */
pserr aspolicy_add_key(struct aspolicy *p,
    const uint8_t key[ATTEST_SIM_KEY_LEN]) PS_WARN_UNUSED;

/* Append the canonical serialisation of p's keys, workers and peers to
 * out. */
pserr aspolicy_serialise(const struct aspolicy *p, struct buf *out)
    PS_WARN_UNUSED;

/* SHA-256 of the canonical serialisation. */
pserr aspolicy_digest(const struct aspolicy *p,
    uint8_t out[ASPOLICY_DIGEST_LEN]) PS_WARN_UNUSED;

/* The report data of an AS's evidence (above). */
pserr aspolicy_report_data(const uint8_t challenge[32],
    const uint8_t as_pub[32], const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN]) PS_WARN_UNUSED;

/* The report data of a joining instance's evidence (above). */
pserr aspolicy_join_request_report_data(const uint8_t challenge[32],
    const uint8_t joiner_pub[32], const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN]) PS_WARN_UNUSED;

/* The report data of the evidence a peer answers a join with (above);
 * wrapped is the storage key as wrapped to joiner_pub, n bytes. */
pserr aspolicy_join_report_data(const uint8_t challenge[32],
    const uint8_t joiner_pub[32], const uint8_t *wrapped, size_t n,
    const uint8_t digest[ASPOLICY_DIGEST_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN]) PS_WARN_UNUSED;

/*
 * 1 when the user's policy accepts the AS's policy as (every key and
 * worker measurement of as is in user, every peer of as in user's AS
 * measurements), else 0 with the first one that is not named in why.
 */
int aspolicy_accepts(const struct aspolicy *user, const struct aspolicy *as,
    char *why, size_t whylen);

/*
 * Load a user's trust policy file (above) into p.  PS_ERR_CORRUPT with
 * the line in why for a bad line or a policy without any AS measurement,
 * platform key or worker measurement; PS_ERR_IO / PS_ERR_NOT_FOUND when it
 * cannot be read.
 */
pserr aspolicy_load(const char *path, struct aspolicy *p, char *why,
    size_t whylen) PS_WARN_UNUSED;

/*
 * What both sides of an upload bind (docs/as-api.md): the secret is sealed
 * with HPKE to the attested AS key with this info, and the kid and the
 * expiry (Unix seconds, 8 bytes, big-endian) as associated data, so that a
 * sealed secret cannot be moved to another kid or life, nor brought back
 * by a replay once it has expired.
 */
#define ASPOLICY_UPLOAD_INFO "promptseal as upload v1"
#define ASPOLICY_UPLOAD_AAD_LEN 24
void aspolicy_upload_aad(const uint8_t kid[16], int64_t expires,
    uint8_t out[ASPOLICY_UPLOAD_AAD_LEN]);

#endif
