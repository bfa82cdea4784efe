# SPDX-License-Identifier: ISC
# asclient: the client side of the attestation service's API.  It shares
# only attest/ (evidence, wrap, release) with the server, never as/.
noinst_LTLIBRARIES += lib/asclient/libasclient.la
lib_asclient_libasclient_la_SOURCES = \
	lib/asclient/asclient.c lib/asclient/asclient.h \
	lib/asclient/asclient_parse.c lib/asclient/asclient_parse.h
PS_ASCLIENT_LIBS = lib/asclient/libasclient.la $(PS_ATTEST_LIBS) \
	$(JSONC_LIBS) $(CURL_LIBS)
