/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/options.h"

pserr
options_size(const char *s, size_t max, size_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (s == NULL || *s < '0' || *s > '9')
		return PS_ERR_ARG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return PS_ERR_ARG;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v == 0 || v > (SIZE_MAX >> shift) ||
	    (v << shift) > max)
		return PS_ERR_ARG;
	*out = (size_t)(v << shift);
	return PS_OK;
}

pserr
options_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return PS_ERR_ARG;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return PS_ERR_ARG;
	*out = v;
	return PS_OK;
}

int
options_number(const char *opt, const char *arg, long min, long max,
    long *out)
{
	if (options_long(arg, min, max, out) != PS_OK) {
		fprintf(stderr, "%s: %s wants a number from %ld to %ld\n",
		    log_progname(), opt, min, max);
		return -1;
	}
	return 0;
}

int
options_log_level(const char *arg, int *level)
{
	int v;

	if ((v = log_level_parse(arg)) < 0) {
		fprintf(stderr, "%s: --log-level is error, warn, info or "
		    "debug\n", log_progname());
		return -1;
	}
	*level = v;
	return 0;
}

int
options_append(const char ***list, size_t *n, const char *value)
{
	const char **nl;

	if ((nl = realloc(*list, (*n + 1) * sizeof(*nl))) == NULL)
		return -1;
	nl[(*n)++] = value;
	*list = nl;
	return 0;
}
