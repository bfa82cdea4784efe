/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/privfile.h"
#include "core/secret.h"
#include "seal/replay.h"

#define MAGIC "PSREPLY\x01"
#define MAGIC_LEN 8
#define HEADER_LEN 64
#define SALT_LEN 32
#define TAG_LEN 16
#define BUCKET_SLOTS 8
/* A record may go this many buckets past the one its hash picks. */
#define PROBE_BUCKETS 8

/* The header, at offset 0; slots follow at HEADER_LEN. */
struct header {
	char magic[MAGIC_LEN];
	uint64_t slots;
	uint8_t salt[SALT_LEN];
	uint8_t pad[HEADER_LEN - MAGIC_LEN - 8 - SALT_LEN];
};

struct slot {
	uint8_t tag[TAG_LEN];
	int64_t expires;       /* 0: never used */
};

struct replay {
	int fd;
	pthread_mutex_t lock;
	void *map;
	size_t map_len;
	size_t slots;
	struct header *h;
	struct slot *s;
};

static size_t
file_len(size_t slots)
{
	return HEADER_LEN + slots * sizeof(struct slot);
}

/* Write the reason for a failure to why. */
#define SAY(...) do { \
	if (whylen > 0) \
		snprintf(why, whylen, __VA_ARGS__); \
} while (0)

/* Write a fresh header and empty slots into the (locked, empty) file. */
static pserr
create(int fd, size_t slots, char *why, size_t whylen)
{
	struct header h;
	pserr rc;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MAGIC, MAGIC_LEN);
	h.slots = slots;
	if ((rc = secret_random(h.salt, sizeof(h.salt))) != PS_OK)
		return rc;
	/* Slots beyond the header read as zeros: never used. */
	if (ftruncate(fd, (off_t)file_len(slots)) != 0 ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    fsync(fd) != 0) {
		SAY("cannot create the replay table: %s",
		    strerror(errno));
		rc = PS_ERR_IO;
	}
	secret_wipe(&h, sizeof(h));
	return rc;
}

pserr
replay_open(const char *path, size_t slots, struct replay **out, char *why,
    size_t whylen)
{
	struct replay *r = NULL;
	struct header h;
	struct stat st;
	int fd = -1, locked = 0;
	pserr rc = PS_ERR_IO;

	if (whylen > 0)
		why[0] = '\0';
	if (slots < REPLAY_SLOTS_MIN || slots > REPLAY_SLOTS_MAX ||
	    slots % BUCKET_SLOTS != 0) {
		SAY("%s", "bad number of replay slots");
		return PS_ERR_ARG;
	}
	/* Whoever may create names in the directory could swap the table
	 * for one of their own between two workers' opens. */
	if ((rc = privfile_check_dir(path, why, whylen)) != PS_OK)
		goto out;
	rc = PS_ERR_IO;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0) {
		SAY("cannot open the replay table: %s",
		    strerror(errno));
		goto out;
	}
	if ((rc = privfile_check_fd(fd, why, whylen)) != PS_OK)
		goto out;
	rc = PS_ERR_IO;
	/* Whoever holds the lock first on an empty file makes the table;
	 * everyone else waits for that and finds it made. */
	if (flock(fd, LOCK_EX) != 0) {
		SAY("cannot lock the replay table: %s",
		    strerror(errno));
		goto out;
	}
	locked = 1;
	if (fstat(fd, &st) != 0) {
		SAY("cannot stat the replay table: %s",
		    strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		if ((rc = create(fd, slots, why, whylen)) != PS_OK)
			goto out;
	} else {
		rc = PS_ERR_CORRUPT;
		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		    memcmp(h.magic, MAGIC, MAGIC_LEN) != 0) {
			SAY("%s", "the file is not a replay table");
			goto out;
		}
		if (h.slots != slots || (uint64_t)st.st_size !=
		    (uint64_t)file_len(slots)) {
			SAY("%s", "the replay table was made with "
			    "another number of slots: remove it to change that");
			goto out;
		}
		secret_wipe(&h, sizeof(h));
	}
	/* Every block of the table is allocated before it is mapped: a
	 * write into a hole of a full file system through the mapping would
	 * kill the worker with SIGBUS; this way it fails here, once, with a
	 * reason.  Tables made sparse by earlier versions are filled in. */
	if ((errno = posix_fallocate(fd, 0, (off_t)file_len(slots))) != 0) {
		SAY("cannot allocate the replay table: %s", strerror(errno));
		rc = PS_ERR_IO;
		goto out;
	}
	/* The table is made: the mapping needs no lock. */
	(void)flock(fd, LOCK_UN);
	locked = 0;
	rc = PS_ERR_NOMEM;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->fd = -1;
	r->map_len = file_len(slots);
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		SAY("cannot map the replay table: %s",
		    strerror(errno));
		rc = PS_ERR_IO;
		goto out;
	}
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		goto out;
	r->fd = fd;
	fd = -1;
	r->slots = slots;
	r->h = r->map;
	r->s = (struct slot *)((char *)r->map + HEADER_LEN);
	*out = r;
	r = NULL;
	rc = PS_OK;
out:
	if (locked)
		(void)flock(fd, LOCK_UN);
	if (fd >= 0)
		close(fd);
	if (r != NULL) {
		if (r->map != NULL)
			munmap(r->map, r->map_len);
		free(r);
	}
	return rc;
}

size_t
replay_slots(const struct replay *r)
{
	return r->slots;
}

void
replay_close(struct replay *r)
{
	if (r == NULL)
		return;
	munmap(r->map, r->map_len);
	close(r->fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The table's keyed hash of (kid, nonce): 16 bytes of tag and a bucket. */
static pserr
hash(const struct replay *r, const uint8_t *kid, const uint8_t *nonce,
    uint8_t tag[TAG_LEN], size_t *bucket)
{
	uint8_t in[SALT_LEN + ENVELOPE_KID_LEN + ENVELOPE_NONCE_LEN], md[32];
	unsigned int mdlen = 0;
	uint64_t b = 0;
	int i;

	memcpy(in, r->h->salt, SALT_LEN);
	memcpy(in + SALT_LEN, kid, ENVELOPE_KID_LEN);
	memcpy(in + SALT_LEN + ENVELOPE_KID_LEN, nonce, ENVELOPE_NONCE_LEN);
	if (EVP_Digest(in, sizeof(in), md, &mdlen, envelope_sha256(),
	    NULL) != 1 || mdlen != sizeof(md)) {
		secret_wipe(in, sizeof(in));
		return PS_ERR_CRYPTO;
	}
	secret_wipe(in, sizeof(in));
	memcpy(tag, md, TAG_LEN);
	for (i = 0; i < 8; i++)
		b = b << 8 | md[TAG_LEN + i];
	*bucket = (size_t)(b % (r->slots / BUCKET_SLOTS));
	return PS_OK;
}

pserr
replay_check(struct replay *r, const uint8_t kid[ENVELOPE_KID_LEN],
    const uint8_t nonce[ENVELOPE_NONCE_LEN], int64_t expires, int64_t now)
{
	uint8_t tag[TAG_LEN];
	size_t bucket, nb = r->slots / BUCKET_SLOTS, i, free_at = SIZE_MAX;
	size_t probe = nb < PROBE_BUCKETS ? nb : PROBE_BUCKETS;
	pserr rc;

	if ((rc = hash(r, kid, nonce, tag, &bucket)) != PS_OK)
		return rc;
	if (pthread_mutex_lock(&r->lock) != 0)
		return PS_ERR_IO;
	if (flock(r->fd, LOCK_EX) != 0) {
		pthread_mutex_unlock(&r->lock);
		return PS_ERR_IO;
	}
	/* Every slot a record of this pair could sit in is looked at, so a
	 * free slot before a live record cannot hide it. */
	rc = PS_ERR_REPLAY_FULL;
	for (i = 0; i < probe * BUCKET_SLOTS; i++) {
		struct slot *s = &r->s[((bucket + i / BUCKET_SLOTS) % nb) *
		    BUCKET_SLOTS + i % BUCKET_SLOTS];

		if (s->expires < now) {
			if (free_at == SIZE_MAX)
				free_at = (size_t)(s - r->s);
			continue;
		}
		if (CRYPTO_memcmp(s->tag, tag, TAG_LEN) == 0) {
			rc = PS_ERR_REPLAYED;
			goto out;
		}
	}
	if (free_at != SIZE_MAX) {
		memcpy(r->s[free_at].tag, tag, TAG_LEN);
		r->s[free_at].expires = expires;
		rc = PS_OK;
	}
out:
	(void)flock(r->fd, LOCK_UN);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

pserr
replay_admit(struct replay *r, const uint8_t kid[ENVELOPE_KID_LEN],
    const uint8_t nonce[ENVELOPE_NONCE_LEN], uint64_t ts, int64_t now,
    long window)
{
	/* The clock before 1970 or a window past reason: refuse, do not
	 * wrap. */
	if (now < 0 || window < 0 || window > 86400 * 365)
		return PS_ERR_STALE;
	if (ts > (uint64_t)now + REPLAY_SKEW ||
	    ts + (uint64_t)window < (uint64_t)now)
		return PS_ERR_STALE;
	return replay_check(r, kid, nonce, (int64_t)ts + window, now);
}
