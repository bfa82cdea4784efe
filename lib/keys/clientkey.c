/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/log.h"
#include "core/privfile.h"
#include "core/secret.h"
#include "keys/clientkey.h"
#include "keys/keyfile.h"

struct clientkey {
	char *path;
	char *lock_path;
	int64_t ttl;
	clientkey_upload_fn upload;
	void *upload_arg;
	/* One rotation or upload at a time in this process; held around the
	 * flock and every call of upload.  Taken before lock, never after. */
	pthread_mutex_t rot;
	int64_t last_sync_try;       /* clientkey_get's last rotation */
	unsigned failures;           /* uploads failed in a row */
	int64_t last_fail_log;
	/* The keys of the state file as last read. */
	pthread_mutex_t lock;
	struct keycache_entry *keys;
	size_t n;
	struct privfile_stamp seen;   /* the state file when last read */
	int have_seen;
};

int64_t
clientkey_grace(int64_t ttl)
{
	return ttl >= 20 ? 2 : 1;
}

int64_t
clientkey_lead(int64_t ttl)
{
	/* A key counts as uploaded at the start of its second, and the tick
	 * that rotates can come up to a second late: +2 keeps the old key
	 * alive for about ttl / 3 after the new one takes over. */
	return ttl / 3 + clientkey_grace(ttl) + 2;
}

int
clientkey_due(const struct keycache_entry *keys, size_t n, int64_t ttl,
    int64_t now)
{
	int64_t last = 0;
	size_t i;
	int any = 0;

	for (i = 0; i < n; i++) {
		if (keys[i].expires <= now)
			continue;
		if (!any || keys[i].expires > last)
			last = keys[i].expires;
		any = 1;
	}
	return !any || last - now < clientkey_lead(ttl);
}

int
clientkey_pick(const struct keycache_entry *keys, size_t n, int64_t ttl,
    int64_t now)
{
	int64_t grace = clientkey_grace(ttl);
	size_t i;
	int ready = -1, any = -1;

	for (i = 0; i < n; i++) {
		if (keys[i].expires <= now)
			continue;
		if (any < 0 || keys[i].expires > keys[any].expires)
			any = (int)i;
		if (now - (keys[i].expires - ttl) > grace &&
		    (ready < 0 || keys[i].expires > keys[ready].expires))
			ready = (int)i;
	}
	return ready >= 0 ? ready : any;
}

static char *
concat(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);

	if (s != NULL) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

/*
 * Load the state file into ck when it changed since the last look.  A
 * file that cannot be used leaves the keys as they were and is logged
 * once per change; a missing one is the normal start.
 */
static void
reload(struct clientkey *ck)
{
	struct keycache_entry *keys = NULL;
	struct privfile_stamp sig;
	char why[256];
	size_t n = 0;

	pthread_mutex_lock(&ck->lock);
	privfile_stamp(ck->path, &sig);
	if (ck->have_seen && privfile_stamp_equal(&sig, &ck->seen))
		goto out;
	ck->seen = sig;
	ck->have_seen = 1;
	if (sig.err == ENOENT) {
		log_debug("key state %s: not there yet", ck->path);
		goto out;
	}
	why[0] = '\0';
	if (sig.err != 0 ||
	    keyfile_read(ck->path, &keys, &n, why, sizeof(why)) != PS_OK) {
		log_warn("key state %s: %s; keeping the %zu key(s) in use",
		    ck->path, why[0] ? why : "cannot stat", ck->n);
		goto out;
	}
	keyfile_entries_free(ck->keys, ck->n);
	ck->keys = keys;
	ck->n = n;
	log_debug("key state %s: loaded %zu key(s)", ck->path, n);
out:
	pthread_mutex_unlock(&ck->lock);
}

pserr
clientkey_new(const struct clientkey_cfg *cfg, struct clientkey **out)
{
	struct clientkey *ck;

	if (cfg == NULL || cfg->state_path == NULL || cfg->upload == NULL ||
	    cfg->ttl < CLIENTKEY_MIN_TTL || cfg->ttl > CLIENTKEY_MAX_TTL)
		return PS_ERR_ARG;
	if ((ck = calloc(1, sizeof(*ck))) == NULL)
		return PS_ERR_NOMEM;
	ck->path = strdup(cfg->state_path);
	ck->lock_path = concat(cfg->state_path, ".lock");
	if (ck->path == NULL || ck->lock_path == NULL) {
		free(ck->path);
		free(ck->lock_path);
		free(ck);
		return PS_ERR_NOMEM;
	}
	ck->ttl = cfg->ttl;
	ck->upload = cfg->upload;
	ck->upload_arg = cfg->upload_arg;
	ck->last_sync_try = -1;
	pthread_mutex_init(&ck->rot, NULL);
	pthread_mutex_init(&ck->lock, NULL);
	reload(ck);
	*out = ck;
	return PS_OK;
}

void
clientkey_free(struct clientkey *ck)
{
	if (ck == NULL)
		return;
	pthread_mutex_destroy(&ck->rot);
	pthread_mutex_destroy(&ck->lock);
	keyfile_entries_free(ck->keys, ck->n);
	free(ck->path);
	free(ck->lock_path);
	free(ck);
}

/* The state file as it is now; a missing file is an empty set.  why gets
 * the reason of a failure. */
static pserr
read_state(struct clientkey *ck, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen)
{
	char r[200];
	pserr rc;

	*keys = NULL;
	*n = 0;
	if (access(ck->path, F_OK) != 0 && errno == ENOENT)
		return PS_OK;
	r[0] = '\0';
	rc = keyfile_read(ck->path, keys, n, r, sizeof(r));
	if (rc != PS_OK)
		pserr_why(why, whylen, "key state %s: %s; it is not replaced "
		    "until fixed", ck->path, r[0] ? r : pserr_str(rc));
	return rc;
}

static int
by_expiry_desc(const void *a, const void *b)
{
	int64_t x = ((const struct keycache_entry *)a)->expires;
	int64_t y = ((const struct keycache_entry *)b)->expires;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Write the state file: fresh first, then the unexpired keys of old (at
 * most PS_CAP_CLIENT_KEYS in all, the ones that expire last).
 */
static pserr
write_state(struct clientkey *ck, const struct keycache_entry *fresh,
    struct keycache_entry *old, size_t n, int64_t now, size_t *written)
{
	struct keycache_entry *all;
	size_t i, m = 0;
	pserr rc;

	if ((all = calloc(n + 1, sizeof(*all))) == NULL)
		return PS_ERR_NOMEM;
	all[m++] = *fresh;
	if (n > 0)
		secret_sort(old, n, sizeof(*old), by_expiry_desc);
	for (i = 0; i < n && m < PS_CAP_CLIENT_KEYS; i++)
		if (old[i].expires > now)
			all[m++] = old[i];
	rc = keyfile_write(ck->path, all, m);
	secret_free(all, (n + 1) * sizeof(*all));
	if (rc == PS_OK)
		*written = m;
	return rc;
}

/*
 * Open and lock "<state>.lock": *fd >= 0 with the lock held (closing it
 * lets go), or *fd = -1 and PS_OK when !wait and another holds it.
 */
static pserr
lock_state(struct clientkey *ck, int wait, int *fd, char *why, size_t whylen)
{
	int f, e;

	*fd = -1;
	f = open(ck->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		pserr_why(why, whylen, "cannot open %s: %m", ck->lock_path);
		return PS_ERR_IO;
	}
	while (flock(f, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
		if ((e = errno) == EINTR)
			continue;
		close(f);
		if (e == EWOULDBLOCK)
			return PS_OK;   /* another process is rotating */
		errno = e;
		pserr_why(why, whylen, "cannot lock %s: %m", ck->lock_path);
		return PS_ERR_IO;
	}
	*fd = f;
	return PS_OK;
}

/* Make a key that expires after the ttl and get it to the AS; fresh is
 * wiped on failure. */
static pserr
new_key(struct clientkey *ck, int64_t now, struct keycache_entry *fresh,
    char *why, size_t whylen)
{
	int64_t as_expires = 0;
	pserr rc;

	if ((rc = keyfile_generate(fresh, now + ck->ttl)) != PS_OK) {
		pserr_why(why, whylen, "cannot make a key: %s", pserr_str(rc));
		return rc;
	}
	why[0] = '\0';
	rc = ck->upload(ck->upload_arg, fresh, &as_expires, why, whylen);
	if (rc == PS_ERR_EXISTS)
		pserr_why(why, whylen, "the AS holds the new kid already");
	else if (rc != PS_OK && why[0] == '\0')
		pserr_why(why, whylen, "%s", pserr_str(rc));
	/* The AS forgets the key at its own expiry; so do we. */
	if (rc == PS_OK && as_expires < fresh->expires)
		fresh->expires = as_expires;
	if (rc == PS_OK && fresh->expires <= now) {
		pserr_why(why, whylen, "the AS gave the key an expiry in the "
		    "past (are the clocks in step?)");
		rc = PS_ERR_BAD_UPSTREAM;
	}
	if (rc != PS_OK)
		secret_wipe(fresh, sizeof(*fresh));
	return rc;
}

/*
 * One rotation, with ck->rot held by the caller: under the flock, re-read
 * the file and, when a rotation is still due, make, upload and write a new
 * key.  why gets the reason of a failure.  *rotated is 1 when this call
 * wrote the file.  A lock held by another (only when !wait) is PS_OK.
 */
static pserr
rotate(struct clientkey *ck, int64_t now, int wait, int *rotated,
    char *why, size_t whylen)
{
	struct keycache_entry *keys = NULL, fresh;
	size_t n = 0, written = 0;
	int fd = -1;
	pserr rc;

	*rotated = 0;
	memset(&fresh, 0, sizeof(fresh));
	if ((rc = lock_state(ck, wait, &fd, why, whylen)) != PS_OK || fd < 0)
		goto out;
	if ((rc = read_state(ck, &keys, &n, why, whylen)) != PS_OK)
		goto out;
	if (!clientkey_due(keys, n, ck->ttl, now))
		goto out;               /* another process rotated */
	if ((rc = new_key(ck, now, &fresh, why, whylen)) != PS_OK)
		goto out;
	if ((rc = write_state(ck, &fresh, keys, n, now, &written)) != PS_OK) {
		pserr_why(why, whylen, "cannot write the key state file: %s",
		    pserr_str(rc));
		goto out;
	}
	*rotated = 1;
	if (written > 1)
		log_info("rotated: a new key is at the AS and takes over in "
		    "about %lld s; %zu keys in the state file",
		    (long long)clientkey_grace(ck->ttl) + 1, written);
	else
		log_info("a new key is at the AS and in use");
out:
	if (fd >= 0)
		close(fd);              /* releases the flock */
	keyfile_entries_free(keys, n);
	secret_wipe(&fresh, sizeof(fresh));
	return rc;
}

/* Log a failed upload: the first, then one line a minute; ck->rot held. */
static void
note(struct clientkey *ck, pserr rc, int64_t now, const char *what,
    const char *why)
{
	if (rc == PS_OK) {
		if (ck->failures > 0)
			log_info("%s works again after %u failed tries", what,
			    ck->failures);
		ck->failures = 0;
		return;
	}
	ck->failures++;
	if (ck->failures == 1 || now - ck->last_fail_log >= 60) {
		log_warn("%s failed: %s (%u tries in a row); the keys in use "
		    "stay until they expire", what, why, ck->failures);
		ck->last_fail_log = now;
	} else {
		log_debug("%s failed: %s", what, why);
	}
}

/* Copy the key to use at now; PS_ERR_NO_KEY without one. */
static pserr
pick_copy(struct clientkey *ck, int64_t now, struct keycache_entry *out)
{
	int i;

	pthread_mutex_lock(&ck->lock);
	i = clientkey_pick(ck->keys, ck->n, ck->ttl, now);
	if (i >= 0)
		*out = ck->keys[i];
	pthread_mutex_unlock(&ck->lock);
	return i >= 0 ? PS_OK : PS_ERR_NO_KEY;
}

pserr
clientkey_get(struct clientkey *ck, int64_t now, struct keycache_entry *out)
{
	char why[256];
	int rotated;
	pserr rc;

	reload(ck);
	if (pick_copy(ck, now, out) == PS_OK)
		return PS_OK;
	pthread_mutex_lock(&ck->rot);
	/* Threads that queued here behind a rotation find its key below. */
	if (ck->last_sync_try != now) {
		ck->last_sync_try = now;
		why[0] = '\0';
		rc = rotate(ck, now, 1, &rotated, why, sizeof(why));
		note(ck, rc, now, "key rotation", why);
	}
	pthread_mutex_unlock(&ck->rot);
	reload(ck);
	return pick_copy(ck, now, out);
}

pserr
clientkey_tick(struct clientkey *ck, int64_t now, int *rotated)
{
	char why[256];
	int due, r = 0;
	pserr rc = PS_OK;

	reload(ck);
	pthread_mutex_lock(&ck->lock);
	due = clientkey_due(ck->keys, ck->n, ck->ttl, now);
	pthread_mutex_unlock(&ck->lock);
	if (due && pthread_mutex_trylock(&ck->rot) == 0) {
		why[0] = '\0';
		rc = rotate(ck, now, 0, &r, why, sizeof(why));
		note(ck, rc, now, "key rotation", why);
		pthread_mutex_unlock(&ck->rot);
		if (r)
			reload(ck);
	}
	if (rotated != NULL)
		*rotated = r;
	return rc;
}

pserr
clientkey_reupload(struct clientkey *ck, const struct keycache_entry *key,
    int64_t now)
{
	char why[256];
	int64_t expires;
	pserr rc;

	if (key->expires <= now)
		return PS_ERR_NO_KEY;
	why[0] = '\0';
	pthread_mutex_lock(&ck->rot);
	rc = ck->upload(ck->upload_arg, key, &expires, why, sizeof(why));
	pthread_mutex_unlock(&ck->rot);
	if (rc == PS_ERR_EXISTS)
		return PS_OK;
	if (rc != PS_OK)
		log_warn("uploading a key again failed: %s",
		    why[0] ? why : pserr_str(rc));
	return rc;
}
