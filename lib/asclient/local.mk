# asclient: the client side of the attestation service's API.
noinst_LIBRARIES += lib/asclient/libasclient.a
lib_asclient_libasclient_a_SOURCES = \
	lib/asclient/asclient.c lib/asclient/asclient.h
PS_ASCLIENT_LIBS = lib/asclient/libasclient.a $(PS_AS_LIBS) $(CURL_LIBS)
