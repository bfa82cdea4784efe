# as: the attestation service's server side (docs/as-api.md).
noinst_LTLIBRARIES += lib/as/libas.la
lib_as_libas_la_SOURCES = \
	lib/as/asapi.c lib/as/asapi.h \
	lib/as/asstore.c lib/as/asstore_sqlite.c lib/as/asstore.h \
	lib/as/tokens.c lib/as/tokens.h
PS_AS_LIBS = lib/as/libas.la $(PS_ATTEST_LIBS) $(PS_KEYS_LIBS) $(SQLITE_LIBS)
