# SPDX-License-Identifier: ISC
# systemd units: a socket and a service for each FastCGI program (the
# socket reaches it as fd 0, as spawn-fcgi passes it), a service for
# keysync.  The services name the installed paths, filled in here.
systemdunitdir = @systemdunitdir@
PS_UNITS_IN = systemd/promptseal-client.service.in \
	systemd/promptseal-worker.service.in systemd/promptseal-as.service.in \
	systemd/promptseal-keysync.service.in
PS_SOCKETS = systemd/promptseal-client.socket \
	systemd/promptseal-worker.socket systemd/promptseal-as.socket
if HAVE_SYSTEMDUNITDIR
systemdunit_DATA = $(PS_UNITS_IN:.in=) $(PS_SOCKETS)
endif
EXTRA_DIST += $(PS_UNITS_IN) $(PS_SOCKETS)
CLEANFILES += $(PS_UNITS_IN:.in=)
$(PS_UNITS_IN:.in=): Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    '$(srcdir)/$@.in' > $@.tmp && mv $@.tmp $@
systemd/promptseal-client.service: systemd/promptseal-client.service.in
systemd/promptseal-worker.service: systemd/promptseal-worker.service.in
systemd/promptseal-as.service: systemd/promptseal-as.service.in
systemd/promptseal-keysync.service: systemd/promptseal-keysync.service.in

# systemd-analyze verify on the units, where it can run.
TESTS += tests/test_systemd.sh
EXTRA_DIST += tests/test_systemd.sh
