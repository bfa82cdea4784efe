/* SPDX-License-Identifier: ISC */
/*
 * asbody: the request bodies of the attestation service (docs/as-api.md),
 * flat JSON objects of strings and whole numbers, read with seal/jscan.
 *
 * The caller names the members it wants, with a type and a size limit
 * each.  The rules, which every AS request follows:
 *  - the body is exactly one JSON object (RFC 8259, as jscan accepts it);
 *  - a wanted member appears at most once, with its type: a string that
 *    unescapes to at most max bytes, or an integer (no fraction, no
 *    exponent) that fits in 64 bits;
 *  - other members are skipped when they are strings, numbers, true,
 *    false or null, and refused when they are objects or arrays;
 *  - member names are compared after unescaping, and none may unescape to
 *    more than ASBODY_NAME_MAX bytes.
 * Wanted members that are absent are only marked unseen: which are
 * required is the caller's rule.
 */
#ifndef PROMPTSEAL_ASBODY_H
#define PROMPTSEAL_ASBODY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"

#define ASBODY_NAME_MAX 64

enum asbody_type { ASBODY_STR, ASBODY_INT };

struct asbody_field {
	const char *name;
	enum asbody_type type;
	size_t max;            /* ASBODY_STR: the most bytes it may stand
	                        * for, unescaped */
	struct buf str;        /* ASBODY_STR, once seen: the unescaped text
	                        * (str.p never NULL, a NUL after str.len
	                        * bytes); the only copy, wiped by
	                        * asbody_free() */
	int64_t num;           /* ASBODY_INT */
	int seen;
};

/*
 * Read the n bytes at s into the nf fields of f (name, type and max set by
 * the caller; the rest is set up here).  PS_ERR_INVALID_JSON when the body
 * breaks a rule above, PS_ERR_NOMEM.  Call asbody_free(f, nf) afterwards,
 * whatever the result.
 */
pserr asbody_parse(const char *s, size_t n, struct asbody_field *f,
    size_t nf) PS_WARN_UNUSED;

/* Wipe and free the strings of the nf fields of f. */
void asbody_free(struct asbody_field *f, size_t nf);

#endif
