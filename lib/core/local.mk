# core: errors, buffers, secrets, encodings, logging, options, private files.
noinst_LIBRARIES += lib/core/libcore.a
lib_core_libcore_a_SOURCES = \
	lib/core/pserr.c lib/core/pserr.h \
	lib/core/secret.c lib/core/secret.h \
	lib/core/codec.c lib/core/codec.h \
	lib/core/buf.c lib/core/buf.h \
	lib/core/log.c lib/core/log.h \
	lib/core/options.c lib/core/options.h \
	lib/core/privfile.c lib/core/privfile.h
PS_CORE_LIBS = lib/core/libcore.a $(CRYPTO_LIBS)
