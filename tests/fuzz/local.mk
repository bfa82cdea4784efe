# SPDX-License-Identifier: ISC
# Fuzz targets, one per parser (tests/fuzz/fuzz_<name>.c), each with a
# seed corpus in tests/fuzz/corpus/<name>/.
#
# In an ordinary build each target is linked with standalone.c and
# `make check` replays its corpus (test_corpus.sh).  Configured with
# --enable-fuzzing (clang, libFuzzer) the targets are libFuzzer programs
# and `make fuzz FUZZ_SECONDS=N` runs each for N seconds.
FUZZ_TARGETS = tests/fuzz/fuzz_codec tests/fuzz/fuzz_jscan tests/fuzz/fuzz_sse \
	tests/fuzz/fuzz_message tests/fuzz/fuzz_stream tests/fuzz/fuzz_envelope \
	tests/fuzz/fuzz_keyfile tests/fuzz/fuzz_wrap tests/fuzz/fuzz_tokens \
	tests/fuzz/fuzz_release tests/fuzz/fuzz_asbody tests/fuzz/fuzz_attest \
	tests/fuzz/fuzz_asreply tests/fuzz/fuzz_multipart tests/fuzz/fuzz_head \
	tests/fuzz/fuzz_policy tests/fuzz/fuzz_conffile
# FUZZ_LDFLAGS is -fsanitize=fuzzer with --enable-fuzzing, else empty.
tests_fuzz_fuzz_codec_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_jscan_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sse_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_message_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_stream_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_envelope_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_keyfile_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_wrap_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_tokens_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_release_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_asbody_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_attest_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_asreply_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_multipart_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_head_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_conffile_LDFLAGS = $(FUZZ_LDFLAGS)
noinst_HEADERS += tests/fuzz/fuzz.h
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/test_corpus.sh

if FUZZING
# libFuzzer brings main().
EXTRA_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_MAIN =
FUZZ_SECONDS = 60
fuzz: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do \
		n=$${t#tests/fuzz/fuzz_}; \
		mkdir -p fuzz-corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
		    -print_final_stats=1 fuzz-corpus/$$n \
		    $(srcdir)/tests/fuzz/corpus/$$n 2>fuzz-$$n.log || \
		    { tail -n 40 fuzz-$$n.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' fuzz-$$n.log; \
	done
CLEANFILES += fuzz-*.log
else
check_PROGRAMS += $(FUZZ_TARGETS)
noinst_LTLIBRARIES += tests/fuzz/libfuzzmain.la
tests_fuzz_libfuzzmain_la_SOURCES = tests/fuzz/standalone.c
FUZZ_MAIN = tests/fuzz/libfuzzmain.la
TESTS += tests/fuzz/test_corpus.sh
fuzz:
	@echo "make fuzz: configure with --enable-fuzzing (clang and libFuzzer)" >&2
	@exit 1
endif
.PHONY: fuzz
