/* SPDX-License-Identifier: ISC */
/*
 * caps: every size limit of promptseal in one table.
 *
 * A buffer that grows from input gets its cap here when it is created
 * (buf_init(&b, PS_CAP_...)), and fails cleanly past it (PS_ERR_TOO_LARGE).
 * Limits an operator can change have a default here and an option in the
 * program that uses them.
 */
#ifndef PROMPTSEAL_CAPS_H
#define PROMPTSEAL_CAPS_H

/* The proxies (defaults of --max-body, --max-reply, --max-line). */
#define PS_CAP_BODY_DEFAULT       (10u << 20)   /* a request body */
#define PS_CAP_BODY_LIMIT         (1u << 30)    /* the most --max-body takes */
#define PS_CAP_REPLY_DEFAULT      (32u << 20)   /* a non-streamed reply */
#define PS_CAP_REPLY_LIMIT        ((size_t)1 << 32) /* the most --max-reply
                                                 * takes */
#define PS_CAP_LINE_DEFAULT       (4u << 20)    /* one SSE line */
#define PS_CAP_KEEP               (2u << 20)    /* per-thread buffers larger
                                                 * than this are freed after
                                                 * a request, not kept: a
                                                 * 1 MiB body (1.4 MB
                                                 * sealed) reuses its four
                                                 * buffers, without fresh
                                                 * mappings and page faults
                                                 * per request; an idle
                                                 * thread keeps at most 4 x
                                                 * 2 MiB, wiped */

/* A path parameter (a response or model id, protocol.md section 4):
 * longer than any id an inference server makes or a model name on a
 * model hub, short enough that a request target stays far inside what
 * web servers accept. */
#define PS_CAP_PATH_ID            256

/* Multipart request bodies (protocol.md section 4, "Multipart bodies"). */
#define PS_CAP_MULTIPART_PARTS    256           /* parts in one body */
#define PS_CAP_MULTIPART_HEADER   8192          /* the header section of one
                                                 * part, its empty line
                                                 * included */
#define PS_CAP_MULTIPART_CTYPE    256           /* the request's
                                                 * Content-Type */

/* The public library (lib/promptseal/); its streams take lines up to
 * PS_CAP_LINE_DEFAULT. */
#define PS_CAP_API_MESSAGE        (1u << 30)    /* a body or value it seals
                                                 * or opens, and the output
                                                 * of one call */

/* Files. */
#define PS_CAP_KEYFILE            (1u << 20)    /* the key cache file, about
                                                 * 8000 keys */
#define PS_CAP_CLIENT_KEYS        16            /* keys in the client's key
                                                 * state file (the newest) */
#define PS_CAP_TOKENS_FILE        (1u << 20)    /* the AS's token file */
#define PS_CAP_TOKEN              512           /* one bearer token */
#define PS_CAP_ALLOWLIST_FILE     (256u << 10)  /* a measurements file */
#define PS_CAP_CONFIG_FILE        (64u << 10)   /* a --config file */
#define PS_CAP_CONFIG_LINE        4096          /* one line of it */
#define PS_CAP_PEM                8192          /* a sim platform key */

/* The attestation service's API (docs/as-api.md). */
#define PS_CAP_AS_BODY            (64u << 10)   /* a request to the AS */
#define PS_CAP_AS_SMALL_REPLY     (64u << 10)   /* an upload or challenge
                                                 * reply */
#define PS_CAP_AS_REPLY           (4u << 20)    /* a fetch reply */
#define PS_CAP_AS_SECRETS         7000          /* secrets in one fetch: the
                                                 * key file holds about 7500 */
#define PS_CAP_EVIDENCE           16384         /* attestation evidence, any
                                                 * format */

#endif
