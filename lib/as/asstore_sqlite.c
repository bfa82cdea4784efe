/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <openssl/evp.h>

#include "as/asstore.h"
#include "core/log.h"
#include "core/privfile.h"
#include "core/secret.h"

/* How long a writer waits for another process's transaction: well below
 * the 5 s a stopping AS gives its request threads, so that every thread
 * closes its handle and SQLite removes the WAL at the last close. */
#define BUSY_MS 2000

/* A sealed secret: nonce (12) || AES-256-GCM(secret) (32) || tag (16). */
#define NONCE_LEN 12
#define TAG_LEN 16
#define SEALED_LEN (NONCE_LEN + 32 + TAG_LEN)
#define AAD_LABEL "promptseal store v1"
#define AAD_MAX (sizeof(AAD_LABEL) - 1 + 16 + 8 + ASSTORE_TENANT_MAX)

struct sq {
	struct asstore s;
	sqlite3 *db;
	struct asstore_limits lim;
	uint8_t key[ASSTORE_KEY_LEN];
};

/* Test hook: runs between the file's check and SQLite's open of it. */
void (*asstore_sqlite_test_between)(const char *path);

/* Version 1 held the secrets in the clear and the challenges it issued;
 * its tables are dropped (overwritten, secure_delete) on the way to 2:
 * those secrets are re-uploaded by their clients, sealed. */
static const char schema[] =
    "DROP TABLE IF EXISTS challenges;"
    "CREATE TABLE IF NOT EXISTS sealed_secrets ("
    " kid BLOB PRIMARY KEY NOT NULL,"
    " sealed BLOB NOT NULL,"
    " expires INTEGER NOT NULL,"
    " tenant TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sealed_expires ON sealed_secrets(expires);"
    "CREATE INDEX IF NOT EXISTS sealed_tenant ON sealed_secrets(tenant);"
    "CREATE TABLE IF NOT EXISTS used_challenges ("
    " c BLOB PRIMARY KEY NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS used_expires ON used_challenges(expires);"
    "PRAGMA user_version = 2;";

static pserr
fail(struct sq *q, const char *what)
{
	/* SQLite's messages name tables and constraints, never values. */
	log_error("store: %s: %s", what, sqlite3_errmsg(q->db));
	return PS_ERR_IO;
}

static pserr
exec(struct sq *q, const char *sql)
{
	return sqlite3_exec(q->db, sql, NULL, NULL, NULL) == SQLITE_OK ? PS_OK :
	    fail(q, sql);
}

static void
rollback(struct sq *q)
{
	/* Fails harmlessly when no transaction is open. */
	(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static pserr
prepare(struct sq *q, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(q->db, sql, -1, st, NULL) == SQLITE_OK ?
	    PS_OK : fail(q, "prepare");
}

/* Run a statement that returns no row, with up to two int64 and one blob
 * bound in that order (blob first when given). */
static pserr
run(struct sq *q, const char *sql, const void *blob, int blen, int nint,
    int64_t a, int64_t b)
{
	sqlite3_stmt *st = NULL;
	int i = 1;
	pserr rc;

	if ((rc = prepare(q, sql, &st)) != PS_OK)
		return rc;
	if (blob != NULL)
		sqlite3_bind_blob(st, i++, blob, blen, SQLITE_STATIC);
	if (nint >= 1)
		sqlite3_bind_int64(st, i++, a);
	if (nint >= 2)
		sqlite3_bind_int64(st, i++, b);
	rc = sqlite3_step(st) == SQLITE_DONE ? PS_OK : fail(q, "step");
	sqlite3_finalize(st);
	return rc;
}

/* One integer from a query with an optional blob bound: *v = -1 when no
 * row. */
static pserr
query_int(struct sq *q, const char *sql, const void *blob, int blen,
    int64_t *v)
{
	sqlite3_stmt *st = NULL;
	pserr rc;
	int r;

	if ((rc = prepare(q, sql, &st)) != PS_OK)
		return rc;
	if (blob != NULL)
		sqlite3_bind_blob(st, 1, blob, blen, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (r == SQLITE_DONE)
		*v = -1;
	else
		rc = fail(q, "query");
	sqlite3_finalize(st);
	return rc;
}

/* The associated data of a sealed row: the label, kid, expiry and
 * tenant, so that no row can be moved to another kid, life or tenant. */
static size_t
row_aad(const uint8_t kid[16], int64_t expires, const char *tenant,
    size_t tlen, uint8_t out[AAD_MAX])
{
	size_t n = sizeof(AAD_LABEL) - 1;
	int i;

	memcpy(out, AAD_LABEL, n);
	memcpy(out + n, kid, 16);
	n += 16;
	for (i = 7; i >= 0; i--)
		out[n++] = (uint8_t)((uint64_t)expires >> (8 * i));
	memcpy(out + n, tenant, tlen);
	return n + tlen;
}

static pserr
row_seal(const struct sq *q, const struct keycache_entry *e,
    const char *tenant, uint8_t out[SEALED_LEN])
{
	uint8_t aad[AAD_MAX];
	size_t alen = row_aad(e->kid, e->expires, tenant, strlen(tenant), aad);
	EVP_CIPHER_CTX *x;
	int l1 = 0, l2 = 0;
	pserr rc = PS_ERR_CRYPTO;

	if ((rc = secret_random(out, NONCE_LEN)) != PS_OK)
		return rc;
	rc = PS_ERR_CRYPTO;
	if ((x = EVP_CIPHER_CTX_new()) == NULL)
		return PS_ERR_NOMEM;
	if (EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, q->key, out) == 1 &&
	    EVP_EncryptUpdate(x, NULL, &l1, aad, (int)alen) == 1 &&
	    EVP_EncryptUpdate(x, out + NONCE_LEN, &l1, e->secret, 32) == 1 &&
	    EVP_EncryptFinal_ex(x, out + NONCE_LEN + l1, &l2) == 1 &&
	    l1 + l2 == 32 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	    out + NONCE_LEN + 32) == 1)
		rc = PS_OK;
	EVP_CIPHER_CTX_free(x);
	return rc;
}

/* Open a row into secret; -1 (secret wiped) when it does not open. */
static int
row_open(const struct sq *q, const uint8_t kid[16], int64_t expires,
    const char *tenant, size_t tlen, const uint8_t in[SEALED_LEN],
    uint8_t secret[32])
{
	uint8_t aad[AAD_MAX], tag[TAG_LEN];
	size_t alen;
	EVP_CIPHER_CTX *x;
	int l1 = 0, l2 = 0, ret = -1;

	if (tlen > ASSTORE_TENANT_MAX)
		return -1;
	alen = row_aad(kid, expires, tenant, tlen, aad);
	memcpy(tag, in + NONCE_LEN + 32, TAG_LEN);
	if ((x = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, q->key, in) == 1 &&
	    EVP_DecryptUpdate(x, NULL, &l1, aad, (int)alen) == 1 &&
	    EVP_DecryptUpdate(x, secret, &l1, in + NONCE_LEN, 32) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
	    EVP_DecryptFinal_ex(x, secret + l1, &l2) == 1 && l1 + l2 == 32)
		ret = 0;
	EVP_CIPHER_CTX_free(x);
	if (ret != 0)
		secret_wipe(secret, 32);
	return ret;
}

/*
 * Delete the rows that do not open under the storage key: sealed under
 * another one (a restart that made a fresh key) or damaged.  They can
 * never be released, yet they kept their kid and counted against the
 * limits, so that a client uploading its key again was refused
 * kid_exists.  Only the rows of kid (when given) and of tenant (when
 * given): a dead row keeps its kid from other tenants.  *gone (may be
 * NULL) gets how many went.  Inside the caller's transaction.
 */
static pserr
purge_dead(struct sq *q, const uint8_t *kid, const char *tenant,
    int64_t *gone)
{
	sqlite3_stmt *st = NULL;
	uint8_t (*dead)[16] = NULL, (*nd)[16], secret[32];
	size_t n = 0, cap = 0, i;
	pserr rc;
	int r;

	if ((rc = prepare(q, "SELECT kid, sealed, expires, tenant FROM "
	    "sealed_secrets WHERE (?1 IS NULL OR kid = ?1) AND "
	    "(?2 IS NULL OR tenant = ?2)", &st)) != PS_OK)
		return rc;
	if (kid != NULL)
		sqlite3_bind_blob(st, 1, kid, 16, SQLITE_STATIC);
	if (tenant != NULL)
		sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *tn = sqlite3_column_text(st, 3);

		if (sqlite3_column_bytes(st, 0) != 16)
			continue;
		if (sqlite3_column_bytes(st, 1) == SEALED_LEN &&
		    row_open(q, sqlite3_column_blob(st, 0),
		    sqlite3_column_int64(st, 2), tn ? (const char *)tn : "",
		    (size_t)sqlite3_column_bytes(st, 3),
		    sqlite3_column_blob(st, 1), secret) == 0) {
			secret_wipe(secret, sizeof(secret));
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nd = realloc(dead, cap * sizeof(*dead))) == NULL) {
				rc = PS_ERR_NOMEM;
				goto out;
			}
			dead = nd;
		}
		memcpy(dead[n++], sqlite3_column_blob(st, 0), 16);
	}
	if (r != SQLITE_DONE) {
		rc = fail(q, "scan");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < n && rc == PS_OK; i++)
		rc = run(q, "DELETE FROM sealed_secrets WHERE kid = ?", dead[i],
		    16, 0, 0, 0);
	if (rc == PS_OK && n > 0)
		log_warn("store: %zu rows that do not open under the storage "
		    "key deleted", n);
	if (gone != NULL)
		*gone = (int64_t)n;
out:
	sqlite3_finalize(st);
	free(dead);
	return rc;
}

/* The number of rows, of tenant's only when tenant is not NULL. */
static pserr
count(struct sq *q, const char *tenant, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	pserr rc;

	if ((rc = prepare(q, "SELECT count(*) FROM sealed_secrets WHERE "
	    "?1 IS NULL OR tenant = ?1", &st)) != PS_OK)
		return rc;
	if (tenant != NULL)
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		rc = fail(q, "count");
	sqlite3_finalize(st);
	return rc;
}

/* count(), and when the rows are at least limit the dead ones among them
 * deleted (purge_dead) and counted again. */
static pserr
count_live(struct sq *q, const char *tenant, uint64_t limit, int64_t *v)
{
	int64_t gone = 0;
	pserr rc;

	if ((rc = count(q, tenant, v)) != PS_OK || (uint64_t)*v < limit)
		return rc;
	if ((rc = purge_dead(q, NULL, tenant, &gone)) != PS_OK || gone == 0)
		return rc;
	return count(q, tenant, v);
}

static pserr
sq_put(struct asstore *s, const struct keycache_entry *e, const char *tenant,
    size_t tenant_limit, int64_t now)
{
	struct sq *q = (struct sq *)s;
	uint8_t sealed[SEALED_LEN];
	sqlite3_stmt *st = NULL;
	int64_t v;
	pserr rc;

	if (strlen(tenant) > ASSTORE_TENANT_MAX)
		return PS_ERR_ARG;
	if ((rc = row_seal(q, e, tenant, sealed)) != PS_OK)
		return rc;
	if ((rc = exec(q, "BEGIN IMMEDIATE")) != PS_OK)
		return rc;
	if ((rc = run(q, "DELETE FROM sealed_secrets WHERE expires <= ?", NULL,
	    0, 1, now, 0)) != PS_OK)
		goto out;
	if ((rc = purge_dead(q, e->kid, tenant, NULL)) != PS_OK ||
	    (rc = query_int(q, "SELECT 1 FROM sealed_secrets WHERE kid = ?",
	    e->kid, (int)sizeof(e->kid), &v)) != PS_OK)
		goto out;
	if (v != -1) {
		rc = PS_ERR_EXISTS;
		goto out;
	}
	if ((rc = count_live(q, NULL, q->lim.max_secrets, &v)) != PS_OK)
		goto out;
	if ((uint64_t)v >= q->lim.max_secrets) {
		rc = PS_ERR_TOO_LARGE;
		goto out;
	}
	if (tenant_limit > 0) {
		if ((rc = count_live(q, tenant, tenant_limit, &v)) != PS_OK)
			goto out;
		if ((uint64_t)v >= tenant_limit) {
			rc = PS_ERR_PERM;
			goto out;
		}
	}
	if ((rc = prepare(q, "INSERT INTO sealed_secrets (kid, sealed, expires,"
	    " tenant) VALUES (?, ?, ?, ?)", &st)) != PS_OK)
		goto out;
	sqlite3_bind_blob(st, 1, e->kid, (int)sizeof(e->kid), SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sealed, SEALED_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e->expires);
	sqlite3_bind_text(st, 4, tenant, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? PS_OK : fail(q, "insert");
	sqlite3_finalize(st);
	st = NULL;
	if (rc != PS_OK)
		goto out;
	rc = exec(q, "COMMIT");
out:
	sqlite3_finalize(st);
	if (rc != PS_OK)
		rollback(q);
	return rc;
}

/* Room for one more entry in *a (cnt used of *cap).  Not realloc: the
 * old block holds secrets and is wiped. */
static pserr
entries_grow(struct keycache_entry **a, size_t cnt, size_t *cap)
{
	struct keycache_entry *na;
	size_t ncap;

	if (cnt < *cap)
		return PS_OK;
	ncap = *cap ? *cap * 2 : 16;
	if ((na = calloc(ncap, sizeof(*na))) == NULL)
		return PS_ERR_NOMEM;
	if (cnt)
		memcpy(na, *a, cnt * sizeof(*na));
	keyfile_entries_free(*a, *cap);
	*a = na;
	*cap = ncap;
	return PS_OK;
}

/* The caller frees cnt entries: hand over an array of exactly cnt (NULL
 * for none), the rest wiped.  *a is freed on failure. */
static pserr
entries_fit(struct keycache_entry **a, size_t cnt, size_t cap)
{
	struct keycache_entry *na = NULL;

	if (cnt == cap)
		return PS_OK;
	if (cnt > 0 && (na = malloc(cnt * sizeof(*na))) != NULL)
		memcpy(na, *a, cnt * sizeof(*na));
	keyfile_entries_free(*a, cap);
	*a = na;
	return cnt > 0 && na == NULL ? PS_ERR_NOMEM : PS_OK;
}

static pserr
sq_list(struct asstore *s, int64_t now, struct keycache_entry **keys,
    size_t *n)
{
	struct sq *q = (struct sq *)s;
	struct keycache_entry *a = NULL;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0, cap = 0;
	pserr rc;
	int r;

	if ((rc = prepare(q, "SELECT kid, sealed, expires, tenant FROM "
	    "sealed_secrets WHERE expires > ? ORDER BY kid", &st)) != PS_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *tn;

		if (sqlite3_column_bytes(st, 0) != (int)sizeof(a->kid) ||
		    sqlite3_column_bytes(st, 1) != SEALED_LEN) {
			/* Only put() writes rows; anything else is damage. */
			log_error("store: a row with a bad kid or sealed length "
			    "is skipped");
			continue;
		}
		if ((rc = entries_grow(&a, cnt, &cap)) != PS_OK)
			goto out;
		memcpy(a[cnt].kid, sqlite3_column_blob(st, 0), sizeof(a->kid));
		a[cnt].expires = sqlite3_column_int64(st, 2);
		tn = sqlite3_column_text(st, 3);
		if (row_open(q, a[cnt].kid, a[cnt].expires,
		    tn ? (const char *)tn : "",
		    (size_t)sqlite3_column_bytes(st, 3),
		    sqlite3_column_blob(st, 1), a[cnt].secret) != 0) {
			/* Sealed under another storage key, or damaged:
			 * nothing to release. */
			log_error("store: a row that does not open under the "
			    "storage key is skipped");
			continue;
		}
		cnt++;
	}
	rc = r == SQLITE_DONE ? entries_fit(&a, cnt, cap) : fail(q, "list");
out:
	sqlite3_finalize(st);
	if (rc != PS_OK) {
		keyfile_entries_free(a, cap);
		return rc;
	}
	*keys = a;
	*n = cnt;
	return PS_OK;
}

static pserr
sq_purge(struct asstore *s, int64_t now)
{
	struct sq *q = (struct sq *)s;
	pserr rc;

	if ((rc = exec(q, "BEGIN IMMEDIATE")) != PS_OK)
		return rc;
	if ((rc = run(q, "DELETE FROM sealed_secrets WHERE expires <= ?", NULL,
	    0, 1, now, 0)) == PS_OK &&
	    (rc = run(q, "DELETE FROM used_challenges WHERE expires <= ?", NULL,
	    0, 1, now, 0)) == PS_OK)
		rc = exec(q, "COMMIT");
	if (rc != PS_OK)
		rollback(q);
	return rc;
}

static pserr
sq_challenge_use(struct asstore *s, const uint8_t c[RELEASE_CHALLENGE_LEN],
    int64_t expires, int64_t now)
{
	struct sq *q = (struct sq *)s;
	int64_t v;
	pserr rc;

	if ((rc = exec(q, "BEGIN IMMEDIATE")) != PS_OK)
		return rc;
	if ((rc = run(q, "DELETE FROM used_challenges WHERE expires <= ?", NULL,
	    0, 1, now, 0)) != PS_OK)
		goto out;
	if ((rc = query_int(q, "SELECT 1 FROM used_challenges WHERE c = ?", c,
	    RELEASE_CHALLENGE_LEN, &v)) != PS_OK)
		goto out;
	if (v != -1) {
		rc = PS_ERR_EXISTS;
		goto out;
	}
	if ((rc = query_int(q, "SELECT count(*) FROM used_challenges", NULL, 0,
	    &v)) != PS_OK)
		goto out;
	if ((uint64_t)v >= q->lim.max_challenges) {
		rc = PS_ERR_TOO_LARGE;
		goto out;
	}
	if ((rc = run(q, "INSERT INTO used_challenges (c, expires) VALUES "
	    "(?, ?)", c, RELEASE_CHALLENGE_LEN, 1, expires, 0)) != PS_OK)
		goto out;
	rc = exec(q, "COMMIT");
out:
	if (rc != PS_OK)
		rollback(q);
	return rc;
}

static void
sq_close(struct asstore *s)
{
	struct sq *q = (struct sq *)s;

	/* close_v2 finalises what is left; the last close of the file
	 * checkpoints and removes the WAL. */
	sqlite3_close_v2(q->db);
	secret_wipe(q->key, sizeof(q->key));
	free(q);
}

static const struct asstore_ops sq_ops = {
	sq_put, sq_list, sq_purge, sq_challenge_use, sq_close,
};

/*
 * Create the file with mode 0600 when it does not exist, before SQLite
 * does (SQLite's -wal and -shm files take the mode of the database).  No
 * descriptor of an existing file is opened or closed here: closing any
 * descriptor of a file drops every POSIX lock the process holds on it,
 * and the store's other handles in this process hold SQLite's locks.
 */
static pserr
create_file(const char *path, char *why, size_t whylen)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd >= 0) {
		close(fd);
		return PS_OK;
	}
	if (errno == EEXIST)
		return PS_OK;
	pserr_why(why, whylen, "cannot create the store file (%m)");
	return PS_ERR_IO;
}

/*
 * SQLite opens its database by path and has no call that takes a
 * descriptor, so the rule (privfile_check_fd: a regular file of ours,
 * mode 0600) is checked on the descriptor SQLite itself holds, after it
 * opened it: whatever the path pointed to before, the file the store uses
 * is the one checked.  The descriptor is read from the file object of the
 * "unix" VFS (whose first members have been pMethod, pVfs, pInode, h
 * since 2008); anything that does not look right is refused.
 */
static pserr
check_sqlite_fd(sqlite3 *db, char *why, size_t whylen)
{
	struct unix_file_head {
		const void *methods;
		const sqlite3_vfs *vfs;
		const void *inode;
		int h;
	} *f = NULL;
	sqlite3_vfs *unixvfs = sqlite3_vfs_find("unix");

	if (unixvfs == NULL ||
	    sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) !=
	    SQLITE_OK || f == NULL || f->methods == NULL || f->vfs != unixvfs ||
	    f->h < 0) {
		pserr_why(why, whylen, "cannot find the store's descriptor");
		return PS_ERR_PERM;
	}
	return privfile_check_fd(f->h, why, whylen);
}

pserr
asstore_sqlite_open(const char *path, const struct asstore_limits *lim,
    const uint8_t key[ASSTORE_KEY_LEN], struct asstore **out, char *why,
    size_t whylen)
{
	struct sq *q = NULL;
	sqlite3_stmt *st = NULL;
	pserr rc;

	/* SQLite creates and reopens the -wal and -shm files by name in the
	 * same directory: nobody else may create names there. */
	if ((rc = privfile_check_dir(path, why, whylen)) != PS_OK ||
	    (rc = create_file(path, why, whylen)) != PS_OK)
		return rc;
	rc = PS_ERR_NOMEM;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto out;
	q->s.ops = &sq_ops;
	q->lim = *lim;
	memcpy(q->key, key, ASSTORE_KEY_LEN);
	if (asstore_sqlite_test_between != NULL)
		asstore_sqlite_test_between(path);
	rc = PS_ERR_IO;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, "unix") != SQLITE_OK) {
		int e = sqlite3_system_errno(q->db);

		pserr_why(why, whylen, "cannot open the store: %s",
		    q->db ? sqlite3_errmsg(q->db) : "out of memory");
		/* A symbolic link (NOFOLLOW) is refused, not missing. */
		rc = e == ELOOP || sqlite3_extended_errcode(q->db) ==
		    SQLITE_CANTOPEN_SYMLINK ? PS_ERR_PERM : PS_ERR_IO;
		goto out;
	}
	if ((rc = check_sqlite_fd(q->db, why, whylen)) != PS_OK)
		goto out;
	rc = PS_ERR_IO;
	sqlite3_busy_timeout(q->db, BUSY_MS);
	/* WAL lets readers run beside one writer across processes; FULL
	 * makes an acknowledged upload survive a power cut. */
	if (prepare(q, "PRAGMA journal_mode = WAL", &st) != PS_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_text(st, 0) == NULL ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		pserr_why(why, whylen, "cannot switch the store to WAL mode: %s",
		    sqlite3_errmsg(q->db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (exec(q, "PRAGMA synchronous = FULL") != PS_OK ||
	    exec(q, "PRAGMA secure_delete = ON") != PS_OK ||
	    exec(q, "BEGIN IMMEDIATE") != PS_OK) {
		pserr_why(why, whylen, "cannot set up the store: %s",
		    sqlite3_errmsg(q->db));
		goto out;
	}
	if (exec(q, "DROP TABLE IF EXISTS secrets") != PS_OK ||
	    exec(q, schema) != PS_OK || exec(q, "COMMIT") != PS_OK) {
		pserr_why(why, whylen, "cannot create the store's tables: %s",
		    sqlite3_errmsg(q->db));
		rollback(q);
		goto out;
	}
	*out = &q->s;
	q = NULL;
	rc = PS_OK;
out:
	sqlite3_finalize(st);
	if (q != NULL) {
		sqlite3_close_v2(q->db);
		secret_wipe(q->key, sizeof(q->key));
		free(q);
	}
	return rc;
}
