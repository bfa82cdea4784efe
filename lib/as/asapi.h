/* SPDX-License-Identifier: ISC */
/*
 * asapi: the HTTP API of the attestation service (docs/as-api.md), apart
 * from the FastCGI wiring, so that every answer can be tested without a
 * web server.
 *
 *   POST <prefix>/v1/attest     the AS's own evidence, for a client's
 *                               challenge (the client checks it before
 *                               it uploads anything)
 *   POST <prefix>/v1/secrets    upload a secret sealed to the AS's key
 *                               (HPKE, bearer token)
 *   POST <prefix>/v1/challenge  a stateless, MAC'd challenge
 *   POST <prefix>/v1/fetch      a worker's evidence in, wrapped secrets out
 *   POST <prefix>/v1/join       another AS instance's evidence in, the
 *                               storage key wrapped to it out
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
#include "attest/aspolicy.h"
#include "attest/attest.h"

struct asapi_cfg {
	const char *prefix;            /* where the API is mounted: "/as" */
	const struct tokens *tokens;   /* who may upload */
	const struct attest_verifier *const *verifiers;
	size_t n_verifiers;
	const struct attest_allowlist *allow;
	int64_t max_ttl;               /* longest time to live of a secret */
	int64_t challenge_ttl;         /* how long a challenge stays valid */
	/* The AS's own identity, made inside its environment at start. */
	const uint8_t *as_priv;        /* X25519, 32 bytes: opens uploads */
	const uint8_t *as_pub;
	const struct attest_producer *self;  /* its own evidence */
	const struct aspolicy *policy; /* what it enforces (keys, workers,
	                                * the AS builds that may join) */
	const uint8_t *policy_digest;  /* ASPOLICY_DIGEST_LEN bytes */
	const uint8_t *challenge_key;  /* 32 bytes, MACs the challenges */
	const uint8_t *storage_key;    /* ASSTORE_KEY_LEN: given to peers;
	                                * NULL: nobody joins */
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
 * 1 when the request must be answered without reading its body (an upload
 * without a valid bearer token), with the answer in r; else 0.  Lets the
 * FastCGI wiring check the token before the body is read.
 */
int asapi_early(const struct asapi_cfg *c, const struct asapi_request *q,
    struct asreply *r);

/*
 * Answer one request at time now.  Always fills r (status, headers, JSON
 * body, note), including for errors; never fails.  s is the caller's
 * store handle (one per thread).
 */
void asapi_handle(const struct asapi_cfg *c, struct asstore *s,
    const struct asapi_request *q, int64_t now, struct asreply *r);

#endif
