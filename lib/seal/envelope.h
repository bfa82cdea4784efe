/* SPDX-License-Identifier: ISC */
/*
 * envelope: seal and open one message (protocol.md sections 2, 3).
 *
 *     request:  ps2:<kid hex>:<nonce b64url>:<ct b64url>
 *     reply:    ps2:<kid hex>:<nonce b64url>:<reply b64url>:<ct b64url>
 *
 * AES-256-GCM under a key K derived per exchange and direction,
 *     K   = HKDF-SHA256(secret, "promptseal v2", dir|kid|nonce|reply)
 *     IV  = final | 0^7 | msg (u32 BE)
 *     AAD = "ps2" 0x00 | dir | kid | nonce | reply | msg | final | bind
 * sealing the plaintext u32 BE(n) | content | zero padding to a bucket.
 */
#ifndef PROMPTSEAL_ENVELOPE_H
#define PROMPTSEAL_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/pserr.h"

#define ENVELOPE_SECRET_LEN 32
#define ENVELOPE_KEY_LEN 32
#define ENVELOPE_KID_LEN 16
#define ENVELOPE_NONCE_LEN 16
#define ENVELOPE_REPLY_LEN 16
#define ENVELOPE_IV_LEN 12
#define ENVELOPE_TAG_LEN 16
#define ENVELOPE_PREFIX "ps2:"
#define ENVELOPE_PREFIX_LEN 4
/* What a version 1 value starts with (protocol.md section 0). */
#define ENVELOPE_V1_PREFIX "ps1:"
/* "ps2:" kid ':' nonce ':', and for a reply reply ':' */
#define ENVELOPE_REQUEST_HEAD (4 + 32 + 1 + 22 + 1)
#define ENVELOPE_REPLY_HEAD (ENVELOPE_REQUEST_HEAD + 22 + 1)
/* The sealed plaintext holds at least its u32 length. */
#define ENVELOPE_MIN_PLAINTEXT 4
/* The largest padding bucket a sender may use. */
#define ENVELOPE_BUCKET_MAX ((size_t)1 << 20)
/* The longest bind (the AAD's ctx): method, NUL, path; or status and a
 * media type.  A path holds a path parameter of up to PS_CAP_PATH_ID
 * bytes (message.c checks at build time that the longest one fits). */
#define ENVELOPE_BIND_MAX 512

enum envelope_dir {
	ENVELOPE_REQUEST = 0x51,  /* 'Q' */
	ENVELOPE_RESPONSE = 0x52, /* 'R' */
};

/*
 * One direction of one exchange: what goes into every key derivation and
 * AAD, and the derived key.  key is secret: envelope_wipe() it when done.
 * reply is all zeros in the request direction.
 */
struct envelope_ctx {
	enum envelope_dir dir;
	uint8_t kid[ENVELOPE_KID_LEN];
	uint8_t nonce[ENVELOPE_NONCE_LEN];
	uint8_t reply[ENVELOPE_REPLY_LEN];
	uint8_t key[ENVELOPE_KEY_LEN];
	int keyed;                        /* key is K for the fields above */
	uint8_t bind[ENVELOPE_BIND_MAX];  /* the AAD's ctx */
	size_t bind_len;
};

/* Set c up empty for direction dir (no kid, nonce, reply, key, bind). */
void envelope_init(struct envelope_ctx *c, enum envelope_dir dir);

/* Wipe c, key and all. */
void envelope_wipe(struct envelope_ctx *c);

/*
 * Drop the cipher contexts and keys the calling thread keeps between
 * calls (a stream seals many events under one key).  Call at the end of
 * each exchange, so no key outlives it in memory.
 */
void envelope_thread_wipe(void);

/*
 * Set the request bind: method (NUL-terminated), 0x00, path (path_len
 * bytes, no query).  PS_ERR_ARG when it does not fit ENVELOPE_BIND_MAX.
 */
pserr envelope_bind_request(struct envelope_ctx *c, const char *method,
    const char *path, size_t path_len) PS_WARN_UNUSED;

/*
 * Set the reply bind: status (u16 BE) and media type (media_len bytes, as
 * given: the caller normalizes it).  PS_ERR_ARG when status is not
 * 100..999 or the media type does not fit.
 */
pserr envelope_bind_reply(struct envelope_ctx *c, int status,
    const char *media, size_t media_len) PS_WARN_UNUSED;

/*
 * SHA-256, fetched from the default provider once per process: with
 * EVP_sha256() OpenSSL 3 looks the digest up by name on every use, which
 * costs more than hashing a few dozen bytes.  For the key derivation and
 * the replay table's hash; never NULL (EVP_sha256() if the fetch failed).
 */
const EVP_MD *envelope_sha256(void);

/*
 * Derive K from secret (ENVELOPE_SECRET_LEN bytes) and c's dir, kid,
 * nonce and reply; sets c->keyed.  PS_ERR_CRYPTO on failure (c is then
 * not keyed).
 */
pserr envelope_derive(struct envelope_ctx *c, const uint8_t *secret)
    PS_WARN_UNUSED;

/* The sealed plaintext length for n bytes of content and a bucket (0 or
 * 1: no padding), or 0 when it would not fit a u32. */
size_t envelope_padded_len(size_t n, size_t bucket);

/* The text length of an envelope in direction dir that seals n bytes of
 * content padded to bucket, or 0 when that is too large. */
size_t envelope_text_len(enum envelope_dir dir, size_t n, size_t bucket);

/* One piece of the content to seal. */
struct envelope_part {
	const void *p;
	size_t n;
};

/*
 * Seal the concatenation of the nparts parts as message msg (final 0 or
 * 1) under c, which must be keyed, padded to bucket (at most
 * ENVELOPE_BUCKET_MAX), and append the envelope text (no quotes, no NUL)
 * to out.  Sealing the same content under the same c, msg and final
 * gives the same text: the caller must never do that for two different
 * contents.  PS_ERR_TOO_LARGE (out's cap, or over a u32), PS_ERR_ARG,
 * PS_ERR_CRYPTO; on failure out is left as it was.
 */
pserr envelope_seal(const struct envelope_ctx *c, uint32_t msg, int final,
    const struct envelope_part *parts, size_t nparts, size_t bucket,
    struct buf *out) PS_WARN_UNUSED;

/*
 * Check the form of the envelope text s (n bytes) of direction dir and
 * return its kid, nonce and (for a reply, reply may then not be NULL) its
 * reply value.  PS_ERR_INVALID_ENVELOPE for any malformation, the
 * ciphertext's base64url included.  Nothing is decrypted.
 */
pserr envelope_peek(enum envelope_dir dir, const char *s, size_t n,
    uint8_t kid[ENVELOPE_KID_LEN], uint8_t nonce[ENVELOPE_NONCE_LEN],
    uint8_t *reply) PS_WARN_UNUSED;

/*
 * envelope_peek() without the ciphertext's base64url, which is a pass
 * over nearly all of s: for a receiver that opens s next, since
 * envelope_open() refuses a malformed ciphertext as it decodes, with the
 * same PS_ERR_INVALID_ENVELOPE.
 */
pserr envelope_head(enum envelope_dir dir, const char *s, size_t n,
    uint8_t kid[ENVELOPE_KID_LEN], uint8_t nonce[ENVELOPE_NONCE_LEN],
    uint8_t *reply) PS_WARN_UNUSED;

/*
 * Open the envelope text s (n bytes) as message msg (final 0 or 1) under
 * c, which must be keyed, and append its content (without the length and
 * the padding) to out.  Returns
 *   PS_ERR_INVALID_ENVELOPE  malformed text, or a kid, nonce or reply
 *                            other than c's;
 *   PS_ERR_DECRYPT           authentication failed, a length past the
 *                            plaintext, or a padding byte not zero (one
 *                            code for every cause);
 *   PS_ERR_TOO_LARGE         the plaintext does not fit in out.
 * On any failure out holds exactly what it held before (no plaintext is
 * released, the bytes written are wiped).
 */
pserr envelope_open(const struct envelope_ctx *c, uint32_t msg, int final,
    const char *s, size_t n, struct buf *out) PS_WARN_UNUSED;

#endif
