/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the key cache file format (protocol.md section 7): the
 * text, the reader's refusals, the writer and what it leaves behind, and
 * that no copy of a secret outlives its use.  Every test works in its own
 * temporary directory.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/caps.h"
#include "core/log.h"
#include "core/secret.h"
#include "keys/keyfile.h"
#include "testutil.h"

static char *dir;
static char cache[PATH_MAX];

#define SECRET_B64_STEM TU_SECRET_B64_STEM
#define KID TU_KID
#define SEC TU_SEC
#define EXP TU_EXP
#define WRAP(k) TU_WRAP(k)
#define ONE TU_ONE

/* ----------------------------------------------------------- helpers */

static void
setup(void)
{
	dir = tu_tmpdir();
	tu_path(cache, sizeof(cache), dir, "keys.json");
}

static void
teardown(void)
{
	tu_rmdir(dir);
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

/* Read path and require that it holds exactly want[0..nwant). */
static void
assert_holds(const char *path, const struct keycache_entry *want,
    size_t nwant)
{
	struct keycache_entry *k = NULL;
	size_t n = tu_read_keys(path, &k);

	ck_assert_msg(same_set(k, n, want, nwant), "unexpected key set");
	keyfile_entries_free(k, n);
}

static pserr
read_rc(const char *path, char *why, size_t whylen)
{
	struct keycache_entry *k = NULL;
	size_t n = 0;
	pserr rc = keyfile_read(path, &k, &n, why, whylen);

	if (rc == PS_OK)
		keyfile_entries_free(k, n);
	else
		ck_assert_ptr_null(k);
	return rc;
}

/* ---------------------------------------------------------- the file */

/* A key cache in a directory others may write in is refused on read and
 * on write, with a reason that names the directory; once the directory
 * is private again, it is read. */
START_TEST(directory_writable_by_others)
{
	struct keycache_entry e;
	char why[256];

	ck_assert_int_eq(keyfile_generate(&e, 1000), PS_OK);
	ck_assert_int_eq(keyfile_write(cache, &e, 1), PS_OK);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "its directory (mode 0777) is writable by group "
	    "or others; refused (chmod go-w)");
	ck_assert_int_eq(keyfile_write(cache, &e, 1), PS_ERR_PERM);
	ck_assert_int_eq(chmod(dir, 01773), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_OK);
	ck_assert_int_eq(tu_dir_entries(dir), 1);
}
END_TEST


/* The text of two keys: tu_kat_entry(1700000000) and tu_mk(1, 0). */
static const char kat_text[] =
    "{\"version\": 1,\n"
    " \"keys\": [\n"
    "  {\"kid\": \"000102030405060708090a0b0c0d0e0f\", \"secret\": "
    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\", "
    "\"expires\": 1700000000},\n"
    "  {\"kid\": \"0102030405060708090a0b0c0d0e0f10\", \"secret\": "
    "\"CAsOERQXGh0gIyYpLC8yNTg7PkFER0pNUFNWWVxfYmU=\", "
    "\"expires\": 0}\n"
    " ]}\n";

START_TEST(write_exact_format)
{
	struct keycache_entry e[2];
	struct stat st;
	char *got;
	size_t len;

	tu_kat_entry(&e[0], 1700000000);
	tu_mk(&e[1], 1, 0);
	ck_assert_int_eq(keyfile_write(cache, e, 2), PS_OK);
	got = tu_slurp(cache, &len);
	ck_assert_str_eq(got, kat_text);
	ck_assert_uint_eq(len, sizeof(kat_text) - 1);
	free(got);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_int_eq(tu_dir_entries(dir), 1);

	ck_assert_int_eq(keyfile_write(cache, NULL, 0), PS_OK);
	got = tu_slurp(cache, NULL);
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
		ck_assert_int_eq(keyfile_generate(&e[i], 1000 + i), PS_OK);
	e[4].expires = INT64_MAX - 1;
	ck_assert_int_eq(keyfile_write(cache, e, 5), PS_OK);
	assert_holds(cache, e, 5);
	/* Over an existing file, and down to nothing. */
	ck_assert_int_eq(keyfile_write(cache, e + 1, 2), PS_OK);
	assert_holds(cache, e + 1, 2);
	ck_assert_int_eq(keyfile_write(cache, e, 0), PS_OK);
	ck_assert_int_eq(keyfile_read(cache, &k, &n, why, sizeof(why)), PS_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(tu_dir_entries(dir), 1);
}
END_TEST

START_TEST(write_relative_path)
{
	struct keycache_entry e;
	char cwd[PATH_MAX];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	tu_mk(&e, 3, 77);
	ck_assert_int_eq(keyfile_write("rel.json", &e, 1), PS_OK);
	assert_holds("rel.json", &e, 1);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(tu_dir_entries(dir), 1);
}
END_TEST

START_TEST(write_exact_mode_under_umask)
{
	struct keycache_entry e;
	struct stat st;
	mode_t old = umask(0277);

	tu_mk(&e, 4, 77);
	ck_assert_int_eq(keyfile_write(cache, &e, 1), PS_OK);
	umask(old);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	assert_holds(cache, &e, 1);
}
END_TEST

START_TEST(generate_fresh_keys)
{
	struct keycache_entry a, b;

	ck_assert_int_eq(keyfile_generate(&a, 1234), PS_OK);
	ck_assert_int_eq(keyfile_generate(&b, 1234), PS_OK);
	ck_assert_int_eq(a.expires, 1234);
	ck_assert(memcmp(a.kid, b.kid, ENVELOPE_KID_LEN) != 0);
	ck_assert(memcmp(a.secret, b.secret, ENVELOPE_KEY_LEN) != 0);
	ck_assert_int_eq(keyfile_generate(&a, -1), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_generate(&a, INT64_MAX), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_generate(NULL, 1), PS_ERR_ARG);
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
	tu_kat_entry(&want[1], 0);
	tu_put_text(cache, text, 0600);
	assert_holds(cache, want, 2);

	tu_put_text(cache, "{\"keys\":[],\"version\":1}", 0600);
	assert_holds(cache, NULL, 0);
	/* The reference member list the corrupt cases below start from. */
	tu_put_text(cache, ONE, 0600);
	tu_kat_entry(&want[0], 1700000000);
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
	{"byte order mark", "\xef\xbb\xbf" ONE},
	{"version twice", "{\"version\": 1, \"version\": 1, \"keys\": []}"},
	{"keys twice", "{\"version\": 1, \"keys\": [], \"keys\": []}"},
	{"kid twice", WRAP("{" KID ", " KID ", " SEC ", " EXP "}")},
	{"secret twice", WRAP("{" KID ", " SEC ", " SEC ", " EXP "}")},
	{"expires twice", WRAP("{" KID ", " SEC ", " EXP ", " EXP "}")},
	{"kid twice, once escaped", WRAP("{" KID ", \"\\u006bid\": "
	    "\"0102030405060708090a0b0c0d0e0f10\", " SEC ", " EXP "}")},
	{"member twice, three members", WRAP("{" KID ", " SEC ", " SEC "}")},
	{"escaped unknown member", WRAP("{" KID ", " SEC ", " EXP
	    ", \"\\u006eote\": 1}")},
	{"kid escaped to uppercase", WRAP("{\"kid\": "
	    "\"000102030405060708090a0b0c0d0e0\\u0046\", " SEC ", " EXP "}")},
	{"secret of 45 escaped characters", WRAP("{" KID ", \"secret\": \""
	    "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
	    "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
	    "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
	    "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
	    "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
	    "\\u0041\\u0041\\u0041\\u0041\\u0041\", " EXP "}")},
	{"version -1", "{\"version\": -1, \"keys\": []}"},
	{"expires -5", WRAP("{" KID ", " SEC ", \"expires\": -5}")},
	{"expires true", WRAP("{" KID ", " SEC ", \"expires\": true}")},
	{"expires object", WRAP("{" KID ", " SEC ", \"expires\": {}}")},
	{"second key not object", WRAP("{" KID ", " SEC ", " EXP "}, \"x\"")},
};

START_TEST(refuses_corrupt)
{
	struct keycache_entry *k;
	char why[256], why2[256];
	size_t i, n;
	pserr rc;

	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		memset(why, 'x', sizeof(why));
		tu_put_text(cache, corrupt[i].text, 0600);
		rc = read_rc(cache, why, sizeof(why));
		ck_assert_msg(rc == PS_ERR_CORRUPT, "%s: got %s", corrupt[i].what,
		    pserr_str(rc));
		ck_assert_msg(memchr(why, 0, sizeof(why)) != NULL && why[0] != 0,
		    "%s: no reason given", corrupt[i].what);
		ck_assert_msg(strstr(why, SECRET_B64_STEM) == NULL &&
		    strstr(why, "//////") == NULL,
		    "%s: the reason shows the secret: %s", corrupt[i].what, why);
		/* The text alone, without a file: the same answer. */
		k = NULL;
		n = 99;
		rc = keyfile_parse(corrupt[i].text, strlen(corrupt[i].text), &k,
		    &n, why2, sizeof(why2));
		ck_assert_msg(rc == PS_ERR_CORRUPT, "%s: parse got %s",
		    corrupt[i].what, pserr_str(rc));
		ck_assert_ptr_null(k);
		ck_assert_uint_eq(n, 99);
		ck_assert_str_eq(why2, why);
	}
}
END_TEST

START_TEST(refuses_duplicate_names)
{
	char why[256];

	/* A reader that kept the first and one that kept the last would
	 * use different keys: neither may take the file. */
	tu_put_text(cache, "{\"version\": 1, \"keys\": [], \"version\": 1}",
	    0600);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "has the member version twice");
	tu_put_text(cache, WRAP("{" KID ", " SEC ", " EXP "}, {" KID ", " SEC ", "
	    SEC ", " EXP "}"), 0600);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "key 1 has the member secret twice");
	/* The same name escaped is the same name. */
	tu_put_text(cache, WRAP("{\"\\u0065xpires\": 5, " KID ", " SEC ", " EXP
	    "}"), 0600);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "key 0 has the member expires twice");
}
END_TEST

START_TEST(parse_escaped_names_and_edges)
{
	static const char text[] =
	    "{\"\\u0076ersion\": 1, \"k\\u0065ys\": [{\"\\u006bid\": "
	    "\"000102030405060708090a0b0c0d0e0f\", " SEC ", "
	    "\"expires\": -0}, {\"kid\": \"0102030405060708090a0b0c0d0e0f10\", "
	    "\"secret\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\", "
	    "\"expires\": 9223372036854775806}]}";
	struct keycache_entry want[2];

	/* Names may be escaped; -0 is the integer 0; the largest expiry. */
	tu_kat_entry(&want[0], 0);
	tu_kat_entry(&want[1], INT64_MAX - 1);
	memcpy(want[1].kid, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
	    "\x0c\x0d\x0e\x0f\x10", ENVELOPE_KID_LEN);
	tu_put_text(cache, text, 0600);
	assert_holds(cache, want, 2);
}
END_TEST

START_TEST(refuses_nul_byte)
{
	static const char text[] = ONE "\0";
	char why[256];

	tu_put(cache, text, sizeof(text), 0600);
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
	tu_put(cache, text, size, 0600);
	free(text);
}

START_TEST(size_cap)
{
	static struct keycache_entry many[9000];
	struct keycache_entry e;
	char why[256];
	size_t i;

	put_padded(PS_CAP_KEYFILE);
	tu_kat_entry(&e, 1700000000);
	assert_holds(cache, &e, 1);

	put_padded(PS_CAP_KEYFILE + 1);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "is larger than 1048576 bytes");

	/* A writer never makes a file that readers refuse. */
	for (i = 0; i < 9000; i++) {
		tu_mk(&many[i], 0, 1700000000);
		many[i].kid[0] = (uint8_t)i;
		many[i].kid[1] = (uint8_t)(i >> 8);
	}
	ck_assert_int_eq(keyfile_write(cache, many, 9000), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_write(cache, many, 5000), PS_OK);
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

	tu_kat_entry(&e, 1700000000);
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		tu_put_text(cache, ONE, loose[i]);
		ck_assert_msg(read_rc(cache, why, sizeof(why)) == PS_ERR_PERM,
		    "mode %04o was accepted", (unsigned)loose[i]);
		snprintf(want, sizeof(want), "mode %04o is group/world "
		    "accessible; chmod 600", (unsigned)loose[i]);
		ck_assert_str_eq(why, want);
	}
	tu_put_text(cache, ONE, 0600);
	assert_holds(cache, &e, 1);
	tu_put_text(cache, ONE, 0400);
	assert_holds(cache, &e, 1);
	tu_put_text(cache, ONE, 0700);
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
	tu_put_text(cache, ONE, 0600);
	ck_assert_int_eq(chown(cache, 65534, 65534), 0);
	ck_assert_int_eq(read_rc(cache, why, sizeof(why)), PS_ERR_PERM);
	ck_assert_str_eq(why, "is owned by uid 65534, not by uid 0 that reads "
	    "it; refused");
	/* The owner was the only thing wrong. */
	ck_assert_int_eq(chown(cache, 0, 0), 0);
	tu_kat_entry(&e, 1700000000);
	assert_holds(cache, &e, 1);
}
END_TEST

START_TEST(refuses_non_regular)
{
	char real[PATH_MAX], why[256];

	tu_path(real, sizeof(real), dir, "real.json");
	tu_put_text(real, ONE, 0600);
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

	tu_mk(&e[0], 1, 100);
	tu_mk(&e[1], 1, 200);
	e[1].secret[0] ^= 1;
	ck_assert_int_eq(keyfile_write(cache, e, 2), PS_ERR_ARG);
	tu_mk(&e[1], 2, -1);
	ck_assert_int_eq(keyfile_write(cache, e, 2), PS_ERR_ARG);
	e[1].expires = INT64_MAX;
	ck_assert_int_eq(keyfile_write(cache, e, 2), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_write(cache, NULL, 1), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_write(NULL, e, 1), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_write("", e, 1), PS_ERR_ARG);
	ck_assert_int_lt(snprintf(p, sizeof(p), "%s/", dir), (int)sizeof(p));
	ck_assert_int_eq(keyfile_write(p, e, 1), PS_ERR_ARG);
	ck_assert_int_eq(tu_dir_entries(dir), 0);
}
END_TEST

START_TEST(failed_write_missing_dir)
{
	struct keycache_entry e;
	char p[PATH_MAX], sub[PATH_MAX];
	struct stat st;

	tu_mk(&e, 1, 100);
	tu_path(sub, sizeof(sub), dir, "nodir");
	tu_path(p, sizeof(p), dir, "nodir/keys.json");
	ck_assert_int_eq(keyfile_write(p, &e, 1), PS_ERR_IO);
	ck_assert_int_eq(stat(sub, &st), -1);
	ck_assert_int_eq(tu_dir_entries(dir), 0);
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
	tu_put_text(inner, "x", 0600);
	tu_mk(&e, 1, 100);
	ck_assert_int_eq(keyfile_write(cache, &e, 1), PS_ERR_IO);
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(tu_dir_entries(dir), 1);
}
END_TEST

START_TEST(failed_write_full_disk)
{
	struct keycache_entry old, big[20];
	pid_t pid;
	int st, i;

	tu_mk(&old, 9, 100);
	ck_assert_int_eq(keyfile_write(cache, &old, 1), PS_OK);
	for (i = 0; i < 20; i++)
		tu_mk(&big[i], (uint8_t)(20 + i), 100 + i);
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
		_exit(keyfile_write(cache, big, 20));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), PS_ERR_IO);
	assert_holds(cache, &old, 1);
	ck_assert_int_eq(tu_dir_entries(dir), 1);
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
	tu_mk(&old, 9, 100);
	ck_assert_int_eq(keyfile_write(cache, &old, 1), PS_OK);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	tu_mk(&e, 10, 100);
	ck_assert_int_eq(keyfile_write(cache, &e, 1), PS_ERR_IO);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	assert_holds(cache, &old, 1);
	ck_assert_int_eq(tu_dir_entries(dir), 1);
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

	tu_mk(&a[0], 1, 100);
	for (i = 0; i < 5; i++)
		tu_mk(&b[i], (uint8_t)(50 + i), 200 + i);
	ck_assert_int_eq(keyfile_write(cache, a, 1), PS_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 300; i++)
			if (keyfile_write(cache, i % 2 ? a : b, i % 2 ? 1 : 5)
			    != PS_OK)
				_exit(1);
		_exit(0);
	}
	for (reads = 0; reads < 200000 && !done; reads++) {
		k = NULL;
		n = 0;
		if ((rc = keyfile_read(cache, &k, &n, why, sizeof(why))) !=
		    PS_OK) {
			bad = 1;
			break;
		}
		if (!same_set(k, n, a, 1) && !same_set(k, n, b, 5))
			bad = 2;
		keyfile_entries_free(k, n);
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
	ck_assert_int_eq(tu_dir_entries(dir), 1);
}
END_TEST
START_TEST(encode_and_parse_in_memory)
{
	struct keycache_entry e[2], *k = NULL;
	struct buf b;
	char why[256];
	size_t n = 0;

	tu_kat_entry(&e[0], 1700000000);
	tu_mk(&e[1], 1, 0);
	buf_init(&b, PS_CAP_KEYFILE);
	ck_assert_int_eq(buf_puts(&b, "#"), PS_OK);
	ck_assert_int_eq(keyfile_encode(e, 2, &b), PS_OK);
	ck_assert_uint_eq(b.len, 1 + sizeof(kat_text) - 1);
	ck_assert_mem_eq(b.p + 1, kat_text, sizeof(kat_text) - 1);
	ck_assert_int_eq(keyfile_parse(b.p + 1, b.len - 1, &k, &n, why,
	    sizeof(why)), PS_OK);
	ck_assert_str_eq(why, "");
	ck_assert(same_set(k, n, e, 2));
	keyfile_entries_free(k, n);

	/* A set a reader would refuse is not encoded; out is as it was. */
	buf_reset(&b);
	ck_assert_int_eq(buf_puts(&b, "#"), PS_OK);
	e[1] = e[0];
	e[1].expires = 5;
	ck_assert_int_eq(keyfile_encode(e, 2, &b), PS_ERR_ARG);
	ck_assert_uint_eq(b.len, 1);
	tu_mk(&e[1], 1, INT64_MAX);
	ck_assert_int_eq(keyfile_encode(e, 2, &b), PS_ERR_ARG);
	ck_assert_int_eq(keyfile_encode(NULL, 1, &b), PS_ERR_ARG);
	ck_assert_uint_eq(b.len, 1);
	buf_free(&b);
	/* Past the buffer's cap: PS_ERR_TOO_LARGE, nothing left in it. */
	buf_init(&b, 100);
	ck_assert_int_eq(keyfile_encode(e, 1, &b), PS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(keyfile_encode(NULL, 0, &b), PS_OK);
	buf_free(&b);

	ck_assert_int_eq(keyfile_check(NULL, 0), PS_OK);
	ck_assert_int_eq(keyfile_check(e, 1), PS_OK);
	ck_assert_int_eq(keyfile_parse(NULL, 0, &k, &n, why, sizeof(why)),
	    PS_ERR_CORRUPT);
	ck_assert_str_eq(why, "is empty");
	ck_assert_int_eq(keyfile_parse(ONE, strlen(ONE), NULL, &n, NULL, 0),
	    PS_ERR_ARG);
	ck_assert_int_eq(keyfile_parse(ONE, strlen(ONE), &k, NULL, NULL, 0),
	    PS_ERR_ARG);
	ck_assert_int_eq(keyfile_read(NULL, &k, &n, NULL, 0), PS_ERR_ARG);
}
END_TEST

/* -------------------------------------------- no copy of a secret left */

/*
 * tests/local.mk links this suite with -Wl,--wrap=free: every free() in
 * this file and in the library's objects comes here first.  While a test
 * watches, a block that still holds the watched bytes when it is freed
 * is counted: memory given back unwiped.
 */
void __real_free(void *p);
void __wrap_free(void *p);

static struct {
	int on;
	const void *what[2];
	size_t len[2];
	int leaks;
} watch;

void
__wrap_free(void *p)
{
	size_t i, n;

	if (p != NULL && watch.on) {
		n = malloc_usable_size(p);
		for (i = 0; i < 2; i++)
			if (watch.what[i] != NULL &&
			    memmem(p, n, watch.what[i], watch.len[i]) != NULL)
				watch.leaks++;
	}
	__real_free(p);
}

/* Watch for the secret of TU_ONE, as text and as bytes. */
static void
watch_secret(const uint8_t raw[ENVELOPE_KEY_LEN])
{
	watch.what[0] = SECRET_B64_STEM;
	watch.len[0] = strlen(SECRET_B64_STEM);
	watch.what[1] = raw;
	watch.len[1] = ENVELOPE_KEY_LEN;
	watch.leaks = 0;
	watch.on = 1;
}

START_TEST(secret_copies_are_wiped)
{
	struct keycache_entry e, *k = NULL;
	char escaped[sizeof(SECRET_B64_STEM "=") * 6 + 1], text[1024];
	const char *b64 = SECRET_B64_STEM "=";
	char *copy;
	struct buf b;
	size_t i, n = 0;

	tu_kat_entry(&e, 1700000000);
	watch_secret(e.secret);
	/* The watch works: a copy freed unwiped is seen. */
	copy = strdup(ONE);
	ck_assert_ptr_nonnull(copy);
	free(copy);
	ck_assert_int_eq(watch.leaks, 1);
	watch.leaks = 0;

	/* The caller's text, parsed and then wiped, holds no secret; no
	 * block the parser freed held one. */
	buf_init(&b, PS_CAP_KEYFILE);
	ck_assert_int_eq(buf_puts(&b, ONE), PS_OK);
	ck_assert_int_eq(keyfile_parse(b.p, b.len, &k, &n, NULL, 0), PS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(k[0].secret, e.secret, ENVELOPE_KEY_LEN);
	secret_wipe(b.p, b.len);
	ck_assert_ptr_null(memmem(b.p, b.cap, SECRET_B64_STEM,
	    strlen(SECRET_B64_STEM)));
	keyfile_entries_free(k, n);
	buf_free(&b);
	ck_assert_int_eq(watch.leaks, 0);

	/* A file read, and one whose secret is escaped character by
	 * character (it is unescaped into a scratch buffer first). */
	tu_put_text(cache, ONE, 0600);
	ck_assert_uint_eq(tu_read_keys(cache, &k), 1);
	keyfile_entries_free(k, 1);
	for (i = 0; b64[i] != '\0'; i++)
		snprintf(escaped + 6 * i, 7, "\\u%04x", (unsigned char)b64[i]);
	snprintf(text, sizeof(text), WRAP("{" KID ", \"secret\": \"%s\", " EXP
	    "}"), escaped);
	tu_put_text(cache, text, 0600);
	ck_assert_uint_eq(tu_read_keys(cache, &k), 1);
	ck_assert_mem_eq(k[0].secret, e.secret, ENVELOPE_KEY_LEN);
	keyfile_entries_free(k, 1);
	/* The same, refused after the secret was decoded (a kid twice). */
	snprintf(text, sizeof(text), WRAP("{" KID ", \"secret\": \"%s\", " EXP
	    "}, {" KID ", " SEC ", " EXP "}"), escaped);
	tu_put_text(cache, text, 0600);
	ck_assert_int_eq(read_rc(cache, NULL, 0), PS_ERR_CORRUPT);
	/* The writer's text. */
	ck_assert_int_eq(keyfile_write(cache, &e, 1), PS_OK);
	watch.on = 0;
	ck_assert_int_eq(watch.leaks, 0);
	assert_holds(cache, &e, 1);
}
END_TEST

static Suite *
keyfile_suite(void)
{
	Suite *s = suite_create("keyfile");
	TCase *parse = tcase_create("parse");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(parse, setup, teardown);
	tcase_add_checked_fixture(file, setup, teardown);
	/* Not a timed assertion: a guard against a hang, generous for
	 * sanitizer builds. */
	tcase_set_timeout(parse, 120);
	tcase_set_timeout(file, 120);

	tcase_add_test(parse, encode_and_parse_in_memory);
	tcase_add_test(parse, generate_fresh_keys);
	tcase_add_test(parse, parse_hand_written);
	tcase_add_test(parse, parse_escaped_names_and_edges);
	tcase_add_test(parse, refuses_corrupt);
	tcase_add_test(parse, refuses_duplicate_names);
	tcase_add_test(parse, refuses_nul_byte);
	tcase_add_test(parse, size_cap);
	tcase_add_test(parse, secret_copies_are_wiped);

	tcase_add_test(file, write_exact_format);
	tcase_add_test(file, directory_writable_by_others);
	tcase_add_test(file, write_read_round_trip);
	tcase_add_test(file, write_relative_path);
	tcase_add_test(file, write_exact_mode_under_umask);
	tcase_add_test(file, refuses_loose_modes);
	tcase_add_test(file, refuses_other_owner);
	tcase_add_test(file, refuses_non_regular);
	tcase_add_test(file, write_refuses_bad_sets);
	tcase_add_test(file, failed_write_missing_dir);
	tcase_add_test(file, failed_rename_cleans_up);
	tcase_add_test(file, failed_write_full_disk);
	tcase_add_test(file, failed_write_unwritable_dir);
	tcase_add_test(file, reader_never_sees_partial_file);

	suite_add_tcase(s, parse);
	suite_add_tcase(s, file);
	return s;
}

int
main(void)
{
	/* Warnings only: a failed write logs a line. */
	log_setup("test_keyfile", LOG_WARN);
	return tu_run(keyfile_suite());
}
