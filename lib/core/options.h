/* SPDX-License-Identifier: ISC */
/*
 * options: parsing of option values shared by the programs.
 */
#ifndef PROMPTSEAL_OPTIONS_H
#define PROMPTSEAL_OPTIONS_H

#include <stddef.h>

#include "core/pserr.h"

/* Parse a byte size: digits with an optional K, M or G suffix (powers of
 * 1024).  PS_ERR_ARG for anything else, zero, or more than max. */
pserr options_size(const char *s, size_t max, size_t *out) PS_WARN_UNUSED;

/* Parse a whole number in [min, max]. */
pserr options_long(const char *s, long min, long max, long *out) PS_WARN_UNUSED;

/*
 * The value arg of the command-line option opt ("--threads") as a whole
 * number in [min, max]: 0 with *out set, or -1 after telling the user on
 * stderr ("<program>: --threads wants a number from 1 to 256", the
 * program's name as given to log_setup()).
 */
int options_number(const char *opt, const char *arg, long min, long max,
    long *out);

/*
 * Append value (not copied: the strings of argv outlive the options) to
 * the array *list of *n values, for a repeatable option.  0, or -1 when
 * memory runs out (*list and *n unchanged).  free(*list) at the end.
 */
int options_append(const char ***list, size_t *n, const char *value);

/*
 * The value arg of --log-level: 0 with *level set to an enum log_level,
 * or -1 after telling the user on stderr which names it takes.
 */
int options_log_level(const char *arg, int *level);

#endif
