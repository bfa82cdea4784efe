# SPDX-License-Identifier: ISC
# promptseal-worker: the attested proxy.  It links core, seal, keys and
# net only.
bin_PROGRAMS += fcgi-worker/promptseal-worker
fcgi_worker_promptseal_worker_SOURCES = fcgi-worker/main.c \
	fcgi-worker/worker.c fcgi-worker/worker.h
fcgi_worker_promptseal_worker_LDADD = $(PS_NET_LIBS) $(PS_KEYS_LIBS)
