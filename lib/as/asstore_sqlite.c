#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "as/asstore.h"
#include "core/log.h"
#include "core/privfile.h"
#include "core/secret.h"

/* How long a writer waits for another process's transaction. */
#define BUSY_MS 10000

struct sq {
	struct asstore s;
	sqlite3 *db;
	struct asstore_limits lim;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS secrets ("
    " kid BLOB PRIMARY KEY NOT NULL,"
    " secret BLOB NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS secrets_expires ON secrets(expires);"
    "CREATE TABLE IF NOT EXISTS challenges ("
    " c BLOB PRIMARY KEY NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS challenges_expires ON challenges(expires);"
    "PRAGMA user_version = 1;";

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

static pserr
sq_put(struct asstore *s, const struct keycache_entry *e, int64_t now)
{
	struct sq *q = (struct sq *)s;
	int64_t v;
	pserr rc;

	if ((rc = exec(q, "BEGIN IMMEDIATE")) != PS_OK)
		return rc;
	if ((rc = run(q, "DELETE FROM secrets WHERE expires <= ?", NULL, 0, 1,
	    now, 0)) != PS_OK)
		goto out;
	if ((rc = query_int(q, "SELECT 1 FROM secrets WHERE kid = ?", e->kid,
	    (int)sizeof(e->kid), &v)) != PS_OK)
		goto out;
	if (v != -1) {
		rc = PS_ERR_EXISTS;
		goto out;
	}
	if ((rc = query_int(q, "SELECT count(*) FROM secrets", NULL, 0, &v)) !=
	    PS_OK)
		goto out;
	if ((uint64_t)v >= q->lim.max_secrets) {
		rc = PS_ERR_TOO_LARGE;
		goto out;
	}
	{
		sqlite3_stmt *st = NULL;

		if ((rc = prepare(q, "INSERT INTO secrets (kid, secret, expires)"
		    " VALUES (?, ?, ?)", &st)) != PS_OK)
			goto out;
		sqlite3_bind_blob(st, 1, e->kid, (int)sizeof(e->kid),
		    SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, e->secret, (int)sizeof(e->secret),
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, e->expires);
		rc = sqlite3_step(st) == SQLITE_DONE ? PS_OK : fail(q, "insert");
		sqlite3_finalize(st);
		if (rc != PS_OK)
			goto out;
	}
	rc = exec(q, "COMMIT");
out:
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

	if ((rc = prepare(q, "SELECT kid, secret, expires FROM secrets "
	    "WHERE expires > ? ORDER BY kid", &st)) != PS_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != (int)sizeof(a->kid) ||
		    sqlite3_column_bytes(st, 1) != (int)sizeof(a->secret)) {
			/* Only put() writes rows; anything else is damage. */
			log_error("store: a row with a bad kid or secret length "
			    "is skipped");
			continue;
		}
		if ((rc = entries_grow(&a, cnt, &cap)) != PS_OK)
			goto out;
		memcpy(a[cnt].kid, sqlite3_column_blob(st, 0), sizeof(a->kid));
		memcpy(a[cnt].secret, sqlite3_column_blob(st, 1),
		    sizeof(a->secret));
		a[cnt].expires = sqlite3_column_int64(st, 2);
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
	if ((rc = run(q, "DELETE FROM secrets WHERE expires <= ?", NULL, 0, 1,
	    now, 0)) == PS_OK &&
	    (rc = run(q, "DELETE FROM challenges WHERE expires <= ?", NULL, 0,
	    1, now, 0)) == PS_OK)
		rc = exec(q, "COMMIT");
	if (rc != PS_OK)
		rollback(q);
	return rc;
}

static pserr
sq_challenge_put(struct asstore *s, const uint8_t c[RELEASE_CHALLENGE_LEN],
    int64_t expires, int64_t now)
{
	struct sq *q = (struct sq *)s;
	int64_t v;
	pserr rc;

	if ((rc = exec(q, "BEGIN IMMEDIATE")) != PS_OK)
		return rc;
	if ((rc = run(q, "DELETE FROM challenges WHERE expires <= ?", NULL, 0,
	    1, now, 0)) != PS_OK)
		goto out;
	if ((rc = query_int(q, "SELECT count(*) FROM challenges", NULL, 0,
	    &v)) != PS_OK)
		goto out;
	if ((uint64_t)v >= q->lim.max_challenges) {
		rc = PS_ERR_TOO_LARGE;
		goto out;
	}
	if ((rc = run(q, "INSERT INTO challenges (c, expires) VALUES (?, ?)",
	    c, RELEASE_CHALLENGE_LEN, 1, expires, 0)) != PS_OK)
		goto out;
	rc = exec(q, "COMMIT");
out:
	if (rc != PS_OK)
		rollback(q);
	return rc;
}

static pserr
sq_challenge_take(struct asstore *s, const uint8_t c[RELEASE_CHALLENGE_LEN],
    int64_t now)
{
	struct sq *q = (struct sq *)s;
	int64_t expires;
	pserr rc;

	if ((rc = exec(q, "BEGIN IMMEDIATE")) != PS_OK)
		return rc;
	if ((rc = query_int(q, "SELECT expires FROM challenges WHERE c = ?", c,
	    RELEASE_CHALLENGE_LEN, &expires)) != PS_OK)
		goto out;
	if (expires == -1) {
		rc = PS_ERR_NOT_FOUND;
		goto out;
	}
	if ((rc = run(q, "DELETE FROM challenges WHERE c = ?", c,
	    RELEASE_CHALLENGE_LEN, 0, 0, 0)) != PS_OK)
		goto out;
	if ((rc = exec(q, "COMMIT")) != PS_OK)
		goto out;
	rc = expires > now ? PS_OK : PS_ERR_EXPIRED;
out:
	if (rc != PS_OK && rc != PS_ERR_EXPIRED)
		rollback(q);
	return rc;
}

static void
sq_close(struct asstore *s)
{
	struct sq *q = (struct sq *)s;

	sqlite3_close(q->db);
	free(q);
}

static const struct asstore_ops sq_ops = {
	sq_put, sq_list, sq_purge, sq_challenge_put, sq_challenge_take,
	sq_close,
};

/* The file exists with mode 0600 and belongs to us before SQLite opens it,
 * so SQLite's -wal and -shm files inherit that mode. */
static pserr
prepare_file(const char *path, char *why, size_t whylen)
{
	int fd;
	pserr rc;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;

		pserr_why(why, whylen, "cannot open or create the store file "
		    "(%m)");
		return e == ELOOP ? PS_ERR_PERM : PS_ERR_IO;
	}
	rc = privfile_check_fd(fd, why, whylen);
	close(fd);
	return rc;
}

pserr
asstore_sqlite_open(const char *path, const struct asstore_limits *lim,
    struct asstore **out, char *why, size_t whylen)
{
	struct sq *q = NULL;
	sqlite3_stmt *st = NULL;
	pserr rc;

	if ((rc = prepare_file(path, why, whylen)) != PS_OK)
		return rc;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return PS_ERR_NOMEM;
	q->s.ops = &sq_ops;
	q->lim = *lim;
	rc = PS_ERR_IO;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		pserr_why(why, whylen, "cannot open the store: %s",
		    q->db ? sqlite3_errmsg(q->db) : "out of memory");
		goto out;
	}
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
	if (exec(q, schema) != PS_OK || exec(q, "COMMIT") != PS_OK) {
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
		sqlite3_close(q->db);
		free(q);
	}
	return rc;
}
