/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/caps.h"
#include "core/secret.h"
#include "seal/jscan.h"
#include "seal/message_wire.h"
#include "seal/multipart.h"

/* ts (u64) and qlen (u16) before the query; ctlen (u16) after it. */
#define BOUNDARY_MAX 70

int
multipart_endpoint(enum message_endpoint ep)
{
	return ep == MESSAGE_TRANSCRIPTIONS || ep == MESSAGE_TRANSLATIONS;
}

/* ------------------------------------------------------------ parsing */

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 2046 bcharsnospace. */
static int
is_bchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("'()+_,-./:=?", c) != NULL);
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Case-insensitive: s[0..n) is the NUL-terminated word w. */
static int
word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

pserr
multipart_boundary(const char *ct, size_t ctlen, const char **b,
    size_t *blen)
{
	static const char mt[] = "multipart/form-data";
	const char *bv = NULL;
	size_t i = 0, k, bn = 0;

	if (ct == NULL)
		return PS_ERR_MEDIA_TYPE;
	while (i < ctlen && is_ows(ct[i]))
		i++;
	for (k = i; k < ctlen && ct[k] != ';' && !is_ows(ct[k]); k++)
		;
	if (!word_is(ct + i, k - i, mt))
		return PS_ERR_MEDIA_TYPE;
	if (ctlen > PS_CAP_MULTIPART_CTYPE)
		return PS_ERR_INVALID_MULTIPART;
	for (i = 0; i < ctlen; i++)
		if (((unsigned char)ct[i] < 0x20 && ct[i] != '\t') ||
		    (unsigned char)ct[i] > 0x7e)
			return PS_ERR_INVALID_MULTIPART;
	i = k;
	for (;;) {
		size_t ns, ne, vs, ve;

		while (i < ctlen && is_ows(ct[i]))
			i++;
		if (i == ctlen)
			break;
		if (ct[i++] != ';')
			return PS_ERR_INVALID_MULTIPART;
		while (i < ctlen && is_ows(ct[i]))
			i++;
		for (ns = i; i < ctlen && is_tchar((unsigned char)ct[i]); i++)
			;
		ne = i;
		if (ne == ns || i == ctlen || ct[i++] != '=')
			return PS_ERR_INVALID_MULTIPART;
		/* Only one boundary: a second parameter is something a
		 * parser downstream might read differently. */
		if (!word_is(ct + ns, ne - ns, "boundary") || bv != NULL)
			return PS_ERR_INVALID_MULTIPART;
		if (i < ctlen && ct[i] == '"') {
			for (vs = ++i; i < ctlen && ct[i] != '"'; i++)
				;
			if (i == ctlen)
				return PS_ERR_INVALID_MULTIPART;
			ve = i++;
		} else {
			for (vs = i; i < ctlen && is_tchar((unsigned char)ct[i]);
			    i++)
				;
			ve = i;
		}
		bn = ve - vs;
		if (bn < 1 || bn > BOUNDARY_MAX || ct[ve - 1] == ' ')
			return PS_ERR_INVALID_MULTIPART;
		for (k = vs; k < ve; k++)
			if (!is_bchar((unsigned char)ct[k]) && ct[k] != ' ')
				return PS_ERR_INVALID_MULTIPART;
		bv = ct + vs;
	}
	if (bv == NULL)
		return PS_ERR_INVALID_MULTIPART;
	*b = bv;
	*blen = bn;
	return PS_OK;
}

pserr
multipart_begin(struct multipart_iter *it, const char *ct, size_t ctlen,
    const char *body, size_t len)
{
	pserr rc;

	memset(it, 0, sizeof(*it));
	if ((rc = multipart_boundary(ct, ctlen, &it->b, &it->blen)) != PS_OK)
		return rc;
	/* No preamble: the body starts with the first delimiter. */
	if (body == NULL || len < 2 + it->blen + 2 || body[0] != '-' ||
	    body[1] != '-' || memcmp(body + 2, it->b, it->blen) != 0 ||
	    body[2 + it->blen] != '\r' || body[3 + it->blen] != '\n')
		return PS_ERR_INVALID_MULTIPART;
	it->p = body;
	it->len = len;
	it->pos = 4 + it->blen;
	return PS_OK;
}

/* The first CRLF "--" boundary at or after from, or len when none. */
static size_t
find_delim(const struct multipart_iter *it, size_t from)
{
	size_t need = 4 + it->blen, i;
	const char *q;

	for (i = from; it->len - i >= need; i = (size_t)(q - it->p) + 1) {
		q = memchr(it->p + i, '\r', it->len - i - need + 1);
		if (q == NULL)
			break;
		if (q[1] == '\n' && q[2] == '-' && q[3] == '-' &&
		    memcmp(q + 4, it->b, it->blen) == 0)
			return (size_t)(q - it->p);
	}
	return it->len;
}

/*
 * A quoted-string parameter value at s[*i] (the '"'): any byte but '"',
 * CR and LF (the header line holds none of those), no escapes: a
 * backslash is a byte like others, as browsers and the SDKs write it.
 */
static pserr
quoted(const char *s, size_t n, size_t *i, const char **v, size_t *vn)
{
	size_t k;

	if (*i >= n || s[*i] != '"')
		return PS_ERR_INVALID_MULTIPART;
	for (k = *i + 1; k < n && s[k] != '"'; k++)
		;
	if (k == n)
		return PS_ERR_INVALID_MULTIPART;
	*v = s + *i + 1;
	*vn = k - *i - 1;
	*i = k + 1;
	return PS_OK;
}

/* Content-Disposition: form-data; name="..." [; filename="..."], in any
 * order, each once. */
static pserr
disposition(const char *s, size_t n, struct multipart_part *p)
{
	size_t i = 0, k;
	int have_name = 0, have_file = 0;
	pserr rc;

	for (k = 0; k < n && is_tchar((unsigned char)s[k]); k++)
		;
	if (!word_is(s, k, "form-data"))
		return PS_ERR_INVALID_MULTIPART;
	i = k;
	for (;;) {
		const char *v;
		size_t ns, vn;

		while (i < n && is_ows(s[i]))
			i++;
		if (i == n)
			break;
		if (s[i++] != ';')
			return PS_ERR_INVALID_MULTIPART;
		while (i < n && is_ows(s[i]))
			i++;
		for (ns = i; i < n && is_tchar((unsigned char)s[i]); i++)
			;
		k = i;
		if (i == n || s[i++] != '=')
			return PS_ERR_INVALID_MULTIPART;
		if ((rc = quoted(s, n, &i, &v, &vn)) != PS_OK)
			return rc;
		if (word_is(s + ns, k - ns, "name") && !have_name) {
			if (vn == 0)
				return PS_ERR_INVALID_MULTIPART;
			p->name = v;
			p->name_len = vn;
			have_name = 1;
		} else if (word_is(s + ns, k - ns, "filename") && !have_file) {
			p->filename = v;
			p->filename_len = vn;
			have_file = 1;
		} else {
			/* filename* (RFC 7578 4.2 forbids it), a repeated
			 * parameter, anything else. */
			return PS_ERR_INVALID_MULTIPART;
		}
	}
	return have_name ? PS_OK : PS_ERR_INVALID_MULTIPART;
}

/* The header section of a part, from it->pos; *end is where its content
 * starts. */
static pserr
part_headers(const struct multipart_iter *it, struct multipart_part *p,
    size_t *end)
{
	size_t i = it->pos, start = it->pos;
	int have_cd = 0, have_ct = 0;
	pserr rc;

	for (;;) {
		size_t ls = i, colon, ve;

		if (i - start > PS_CAP_MULTIPART_HEADER)
			return PS_ERR_INVALID_MULTIPART;
		if (it->len - i >= 2 && it->p[i] == '\r' && it->p[i + 1] == '\n')
			break;
		for (; i < it->len && is_tchar((unsigned char)it->p[i]); i++)
			;
		if (i == ls || i == it->len || it->p[i] != ':')
			return PS_ERR_INVALID_MULTIPART;
		colon = i++;
		for (; i < it->len; i++) {
			unsigned char c = (unsigned char)it->p[i];

			if (c == '\r' || (c < 0x20 && c != '\t') || c == 0x7f)
				break;
			if (i - start > PS_CAP_MULTIPART_HEADER)
				return PS_ERR_INVALID_MULTIPART;
		}
		if (it->len - i < 2 || it->p[i] != '\r' || it->p[i + 1] != '\n')
			return PS_ERR_INVALID_MULTIPART;
		ve = i;
		i += 2;
		{
			const char *v = it->p + colon + 1;
			size_t vn = ve - colon - 1;

			while (vn > 0 && is_ows(*v)) {
				v++;
				vn--;
			}
			while (vn > 0 && is_ows(v[vn - 1]))
				vn--;
			if (word_is(it->p + ls, colon - ls,
			    "content-disposition") && !have_cd) {
				if ((rc = disposition(v, vn, p)) != PS_OK)
					return rc;
				have_cd = 1;
			} else if (word_is(it->p + ls, colon - ls,
			    "content-type") && !have_ct) {
				have_ct = 1;
			} else {
				return PS_ERR_INVALID_MULTIPART;
			}
		}
	}
	if (i + 2 - start > PS_CAP_MULTIPART_HEADER || !have_cd)
		return PS_ERR_INVALID_MULTIPART;
	*end = i + 2;
	return PS_OK;
}

pserr
multipart_next(struct multipart_iter *it, struct multipart_part *p,
    int *more)
{
	size_t cs, d, after;
	pserr rc;

	*more = 0;
	if (it->done)
		return PS_OK;
	if (it->parts >= PS_CAP_MULTIPART_PARTS)
		return PS_ERR_INVALID_MULTIPART;
	memset(p, 0, sizeof(*p));
	if ((rc = part_headers(it, p, &cs)) != PS_OK)
		return rc;
	/* From the empty line's CRLF on: a delimiter that would use it (a
	 * part without content lines) is refused, as parsers that take it
	 * for one would see another part than those that do not. */
	if ((d = find_delim(it, cs - 2)) == it->len || d < cs)
		return PS_ERR_INVALID_MULTIPART;
	p->value = it->p + cs;
	p->value_len = d - cs;
	after = d + 4 + it->blen;
	if (it->len - after >= 2 && it->p[after] == '-' &&
	    it->p[after + 1] == '-') {
		after += 2;
		/* Nothing after the close delimiter but one CRLF. */
		if (!(after == it->len || (it->len - after == 2 &&
		    it->p[after] == '\r' && it->p[after + 1] == '\n')))
			return PS_ERR_INVALID_MULTIPART;
		it->done = 1;
		it->pos = it->len;
	} else if (it->len - after >= 2 && it->p[after] == '\r' &&
	    it->p[after + 1] == '\n') {
		it->pos = after + 2;
	} else {
		return PS_ERR_INVALID_MULTIPART;
	}
	it->parts++;
	*more = 1;
	return PS_OK;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

static int
is_plain(enum message_endpoint ep, const struct multipart_part *p)
{
	/* Field names are compared as sent: multipart has no escapes. */
	return message_is_plain(ep, ENVELOPE_REQUEST, p->name, p->name_len);
}

/* The bytes multipart_json_string() writes for v. */
static size_t
json_string_len(const char *v, size_t n)
{
	size_t k = 2, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		k += c < 0x20 ? 6 : (c == '"' || c == '\\') ? 2 : 1;
	}
	return k;
}

pserr
multipart_json_string(const char *v, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	pserr rc;

	if ((rc = buf_putc(out, '"')) != PS_OK)
		return rc;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		char e[6] = { '\\', 'u', '0', '0', 0, 0 };

		if (c < 0x20) {
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			rc = buf_append(out, e, 6);
		} else if (c == '"' || c == '\\') {
			e[1] = (char)c;
			rc = buf_append(out, e, 2);
		} else {
			rc = buf_putc(out, (char)c);
		}
		if (rc != PS_OK)
			return rc;
	}
	return buf_putc(out, '"');
}

/*
 * Check the whole body and, with out set, append the wire form's prefix
 * "{" ("name":"value",)* "\"ps2\":\"" for its plain fields, in their
 * order.  With out NULL, *need gets that prefix's length.
 */
static pserr
walk(enum message_endpoint ep, const char *ct, size_t ctlen,
    const char *body, size_t len, struct buf *out, size_t *need)
{
	struct multipart_iter it;
	struct multipart_part p;
	/* The plain names seen so far: the allowlist is short. */
	const char *seen[8];
	size_t seen_len[8], nseen = 0, total = 1 + PS2_MEMBER_LEN, i;
	int more, any = 0;
	pserr rc;

	if ((rc = multipart_begin(&it, ct, ctlen, body, len)) != PS_OK)
		return rc;
	if (out != NULL && (rc = buf_putc(out, '{')) != PS_OK)
		return rc;
	for (;;) {
		if ((rc = multipart_next(&it, &p, &more)) != PS_OK)
			return rc;
		if (!more)
			break;
		any = 1;
		if (!is_plain(ep, &p))
			continue;
		/* A plain field is a value for routing, never a file; two
		 * of one name could be read either way downstream. */
		if (p.filename != NULL ||
		    !utf8_valid((const unsigned char *)p.value, p.value_len))
			return PS_ERR_INVALID_MULTIPART;
		for (i = 0; i < nseen; i++)
			if (seen_len[i] == p.name_len &&
			    memcmp(seen[i], p.name, p.name_len) == 0)
				return PS_ERR_INVALID_MULTIPART;
		if (nseen == sizeof(seen) / sizeof(seen[0]))
			return PS_ERR_INVALID_MULTIPART;
		seen[nseen] = p.name;
		seen_len[nseen++] = p.name_len;
		total += 1 + p.name_len + 2 + json_string_len(p.value,
		    p.value_len) + 1;
		if (out != NULL &&
		    ((rc = buf_putc(out, '"')) != PS_OK ||
		    (rc = buf_append(out, p.name, p.name_len)) != PS_OK ||
		    (rc = buf_append(out, "\":", 2)) != PS_OK ||
		    (rc = multipart_json_string(p.value, p.value_len, out)) !=
		    PS_OK ||
		    (rc = buf_putc(out, ',')) != PS_OK))
			return rc;
	}
	if (!any)
		return PS_ERR_INVALID_MULTIPART;
	if (need != NULL)
		*need = total;
	return out != NULL ? buf_append(out, PS2_MEMBER, PS2_MEMBER_LEN) : PS_OK;
}

pserr
multipart_check(enum message_endpoint ep, const char *ct, size_t ctlen,
    const char *body, size_t len)
{
	size_t need;

	return walk(ep, ct, ctlen, body, len, NULL, &need);
}

pserr
multipart_seal_request(enum message_endpoint ep, const struct envelope_ctx *c,
    uint64_t ts, const char *query, size_t qlen, const char *ct,
    size_t ctlen, const char *body, size_t len, size_t bucket,
    struct buf *out)
{
	struct envelope_part parts[5];
	uint8_t head[REQUEST_HEAD], cl[2];
	size_t start = out->len, need = 0, elen, n;
	int i;
	pserr rc;

	if (c->dir != ENVELOPE_REQUEST || !multipart_endpoint(ep))
		return PS_ERR_ARG;
	if ((rc = message_check_query(query, qlen)) != PS_OK)
		return rc;
	if ((rc = walk(ep, ct, ctlen, body, len, NULL, &need)) != PS_OK)
		return rc;
	for (i = 0; i < 8; i++)
		head[i] = (uint8_t)(ts >> (56 - 8 * i));
	head[8] = (uint8_t)(qlen >> 8);
	head[9] = (uint8_t)qlen;
	cl[0] = (uint8_t)(ctlen >> 8);
	cl[1] = (uint8_t)ctlen;
	parts[0].p = head;
	parts[0].n = sizeof(head);
	parts[1].p = query;
	parts[1].n = qlen;
	parts[2].p = cl;
	parts[2].n = sizeof(cl);
	parts[3].p = ct;
	parts[3].n = ctlen;
	parts[4].p = body;
	parts[4].n = len;
	n = sizeof(head) + qlen + sizeof(cl) + ctlen;
	if (len > SIZE_MAX - n)
		return PS_ERR_TOO_LARGE;
	n += len;
	if ((elen = envelope_text_len(c->dir, n, bucket)) == 0 ||
	    elen > SIZE_MAX - need - 2)
		return PS_ERR_TOO_LARGE;
	/* Reserve it all so the buffer never moves. */
	if ((rc = buf_reserve(out, need + elen + 2)) != PS_OK)
		return rc;
	if ((rc = walk(ep, ct, ctlen, body, len, out, NULL)) != PS_OK ||
	    (rc = envelope_seal(c, 0, 0, parts, 5, bucket, out)) != PS_OK ||
	    (rc = buf_append(out, "\"}", 2)) != PS_OK)
		out->len = start;
	return rc;
}

/* ------------------------------------------------------------ opening */

pserr
multipart_open_request(enum message_endpoint ep, struct envelope_ctx *c,
    message_lookup_fn lookup, void *arg, const char *wire, size_t wlen,
    struct buf *out, struct multipart_request *r)
{
	struct message_request m;
	struct buf want;
	const char *env;
	size_t start = out->len, envlen, plen = 0, ctlen;
	pserr rc;

	/* A recomputed prefix longer than the wire cannot match it. */
	buf_init(&want, wlen);
	c->keyed = 0;
	if (c->dir != ENVELOPE_REQUEST || !multipart_endpoint(ep)) {
		rc = PS_ERR_ARG;
		goto out;
	}
	if (!message_locate(wire, wlen, &env, &envlen, &plen)) {
		rc = message_diagnose(ep, ENVELOPE_REQUEST, wire, wlen);
		goto out;
	}
	if ((rc = message_open_content(c, lookup, arg, env, envlen, out, &m)) !=
	    PS_OK)
		goto out;
	rc = PS_ERR_DECRYPT;
	if (m.len < 2)
		goto out;
	ctlen = (size_t)(uint8_t)m.body[0] << 8 | (uint8_t)m.body[1];
	if (ctlen > m.len - 2)
		goto out;
	r->ts = m.ts;
	r->query = m.query;
	r->qlen = m.qlen;
	r->ct = m.body + 2;
	r->ctlen = ctlen;
	r->body = m.body + 2 + ctlen;
	r->len = m.len - 2 - ctlen;
	/* Only a peer with the key could have sealed a body the parser
	 * refuses: it is not an original, so it does not authenticate. */
	if ((rc = walk(ep, r->ct, r->ctlen, r->body, r->len, &want, NULL)) !=
	    PS_OK) {
		rc = rc == PS_ERR_NOMEM ? rc : PS_ERR_DECRYPT;
		goto out;
	}
	rc = want.len == plen && CRYPTO_memcmp(want.p, wire, plen) == 0 ?
	    PS_OK : PS_ERR_DECRYPT;
out:
	if (rc != PS_OK) {
		if (out->len > start)
			secret_wipe(out->p + start, out->len - start);
		out->len = start;
		secret_wipe(c->key, sizeof(c->key));
		c->keyed = 0;
	}
	buf_free(&want);
	return rc;
}

/* ------------------------------------------------------------ replies */

pserr
multipart_seal_text_reply(const struct envelope_ctx *c, const char *body,
    size_t len, size_t bucket, struct buf *out)
{
	struct envelope_part part = { body, len };
	size_t start = out->len, elen;
	pserr rc;

	if (c->dir != ENVELOPE_RESPONSE)
		return PS_ERR_ARG;
	if ((elen = envelope_text_len(c->dir, len, bucket)) == 0 ||
	    elen > SIZE_MAX - 1 - PS2_MEMBER_LEN - 2)
		return PS_ERR_TOO_LARGE;
	if ((rc = buf_reserve(out, 1 + PS2_MEMBER_LEN + elen + 2)) != PS_OK)
		return rc;
	if ((rc = buf_putc(out, '{')) != PS_OK ||
	    (rc = buf_append(out, PS2_MEMBER, PS2_MEMBER_LEN)) != PS_OK ||
	    (rc = envelope_seal(c, 0, 0, &part, 1, bucket, out)) != PS_OK ||
	    (rc = buf_append(out, "\"}", 2)) != PS_OK)
		out->len = start;
	return rc;
}

pserr
multipart_open_text_reply(struct envelope_ctx *c, message_lookup_fn lookup,
    void *arg, const char *wire, size_t wlen, struct buf *out)
{
	const char *env;
	size_t start = out->len, envlen, plen;
	int was_keyed = c->keyed;
	pserr rc;

	if (c->dir != ENVELOPE_RESPONSE)
		return PS_ERR_ARG;
	if (!message_locate(wire, wlen, &env, &envlen, &plen) || wire[0] != '{')
		return PS_ERR_INVALID_ENVELOPE;
	if ((rc = message_key_reply(c, lookup, arg, env, envlen)) != PS_OK)
		return rc;
	rc = envelope_open(c, 0, 0, env, envlen, out);
	/* No plain member: anything before the envelope was added. */
	if (rc == PS_OK && plen != 1 + PS2_MEMBER_LEN)
		rc = PS_ERR_DECRYPT;
	if (rc != PS_OK) {
		if (out->len > start)
			secret_wipe(out->p + start, out->len - start);
		out->len = start;
		if (!was_keyed && c->keyed) {
			secret_wipe(c->key, sizeof(c->key));
			memset(c->reply, 0, sizeof(c->reply));
			c->keyed = 0;
		}
	}
	return rc;
}
