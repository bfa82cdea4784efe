/* SPDX-License-Identifier: ISC */
/*
 * promptseal-keysync: the worker's polling helper.  It attests to the
 * attestation service, fetches the secrets wrapped to a fresh key, and
 * keeps the worker's key cache file (protocol.md section 7) in step: on an
 * interval, and at once when a worker asks through the notify socket.
 * The cache is rewritten only when its content changes; while the AS is
 * out of reach the last cache stays and keysync retries with backoff.
 */
#include "config.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asclient/asclient.h"
#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/clock.h"
#include "core/conffile.h"
#include "core/log.h"
#include "core/options.h"
#include "core/secret.h"
#include "keys/keyfile.h"
#include "keys/keysync.h"
#include "keys/notify.h"

/* The least time between two fetches a worker's request can cause. */
#define NOTIFY_MIN_GAP_MS 1000
#define FIRST_RETRY_MS 1000

/* Go on; any other value is the exit status. */
#define GO_ON (-1)

struct sync {
	/* the command line */
	struct asclient_opts co;
	const char *cache, *pkey, *notify;
	const char **mfiles;                /* --measurement-of */
	size_t nmfiles;
	struct attest_measurement m;
	int have_m, once, level;
	long interval, max_backoff, timeout;
	/* what setup() makes */
	struct asclient *client;
	struct attest_producer *prod;
	struct keysync *ks;
	int nfd;
};

/* The state of the polling loop. */
struct loop {
	struct keysync_backoff bo;
	int64_t next;                       /* the next fetch (clock_mono_ms) */
	int64_t last_try;
	unsigned failures;                  /* in a row */
};

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: promptseal-keysync --as-url URL --key-cache FILE --platform-key FILE\n"
"                          (--measurement HEX | --measurement-of FILE...)\n"
"                          [options]\n"
"\n"
"Attests to the promptseal attestation service, fetches the secrets it\n"
"releases and keeps the worker's key cache file up to date.\n"
"\n"
"  --as-url URL           the AS API, e.g. https://as.example/as\n"
"  --ca-file FILE         verify the AS against this PEM CA bundle\n"
"  --pin PIN              or pin its public key (curl's form:\n"
"                         sha256//<base64>, or a PEM/DER key file)\n"
"  --key-cache FILE       the key cache file to write (mode 0600)\n"
"  --platform-key FILE    the \"sim\" platform private key (PEM, mode 0600)\n"
"                         that signs the evidence\n"
"  --measurement HEX      the measurement the evidence claims, or\n"
"  --measurement-of FILE  claim the measurement of these files (repeat for\n"
"                         several; see promptseal-sim measure)\n"
"  --interval SECS        fetch this often (default 30)\n"
"  --max-backoff SECS     longest wait between tries while the AS fails\n"
"                         (default 60)\n"
"  --timeout SECS         limit for one call to the AS (default 15)\n"
"  --notify-socket PATH   a datagram on this UNIX socket asks for a fetch\n"
"                         now (at most one per second)\n"
"  --once                 fetch once, write the cache, exit (status 0 on\n"
"                         success)\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --config FILE          read options from FILE, \"key = value\" a line\n"
"                         (keys: the long options without --); the\n"
"                         command line wins\n"
"  --version              print the version and exit\n"
"  --help                 this text\n"
"\n"
"With the \"sim\" platform the measurement is only a claim, signed by a key\n"
"in a file: it proves nothing about hardware (docs/attestation.md).\n");
}

/* One fetch and, when the keys changed, one write of the cache. */
static pserr
sync_once(struct sync *y)
{
	struct keycache_entry *keys = NULL;
	size_t n = 0;
	int changed;
	pserr rc;

	if ((rc = asclient_fetch_keys(y->client, y->prod, &keys, &n)) != PS_OK)
		return rc;
	rc = keysync_apply(y->ks, keys, n, &changed);
	keyfile_entries_free(keys, n);
	if (rc != PS_OK) {
		log_error("cannot write the key cache: %s (the previous file "
		    "stays)", pserr_str(rc));
		return rc;
	}
	if (changed)
		log_info("key cache updated: %zu key(s)", n);
	else
		log_debug("key cache unchanged: %zu key(s)", n);
	return PS_OK;
}

/* ----------------------------------------------------------- options */

enum {
	OPT_AS_URL = 0x100, OPT_CA_FILE, OPT_PIN, OPT_KEY_CACHE,
	OPT_PLATFORM_KEY, OPT_MEASUREMENT, OPT_MEASUREMENT_OF, OPT_INTERVAL,
	OPT_MAX_BACKOFF, OPT_TIMEOUT, OPT_NOTIFY, OPT_ONCE, OPT_LOG_LEVEL,
};

/* options_number() in this file's terms: GO_ON or exit status 2. */
static int
number(const char *opt, const char *arg, long min, long max, long *out)
{
	return options_number(opt, arg, min, max, out) == 0 ? GO_ON : 2;
}

static int
option(struct sync *y, int opt, const char *arg)
{
	switch (opt) {
	case OPT_AS_URL:
		y->co.url = arg;
		return GO_ON;
	case OPT_CA_FILE:
		y->co.ca_file = arg;
		return GO_ON;
	case OPT_PIN:
		y->co.pin = arg;
		return GO_ON;
	case OPT_KEY_CACHE:
		y->cache = arg;
		return GO_ON;
	case OPT_PLATFORM_KEY:
		y->pkey = arg;
		return GO_ON;
	case OPT_MEASUREMENT:
		if (attest_measurement_parse(arg, strlen(arg), &y->m) !=
		    PS_OK) {
			fprintf(stderr, "promptseal-keysync: --measurement "
			    "wants 32 to 48 bytes in hex\n");
			return 2;
		}
		y->have_m = 1;
		return GO_ON;
	case OPT_MEASUREMENT_OF:
		return options_append(&y->mfiles, &y->nmfiles, arg) == 0 ?
		    GO_ON : 1;
	case OPT_INTERVAL:
		return number("--interval", arg, 1, 86400, &y->interval);
	case OPT_MAX_BACKOFF:
		return number("--max-backoff", arg, 1, 86400, &y->max_backoff);
	case OPT_TIMEOUT:
		return number("--timeout", arg, 1, 600, &y->timeout);
	case OPT_NOTIFY:
		y->notify = arg;
		return GO_ON;
	case OPT_ONCE:
		y->once = 1;
		return GO_ON;
	case OPT_LOG_LEVEL:
		return options_log_level(arg, &y->level) == 0 ? GO_ON : 2;
	case 'h':
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
}

/* GO_ON when the command line is complete, else the exit status. */
static int
parse_options(struct sync *y, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"as-url", required_argument, NULL, OPT_AS_URL},
		{"ca-file", required_argument, NULL, OPT_CA_FILE},
		{"pin", required_argument, NULL, OPT_PIN},
		{"key-cache", required_argument, NULL, OPT_KEY_CACHE},
		{"platform-key", required_argument, NULL, OPT_PLATFORM_KEY},
		{"measurement", required_argument, NULL, OPT_MEASUREMENT},
		{"measurement-of", required_argument, NULL, OPT_MEASUREMENT_OF},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"max-backoff", required_argument, NULL, OPT_MAX_BACKOFF},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"notify-socket", required_argument, NULL, OPT_NOTIFY},
		{"once", no_argument, NULL, OPT_ONCE},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		CONFFILE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int opt, r;

	while ((opt = conffile_getopt(argc, argv, "h", longopts)) != -1)
		if ((r = option(y, opt, optarg)) != GO_ON)
			return r;
	if (optind != argc || y->co.url == NULL || y->cache == NULL ||
	    y->pkey == NULL || y->have_m == (y->nmfiles > 0)) {
		usage(stderr);
		return 2;
	}
	return GO_ON;
}

/* ------------------------------------------------------------ set up */

/* The evidence producer, the AS client and the cache writer: GO_ON, or
 * the exit status after saying why. */
static int
setup(struct sync *y)
{
	char why[256] = "";

	y->co.timeout_ms = y->timeout * 1000;
	if (y->nmfiles > 0 && attest_sim_measure_files(y->mfiles, y->nmfiles,
	    &y->m) != PS_OK) {
		log_error("cannot read the files to measure");
		return 1;
	}
	if (attest_sim_producer_load(y->pkey, &y->m, &y->prod, why,
	    sizeof(why)) != PS_OK) {
		log_error("%s: %s", y->pkey, why);
		return 1;
	}
	if (asclient_global_init() != PS_OK) {
		log_error("cannot initialise libcurl");
		return 1;
	}
	if (asclient_new(&y->co, &y->client) != PS_OK) {
		log_error("--as-url must be an https:// URL");
		return 2;
	}
	if (keysync_new(y->cache, &y->ks) != PS_OK)
		return 1;
	log_warn("evidence format \"sim\": it proves nothing about hardware "
	    "(docs/attestation.md)");
	return GO_ON;
}

/*
 * Block the stop signals except while waiting (in *waitmask), so that a
 * stop request is seen between fetches and the cache is never left half
 * done.
 */
static void
block_signals(sigset_t *waitmask)
{
	static const int stops[] = {SIGTERM, SIGINT, SIGHUP};
	struct sigaction sa;
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaddset(&block, stops[i]);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		sigdelset(waitmask, stops[i]);
		sigaction(stops[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* -------------------------------------------------------------- loop */

/* Fetch now, and plan the next fetch after the interval or the backoff. */
static void
loop_fetch(struct sync *y, struct loop *l, int64_t now)
{
	const char *err;
	int64_t d;
	pserr rc;

	l->last_try = now;
	if ((rc = sync_once(y)) == PS_OK) {
		if (l->failures > 0)
			log_info("the AS answers again after %u failed tries",
			    l->failures);
		l->failures = 0;
		keysync_backoff_reset(&l->bo);
		l->next = clock_mono_ms() + y->interval * 1000;
		return;
	}
	d = keysync_backoff_next(&l->bo);
	l->failures++;
	err = asclient_error(y->client);
	log_warn("fetch from the AS failed: %s; the key cache stays as it is, "
	    "next try in %lld s", err[0] ? err : pserr_str(rc),
	    (long long)((d + 999) / 1000));
	l->next = clock_mono_ms() + d;
}

/* Sleep until the next fetch, a stop signal, or a worker's request. */
static void
loop_wait(struct sync *y, struct loop *l, int64_t now,
    const sigset_t *waitmask)
{
	struct pollfd pfd = {y->nfd, POLLIN, 0};
	struct timespec ts;
	int64_t wait = l->next - now, at;
	int asked;

	ts.tv_sec = (time_t)(wait / 1000);
	ts.tv_nsec = (long)(wait % 1000) * 1000000;
	if (ppoll(y->nfd >= 0 ? &pfd : NULL, y->nfd >= 0 ? 1 : 0, &ts,
	    waitmask) <= 0 || !(pfd.revents & POLLIN))
		return;
	asked = notify_drain(y->nfd);
	/* While the AS fails, the backoff decides; otherwise fetch now, but
	 * not more than once a second. */
	if (l->failures > 0)
		return;
	now = clock_mono_ms();
	at = l->last_try + NOTIFY_MIN_GAP_MS;
	if (at < now)
		at = now;
	if (at < l->next)
		l->next = at;
	log_debug("%d refresh request(s): fetch in %lld ms", asked,
	    (long long)(l->next - now));
}

/* Keep the cache in step until a stop signal: the exit status. */
static int
run(struct sync *y)
{
	struct loop l;
	sigset_t waitmask;
	pserr rc;

	block_signals(&waitmask);
	if (y->notify != NULL && (rc = notify_open(y->notify,
	    &y->nfd)) != PS_OK) {
		log_error("cannot listen on %s: %s", y->notify,
		    rc == PS_ERR_EXISTS ? "another kind of file is there" :
		    pserr_str(rc));
		return 1;
	}
	memset(&l, 0, sizeof(l));
	keysync_backoff_init(&l.bo, FIRST_RETRY_MS, y->max_backoff * 1000);
	l.next = clock_mono_ms();
	while (!stop_signal) {
		int64_t now = clock_mono_ms();

		if (now >= l.next)
			loop_fetch(y, &l, now);
		else
			loop_wait(y, &l, now, &waitmask);
	}
	log_info("stopping on signal %d", (int)stop_signal);
	return 0;
}

static int
run_once(struct sync *y)
{
	pserr rc;

	if ((rc = sync_once(y)) != PS_OK) {
		log_error("fetch from the AS failed: %s", rc == PS_ERR_NOMEM ?
		    pserr_str(rc) : asclient_error(y->client));
		return 1;
	}
	return 0;
}

static void
cleanup(struct sync *y)
{
	if (y->nfd >= 0) {
		close(y->nfd);
		unlink(y->notify);
	}
	keysync_free(y->ks);
	asclient_free(y->client);
	attest_producer_free(y->prod);
	free(y->mfiles);
}

int
main(int argc, char **argv)
{
	static struct sync y;
	int ret;

	/* Before any secret is read. */
	if (secret_no_dumps() != PS_OK) {
		perror("promptseal-keysync: cannot keep its memory out of core files");
		return 1;
	}
	y.interval = 30;
	y.max_backoff = 60;
	y.timeout = 15;
	y.level = LOG_INFO;
	y.nfd = -1;
	log_setup("promptseal-keysync", LOG_INFO);
	if ((ret = parse_options(&y, argc, argv)) != GO_ON)
		goto out;
	log_setup("promptseal-keysync", (enum log_level)y.level);
	if ((ret = setup(&y)) != GO_ON)
		goto out;
	ret = y.once ? run_once(&y) : run(&y);
out:
	cleanup(&y);
	return ret;
}
