# SPDX-License-Identifier: ISC
# keys: the key cache file format (docs/protocol.md section 7), the live
# cache, the client's own keys, the worker's "fetch now" to keysync, and
# keysync's cache writing.  The worker links only keyfile.c, keycache.c
# and notify.c of these.
noinst_LTLIBRARIES += lib/keys/libkeys.la
lib_keys_libkeys_la_SOURCES = \
	lib/keys/keyfile.c lib/keys/keyfile_write.c lib/keys/keyfile.h \
	lib/keys/keycache.c lib/keys/keycache.h \
	lib/keys/clientkey.c lib/keys/clientkey.h \
	lib/keys/notify.c lib/keys/notify.h \
	lib/keys/keysync.c lib/keys/keysync.h
PS_KEYS_LIBS = lib/keys/libkeys.la $(PS_SEAL_LIBS)
