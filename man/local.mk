# SPDX-License-Identifier: ISC
# The programs' manual pages (promptseal(3) is in lib/promptseal/local.mk).
dist_man1_MANS = man/promptseal-sim.1
dist_man8_MANS = man/promptseal-client.8 man/promptseal-worker.8 \
	man/promptseal-as.8 man/promptseal-keysync.8

# Each renders without a warning and names every option of its --help.
TESTS += tests/test_man.sh
EXTRA_DIST += tests/test_man.sh
