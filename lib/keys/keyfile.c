/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/privfile.h"
#include "core/secret.h"
#include "keys/keyfile.h"
#include "seal/jscan.h"

/* The file nests three levels: the top object, the keys array, one key. */
#define DEPTH 3
#define SECRET_TEXT_LEN CODEC_B64_LEN(ENVELOPE_KEY_LEN)
#define KID_TEXT_LEN CODEC_HEX_LEN(ENVELOPE_KID_LEN)
/* The longest JSON string contents that can stand for n bytes: a \u
 * escape (six bytes) for each.  Anything longer is too long unescaped. */
#define ESCAPED_MAX(n) (6 * (n))
/* The longest member name the file has ("version", "expires"). */
#define NAME_MAX_LEN 7

#define IS_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')

static const char *const top_names[] = {"version", "keys"};
static const char *const key_names[] = {"kid", "secret", "expires"};
#define TOP_MEMBERS (sizeof(top_names) / sizeof(top_names[0]))
#define KEY_MEMBERS (sizeof(key_names) / sizeof(key_names[0]))

static int
expires_ok(int64_t expires)
{
	/* INT64_MAX stays out: it is where a reader that clamps large
	 * numbers lands, so it cannot be told from an overflow. */
	return expires >= 0 && expires < INT64_MAX;
}

static int
kid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ENVELOPE_KID_LEN);
}

pserr
keyfile_check(const struct keycache_entry *keys, size_t n)
{
	uint8_t (*kids)[ENVELOPE_KID_LEN];
	size_t i;
	pserr rc = PS_OK;

	if (keys == NULL && n > 0)
		return PS_ERR_ARG;
	for (i = 0; i < n; i++)
		if (!expires_ok(keys[i].expires))
			return PS_ERR_ARG;
	if (n < 2)
		return PS_OK;
	/* Kids are public: a sorted copy finds a pair in n log n. */
	if ((kids = calloc(n, sizeof(*kids))) == NULL)
		return PS_ERR_NOMEM;
	for (i = 0; i < n; i++)
		memcpy(kids[i], keys[i].kid, ENVELOPE_KID_LEN);
	qsort(kids, n, sizeof(*kids), kid_cmp);
	for (i = 1; i < n; i++)
		if (memcmp(kids[i - 1], kids[i], ENVELOPE_KID_LEN) == 0)
			rc = PS_ERR_ARG;
	free(kids);
	return rc;
}

void
keyfile_entries_free(struct keycache_entry *keys, size_t n)
{
	secret_free(keys, n * sizeof(*keys));
}

/* ------------------------------------------------ walking the text */

/*
 * Everything below runs on text that jscan_value() has accepted, so every
 * string is closed and every bracket matched before the end; the bounds
 * checks are there all the same.
 */

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && IS_WS(*p))
		p++;
	return p;
}

/* The end of the value that starts at p. */
static const char *
value_end(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		switch (*p) {
		case '"':
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			p++;
			break;
		case '{':
		case '[':
			depth++;
			p++;
			break;
		case '}':
		case ']':
			depth--;
			p++;
			break;
		default:
			if (depth > 0) {
				p++;
				break;
			}
			/* A number or a literal: it ends at a delimiter. */
			while (p < end && !IS_WS(*p) && *p != ',' &&
			    *p != ']' && *p != '}')
				p++;
			return p;
		}
		if (depth == 0)
			break;
	}
	return p < end ? p : end;
}

/* The elements of an array, given as the bytes of the array value. */
struct elems {
	const char *p, *end;
	int first;
};

static void
elems_begin(struct elems *it, const char *v, size_t vlen)
{
	it->p = v + 1;              /* past the '[' */
	it->end = v + vlen;
	it->first = 1;
}

/* The next element, or 0 at the end of the array. */
static int
elems_next(struct elems *it, const char **v, size_t *vlen)
{
	const char *p = skip_ws(it->p, it->end);

	if (p >= it->end || *p == ']')
		return 0;
	if (!it->first)
		p = skip_ws(p + 1, it->end);    /* past the ',' */
	it->first = 0;
	*v = p;
	it->p = value_end(p, it->end);
	*vlen = (size_t)(it->p - p);
	return 1;
}

/*
 * The contents of the JSON string value v (vlen bytes with its quotes):
 * *s points into v when the string has no escape, else into scratch, which
 * then holds it unescaped (the caller wipes scratch).  PS_ERR_CORRUPT when
 * v is not a string or cannot stand for maxlen bytes or fewer.
 */
static pserr
string_value(const char *v, size_t vlen, size_t maxlen, struct buf *scratch,
    const char **s, size_t *len)
{
	pserr rc;

	if (vlen < 2 || v[0] != '"')
		return PS_ERR_CORRUPT;
	v++;
	vlen -= 2;
	if (memchr(v, '\\', vlen) == NULL) {
		*s = v;
		*len = vlen;
		return PS_OK;
	}
	if (vlen > ESCAPED_MAX(maxlen))
		return PS_ERR_CORRUPT;
	buf_reset(scratch);
	if ((rc = jscan_unescape(v, vlen, scratch)) != PS_OK)
		return rc == PS_ERR_NOMEM ? rc : PS_ERR_CORRUPT;
	*s = scratch->p;
	*len = scratch->len;
	return PS_OK;
}

/* A member's value, as the bytes of the text. */
struct field {
	const char *v;
	size_t len;
};

enum { OBJ_OK, OBJ_NOT_OBJECT, OBJ_MEMBERS, OBJ_TWICE, OBJ_NOMEM };

/*
 * Read the object that s (len bytes) holds, which must have exactly the
 * members names[0..count), each once: their values go to f[].  Returns
 * OBJ_OK; OBJ_NOT_OBJECT; OBJ_MEMBERS when a member is missing or unknown;
 * OBJ_TWICE with *twice the index of a name given twice; OBJ_NOMEM.
 */
static int
read_object(const char *s, size_t len, const char *const *names,
    size_t count, struct field *f, struct buf *scratch, size_t *twice)
{
	struct jscan_object it;
	struct jscan_member m;
	const char *name;
	size_t i, nlen, seen = 0;
	int more;

	for (i = 0; i < count; i++)
		f[i].v = NULL;
	if (jscan_object_begin(&it, s, len) != PS_OK)
		return OBJ_NOT_OBJECT;
	for (;;) {
		/* Not reached on valid text. */
		if (jscan_object_next(&it, &m, &more) != PS_OK)
			return OBJ_NOT_OBJECT;
		if (!more)
			break;
		name = m.name;
		nlen = m.name_len;
		/* A name may be escaped ("\u006bid" is "kid"). */
		if (m.name_escaped) {
			if (nlen > ESCAPED_MAX(NAME_MAX_LEN))
				return OBJ_MEMBERS;
			buf_reset(scratch);
			/* Valid text: only memory can fail here. */
			if (jscan_unescape(name, nlen, scratch) != PS_OK)
				return OBJ_NOMEM;
			name = scratch->p;
			nlen = scratch->len;
		}
		for (i = 0; i < count; i++)
			if (strlen(names[i]) == nlen &&
			    memcmp(names[i], name, nlen) == 0)
				break;
		if (i == count)
			return OBJ_MEMBERS;
		if (f[i].v != NULL) {
			*twice = i;
			return OBJ_TWICE;
		}
		f[i].v = m.value;
		f[i].len = m.value_len;
		seen++;
	}
	return seen == count ? OBJ_OK : OBJ_MEMBERS;
}

/*
 * The JSON number v (vlen bytes) as an expiry: an integer (no fraction,
 * no exponent) in 0 .. INT64_MAX - 1.  -0 is the integer 0.
 */
static int
parse_expires(const char *v, size_t vlen, int64_t *out)
{
	size_t i = 0;
	int64_t x = 0;
	int neg = 0;

	if (vlen > 0 && v[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == vlen)
		return 0;
	for (; i < vlen; i++) {
		int d = v[i] - '0';

		if (d < 0 || d > 9 || x > (INT64_MAX - d) / 10)
			return 0;
		x = x * 10 + d;
	}
	if (neg && x != 0)
		return 0;
	*out = x;
	return expires_ok(x);
}

/* ------------------------------------------------------ parsing */

static pserr
parse_entry(const char *v, size_t vlen, size_t i, struct keycache_entry *e,
    struct buf *scratch, char *why, size_t whylen)
{
	struct field f[KEY_MEMBERS];
	const char *s;
	size_t len, outlen, twice = 0;
	pserr rc;

	switch (read_object(v, vlen, key_names, KEY_MEMBERS, f, scratch,
	    &twice)) {
	case OBJ_OK:
		break;
	case OBJ_NOT_OBJECT:
		pserr_why(why, whylen, "key %zu is not an object", i);
		return PS_ERR_CORRUPT;
	case OBJ_TWICE:
		pserr_why(why, whylen, "key %zu has the member %s twice", i,
		    key_names[twice]);
		return PS_ERR_CORRUPT;
	case OBJ_NOMEM:
		return PS_ERR_NOMEM;
	default:
		pserr_why(why, whylen, "key %zu does not have exactly the "
		    "members kid, secret and expires", i);
		return PS_ERR_CORRUPT;
	}
	if ((rc = string_value(f[0].v, f[0].len, KID_TEXT_LEN, scratch, &s,
	    &len)) == PS_ERR_NOMEM)
		return rc;
	if (rc != PS_OK || len != KID_TEXT_LEN ||
	    codec_hex_decode(s, len, e->kid, ENVELOPE_KID_LEN) != PS_OK) {
		pserr_why(why, whylen, "key %zu: kid is not 32 lowercase hex "
		    "characters", i);
		return PS_ERR_CORRUPT;
	}
	/* From the text (or scratch) straight into the entry. */
	if ((rc = string_value(f[1].v, f[1].len, SECRET_TEXT_LEN, scratch, &s,
	    &len)) == PS_ERR_NOMEM)
		return rc;
	if (rc != PS_OK || len != SECRET_TEXT_LEN ||
	    codec_b64_decode(s, len, e->secret, ENVELOPE_KEY_LEN,
	    &outlen) != PS_OK || outlen != ENVELOPE_KEY_LEN) {
		buf_reset(scratch);
		pserr_why(why, whylen, "key %zu: secret is not base64 of %d "
		    "bytes", i, ENVELOPE_KEY_LEN);
		return PS_ERR_CORRUPT;
	}
	buf_reset(scratch);
	if (!parse_expires(f[2].v, f[2].len, &e->expires)) {
		pserr_why(why, whylen, "key %zu: expires is not an integer in "
		    "0..%" PRId64, i, INT64_MAX - 1);
		return PS_ERR_CORRUPT;
	}
	return PS_OK;
}

pserr
keyfile_parse(const char *s, size_t len, struct keycache_entry **keys,
    size_t *n, char *why, size_t whylen)
{
	struct field top[TOP_MEMBERS];
	struct keycache_entry *e = NULL;
	struct elems it;
	struct buf scratch;
	const char *v;
	size_t count = 0, i, vlen, twice = 0;
	pserr rc = PS_ERR_CORRUPT;

	pserr_why(why, whylen, "%s", "");
	if (keys == NULL || n == NULL || (s == NULL && len > 0))
		return PS_ERR_ARG;
	/* Big enough for any escaped string that can be valid. */
	buf_init(&scratch, ESCAPED_MAX(SECRET_TEXT_LEN));
	if (len == 0) {
		pserr_why(why, whylen, "is empty");
		goto out;
	}
	if (len > PS_CAP_KEYFILE) {
		pserr_why(why, whylen, "is larger than %u bytes",
		    (unsigned)PS_CAP_KEYFILE);
		goto out;
	}
	if (memchr(s, '\0', len) != NULL) {
		pserr_why(why, whylen, "contains a NUL byte");
		goto out;
	}
	if (jscan_value(s, len, DEPTH) != PS_OK) {
		if (jscan_value(s, len, JSCAN_MAX_DEPTH) == PS_OK)
			pserr_why(why, whylen, "nests deeper than a key cache "
			    "file does");
		else
			pserr_why(why, whylen, "is not valid JSON");
		goto out;
	}
	switch (read_object(s, len, top_names, TOP_MEMBERS, top, &scratch,
	    &twice)) {
	case OBJ_OK:
		break;
	case OBJ_TWICE:
		pserr_why(why, whylen, "has the member %s twice",
		    top_names[twice]);
		goto out;
	case OBJ_NOMEM:
		rc = PS_ERR_NOMEM;
		goto out;
	default:
		pserr_why(why, whylen, "is not an object with exactly the "
		    "members version and keys");
		goto out;
	}
	if (top[0].len != 1 || top[0].v[0] != '1') {
		pserr_why(why, whylen, "version is not 1");
		goto out;
	}
	if (top[1].v[0] != '[') {
		pserr_why(why, whylen, "keys is not an array");
		goto out;
	}
	elems_begin(&it, top[1].v, top[1].len);
	while (elems_next(&it, &v, &vlen))
		count++;
	if (count > 0 && (e = calloc(count, sizeof(*e))) == NULL) {
		rc = PS_ERR_NOMEM;
		goto out;
	}
	elems_begin(&it, top[1].v, top[1].len);
	for (i = 0; i < count && elems_next(&it, &v, &vlen); i++)
		if ((rc = parse_entry(v, vlen, i, &e[i], &scratch, why,
		    whylen)) != PS_OK)
			goto out;
	/* Every expiry is in range by now: a refusal is a kid twice. */
	if ((rc = keyfile_check(e, count)) != PS_OK) {
		if (rc == PS_ERR_ARG) {
			pserr_why(why, whylen, "has two keys with the same "
			    "kid");
			rc = PS_ERR_CORRUPT;
		}
		goto out;
	}
	*keys = e;
	*n = count;
	e = NULL;
	rc = PS_OK;
out:
	if (rc == PS_ERR_NOMEM)
		pserr_why(why, whylen, "out of memory");
	keyfile_entries_free(e, count);
	buf_free(&scratch);
	return rc;
}

/* ------------------------------------------------------ reading */

/* The reason for a file the privfile rule refused or that could not be
 * read, in the words of a key cache reader's log lines. */
static pserr
refusal(const struct privfile_status *st, char *why, size_t whylen)
{
	errno = st->err;
	switch (st->fault) {
	case PRIVFILE_LINK:
		pserr_why(why, whylen, "is a symbolic link; refused");
		return PS_ERR_PERM;
	case PRIVFILE_MISSING:
	case PRIVFILE_OPEN:
		pserr_why(why, whylen, "cannot open: %m");
		return PS_ERR_IO;
	case PRIVFILE_STAT:
		pserr_why(why, whylen, "cannot stat: %m");
		return PS_ERR_IO;
	case PRIVFILE_NOT_REGULAR:
		pserr_why(why, whylen, "is not a regular file; refused");
		return PS_ERR_PERM;
	case PRIVFILE_OWNER:
		pserr_why(why, whylen, "is owned by uid %lu, not by uid %lu "
		    "that reads it; refused", (unsigned long)st->uid,
		    (unsigned long)geteuid());
		return PS_ERR_PERM;
	case PRIVFILE_MODE:
		pserr_why(why, whylen, "mode %04o is group/world accessible; "
		    "chmod 600", (unsigned)st->mode);
		return PS_ERR_PERM;
	case PRIVFILE_TOO_LARGE:
		pserr_why(why, whylen, "is larger than %u bytes",
		    (unsigned)PS_CAP_KEYFILE);
		return PS_ERR_CORRUPT;
	case PRIVFILE_READ:
		pserr_why(why, whylen, "cannot read: %m");
		return PS_ERR_IO;
	case PRIVFILE_DIR_OPEN:
		pserr_why(why, whylen, "cannot open its directory: %m");
		return PS_ERR_IO;
	case PRIVFILE_DIR_OWNER:
		pserr_why(why, whylen, "its directory is owned by uid %lu, "
		    "neither by uid %lu that reads it nor by root; refused",
		    (unsigned long)st->uid, (unsigned long)geteuid());
		return PS_ERR_PERM;
	case PRIVFILE_DIR_MODE:
		pserr_why(why, whylen, "its directory (mode %04o) is writable "
		    "by group or others; refused (chmod go-w)",
		    (unsigned)st->mode);
		return PS_ERR_PERM;
	default:
		pserr_why(why, whylen, "out of memory");
		return PS_ERR_NOMEM;
	}
}

pserr
keyfile_read(const char *path, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen)
{
	struct privfile_status st;
	struct buf text;
	pserr rc;

	pserr_why(why, whylen, "%s", "");
	if (path == NULL || keys == NULL || n == NULL)
		return PS_ERR_ARG;
	buf_init(&text, PS_CAP_KEYFILE);
	if (privfile_load(path, &text, &st) != PS_OK)
		rc = refusal(&st, why, whylen);
	else
		rc = keyfile_parse(text.p, text.len, keys, n, why, whylen);
	buf_free(&text);
	return rc;
}
