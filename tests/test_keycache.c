/*
 * Unit tests for the key cache file (protocol.md section 7) and the live
 * cache.  Every test works in its own temporary directory.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/log.h"
#include "keys/keycache.h"

static char dir[PATH_MAX];
static char cache[PATH_MAX];

/* The secret 00 01 .. 1f in base64, without its '=': if this text shows
 * up in a reason or a log line, secret content has leaked. */
#define SECRET_B64_STEM "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

/* ----------------------------------------------------------- helpers */

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/ps-keycache-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(cache, sizeof(cache), "%s/keys.json", dir),
	    (int)sizeof(cache));
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
teardown(void)
{
	chmod(dir, 0700);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
in_dir(char *out, size_t cap, const char *name)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/%s", dir, name), (int)cap);
}

/* A deterministic entry: tag selects the kid and secret. */
static void
mk(struct keycache_entry *e, uint8_t tag, int64_t expires)
{
	int i;

	for (i = 0; i < ENVELOPE_KID_LEN; i++)
		e->kid[i] = (uint8_t)(tag + i);
	for (i = 0; i < ENVELOPE_KEY_LEN; i++)
		e->secret[i] = (uint8_t)(tag * 7 + i * 3 + 1);
	e->expires = expires;
}

static int
same_set(const struct keycache_entry *a, size_t na,
    const struct keycache_entry *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (memcmp(a[i].kid, b[i].kid, ENVELOPE_KID_LEN) != 0 ||
		    memcmp(a[i].secret, b[i].secret, ENVELOPE_KEY_LEN) != 0 ||
		    a[i].expires != b[i].expires)
			return 0;
	return 1;
}

/* Replace path by a new file (new inode) holding len bytes of text. */
static void
put_file(const char *path, const char *text, size_t len, mode_t mode)
{
	char tmp[PATH_MAX + 8];
	int fd;

	ck_assert_int_lt(snprintf(tmp, sizeof(tmp), "%s.put", path),
	    (int)sizeof(tmp));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

static void
put_text(const char *path, const char *text, mode_t mode)
{
	put_file(path, text, strlen(text), mode);
}

/* Read a whole file into a NUL-terminated malloc'd string. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(read(fd, p, (size_t)st.st_size), st.st_size);
	p[st.st_size] = 0;
	close(fd);
	if (len != NULL)
		*len = (size_t)st.st_size;
	return p;
}

static int
dir_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* Read path and require that it holds exactly want[0..nwant). */
static void
assert_holds(const char *path, const struct keycache_entry *want,
    size_t nwant)
{
	struct keycache_entry *k = NULL;
	size_t n = 0;
	char why[256];
	pserr rc;

	rc = keycache_read(path, &k, &n, why, sizeof(why));
	ck_assert_msg(rc == PS_OK, "read: %s (%s)", pserr_str(rc), why);
	ck_assert_msg(same_set(k, n, want, nwant), "unexpected key set");
	keycache_entries_free(k, n);
}

static pserr
read_rc(const char *path, char *why, size_t whylen)
{
	struct keycache_entry *k = NULL;
	size_t n = 0;
	pserr rc = keycache_read(path, &k, &n, why, whylen);

	if (rc == PS_OK)
		keycache_entries_free(k, n);
	else
		ck_assert_ptr_null(k);
	return rc;
}

/* ---------------------------------------------------------- the file */

#define KID "\"kid\": \"000102030405060708090a0b0c0d0e0f\""
#define SEC "\"secret\": \"" SECRET_B64_STEM "=\""
#define EXP "\"expires\": 1700000000"
#define WRAP(k) "{\"version\": 1, \"keys\": [" k "]}"
#define ONE WRAP("{" KID ", " SEC ", " EXP "}")

static void
kat_entry(struct keycache_entry *e, int64_t expires)
{
	int i;

	for (i = 0; i < ENVELOPE_KID_LEN; i++)
		e->kid[i] = (uint8_t)i;
	for (i = 0; i < ENVELOPE_KEY_LEN; i++)
		e->secret[i] = (uint8_t)i;
	e->expires = expires;
}

START_TEST(write_exact_format)
{
	static const char want[] =
	    "{\"version\": 1,\n"
	    " \"keys\": [\n"
	    "  {\"kid\": \"000102030405060708090a0b0c0d0e0f\", \"secret\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\", "
	    "\"expires\": 1700000000},\n"
	    "  {\"kid\": \"0102030405060708090a0b0c0d0e0f10\", \"secret\": "
	    "\"CAsOERQXGh0gIyYpLC8yNTg7PkFER0pNUFNWWVxfYmU=\", "
	    "\"expires\": 0}\n"
	    " ]}\n";
	struct keycache_entry e[2];
	struct stat st;
	char *got;
	size_t len;

	kat_entry(&e[0], 1700000000);
	mk(&e[1], 1, 0);
	ck_assert_int_eq(keycache_write(cache, e, 2), PS_OK);
	got = slurp(cache, &len);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	free(got);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_int_eq(dir_entries(dir), 1);

	ck_assert_int_eq(keycache_write(cache, NULL, 0), PS_OK);
	got = slurp(cache, NULL);
	ck_assert_str_eq(got, "{\"version\": 1,\n \"keys\": []}\n");
	free(got);
}
END_TEST

START_TEST(write_read_round_trip)
{
	struct keycache_entry e[5], *k = NULL;
	size_t n = 99;
	char why[256];
	int i;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(keycache_generate(&e[i], 1000 + i), PS_OK);
	e[4].expires = INT64_MAX - 1;
	ck_assert_int_eq(keycache_write(cache, e, 5), PS_OK);
	assert_holds(cache, e, 5);
	/* Over an existing file, and down to nothing. */
	ck_assert_int_eq(keycache_write(cache, e + 1, 2), PS_OK);
	assert_holds(cache, e + 1, 2);
	ck_assert_int_eq(keycache_write(cache, e, 0), PS_OK);
	ck_assert_int_eq(keycache_read(cache, &k, &n, why, sizeof(why)), PS_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(write_relative_path)
{
	struct keycache_entry e;
	char cwd[PATH_MAX];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	mk(&e, 3, 77);
	ck_assert_int_eq(keycache_write("rel.json", &e, 1), PS_OK);
	assert_holds("rel.json", &e, 1);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(write_exact_mode_under_umask)
{
	struct keycache_entry e;
	struct stat st;
	mode_t old = umask(0277);

	mk(&e, 4, 77);
	ck_assert_int_eq(keycache_write(cache, &e, 1), PS_OK);
	umask(old);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	assert_holds(cache, &e, 1);
}
END_TEST

START_TEST(generate_fresh_keys)
{
	struct keycache_entry a, b;

	ck_assert_int_eq(keycache_generate(&a, 1234), PS_OK);
	ck_assert_int_eq(keycache_generate(&b, 1234), PS_OK);
	ck_assert_int_eq(a.expires, 1234);
	ck_assert(memcmp(a.kid, b.kid, ENVELOPE_KID_LEN) != 0);
	ck_assert(memcmp(a.secret, b.secret, ENVELOPE_KEY_LEN) != 0);
	ck_assert_int_eq(keycache_generate(&a, -1), PS_ERR_ARG);
	ck_assert_int_eq(keycache_generate(&a, INT64_MAX), PS_ERR_ARG);
	ck_assert_int_eq(keycache_generate(NULL, 1), PS_ERR_ARG);
}
END_TEST

START_TEST(parse_hand_written)
{
	/* Another writer's layout: members in another order, tabs, CRLF,
	 * escaped slashes (what json-c writes by default), a \u escape. */
	static const char text[] =
	    "{\r\n"
	    "\t\"keys\" : [\r\n"
	    "\t\t{ \"expires\" : 4102444800, \"secret\" : \""
	    "\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/"
	    "\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/\\/"
	    "8=\", \"kid\" : \"ffeeddccbbaa9988776655443322110\\u0030\" },\r\n"
	    "\t\t{\"kid\":\"000102030405060708090a0b0c0d0e0f\","
	    "\"secret\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
	    "\"expires\":0}\r\n"
	    "\t],\r\n"
	    "\t\"version\" : 1\r\n"
	    "}\r\n";
	struct keycache_entry want[2];
	int i;

	for (i = 0; i < ENVELOPE_KID_LEN; i++)
		want[0].kid[i] = (uint8_t)(0xff - 0x11 * i);
	memset(want[0].secret, 0xff, ENVELOPE_KEY_LEN);
	want[0].expires = 4102444800;
	kat_entry(&want[1], 0);
	put_text(cache, text, 0600);
	assert_holds(cache, want, 2);

	put_text(cache, "{\"keys\":[],\"version\":1}", 0600);
	assert_holds(cache, NULL, 0);
	/* The reference member list the corrupt cases below start from. */
	put_text(cache, ONE, 0600);
	kat_entry(&want[0], 1700000000);
	assert_holds(cache, want, 1);
}
END_TEST

static const struct {
	const char *what, *text;
} corrupt[] = {
	{"empty file", ""},
	{"white space only", " \n"},
	{"cut short", "{\"version\": 1, \"keys\": ["},
	{"not JSON", "version=1"},
	{"trailing garbage", ONE " x"},
	{"second value", ONE "{}"},
	{"comment", "/* keys */" ONE},
	{"trailing comma", WRAP("{" KID ", " SEC ", " EXP "},")},
	{"single quotes", "{'version': 1, 'keys': []}"},
	{"top level array", "[" ONE "]"},
	{"version 2", "{\"version\": 2, \"keys\": []}"},
	{"version 0", "{\"version\": 0, \"keys\": []}"},
	{"version string", "{\"version\": \"1\", \"keys\": []}"},
	{"version 1.0", "{\"version\": 1.0, \"keys\": []}"},
	{"version true", "{\"version\": true, \"keys\": []}"},
	{"version missing", "{\"keys\": []}"},
	{"keys missing", "{\"version\": 1}"},
	{"keys object", "{\"version\": 1, \"keys\": {}}"},
	{"keys null", "{\"version\": 1, \"keys\": null}"},
	{"unknown top member", "{\"version\": 1, \"keys\": [], \"x\": 0}"},
	{"key not object", WRAP("1")},
	{"key array", WRAP("[" KID "]")},
	{"kid uppercase", WRAP("{\"kid\": \"000102030405060708090A0B0C0D0E0F\", "
	    SEC ", " EXP "}")},
	{"kid 31 chars", WRAP("{\"kid\": \"000102030405060708090a0b0c0d0e0\", "
	    SEC ", " EXP "}")},
	{"kid 33 chars", WRAP("{\"kid\": \"000102030405060708090a0b0c0d0e0f0\", "
	    SEC ", " EXP "}")},
	{"kid not hex", WRAP("{\"kid\": \"000102030405060708090a0b0c0d0e0g\", "
	    SEC ", " EXP "}")},
	{"kid with NUL escape", WRAP("{\"kid\": "
	    "\"000102030405060708090a0b0c0d0e\\u0000f\", " SEC ", " EXP "}")},
	{"kid number", WRAP("{\"kid\": 1, " SEC ", " EXP "}")},
	{"secret 31 bytes", WRAP("{" KID ", \"secret\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\", " EXP "}")},
	{"secret 33 bytes", WRAP("{" KID ", \"secret\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\", " EXP "}")},
	{"secret unpadded", WRAP("{" KID ", \"secret\": \"" SECRET_B64_STEM
	    "\", " EXP "}")},
	{"secret base64url", WRAP("{" KID ", \"secret\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH-8=\", " EXP "}")},
	{"secret non-canonical", WRAP("{" KID ", \"secret\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\", " EXP "}")},
	{"secret with space", WRAP("{" KID ", \"secret\": "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8=\", " EXP "}")},
	{"secret empty", WRAP("{" KID ", \"secret\": \"\", " EXP "}")},
	{"kid missing", WRAP("{" SEC ", " EXP "}")},
	{"secret missing", WRAP("{" KID ", " EXP "}")},
	{"expires missing", WRAP("{" KID ", " SEC "}")},
	{"unknown key member", WRAP("{" KID ", " SEC ", " EXP ", \"note\": 1}")},
	{"expires fraction", WRAP("{" KID ", " SEC ", \"expires\": 1.5}")},
	{"expires exponent", WRAP("{" KID ", " SEC ", \"expires\": 1e9}")},
	{"expires string", WRAP("{" KID ", " SEC ", \"expires\": \"1\"}")},
	{"expires null", WRAP("{" KID ", " SEC ", \"expires\": null}")},
	{"expires negative", WRAP("{" KID ", " SEC ", \"expires\": -1}")},
	{"expires INT64_MAX", WRAP("{" KID ", " SEC
	    ", \"expires\": 9223372036854775807}")},
	{"expires overflow", WRAP("{" KID ", " SEC
	    ", \"expires\": 99999999999999999999}")},
	{"expires leading zero", WRAP("{" KID ", " SEC ", \"expires\": 01}")},
	{"duplicate kid", WRAP("{" KID ", " SEC ", " EXP "}, {" KID
	    ", \"secret\": \"//////////////////////////////////////////8=\", "
	    "\"expires\": 5}")},
	{"invalid UTF-8", WRAP("{" KID ", " SEC ", " EXP ", \"\xff\": 1}")},
	{"too deep", WRAP("{" KID ", " SEC ", \"expires\": [[[1]]]}")},
};

START_TEST(refuses_corrupt)
{
	char why[256];
	pserr rc;
	size_t i;

	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		memset(why, 'x', sizeof(why));
		put_text(cache, corrupt[i].text, 0600);
		rc = read_rc(cache, why, sizeof(why));
		ck_assert_msg(rc == PS_ERR_CORRUPT, "%s: got %s", corrupt[i].what,
		    pserr_str(rc));
		ck_assert_msg(memchr(why, 0, sizeof(why)) != NULL && why[0] != 0,
		    "%s: no reason given", corrupt[i].what);
		ck_assert_msg(strstr(why, SECRET_B64_STEM) == NULL &&
		    strstr(why, "//////") == NULL,
		    "%s: the reason shows the secret: %s", corrupt[i].what, why);
	}
}
END_TEST

START_TEST(refuses_nul_byte)
{
	static const char text[] = ONE "\0";
	char why[256];

	put_file(cache, text, sizeof(text), 0600);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "contains a NUL byte");
}
END_TEST

/* A valid file padded with trailing white space to exactly size bytes. */
static void
put_padded(size_t size)
{
	char *text = malloc(size);
	size_t n = strlen(ONE);

	ck_assert_ptr_nonnull(text);
	memcpy(text, ONE, n);
	memset(text + n, ' ', size - n);
	put_file(cache, text, size, 0600);
	free(text);
}

START_TEST(size_cap)
{
	static struct keycache_entry many[9000];
	struct keycache_entry e;
	char why[256];
	size_t i;

	put_padded(PS_CAP_KEYFILE);
	kat_entry(&e, 1700000000);
	assert_holds(cache, &e, 1);

	put_padded(PS_CAP_KEYFILE + 1);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "is larger than 1048576 bytes");

	/* A writer never makes a file that readers refuse. */
	for (i = 0; i < 9000; i++) {
		mk(&many[i], 0, 1700000000);
		many[i].kid[0] = (uint8_t)i;
		many[i].kid[1] = (uint8_t)(i >> 8);
	}
	ck_assert_int_eq(keycache_write(cache, many, 9000), PS_ERR_ARG);
	ck_assert_int_eq(keycache_write(cache, many, 5000), PS_OK);
	assert_holds(cache, many, 5000);
}
END_TEST

START_TEST(refuses_loose_modes)
{
	static const mode_t loose[] = {0640, 0604, 0660, 0644, 0606, 0610,
	    0601, 0666, 0777};
	char why[256], want[64];
	struct keycache_entry e;
	size_t i;

	kat_entry(&e, 1700000000);
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		put_text(cache, ONE, loose[i]);
		ck_assert_msg(read_rc(cache, why, sizeof(why)) == PS_ERR_PERM,
		    "mode %04o was accepted", (unsigned)loose[i]);
		snprintf(want, sizeof(want), "mode %04o is group/world "
		    "accessible; chmod 600", (unsigned)loose[i]);
		ck_assert_str_eq(why, want);
	}
	put_text(cache, ONE, 0600);
	assert_holds(cache, &e, 1);
	put_text(cache, ONE, 0400);
	assert_holds(cache, &e, 1);
	put_text(cache, ONE, 0700);
	assert_holds(cache, &e, 1);
}
END_TEST

START_TEST(refuses_other_owner)
{
	struct keycache_entry e;
	char why[256];

	if (geteuid() != 0) {
		fprintf(stderr, "refuses_other_owner: SKIPPED the assertion on a "
		    "file owned by another user: chown needs root\n");
		return;
	}
	put_text(cache, ONE, 0600);
	ck_assert_int_eq(chown(cache, 65534, 65534), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "is owned by uid 65534, not by uid 0 that reads "
	    "it; refused");
	/* The owner was the only thing wrong. */
	ck_assert_int_eq(chown(cache, 0, 0), 0);
	kat_entry(&e, 1700000000);
	assert_holds(cache, &e, 1);
}
END_TEST

START_TEST(refuses_non_regular)
{
	char real[PATH_MAX], why[256];

	in_dir(real, sizeof(real), "real.json");
	put_text(real, ONE, 0600);
	ck_assert_int_eq(symlink("real.json", cache), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "is a symbolic link; refused");
	ck_assert_int_eq(unlink(cache), 0);

	ck_assert_int_eq(mkdir(cache, 0700), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "is not a regular file; refused");
	ck_assert_int_eq(rmdir(cache), 0);

	/* A FIFO must be refused, not waited on. */
	ck_assert_int_eq(mkfifo(cache, 0600), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "is not a regular file; refused");
	ck_assert_int_eq(unlink(cache), 0);

	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_IO);
	ck_assert_str_eq(why, "cannot open: No such file or directory");
	ck_assert_int_eq(read_rc(cache, NULL, 0), PS_ERR_IO);
}
END_TEST

START_TEST(write_refuses_bad_sets)
{
	struct keycache_entry e[2];
	char p[PATH_MAX];

	mk(&e[0], 1, 100);
	mk(&e[1], 1, 200);
	e[1].secret[0] ^= 1;
	ck_assert_int_eq(keycache_write(cache, e, 2), PS_ERR_ARG);
	mk(&e[1], 2, -1);
	ck_assert_int_eq(keycache_write(cache, e, 2), PS_ERR_ARG);
	e[1].expires = INT64_MAX;
	ck_assert_int_eq(keycache_write(cache, e, 2), PS_ERR_ARG);
	ck_assert_int_eq(keycache_write(cache, NULL, 1), PS_ERR_ARG);
	ck_assert_int_eq(keycache_write(NULL, e, 1), PS_ERR_ARG);
	ck_assert_int_eq(keycache_write("", e, 1), PS_ERR_ARG);
	ck_assert_int_lt(snprintf(p, sizeof(p), "%s/", dir), (int)sizeof(p));
	ck_assert_int_eq(keycache_write(p, e, 1), PS_ERR_ARG);
	ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

START_TEST(failed_write_missing_dir)
{
	struct keycache_entry e;
	char p[PATH_MAX], sub[PATH_MAX];
	struct stat st;

	mk(&e, 1, 100);
	in_dir(sub, sizeof(sub), "nodir");
	in_dir(p, sizeof(p), "nodir/keys.json");
	ck_assert_int_eq(keycache_write(p, &e, 1), PS_ERR_IO);
	ck_assert_int_eq(stat(sub, &st), -1);
	ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

START_TEST(failed_rename_cleans_up)
{
	struct keycache_entry e;
	char inner[PATH_MAX + 8];
	struct stat st;

	/* A directory where the file should be: the rename fails after the
	 * temporary file was written in full. */
	ck_assert_int_eq(mkdir(cache, 0700), 0);
	ck_assert_int_lt(snprintf(inner, sizeof(inner), "%s/x", cache),
	    (int)sizeof(inner));
	put_text(inner, "x", 0600);
	mk(&e, 1, 100);
	ck_assert_int_eq(keycache_write(cache, &e, 1), PS_ERR_IO);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(failed_write_full_disk)
{
	struct keycache_entry old, big[20];
	pid_t pid;
	int st, i;

	mk(&old, 9, 100);
	ck_assert_int_eq(keycache_write(cache, &old, 1), PS_OK);
	for (i = 0; i < 20; i++)
		mk(&big[i], (uint8_t)(20 + i), 100 + i);
	/* A file size limit makes write() fail with EFBIG part way, like a
	 * full disk; it binds root too.  In a child, so the limit does not
	 * outlive the test. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {512, 512};

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(99);
		_exit(keycache_write(cache, big, 20));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), PS_ERR_IO);
	assert_holds(cache, &old, 1);
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(failed_write_unwritable_dir)
{
	struct keycache_entry old, e;

	if (geteuid() == 0) {
		fprintf(stderr, "failed_write_unwritable_dir: skipped, root "
		    "writes into a mode 0500 directory (failed_write_full_disk "
		    "covers a failed write as root)\n");
		return;
	}
	mk(&old, 9, 100);
	ck_assert_int_eq(keycache_write(cache, &old, 1), PS_OK);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	mk(&e, 10, 100);
	ck_assert_int_eq(keycache_write(cache, &e, 1), PS_ERR_IO);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	assert_holds(cache, &old, 1);
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(reader_never_sees_partial_file)
{
	struct keycache_entry a[1], b[5], *k;
	size_t n;
	char why[256];
	int st = 0, i, done = 0, bad = 0;
	long reads;
	pid_t pid;
	pserr rc = PS_OK;

	mk(&a[0], 1, 100);
	for (i = 0; i < 5; i++)
		mk(&b[i], (uint8_t)(50 + i), 200 + i);
	ck_assert_int_eq(keycache_write(cache, a, 1), PS_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 300; i++)
			if (keycache_write(cache, i % 2 ? a : b, i % 2 ? 1 : 5)
			    != PS_OK)
				_exit(1);
		_exit(0);
	}
	for (reads = 0; reads < 200000 && !done; reads++) {
		k = NULL;
		n = 0;
		if ((rc = keycache_read(cache, &k, &n, why, sizeof(why))) !=
		    PS_OK) {
			bad = 1;
			break;
		}
		if (!same_set(k, n, a, 1) && !same_set(k, n, b, 5))
			bad = 2;
		keycache_entries_free(k, n);
		if (bad)
			break;
		done = waitpid(pid, &st, WNOHANG) == pid;
	}
	if (!done) {
		if (bad)
			kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
	ck_assert_msg(bad != 1, "read %ld failed: %s (%s)", reads,
	    pserr_str(rc), why);
	ck_assert_msg(bad != 2, "read %ld saw a key set never written", reads);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

/* ------------------------------------------------------ the live cache */

START_TEST(live_refresh_picks_up_rewrite)
{
	struct keycache_entry a[2], b[2], got;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];

	mk(&a[0], 1, 1000);
	mk(&a[1], 2, 2000);
	mk(&b[0], 3, 3000);
	mk(&b[1], 2, 2000);
	ck_assert_int_eq(keycache_write(cache, a, 2), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	ck_assert_int_eq(keycache_find(kc, a[0].kid, 500, s), PS_OK);
	ck_assert_mem_eq(s, a[0].secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_newest(kc, 500, &got), PS_OK);
	ck_assert_mem_eq(&got, &a[1], sizeof(got));

	ck_assert_int_eq(keycache_write(cache, b, 2), PS_OK);
	/* find and newest do not look at the file themselves. */
	ck_assert_int_eq(keycache_find(kc, b[0].kid, 500, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, a[0].kid, 500, s), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b[0].kid, 500, s), PS_OK);
	ck_assert_mem_eq(s, b[0].secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_find(kc, a[0].kid, 500, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_newest(kc, 500, &got), PS_OK);
	ck_assert_mem_eq(&got, &b[0], sizeof(got));
	/* No change, no reload: still the same keys. */
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b[1].kid, 500, s), PS_OK);
	ck_assert_mem_eq(s, b[1].secret, ENVELOPE_KEY_LEN);
	keycache_close(kc);
	keycache_close(NULL);
}
END_TEST

START_TEST(live_keeps_keys_on_bad_file)
{
	struct keycache_entry a, b;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];
	char real[PATH_MAX];

	mk(&a, 1, 1000);
	mk(&b, 2, 1000);
	ck_assert_int_eq(keycache_write(cache, &a, 1), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
#define STILL_A() do { \
		memset(s, 0, sizeof(s)); \
		ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK); \
		ck_assert_mem_eq(s, a.secret, ENVELOPE_KEY_LEN); \
		ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), \
		    PS_ERR_UNKNOWN_KEY); \
	} while (0)

	put_text(cache, "{\"version\": 1, \"keys\": [", 0600);
	keycache_refresh(kc);
	STILL_A();
	put_text(cache, "{\"version\": 2, \"keys\": []}", 0600);
	keycache_refresh(kc);
	STILL_A();
	/* A valid file with b, but group-readable. */
	ck_assert_int_eq(keycache_write(cache, &b, 1), PS_OK);
	{
		char *text = slurp(cache, NULL);

		put_text(cache, text, 0640);
		free(text);
	}
	keycache_refresh(kc);
	STILL_A();
	if (geteuid() == 0) {
		ck_assert_int_eq(keycache_write(cache, &b, 1), PS_OK);
		ck_assert_int_eq(chown(cache, 65534, 65534), 0);
		keycache_refresh(kc);
		STILL_A();
	}
	in_dir(real, sizeof(real), "real.json");
	ck_assert_int_eq(keycache_write(real, &b, 1), PS_OK);
	ck_assert_int_eq(unlink(cache), 0);
	ck_assert_int_eq(symlink("real.json", cache), 0);
	keycache_refresh(kc);
	STILL_A();
	ck_assert_int_eq(unlink(cache), 0);
	keycache_refresh(kc);
	STILL_A();
#undef STILL_A

	ck_assert_int_eq(keycache_write(cache, &b, 1), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), PS_OK);
	ck_assert_mem_eq(s, b.secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_UNKNOWN_KEY);
	keycache_close(kc);
}
END_TEST

START_TEST(live_starts_empty)
{
	struct keycache_entry a, got;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];

	mk(&a, 1, 1000);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_NO_KEY);
	ck_assert_int_eq(keycache_newest(kc, 0, &got), PS_ERR_NO_KEY);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_NO_KEY);
	ck_assert_int_eq(keycache_write(cache, &a, 1), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK);
	ck_assert_mem_eq(s, a.secret, ENVELOPE_KEY_LEN);
	/* An empty key set is a set with no keys, not an error. */
	ck_assert_int_eq(keycache_write(cache, NULL, 0), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_ERR_NO_KEY);
	keycache_close(kc);
	ck_assert_int_eq(keycache_open(NULL, &kc), PS_ERR_ARG);
}
END_TEST

START_TEST(live_expiry)
{
	struct keycache_entry k[4], got;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];

	mk(&k[0], 1, 100);
	mk(&k[1], 2, 200);
	mk(&k[2], 3, 300);
	mk(&k[3], 4, 300);
	ck_assert_int_eq(keycache_write(cache, k, 4), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);

	ck_assert_int_eq(keycache_find(kc, k[0].kid, 99, s), PS_OK);
	ck_assert_mem_eq(s, k[0].secret, ENVELOPE_KEY_LEN);
	/* expires <= now is expired: at 100, k0 is gone. */
	ck_assert_int_eq(keycache_find(kc, k[0].kid, 100, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, k[1].kid, 150, s), PS_OK);
	ck_assert_mem_eq(s, k[1].secret, ENVELOPE_KEY_LEN);
	ck_assert_int_eq(keycache_find(kc, k[1].kid, 200, s), PS_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(keycache_find(kc, k[3].kid, 299, s), PS_OK);
	ck_assert_mem_eq(s, k[3].secret, ENVELOPE_KEY_LEN);
	/* Nothing left unexpired: no key at all, for any kid. */
	ck_assert_int_eq(keycache_find(kc, k[2].kid, 300, s), PS_ERR_NO_KEY);
	ck_assert_int_eq(keycache_find(kc, k[0].kid, 300, s), PS_ERR_NO_KEY);

	/* Newest: the unexpired key that expires last; of equals the
	 * first in the file. */
	ck_assert_int_eq(keycache_newest(kc, 0, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[2], sizeof(got));
	ck_assert_int_eq(keycache_newest(kc, 299, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[2], sizeof(got));
	ck_assert_int_eq(keycache_newest(kc, 300, &got), PS_ERR_NO_KEY);

	mk(&k[0], 1, 500);
	ck_assert_int_eq(keycache_write(cache, k, 3), PS_OK);
	keycache_refresh(kc);
	ck_assert_int_eq(keycache_newest(kc, 0, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[0], sizeof(got));
	ck_assert_int_eq(keycache_newest(kc, 499, &got), PS_OK);
	ck_assert_mem_eq(&got, &k[0], sizeof(got));
	ck_assert_int_eq(keycache_find(kc, k[3].kid, 0, s), PS_ERR_UNKNOWN_KEY);
	keycache_close(kc);
}
END_TEST

/* Send stderr to a file until capture_log_end, which returns the text. */
static void
capture_log_begin(int *saved)
{
	char p[PATH_MAX];
	int fd;

	in_dir(p, sizeof(p), "log.txt");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	*saved = dup(STDERR_FILENO);
	ck_assert_int_ge(*saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

static char *
capture_log_end(int saved)
{
	char p[PATH_MAX];
	char *text;

	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	in_dir(p, sizeof(p), "log.txt");
	text = slurp(p, NULL);
	unlink(p);
	return text;
}

static int
count_lines(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

START_TEST(live_logs_once_per_change)
{
	struct keycache_entry a, b;
	struct keycache *kc;
	uint8_t s[ENVELOPE_KEY_LEN];
	char *log;
	int saved, i;

	log_setup("test_keycache", LOG_WARN);
	mk(&a, 1, 1000);
	mk(&b, 2, 1000);
	ck_assert_int_eq(keycache_write(cache, &a, 1), PS_OK);
	capture_log_begin(&saved);
	ck_assert_int_eq(keycache_open(cache, &kc), PS_OK);
	/* A corrupt file that holds a secret: the reason must not show it. */
	put_text(cache, WRAP("{" KID ", " SEC ", \"expires\": 1.5}"), 0600);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	put_text(cache, ONE, 0644);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	ck_assert_int_eq(unlink(cache), 0);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, a.kid, 0, s), PS_OK);
	ck_assert_int_eq(keycache_write(cache, &b, 1), PS_OK);
	for (i = 0; i < 5; i++)
		keycache_refresh(kc);
	ck_assert_int_eq(keycache_find(kc, b.kid, 0, s), PS_OK);
	log = capture_log_end(saved);
	keycache_close(kc);

	ck_assert_msg(count_lines(log, " warn: ") == 3, "log:\n%s", log);
	ck_assert_int_eq(count_lines(log, "\n"), 3);
	ck_assert_int_eq(count_lines(log, "key 0: expires is not an integer in "
	    "0..9223372036854775806; keeping the 1 keys in use"), 1);
	ck_assert_int_eq(count_lines(log, "mode 0644 is group/world accessible; "
	    "chmod 600; keeping the 1 keys in use"), 1);
	ck_assert_int_eq(count_lines(log, "cannot stat: No such file or "
	    "directory; keeping the 1 keys in use"), 1);
	ck_assert_int_eq(count_lines(log, cache), 3);
	ck_assert_ptr_null(strstr(log, SECRET_B64_STEM));
	free(log);
}
END_TEST

struct race {
	struct keycache *kc;
	struct keycache_entry a[2], b[3];
	int errors;
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	struct keycache_entry got;
	uint8_t s[ENVELOPE_KEY_LEN];
	int i;

	for (i = 0; i < 2000; i++) {
		keycache_refresh(r->kc);
		/* The stable key is in both sets. */
		if (keycache_find(r->kc, r->a[0].kid, 1000, s) != PS_OK ||
		    memcmp(s, r->a[0].secret, ENVELOPE_KEY_LEN) != 0)
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
		if (keycache_newest(r->kc, 1000, &got) != PS_OK ||
		    (memcmp(&got, &r->a[1], sizeof(got)) != 0 &&
		    memcmp(&got, &r->b[1], sizeof(got)) != 0))
			__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *
race_writer(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < 150; i++)
		if (keycache_write(cache, i % 2 ? r->a : r->b, i % 2 ? 2 : 3)
		    != PS_OK)
			__atomic_add_fetch(&r->errors, 1000000, __ATOMIC_RELAXED);
	return NULL;
}

START_TEST(live_concurrent_readers)
{
	static struct race r;
	pthread_t readers[4], writer;
	int i;

	memset(&r, 0, sizeof(r));
	mk(&r.a[0], 1, 5000);
	mk(&r.a[1], 2, 9000);
	r.b[0] = r.a[0];
	mk(&r.b[1], 3, 9500);
	mk(&r.b[2], 4, 100);
	ck_assert_int_eq(keycache_write(cache, r.a, 2), PS_OK);
	ck_assert_int_eq(keycache_open(cache, &r.kc), PS_OK);
	ck_assert_int_eq(pthread_create(&writer, NULL, race_writer, &r), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&readers[i], NULL, race_reader,
		    &r), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(readers[i], NULL), 0);
	ck_assert_int_eq(pthread_join(writer, NULL), 0);
	ck_assert_int_eq(r.errors, 0);
	/* After the last write (set a), one refresh settles on it. */
	keycache_refresh(r.kc);
	{
		struct keycache_entry got;

		ck_assert_int_eq(keycache_newest(r.kc, 1000, &got), PS_OK);
		ck_assert_mem_eq(&got, &r.a[1], sizeof(got));
	}
	keycache_close(r.kc);
	ck_assert_int_eq(dir_entries(dir), 1);
}
END_TEST

static Suite *
keycache_suite(void)
{
	Suite *s = suite_create("keycache");
	TCase *file = tcase_create("file");
	TCase *live = tcase_create("live");

	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_checked_fixture(live, setup, teardown);
	/* Not a timed assertion: a guard against a hang, generous for
	 * sanitizer builds. */
	tcase_set_timeout(file, 120);
	tcase_set_timeout(live, 120);

	tcase_add_test(file, write_exact_format);
	tcase_add_test(file, write_read_round_trip);
	tcase_add_test(file, write_relative_path);
	tcase_add_test(file, write_exact_mode_under_umask);
	tcase_add_test(file, generate_fresh_keys);
	tcase_add_test(file, parse_hand_written);
	tcase_add_test(file, refuses_corrupt);
	tcase_add_test(file, refuses_nul_byte);
	tcase_add_test(file, size_cap);
	tcase_add_test(file, refuses_loose_modes);
	tcase_add_test(file, refuses_other_owner);
	tcase_add_test(file, refuses_non_regular);
	tcase_add_test(file, write_refuses_bad_sets);
	tcase_add_test(file, failed_write_missing_dir);
	tcase_add_test(file, failed_rename_cleans_up);
	tcase_add_test(file, failed_write_full_disk);
	tcase_add_test(file, failed_write_unwritable_dir);
	tcase_add_test(file, reader_never_sees_partial_file);

	tcase_add_test(live, live_refresh_picks_up_rewrite);
	tcase_add_test(live, live_keeps_keys_on_bad_file);
	tcase_add_test(live, live_starts_empty);
	tcase_add_test(live, live_expiry);
	tcase_add_test(live, live_logs_once_per_change);
	tcase_add_test(live, live_concurrent_readers);

	suite_add_tcase(s, file);
	suite_add_tcase(s, live);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(keycache_suite());
	int failed;

	/* Warnings only: every reload would log a line. */
	log_setup("test_keycache", LOG_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
