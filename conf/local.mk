# SPDX-License-Identifier: ISC
# What an administrator edits, under $(sysconfdir)/promptseal: an example
# configuration file per program (--config), the AS's measurements, and
# the lighttpd and Apache configurations as they are shipped.  Existing
# files are kept: an upgrade never overwrites an edited configuration.
# The state directory $(localstatedir)/lib/promptseal holds the key cache,
# the client's key state and the AS's store (mode 0700).
pkgsysconfdir = $(sysconfdir)/promptseal
pkgstatedir = $(localstatedir)/lib/promptseal
PS_CONF_FILES = conf/client.conf conf/worker.conf conf/as.conf \
	conf/keysync.conf conf/measurements
PS_LIGHTTPD_FILES = lighttpd-conf/client.conf lighttpd-conf/worker.conf \
	lighttpd-conf/worker-tls.conf lighttpd-conf/as-tls.conf \
	lighttpd-conf/client-binpath.conf lighttpd-conf/client-as-binpath.conf \
	lighttpd-conf/worker-binpath.conf
PS_APACHE_FILES = apache-conf/common.conf apache-conf/client.conf \
	apache-conf/worker.conf apache-conf/worker-tls.conf \
	apache-conf/worker-fcgid.conf apache-conf/as-tls.conf
EXTRA_DIST += $(PS_CONF_FILES) apache-conf/fcgid-worker-wrapper

install-data-local: install-ps-conf
uninstall-local: uninstall-ps-conf
install-ps-conf:
	$(MKDIR_P) '$(DESTDIR)$(pkgsysconfdir)/lighttpd' \
	    '$(DESTDIR)$(pkgsysconfdir)/apache'
	for f in $(PS_CONF_FILES); do \
	  d='$(DESTDIR)$(pkgsysconfdir)'/$${f#conf/}; \
	  test -f "$$d" || $(INSTALL_DATA) '$(srcdir)'/$$f "$$d" || exit 1; \
	done
	for f in $(PS_LIGHTTPD_FILES); do \
	  d='$(DESTDIR)$(pkgsysconfdir)'/lighttpd/$${f#lighttpd-conf/}; \
	  test -f "$$d" || $(INSTALL_DATA) '$(srcdir)'/$$f "$$d" || exit 1; \
	done
	for f in $(PS_APACHE_FILES); do \
	  d='$(DESTDIR)$(pkgsysconfdir)'/apache/$${f#apache-conf/}; \
	  test -f "$$d" || $(INSTALL_DATA) '$(srcdir)'/$$f "$$d" || exit 1; \
	done
	d='$(DESTDIR)$(pkgsysconfdir)/apache/fcgid-worker-wrapper'; \
	  test -f "$$d" || $(INSTALL_SCRIPT) \
	  '$(srcdir)/apache-conf/fcgid-worker-wrapper' "$$d"
	$(MKDIR_P) '$(DESTDIR)$(pkgstatedir)'
	chmod 0700 '$(DESTDIR)$(pkgstatedir)'
uninstall-ps-conf:
	for f in $(PS_CONF_FILES); do \
	  rm -f '$(DESTDIR)$(pkgsysconfdir)'/$${f#conf/}; done
	for f in $(PS_LIGHTTPD_FILES); do \
	  rm -f '$(DESTDIR)$(pkgsysconfdir)'/lighttpd/$${f#lighttpd-conf/}; done
	for f in $(PS_APACHE_FILES) apache-conf/fcgid-worker-wrapper; do \
	  rm -f '$(DESTDIR)$(pkgsysconfdir)'/apache/$${f#apache-conf/}; done
	-rmdir '$(DESTDIR)$(pkgsysconfdir)/lighttpd' \
	  '$(DESTDIR)$(pkgsysconfdir)/apache' '$(DESTDIR)$(pkgsysconfdir)' \
	  '$(DESTDIR)$(pkgstatedir)' 2>/dev/null
.PHONY: install-ps-conf uninstall-ps-conf

# make install into a scratch DESTDIR, and the layout checked.
TESTS += tests/test_install.sh
EXTRA_DIST += tests/test_install.sh

# The directories make install uses, for tests/test_install.sh.
print-install-dirs:
	@echo "bindir='$(bindir)' mandir='$(mandir)' sysconfdir='$(sysconfdir)'"
	@echo "localstatedir='$(localstatedir)' systemdunitdir='$(systemdunitdir)'"
.PHONY: print-install-dirs

# The Debian packaging, in the release tarball; tests/test_deb.sh builds
# it (CI, .ci/run).
EXTRA_DIST += debian/changelog debian/control debian/copyright debian/rules \
	debian/source/format debian/promptseal.install debian/promptseal.postinst \
	debian/promptseal.postrm debian/promptseal.lintian-overrides \
	debian/libpromptseal1.lintian-overrides \
	debian/libpromptseal-dev.lintian-overrides \
	debian/libpromptseal1.install \
	debian/libpromptseal-dev.install debian/not-installed tests/test_deb.sh
