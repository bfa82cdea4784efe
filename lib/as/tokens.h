/* SPDX-License-Identifier: ISC */
/*
 * tokens: the bearer tokens that let a client upload secrets to the
 * attestation service.
 *
 * The token file holds one token per line; blank lines and lines starting
 * with '#' are skipped, surrounding blanks are trimmed.  A line is
 *
 *     NAME LIMIT TOKEN     a named tenant that holds at most LIMIT
 *                          unexpired secrets at once (0: no limit of its
 *                          own, only the store's)
 *     TOKEN                the same as "default 0 TOKEN"
 *
 * A token is 16 to 512 printable ASCII characters without blanks, a name
 * 1 to 64 of [A-Za-z0-9._-]; several tokens may share a name (and then
 * share the limit of the first one that is used).  The file must pass
 * privfile's rule (mode 0600, owned by the reading user), like the key
 * cache.  Only SHA-256 digests of the tokens are kept in memory.
 */
#ifndef PROMPTSEAL_TOKENS_H
#define PROMPTSEAL_TOKENS_H

#include <stddef.h>

#include "core/pserr.h"

#define TOKENS_MIN_LEN 16
#define TOKENS_NAME_MAX 64
#define TOKENS_DEFAULT_NAME "default"

struct tokens;

/*
 * Load the token file.  PS_ERR_PERM / PS_ERR_IO / PS_ERR_NOT_FOUND as
 * privfile_read(); PS_ERR_CORRUPT for a bad line or a file without any
 * token.  The reason (never a token) goes to why.
 */
pserr tokens_load(const char *path, struct tokens **out, char *why,
    size_t whylen) PS_WARN_UNUSED;

/* 1 when the n bytes at s are one of the tokens, else 0.  The time taken
 * does not depend on which token matches or how much of one does. */
int tokens_check(const struct tokens *t, const char *s, size_t n);

/* 1 when the Authorization header value a ("Bearer <token>", scheme in
 * any case) carries a valid token; 0 for anything else, NULL included. */
int tokens_check_header(const struct tokens *t, const char *a);

/* tokens_check_header(), and on a match the token's tenant name (owned by
 * t) in *name and its limit in *limit (either may be NULL). */
int tokens_find_header(const struct tokens *t, const char *a,
    const char **name, size_t *limit);

void tokens_free(struct tokens *t);

#endif
