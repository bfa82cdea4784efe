/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lib/core/conffile.c, the --config file of every program.
 *
 * The first byte says which options the command line named (their lines
 * are left out); the rest is written to a file and read against a fixed
 * table of options (two with a value, a flag, one with an optional
 * value, and the ones every program has).  Property: the file is read
 * exactly when an independent reading of conffile.h accepts it, with the
 * same error class otherwise (a bad line, or too large), and then it
 * gives exactly the arguments that reading gives, with their lines.
 * The reading: lines apart by LF, at most PS_CAP_CONFIG_LINE bytes and
 * no NUL byte, the file at most PS_CAP_CONFIG_FILE; blanks are space,
 * tab and CR; a line blank or starting with '#' says nothing; otherwise
 * a key (up to '=' or a blank), an optional '=', and a value: a
 * "double-quoted" string taken as it is (only blanks or a comment after
 * it), or the rest up to a '#' after a blank, blanks around it dropped;
 * the key one of the table's but config, help and version; a flag's
 * value absent, "true" or "false" (no argument), a required value
 * present.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/conffile.h"
#include "fuzz.h"

static const struct option opts[] = {
	CONFFILE_LONG_OPTIONS,
	{"max-body", required_argument, NULL, 1},
	{"upstream", required_argument, NULL, 2},
	{"once", no_argument, NULL, 3},
	{"maybe", optional_argument, NULL, 4},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}
};
#define NOPTS 7

#define MAX_ARGS 512

struct ref {
	char *argv[MAX_ARGS];
	unsigned line[MAX_ARGS];
	size_t n;
};

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* 0 and an argument (or none) into r, or PS_ERR_ARG, for line s..e. */
static pserr
ref_line(const char *s, const char *e, unsigned lineno,
    const unsigned char *skip, struct ref *r)
{
	const char *k, *v = NULL, *ve = NULL, *q;
	size_t kn;
	int idx = -1, i;
	char *arg;

	while (s < e && blank(*s))
		s++;
	if (s == e || *s == '#')
		return PS_OK;
	for (k = s; s < e && *s != '=' && !blank(*s); s++)
		;
	kn = (size_t)(s - k);
	while (s < e && blank(*s))
		s++;
	if (s < e && *s == '=')
		for (s++; s < e && blank(*s); s++)
			;
	if (s < e && *s == '"') {
		v = s + 1;
		if ((ve = memchr(v, '"', (size_t)(e - v))) == NULL)
			return PS_ERR_ARG;
		for (q = ve + 1; q < e && blank(*q); q++)
			;
		if (q < e && *q != '#')
			return PS_ERR_ARG;
	} else if (s < e && *s != '#') {
		v = s;
		for (ve = s; ve < e && !(*ve == '#' && blank(ve[-1])); ve++)
			;
		while (ve > v && blank(ve[-1]))
			ve--;
	}
	for (i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == kn &&
		    memcmp(opts[i].name, k, kn) == 0)
			idx = i;
	if (idx < 0 || strcmp(opts[idx].name, "config") == 0 ||
	    strcmp(opts[idx].name, "help") == 0 ||
	    strcmp(opts[idx].name, "version") == 0)
		return PS_ERR_ARG;
	if (opts[idx].has_arg == no_argument) {
		if (v != NULL) {
			size_t vn = (size_t)(ve - v);

			if (vn == 5 && memcmp(v, "false", 5) == 0)
				return PS_OK;
			if (vn != 4 || memcmp(v, "true", 4) != 0)
				return PS_ERR_ARG;
		}
		v = NULL;
	} else if (opts[idx].has_arg == required_argument && v == NULL) {
		return PS_ERR_ARG;
	}
	if (skip[idx])
		return PS_OK;
	if (r->n == MAX_ARGS)
		abort();
	if ((arg = malloc(2 + kn + 1 + (v ? (size_t)(ve - v) : 0) + 1)) ==
	    NULL)
		abort();
	memcpy(arg, "--", 2);
	memcpy(arg + 2, k, kn);
	arg[2 + kn] = '\0';
	if (v != NULL) {
		arg[2 + kn] = '=';
		memcpy(arg + 3 + kn, v, (size_t)(ve - v));
		arg[3 + kn + (size_t)(ve - v)] = '\0';
	}
	r->argv[r->n] = arg;
	r->line[r->n++] = lineno;
	return PS_OK;
}

static pserr
ref_read(const char *p, size_t n, const unsigned char *skip, struct ref *r)
{
	const char *end = p + n, *nl;
	unsigned lineno = 0;
	pserr rc;

	if (n > PS_CAP_CONFIG_FILE)
		return PS_ERR_TOO_LARGE;
	for (; p < end; p = nl ? nl + 1 : end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)((nl ? nl : end) - p) > PS_CAP_CONFIG_LINE)
			return PS_ERR_TOO_LARGE;
		if (memchr(p, '\0', (size_t)((nl ? nl : end) - p)) != NULL)
			return PS_ERR_ARG;
		if ((rc = ref_line(p, nl ? nl : end, lineno, skip, r)) !=
		    PS_OK)
			return rc;
	}
	return PS_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char skip[NOPTS];
	struct conffile_args a = {NULL, NULL, 0};
	struct ref r;
	char why[256];
	pserr got, want;
	const char *path;
	size_t i;

	if (size < 1)
		return 0;
	path = fuzz_file(data + 1, size - 1);
	for (i = 0; i < NOPTS; i++)
		skip[i] = (unsigned char)(data[0] >> i & 1);
	r.n = 0;
	want = ref_read((const char *)data + 1, size - 1, skip, &r);
	got = conffile_read(path, opts, skip, &a, why, sizeof(why));
	FUZZ_CHECK(got == want);
	if (got == PS_OK) {
		FUZZ_CHECK(a.n == r.n);
		for (i = 0; i < a.n; i++) {
			FUZZ_CHECK(strcmp(a.argv[i], r.argv[i]) == 0);
			FUZZ_CHECK(a.line[i] == r.line[i]);
		}
	} else {
		FUZZ_CHECK(a.n == 0);
	}
	for (i = 0; i < r.n; i++)
		free(r.argv[i]);
	conffile_args_free(&a);
	return 0;
}
