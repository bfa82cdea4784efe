/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/privfile.h"
#include "keys/keycache.h"
#include "keys/keyfile.h"

struct keycache {
	char *path;
	/* Serialises reloads.  seen and have_seen change only with both
	 * locks held: read under either. */
	pthread_mutex_t reload;
	struct privfile_stamp seen;
	int have_seen;
	/* After a read that failed for a passing reason (EMFILE, ENOMEM, an
	 * I/O error), the file is read again from this second on, changed
	 * or not: keysync rewrites it only when the keys change.  0: not. */
	int64_t retry_at;
	/* Guards keys and n.  They change only with both locks held, so a
	 * reloading thread may read them under reload alone. */
	pthread_rwlock_t lock;
	struct keycache_entry *keys;
	size_t n;
	int64_t mtime;       /* of the file the keys came from; 0: none yet */
};

pserr
keycache_open(const char *path, struct keycache **out)
{
	struct keycache *kc;
	pthread_rwlockattr_t attr;
	int locks = 0;
	pserr rc = PS_ERR_NOMEM;

	if (path == NULL || out == NULL)
		return PS_ERR_ARG;
	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		goto out;
	if ((kc->path = strdup(path)) == NULL)
		goto out;
	if (pthread_mutex_init(&kc->reload, NULL) != 0)
		goto out;
	locks = 1;
	if (pthread_rwlockattr_init(&attr) != 0)
		goto out;
#ifdef __GLIBC__
	/* Readers come in a steady stream; a reload must not wait for a
	 * gap between them. */
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	if (pthread_rwlock_init(&kc->lock, &attr) != 0) {
		pthread_rwlockattr_destroy(&attr);
		goto out;
	}
	pthread_rwlockattr_destroy(&attr);
	locks = 2;
	keycache_refresh(kc);
	*out = kc;
	kc = NULL;
	rc = PS_OK;
out:
	if (kc != NULL) {
		if (locks >= 1)
			pthread_mutex_destroy(&kc->reload);
		free(kc->path);
		free(kc);
	}
	return rc;
}

void
keycache_close(struct keycache *kc)
{
	if (kc == NULL)
		return;
	pthread_rwlock_destroy(&kc->lock);
	pthread_mutex_destroy(&kc->reload);
	keyfile_entries_free(kc->keys, kc->n);
	free(kc->path);
	free(kc);
}

/* 1 when the file of stamp sig was read already (and need not be read
 * again for a passing failure), under either lock. */
static int
seen_it(const struct keycache *kc, const struct privfile_stamp *sig)
{
	return kc->have_seen && privfile_stamp_equal(sig, &kc->seen) &&
	    (kc->retry_at == 0 || (int64_t)time(NULL) < kc->retry_at);
}

void
keycache_refresh(struct keycache *kc)
{
	struct keycache_entry *keys = NULL, *old;
	struct privfile_stamp sig;
	char why[256];
	size_t n = 0, oldn;
	int same;
	pserr rc;

	if (kc == NULL)
		return;
	/* Every request comes here.  When nothing changed (nearly always)
	 * it costs a stat and a look under the read lock, so requests do not
	 * queue behind one another's stat on the reload mutex. */
	privfile_stamp(kc->path, &sig);
	pthread_rwlock_rdlock(&kc->lock);
	same = seen_it(kc, &sig);
	pthread_rwlock_unlock(&kc->lock);
	if (same)
		return;
	pthread_mutex_lock(&kc->reload);
	/* Another thread may have loaded it meanwhile. */
	privfile_stamp(kc->path, &sig);
	if (seen_it(kc, &sig))
		goto out;
	if (sig.err != 0) {
		errno = sig.err;
		pserr_why(why, sizeof(why), "cannot stat: %m");
		rc = PS_ERR_IO;
	} else {
		rc = keyfile_read(kc->path, &keys, &n, why, sizeof(why));
	}
	pthread_rwlock_wrlock(&kc->lock);
	kc->seen = sig;
	kc->have_seen = 1;
	kc->retry_at = sig.err == 0 && (rc == PS_ERR_IO || rc == PS_ERR_NOMEM) ?
	    (int64_t)time(NULL) + 1 : 0;
	pthread_rwlock_unlock(&kc->lock);
	if (rc != PS_OK) {
		if (kc->n > 0)
			log_warn("key cache %s: %s; keeping the %zu keys in use",
			    kc->path, why, kc->n);
		else
			log_warn("key cache %s: %s; no keys in use", kc->path,
			    why);
		goto out;
	}
	pthread_rwlock_wrlock(&kc->lock);
	old = kc->keys;
	oldn = kc->n;
	kc->keys = keys;
	kc->n = n;
	kc->mtime = (int64_t)sig.mtim.tv_sec;
	pthread_rwlock_unlock(&kc->lock);
	keyfile_entries_free(old, oldn);
	log_info("key cache %s: loaded %zu keys", kc->path, n);
out:
	pthread_mutex_unlock(&kc->reload);
}

pserr
keycache_find(struct keycache *kc, const uint8_t kid[ENVELOPE_KID_LEN],
    int64_t now, uint8_t secret[ENVELOPE_KEY_LEN])
{
	size_t i;
	int live = 0;
	pserr rc = PS_ERR_NO_KEY;

	if (kc == NULL || kid == NULL || secret == NULL)
		return PS_ERR_ARG;
	pthread_rwlock_rdlock(&kc->lock);
	for (i = 0; i < kc->n; i++) {
		const struct keycache_entry *e = &kc->keys[i];

		if (e->expires <= now)
			continue;
		live = 1;
		/* Kids are public: a plain comparison is enough. */
		if (memcmp(e->kid, kid, ENVELOPE_KID_LEN) == 0) {
			memcpy(secret, e->secret, ENVELOPE_KEY_LEN);
			rc = PS_OK;
			break;
		}
	}
	if (rc != PS_OK && live)
		rc = PS_ERR_UNKNOWN_KEY;
	pthread_rwlock_unlock(&kc->lock);
	return rc;
}

pserr
keycache_newest(struct keycache *kc, int64_t now, struct keycache_entry *out)
{
	const struct keycache_entry *best = NULL;
	size_t i;
	pserr rc = PS_ERR_NO_KEY;

	if (kc == NULL || out == NULL)
		return PS_ERR_ARG;
	pthread_rwlock_rdlock(&kc->lock);
	for (i = 0; i < kc->n; i++) {
		const struct keycache_entry *e = &kc->keys[i];

		if (e->expires > now && (best == NULL ||
		    e->expires > best->expires))
			best = e;
	}
	if (best != NULL) {
		*out = *best;
		rc = PS_OK;
	}
	pthread_rwlock_unlock(&kc->lock);
	return rc;
}

void
keycache_stats(struct keycache *kc, int64_t now, size_t *usable,
    int64_t *mtime)
{
	size_t i, k = 0;

	*usable = 0;
	*mtime = 0;
	if (kc == NULL)
		return;
	pthread_rwlock_rdlock(&kc->lock);
	for (i = 0; i < kc->n; i++)
		if (kc->keys[i].expires > now)
			k++;
	*usable = k;
	*mtime = kc->mtime;
	pthread_rwlock_unlock(&kc->lock);
}
