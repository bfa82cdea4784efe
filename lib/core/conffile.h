/* SPDX-License-Identifier: ISC */
/*
 * conffile: --config FILE and --version, the same for every program.
 *
 * A configuration file holds the program's long options, one a line:
 *
 *	# comment
 *	max-body = 512K
 *	upstream unix:/run/inference.sock
 *	once                       (a flag: "once" or "once = true")
 *
 * A key is a long option without "--"; its value is the rest of the line,
 * blanks (space, tab, CR) around it dropped, or a "double-quoted" string
 * taken as it is.  A '#' at the start of a line or after a blank starts a
 * comment.  A line is at most PS_CAP_CONFIG_LINE bytes without a NUL, the
 * file at most PS_CAP_CONFIG_FILE.  A flag takes no value, "true" or
 * "false" (then the line says nothing).  An
 * option named on the command line wins: the file's lines for it are not
 * used at all (so a repeatable option is either the file's or the
 * command line's).  "config", "help" and "version" are not keys.
 *
 * The file becomes arguments that getopt_long() parses before the real
 * ones, so every long option a program has works in the file with no code
 * of its own.
 */
#ifndef PROMPTSEAL_CONFFILE_H
#define PROMPTSEAL_CONFFILE_H

#include <getopt.h>
#include <stddef.h>

#include "core/pserr.h"

enum conffile_opt {
	CONFFILE_OPT_CONFIG = 0x1c0,
	CONFFILE_OPT_VERSION,
};

/* In every program's long options. */
#define CONFFILE_LONG_OPTIONS \
	{"config", required_argument, NULL, CONFFILE_OPT_CONFIG}, \
	{"version", no_argument, NULL, CONFFILE_OPT_VERSION}

#define CONFFILE_HELP \
"  --config FILE            read options from FILE, one \"key = value\" a\n" \
"                           line (keys: the long options without --);\n" \
"                           the command line wins\n" \
"  --version                print the version and exit\n"

/* Arguments read from a file: argv-style strings and their lines. */
struct conffile_args {
	char **argv;         /* "--key" or "--key=value", n of them */
	unsigned *line;      /* the file line of each */
	size_t n;
};

/*
 * Read the configuration file path against the program's longopts (the
 * array getopt_long takes, ending in a zero entry).  Entries whose
 * longopts index has skip[index] != 0 (skip may be NULL) are left out.
 * On success *out holds the arguments (free with conffile_args_free).
 * Otherwise PS_ERR_ARG for a bad line, PS_ERR_IO or PS_ERR_TOO_LARGE for
 * the file, with why (whylen bytes) saying "FILE:LINE: ..." or "FILE:
 * ..."; *out is then empty.
 */
pserr conffile_read(const char *path, const struct option *longopts,
    const unsigned char *skip, struct conffile_args *out, char *why,
    size_t whylen) PS_WARN_UNUSED;

void conffile_args_free(struct conffile_args *a);

/*
 * getopt_long() with --config and --version, for main()'s option loop,
 * called with the same arguments each time:
 *
 *	while ((opt = conffile_getopt(argc, argv, "h", longopts)) != -1)
 *
 * longopts holds CONFFILE_LONG_OPTIONS.  On the first call it finds
 * --config on the command line and reads the file; then it hands out the
 * file's options (optarg set as getopt_long sets it) and the command
 * line's.  It never returns CONFFILE_OPT_CONFIG.  On --version it prints
 * "<program> <version>" (argv[0]'s last part, PACKAGE_VERSION) and
 * exits 0.  A bad file is
 * reported on stderr and returned as '?', as getopt_long returns a bad
 * option.  When it returns -1, optind indexes argv as getopt_long's
 * would: argv[optind..argc) are the operands.
 *
 * A program that exits while it looks at an option from the file (a bad
 * value) gets one more line on stderr naming the file and the line.
 * Not thread-safe: for main() before any thread starts.
 */
int conffile_getopt(int argc, char **argv, const char *shortopts,
    const struct option *longopts);

#endif
