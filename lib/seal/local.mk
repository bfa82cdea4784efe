# seal: the wire format (docs/protocol.md sections 2-5).
noinst_LTLIBRARIES += lib/seal/libseal.la
lib_seal_libseal_la_SOURCES = \
	lib/seal/envelope.c lib/seal/envelope.h \
	lib/seal/jscan.c lib/seal/jscan.h \
	lib/seal/message.c lib/seal/message.h \
	lib/seal/sse.c lib/seal/sse.h \
	lib/seal/stream.c lib/seal/stream.h
# The programs' answer to a worker's plain error event in a stream
# (stream_plain_error() in stream.h), apart because it needs json-c: the
# public library links libseal.la with an answer of its own.
noinst_LTLIBRARIES += lib/seal/libseal_plain.la
lib_seal_libseal_plain_la_SOURCES = lib/seal/stream_plain.c
PS_SEAL_LIBS = lib/seal/libseal.la lib/seal/libseal_plain.la \
	$(PS_CORE_LIBS) $(JSONC_LIBS)
