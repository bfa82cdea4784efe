# SPDX-License-Identifier: ISC
# Unit tests: one Check suite per library module, linked against the whole
# library (the default LDADD).  Each is tests/test_<module>.c.
# The fuzz targets take their main() from FUZZ_MAIN (tests/fuzz/local.mk);
# the suites have their own, so the archive's is never linked into them.
LDADD = $(FUZZ_MAIN) $(PS_ALL_LIBS) $(CHECK_LIBS)
AM_CPPFLAGS += -DTEST_SRCDIR='"$(abs_top_srcdir)/tests"'
AM_CFLAGS += $(CHECK_CFLAGS)

UNIT_TESTS = \
	tests/test_codec tests/test_buf tests/test_secret tests/test_pserr \
	tests/test_http \
	tests/test_options tests/test_conffile tests/test_log tests/test_clock tests/test_privfile \
	tests/test_server tests/test_upstream tests/test_proxy tests/test_metrics \
	tests/test_envelope tests/test_jscan tests/test_message tests/test_multipart \
	tests/test_sse tests/test_stream tests/test_replay \
	tests/test_keyfile tests/test_keycache tests/test_clientkey \
	tests/test_notify tests/test_keysync \
	tests/test_attest tests/test_attest_sim tests/test_wrap \
	tests/test_release tests/test_hpke \
	tests/test_tokens tests/test_asstore tests/test_asreply \
	tests/test_asbody tests/test_asapi tests/test_asclient_parse \
	tests/test_asclient tests/test_promptseal
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
# test_keyfile looks into every block the key file code frees, for a
# secret that was not wiped.
tests_test_keyfile_LDFLAGS = -Wl,--wrap=free
# The public library through its interface alone: the shared library and
# its header, nothing of lib/ besides.
tests_test_promptseal_CPPFLAGS = -I$(top_srcdir)/lib/promptseal
tests_test_promptseal_CFLAGS = $(WARN_CFLAGS) $(CHECK_CFLAGS)
tests_test_promptseal_LDADD = lib/promptseal/libpromptseal.la $(CHECK_LIBS)
# test_wrap compiles lib/attest/wrap.c itself (for its static seal_eph()),
# so it links no other copy of it.
tests_test_wrap_LDADD = $(PS_CORE_LIBS) $(CHECK_LIBS)
# test_hpke likewise, for its static seal_ikm().
tests_test_hpke_LDADD = $(PS_CORE_LIBS) $(CHECK_LIBS)
noinst_HEADERS = tests/testutil.h tests/attest_kat.h tests/wrap_kat.h

# What each program links, read from its symbols (nm).
TESTS += tests/test_layout.sh
EXTRA_DIST += tests/test_layout.sh
EXTRA_DIST += tests/pswire.py \
	tests/vectors/gen_envelope.py tests/vectors/envelope.txt \
	tests/vectors/gcm_nist.txt tests/vectors/message.json \
	tests/vectors/gen_message.py tests/vectors/stream.json \
	tests/vectors/gen_multipart.py tests/vectors/multipart.json \
	tests/vectors/gen_stream.py tests/wrap_vectors.py tests/hpke_vectors.py \
	tests/attest_vectors.py

# The installed library: make install into a scratch DESTDIR, then the
# example built and run against that copy through pkg-config.  The
# compiler flags above (sanitizers included) reach the example this way.
TESTS += tests/test_installed.sh
EXTRA_DIST += tests/test_installed.sh

# promptseal-as through cgi-fcgi, checked by python3-cryptography.
TESTS += tests/test_as_fcgi.py
EXTRA_DIST += tests/test_as_fcgi.py

# The stand-in for the model, and its own test.
check_PROGRAMS += tests/inference-server
tests_inference_server_LDADD = $(JSONC_LIBS) $(CRYPTO_LIBS) $(PTHREAD_LIBS)
TESTS += tests/test_inference_server.sh
EXTRA_DIST += tests/test_inference_server.sh

include tests/fuzz/local.mk

# The real programs through real lighttpd and Apache on loopback.
TEST_EXTENSIONS = .py .sh
PY_LOG_COMPILER = $(PYTHON3)
AM_TESTS_ENVIRONMENT = PS_BUILDDIR='$(abs_top_builddir)' \
	PS_SRCDIR='$(abs_top_srcdir)' \
	PYTHONPATH='$(abs_top_srcdir)/tests/e2e:$(abs_top_srcdir)/tests' \
	LIGHTTPD='$(LIGHTTPD)' APACHE2='$(APACHE2)' SPAWN_FCGI='$(SPAWN_FCGI)' \
	PS_SDK_DIR='$(PS_SDK_DIR)' PYTHONDONTWRITEBYTECODE=1 \
	PS_CC='$(CC)' PS_CFLAGS='$(CFLAGS)' PS_LDFLAGS='$(LDFLAGS)' \
	PS_LIBDIR='$(libdir)' PS_INCLUDEDIR='$(includedir)' \
	PS_MAN3DIR='$(man3dir)' PKG_CONFIG='$(PKG_CONFIG)' NM='$(NM)'; \
	export PS_BUILDDIR PS_SRCDIR PYTHONPATH LIGHTTPD APACHE2 SPAWN_FCGI \
	PS_SDK_DIR PYTHONDONTWRITEBYTECODE PS_CC PS_CFLAGS PS_LDFLAGS \
	PS_LIBDIR PS_INCLUDEDIR PS_MAN3DIR PKG_CONFIG NM;
# The dist tree has no node_modules: distcheck uses the source tree's.
AM_DISTCHECK_CONFIGURE_FLAGS = PS_SDK_DIR='$(abs_top_srcdir)/tests/e2e/sdk' \
	--enable-werror
E2E_TESTS = tests/e2e/test_e2e_lighttpd.py tests/e2e/test_e2e_apache.py \
	tests/e2e/test_e2e_mixed.py tests/e2e/test_e2e_sdk.py \
	tests/e2e/test_e2e_as.py tests/e2e/test_e2e_ops.py \
	tests/e2e/test_e2e_faults.py tests/e2e/test_e2e_audio.py
TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS) tests/e2e/cases.py tests/e2e/chain.py tests/soak/soak.py \
	tests/e2e/demo.py tests/e2e/simas.py \
	tests/e2e/sdk/package.json tests/e2e/sdk/package-lock.json \
	tests/e2e/sdk/check.mjs tests/e2e/sdk/audio.mjs
