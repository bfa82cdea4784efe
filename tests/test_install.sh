#!/bin/sh
# SPDX-License-Identifier: ISC
# make install into a scratch DESTDIR: the programs in bindir, the man
# pages, the example configurations and web server configurations under
# $(sysconfdir)/promptseal, the state directory, the systemd units; then
# make uninstall leaves no file behind.
set -eu
bld=${PS_BUILDDIR:?}
# A make of its own, not a part of the make check that runs this.
unset MAKEFLAGS MFLAGS MAKELEVEL
d=$(mktemp -d /tmp/ps-install-XXXXXX)
trap 'rm -rf "$d"' EXIT
vars=$(make -s --no-print-directory -C "$bld" print-install-dirs 2>/dev/null)
eval "$vars"
make -s --no-print-directory -C "$bld" install DESTDIR="$d" >"$d.log" 2>&1 ||
	{ cat "$d.log"; rm -f "$d.log"; exit 1; }
rm -f "$d.log"
fail=0
want() {
	if [ ! -e "$d$1" ]; then echo "FAIL: not installed: $1"; fail=1; fi
}
for p in client worker as keysync sim; do
	want "$bindir/promptseal-$p"
	[ -x "$d$bindir/promptseal-$p" ] || { echo "FAIL: $p not executable"; fail=1; }
done
for m in man8/promptseal-client.8 man8/promptseal-worker.8 \
    man8/promptseal-as.8 man8/promptseal-keysync.8 man1/promptseal-sim.1; do
	want "$mandir/$m"
done
for c in client.conf worker.conf as.conf keysync.conf measurements \
    lighttpd/client.conf lighttpd/worker.conf lighttpd/worker-tls.conf \
    lighttpd/as-tls.conf apache/common.conf apache/client.conf \
    apache/worker.conf apache/fcgid-worker-wrapper; do
	want "$sysconfdir/promptseal/$c"
done
want "$localstatedir/lib/promptseal"
if [ "$(stat -c %a "$d$localstatedir/lib/promptseal")" != 700 ]; then
	echo "FAIL: the state directory is not mode 0700"; fail=1
fi
if [ "$systemdunitdir" != no ]; then
	for u in promptseal-client.socket promptseal-client.service \
	    promptseal-worker.socket promptseal-worker.service \
	    promptseal-as.socket promptseal-as.service \
	    promptseal-keysync.service; do
		want "$systemdunitdir/$u"
	done
	if grep -q '@bindir@\|@sysconfdir@' "$d$systemdunitdir"/*.service; then
		echo "FAIL: a unit still names @bindir@"; fail=1
	fi
	grep -q "^ExecStart=$bindir/promptseal-worker --config $sysconfdir/promptseal/worker.conf\$" \
	    "$d$systemdunitdir/promptseal-worker.service" ||
		{ echo "FAIL: worker unit's ExecStart"; fail=1; }
fi
# The example configuration is one the worker reads.
"$d$bindir/promptseal-worker" --config "$d$sysconfdir/promptseal/worker.conf" \
    --version >/dev/null || { echo "FAIL: worker.conf"; fail=1; }
# An edited configuration survives a second install.
echo "# edited" >> "$d$sysconfdir/promptseal/worker.conf"
make -s --no-print-directory -C "$bld" install DESTDIR="$d" >/dev/null 2>&1
grep -q '^# edited' "$d$sysconfdir/promptseal/worker.conf" ||
	{ echo "FAIL: install overwrote an edited configuration"; fail=1; }
make -s --no-print-directory -C "$bld" uninstall DESTDIR="$d" >/dev/null 2>&1
left=$(find "$d" -type f)
if [ -n "$left" ]; then echo "FAIL: left after uninstall: $left"; fail=1; fi
[ $fail -eq 0 ] && echo "PASS: install layout under DESTDIR"
exit $fail
