/*
 * promptseal-keysync: the worker's polling helper.  It attests to the
 * attestation service, fetches the secrets wrapped to a fresh key, and
 * keeps the worker's key cache file (protocol.md section 7) in step: on an
 * interval, and at once when a worker asks through the notify socket.
 * The cache is rewritten only when its content changes; while the AS is
 * out of reach the last cache stays and keysync retries with backoff.
 */
#include "config.h"

#include <errno.h>
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
#include "attest/release.h"
#include "core/log.h"
#include "core/secret.h"
#include "keys/keysync.h"

/* The least time between two fetches a worker's request can cause. */
#define NOTIFY_MIN_GAP_MS 1000
#define FIRST_RETRY_MS 1000

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
"  --help                 this text\n"
"\n"
"With the \"sim\" platform the measurement is only a claim, signed by a key\n"
"in a file: it proves nothing about hardware (docs/attestation.md).\n");
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
number(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "promptseal-keysync: %s wants a number from %ld "
		    "to %ld\n", opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* One fetch and, when the keys changed, one write of the cache. */
static pserr
sync_once(struct asclient *c, const struct attest_producer *p,
    struct keysync *ks)
{
	struct keycache_entry *keys = NULL;
	size_t n = 0;
	int changed;
	pserr rc;

	if ((rc = asclient_fetch_keys(c, p, &keys, &n)) != PS_OK)
		return rc;
	rc = keysync_apply(ks, keys, n, &changed);
	release_entries_free(keys, n);
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

enum {
	OPT_AS_URL = 0x100, OPT_CA_FILE, OPT_PIN, OPT_KEY_CACHE,
	OPT_PLATFORM_KEY, OPT_MEASUREMENT, OPT_MEASUREMENT_OF, OPT_INTERVAL,
	OPT_MAX_BACKOFF, OPT_TIMEOUT, OPT_NOTIFY, OPT_ONCE, OPT_LOG_LEVEL,
};

int
main(int argc, char **argv)
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct asclient_opts co;
	struct asclient *client = NULL;
	struct attest_producer *prod = NULL;
	struct attest_measurement m;
	struct keysync *ks = NULL;
	struct keysync_backoff bo;
	struct sigaction sa;
	sigset_t block, waitmask;
	const char *cache = NULL, *pkey = NULL, *notify = NULL, **mfiles = NULL;
	const char **nm;
	uint8_t priv[ATTEST_SIM_KEY_LEN];
	size_t nmfiles = 0;
	char why[256];
	long interval = 30, max_backoff = 60, timeout = 15;
	int64_t next, last_try = 0;
	int opt, level = LOG_INFO, once = 0, have_m = 0, nfd = -1, ret = 1;
	unsigned failures = 0;
	pserr rc;

	memset(&co, 0, sizeof(co));
	memset(&m, 0, sizeof(m));
	log_setup("promptseal-keysync", LOG_INFO);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_AS_URL:
			co.url = optarg;
			break;
		case OPT_CA_FILE:
			co.ca_file = optarg;
			break;
		case OPT_PIN:
			co.pin = optarg;
			break;
		case OPT_KEY_CACHE:
			cache = optarg;
			break;
		case OPT_PLATFORM_KEY:
			pkey = optarg;
			break;
		case OPT_MEASUREMENT:
			if (attest_measurement_parse(optarg, strlen(optarg), &m) !=
			    PS_OK) {
				fprintf(stderr, "promptseal-keysync: "
				    "--measurement wants 32 to 48 bytes in hex\n");
				ret = 2;
				goto out;
			}
			have_m = 1;
			break;
		case OPT_MEASUREMENT_OF:
			if ((nm = realloc(mfiles, (nmfiles + 1) *
			    sizeof(*mfiles))) == NULL)
				goto out;
			mfiles = nm;
			mfiles[nmfiles++] = optarg;
			break;
		case OPT_INTERVAL:
			if (number("--interval", optarg, 1, 86400, &interval)) {
				ret = 2;
				goto out;
			}
			break;
		case OPT_MAX_BACKOFF:
			if (number("--max-backoff", optarg, 1, 86400,
			    &max_backoff)) {
				ret = 2;
				goto out;
			}
			break;
		case OPT_TIMEOUT:
			if (number("--timeout", optarg, 1, 600, &timeout)) {
				ret = 2;
				goto out;
			}
			break;
		case OPT_NOTIFY:
			notify = optarg;
			break;
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_LOG_LEVEL:
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "promptseal-keysync: --log-level "
				    "is error, warn, info or debug\n");
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
	if (optind != argc || co.url == NULL || cache == NULL || pkey == NULL ||
	    have_m == (nmfiles > 0)) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	log_setup("promptseal-keysync", (enum log_level)level);
	co.timeout_ms = timeout * 1000;
	if (nmfiles > 0 && attest_sim_measure_files(mfiles, nmfiles, &m) !=
	    PS_OK) {
		log_error("cannot read the files to measure");
		goto out;
	}
	why[0] = '\0';
	if (attest_sim_load_private(pkey, priv, why, sizeof(why)) != PS_OK) {
		log_error("%s: %s", pkey, why);
		goto out;
	}
	rc = attest_sim_producer_new(priv, &m, &prod);
	secret_wipe(priv, sizeof(priv));
	if (rc != PS_OK)
		goto out;
	if (asclient_global_init() != PS_OK) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if ((rc = asclient_new(&co, &client)) != PS_OK) {
		log_error("--as-url must be an https:// URL");
		ret = 2;
		goto out;
	}
	if (keysync_new(cache, &ks) != PS_OK)
		goto out;
	log_warn("evidence format \"sim\": it proves nothing about hardware "
	    "(docs/attestation.md)");

	if (once) {
		if ((rc = sync_once(client, prod, ks)) != PS_OK) {
			log_error("fetch from the AS failed: %s", rc == PS_ERR_NOMEM ?
			    pserr_str(rc) : asclient_error(client));
			goto out;
		}
		ret = 0;
		goto out;
	}

	/* Signals are blocked except while waiting, so a stop request is
	 * seen between fetches and the cache is never left half done. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (notify != NULL && (rc = keysync_notify_open(notify, &nfd)) !=
	    PS_OK) {
		log_error("cannot listen on %s: %s", notify, rc == PS_ERR_EXISTS ?
		    "another kind of file is there" : pserr_str(rc));
		goto out;
	}

	keysync_backoff_init(&bo, FIRST_RETRY_MS, max_backoff * 1000);
	next = mono_ms();
	while (!stop_signal) {
		int64_t now = mono_ms();
		struct pollfd pfd = {nfd, POLLIN, 0};
		struct timespec ts;
		int64_t wait;

		if (now >= next) {
			last_try = now;
			rc = sync_once(client, prod, ks);
			if (rc == PS_OK) {
				if (failures > 0)
					log_info("the AS answers again after %u "
					    "failed tries", failures);
				failures = 0;
				keysync_backoff_reset(&bo);
				next = mono_ms() + interval * 1000;
			} else {
				int64_t d = keysync_backoff_next(&bo);

				failures++;
				log_warn("fetch from the AS failed: %s; the key "
				    "cache stays as it is, next try in %lld s",
				    asclient_error(client)[0] ?
				    asclient_error(client) : pserr_str(rc),
				    (long long)((d + 999) / 1000));
				next = mono_ms() + d;
			}
			continue;
		}
		wait = next - now;
		ts.tv_sec = (time_t)(wait / 1000);
		ts.tv_nsec = (long)(wait % 1000) * 1000000;
		if (ppoll(nfd >= 0 ? &pfd : NULL, nfd >= 0 ? 1 : 0, &ts,
		    &waitmask) > 0 && (pfd.revents & POLLIN)) {
			int asked = keysync_notify_drain(nfd);

			/* While the AS fails, the backoff decides; otherwise
			 * fetch now, but not more than once a second. */
			if (failures == 0) {
				int64_t at = last_try + NOTIFY_MIN_GAP_MS;

				now = mono_ms();
				if (at < now)
					at = now;
				if (at < next)
					next = at;
				log_debug("%d refresh request(s): fetch in %lld "
				    "ms", asked, (long long)(next - now));
			}
		}
	}
	log_info("stopping on signal %d", (int)stop_signal);
	ret = 0;
out:
	if (nfd >= 0) {
		close(nfd);
		unlink(notify);
	}
	keysync_free(ks);
	asclient_free(client);
	attest_producer_free(prod);
	free(mfiles);
	return ret;
}
