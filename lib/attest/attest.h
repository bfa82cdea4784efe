/* SPDX-License-Identifier: ISC */
/*
 * attest: attestation evidence, as the attestation service (AS) checks it
 * and as a worker's polling helper produces it (protocol.md section 8).
 *
 * Evidence is a report signed by a platform.  Whatever the platform, the
 * report carries 64 bytes of report data chosen by the worker, and the AS
 * requires them to be
 *
 *     report_data = SHA-512(challenge || pubkey)
 *
 * where challenge is the single-use challenge the AS issued and pubkey the
 * worker's ephemeral X25519 public key.  So the evidence is fresh, and the
 * secrets the AS wraps to pubkey can only be opened inside the platform
 * that signed the report.  A backend (one evidence format) implements
 * struct attest_verifier on the AS side and struct attest_producer on the
 * worker side; the measurement allowlist is common to all of them.
 */
#ifndef PROMPTSEAL_ATTEST_H
#define PROMPTSEAL_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"

#define ATTEST_REPORT_DATA_LEN 64
#define ATTEST_PUBKEY_LEN 32          /* the worker's X25519 key */
#define ATTEST_MEASUREMENT_MIN 32
#define ATTEST_MEASUREMENT_MAX 48

/* Why evidence was refused: for the log and the AS's error message. */
enum attest_fail {
	ATTEST_FAIL_NONE = 0,
	ATTEST_FAIL_FORMAT,             /* no verifier for this format */
	ATTEST_FAIL_MALFORMED,          /* not a report of this format */
	ATTEST_FAIL_UNTRUSTED_PLATFORM, /* signed by a key the AS does not trust */
	ATTEST_FAIL_SIGNATURE,          /* signature missing or wrong */
	ATTEST_FAIL_REPORT_DATA,        /* for another challenge or public key */
	ATTEST_FAIL_MEASUREMENT,        /* measurement not in the allowlist */
	ATTEST_FAIL_CHALLENGE_UNKNOWN,  /* challenge never issued or already used */
	ATTEST_FAIL_CHALLENGE_EXPIRED,  /* challenge issued too long ago */
};

/* A sentence for f; never NULL. */
const char *attest_fail_str(enum attest_fail f);

struct attest_measurement {
	size_t len;                        /* ATTEST_MEASUREMENT_MIN..MAX */
	uint8_t b[ATTEST_MEASUREMENT_MAX];
};

/*
 * One evidence format, AS side.  verify() checks that the evidence (n
 * bytes) is a well-formed report signed by a platform this verifier
 * trusts and that it carries report_data; on success it stores the
 * reported measurement in *m.  On refusal it returns PS_ERR_AUTH and sets
 * *why; other codes are local failures.  verify() must be safe to call
 * from several threads at once.
 */
struct attest_verifier {
	const char *format;                /* "sim", ... */
	pserr (*verify)(const struct attest_verifier *v, const uint8_t *ev,
	    size_t n, const uint8_t report_data[ATTEST_REPORT_DATA_LEN],
	    struct attest_measurement *m, enum attest_fail *why);
	void (*destroy)(struct attest_verifier *v);  /* frees v */
	void *state;
};

/*
 * One evidence format, worker side.  produce() appends to evidence a
 * report of this platform carrying report_data.
 */
struct attest_producer {
	const char *format;
	pserr (*produce)(const struct attest_producer *p,
	    const uint8_t report_data[ATTEST_REPORT_DATA_LEN],
	    struct buf *evidence);
	void (*destroy)(struct attest_producer *p);  /* frees p */
	void *state;
};

/* Free v or p through its destroy function; NULL is allowed. */
void attest_verifier_free(struct attest_verifier *v);
void attest_producer_free(struct attest_producer *p);

/* report_data = SHA-512(challenge || pubkey). */
pserr attest_report_data(const uint8_t *challenge, size_t clen,
    const uint8_t pubkey[ATTEST_PUBKEY_LEN],
    uint8_t out[ATTEST_REPORT_DATA_LEN]) PS_WARN_UNUSED;

/* Parse n hex characters (either case) of a measurement of 32 to 48
 * bytes.  PS_ERR_CORRUPT for anything else. */
pserr attest_measurement_parse(const char *hex, size_t n,
    struct attest_measurement *m) PS_WARN_UNUSED;

/* Lowercase hex of m into out (2 * ATTEST_MEASUREMENT_MAX + 1 bytes), with
 * a NUL. */
void attest_measurement_hex(const struct attest_measurement *m, char *out);

/* The measurements the AS accepts.  Zero-initialise before use. */
struct attest_allowlist {
	struct attest_measurement *m;
	size_t n;
};

pserr attest_allowlist_add(struct attest_allowlist *al,
    const struct attest_measurement *m) PS_WARN_UNUSED;

/*
 * Add the measurements of a file: one hex measurement per line; blank
 * lines and lines starting with '#' are skipped.  PS_ERR_CORRUPT with the
 * line number in why for a bad line (nothing is added then), PS_ERR_IO or
 * PS_ERR_NOT_FOUND when the file cannot be read.
 */
pserr attest_allowlist_load(struct attest_allowlist *al, const char *path,
    char *why, size_t whylen) PS_WARN_UNUSED;

/* 1 when m is in the list, else 0. */
int attest_allowlist_has(const struct attest_allowlist *al,
    const struct attest_measurement *m);

void attest_allowlist_free(struct attest_allowlist *al);

/*
 * The whole check the AS makes: pick the verifier for format among the nv
 * in vs, have it verify the evidence against the report data of challenge
 * (clen bytes) and pubkey, and require the measurement to be in al.
 * PS_OK with the measurement in *m (m may be NULL), PS_ERR_AUTH with *why
 * set when the evidence is refused, another code for a local failure.
 */
pserr attest_check(const struct attest_verifier *const *vs, size_t nv,
    const struct attest_allowlist *al, const char *format, const uint8_t *ev,
    size_t n, const uint8_t *challenge, size_t clen,
    const uint8_t pubkey[ATTEST_PUBKEY_LEN], struct attest_measurement *m,
    enum attest_fail *why) PS_WARN_UNUSED;

/* attest_check() with the report data rd given: the AS's own evidence
 * binds more than a challenge and a key (attest/aspolicy.h). */
pserr attest_check_rd(const struct attest_verifier *const *vs, size_t nv,
    const struct attest_allowlist *al, const char *format, const uint8_t *ev,
    size_t n, const uint8_t rd[ATTEST_REPORT_DATA_LEN],
    struct attest_measurement *m, enum attest_fail *why) PS_WARN_UNUSED;

#endif
