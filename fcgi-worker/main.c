/* SPDX-License-Identifier: ISC */
/*
 * promptseal-worker: the FastCGI proxy inside the attested environment.
 * It opens each request with the key its kid names, refuses a replay,
 * forwards the original request to the inference server over a UNIX
 * socket and seals the reply (protocol.md, wire format version 2).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conffile.h"
#include "core/log.h"
#include "core/options.h"
#include "core/secret.h"
#include "keys/keycache.h"
#include "net/proxy.h"
#include "net/server.h"
#include "worker.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: promptseal-worker --key-cache FILE --upstream unix:/path/inference.sock\n"
"                         [options]\n"
"\n"
"Opens promptseal requests (wire format version 2), forwards them to the\n"
"inference server and seals its replies (protocol.md).  Runs as a FastCGI\n"
"responder.\n"
"\n"
"  --key-cache FILE         the key cache file (mode 0600, owned by this\n"
"                           user), reloaded within a second when it changes\n"
"  --upstream unix:PATH     the inference server's UNIX socket (HTTP/1.1)\n"
"  --keysync-notify PATH    promptseal-keysync's notify socket: on a kid\n"
"                           not in the cache, ask keysync for a fetch and\n"
"                           wait for the key before answering unknown_key\n"
"  --key-wait MS            how long to wait for it (default 2000)\n"
"  --key-waiters N          how many unknown kids may be waited for at once;\n"
"                           requests for other kids are answered at once\n"
"                           (default: a quarter of --threads, at least 2)\n"
"  --pad-stream BYTES       pad each stream event to multiples of BYTES, at\n"
"                           most 64K (default 256; 0: no padding)\n"
"  --replay-window SECS     how old a request may be, and how long its nonce\n"
"                           is remembered (default 300)\n"
"  --replay-file PATH       the record of accepted requests, shared by every\n"
"                           worker process of the node (default: the key\n"
"                           cache's path with \".replay\" appended)\n"
"  --replay-slots N         its size in records (default %zu): at least the\n"
"                           requests a node accepts in one window\n"
PROXY_HELP
CONFFILE_HELP
"  --help                   this text\n", REPLAY_SLOTS_DEFAULT);
}

/* What the command line says, beside the options of struct worker. */
struct args {
	const char *cache, *upstream, *replay_file;
	size_t slots;
	char replay_path[4096];
};

/* Parse argv into a and w.  Returns -1 to go on, or the exit status (0
 * after --help). */
static int
parse_args(int argc, char **argv, struct args *a, struct worker *w)
{
	static const struct option longopts[] = {
		PROXY_LONG_OPTIONS,
		{"key-cache", required_argument, NULL, 'k'},
		{"upstream", required_argument, NULL, 'u'},
		{"keysync-notify", required_argument, NULL, 'n'},
		{"key-wait", required_argument, NULL, 'w'},
		{"key-waiters", required_argument, NULL, 'K'},
		{"pad-stream", required_argument, NULL, 'p'},
		{"replay-window", required_argument, NULL, 'W'},
		{"replay-file", required_argument, NULL, 'f'},
		{"replay-slots", required_argument, NULL, 'S'},
		CONFFILE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long v;
	int opt, r;

	while ((opt = conffile_getopt(argc, argv, "h", longopts)) != -1) {
		if ((r = proxy_opts_apply(&w->opts, opt, optarg)) > 0)
			continue;
		if (r < 0)
			return 2;
		switch (opt) {
		case 'k':
			a->cache = optarg;
			break;
		case 'u':
			a->upstream = optarg;
			break;
		case 'n':
			w->keysync_notify = optarg;
			break;
		case 'w':
			if (options_long(optarg, 0, 60000, &w->key_wait_ms) !=
			    PS_OK) {
				fprintf(stderr, "--key-wait wants 0 to 60000 ms\n");
				return 2;
			}
			break;
		case 'K':
			if (options_long(optarg, 1, 1024, &w->key_waiters_max) !=
			    PS_OK) {
				fprintf(stderr, "--key-waiters wants 1 to 1024\n");
				return 2;
			}
			break;
		case 'p':
			if (strcmp(optarg, "0") == 0)
				w->pad_stream = 0;
			else if (options_size(optarg, STREAM_BUCKET_MAX,
			    &w->pad_stream) != PS_OK) {
				fprintf(stderr, "--pad-stream wants 0 to 64K\n");
				return 2;
			}
			break;
		case 'W':
			if (options_long(optarg, 1, 86400, &w->replay_window) !=
			    PS_OK) {
				fprintf(stderr, "--replay-window wants 1 to 86400 "
				    "seconds\n");
				return 2;
			}
			break;
		case 'f':
			a->replay_file = optarg;
			break;
		case 'S':
			if (options_long(optarg, (long)REPLAY_SLOTS_MIN,
			    (long)REPLAY_SLOTS_MAX, &v) != PS_OK || v % 8 != 0) {
				fprintf(stderr, "--replay-slots wants a multiple of 8 "
				    "from %zu to %zu\n", REPLAY_SLOTS_MIN,
				    REPLAY_SLOTS_MAX);
				return 2;
			}
			a->slots = (size_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || a->cache == NULL || a->upstream == NULL ||
	    strncmp(a->upstream, "unix:", 5) != 0 || a->upstream[5] == '\0') {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The live key cache and the node's replay table.  Returns 0, or -1
 * (logged). */
static int
setup_state(struct args *a, struct worker *w)
{
	char why[256] = "";
	int r;

	if (keycache_open(a->cache, &w->keys) != PS_OK) {
		log_error("out of memory");
		return -1;
	}
	/* Every worker process of the node names the same key cache, so the
	 * default puts them all on one replay table. */
	if (a->replay_file == NULL) {
		r = snprintf(a->replay_path, sizeof(a->replay_path), "%s.replay",
		    a->cache);
		if (r < 0 || (size_t)r >= sizeof(a->replay_path)) {
			log_error("--key-cache path too long");
			return -1;
		}
		a->replay_file = a->replay_path;
	}
	if (replay_open(a->replay_file, a->slots, &w->replay, why,
	    sizeof(why)) != PS_OK) {
		log_error("%s: %s", a->replay_file, why[0] ? why : "cannot open");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct worker w;
	struct server_app app = {
		worker_handle, worker_thread_init, worker_thread_fini, &w, NULL
	};
	struct args a;
	int ret;

	/* Before any secret is read. */
	if (secret_no_dumps() != PS_OK) {
		perror("promptseal-worker: cannot keep its memory out of core files");
		return 1;
	}
	memset(&w, 0, sizeof(w));
	memset(&a, 0, sizeof(a));
	proxy_opts_init(&w.opts);
	w.key_wait_ms = 2000;
	w.key_waiters_max = -1;
	w.pad_stream = 256;
	w.replay_window = 300;
	a.slots = REPLAY_SLOTS_DEFAULT;
	if ((ret = parse_args(argc, argv, &a, &w)) >= 0)
		return ret;
	log_setup("promptseal-worker", (enum log_level)w.opts.log_level);
	/* Two at least: the processes of one client installation may meet
	 * two new kids at once when they start. */
	if (w.key_waiters_max < 0)
		w.key_waiters_max = w.opts.server.threads / 4 > 2 ?
		    w.opts.server.threads / 4 : 2;
	w.opts.upstream.base_url = "http://localhost";
	w.opts.upstream.unix_path = a.upstream + 5;

	ret = 1;
	if (upstream_global_init() != PS_OK) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (worker_waits_new(&w) != 0) {
		log_error("out of memory");
		goto out;
	}
	if (setup_state(&a, &w) == 0)
		ret = server_run(&w.opts.server, &app);
out:
	worker_waits_free(&w);
	replay_close(w.replay);
	keycache_close(w.keys);
	return ret;
}
