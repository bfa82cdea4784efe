#!/bin/sh
# SPDX-License-Identifier: ISC
# Build the Debian packages from a release tarball (make dist) with
# dpkg-buildpackage -b -us -uc, check them with lintian (clean at its
# default level: no error, no warning), and look inside them for the
# programs, the man pages, the configurations and the systemd units.
# With PS_DEB_INSTALL=1 (CI, as root) the package is also installed and
# removed again.  Needs debhelper, dpkg-dev and lintian; 77 without them.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bld=${PS_BUILDDIR:-$src/_build/default}
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: no $t"; exit 77; }
done
d=$(mktemp -d /tmp/ps-deb-XXXXXX)
trap 'rm -rf "$d"' EXIT
make -s --no-print-directory -C "$bld" distdir distdir="$d/promptseal-dist" >/dev/null
cd "$d/promptseal-dist"
[ -d debian ] || cp -r "$src/debian" .
log=$d/build.log
# The unit suites run in make check already: not again here, unless
# PS_DEB_CHECK=1 (the package build then runs them as well).
[ "${PS_DEB_CHECK:-0}" = 1 ] || export DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}"
if ! dpkg-buildpackage -b -us -uc -j2 >"$log" 2>&1; then
	tail -60 "$log"
	echo "FAIL: dpkg-buildpackage"
	exit 1
fi
cd "$d"
ls ./*.deb
fail=0
if out=$(lintian --fail-on error,warning ./*.changes 2>&1); then
	rc=0
else
	rc=1
fi
out=$(printf '%s\n' "$out" | grep -v '^running with root privileges' || true)
[ -n "$out" ] && printf '%s\n' "$out"
[ $rc -eq 0 ] || { echo "FAIL: lintian"; fail=1; }
deb=$(ls ./promptseal_*.deb)
list=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/promptseal-client ./usr/bin/promptseal-worker \
    ./usr/bin/promptseal-as ./usr/bin/promptseal-keysync ./usr/bin/promptseal-sim \
    ./usr/share/man/man8/promptseal-worker.8.gz ./usr/share/man/man1/promptseal-sim.1.gz \
    ./etc/promptseal/worker.conf ./etc/promptseal/lighttpd/worker.conf \
    ./etc/promptseal/apache/common.conf \
    ./lib/systemd/system/promptseal-worker.socket \
    ./lib/systemd/system/promptseal-worker.service \
    ./lib/systemd/system/promptseal-keysync.service ./var/lib/promptseal/; do
	printf '%s\n' "$list" | grep -qx -- "$f" || { echo "FAIL: $deb lacks $f"; fail=1; }
done
lib=$(dpkg-deb -c ./libpromptseal1_*.deb | awk '{print $6}')
printf '%s\n' "$lib" | grep -q '/libpromptseal\.so\.1' ||
	{ echo "FAIL: libpromptseal1 lacks libpromptseal.so.1"; fail=1; }
dev=$(dpkg-deb -c ./libpromptseal-dev_*.deb | awk '{print $6}')
for f in ./usr/include/promptseal.h ./usr/share/man/man3/promptseal.3.gz; do
	printf '%s\n' "$dev" | grep -qx -- "$f" ||
		{ echo "FAIL: libpromptseal-dev lacks $f"; fail=1; }
done
printf '%s\n' "$dev" | grep -q '/pkgconfig/promptseal\.pc$' ||
	{ echo "FAIL: libpromptseal-dev lacks promptseal.pc"; fail=1; }
dpkg-deb -I "$deb" conffiles | grep -qx /etc/promptseal/worker.conf ||
	{ echo "FAIL: /etc/promptseal/worker.conf is not a conffile"; fail=1; }
if [ "${PS_DEB_INSTALL:-0}" = 1 ]; then
	dpkg -i "$deb" ./libpromptseal1_*.deb ./libpromptseal-dev_*.deb >/dev/null ||
		{ echo "FAIL: dpkg -i"; fail=1; }
	pkg-config --exists promptseal || { echo "FAIL: promptseal.pc"; fail=1; }
	/usr/bin/promptseal-worker --version
	[ "$(stat -c '%U %a' /var/lib/promptseal)" = "promptseal 700" ] ||
		{ echo "FAIL: /var/lib/promptseal"; fail=1; }
	dpkg --purge promptseal libpromptseal-dev libpromptseal1 >/dev/null ||
		{ echo "FAIL: dpkg --purge"; fail=1; }
fi
[ $fail -eq 0 ] && echo "PASS: the Debian packages build and are lintian-clean"
exit $fail
