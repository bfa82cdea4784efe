/* SPDX-License-Identifier: ISC */
/*
 * micro: how fast the library seals and opens one message body, measured
 * beside raw AES-256-GCM through EVP in the same process.
 *
 *   bench/micro [--seconds S] [--rounds R] [SIZE|event ...]
 *               (SIZE: bytes, K or M suffix; default: 1K 64K 1M event)
 *
 * For each SIZE a chat request body whose user message holds SIZE bytes of
 * text (with a JSON escape every 80 characters, as real prompts have) is
 * sealed with message_seal_request() and opened with
 * message_open_request(), interleaved with raw AES-256-GCM of the same
 * bytes for S seconds in all (default 1; see measure()), the key
 * derivation of each exchange included (wire format v2).  "event"
 * does the same with message_seal_event() and message_open_event() for
 * one streamed event (a chat.completion.chunk of a few words), padded to
 * the worker's default bucket of 256 bytes, under a key derived once per
 * stream.  With --rounds R (default 1) all rows are measured R times in
 * turn, so that the seal, the open and the raw AES-GCM of each round are
 * seconds apart and their ratio is taken at one clock speed of the
 * machine.  Output, one line per row and round, for bench/run.py:
 *
 *   MICRO round=I kind=request size=N body=B seal_mbs=.. open_mbs=..
 *         both_mbs=.. seal_us=.. open_us=.. aes_mbs=..
 *
 * MB is 10^6 bytes, as in `openssl speed`, counted over the plain body B;
 * both_mbs is B / (seal time + open time), the rate at which one body is
 * encrypted and decrypted again; aes_mbs is raw AES-256-GCM encryption of B
 * bytes (fresh IV, whole buffer, tag) in this process.  A result that does
 * not open to the exact original body is an error (exit status 1).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/pserr.h"
#include "core/secret.h"
#include "seal/envelope.h"
#include "seal/message.h"

#define BODY_MAX (64u << 20)

/* --iterations N: each loop runs exactly N times (no time limit, no AES
 * row), so that an instruction count is the same on every run. */
static long iterations;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A chat request whose last user message has n bytes of text. */
static pserr
make_request(size_t n, struct buf *out)
{
	static const char words[] =
	    "The quick brown fox jumps over the lazy dog; pack my box with "
	    "five dozen liquor jugs. ";
	size_t i, col = 0;
	pserr rc;

	if ((rc = buf_puts(out, "{\"model\":\"test-model\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"You are terse.\"},"
	    "{\"role\":\"user\",\"content\":\"")) != PS_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (++col == 80 && i + 1 < n) {
			/* An escaped newline: two bytes of the n. */
			if ((rc = buf_puts(out, "\\n")) != PS_OK)
				return rc;
			col = 0;
			i++;
			continue;
		}
		if ((rc = buf_putc(out, words[i % (sizeof(words) - 1)])) != PS_OK)
			return rc;
	}
	return buf_puts(out, "\"}],\"max_tokens\":64,\"stream\":false}");
}

static pserr
make_event(struct buf *out)
{
	return buf_puts(out, "data: {\"id\":\"chatcmpl-test\",\"object\":"
	    "\"chat.completion.chunk\",\"created\":1700000000,\"model\":"
	    "\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
	    "\" over the lazy dog\"},\"finish_reason\":null}]}\n\n");
}

/* Raw AES-256-GCM encryption of n bytes, the way the library uses it:
 * the key schedule set once (as the library keeps it per thread, and as
 * openssl speed does), then per message its IV, its bytes and its tag. */
struct aes {
	EVP_CIPHER_CTX *ctx;
	unsigned char *out;
	long iters;
};

static int
aes_init(struct aes *a, const uint8_t *key, size_t n)
{
	a->iters = 0;
	a->ctx = EVP_CIPHER_CTX_new();
	a->out = malloc(n + 16);
	return a->ctx != NULL && a->out != NULL &&
	    EVP_EncryptInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, key, NULL) == 1 ?
	    0 : -1;
}

static int
aes_one(struct aes *a, const char *in, size_t n)
{
	unsigned char iv[12] = { 0 }, tag[16];
	int len;

	memcpy(iv, &a->iters, sizeof(a->iters));
	a->iters++;
	return EVP_EncryptInit_ex(a->ctx, NULL, NULL, NULL, iv) == 1 &&
	    EVP_EncryptUpdate(a->ctx, a->out, &len, (const unsigned char *)in,
	    (int)n) == 1 &&
	    EVP_EncryptFinal_ex(a->ctx, a->out + len, &len) == 1 &&
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 ?
	    0 : -1;
}

static void
aes_free(struct aes *a)
{
	EVP_CIPHER_CTX_free(a->ctx);
	free(a->out);
}

static uint8_t secret[ENVELOPE_SECRET_LEN];

static pserr
lookup(void *arg, const uint8_t kid[ENVELOPE_KID_LEN],
    uint8_t out[ENVELOPE_SECRET_LEN])
{
	(void)arg;
	(void)kid;
	memcpy(out, secret, ENVELOPE_SECRET_LEN);
	return PS_OK;
}

static pserr
seal_one(enum message_endpoint ep, struct envelope_ctx *c,
    const struct buf *body, struct buf *sealed)
{
	pserr rc;

	if (c->dir == ENVELOPE_RESPONSE)
		return message_seal_event(ep, c, 0, body->p, body->len, 256,
		    sealed);
	/* A request derives its key once per exchange. */
	if ((rc = envelope_derive(c, secret)) != PS_OK)
		return rc;
	return message_seal_request(ep, c, 1700000000, "", 0, body->p,
	    body->len, 0, sealed);
}

static pserr
open_one(enum message_endpoint ep, const struct envelope_ctx *c,
    const struct buf *sealed, struct buf *opened, const char **p, size_t *n)
{
	struct message_request r;
	struct envelope_ctx o = *c;
	pserr rc;

	if (c->dir == ENVELOPE_RESPONSE) {
		rc = message_open_event(ep, &o, lookup, NULL, 0, sealed->p,
		    sealed->len, opened);
		*p = opened->p;
		*n = opened->len;
		return rc;
	}
	o.keyed = 0;
	rc = message_open_request(ep, &o, lookup, NULL, sealed->p, sealed->len,
	    opened, &r);
	*p = r.body;
	*n = r.len;
	return rc;
}

/*
 * Seal, open and raw AES-GCM of body, interleaved in slices of about
 * 64 KiB of each (at least one message), for secs seconds in all (with
 * --iterations: that many seals and opens, no AES); print one MICRO
 * line.  So that the three rates are taken at the same clock speed of a
 * machine whose speed moves from one second to the next, each slice is
 * timed on its own and the times are summed per operation.  0 on
 * success.
 */
static int
measure(int round, const char *kind, size_t size, enum message_endpoint ep,
    enum envelope_dir dir, const struct buf *body, double secs)
{
	struct envelope_ctx c;
	struct buf sealed, opened;
	struct aes a = { NULL, NULL, 0 };
	long n = 0, slice, i;
	double t0, t1, t_seal = 0, t_open = 0, t_aes = 0, start;
	const char *got = NULL;
	size_t got_len = 0;
	int ret = 1;
	pserr rc;

	buf_init(&sealed, BODY_MAX);
	buf_init(&opened, BODY_MAX);
	envelope_init(&c, dir);
	if (secret_random(secret, sizeof(secret)) != PS_OK ||
	    secret_random(c.kid, sizeof(c.kid)) != PS_OK ||
	    secret_random(c.nonce, sizeof(c.nonce)) != PS_OK ||
	    secret_random(c.reply, sizeof(c.reply)) != PS_OK)
		goto out;
	if ((dir == ENVELOPE_REQUEST ? envelope_bind_request(&c, "POST",
	    "/v1/chat/completions", 20) : envelope_bind_reply(&c, 200,
	    "text/event-stream", 17)) != PS_OK ||
	    envelope_derive(&c, secret) != PS_OK)
		goto out;
	if (!iterations && aes_init(&a, c.key, body->len) != 0)
		goto out;
	slice = iterations ? 1 : (long)(65536 / body->len) + 1;

	/* Between iterations the output buffers are emptied without the wipe
	 * buf_reset() does: the proxies wipe once per request, and that cost
	 * (secret_wipe) is not the library's encryption. */
	start = now();
	do {
		t0 = now();
		for (i = 0; i < slice; i++) {
			sealed.len = 0;
			if ((rc = seal_one(ep, &c, body, &sealed)) != PS_OK) {
				fprintf(stderr, "micro: seal: %s\n",
				    pserr_str(rc));
				goto out;
			}
		}
		t1 = now();
		t_seal += t1 - t0;
		for (i = 0; i < slice; i++) {
			opened.len = 0;
			if ((rc = open_one(ep, &c, &sealed, &opened, &got,
			    &got_len)) != PS_OK) {
				fprintf(stderr, "micro: open: %s\n",
				    pserr_str(rc));
				goto out;
			}
		}
		t0 = now();
		t_open += t0 - t1;
		for (i = 0; !iterations && i < slice; i++)
			if (aes_one(&a, body->p, body->len) != 0) {
				fprintf(stderr, "micro: AES-GCM failed\n");
				goto out;
			}
		t_aes += now() - t0;
		n += slice;
	} while (iterations ? n < iterations : now() - start < secs || n < 3);

	if (got_len != body->len || memcmp(got, body->p, body->len) != 0) {
		fprintf(stderr, "micro: %s %zu: opened body differs\n", kind, size);
		goto out;
	}
	t_seal /= (double)n;
	t_open /= (double)n;
	t_aes /= (double)n;
	printf("MICRO round=%d kind=%s size=%zu body=%zu sealed=%zu "
	    "seal_mbs=%.1f open_mbs=%.1f both_mbs=%.1f seal_us=%.2f "
	    "open_us=%.2f aes_mbs=%.1f\n", round, kind, size, body->len,
	    sealed.len,
	    (double)body->len / t_seal / 1e6, (double)body->len / t_open / 1e6,
	    (double)body->len / (t_seal + t_open) / 1e6, t_seal * 1e6,
	    t_open * 1e6, iterations ? -1.0 : (double)body->len / t_aes / 1e6);
	fflush(stdout);
	ret = 0;
out:
	aes_free(&a);
	envelope_wipe(&c);
	secret_wipe(secret, sizeof(secret));
	buf_free(&sealed);
	buf_free(&opened);
	return ret;
}

static int
parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end != '\0' || v == 0 || v > (16ul << 20))
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = { "1K", "64K", "1M", "event" };
	const char *const *sizes = defaults;
	int nsizes = 4, i, r, rounds = 1, ret = 1;
	double secs = 1.0;
	struct buf body;
	size_t size;

	buf_init(&body, BODY_MAX);
	if (argc >= 3 && strcmp(argv[1], "--iterations") == 0) {
		iterations = atol(argv[2]);
		argc -= 2;
		argv += 2;
		if (iterations <= 0) {
			fprintf(stderr, "micro: --iterations wants N > 0\n");
			return 2;
		}
	}
	if (argc >= 3 && strcmp(argv[1], "--seconds") == 0) {
		secs = atof(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc >= 3 && strcmp(argv[1], "--rounds") == 0) {
		rounds = atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc > 1 && (argv[1][0] == '-' || secs <= 0 || rounds <= 0)) {
		fprintf(stderr, "usage: micro [--iterations N] [--seconds S] "
		    "[--rounds R] [SIZE|event ...]\n");
		return 2;
	}
	if (argc > 1) {
		sizes = (const char *const *)argv + 1;
		nsizes = argc - 1;
	}
	for (r = 0; r < rounds; r++)
		for (i = 0; i < nsizes; i++) {
			buf_reset(&body);
			if (strcmp(sizes[i], "event") == 0) {
				if (make_event(&body) != PS_OK ||
				    measure(r, "event", body.len, MESSAGE_CHAT,
				    ENVELOPE_RESPONSE, &body, secs) != 0)
					goto out;
				continue;
			}
			if (parse_size(sizes[i], &size) != 0) {
				fprintf(stderr, "micro: bad size %s\n", sizes[i]);
				goto out;
			}
			if (make_request(size, &body) != PS_OK ||
			    measure(r, "request", size, MESSAGE_CHAT,
			    ENVELOPE_REQUEST, &body, secs) != 0)
				goto out;
		}
	ret = 0;
out:
	buf_free(&body);
	return ret;
}
