/* SPDX-License-Identifier: ISC */
/*
 * seal_chat: one chat request and its reply, sealed and opened through
 * libpromptseal, first as a whole body and then as a stream of two events.
 * The client's side and the worker's side run in one process here; in
 * real use they are two programs with a web server between them that sees
 * only the sealed text.
 *
 *     cc seal_chat.c $(pkg-config --cflags --libs promptseal) -o seal_chat
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promptseal.h>

#define CHAT "/v1/chat/completions"

static const char request[] =
    "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\","
    "\"content\":\"What is the capital of France?\"}]}";
static const char reply[] =
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Paris.\"}}]}";
static const char stream_request[] =
    "{\"model\":\"demo\",\"stream\":true,\"messages\":[{\"role\":\"user\","
    "\"content\":\"What is the capital of France?\"}]}";
static const char upstream_events[] =
    "data: {\"id\":\"chatcmpl-2\",\"choices\":[{\"delta\":"
    "{\"content\":\"Par\"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-2\",\"choices\":[{\"delta\":"
    "{\"content\":\"is.\"}}]}\n\n"
    "data: [DONE]\n\n";

/* The worker's key store: here, the one key the client uses. */
static int
lookup(void *arg, const uint8_t kid[PROMPTSEAL_KID_LEN],
    uint8_t secret[PROMPTSEAL_SECRET_LEN])
{
	const promptseal_key *key = arg;
	uint8_t known[PROMPTSEAL_KID_LEN];

	if (promptseal_key_kid(key, known) != PROMPTSEAL_OK ||
	    memcmp(known, kid, sizeof(known)) != 0)
		return PROMPTSEAL_E_UNKNOWN_KEY;
	return promptseal_key_secret(key, secret);
}

/* Collects the worker's sealed events, as a web server would pass them. */
struct wire {
	char *p;
	size_t len;
};

static int
to_wire(void *arg, const char *p, size_t n)
{
	struct wire *w = arg;
	char *np = realloc(w->p, w->len + n);

	if (np == NULL)
		return 1;
	memcpy(np + w->len, p, n);
	w->p = np;
	w->len += n;
	return 0;
}

/* The client's plain events, shown one per line. */
static int
show_event(void *arg, const char *p, size_t n)
{
	(void)arg;
	while (n > 0 && p[n - 1] == '\n')
		n--;
	printf("client event:   %.*s\n", (int)n, p);
	return 0;
}

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "seal_chat: %s: %s\n", what, promptseal_strerror(rc));
	return 1;
}

/* A whole request and a whole reply. */
static int
body_round_trip(const promptseal_key *key)
{
	promptseal_exchange *cx = NULL, *wx = NULL;
	char *sealed = NULL, *plain = NULL, *sreply = NULL, *preply = NULL;
	size_t sealed_len = 0, plain_len = 0, sreply_len = 0, preply_len = 0;
	int rc;

	printf("request:        %s\n", request);
	if ((rc = promptseal_exchange_new(key, "POST", CHAT, &cx)) != 0 ||
	    (rc = promptseal_seal_request(cx, request, strlen(request),
	    &sealed, &sealed_len)) != 0) {
		rc = fail("sealing the request", rc);
		goto out;
	}
	printf("on the wire:    %s\n", sealed);
	if ((rc = promptseal_open_request(lookup, (void *)key, "POST", CHAT,
	    sealed, sealed_len, &wx, &plain, &plain_len)) != 0) {
		rc = fail("opening the request", rc);
		goto out;
	}
	printf("worker opened:  %s\n", plain);
	if ((rc = promptseal_seal_reply(wx, 200, reply, strlen(reply),
	    &sreply, &sreply_len)) != 0) {
		rc = fail("sealing the reply", rc);
		goto out;
	}
	printf("on the wire:    %s\n", sreply);
	/* The status and the media type that came with it are authenticated
	 * with the reply. */
	if ((rc = promptseal_open_reply(cx, 200, "application/json", sreply,
	    sreply_len, &preply, &preply_len)) != 0) {
		rc = fail("opening the reply", rc);
		goto out;
	}
	printf("client opened:  %s\n", preply);
	if (strcmp(plain, request) != 0 || strcmp(preply, reply) != 0) {
		fprintf(stderr, "seal_chat: the round trip changed a body\n");
		rc = 1;
	}
out:
	promptseal_free(sealed, sealed_len);
	promptseal_free(plain, plain_len);
	promptseal_free(sreply, sreply_len);
	promptseal_free(preply, preply_len);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	return rc;
}

/* A request whose reply is a stream of two events. */
static int
stream_round_trip(const promptseal_key *key)
{
	promptseal_exchange *cx = NULL, *wx = NULL;
	char *sealed = NULL, *plain = NULL;
	size_t sealed_len = 0, plain_len = 0, i;
	struct wire w = {NULL, 0};
	int rc;

	if ((rc = promptseal_exchange_new(key, "POST", CHAT, &cx)) != 0 ||
	    (rc = promptseal_seal_request(cx, stream_request,
	    strlen(stream_request), &sealed, &sealed_len)) != 0 ||
	    (rc = promptseal_open_request(lookup, (void *)key, "POST", CHAT,
	    sealed, sealed_len, &wx, &plain, &plain_len)) != 0) {
		rc = fail("the stream's request", rc);
		goto out;
	}
	if ((rc = promptseal_stream_seal_feed(wx, upstream_events,
	    strlen(upstream_events), to_wire, &w)) != 0 ||
	    (rc = promptseal_stream_seal_finish(wx, PROMPTSEAL_OK, to_wire,
	    &w)) != 0) {
		rc = fail("sealing the stream", rc);
		goto out;
	}
	/* The client gets the stream, sent as 200 text/event-stream, in
	 * pieces that cut events anywhere. */
	if ((rc = promptseal_stream_open_begin(cx, 200,
	    "text/event-stream")) != 0) {
		rc = fail("opening the stream", rc);
		goto out;
	}
	for (i = 0; i < w.len; i += 7) {
		size_t n = w.len - i < 7 ? w.len - i : 7;

		if ((rc = promptseal_stream_open_feed(cx, w.p + i, n,
		    show_event, NULL)) != 0) {
			rc = fail("opening the stream", rc);
			goto out;
		}
	}
	if ((rc = promptseal_stream_open_finish(cx, show_event, NULL)) != 0) {
		rc = fail("ending the stream", rc);
		goto out;
	}
	printf("stream:         complete\n");
out:
	free(w.p);
	promptseal_free(sealed, sealed_len);
	promptseal_free(plain, plain_len);
	promptseal_exchange_free(cx);
	promptseal_exchange_free(wx);
	return rc;
}

int
main(void)
{
	promptseal_key *key = NULL;
	int rc;

	printf("libpromptseal %s\n", promptseal_version());
	if ((rc = promptseal_key_generate(&key)) != 0)
		return fail("making a key", rc);
	rc = body_round_trip(key);
	if (rc == 0)
		rc = stream_round_trip(key);
	promptseal_key_free(key);
	return rc == 0 ? 0 : 1;
}
