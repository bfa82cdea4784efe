/* SPDX-License-Identifier: ISC */
/*
 * promptseal-as: the attestation service (protocol.md section 8), a
 * FastCGI responder behind a web server that terminates TLS.  Clients
 * upload their secrets with a bearer token; a worker's polling helper
 * gets them, wrapped to its ephemeral key, after its attestation evidence
 * checks out.  The HTTP API is in docs/as-api.md.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as/asapi.h"
#include "as/askey.h"
#include "as/asreply.h"
#include "as/asstore.h"
#include "as/tokens.h"
#include "asclient/asclient.h"
#include "attest/aspolicy.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "attest/wrap.h"
#include "core/caps.h"
#include "core/clock.h"
#include "core/conffile.h"
#include "core/log.h"
#include "core/options.h"
#include "core/secret.h"
#include "net/server.h"

/* What main() parses and sets up; the request threads read cfg, db and
 * lim only. */
struct as {
	struct asapi_cfg cfg;
	const char *db;
	struct asstore_limits lim;
	struct server_opts so;
	int level;
	const char *tokens_path;
	const char **mfiles;                    /* --measurements */
	size_t nmfiles;
	uint8_t (*pk)[ATTEST_SIM_KEY_LEN];      /* --platform-key */
	size_t npks;
	struct attest_allowlist allow;
	struct tokens *toks;
	struct attest_verifier *sim;
	const struct attest_verifier *vers[1];
	/* The AS's own attestation and keys (docs/attestation.md). */
	const char *attest_key;                 /* --attest-key */
	const char **self_files;                /* --attest-measurement-of */
	size_t nself_files;
	struct attest_measurement self_m;       /* what its evidence claims */
	int self_m_set;
	const char *storage_file;               /* --storage-key-file */
	const char *peer_url;                   /* --peer */
	const char *peer_ca;                    /* --peer-ca-file */
	struct attest_allowlist peers;          /* --peer-measurement */
	struct attest_producer *self;
	struct aspolicy policy;
	uint8_t digest[ASPOLICY_DIGEST_LEN];
	uint8_t as_priv[WRAP_KEY_LEN], as_pub[WRAP_KEY_LEN];
	uint8_t storage_key[ASSTORE_KEY_LEN];
	uint8_t challenge_key[32];
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
"                     (--measurement HEX | --measurements FILE)\n"
"                     --attest-key FILE (--attest-measurement HEX |\n"
"                     --attest-measurement-of FILE) [options]\n"
"\n"
"The promptseal attestation service, a FastCGI responder: clients upload\n"
"secrets, attested workers fetch them wrapped to their ephemeral key\n"
"(docs/as-api.md, docs/attestation.md).\n"
"\n"
"  --db FILE              the SQLite store, created with mode 0600; it holds\n"
"                         the secrets sealed under the storage key (several\n"
"                         AS processes may share it)\n"
"  --tokens FILE          bearer tokens allowed to upload, one per line,\n"
"                         \"NAME LIMIT TOKEN\" or \"TOKEN\" (mode 0600,\n"
"                         owned by this user)\n"
"  --platform-key FILE    a trusted \"sim\" platform public key (PEM);\n"
"                         repeat for several platforms\n"
"  --measurement HEX      an allowed measurement (32 to 48 bytes in hex);\n"
"                         repeatable\n"
"  --measurements FILE    allowed measurements, one hex per line; repeatable\n"
"  --max-ttl SECS         longest time to live of a secret (default 604800)\n"
"  --challenge-ttl SECS   how long a challenge stays valid (default 60)\n"
"  --max-secrets N        unexpired secrets held at once (default 4096,\n"
"                         at most %d)\n"
"  --max-challenges N     used challenges remembered until they expire\n"
"                         (default 10000)\n"
"  --prefix PATH          where the API is mounted (default /as)\n"
"  --socket PATH          listen on this UNIX socket (default: the socket on\n"
"                         fd 0, as passed by spawn-fcgi, lighttpd's bin-path\n"
"                         or mod_fcgid)\n"
"  --threads N            request threads (default 4)\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --config FILE          read options from FILE, \"key = value\" a line\n"
"                         (keys: the long options without --); the\n"
"                         command line wins\n"
"  --version              print the version and exit\n"
"  --help                 this text\n"
"\n"
"The AS's own attestation and storage key:\n"
"  --attest-key FILE      the \"sim\" platform private key its evidence is\n"
"                         signed with (mode 0600)\n"
"  --attest-measurement HEX / --attest-measurement-of FILE\n"
"                         what its evidence claims: a value, or the\n"
"                         measurement of these files (repeatable, in order)\n"
"  --storage-key-file FILE  the storage key, sealed to the platform, kept\n"
"                         across restarts (mode 0600)\n"
"  --peer URL             get the storage key from this running AS instance\n"
"                         (https://); without it, and without a sealed\n"
"                         file that opens, a fresh storage key is made\n"
"  --peer-ca-file FILE    CA certificates for the peer's TLS\n"
"  --peer-measurement HEX an AS build that may join this one, or that it\n"
"                         joins with --peer; part of the policy clients\n"
"                         check (repeatable; default: this instance's own\n"
"                         measurement)\n"
"\n"
"The \"sim\" platform proves nothing about hardware: see docs/attestation.md.\n",
	    PS_CAP_AS_SECRETS);
}

/* ---------------------------------------------------------- requests */

static void *
thread_init(void *app)
{
	struct as *a = app;
	struct as_thread *t;
	char why[256] = "";

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (asstore_sqlite_open(a->db, &a->lim, a->storage_key, &t->store, why,
	    sizeof(why)) != PS_OK) {
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
	/* The path without its query, cut short: the query is not the AS's
	 * business, and a log line holds little a client chose to put there
	 * (log_msg makes any control byte in it a '?'). */
	size_t path = uri ? strcspn(uri, "?") : 1;
	int plen = (int)(path < 128 ? path : 128);
	pserr rc;

	memset(&q, 0, sizeof(q));
	q.method = server_param(req, "REQUEST_METHOD");
	q.uri = uri;
	q.authorization = server_param(req, "HTTP_AUTHORIZATION");
	q.content_type = server_param(req, "CONTENT_TYPE");
	/* An upload's token is checked before its body is read: without
	 * one, the answer (401) is in t->reply already. */
	rc = asapi_early(&a->cfg, &q, &t->reply) ? PS_ERR_AUTH :
	    server_read_body(req, &t->body);
	if (rc == PS_ERR_AUTH) {
		/* answered */
	} else if (rc == PS_ERR_TOO_LARGE) {
		asreply_reset(&t->reply);
		asreply_error(&t->reply, 413, "body_too_large",
		    "request body too large");
	} else if (rc != PS_OK) {
		log_info("%.16s %.*s: the connection broke while reading",
		    q.method ? q.method : "-", plen, uri ? uri : "-");
		goto out;
	} else {
		q.body = t->body.p ? t->body.p : "";
		q.body_len = t->body.len;
		asapi_handle(&a->cfg, t->store, &q, clock_unix(), &t->reply);
	}
	server_send(req, t->reply.status, "application/json",
	    t->reply.headers, t->reply.body.p ? t->reply.body.p : "",
	    t->reply.body.len);
	/* The status, and a note that never holds a secret or a token. */
	log_msg(t->reply.status >= 500 ? LOG_ERROR : LOG_INFO, "%.16s %.*s %d %s",
	    q.method ? q.method : "-", plen, uri ? uri : "-", t->reply.status,
	    t->reply.note);
out:
	buf_reset(&t->body);
	buf_reset(&t->reply.body);
}

/* ----------------------------------------------------------- options */

enum {
	OPT_DB = 0x100, OPT_TOKENS, OPT_PLATFORM_KEY, OPT_MEASUREMENT,
	OPT_MEASUREMENTS, OPT_MAX_TTL, OPT_CHALLENGE_TTL, OPT_MAX_SECRETS,
	OPT_MAX_CHALLENGES, OPT_PREFIX, OPT_SOCKET, OPT_THREADS, OPT_LOG_LEVEL,
	/* The AS's own attestation and keys. */
	OPT_ATTEST_KEY = 0x180, OPT_ATTEST_MEASUREMENT, OPT_ATTEST_MEASUREMENT_OF,
	OPT_STORAGE_KEY_FILE, OPT_PEER, OPT_PEER_CA_FILE, OPT_PEER_MEASUREMENT,
};

/* Go on parsing; any other value is the exit status. */
#define GO_ON (-1)

static int
add_platform_key(struct as *a, const char *path)
{
	uint8_t (*npk)[ATTEST_SIM_KEY_LEN];
	char why[256] = "";

	if ((npk = realloc(a->pk, (a->npks + 1) * sizeof(*a->pk))) == NULL)
		return 1;
	a->pk = npk;
	if (attest_sim_load_public(path, a->pk[a->npks], why, sizeof(why)) !=
	    PS_OK) {
		fprintf(stderr, "promptseal-as: %s: %s\n", path, why);
		return 2;
	}
	a->npks++;
	return GO_ON;
}

static int
add_measurement(struct as *a, const char *hex)
{
	struct attest_measurement m;

	if (attest_measurement_parse(hex, strlen(hex), &m) != PS_OK) {
		fprintf(stderr, "promptseal-as: --measurement wants 32 to 48 "
		    "bytes in hex\n");
		return 2;
	}
	return attest_allowlist_add(&a->allow, &m) == PS_OK ? GO_ON : 1;
}

#define NOT_MINE (-2)

/* The options of the AS's own attestation and keys; GO_ON, an exit
 * status, or NOT_MINE when opt is not one of them. */
static int
trust_option(struct as *a, int opt, const char *arg)
{
	struct attest_measurement m;

	switch (opt) {
	case OPT_ATTEST_KEY:
		a->attest_key = arg;
		return GO_ON;
	case OPT_ATTEST_MEASUREMENT:
	case OPT_PEER_MEASUREMENT:
		if (attest_measurement_parse(arg, strlen(arg), &m) != PS_OK) {
			fprintf(stderr, "promptseal-as: a measurement is 32 to "
			    "48 bytes in hex\n");
			return 2;
		}
		if (opt == OPT_PEER_MEASUREMENT)
			return attest_allowlist_add(&a->peers, &m) == PS_OK ?
			    GO_ON : 1;
		a->self_m = m;
		a->self_m_set = 1;
		return GO_ON;
	case OPT_ATTEST_MEASUREMENT_OF:
		return options_append(&a->self_files, &a->nself_files, arg) ==
		    0 ? GO_ON : 1;
	case OPT_STORAGE_KEY_FILE:
		a->storage_file = arg;
		return GO_ON;
	case OPT_PEER:
		a->peer_url = arg;
		return GO_ON;
	case OPT_PEER_CA_FILE:
		a->peer_ca = arg;
		return GO_ON;
	}
	return NOT_MINE;
}

static int
option(struct as *a, int opt, const char *arg)
{
	long v = 0;
	int r;

	if ((r = trust_option(a, opt, arg)) != NOT_MINE)
		return r;
	switch (opt) {
	case OPT_DB:
		a->db = arg;
		break;
	case OPT_TOKENS:
		a->tokens_path = arg;
		break;
	case OPT_PLATFORM_KEY:
		return add_platform_key(a, arg);
	case OPT_MEASUREMENT:
		return add_measurement(a, arg);
	case OPT_MEASUREMENTS:
		return options_append(&a->mfiles, &a->nmfiles, arg) == 0 ?
		    GO_ON : 1;
	case OPT_MAX_TTL:
		if (options_number("--max-ttl", arg, 1, 10L * 366 * 86400,
		    &v) != 0)
			return 2;
		a->cfg.max_ttl = v;
		break;
	case OPT_CHALLENGE_TTL:
		if (options_number("--challenge-ttl", arg, 1, 3600, &v) != 0)
			return 2;
		a->cfg.challenge_ttl = v;
		break;
	case OPT_MAX_SECRETS:
		if (options_number("--max-secrets", arg, 1, PS_CAP_AS_SECRETS,
		    &v) != 0)
			return 2;
		a->lim.max_secrets = (size_t)v;
		break;
	case OPT_MAX_CHALLENGES:
		if (options_number("--max-challenges", arg, 1, 1000000,
		    &v) != 0)
			return 2;
		a->lim.max_challenges = (size_t)v;
		break;
	case OPT_PREFIX:
		if (arg[0] != '/' || arg[strlen(arg) - 1] == '/') {
			fprintf(stderr, "promptseal-as: --prefix starts with / "
			    "and does not end with one\n");
			return 2;
		}
		a->cfg.prefix = arg;
		break;
	case OPT_SOCKET:
		a->so.socket_path = arg;
		break;
	case OPT_THREADS:
		if (options_number("--threads", arg, 1, 256, &v) != 0)
			return 2;
		a->so.threads = (int)v;
		break;
	case OPT_LOG_LEVEL:
		return options_log_level(arg, &a->level) == 0 ? GO_ON : 2;
	case 'h':
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
	return GO_ON;
}

/* GO_ON when the command line is complete, else the exit status. */
static int
parse_options(struct as *a, int argc, char **argv)
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
		CONFFILE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		/* The AS's own attestation and keys. */
		{"attest-key", required_argument, NULL, OPT_ATTEST_KEY},
		{"attest-measurement", required_argument, NULL,
		    OPT_ATTEST_MEASUREMENT},
		{"attest-measurement-of", required_argument, NULL,
		    OPT_ATTEST_MEASUREMENT_OF},
		{"storage-key-file", required_argument, NULL,
		    OPT_STORAGE_KEY_FILE},
		{"peer", required_argument, NULL, OPT_PEER},
		{"peer-ca-file", required_argument, NULL, OPT_PEER_CA_FILE},
		{"peer-measurement", required_argument, NULL,
		    OPT_PEER_MEASUREMENT},
		{NULL, 0, NULL, 0}
	};
	int opt, r;

	while ((opt = conffile_getopt(argc, argv, "h", longopts)) != -1)
		if ((r = option(a, opt, optarg)) != GO_ON)
			return r;
	if (optind != argc || a->db == NULL || a->tokens_path == NULL ||
	    a->npks == 0 || (a->allow.n == 0 && a->nmfiles == 0) ||
	    a->attest_key == NULL || (a->self_m_set == (a->nself_files > 0))) {
		usage(stderr);
		return 2;
	}
	return GO_ON;
}

/* ------------------------------------------------------------ set up */

/*
 * The storage key: from a peer (--peer), else from the sealed file, else
 * fresh; sealed to the platform (--storage-key-file) whenever it was not
 * read from there.  0 or -1 (logged).
 */
static int
storage_key(struct as *a, const uint8_t platform_priv[ATTEST_SIM_KEY_LEN])
{
	struct asclient_opts o;
	struct asclient *c = NULL;
	uint8_t sk[32];
	char why[256] = "";
	int ret = -1, from_file = 0;
	pserr rc = PS_ERR_NOT_FOUND;

	if (askey_sim_sealing_key(platform_priv, &a->self_m, a->digest, sk) !=
	    PS_OK)
		goto out;
	if (a->peer_url != NULL) {
		memset(&o, 0, sizeof(o));
		o.url = a->peer_url;
		o.ca_file = a->peer_ca;
		if (asclient_global_init() != PS_OK ||
		    asclient_new(&o, &c) != PS_OK) {
			log_error("--peer %s: not an https:// URL", a->peer_url);
			goto out;
		}
		if ((rc = asclient_join(c, a->self, &a->policy, a->digest,
		    a->storage_key)) != PS_OK) {
			log_error("cannot join the AS at %s: %s", a->peer_url,
			    asclient_error(c)[0] ? asclient_error(c) :
			    pserr_str(rc));
			goto out;
		}
		log_info("storage key from the AS instance at %s", a->peer_url);
	} else if (a->storage_file != NULL && (rc = askey_unseal_file(
	    a->storage_file, sk, a->storage_key, why, sizeof(why))) == PS_OK) {
		from_file = 1;
		log_info("storage key unsealed from %s", a->storage_file);
	} else if (a->storage_file != NULL && rc != PS_ERR_NOT_FOUND &&
	    rc != PS_ERR_DECRYPT) {
		/* A file that cannot be read now (its mode, an I/O error, a
		 * short file) may open later: it is not replaced, or every
		 * secret sealed under the key in it would be lost. */
		log_error("%s: %s: the storage key file is kept and the AS "
		    "does not start; remove it to start with a fresh storage "
		    "key (the secrets sealed under the old one are then lost)",
		    a->storage_file, why);
		goto out;
	} else {
		if (rc == PS_ERR_DECRYPT)
			log_warn("%s: %s: a fresh storage key is made, the "
			    "secrets sealed under the old one are lost",
			    a->storage_file, why);
		if (secret_random(a->storage_key, sizeof(a->storage_key)) !=
		    PS_OK)
			goto out;
		log_info("a fresh storage key");
	}
	why[0] = '\0';
	if (a->storage_file != NULL && !from_file &&
	    askey_seal_file(a->storage_file, sk, a->storage_key, why,
	    sizeof(why)) != PS_OK) {
		log_error("%s: %s", a->storage_file, why);
		goto out;
	}
	if (askey_derive(a->storage_key, "challenge", a->challenge_key) !=
	    PS_OK)
		goto out;
	ret = 0;
out:
	secret_wipe(sk, sizeof(sk));
	asclient_free(c);
	return ret;
}

/* The AS's own evidence, key pair, policy and storage key.  0 or -1. */
static int
setup_trust(struct as *a)
{
	uint8_t priv[ATTEST_SIM_KEY_LEN];
	char why[256] = "";
	size_t i;
	int ret = -1;

	if (a->nself_files > 0 && attest_sim_measure_files(a->self_files,
	    a->nself_files, &a->self_m) != PS_OK) {
		log_error("cannot measure the --attest-measurement-of files");
		return -1;
	}
	if (attest_sim_load_private(a->attest_key, priv, why, sizeof(why)) !=
	    PS_OK) {
		log_error("%s: %s", a->attest_key, why);
		return -1;
	}
	if (attest_sim_producer_new(priv, &a->self_m, &a->self) != PS_OK)
		goto out;
	/* The key pair clients seal their secrets to: made here, at start,
	 * and never written anywhere. */
	if (wrap_keypair(a->as_priv, a->as_pub) != PS_OK)
		goto out;
	aspolicy_init(&a->policy);
	for (i = 0; i < a->npks; i++)
		if (aspolicy_add_key(&a->policy, a->pk[i]) != PS_OK)
			goto out;
	for (i = 0; i < a->allow.n; i++)
		if (attest_allowlist_add(&a->policy.workers, &a->allow.m[i]) !=
		    PS_OK)
			goto out;
	/* The AS builds that may join are policy too: each gets the storage
	 * key, so every secret. */
	if (a->peers.n == 0 &&
	    attest_allowlist_add(&a->peers, &a->self_m) != PS_OK)
		goto out;
	for (i = 0; i < a->peers.n; i++)
		if (attest_allowlist_add(&a->policy.peers, &a->peers.m[i]) !=
		    PS_OK)
			goto out;
	if (aspolicy_digest(&a->policy, a->digest) != PS_OK)
		goto out;
	if (storage_key(a, priv) != 0)
		goto out;
	a->cfg.as_priv = a->as_priv;
	a->cfg.as_pub = a->as_pub;
	a->cfg.self = a->self;
	a->cfg.policy = &a->policy;
	a->cfg.policy_digest = a->digest;
	a->cfg.challenge_key = a->challenge_key;
	a->cfg.storage_key = a->storage_key;
	ret = 0;
out:
	secret_wipe(priv, sizeof(priv));
	return ret;
}

/* The allowlist, the tokens, the store and the verifier, checked before
 * the first request so that a bad file stops the start.  0 or -1. */
static int
setup(struct as *a)
{
	struct asstore *probe = NULL;
	char why[256] = "";
	size_t i;

	for (i = 0; i < a->nmfiles; i++)
		if (attest_allowlist_load(&a->allow, a->mfiles[i], why,
		    sizeof(why)) != PS_OK) {
			log_error("%s: %s", a->mfiles[i], why);
			return -1;
		}
	if (a->allow.n == 0) {
		log_error("no measurement is allowed: no worker could ever get "
		    "a secret");
		return -1;
	}
	why[0] = '\0';
	if (tokens_load(a->tokens_path, &a->toks, why, sizeof(why)) != PS_OK) {
		log_error("%s: %s", a->tokens_path, why);
		return -1;
	}
	if (setup_trust(a) != 0)
		return -1;
	why[0] = '\0';
	if (asstore_sqlite_open(a->db, &a->lim, a->storage_key, &probe, why,
	    sizeof(why)) != PS_OK) {
		log_error("%s: %s", a->db, why);
		return -1;
	}
	asstore_close(probe);
	if (attest_sim_verifier_new(
	    (const uint8_t (*)[ATTEST_SIM_KEY_LEN])a->pk, a->npks, &a->sim) !=
	    PS_OK)
		return -1;
	a->vers[0] = a->sim;
	a->cfg.tokens = a->toks;
	a->cfg.verifiers = a->vers;
	a->cfg.n_verifiers = 1;
	a->cfg.allow = &a->allow;
	return 0;
}

static void
cleanup(struct as *a)
{
	attest_verifier_free(a->sim);
	attest_producer_free(a->self);
	aspolicy_free(&a->policy);
	attest_allowlist_free(&a->peers);
	free(a->self_files);
	secret_wipe(a->as_priv, sizeof(a->as_priv));
	secret_wipe(a->storage_key, sizeof(a->storage_key));
	secret_wipe(a->challenge_key, sizeof(a->challenge_key));
	attest_allowlist_free(&a->allow);
	tokens_free(a->toks);
	free(a->pk);
	free(a->mfiles);
}

int
main(int argc, char **argv)
{
	static struct as a;
	struct server_app app = {handle, thread_init, thread_fini, &a, NULL};
	int ret;

	/* Before any secret is read. */
	if (secret_no_dumps() != PS_OK) {
		perror("promptseal-as: cannot keep its memory out of core files");
		return 1;
	}
	a.cfg.prefix = "/as";
	a.cfg.max_ttl = 604800;
	a.cfg.challenge_ttl = 60;
	a.lim.max_secrets = 4096;
	a.lim.max_challenges = 10000;
	a.so.threads = 4;
	a.so.backlog = 128;
	a.so.stop_seconds = 5;
	a.level = LOG_INFO;
	log_setup("promptseal-as", LOG_INFO);
	if ((ret = parse_options(&a, argc, argv)) != GO_ON)
		goto out;
	log_setup("promptseal-as", (enum log_level)a.level);
	ret = 1;
	if (setup(&a) != 0)
		goto out;
	log_warn("evidence format \"sim\" is accepted: it proves nothing "
	    "about hardware (docs/attestation.md)");
	{
		char hex[2 * ASPOLICY_DIGEST_LEN + 1];
		size_t k;

		for (k = 0; k < ASPOLICY_DIGEST_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02x", a.digest[k]);
		log_info("serving %s/v1 with %zu platform key(s) and %zu allowed "
		    "measurement(s), policy digest %s", a.cfg.prefix, a.npks,
		    a.allow.n, hex);
	}
	ret = server_run(&a.so, &app);
out:
	cleanup(&a);
	return ret;
}
