/* SPDX-License-Identifier: ISC */
/*
 * replay: the worker's record of the requests it accepted (protocol.md
 * section 4), shared by every worker process of a node.
 *
 * A fixed-size table in a file that the first process creates (mode
 * 0600) and every process maps (MAP_SHARED).  Each slot holds a keyed
 * hash of (kid, nonce) and the Unix time the record expires; an expired
 * slot is free.  Slots are grouped in buckets that a hash picks; a record
 * goes into the first free slot of a few buckets from there, and when all
 * of them are live the table is full and fails closed.  The hash key is
 * random per table, so nobody can aim requests at one bucket.
 *
 * Operations take a process-local mutex (threads share one descriptor)
 * and flock() on the file (processes), which the kernel drops when a
 * process dies: a crashed worker never leaves the table locked.
 */
#ifndef PROMPTSEAL_REPLAY_H
#define PROMPTSEAL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/pserr.h"
#include "seal/envelope.h"

#define REPLAY_SLOTS_DEFAULT ((size_t)1 << 20)
#define REPLAY_SLOTS_MIN ((size_t)64)
#define REPLAY_SLOTS_MAX ((size_t)1 << 26)
/* How far ahead of the worker's clock a request's ts may be. */
#define REPLAY_SKEW 60

struct replay;

/*
 * Open the table at path, creating it with slots slots (a multiple of 8,
 * REPLAY_SLOTS_MIN..REPLAY_SLOTS_MAX) when it does not exist or is empty.
 * The file must be a regular file owned by the effective user with no
 * permission for group or others (it is created so), not a symbolic
 * link.  An existing table must have been made with the same number of
 * slots.  Every block of the file is allocated here, so that no write
 * through the mapping can fail later for want of space (PS_ERR_IO, with
 * the reason, when the file system is full).  Returns PS_OK,
 * PS_ERR_PERM, PS_ERR_CORRUPT (not a table, or another size), PS_ERR_IO,
 * PS_ERR_ARG or PS_ERR_NOMEM, with the reason in why (a sentence naming
 * no content).
 */
pserr replay_open(const char *path, size_t slots, struct replay **out,
    char *why, size_t whylen) PS_WARN_UNUSED;

/*
 * Record (kid, nonce) until expires (Unix seconds), as of now.  Returns
 * PS_OK when it was not recorded before (it is now), PS_ERR_REPLAYED when
 * a live record of it exists, PS_ERR_REPLAY_FULL when no slot is free
 * for it, PS_ERR_IO when the lock cannot be taken.
 */
pserr replay_check(struct replay *r, const uint8_t kid[ENVELOPE_KID_LEN],
    const uint8_t nonce[ENVELOPE_NONCE_LEN], int64_t expires, int64_t now)
    PS_WARN_UNUSED;

/*
 * Admit a request sealed at ts (Unix seconds) as of now, with a window
 * of window seconds (protocol.md section 4): PS_ERR_STALE when ts is
 * outside [now - window, now + REPLAY_SKEW], else replay_check() with a
 * record that lives until ts + window.
 */
pserr replay_admit(struct replay *r, const uint8_t kid[ENVELOPE_KID_LEN],
    const uint8_t nonce[ENVELOPE_NONCE_LEN], uint64_t ts, int64_t now,
    long window) PS_WARN_UNUSED;

/* The number of slots of r. */
size_t replay_slots(const struct replay *r);

/* Unmap and close; r may be NULL. */
void replay_close(struct replay *r);

#endif
