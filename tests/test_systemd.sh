#!/bin/sh
# SPDX-License-Identifier: ISC
# systemd-analyze verify on the units as they are installed.  It needs
# no running systemd, but it does need the programs the units name: they
# are taken from a scratch install.  Where systemd-analyze is missing or
# cannot run at all, this part is skipped (77) and says so.
set -u
src=${PS_SRCDIR:?}
bld=${PS_BUILDDIR:?}
sa=$(command -v systemd-analyze || true)
if [ -z "$sa" ]; then
	echo "SKIP: no systemd-analyze: the units are not verified"
	exit 77
fi
d=$(mktemp -d /tmp/ps-units-XXXXXX)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/units"
# The units as installed, with the programs of this build.
for u in "$src"/systemd/*.socket; do cp "$u" "$d/units/"; done
for u in "$src"/systemd/*.service.in; do
	n=$(basename "$u" .in)
	sed -e "s|@bindir@|$bld/bin|g" -e "s|@sysconfdir@|/etc|g" "$u" >"$d/units/$n"
done
mkdir -p "$d/bin"
for p in fcgi-client/promptseal-client fcgi-worker/promptseal-worker \
    fcgi-as/promptseal-as keysync/promptseal-keysync; do
	ln -sf "$bld/$p" "$d/bin/"
done
sed -i "s|$bld/bin|$d/bin|g" "$d/units"/*.service
if ! "$sa" --version >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze does not run here"
	exit 77
fi
out=$(cd "$d/units" && SYSTEMD_LOG_LEVEL=warning "$sa" verify --man=no \
    ./*.socket ./*.service 2>&1)
rc=$?
# Without systemd as PID 1 verify may complain about the manager itself
# (no bus, no /run/systemd); only lines naming our units count.
bad=$(printf '%s\n' "$out" | grep 'promptseal-' | grep -v 'Unit .* not found' || true)
if [ -n "$bad" ]; then
	printf '%s\n' "$out"
	echo "FAIL: systemd-analyze verify"
	exit 1
fi
if [ $rc -ne 0 ]; then
	printf '%s\n' "$out"
	echo "note: systemd-analyze verify exited $rc for reasons outside the units"
fi
echo "PASS: systemd-analyze verify on the units"
exit 0
