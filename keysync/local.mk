# SPDX-License-Identifier: ISC
# promptseal-keysync (beside the worker) and promptseal-sim (the tools of
# the software test platform).
bin_PROGRAMS += keysync/promptseal-keysync keysync/promptseal-sim
keysync_promptseal_keysync_SOURCES = keysync/main.c
keysync_promptseal_keysync_LDADD = $(PS_ASCLIENT_LIBS) $(PS_KEYS_LIBS)
keysync_promptseal_sim_SOURCES = keysync/sim.c
keysync_promptseal_sim_LDADD = $(PS_ATTEST_LIBS)
