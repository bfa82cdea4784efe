# attest: attestation evidence and its platforms, and wrapping secrets to
# an attested key.
noinst_LTLIBRARIES += lib/attest/libattest.la
lib_attest_libattest_la_SOURCES = \
	lib/attest/attest.c lib/attest/attest.h \
	lib/attest/attest_sim.c lib/attest/attest_sim.h \
	lib/attest/wrap.c lib/attest/wrap.h
PS_ATTEST_LIBS = lib/attest/libattest.la $(PS_CORE_LIBS)
