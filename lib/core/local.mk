# SPDX-License-Identifier: ISC
# core: errors, buffers, secrets, encodings, logging, options and
# configuration files, clocks, private files.
noinst_LTLIBRARIES += lib/core/libcore.la
lib_core_libcore_la_SOURCES = \
	lib/core/http.c lib/core/http.h \
	lib/core/pserr.c lib/core/pserr.h lib/core/caps.h \
	lib/core/secret.c lib/core/secret.h \
	lib/core/codec.c lib/core/codec.h lib/core/codec_impl.h \
	lib/core/buf.c lib/core/buf.h \
	lib/core/log.c lib/core/log.h \
	lib/core/options.c lib/core/options.h \
	lib/core/conffile.c lib/core/conffile.h \
	lib/core/clock.c lib/core/clock.h \
	lib/core/privfile.c lib/core/privfile_write.c lib/core/privfile.h
PS_CORE_LIBS = lib/core/libcore.la $(CRYPTO_LIBS)
