/* SPDX-License-Identifier: ISC */
/*
 * codec: the text encodings used at the edges: base64url without padding
 * (envelopes), standard base64 with padding (key cache file) and lowercase
 * hex (key IDs).
 *
 * Encoders write into a caller buffer of the size given by the *_len macro
 * and add no NUL terminator.  Decoders are strict: they refuse any byte
 * outside the alphabet, padding where none belongs, non-canonical trailing
 * bits, and output that would not fit; on failure they write nothing the
 * caller may use.
 */
#ifndef PROMPTSEAL_CODEC_H
#define PROMPTSEAL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pserr.h"

#define CODEC_B64URL_LEN(n) (((n) / 3) * 4 + (((n) % 3) ? ((n) % 3) + 1 : 0))
#define CODEC_B64_LEN(n) ((((n) + 2) / 3) * 4)
#define CODEC_HEX_LEN(n) ((n) * 2)

/* Encode n bytes of in; returns the number of characters written to out. */
size_t codec_b64url_encode(const uint8_t *in, size_t n, char *out);

/* Append the base64url of the n bytes at in to b (no NUL). */
pserr codec_b64url_append(struct buf *b, const void *in, size_t n)
    PS_WARN_UNUSED;
size_t codec_b64_encode(const uint8_t *in, size_t n, char *out);
size_t codec_hex_encode(const uint8_t *in, size_t n, char *out);

/* Decode n characters of in into out, which holds outcap bytes.  On success
 * stores the decoded length in *outlen and returns PS_OK; returns
 * PS_ERR_CORRUPT for bad input and PS_ERR_ARG when out is too small. */
pserr codec_b64url_decode(const char *in, size_t n, uint8_t *out,
    size_t outcap, size_t *outlen) PS_WARN_UNUSED;
pserr codec_b64_decode(const char *in, size_t n, uint8_t *out, size_t outcap,
    size_t *outlen) PS_WARN_UNUSED;

/* Check that n characters of in are canonical base64url without padding,
 * as codec_b64url_decode would, without decoding: PS_OK or PS_ERR_CORRUPT. */
pserr codec_b64url_check(const char *in, size_t n) PS_WARN_UNUSED;

/* Decode exactly 2*outlen lowercase hex characters into out.  On
 * failure out may have been written to. */
pserr codec_hex_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
    PS_WARN_UNUSED;

#endif
