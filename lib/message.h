/*
 * message: encrypt and decrypt the members of one JSON body (protocol.md
 * section 4) for an endpoint and a direction.
 *
 * Only the top level of the body is looked at: each member's value is
 * located by a validating scanner and sealed from its original bytes, or
 * kept as it is when the endpoint's allowlist names it.  Nothing is parsed
 * into a tree or re-serialized, so a 1 MiB prompt costs one scan, one
 * AES-GCM pass and one base64url pass.
 */
#ifndef PROMPTSEAL_MESSAGE_H
#define PROMPTSEAL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "envelope.h"
#include "pserr.h"

enum message_endpoint {
	MESSAGE_CHAT = 0,        /* POST /v1/chat/completions */
	MESSAGE_COMPLETIONS,     /* POST /v1/completions */
	MESSAGE_EMBEDDINGS,      /* POST /v1/embeddings */
	MESSAGE_MODELS,          /* GET  /v1/models */
};

/*
 * Map a request method and path to an endpoint.  path is the REQUEST_URI;
 * a query string ("?...") is ignored.  Returns PS_ERR_UNKNOWN_ENDPOINT for
 * any other path and PS_ERR_METHOD for a known path with the wrong method.
 */
pserr message_route(const char *method, const char *path,
    enum message_endpoint *ep) PS_WARN_UNUSED;

/* 1 when member name (name_len bytes, unescaped) stays plain for ep and
 * dir, 0 when it must be encrypted. */
int message_is_plain(enum message_endpoint ep, enum envelope_dir dir,
    const char *name, size_t name_len);

/*
 * Encrypt the JSON object json (len bytes) under c (c->dir selects the
 * allowlist, c->msg and c->final go into every AAD) and append the result
 * to out.  Returns PS_ERR_INVALID_JSON when json is not exactly one JSON
 * object; on failure out is left as it was.
 */
pserr message_seal(enum message_endpoint ep, const struct envelope_ctx *c,
    const char *json, size_t len, struct buf *out) PS_WARN_UNUSED;

/*
 * Look up the key for a kid met in a message.  Writes the secret to key
 * and returns PS_OK, or PS_ERR_UNKNOWN_KEY / PS_ERR_NO_KEY.
 */
typedef pserr (*message_lookup_fn)(void *arg,
    const uint8_t kid[ENVELOPE_KID_LEN], uint8_t key[ENVELOPE_KEY_LEN]);

/*
 * Decrypt the JSON object json (len bytes) and append the plain JSON to out.
 *
 * With lookup NULL, c->key, c->kid and c->nonce are the expected ones (the
 * client opening a response to its own request).  With lookup set, the kid
 * and nonce are those of the first encrypted member, the key comes from
 * lookup(arg, ...), and on success c->kid and c->nonce hold them (c->key
 * is left alone; the looked-up key is wiped before return).
 *
 * Every member that is not plain for (ep, c->dir) must be an envelope with
 * the same kid and nonce, and the message must hold at least one.  Returns
 * PS_ERR_INVALID_JSON, PS_ERR_PLAINTEXT_MEMBER, PS_ERR_INVALID_ENVELOPE,
 * PS_ERR_DECRYPT, PS_ERR_TOO_LARGE, or lookup's error.  On failure out is
 * left as it was and no plaintext is released.
 */
pserr message_open(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *json, size_t len,
    struct buf *out) PS_WARN_UNUSED;

#endif
