/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static const char *prog = "promptseal";
static enum log_level max_level = LOG_INFO;

void
log_setup(const char *progname, enum log_level level)
{
	prog = progname;
	max_level = level;
}

const char *
log_progname(void)
{
	return prog;
}

int
log_level_parse(const char *s)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *tags[] = {"error", "warn", "info", "debug"};
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (level > max_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, prog, (long)getpid(), tags[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	m += n;
	if ((size_t)m > sizeof(line) - 2)
		m = sizeof(line) - 2;
	/* A line is one line: a control byte that reached a message (a
	 * peer's method or path, say) cannot forge a line or a terminal
	 * escape of its own. */
	for (; n < m; n++)
		if ((unsigned char)line[n] < 0x20 || line[n] == 0x7f)
			line[n] = '?';
	line[n++] = '\n';
	/* One write per line, so lines of concurrent threads do not mix. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
