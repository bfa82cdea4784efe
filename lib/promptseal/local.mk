# SPDX-License-Identifier: ISC
# promptseal: libpromptseal, the envelope library installed for other
# programs (promptseal.h, man/promptseal.3, docs/library.md).  It is the
# seal and core archives behind one public header, linked against libcrypto
# alone, and exports nothing but promptseal_*.  The programs do not link it:
# they keep the archives, statically.
lib_LTLIBRARIES = lib/promptseal/libpromptseal.la
lib_promptseal_libpromptseal_la_SOURCES = \
	lib/promptseal/promptseal.c lib/promptseal/promptseal.h
lib_promptseal_libpromptseal_la_LIBADD = lib/seal/libseal.la \
	lib/core/libcore.la $(CRYPTO_LIBS)
lib_promptseal_libpromptseal_la_LDFLAGS = -no-undefined \
	-version-info $(PROMPTSEAL_LT_VERSION) \
	-export-symbols-regex '^promptseal_'
include_HEADERS = lib/promptseal/promptseal.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/promptseal/promptseal.pc
EXTRA_DIST += lib/promptseal/promptseal.pc.in

# The manual: promptseal(3), and one name per function that leads to it.
dist_man3_MANS = man/promptseal.3
PS_MAN3_LINKS = promptseal_strerror promptseal_error_status \
	promptseal_error_code promptseal_version promptseal_free \
	promptseal_key_new promptseal_key_generate promptseal_key_kid \
	promptseal_key_secret promptseal_key_free \
	promptseal_exchange_new promptseal_exchange_free \
	promptseal_exchange_pad promptseal_exchange_path \
	promptseal_exchange_target \
	promptseal_seal_request promptseal_open_reply \
	promptseal_open_request promptseal_request_id \
	promptseal_request_fresh promptseal_seal_reply \
	promptseal_stream_open_begin \
	promptseal_stream_open_feed promptseal_stream_open_finish \
	promptseal_stream_seal_feed promptseal_stream_seal_finish \
	promptseal_plain_error
install-data-hook: install-man3-links
uninstall-hook: uninstall-man3-links
install-man3-links:
	$(MKDIR_P) '$(DESTDIR)$(man3dir)'
	for n in $(PS_MAN3_LINKS); do \
	  echo '.so man3/promptseal.3' > '$(DESTDIR)$(man3dir)'/$$n.3 || exit 1; \
	done
uninstall-man3-links:
	for n in $(PS_MAN3_LINKS); do \
	  rm -f '$(DESTDIR)$(man3dir)'/$$n.3; \
	done
.PHONY: install-man3-links uninstall-man3-links
