#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/secret.h"
#include "keys/keycache.h"

/* The file nests three levels: the top object, the keys array, one key. */
#define JSON_DEPTH 4
#define SECRET_TEXT_LEN CODEC_B64_LEN(ENVELOPE_KEY_LEN)
#define KID_TEXT_LEN CODEC_HEX_LEN(ENVELOPE_KID_LEN)
#define READ_CHUNK 4096
#define TEMP_TRIES 8

static int
expires_ok(int64_t expires)
{
	/* INT64_MAX is where the JSON parser clamps larger numbers, so it
	 * cannot be told from an overflow. */
	return expires >= 0 && expires < INT64_MAX;
}

/* Write a reason to why.  Keeps errno, so "%m" may be used. */
static void PS_PRINTF(3, 4)
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int
kid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ENVELOPE_KID_LEN);
}

/* Set *dup when two of the n entries share a kid. */
static pserr
find_duplicate(const struct keycache_entry *e, size_t n, int *dup)
{
	uint8_t (*kids)[ENVELOPE_KID_LEN];
	size_t i;

	*dup = 0;
	if (n < 2)
		return PS_OK;
	if ((kids = calloc(n, sizeof(*kids))) == NULL)
		return PS_ERR_NOMEM;
	for (i = 0; i < n; i++)
		memcpy(kids[i], e[i].kid, ENVELOPE_KID_LEN);
	qsort(kids, n, sizeof(*kids), kid_cmp);
	for (i = 1; i < n; i++)
		if (memcmp(kids[i - 1], kids[i], ENVELOPE_KID_LEN) == 0)
			*dup = 1;
	free(kids);
	return PS_OK;
}

pserr
keycache_generate(struct keycache_entry *e, int64_t expires)
{
	pserr rc;

	if (e == NULL)
		return PS_ERR_ARG;
	if (!expires_ok(expires)) {
		secret_wipe(e, sizeof(*e));
		return PS_ERR_ARG;
	}
	if ((rc = secret_random(e->kid, sizeof(e->kid))) != PS_OK ||
	    (rc = secret_random(e->secret, sizeof(e->secret))) != PS_OK) {
		secret_wipe(e, sizeof(*e));
		return rc;
	}
	e->expires = expires;
	return PS_OK;
}

void
keycache_entries_free(struct keycache_entry *keys, size_t n)
{
	secret_free(keys, n * sizeof(*keys));
}

/* ------------------------------------------------------------- writing */

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

/*
 * "<dir>/.<name>.tmp.<16 hex>": hidden, in the same directory (rename
 * must not cross file systems), and a random part nobody can predict to
 * plant a file or link there first.
 */
static pserr
temp_name(const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = (size_t)(base - path), len;
	uint8_t rnd[8];
	char hex[CODEC_HEX_LEN(sizeof(rnd)) + 1], *t;
	pserr rc;

	if ((rc = secret_random(rnd, sizeof(rnd))) != PS_OK)
		return rc;
	hex[codec_hex_encode(rnd, sizeof(rnd), hex)] = 0;
	len = strlen(path) + sizeof(hex) + 8;
	if ((t = malloc(len)) == NULL)
		return PS_ERR_NOMEM;
	snprintf(t, len, "%.*s.%s.tmp.%s", (int)dirlen, path, base, hex);
	*out = t;
	return PS_OK;
}

/* The directory that holds path, for its fsync after the rename. */
static char *
dir_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static pserr
create_temp(const char *path, char **tmp, int *fd)
{
	char *t = NULL;
	int f = -1, i;
	pserr rc = PS_ERR_IO;

	for (i = 0; i < TEMP_TRIES; i++) {
		if ((rc = temp_name(path, &t)) != PS_OK)
			goto out;
		f = open(t, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (f >= 0 || errno != EEXIST)
			break;
		free(t);
		t = NULL;
	}
	if (f < 0) {
		log_warn("key cache %s: cannot create a temporary file: %m",
		    path);
		rc = PS_ERR_IO;
		goto out;
	}
	/* Exactly 0600 whatever the umask: a umask of 0277 would otherwise
	 * leave a file its owner cannot read back. */
	if (fchmod(f, 0600) != 0) {
		log_warn("key cache %s: cannot chmod the temporary file: %m",
		    path);
		close(f);
		unlink(t);
		rc = PS_ERR_IO;
		goto out;
	}
	*tmp = t;
	*fd = f;
	t = NULL;
	rc = PS_OK;
out:
	free(t);
	return rc;
}

static pserr
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return PS_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return PS_OK;
}

static pserr
sync_dir(const char *path, const char *dir)
{
	int fd;
	pserr rc = PS_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("key cache %s: cannot open its directory to sync it: %m",
		    path);
		return PS_ERR_IO;
	}
	/* Some file systems cannot sync a directory (EINVAL); nothing more
	 * can be done there. */
	if (fsync(fd) != 0 && errno != EINVAL) {
		log_warn("key cache %s: cannot sync its directory: %m", path);
		rc = PS_ERR_IO;
	}
	close(fd);
	return rc;
}

pserr
keycache_write(const char *path, const struct keycache_entry *keys, size_t n)
{
	struct buf text;
	char *tmp = NULL, *dir = NULL;
	int fd = -1, renamed = 0, dup, cr;
	size_t i;
	pserr rc;

	buf_init(&text, PS_CAP_KEYFILE);
	if (path == NULL || *path == '\0' || path[strlen(path) - 1] == '/' ||
	    (keys == NULL && n > 0)) {
		rc = PS_ERR_ARG;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!expires_ok(keys[i].expires)) {
			rc = PS_ERR_ARG;
			goto out;
		}
	if ((rc = find_duplicate(keys, n, &dup)) != PS_OK)
		goto out;
	if (dup) {
		rc = PS_ERR_ARG;
		goto out;
	}
	if ((rc = format_keys(&text, keys, n)) != PS_OK) {
		if (rc == PS_ERR_TOO_LARGE)
			rc = PS_ERR_ARG;
		goto out;
	}
	if ((dir = dir_name(path)) == NULL) {
		rc = PS_ERR_NOMEM;
		goto out;
	}
	if ((rc = create_temp(path, &tmp, &fd)) != PS_OK)
		goto out;
	/* A full disk shows here (ENOSPC, or EFBIG past a size limit) or in
	 * fsync/close; either way the old file is still the one at path. */
	if ((rc = write_all(fd, text.p, text.len)) != PS_OK) {
		log_warn("key cache %s: cannot write the temporary file: %m",
		    path);
		goto out;
	}
	if (fsync(fd) != 0) {
		log_warn("key cache %s: cannot sync the temporary file: %m",
		    path);
		rc = PS_ERR_IO;
		goto out;
	}
	cr = close(fd);
	fd = -1;
	if (cr != 0) {
		log_warn("key cache %s: cannot close the temporary file: %m",
		    path);
		rc = PS_ERR_IO;
		goto out;
	}
	if (rename(tmp, path) != 0) {
		log_warn("key cache %s: cannot rename the temporary file over "
		    "it: %m", path);
		rc = PS_ERR_IO;
		goto out;
	}
	renamed = 1;
	rc = sync_dir(path, dir);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL && !renamed)
		unlink(tmp);
	free(tmp);
	free(dir);
	buf_free(&text);
	return rc;
}

/* ------------------------------------------------------------- reading */

/* Open path and read it into text, refusing what section 7 refuses. */
static pserr
read_text(const char *path, struct buf *text, char *why, size_t whylen)
{
	struct stat st;
	int fd;
	pserr rc;

	/* O_NOFOLLOW: a link could point a reader at any file of its user.
	 * O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP) {
			set_why(why, whylen, "is a symbolic link; refused");
			return PS_ERR_PERM;
		}
		set_why(why, whylen, "cannot open: %m");
		return PS_ERR_IO;
	}
	/* Check the file that is open, not the path: the path may be
	 * replaced between a check and an open. */
	if (fstat(fd, &st) != 0) {
		set_why(why, whylen, "cannot stat: %m");
		rc = PS_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_why(why, whylen, "is not a regular file; refused");
		rc = PS_ERR_PERM;
		goto out;
	}
	if (st.st_uid != geteuid()) {
		set_why(why, whylen, "is owned by uid %lu, not by uid %lu that "
		    "reads it; refused", (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		rc = PS_ERR_PERM;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		set_why(why, whylen, "mode %04o is group/world accessible; "
		    "chmod 600", (unsigned)(st.st_mode & 07777));
		rc = PS_ERR_PERM;
		goto out;
	}
	if (st.st_size > PS_CAP_KEYFILE) {
		set_why(why, whylen, "is larger than %d bytes",
		    PS_CAP_KEYFILE);
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	if ((rc = buf_reserve(text, (size_t)st.st_size)) != PS_OK)
		goto out;
	for (;;) {
		size_t room = text->max - text->len;
		ssize_t r;

		if (room == 0) {
			/* Full: the file grew while it was read; one byte
			 * more tells whether it is too large. */
			char c;

			r = read(fd, &c, 1);
			secret_wipe(&c, 1);
			if (r > 0) {
				set_why(why, whylen, "is larger than %d bytes",
				    PS_CAP_KEYFILE);
				rc = PS_ERR_CORRUPT;
				goto out;
			}
		} else {
			if (room > READ_CHUNK)
				room = READ_CHUNK;
			if ((rc = buf_reserve(text, room)) != PS_OK)
				goto out;
			r = read(fd, text->p + text->len, room);
			if (r > 0)
				text->len += (size_t)r;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_why(why, whylen, "cannot read: %m");
			rc = PS_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
	}
	rc = PS_OK;
out:
	close(fd);
	return rc;
}

/* Wipe every string in the parsed tree: json-c holds its own copies of
 * the secrets (the tree is freed right after). */
static void
wipe_strings(struct json_object *o, int depth)
{
	struct json_object_iterator it, end;
	size_t i, n;

	if (o == NULL || depth > JSON_DEPTH)
		return;
	switch (json_object_get_type(o)) {
	case json_type_string:
		secret_wipe((char *)json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			wipe_strings(json_object_array_get_idx(o, i), depth + 1);
		break;
	case json_type_object:
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		while (!json_object_iter_equal(&it, &end)) {
			wipe_strings(json_object_iter_peek_value(&it), depth + 1);
			json_object_iter_next(&it);
		}
		break;
	default:
		break;
	}
}

static int
get_string(struct json_object *o, const char *name, const char **s,
    size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 1;
}

static pserr
parse_entry(struct json_object *o, size_t i, struct keycache_entry *e,
    char *why, size_t whylen)
{
	struct json_object *v;
	const char *s;
	size_t len, outlen;
	int64_t expires;

	if (!json_object_is_type(o, json_type_object)) {
		set_why(why, whylen, "key %zu is not an object", i);
		return PS_ERR_CORRUPT;
	}
	/* Exactly three members, all three known: nothing unknown. */
	if (json_object_object_length(o) != 3 ||
	    !json_object_object_get_ex(o, "kid", NULL) ||
	    !json_object_object_get_ex(o, "secret", NULL) ||
	    !json_object_object_get_ex(o, "expires", NULL)) {
		set_why(why, whylen, "key %zu does not have exactly the members "
		    "kid, secret and expires", i);
		return PS_ERR_CORRUPT;
	}
	if (!get_string(o, "kid", &s, &len) || len != KID_TEXT_LEN ||
	    codec_hex_decode(s, len, e->kid, ENVELOPE_KID_LEN) != PS_OK) {
		set_why(why, whylen, "key %zu: kid is not 32 lowercase hex "
		    "characters", i);
		return PS_ERR_CORRUPT;
	}
	if (!get_string(o, "secret", &s, &len) || len != SECRET_TEXT_LEN ||
	    codec_b64_decode(s, len, e->secret, ENVELOPE_KEY_LEN,
	    &outlen) != PS_OK || outlen != ENVELOPE_KEY_LEN) {
		set_why(why, whylen, "key %zu: secret is not base64 of %d bytes",
		    i, ENVELOPE_KEY_LEN);
		return PS_ERR_CORRUPT;
	}
	json_object_object_get_ex(o, "expires", &v);
	if (!json_object_is_type(v, json_type_int) ||
	    !expires_ok(expires = json_object_get_int64(v))) {
		set_why(why, whylen, "key %zu: expires is not an integer in "
		    "0..%" PRId64, i, INT64_MAX - 1);
		return PS_ERR_CORRUPT;
	}
	e->expires = expires;
	return PS_OK;
}

static pserr
parse_text(const char *s, size_t len, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL, *v, *arr;
	struct keycache_entry *e = NULL;
	size_t count = 0, i;
	int dup;
	pserr rc;

	if (len == 0) {
		set_why(why, whylen, "is empty");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	if (memchr(s, '\0', len) != NULL) {
		set_why(why, whylen, "contains a NUL byte");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	/* json-c takes 'single-quoted' names even in strict mode.  No valid
	 * file holds a quote anywhere (names are known words, values are
	 * hex, base64 and numbers), so refusing the byte closes that. */
	if (memchr(s, '\'', len) != NULL) {
		set_why(why, whylen, "contains a single quote");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	if ((tok = json_tokener_new_ex(JSON_DEPTH)) == NULL) {
		rc = PS_ERR_NOMEM;
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* len <= PS_CAP_KEYFILE, so it fits in an int. */
	root = json_tokener_parse_ex(tok, s, (int)len);
	if (root == NULL) {
		enum json_tokener_error err = json_tokener_get_error(tok);

		if (err == json_tokener_continue)
			set_why(why, whylen, "is not valid JSON (it ends early)");
		else
			set_why(why, whylen, "is not valid JSON (%s at byte %zu)",
			    json_tokener_error_desc(err),
			    json_tokener_get_parse_end(tok));
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	/* The strict tokener has eaten trailing white space; anything else
	 * after the value is a second value or garbage. */
	if (json_tokener_get_parse_end(tok) != len) {
		set_why(why, whylen, "has data after the JSON value");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	if (!json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) != 2 ||
	    !json_object_object_get_ex(root, "version", &v) ||
	    !json_object_object_get_ex(root, "keys", &arr)) {
		set_why(why, whylen, "is not an object with exactly the members "
		    "version and keys");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1) {
		set_why(why, whylen, "version is not 1");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		set_why(why, whylen, "keys is not an array");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	count = json_object_array_length(arr);
	if (count > 0 && (e = calloc(count, sizeof(*e))) == NULL) {
		rc = PS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < count; i++)
		if ((rc = parse_entry(json_object_array_get_idx(arr, i), i, &e[i],
		    why, whylen)) != PS_OK)
			goto out;
	if ((rc = find_duplicate(e, count, &dup)) != PS_OK)
		goto out;
	if (dup) {
		set_why(why, whylen, "has two keys with the same kid");
		rc = PS_ERR_CORRUPT;
		goto out;
	}
	*keys = e;
	*n = count;
	e = NULL;
	rc = PS_OK;
out:
	if (root != NULL) {
		wipe_strings(root, 0);
		json_object_put(root);
	}
	if (tok != NULL) {
		/* The tokener assembles each string in its print buffer
		 * before it copies it into the tree: the last secret may
		 * still be there.  The field is marked for internal use but
		 * is the only way to reach that copy. */
		if (tok->pb != NULL && tok->pb->buf != NULL && tok->pb->size > 0)
			secret_wipe(tok->pb->buf, (size_t)tok->pb->size);
		json_tokener_free(tok);
	}
	keycache_entries_free(e, count);
	return rc;
}

pserr
keycache_read(const char *path, struct keycache_entry **keys, size_t *n,
    char *why, size_t whylen)
{
	struct buf text;
	pserr rc;

	set_why(why, whylen, "%s", "");
	if (path == NULL || keys == NULL || n == NULL)
		return PS_ERR_ARG;
	buf_init(&text, PS_CAP_KEYFILE);
	if ((rc = read_text(path, &text, why, whylen)) != PS_OK)
		goto out;
	rc = parse_text(text.p, text.len, keys, n, why, whylen);
out:
	if (rc == PS_ERR_NOMEM)
		set_why(why, whylen, "out of memory");
	buf_free(&text);
	return rc;
}

/* ------------------------------------------------------------ live cache */

/* What one stat() of the path says; a failed stat() is a state too, so a
 * missing file is logged once, not once per request. */
struct filesig {
	int err;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct keycache {
	char *path;
	/* Serialises reloads; guards seen and have_seen. */
	pthread_mutex_t reload;
	struct filesig seen;
	int have_seen;
	/* Guards keys and n.  They change only with both locks held, so a
	 * reloading thread may read them under reload alone. */
	pthread_rwlock_t lock;
	struct keycache_entry *keys;
	size_t n;
};

static int
sig_equal(const struct filesig *a, const struct filesig *b)
{
	if (a->err != 0 || b->err != 0)
		return a->err == b->err;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}

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
	keycache_entries_free(kc->keys, kc->n);
	free(kc->path);
	free(kc);
}

void
keycache_refresh(struct keycache *kc)
{
	struct keycache_entry *keys = NULL, *old;
	struct filesig sig;
	struct stat st;
	char why[256];
	size_t n = 0, oldn;
	pserr rc;

	if (kc == NULL)
		return;
	memset(&sig, 0, sizeof(sig));
	pthread_mutex_lock(&kc->reload);
	if (stat(kc->path, &st) != 0) {
		sig.err = errno != 0 ? errno : EIO;
	} else {
		sig.dev = st.st_dev;
		sig.ino = st.st_ino;
		sig.size = st.st_size;
		sig.mtim = st.st_mtim;
		sig.ctim = st.st_ctim;
	}
	if (kc->have_seen && sig_equal(&sig, &kc->seen))
		goto out;
	kc->seen = sig;
	kc->have_seen = 1;
	if (sig.err != 0) {
		errno = sig.err;
		set_why(why, sizeof(why), "cannot stat: %m");
		rc = PS_ERR_IO;
	} else {
		rc = keycache_read(kc->path, &keys, &n, why, sizeof(why));
	}
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
	pthread_rwlock_unlock(&kc->lock);
	keycache_entries_free(old, oldn);
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
