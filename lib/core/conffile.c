/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "core/conffile.h"

static void
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The longopts index of key (exact: no abbreviations in a file), or -1. */
static int
find_key(const struct option *longopts, const char *key)
{
	int i;

	for (i = 0; longopts[i].name != NULL; i++)
		if (strcmp(longopts[i].name, key) == 0)
			return i;
	return -1;
}

static int
add_arg(struct conffile_args *a, char *arg, unsigned line)
{
	char **nv;
	unsigned *nl;

	if ((nv = realloc(a->argv, (a->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	a->argv = nv;
	if ((nl = realloc(a->line, (a->n + 1) * sizeof(*nl))) == NULL)
		return -1;
	a->line = nl;
	a->argv[a->n] = arg;
	a->line[a->n] = line;
	a->n++;
	return 0;
}

/*
 * One line (NUL-terminated, no newline; changed in place).  0 and an
 * argument added (or none for a blank line), or -1 with why set.
 */
static int
parse_line(const char *path, unsigned lineno, char *s,
    const struct option *longopts, const unsigned char *skip,
    struct conffile_args *out, char *why, size_t whylen)
{
	char *key, *val = NULL, *end, *arg;
	size_t klen, vlen;
	int idx;

	while (is_blank(*s))
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	key = s;
	while (*s != '\0' && *s != '=' && !is_blank(*s))
		s++;
	klen = (size_t)(s - key);
	while (is_blank(*s))
		s++;
	if (*s == '=') {
		s++;
		while (is_blank(*s))
			s++;
	}
	if (*s == '"') {
		val = ++s;
		if ((end = strchr(s, '"')) == NULL) {
			say(why, whylen, "%s:%u: no closing quote", path, lineno);
			return -1;
		}
		vlen = (size_t)(end - val);
		s = end + 1;
		while (is_blank(*s))
			s++;
		if (*s != '\0' && *s != '#') {
			say(why, whylen, "%s:%u: text after the quoted value",
			    path, lineno);
			return -1;
		}
	} else if (*s != '\0' && *s != '#') {
		val = s;
		/* A comment begins at a '#' after a blank. */
		for (end = s; *end != '\0'; end++)
			if (*end == '#' && is_blank(end[-1]))
				break;
		while (end > val && is_blank(end[-1]))
			end--;
		vlen = (size_t)(end - val);
	} else
		vlen = 0;
	key[klen] = '\0';
	if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0 ||
	    strcmp(key, "version") == 0 || (idx = find_key(longopts, key)) < 0) {
		say(why, whylen, "%s:%u: unknown key \"%.64s\"", path, lineno, key);
		return -1;
	}
	if (val != NULL)
		val[vlen] = '\0';
	if (longopts[idx].has_arg == no_argument) {
		if (val != NULL && strcmp(val, "true") != 0 &&
		    strcmp(val, "false") != 0) {
			say(why, whylen, "%s:%u: %s is a flag: true or false",
			    path, lineno, key);
			return -1;
		}
		if (val != NULL && strcmp(val, "false") == 0)
			return 0;
		val = NULL;
	} else if (longopts[idx].has_arg == required_argument && val == NULL) {
		say(why, whylen, "%s:%u: %s wants a value", path, lineno, key);
		return -1;
	}
	if (skip != NULL && skip[idx])
		return 0;
	klen = strlen(key);
	vlen = val != NULL ? strlen(val) : 0;
	if ((arg = malloc(2 + klen + 1 + vlen + 1)) == NULL) {
		say(why, whylen, "%s: out of memory", path);
		return -1;
	}
	memcpy(arg, "--", 2);
	memcpy(arg + 2, key, klen);
	if (val != NULL) {
		arg[2 + klen] = '=';
		memcpy(arg + 3 + klen, val, vlen + 1);
	} else
		arg[2 + klen] = '\0';
	if (add_arg(out, arg, lineno) != 0) {
		free(arg);
		say(why, whylen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

pserr
conffile_read(const char *path, const struct option *longopts,
    const unsigned char *skip, struct conffile_args *out, char *why,
    size_t whylen)
{
	struct conffile_args a = {NULL, NULL, 0};
	char line[PS_CAP_CONFIG_LINE + 1], *text = NULL;
	const char *p, *end, *nl;
	unsigned lineno = 0;
	size_t len, n;
	FILE *f;
	pserr rc = PS_ERR_IO;

	if ((f = fopen(path, "r")) == NULL) {
		say(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* The whole file first, one byte more than it may hold: the lines
	 * are then cut by their real lengths, so a NUL byte in one is seen
	 * (fgets() and strlen() would end the line there unseen). */
	if ((text = malloc(PS_CAP_CONFIG_FILE + 1)) == NULL) {
		say(why, whylen, "%s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, PS_CAP_CONFIG_FILE + 1, f);
	if (ferror(f)) {
		say(why, whylen, "%s: cannot read", path);
		goto out;
	}
	if (len > PS_CAP_CONFIG_FILE) {
		say(why, whylen, "%s: larger than %u bytes", path,
		    (unsigned)PS_CAP_CONFIG_FILE);
		rc = PS_ERR_TOO_LARGE;
		goto out;
	}
	for (p = text, end = text + len; p < end; p = nl ? nl + 1 : end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (n > PS_CAP_CONFIG_LINE) {
			say(why, whylen, "%s:%u: longer than %u bytes", path,
			    lineno, (unsigned)PS_CAP_CONFIG_LINE);
			rc = PS_ERR_TOO_LARGE;
			goto out;
		}
		if (memchr(p, '\0', n) != NULL) {
			say(why, whylen, "%s:%u: a NUL byte", path, lineno);
			rc = PS_ERR_ARG;
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_line(path, lineno, line, longopts, skip, &a, why,
		    whylen) != 0) {
			rc = PS_ERR_ARG;
			goto out;
		}
	}
	*out = a;
	a.argv = NULL;
	a.line = NULL;
	a.n = 0;
	rc = PS_OK;
out:
	if (f != NULL)
		fclose(f);
	free(text);
	conffile_args_free(&a);
	return rc;
}

void
conffile_args_free(struct conffile_args *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a->line);
	a->argv = NULL;
	a->line = NULL;
	a->n = 0;
}

/* The state of one program's option loop (main() only, one loop). */
static struct {
	int started;
	int done;
	const char *path;
	struct conffile_args file;
	char **argv;          /* argv[0], the file's arguments, argv[1..] */
	int argc;
	int pending;          /* argv index of a file option handed out, or 0 */
} st;

static const char *
progname(const char *argv0)
{
	const char *p = strrchr(argv0, '/');

	p = p != NULL ? p + 1 : argv0;
	/* libtool's uninstalled wrappers run "lt-NAME". */
	if (strncmp(p, "lt-", 3) == 0)
		p += 3;
	return p;
}

/* A program that exits while it looks at an option from the file has
 * refused its value: say where it was. */
static void
at_exit(void)
{
	const char *arg;
	size_t i, k;

	if (st.pending <= 0 || st.done)
		return;
	i = (size_t)st.pending - 1;
	if (i >= st.file.n)
		return;
	arg = st.file.argv[i] + 2;
	k = strcspn(arg, "=");
	fprintf(stderr, "%s: %s:%u: bad value for %.*s\n",
	    progname(st.argv[0]), st.path, st.file.line[i], (int)k, arg);
}

/* Start: find --config on the command line, read the file, build the
 * argument vector getopt_long goes through.  0, or -1 reported. */
static int
start(int argc, char **argv, const char *shortopts,
    const struct option *longopts)
{
	unsigned char *skip = NULL;
	char why[512] = "";
	size_t nopts = 0;
	int i, opt, idx, ret = -1;

	while (longopts[nopts].name != NULL)
		nopts++;
	if ((skip = calloc(nopts + 1, 1)) == NULL)
		goto out;
	/* A first pass over the command line alone, silent: which options
	 * it names (those win over the file) and --config's value. */
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, &idx)) !=
	    -1) {
		if (opt == '?' || opt == ':')
			continue;
		if (opt == CONFFILE_OPT_CONFIG) {
			if (st.path != NULL) {
				fprintf(stderr, "%s: --config given twice\n",
				    progname(argv[0]));
				goto out;
			}
			st.path = optarg;
		}
		for (i = 0; (size_t)i < nopts; i++)
			if (longopts[i].val == opt && longopts[i].flag == NULL)
				skip[i] = 1;
	}
	opterr = 1;
	optind = 0;
	if (st.path != NULL && conffile_read(st.path, longopts, skip,
	    &st.file, why, sizeof(why)) != PS_OK) {
		fprintf(stderr, "%s: %s\n", progname(argv[0]), why);
		goto out;
	}
	st.argc = argc + (int)st.file.n;
	if ((st.argv = calloc((size_t)st.argc + 1, sizeof(*st.argv))) == NULL)
		goto out;
	st.argv[0] = argv[0];
	for (i = 0; (size_t)i < st.file.n; i++)
		st.argv[1 + i] = st.file.argv[i];
	for (i = 1; i < argc; i++)
		st.argv[st.file.n + (size_t)i] = argv[i];
	if (st.file.n > 0)
		atexit(at_exit);
	ret = 0;
out:
	free(skip);
	return ret;
}

/* After the last option: the operands back into the caller's argv, in
 * the order getopt_long left them, and optind into it. */
static void
finish(int argc, char **argv)
{
	int nops = st.argc - optind, i;

	if (nops < 0 || nops >= argc)
		nops = 0;
	for (i = 0; i < nops; i++)
		argv[argc - nops + i] = st.argv[optind + i];
	optind = argc - nops;
	st.done = 1;
	st.pending = 0;
}

int
conffile_getopt(int argc, char **argv, const char *shortopts,
    const struct option *longopts)
{
	int opt, at;

	if (st.done)
		return -1;
	if (!st.started) {
		st.started = 1;
		if (start(argc, argv, shortopts, longopts) != 0) {
			st.done = 1;
			return '?';
		}
	}
	st.pending = 0;
	for (;;) {
		at = optind == 0 ? 1 : optind;
		opt = getopt_long(st.argc, st.argv, shortopts, longopts, NULL);
		if (opt == -1) {
			finish(argc, argv);
			return -1;
		}
		if (opt == CONFFILE_OPT_CONFIG)
			continue;
		if (opt == CONFFILE_OPT_VERSION) {
			printf("%s %s\n", progname(argv[0]), PACKAGE_VERSION);
			fflush(stdout);
			exit(0);
		}
		/* The file's arguments sit at 1..n: none is ever moved by
		 * getopt_long's permutation, which only moves operands, and
		 * the file holds none. */
		if (at >= 1 && (size_t)at <= st.file.n)
			st.pending = at;
		return opt;
	}
}
