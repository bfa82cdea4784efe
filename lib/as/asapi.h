/*
 * asapi: the HTTP API of the attestation service (docs/as-api.md), apart
 * from the FastCGI wiring, so that every answer can be tested without a
 * web server.
 *
 *   POST <prefix>/v1/secrets    upload a secret (bearer token)
 *   POST <prefix>/v1/challenge  a single-use challenge for a worker
 *   POST <prefix>/v1/fetch      evidence in, wrapped secrets out
 *
 * Replies are built with asreply, request bodies read with asbody, and
 * the secrets released in the format of attest/release.h.
 */
#ifndef PROMPTSEAL_ASAPI_H
#define PROMPTSEAL_ASAPI_H

#include <stddef.h>
#include <stdint.h>

#include "as/asreply.h"
#include "as/asstore.h"
#include "as/tokens.h"
#include "attest/attest.h"

struct asapi_cfg {
	const char *prefix;            /* where the API is mounted: "/as" */
	const struct tokens *tokens;   /* who may upload */
	const struct attest_verifier *const *verifiers;
	size_t n_verifiers;
	const struct attest_allowlist *allow;
	int64_t max_ttl;               /* longest time to live of a secret */
	int64_t challenge_ttl;         /* how long a challenge stays valid */
};

/* What the API needs of a request; NULL for an absent header. */
struct asapi_request {
	const char *method;            /* REQUEST_METHOD */
	const char *uri;               /* REQUEST_URI */
	const char *authorization;     /* HTTP_AUTHORIZATION */
	const char *content_type;      /* CONTENT_TYPE */
	const char *body;
	size_t body_len;
};

/*
 * Answer one request at time now.  Always fills r (status, headers, JSON
 * body, note), including for errors; never fails.  s is the caller's
 * store handle (one per thread).
 */
void asapi_handle(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r);

#endif
