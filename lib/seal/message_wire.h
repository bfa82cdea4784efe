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
 * Steps 2 and 3 of receiving a request (protocol.md section 4) for its
 * envelope text env: read the head into c, look up its secret and derive
 * c's key (PS_ERR_INVALID_ENVELOPE for a malformed env without a key, as
 * the form comes before the key), open env onto out and split the head of
 * the content.  On PS_OK r holds the ts and the query, and as body and
 * len the rest of the content, all in out.  A content too short for its
 * head is PS_ERR_DECRYPT, a query the client should have refused
 * PS_ERR_BAD_QUERY.  On failure out may hold part of the content: the
 * caller wipes it.
 */
pserr message_open_content(struct envelope_ctx *c, message_lookup_fn lookup,
    void *arg, const char *env, size_t envlen, struct buf *out,
    struct message_request *r) PS_WARN_UNUSED;

#endif
