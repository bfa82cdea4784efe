/* SPDX-License-Identifier: ISC */
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

#include "asclient/asclient.h"
#include "attest/aspolicy.h"
#include "client.h"
#include "core/caps.h"
#include "core/conffile.h"
#include "core/log.h"
#include "core/options.h"
#include "core/privfile.h"
#include "core/secret.h"
#include "keys/clientkey.h"
#include "keys/keycache.h"
#include "net/proxy.h"
#include "net/server.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: promptseal-client --upstream URL --key-file FILE [options]\n"
"       promptseal-client --upstream URL --as-url URL --as-token-file FILE\n"
"                         --key-state FILE --as-policy FILE [options]\n"
"\n"
"Encrypts OpenAI API requests for a promptseal worker and decrypts its\n"
"replies (protocol.md).  Runs as a FastCGI responder.\n"
"\n"
"  --upstream URL           the worker's base URL, http:// or https://\n"
"                           (https is always verified); http:// only to\n"
"                           a loopback address\n"
"  --allow-plain-upstream   allow an http:// upstream on another host: the\n"
"                           user's Authorization header then travels in\n"
"                           clear\n"
"  --ca-file FILE           CA certificates for the worker's TLS (default:\n"
"                           the system's)\n"
"\n"
"Keys from the attestation service (AS):\n"
"  --as-url URL             the AS's API, https:// only, e.g.\n"
"                           https://as.example/as; keys are made here and\n"
"                           uploaded before their first use\n"
"  --as-ca-file FILE        CA certificates for the AS's TLS (default: the\n"
"                           system's)\n"
"  --as-token-file FILE     the bearer token for uploads (mode 0600)\n"
"  --key-state FILE         this installation's keys (mode 0600); every\n"
"                           client process of the installation names the\n"
"                           same file\n"
"  --key-ttl SECS           time to live of a key (default 3600, at least\n"
"                           %d); a new key takes over about ttl/3 before\n"
"                           the old one expires\n"
"  --as-policy FILE         the user's trust policy: the AS measurements,\n"
"                           platform keys and worker measurements accepted\n"
"                           (docs/attestation.md); the AS is attested\n"
"                           against it before every upload\n"
"\n"
"Pre-shared keys, without an AS (air-gapped use):\n"
"  --key-file FILE          keys in the key cache format (mode 0600); the\n"
"                           unexpired key that expires last is used, and\n"
"                           the file is reloaded when it changes\n"
"\n"
PROXY_HELP
CONFFILE_HELP
"  --help                   this text\n", CLIENTKEY_MIN_TTL);
}

/* Read the token file: one token, blanks around it dropped. */
static int
read_token(const char *path, char **out)
{
	struct buf b;
	char why[256] = "";
	size_t i, start = 0, end;
	char *tok = NULL;
	int ret = -1;

	buf_init(&b, PS_CAP_TOKEN + 64);
	if (privfile_read(path, &b, why, sizeof(why)) != PS_OK) {
		log_error("%s: %s", path, why[0] ? why : "cannot read");
		goto out;
	}
	end = b.len;
	while (start < end && strchr(" \t\r\n", b.p[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", b.p[end - 1]) != NULL)
		end--;
	for (i = start; i < end; i++)
		if (b.p[i] < 0x21 || b.p[i] > 0x7e)
			break;
	if (end == start || i < end || end - start > PS_CAP_TOKEN) {
		log_error("%s: not one token of printable characters", path);
		goto out;
	}
	if ((tok = malloc(end - start + 1)) == NULL)
		goto out;
	memcpy(tok, b.p + start, end - start);
	tok[end - start] = '\0';
	*out = tok;
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

enum {
	OPT_UPSTREAM = 0x200, OPT_CA_FILE, OPT_KEY_FILE, OPT_AS_URL,
	OPT_AS_CA_FILE, OPT_AS_TOKEN_FILE, OPT_KEY_STATE, OPT_KEY_TTL,
	OPT_ALLOW_PLAIN,
	/* The trust policy for the AS. */
	OPT_AS_POLICY = 0x280,
};

/* What the command line says, beside the options of struct client. */
struct args {
	const char *upstream, *keyfile, *token_file;
	struct asclient_opts ao;
	struct clientkey_cfg kc;
	long ttl;
	int ttl_given;
	int allow_plain;          /* --allow-plain-upstream */
	char base[1024];          /* the worker's URL, no trailing slash */
	const char *policy_file;  /* --as-policy */
};

/* Parse argv into a and cl->opts.  Returns -1 to go on, or the exit
 * status (0 after --help). */
static int
parse_args(int argc, char **argv, struct args *a, struct client *cl)
{
	static const struct option longopts[] = {
		PROXY_LONG_OPTIONS,
		{"upstream", required_argument, NULL, OPT_UPSTREAM},
		{"ca-file", required_argument, NULL, OPT_CA_FILE},
		{"key-file", required_argument, NULL, OPT_KEY_FILE},
		{"as-url", required_argument, NULL, OPT_AS_URL},
		{"as-ca-file", required_argument, NULL, OPT_AS_CA_FILE},
		{"as-token-file", required_argument, NULL, OPT_AS_TOKEN_FILE},
		{"key-state", required_argument, NULL, OPT_KEY_STATE},
		{"key-ttl", required_argument, NULL, OPT_KEY_TTL},
		{"allow-plain-upstream", no_argument, NULL, OPT_ALLOW_PLAIN},
		CONFFILE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		/* The trust policy for the AS. */
		{"as-policy", required_argument, NULL, OPT_AS_POLICY},
		{NULL, 0, NULL, 0}
	};
	int opt, r;

	while ((opt = conffile_getopt(argc, argv, "h", longopts)) != -1) {
		if ((r = proxy_opts_apply(&cl->opts, opt, optarg)) > 0)
			continue;
		if (r < 0)
			return 2;
		switch (opt) {
		case OPT_UPSTREAM:
			a->upstream = optarg;
			break;
		case OPT_CA_FILE:
			cl->opts.upstream.ca_file = optarg;
			break;
		case OPT_KEY_FILE:
			a->keyfile = optarg;
			break;
		case OPT_ALLOW_PLAIN:
			a->allow_plain = 1;
			break;
		case OPT_AS_URL:
			a->ao.url = optarg;
			break;
		case OPT_AS_CA_FILE:
			a->ao.ca_file = optarg;
			break;
		case OPT_AS_TOKEN_FILE:
			a->token_file = optarg;
			break;
		case OPT_KEY_STATE:
			a->kc.state_path = optarg;
			break;
		case OPT_KEY_TTL:
			if (options_long(optarg, CLIENTKEY_MIN_TTL,
			    CLIENTKEY_MAX_TTL, &a->ttl) != PS_OK) {
				fprintf(stderr, "--key-ttl wants %d to %d seconds\n",
				    CLIENTKEY_MIN_TTL, CLIENTKEY_MAX_TTL);
				return 2;
			}
			a->ttl_given = 1;
			break;
		case OPT_AS_POLICY:
			a->policy_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The combinations of options that make sense, and the worker's base URL
 * into a->base.  Returns -1 to go on, or the exit status. */
static int
check_args(struct args *a)
{
	size_t n;

	if (a->upstream == NULL || (strncmp(a->upstream, "http://", 7) != 0 &&
	    strncmp(a->upstream, "https://", 8) != 0)) {
		usage(stderr);
		return 2;
	}
	/* The prompt is sealed, but the user's Authorization header is
	 * not: over http:// it is readable by anybody on the way. */
	if (strncmp(a->upstream, "http://", 7) == 0 &&
	    !upstream_is_loopback(a->upstream) && !a->allow_plain) {
		fprintf(stderr, "promptseal-client: --upstream %s is plain "
		    "http:// to another host: the user's Authorization header "
		    "would travel in clear; use https:// or give "
		    "--allow-plain-upstream\n", a->upstream);
		return 2;
	}
	/* Either pre-shared keys or the AS, never both. */
	if ((a->keyfile != NULL) == (a->ao.url != NULL) || (a->ao.url != NULL &&
	    (a->token_file == NULL || a->kc.state_path == NULL ||
	    a->policy_file == NULL)) ||
	    (a->ao.url == NULL && (a->ao.ca_file != NULL ||
	    a->token_file != NULL || a->kc.state_path != NULL ||
	    a->ttl_given || a->policy_file != NULL))) {
		fprintf(stderr, "promptseal-client: give --key-file, or --as-url "
		    "with --as-token-file, --key-state and --as-policy\n");
		usage(stderr);
		return 2;
	}
	if (a->ao.url != NULL && strncmp(a->ao.url, "https://", 8) != 0) {
		fprintf(stderr, "promptseal-client: --as-url must be https://\n");
		return 2;
	}
	/* The request path is appended as it came: drop a trailing slash. */
	n = strlen(a->upstream);
	if (n >= sizeof(a->base)) {
		fprintf(stderr, "--upstream URL too long\n");
		return 2;
	}
	memcpy(a->base, a->upstream, n + 1);
	while (n > 0 && a->base[n - 1] == '/')
		a->base[--n] = '\0';
	return -1;
}

/*
 * The user's trust policy for the AS: checked here so that a bad file
 * stops the start; asclient reads it again at every upload, so that a new
 * worker build the user accepts counts from the next rotation.  0 or -1
 * (logged).
 */
static int
check_policy(const char *path)
{
	struct aspolicy p;
	char why[256] = "";
	int ret = 0;

	aspolicy_init(&p);
	if (aspolicy_load(path, &p, why, sizeof(why)) != PS_OK) {
		log_error("%s: %s", path, why);
		ret = -1;
	}
	aspolicy_free(&p);
	return ret;
}

/* The client's keys: pre-shared from a file, or made here and uploaded to
 * the AS.  Returns 0, or -1 (logged). */
static int
setup_keys(struct args *a, struct client *cl, struct client_as *ca)
{
	if (a->keyfile != NULL) {
		if (keycache_open(a->keyfile, &cl->keys) != PS_OK) {
			log_error("out of memory");
			return -1;
		}
		return 0;
	}
	if (read_token(a->token_file, &ca->token) != 0 ||
	    check_policy(a->policy_file) != 0)
		return -1;
	a->ao.policy_file = a->policy_file;
	/* Below the stop deadline, so a stop never waits on the AS. */
	a->ao.connect_timeout_ms = 5000;
	a->ao.timeout_ms = 8000;
	if (asclient_new(&a->ao, &ca->as) != PS_OK) {
		log_error("cannot set up the AS client");
		return -1;
	}
	a->kc.ttl = a->ttl;
	a->kc.upload = client_as_upload;
	a->kc.upload_arg = ca;
	cl->state_path = a->kc.state_path;
	if (clientkey_new(&a->kc, &cl->ck) != PS_OK) {
		log_error("cannot set up the key state");
		return -1;
	}
	log_info("keys from the AS, rotated every %ld s or so",
	    a->ttl - (long)clientkey_lead(a->ttl) + 1);
	return 0;
}

int
main(int argc, char **argv)
{
	struct client cl;
	struct client_as ca;
	struct server_app app = {
		client_handle, client_thread_init, client_thread_fini, &cl,
		client_background
	};
	struct args a;
	int ret;

	/* Before any secret is read. */
	if (secret_no_dumps() != PS_OK) {
		perror("promptseal-client: cannot keep its memory out of core files");
		return 1;
	}
	memset(&cl, 0, sizeof(cl));
	memset(&ca, 0, sizeof(ca));
	memset(&a, 0, sizeof(a));
	a.ttl = 3600;
	proxy_opts_init(&cl.opts);
	if ((ret = parse_args(argc, argv, &a, &cl)) >= 0 ||
	    (ret = check_args(&a)) >= 0)
		return ret;
	cl.opts.upstream.base_url = a.base;
	log_setup("promptseal-client", (enum log_level)cl.opts.log_level);

	ret = 1;
	if (upstream_global_init() != PS_OK || asclient_global_init() != PS_OK) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (setup_keys(&a, &cl, &ca) == 0)
		ret = server_run(&cl.opts.server, &app);
out:
	keycache_close(cl.keys);
	clientkey_free(cl.ck);
	asclient_free(ca.as);
	if (ca.token != NULL)
		secret_free(ca.token, strlen(ca.token));
	return ret;
}
