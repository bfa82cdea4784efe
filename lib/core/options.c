#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

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
