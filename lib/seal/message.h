/*
 * message: encrypt and decrypt the members of one JSON body (protocol.md
 * section 4) for an endpoint and a direction.
 *
 * Only the members of the top level are handled: each member's value is
 * located by a validating scanner (jscan) and sealed from its original
 * bytes, or kept as it is when the endpoint's allowlist names it.  Nothing
 * is parsed into a tree or re-serialized, so a 1 MiB prompt costs one
 * scan, one AES-GCM pass and one base64url pass (opening adds a scan of
 * each plaintext).
 */
#ifndef PROMPTSEAL_MESSAGE_H
#define PROMPTSEAL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "seal/envelope.h"

enum message_endpoint {
	MESSAGE_CHAT = 0,        /* POST /v1/chat/completions */
	MESSAGE_COMPLETIONS,     /* POST /v1/completions */
	MESSAGE_EMBEDDINGS,      /* POST /v1/embeddings */
	MESSAGE_MODELS,          /* GET  /v1/models */
};

/*
 * Map a request method and path to an endpoint.  path is the REQUEST_URI;
 * a query string ("?...") is ignored, the rest must match exactly (no
 * trailing slash, no percent-decoding, case-sensitive; so must the
 * method: GET only for /v1/models, POST only for the others).  Returns
 * PS_ERR_UNKNOWN_ENDPOINT for any other path, PS_ERR_METHOD for a known
 * path with the wrong method, PS_ERR_ARG when method or path is NULL.
 */
pserr message_route(const char *method, const char *path,
    enum message_endpoint *ep) PS_WARN_UNUSED;

/* 1 when member name (name_len bytes, unescaped UTF-8) stays plain for ep
 * and dir, 0 when it must be encrypted.  Every member is plain for
 * MESSAGE_MODELS. */
int message_is_plain(enum message_endpoint ep, enum envelope_dir dir,
    const char *name, size_t name_len);

/*
 * What both functions accept as a body: exactly one JSON object, with
 * optional whitespace around it, as jscan.h defines JSON (strict RFC 8259,
 * valid UTF-8, no lone surrogates, at most JSCAN_MAX_DEPTH levels in all)
 * and with no two members of the same name once escapes are undone
 * ("a" and "\u0061" are the same name).  Anything else is
 * PS_ERR_INVALID_JSON, found before any value is sealed, any key looked
 * up or any value decrypted.
 *
 * Member names are compared with the allowlist and put into the AAD in
 * their unescaped UTF-8 form, and written out as they came (escapes
 * kept).  Output is {"name":value,...} in the input's member order with
 * no whitespace between the members; each value's own bytes are kept as
 * they are.  For MESSAGE_MODELS, where nothing is encrypted, the body is
 * checked and appended unchanged, whitespace and all.
 */

/*
 * Encrypt the JSON object json (len bytes) under c (c->dir selects the
 * allowlist, c->msg and c->final go into every AAD) and append the result
 * to out.  A member that is not plain for (ep, c->dir) becomes the string
 * "ps1:..." sealing its value's original bytes; a plain member is copied
 * byte for byte.  A body with no member to encrypt is not refused here,
 * but its receiver will refuse it (see message_open).  Returns
 * PS_ERR_INVALID_JSON, PS_ERR_TOO_LARGE (out's cap), PS_ERR_NOMEM or
 * envelope_seal()'s error; on failure out is left as it was.
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
 * is left alone; the looked-up key is wiped before return).  lookup is
 * called at most once, and only for a body whose every member has passed
 * the checks below that need no key.
 *
 * Checked in this order, the first fault deciding the error:
 *  - the body (see above): PS_ERR_INVALID_JSON;
 *  - each member in turn that is not plain for (ep, c->dir): a value that
 *    is not a JSON string whose content starts with "ps1:" (escapes
 *    undone) is PS_ERR_PLAINTEXT_MEMBER; an envelope whose form is wrong
 *    (prefix, kid, nonce, iv, separators, length; a JSON escape anywhere
 *    in it counts as a stray byte) or whose kid or nonce differs from the
 *    expected ones is PS_ERR_INVALID_ENVELOPE;
 *  - no encrypted member at all: PS_ERR_INVALID_ENVELOPE (not for
 *    MESSAGE_MODELS, which has none);
 *  - lookup's error;
 *  - in member order, as each value is decrypted: PS_ERR_INVALID_ENVELOPE
 *    for a stray byte in its ciphertext text, PS_ERR_DECRYPT when it does
 *    not authenticate under its unescaped member name,
 *    PS_ERR_INVALID_ENVELOPE when its plaintext is not exactly one JSON
 *    value (whitespace around it is allowed and kept; its nesting counts
 *    with the object's level).
 * PS_ERR_TOO_LARGE when the result does not fit out's cap.  A member that
 * is plain for (ep, c->dir) is copied as it is, even when it holds an
 * envelope.  On failure out is left as it was and no plaintext is
 * released: what was written is wiped.
 */
pserr message_open(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *json, size_t len,
    struct buf *out) PS_WARN_UNUSED;

#endif
