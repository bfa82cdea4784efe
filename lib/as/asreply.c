/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "as/asreply.h"
#include "core/caps.h"

void
asreply_init(struct asreply *r)
{
	buf_init(&r->body, PS_CAP_AS_REPLY);
	asreply_reset(r);
}

void
asreply_reset(struct asreply *r)
{
	r->status = 500;
	r->headers = ASREPLY_HEADERS;
	buf_reset(&r->body);
	r->note[0] = '\0';
}

void
asreply_free(struct asreply *r)
{
	buf_free(&r->body);
}

void
asreply_error(struct asreply *r, int status, const char *code,
    const char *message)
{
	buf_reset(&r->body);
	r->status = status;
	r->headers = ASREPLY_HEADERS;
	/* On failure the writer leaves the body empty, as it found it. */
	if (pserr_json_body(&r->body, status >= 500 ? "api_error" :
	    "invalid_request_error", code, message) != PS_OK)
		buf_reset(&r->body);
	if (r->note[0] == '\0')
		asreply_note(r, "%s", code);
}

void
asreply_bad_request(struct asreply *r, const char *message)
{
	asreply_note(r, "invalid_request: %s", message);
	asreply_error(r, 400, "invalid_request", message);
}

void
asreply_internal(struct asreply *r, const char *what, pserr rc)
{
	asreply_note(r, "%s: %s", what, pserr_str(rc));
	asreply_error(r, 500, "internal_error", "internal error");
}

void
asreply_ok(struct asreply *r, int status, const char *fmt, ...)
{
	char out[256];
	va_list ap;
	int n;
	pserr rc;

	va_start(ap, fmt);
	n = vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	buf_reset(&r->body);
	if (n < 0 || (size_t)n >= sizeof(out))
		rc = PS_ERR_TOO_LARGE;
	else
		rc = buf_append(&r->body, out, (size_t)n);
	if (rc != PS_OK) {
		asreply_internal(r, "reply", rc);
		return;
	}
	r->status = status;
}

void
asreply_note(struct asreply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}
