# SPDX-License-Identifier: ISC
# examples: short programs written against the installed library alone
# (promptseal.h, pkg-config promptseal).  Built here against the in-tree
# copy so they cannot rot; tests/test_installed.sh builds and runs them
# against a copy installed with make install DESTDIR=...
noinst_PROGRAMS += examples/seal_chat
examples_seal_chat_SOURCES = examples/seal_chat.c
# Only the public header: no path into lib/ and none of the programs' flags.
examples_seal_chat_CPPFLAGS = -I$(top_srcdir)/lib/promptseal
examples_seal_chat_CFLAGS = $(WARN_CFLAGS)
examples_seal_chat_LDADD = lib/promptseal/libpromptseal.la
