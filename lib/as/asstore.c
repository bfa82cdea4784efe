/* SPDX-License-Identifier: ISC */
#include "config.h"

#include "as/asstore.h"

pserr
asstore_put(struct asstore *s, const struct keycache_entry *e, int64_t now)
{
	return s->ops->put(s, e, "", 0, now);
}

pserr
asstore_put_for(struct asstore *s, const struct keycache_entry *e,
    const char *tenant, size_t tenant_limit, int64_t now)
{
	return s->ops->put(s, e, tenant, tenant_limit, now);
}

pserr
asstore_list(struct asstore *s, int64_t now, struct keycache_entry **keys,
    size_t *n)
{
	return s->ops->list(s, now, keys, n);
}

pserr
asstore_purge(struct asstore *s, int64_t now)
{
	return s->ops->purge(s, now);
}

pserr
asstore_challenge_use(struct asstore *s,
    const uint8_t c[RELEASE_CHALLENGE_LEN], int64_t expires, int64_t now)
{
	return s->ops->challenge_use(s, c, expires, now);
}

void
asstore_close(struct asstore *s)
{
	if (s != NULL)
		s->ops->close(s);
}
