/*
 * promptseal-client: the FastCGI proxy beside the user's application.  It
 * encrypts every request (protocol.md), forwards it to the worker and
 * decrypts the reply, streams included, before the application sees it.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "keycache.h"
#include "log.h"
#include "proxy.h"
#include "server.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: promptseal-client --upstream URL --key-file FILE [options]\n"
"\n"
"Encrypts OpenAI API requests for a promptseal worker and decrypts its\n"
"replies (protocol.md).  Runs as a FastCGI responder.\n"
"\n"
"  --upstream URL           the worker's base URL, http:// or https://\n"
"                           (https is always verified)\n"
"  --ca-file FILE           CA certificates for the worker's TLS (default:\n"
"                           the system's)\n"
"  --key-file FILE          pre-shared keys in the key cache format (mode\n"
"                           0600); the unexpired key that expires last is\n"
"                           used, and the file is reloaded when it changes\n"
PROXY_HELP
"  --help                   this text\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		PROXY_LONG_OPTIONS,
		{"upstream", required_argument, NULL, 'u'},
		{"ca-file", required_argument, NULL, 'c'},
		{"key-file", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct client cl;
	struct server_app app = {
		client_handle, client_thread_init, client_thread_fini, &cl
	};
	const char *keyfile = NULL, *upstream = NULL;
	char base[1024];
	size_t n;
	int opt, r, ret = 1;

	memset(&cl, 0, sizeof(cl));
	proxy_opts_init(&cl.opts);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if ((r = proxy_opts_apply(&cl.opts, opt, optarg)) > 0)
			continue;
		if (r < 0)
			return 2;
		switch (opt) {
		case 'u':
			upstream = optarg;
			break;
		case 'c':
			cl.opts.upstream.ca_file = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || upstream == NULL || keyfile == NULL ||
	    (strncmp(upstream, "http://", 7) != 0 &&
	    strncmp(upstream, "https://", 8) != 0)) {
		usage(stderr);
		return 2;
	}
	/* The request path is appended as it came: drop a trailing slash. */
	n = strlen(upstream);
	if (n >= sizeof(base)) {
		fprintf(stderr, "--upstream URL too long\n");
		return 2;
	}
	memcpy(base, upstream, n + 1);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	cl.opts.upstream.base_url = base;
	log_setup("promptseal-client", (enum log_level)cl.opts.log_level);

	if (upstream_global_init() != PS_OK) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (keycache_open(keyfile, &cl.keys) != PS_OK) {
		log_error("out of memory");
		goto out;
	}
	ret = server_run(&cl.opts.server, &app);
out:
	keycache_close(cl.keys);
	return ret;
}
