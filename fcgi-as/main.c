/*
 * promptseal-as: the attestation service (protocol.md section 8), a
 * FastCGI responder behind a web server that terminates TLS.  Clients
 * upload their secrets with a bearer token; a worker's polling helper
 * gets them, wrapped to its ephemeral key, after its attestation evidence
 * checks out.  The HTTP API is in docs/as-api.md.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "as/asapi.h"
#include "as/asreply.h"
#include "as/asstore.h"
#include "as/tokens.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/caps.h"
#include "core/log.h"
#include "net/server.h"

struct as {
	struct asapi_cfg cfg;
	const char *db;
	struct asstore_limits lim;
};

struct as_thread {
	struct asstore *store;
	struct buf body;
	struct asreply reply;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: promptseal-as --db FILE --tokens FILE --platform-key PUBFILE\n"
"                     (--measurement HEX | --measurements FILE) [options]\n"
"\n"
"The promptseal attestation service, a FastCGI responder: clients upload\n"
"secrets, attested workers fetch them wrapped to their ephemeral key\n"
"(docs/as-api.md, docs/attestation.md).\n"
"\n"
"  --db FILE              the SQLite store, created with mode 0600; it holds\n"
"                         the secrets in plain text (several AS processes\n"
"                         may share it)\n"
"  --tokens FILE          bearer tokens allowed to upload, one per line\n"
"                         (mode 0600, owned by this user)\n"
"  --platform-key FILE    a trusted \"sim\" platform public key (PEM);\n"
"                         repeat for several platforms\n"
"  --measurement HEX      an allowed measurement (32 to 48 bytes in hex);\n"
"                         repeatable\n"
"  --measurements FILE    allowed measurements, one hex per line; repeatable\n"
"  --max-ttl SECS         longest time to live of a secret (default 604800)\n"
"  --challenge-ttl SECS   how long a challenge stays valid (default 60)\n"
"  --max-secrets N        unexpired secrets held at once (default 4096,\n"
"                         at most %d)\n"
"  --max-challenges N     outstanding challenges (default 10000)\n"
"  --prefix PATH          where the API is mounted (default /as)\n"
"  --socket PATH          listen on this UNIX socket (default: the socket on\n"
"                         fd 0, as passed by spawn-fcgi, lighttpd's bin-path\n"
"                         or mod_fcgid)\n"
"  --threads N            request threads (default 4)\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --help                 this text\n"
"\n"
"The \"sim\" platform proves nothing about hardware: see docs/attestation.md.\n",
	    PS_CAP_AS_SECRETS);
}

static void *
thread_init(void *app)
{
	struct as *a = app;
	struct as_thread *t;
	char why[256] = "";

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (asstore_sqlite_open(a->db, &a->lim, &t->store, why, sizeof(why)) !=
	    PS_OK) {
		log_error("cannot open the store %s: %s", a->db, why);
		free(t);
		return NULL;
	}
	buf_init(&t->body, PS_CAP_AS_BODY);
	asreply_init(&t->reply);
	return t;
}

static void
thread_fini(void *app, void *state)
{
	struct as_thread *t = state;

	(void)app;
	asstore_close(t->store);
	buf_free(&t->body);
	asreply_free(&t->reply);
	free(t);
}

static void
handle(void *app, void *state, FCGX_Request *req)
{
	struct as *a = app;
	struct as_thread *t = state;
	struct asapi_request q;
	const char *uri = server_param(req, "REQUEST_URI");
	pserr rc;

	memset(&q, 0, sizeof(q));
	q.method = server_param(req, "REQUEST_METHOD");
	q.uri = uri;
	q.authorization = server_param(req, "HTTP_AUTHORIZATION");
	q.content_type = server_param(req, "CONTENT_TYPE");
	rc = server_read_body(req, &t->body);
	if (rc == PS_ERR_TOO_LARGE) {
		asreply_reset(&t->reply);
		asreply_error(&t->reply, 413, "body_too_large",
		    "request body too large");
	} else if (rc != PS_OK) {
		log_info("%s %.*s: the connection broke while reading",
		    q.method ? q.method : "-", uri ? (int)strcspn(uri, "?") : 1,
		    uri ? uri : "-");
		goto out;
	} else {
		q.body = t->body.p ? t->body.p : "";
		q.body_len = t->body.len;
		asapi_handle(&a->cfg, t->store, &q, (int64_t)time(NULL),
		    &t->reply);
	}
	server_send(req, t->reply.status, "application/json",
	    t->reply.headers, t->reply.body.p ? t->reply.body.p : "",
	    t->reply.body.len);
	/* The path without its query, the status, and a note that never
	 * holds a secret or a token. */
	log_msg(t->reply.status >= 500 ? LOG_ERROR : LOG_INFO, "%s %.*s %d %s",
	    q.method ? q.method : "-", uri ? (int)strcspn(uri, "?") : 1,
	    uri ? uri : "-", t->reply.status, t->reply.note);
out:
	buf_reset(&t->body);
	buf_reset(&t->reply.body);
}

static int
number(const char *opt, const char *s, long long min, long long max,
    long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "promptseal-as: %s wants a number from %lld to "
		    "%lld\n", opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_DB = 0x100, OPT_TOKENS, OPT_PLATFORM_KEY, OPT_MEASUREMENT,
	OPT_MEASUREMENTS, OPT_MAX_TTL, OPT_CHALLENGE_TTL, OPT_MAX_SECRETS,
	OPT_MAX_CHALLENGES, OPT_PREFIX, OPT_SOCKET, OPT_THREADS, OPT_LOG_LEVEL,
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"tokens", required_argument, NULL, OPT_TOKENS},
		{"platform-key", required_argument, NULL, OPT_PLATFORM_KEY},
		{"measurement", required_argument, NULL, OPT_MEASUREMENT},
		{"measurements", required_argument, NULL, OPT_MEASUREMENTS},
		{"max-ttl", required_argument, NULL, OPT_MAX_TTL},
		{"challenge-ttl", required_argument, NULL, OPT_CHALLENGE_TTL},
		{"max-secrets", required_argument, NULL, OPT_MAX_SECRETS},
		{"max-challenges", required_argument, NULL, OPT_MAX_CHALLENGES},
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct as a;
	struct server_opts so = {NULL, 4, 128, 5};
	struct server_app app = {handle, thread_init, thread_fini, &a, NULL};
	struct attest_allowlist allow = {NULL, 0};
	struct attest_measurement m;
	struct attest_verifier *sim = NULL;
	const struct attest_verifier *vers[1];
	struct tokens *toks = NULL;
	struct asstore *probe = NULL;
	uint8_t (*pk)[ATTEST_SIM_KEY_LEN] = NULL, (*npk)[ATTEST_SIM_KEY_LEN];
	const char *tokens_path = NULL, **mfiles = NULL, **nm;
	size_t npks = 0, nmfiles = 0, i;
	char why[256];
	long long v;
	int opt, level = LOG_INFO, ret = 1;

	memset(&a, 0, sizeof(a));
	a.cfg.prefix = "/as";
	a.cfg.max_ttl = 604800;
	a.cfg.challenge_ttl = 60;
	a.lim.max_secrets = 4096;
	a.lim.max_challenges = 10000;
	log_setup("promptseal-as", LOG_INFO);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_DB:
			a.db = optarg;
			break;
		case OPT_TOKENS:
			tokens_path = optarg;
			break;
		case OPT_PLATFORM_KEY:
			if ((npk = realloc(pk, (npks + 1) * sizeof(*pk))) == NULL)
				goto out;
			pk = npk;
			if (attest_sim_load_public(optarg, pk[npks], why,
			    sizeof(why)) != PS_OK) {
				fprintf(stderr, "promptseal-as: %s: %s\n", optarg,
				    why);
				ret = 2;
				goto out;
			}
			npks++;
			break;
		case OPT_MEASUREMENT:
			if (attest_measurement_parse(optarg, strlen(optarg), &m) !=
			    PS_OK) {
				fprintf(stderr, "promptseal-as: --measurement "
				    "wants 32 to 48 bytes in hex\n");
				ret = 2;
				goto out;
			}
			if (attest_allowlist_add(&allow, &m) != PS_OK)
				goto out;
			break;
		case OPT_MEASUREMENTS:
			if ((nm = realloc(mfiles, (nmfiles + 1) *
			    sizeof(*mfiles))) == NULL)
				goto out;
			mfiles = nm;
			mfiles[nmfiles++] = optarg;
			break;
		case OPT_MAX_TTL:
			if (number("--max-ttl", optarg, 1, 10LL * 366 * 86400,
			    &v) != 0) {
				ret = 2;
				goto out;
			}
			a.cfg.max_ttl = v;
			break;
		case OPT_CHALLENGE_TTL:
			if (number("--challenge-ttl", optarg, 1, 3600, &v) != 0) {
				ret = 2;
				goto out;
			}
			a.cfg.challenge_ttl = v;
			break;
		case OPT_MAX_SECRETS:
			if (number("--max-secrets", optarg, 1, PS_CAP_AS_SECRETS,
			    &v) != 0) {
				ret = 2;
				goto out;
			}
			a.lim.max_secrets = (size_t)v;
			break;
		case OPT_MAX_CHALLENGES:
			if (number("--max-challenges", optarg, 1, 1000000,
			    &v) != 0) {
				ret = 2;
				goto out;
			}
			a.lim.max_challenges = (size_t)v;
			break;
		case OPT_PREFIX:
			if (optarg[0] != '/' ||
			    optarg[strlen(optarg) - 1] == '/') {
				fprintf(stderr, "promptseal-as: --prefix starts "
				    "with / and does not end with one\n");
				ret = 2;
				goto out;
			}
			a.cfg.prefix = optarg;
			break;
		case OPT_SOCKET:
			so.socket_path = optarg;
			break;
		case OPT_THREADS:
			if (number("--threads", optarg, 1, 256, &v) != 0) {
				ret = 2;
				goto out;
			}
			so.threads = (int)v;
			break;
		case OPT_LOG_LEVEL:
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "promptseal-as: --log-level is "
				    "error, warn, info or debug\n");
				ret = 2;
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			ret = 2;
			goto out;
		}
	}
	if (optind != argc || a.db == NULL || tokens_path == NULL ||
	    npks == 0 || (allow.n == 0 && nmfiles == 0)) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	log_setup("promptseal-as", (enum log_level)level);
	for (i = 0; i < nmfiles; i++) {
		if (attest_allowlist_load(&allow, mfiles[i], why, sizeof(why)) !=
		    PS_OK) {
			log_error("%s: %s", mfiles[i], why);
			goto out;
		}
	}
	if (allow.n == 0) {
		log_error("no measurement is allowed: no worker could ever get "
		    "a secret");
		goto out;
	}
	why[0] = '\0';
	if (tokens_load(tokens_path, &toks, why, sizeof(why)) != PS_OK) {
		log_error("%s: %s", tokens_path, why);
		goto out;
	}
	/* Open the store once here, so a bad path or mode stops the start
	 * instead of every request. */
	why[0] = '\0';
	if (asstore_sqlite_open(a.db, &a.lim, &probe, why, sizeof(why)) !=
	    PS_OK) {
		log_error("%s: %s", a.db, why);
		goto out;
	}
	asstore_close(probe);
	if (attest_sim_verifier_new((const uint8_t (*)[ATTEST_SIM_KEY_LEN])pk,
	    npks, &sim) != PS_OK)
		goto out;
	vers[0] = sim;
	a.cfg.tokens = toks;
	a.cfg.verifiers = vers;
	a.cfg.n_verifiers = 1;
	a.cfg.allow = &allow;
	log_warn("evidence format \"sim\" is accepted: it proves nothing "
	    "about hardware (docs/attestation.md)");
	log_info("serving %s/v1 with %zu platform key(s) and %zu allowed "
	    "measurement(s)", a.cfg.prefix, npks, allow.n);
	ret = server_run(&so, &app);
out:
	attest_verifier_free(sim);
	attest_allowlist_free(&allow);
	tokens_free(toks);
	free(pk);
	free(mfiles);
	return ret;
}
