/* SPDX-License-Identifier: ISC */
/*
 * log: leveled log lines on stderr (the web server's error log).
 *
 * Callers pass only facts about the request (endpoint, status, sizes, key
 * IDs are not secret but are still left out), never a prompt, a reply, a
 * secret or any byte that came from a peer's body.
 */
#ifndef PROMPTSEAL_LOG_H
#define PROMPTSEAL_LOG_H

#include "core/pserr.h"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the program name shown in every line and the highest level printed. */
void log_setup(const char *progname, enum log_level level);

/* The program name given to log_setup() ("promptseal" before). */
const char *log_progname(void);

/* Parse "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *fmt, ...) PS_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
