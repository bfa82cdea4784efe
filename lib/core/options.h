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

#endif
