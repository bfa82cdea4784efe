/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/secret.h"
#include "keys/keyfile.h"
#include "keys/keysync.h"

struct keysync {
	char *path;
	int known;                    /* last content known */
	struct keycache_entry *last;
	size_t n;
};

static int
by_kid(const void *a, const void *b)
{
	return memcmp(((const struct keycache_entry *)a)->kid,
	    ((const struct keycache_entry *)b)->kid, ENVELOPE_KID_LEN);
}

pserr
keysync_new(const char *path, struct keysync **out)
{
	struct keysync *k;
	struct keycache_entry *keys = NULL;
	char why[256];
	size_t n = 0;
	pserr rc;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return PS_ERR_NOMEM;
	if ((k->path = strdup(path)) == NULL) {
		free(k);
		return PS_ERR_NOMEM;
	}
	why[0] = '\0';
	rc = keyfile_read(path, &keys, &n, why, sizeof(why));
	if (rc == PS_OK) {
		/* Our own copy, so every array k holds is freed one way. */
		if (n > 0 && (k->last = malloc(n * sizeof(*keys))) == NULL) {
			keyfile_entries_free(keys, n);
			keysync_free(k);
			return PS_ERR_NOMEM;
		}
		if (n > 0) {
			memcpy(k->last, keys, n * sizeof(*keys));
			secret_sort(k->last, n, sizeof(*keys), by_kid);
		}
		keyfile_entries_free(keys, n);
		k->n = n;
		k->known = 1;
	} else {
		log_info("key cache %s not usable yet (%s): it will be written "
		    "on the first fetch", path, why[0] ? why : pserr_str(rc));
	}
	*out = k;
	return PS_OK;
}

void
keysync_free(struct keysync *k)
{
	if (k == NULL)
		return;
	secret_free(k->last, k->n * sizeof(*k->last));
	free(k->path);
	free(k);
}

pserr
keysync_apply(struct keysync *k, struct keycache_entry *keys, size_t n,
    int *changed)
{
	struct keycache_entry *copy = NULL;
	pserr rc;

	if (changed != NULL)
		*changed = 0;
	if (n > 0)
		secret_sort(keys, n, sizeof(*keys), by_kid);
	if (k->known && k->n == n &&
	    (n == 0 || secret_equal(k->last, keys, n * sizeof(*keys))))
		return PS_OK;
	if (n > 0) {
		if ((copy = malloc(n * sizeof(*copy))) == NULL)
			return PS_ERR_NOMEM;
		memcpy(copy, keys, n * sizeof(*copy));
	}
	if ((rc = keyfile_write(k->path, keys, n)) != PS_OK) {
		secret_free(copy, n * sizeof(*copy));
		return rc;
	}
	secret_free(k->last, k->n * sizeof(*k->last));
	k->last = copy;
	k->n = n;
	k->known = 1;
	if (changed != NULL)
		*changed = 1;
	return PS_OK;
}

void
keysync_backoff_init(struct keysync_backoff *b, int64_t min_ms,
    int64_t max_ms)
{
	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->cur_ms = 0;
}

int64_t
keysync_backoff_next(struct keysync_backoff *b)
{
	if (b->cur_ms == 0)
		b->cur_ms = b->min_ms;
	else if (b->cur_ms <= b->max_ms / 2)
		b->cur_ms *= 2;
	else
		b->cur_ms = b->max_ms;
	return b->cur_ms;
}

void
keysync_backoff_reset(struct keysync_backoff *b)
{
	b->cur_ms = 0;
}
