/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: what a proxy reads of its next hop's reply before any of
 * it is authenticated, as whoever sits between the proxies sends it: the
 * Content-Type (message_media_type(), proxy_is_sse()) and a plain error
 * body (proxy_plain_error_code()).
 *
 * The first byte picks: even, the rest up to its first NUL is a
 * Content-Type; odd, the rest is an error body.  Properties: the media
 * type agrees with an independent reading of its contract in
 * message.h (blanks around it and the parameters after ';' dropped,
 * ASCII letters lowercased, refused with a control byte or when it does
 * not fit), for every room from 0 to 40 bytes, and nothing is written
 * past the room; proxy_is_sse() holds exactly when the media type
 * is text/event-stream; a plain error's code is PS_OK or one of
 * protocol.md section 6 that a proxy may send, whose name, quoted,
 * occurs in the body, and whose name maps back to it.
 */
#include "config.h"

#include <string.h>

#include "core/pserr.h"
#include "fuzz.h"
#include "net/proxy.h"
#include "seal/message.h"

#define ROOM 40

/* The reference: -1, or the media type of ct into out (room bytes). */
static int
ref_media_type(const char *ct, char *out, size_t room)
{
	size_t s = 0, e, n, i;

	while (ct[s] == ' ' || ct[s] == '\t')
		s++;
	e = s;
	while (ct[e] != '\0' && ct[e] != ';')
		e++;
	while (e > s && (ct[e - 1] == ' ' || ct[e - 1] == '\t'))
		e--;
	n = e - s;
	if (n + 1 > room)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ct[s + i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[n] = '\0';
	return (int)n;
}

static void
check_content_type(const char *ct)
{
	char got[ROOM + 1], want[ROOM + 1], big[4096];
	size_t room, i;
	int g, w;

	for (room = 0; room <= ROOM; room++) {
		memset(got, 'Z', sizeof(got));
		g = message_media_type(ct, got, room);
		w = ref_media_type(ct, want, room);
		FUZZ_CHECK(g == w);
		if (g >= 0)
			FUZZ_CHECK(memcmp(got, want, (size_t)g + 1) == 0);
		/* Nothing written past the room it was given. */
		for (i = room; i < sizeof(got); i++)
			FUZZ_CHECK(got[i] == 'Z');
		FUZZ_CHECK(proxy_media_type(ct, got, room) == g);
	}
	w = ref_media_type(ct, big, sizeof(big));
	FUZZ_CHECK(proxy_is_sse(ct) ==
	    (w >= 0 && strcmp(big, "text/event-stream") == 0));
}

static void
check_error_body(const char *body, size_t n)
{
	pserr rc = proxy_plain_error_code(body, n);
	const char *code;
	char quoted[64];
	int k;

	if (rc == PS_OK)
		return;
	FUZZ_CHECK(n <= 65536);
	FUZZ_CHECK((code = pserr_code(rc)) != NULL);
	FUZZ_CHECK(pserr_from_code(code, strlen(code)) == rc);
	k = snprintf(quoted, sizeof(quoted), "\"%s\"", code);
	FUZZ_CHECK(k > 0 && (size_t)k < sizeof(quoted));
	FUZZ_CHECK(memmem(body, n, quoted, (size_t)k) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	/* A copy of exactly the rest, so that a read past it is caught. */
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 2 == 0)
		check_content_type(s);
	else
		check_error_body(s, size - 1);
	free(s);
	return 0;
}
