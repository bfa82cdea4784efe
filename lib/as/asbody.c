/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "as/asbody.h"
#include "seal/jscan.h"

/* A JSON number token (as jscan accepted it) as an int64; -1 when it has a
 * fraction or an exponent or does not fit. */
static int
whole_number(const char *v, size_t n, int64_t *out)
{
	const uint64_t limit = UINT64_C(1) << 63;
	uint64_t acc = 0;
	size_t i = 0;
	int neg = 0;

	if (i < n && v[i] == '-') {
		neg = 1;
		i++;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9')
			return -1;
		d = (unsigned)(v[i] - '0');
		if (acc > limit / 10 || acc * 10 + d > limit)
			return -1;
		acc = acc * 10 + d;
	}
	if (!neg && acc > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

/* Unescape the n bytes of string contents s into out, which ends up with
 * at most max bytes.  out is empty on failure: PS_ERR_INVALID_JSON, or
 * PS_ERR_NOMEM. */
static pserr
unescape_capped(const char *s, size_t n, size_t max, struct buf *out)
{
	pserr rc;

	/* Escapes only shrink a string: room for n bytes is enough, and the
	 * limit applies to what they stand for. */
	out->max = n > max ? n : max;
	if ((rc = jscan_unescape(s, n, out)) == PS_OK && out->len > max)
		rc = PS_ERR_INVALID_JSON;
	out->max = max;
	if (rc == PS_OK && buf_cstr(out) == NULL)
		rc = PS_ERR_NOMEM;
	if (rc != PS_OK)
		buf_reset(out);
	return rc;
}

/* The field of f that the member m names into *hit, NULL for none.
 * PS_ERR_INVALID_JSON when the name is malformed or too long. */
static pserr
find_field(const struct jscan_member *m, struct asbody_field *f, size_t nf,
    struct asbody_field **hit)
{
	struct buf name;
	const char *p = m->name;
	size_t len = m->name_len, i;
	pserr rc = PS_OK;

	*hit = NULL;
	buf_init(&name, ASBODY_NAME_MAX);
	if (m->name_escaped) {
		if ((rc = unescape_capped(m->name, m->name_len,
		    ASBODY_NAME_MAX, &name)) != PS_OK)
			goto out;
		p = name.p;
		len = name.len;
	} else if (len > ASBODY_NAME_MAX) {
		rc = PS_ERR_INVALID_JSON;
		goto out;
	}
	for (i = 0; i < nf; i++)
		if (strlen(f[i].name) == len && memcmp(f[i].name, p, len) == 0)
			*hit = &f[i];
out:
	buf_free(&name);
	return rc;
}

/* Take the value of member m into the field it names. */
static pserr
take_value(const struct jscan_member *m, struct asbody_field *hit)
{
	const char *v = m->value;
	size_t n = m->value_len;

	if (hit->seen)
		return PS_ERR_INVALID_JSON;
	hit->seen = 1;
	if (hit->type == ASBODY_INT)
		return whole_number(v, n, &hit->num) == 0 ? PS_OK :
		    PS_ERR_INVALID_JSON;
	if (n < 2 || v[0] != '"')
		return PS_ERR_INVALID_JSON;
	return unescape_capped(v + 1, n - 2, hit->max, &hit->str);
}

pserr
asbody_parse(const char *s, size_t n, struct asbody_field *f, size_t nf)
{
	struct jscan_object it;
	struct jscan_member m;
	struct asbody_field *hit;
	size_t i;
	int more = 1;
	pserr rc;

	for (i = 0; i < nf; i++) {
		buf_init(&f[i].str, f[i].max);
		f[i].num = 0;
		f[i].seen = 0;
	}
	if ((rc = jscan_object_begin(&it, s, n)) != PS_OK)
		return rc;
	while ((rc = jscan_object_next(&it, &m, &more)) == PS_OK && more) {
		if ((rc = find_field(&m, f, nf, &hit)) != PS_OK)
			return rc;
		if (hit != NULL) {
			if ((rc = take_value(&m, hit)) != PS_OK)
				return rc;
		} else if (m.value[0] == '{' || m.value[0] == '[') {
			/* The bodies are flat: nothing nested is expected,
			 * so nothing nested is taken. */
			return PS_ERR_INVALID_JSON;
		}
	}
	return rc;
}

void
asbody_free(struct asbody_field *f, size_t nf)
{
	size_t i;

	for (i = 0; i < nf; i++)
		buf_free(&f[i].str);
}

