# SPDX-License-Identifier: ISC
# `make bench` measures what the encryption costs beside a plain mod_proxy
# chain and prints a table (docs/performance.md).  Never part of `make check`.
EXTRA_PROGRAMS += bench/micro bench/standin bench/passthru
bench_micro_SOURCES = bench/micro.c
bench_micro_LDADD = $(PS_SEAL_LIBS)
# The benchmark's inference server: costs the same in every chain.
bench_standin_SOURCES = bench/standin.c
# Two FastCGI responders that relay without crypto, on lib/net.
bench_passthru_SOURCES = bench/passthru.c
bench_passthru_LDADD = $(PS_NET_LIBS)
# An LD_PRELOAD shim that lets wrk reach the inference server's UNIX socket.
# Built without the project's flags: a sanitizer runtime must not be
# preloaded into wrk.
bench/unix-connect.so: $(srcdir)/bench/unix-connect.c
	@$(MKDIR_P) bench
	$(CC) -O2 -shared -fPIC -o $@ $(srcdir)/bench/unix-connect.c -ldl
BENCH_ARGS =
bench: all bench/standin bench/passthru bench/micro bench/unix-connect.so
	PS_BUILDDIR='$(abs_top_builddir)' PS_SRCDIR='$(abs_top_srcdir)' \
	LIGHTTPD='$(LIGHTTPD)' SPAWN_FCGI='$(SPAWN_FCGI)' \
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON3) $(srcdir)/bench/run.py $(BENCH_ARGS)
.PHONY: bench
CLEANFILES += bench/micro bench/standin bench/passthru bench/unix-connect.so bench-results.md \
	bench-results.json perf-client.data perf-worker.data
EXTRA_DIST += bench/run.py bench/post.lua bench/standin.c bench/passthru.c bench/micro.c bench/unix-connect.c \
	bench/lighttpd-plain-client.conf bench/lighttpd-plain-worker.conf

# `make bench-v1v2`: what wire format v2 costs next to v1 in the library
# alone, as instruction counts (callgrind), which repeat exactly.
bench-v1v2: bench/micro
	PS_BUILDDIR='$(abs_top_builddir)' PS_SRCDIR='$(abs_top_srcdir)' \
	$(PYTHON3) $(srcdir)/bench/v1v2.py $(BENCH_ARGS)
.PHONY: bench-v1v2
EXTRA_DIST += bench/v1v2.py bench/v1-micro-iterations.patch
