/* SPDX-License-Identifier: ISC */
/*
 * promptseal-sim: the tools of the "sim" platform (lib/attest/attest_sim.h):
 * make a platform key pair, compute the measurement of a set of files.
 * The sim platform proves nothing about hardware: docs/attestation.md.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attest/attest.h"
#include "attest/attest_sim.h"
#include "core/conffile.h"
#include "core/pserr.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: promptseal-sim keygen PRIVFILE PUBFILE\n"
"       promptseal-sim measure FILE...\n"
"\n"
"keygen   make a \"sim\" platform Ed25519 key pair: the private key (PEM,\n"
"         mode 0600) goes to promptseal-keysync --platform-key, the public\n"
"         key to promptseal-as --platform-key.  Neither file may exist.\n"
"measure  print the measurement of the files, in the order given: SHA-384\n"
"         over, for each file, its length as 8 bytes big-endian and its\n"
"         content.  It goes to promptseal-as --measurement (allowed) and is\n"
"         what promptseal-keysync --measurement-of claims.\n"
"\n"
"A sim platform key is a file: whoever reads it can sign any measurement.\n"
"The sim platform proves nothing about hardware (docs/attestation.md).\n"
"\n"
"  --config FILE  read options from FILE (this program has no others)\n"
"  --version      print the version and exit\n"
"  --help         this text\n");
}

int
main(int argc, char **argv)
{
	struct attest_measurement m;
	char hex[2 * ATTEST_MEASUREMENT_MAX + 1];
	pserr rc;

	static const struct option longopts[] = {
		CONFFILE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int opt;

	/* "+": options only before the command, whose file names may
	 * begin with '-'. */
	while ((opt = conffile_getopt(argc, argv, "+h", longopts)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc == 4 && strcmp(argv[1], "keygen") == 0) {
		if ((rc = attest_sim_keygen(argv[2], argv[3])) != PS_OK) {
			fprintf(stderr, "promptseal-sim: keygen: %s\n",
			    rc == PS_ERR_EXISTS ? "a key file exists already" :
			    pserr_str(rc));
			return 1;
		}
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "measure") == 0) {
		if (attest_sim_measure_files((const char *const *)argv + 2,
		    (size_t)argc - 2, &m) != PS_OK) {
			fprintf(stderr, "promptseal-sim: measure: cannot read "
			    "the files\n");
			return 1;
		}
		attest_measurement_hex(&m, hex);
		printf("%s\n", hex);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	usage(stderr);
	return 2;
}
