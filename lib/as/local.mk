# SPDX-License-Identifier: ISC
# as: the attestation service's server side (docs/as-api.md): its API
# (routes and handlers), the replies it builds and the bodies it reads, its
# store and its tokens.
noinst_LTLIBRARIES += lib/as/libas.la
lib_as_libas_la_SOURCES = \
	lib/as/asapi.c lib/as/asapi.h \
	lib/as/asreply.c lib/as/asreply.h \
	lib/as/asbody.c lib/as/asbody.h \
	lib/as/asstore.c lib/as/asstore_sqlite.c lib/as/asstore.h \
	lib/as/tokens.c lib/as/tokens.h \
	lib/as/askey.c lib/as/askey.h
PS_AS_LIBS = lib/as/libas.la $(PS_ATTEST_LIBS) $(PS_SEAL_LIBS) $(SQLITE_LIBS)
