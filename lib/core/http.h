/* SPDX-License-Identifier: ISC */
/*
 * http: small facts of HTTP that every program needs the same way.
 */
#ifndef PROMPTSEAL_HTTP_H
#define PROMPTSEAL_HTTP_H

/*
 * 1 when the Content-Type value ct is application/json (case-insensitive,
 * blanks around it, parameters such as "; charset=utf-8" allowed), else 0.
 * ct may be NULL (no header).
 */
int http_is_json(const char *ct);

#endif
