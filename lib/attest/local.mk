# attest: attestation evidence and its platforms, and wrapping secrets to
# an attested key.
noinst_LIBRARIES += lib/attest/libattest.a
lib_attest_libattest_a_SOURCES = \
	lib/attest/attest.c lib/attest/attest.h \
	lib/attest/attest_sim.c lib/attest/attest_sim.h \
	lib/attest/wrap.c lib/attest/wrap.h
PS_ATTEST_LIBS = lib/attest/libattest.a $(PS_CORE_LIBS)
