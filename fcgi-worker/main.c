/*
 * promptseal-worker: the FastCGI proxy inside the attested environment.
 * It decrypts each request with the key its kid names, forwards the plain
 * request to the inference server over a UNIX socket and encrypts the reply.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/options.h"
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
"Decrypts promptseal requests, forwards them to the inference server and\n"
"encrypts its replies (protocol.md).  Runs as a FastCGI responder.\n"
"\n"
"  --key-cache FILE         the key cache file (mode 0600, owned by this\n"
"                           user), reloaded within a second when it changes\n"
"  --upstream unix:PATH     the inference server's UNIX socket (HTTP/1.1)\n"
"  --keysync-notify PATH    promptseal-keysync's notify socket: on a kid\n"
"                           not in the cache, ask keysync for a fetch and\n"
"                           wait for the key before answering unknown_key\n"
"  --key-wait MS            how long to wait for it (default 2000)\n"
PROXY_HELP
"  --help                   this text\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		PROXY_LONG_OPTIONS,
		{"key-cache", required_argument, NULL, 'k'},
		{"upstream", required_argument, NULL, 'u'},
		{"keysync-notify", required_argument, NULL, 'n'},
		{"key-wait", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct worker w;
	struct server_app app = {
		worker_handle, worker_thread_init, worker_thread_fini, &w, NULL
	};
	const char *cache = NULL, *upstream = NULL;
	int opt, r, ret = 1;

	memset(&w, 0, sizeof(w));
	proxy_opts_init(&w.opts);
	w.key_wait_ms = 2000;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if ((r = proxy_opts_apply(&w.opts, opt, optarg)) > 0)
			continue;
		if (r < 0)
			return 2;
		switch (opt) {
		case 'k':
			cache = optarg;
			break;
		case 'u':
			upstream = optarg;
			break;
		case 'n':
			w.keysync_notify = optarg;
			break;
		case 'w':
			if (options_long(optarg, 0, 60000, &w.key_wait_ms) !=
			    PS_OK) {
				fprintf(stderr, "--key-wait wants 0 to 60000 ms\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || cache == NULL || upstream == NULL ||
	    strncmp(upstream, "unix:", 5) != 0 || upstream[5] == '\0') {
		usage(stderr);
		return 2;
	}
	log_setup("promptseal-worker", (enum log_level)w.opts.log_level);
	w.opts.upstream.base_url = "http://localhost";
	w.opts.upstream.unix_path = upstream + 5;

	if (upstream_global_init() != PS_OK) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (keycache_open(cache, &w.keys) != PS_OK) {
		log_error("out of memory");
		goto out;
	}
	ret = server_run(&w.opts.server, &app);
out:
	keycache_close(w.keys);
	return ret;
}
