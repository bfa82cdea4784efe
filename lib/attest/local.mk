# SPDX-License-Identifier: ISC
# attest: attestation evidence and its platforms, wrapping secrets to an
# attested key, and the records the AS releases that way.
noinst_LTLIBRARIES += lib/attest/libattest.la
lib_attest_libattest_la_SOURCES = \
	lib/attest/attest.c lib/attest/attest.h \
	lib/attest/attest_sim.c lib/attest/attest_sim_produce.c \
	lib/attest/attest_sim.h \
	lib/attest/wrap.c lib/attest/wrap.h \
	lib/attest/release.c lib/attest/release.h \
	lib/attest/hpke.c lib/attest/hpke.h \
	lib/attest/aspolicy.c lib/attest/aspolicy.h
PS_ATTEST_LIBS = lib/attest/libattest.la $(PS_KEYS_LIBS)
