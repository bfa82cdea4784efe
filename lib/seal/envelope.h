/*
 * envelope: seal and open one encrypted value (protocol.md sections 2, 3).
 *
 *     ps1:<kid hex>:<nonce b64url>:<iv b64url>:<ciphertext||tag b64url>
 *
 * AES-256-GCM with
 *     AAD = "ps1" 0x00 | dir | kid | nonce | msg (u32 BE) | final | name
 */
#ifndef PROMPTSEAL_ENVELOPE_H
#define PROMPTSEAL_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"

#define ENVELOPE_KEY_LEN 32
#define ENVELOPE_KID_LEN 16
#define ENVELOPE_NONCE_LEN 16
#define ENVELOPE_IV_LEN 12
#define ENVELOPE_TAG_LEN 16
#define ENVELOPE_PREFIX "ps1:"
#define ENVELOPE_PREFIX_LEN 4
/* "ps1:" + kid + ':' + nonce + ':' + iv + ':' */
#define ENVELOPE_HEADER_LEN (4 + 32 + 1 + 22 + 1 + 16 + 1)

enum envelope_dir {
	ENVELOPE_REQUEST = 0x51,  /* 'Q' */
	ENVELOPE_RESPONSE = 0x52, /* 'R' */
};

/*
 * What binds a value to its place: everything in the AAD but the member
 * name.  key points to ENVELOPE_KEY_LEN bytes owned by the caller.
 */
struct envelope_ctx {
	const uint8_t *key;
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t nonce[ENVELOPE_NONCE_LEN];
	enum envelope_dir dir;
	uint32_t msg;
	int final;
};

/* The text length of an envelope that seals n plaintext bytes. */
size_t envelope_text_len(size_t n);

/*
 * Seal pt_len bytes of pt (the JSON text of the member's value) under c and
 * member name, with a fresh random IV, and append the envelope text (no
 * quotes, no NUL) to out.  On failure out is left as it was.
 */
pserr envelope_seal(const struct envelope_ctx *c, const char *name,
    size_t name_len, const void *pt, size_t pt_len, struct buf *out)
    PS_WARN_UNUSED;

/*
 * Parse the kid and nonce of the envelope text s (n bytes) and check the
 * form of the whole text.  Returns PS_ERR_INVALID_ENVELOPE for any
 * malformation.  Nothing is decrypted.
 */
pserr envelope_peek(const char *s, size_t n, uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t nonce[ENVELOPE_NONCE_LEN]) PS_WARN_UNUSED;

/*
 * Open the envelope text s (n bytes) under c and member name, appending
 * the plaintext to out.  Returns
 *   PS_ERR_INVALID_ENVELOPE  malformed text, or a kid or nonce other than c's;
 *   PS_ERR_DECRYPT           authentication failed (one code for every cause);
 *   PS_ERR_TOO_LARGE         the plaintext does not fit in out.
 * On any failure out holds exactly what it held before (no plaintext is
 * released, the bytes written are wiped).
 */
pserr envelope_open(const struct envelope_ctx *c, const char *name,
    size_t name_len, const char *s, size_t n, struct buf *out) PS_WARN_UNUSED;

#endif
