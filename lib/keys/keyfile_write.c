/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/privfile.h"
#include "core/secret.h"
#include "keys/keyfile.h"

#define SECRET_TEXT_LEN CODEC_B64_LEN(ENVELOPE_KEY_LEN)
#define KID_TEXT_LEN CODEC_HEX_LEN(ENVELOPE_KID_LEN)

pserr
keyfile_generate(struct keycache_entry *e, int64_t expires)
{
	pserr rc;

	if (e == NULL)
		return PS_ERR_ARG;
	e->expires = expires;
	if (keyfile_check(e, 1) != PS_OK) {
		secret_wipe(e, sizeof(*e));
		return PS_ERR_ARG;
	}
	if ((rc = secret_random(e->kid, sizeof(e->kid))) != PS_OK ||
	    (rc = secret_random(e->secret, sizeof(e->secret))) != PS_OK) {
		secret_wipe(e, sizeof(*e));
		return rc;
	}
	return PS_OK;
}

static pserr
format_keys(struct buf *out, const struct keycache_entry *keys, size_t n)
{
	char kid[KID_TEXT_LEN + 1], secret[SECRET_TEXT_LEN + 1], num[32];
	pserr rc = PS_OK;
	size_t i;

	if ((rc = buf_puts(out, "{\"version\": 1,\n \"keys\": [")) != PS_OK)
		goto out;
	for (i = 0; i < n; i++) {
		kid[codec_hex_encode(keys[i].kid, ENVELOPE_KID_LEN, kid)] = 0;
		secret[codec_b64_encode(keys[i].secret, ENVELOPE_KEY_LEN,
		    secret)] = 0;
		snprintf(num, sizeof(num), "%" PRId64, keys[i].expires);
		if ((rc = buf_puts(out, i ? ",\n  " : "\n  ")) != PS_OK ||
		    (rc = buf_puts(out, "{\"kid\": \"")) != PS_OK ||
		    (rc = buf_puts(out, kid)) != PS_OK ||
		    (rc = buf_puts(out, "\", \"secret\": \"")) != PS_OK ||
		    (rc = buf_puts(out, secret)) != PS_OK ||
		    (rc = buf_puts(out, "\", \"expires\": ")) != PS_OK ||
		    (rc = buf_puts(out, num)) != PS_OK ||
		    (rc = buf_putc(out, '}')) != PS_OK)
			goto out;
	}
	rc = buf_puts(out, n ? "\n ]}\n" : "]}\n");
out:
	secret_wipe(secret, sizeof(secret));
	return rc;
}

pserr
keyfile_encode(const struct keycache_entry *keys, size_t n, struct buf *out)
{
	size_t start = out->len;
	pserr rc;

	if ((rc = keyfile_check(keys, n)) != PS_OK)
		return rc;
	if ((rc = format_keys(out, keys, n)) != PS_OK && out->len > start) {
		secret_wipe(out->p + start, out->len - start);
		out->len = start;
	}
	return rc;
}

pserr
keyfile_write(const char *path, const struct keycache_entry *keys, size_t n)
{
	struct buf text;
	char why[256];
	pserr rc;

	buf_init(&text, PS_CAP_KEYFILE);
	if (path == NULL || *path == '\0' || path[strlen(path) - 1] == '/' ||
	    (keys == NULL && n > 0)) {
		rc = PS_ERR_ARG;
		goto out;
	}
	/* A set a reader would refuse, too large included, is the
	 * caller's mistake. */
	if ((rc = keyfile_encode(keys, n, &text)) != PS_OK) {
		if (rc == PS_ERR_TOO_LARGE)
			rc = PS_ERR_ARG;
		goto out;
	}
	if ((rc = privfile_replace(path, text.p, text.len, why,
	    sizeof(why))) == PS_ERR_IO)
		log_warn("key cache %s: %s", path, why);
out:
	buf_free(&text);
	return rc;
}
