/* SPDX-License-Identifier: ISC */
/*
 * message_wire: the pieces of the wire form (protocol.md section 4) that
 * the JSON bodies (message.c) and the multipart bodies (multipart.c)
 * share.  Internal to lib/seal.
 */
#ifndef PROMPTSEAL_MESSAGE_WIRE_H
#define PROMPTSEAL_MESSAGE_WIRE_H

#include <stddef.h>

#include "seal/envelope.h"
#include "seal/message.h"

#define PS2_MEMBER "\"ps2\":\""
#define PS2_MEMBER_LEN 7
/* ts (u64) and qlen (u16) before the query in a request's content. */
#define REQUEST_HEAD 10

/* PS_OK for a query of the rule of every request, else
 * PS_ERR_QUERY_TOO_LONG or PS_ERR_BAD_QUERY. */
pserr message_check_query(const char *q, size_t n) PS_WARN_UNUSED;

/* 1 when wire ends in an envelope as the last member "ps2": *env and
 * *envlen are its text, *plen the length of the wire before it. */
int message_locate(const char *wire, size_t wlen, const char **env,
    size_t *envlen, size_t *plen);

/* Why no envelope could be located in wire, for ep and dir: the code of
 * protocol.md section 4, in its order. */
pserr message_diagnose(enum message_endpoint ep, enum envelope_dir dir,
    const char *wire, size_t wlen) PS_WARN_UNUSED;

/*
 * Step 2 of receiving a body (protocol.md section 4) for the envelope
 * text env, whose head envelope_head() has read into c: look up the
 * secret c's kid names and derive c's key from it (the secret is wiped;
 * PS_ERR_ARG without a lookup).  When there is no key and env is
 * malformed, PS_ERR_INVALID_ENVELOPE: the form comes before the key.
 * The ciphertext's base64url is checked only then, since with a key
 * envelope_open() refuses a malformed ciphertext as it decodes, with the
 * same error: the pass of envelope_peek() over all of env is saved.
 */
pserr message_key(struct envelope_ctx *c, message_lookup_fn lookup,
    void *arg, const char *env, size_t envlen) PS_WARN_UNUSED;

#endif
