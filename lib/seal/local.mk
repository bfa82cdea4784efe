# SPDX-License-Identifier: ISC
# seal: the wire format (docs/protocol.md sections 2-5).
noinst_LTLIBRARIES += lib/seal/libseal.la
lib_seal_libseal_la_SOURCES = \
	lib/seal/envelope.c lib/seal/envelope.h \
	lib/seal/jscan.c lib/seal/jscan.h lib/seal/jscan_impl.h \
	lib/seal/message.c lib/seal/message.h lib/seal/message_wire.h \
	lib/seal/multipart.c lib/seal/multipart.h \
	lib/seal/sse.c lib/seal/sse.h \
	lib/seal/stream.c lib/seal/stream.h \
	lib/seal/replay.c lib/seal/replay.h
PS_SEAL_LIBS = lib/seal/libseal.la $(PS_CORE_LIBS)
