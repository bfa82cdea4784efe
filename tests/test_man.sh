#!/bin/sh
# SPDX-License-Identifier: ISC
# Every program's man page renders without a warning (groff -ww and
# man --warnings), names every long option the program's --help lists,
# and lists no option (after a .TP) that --help does not.
set -u
src=${PS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
bld=${PS_BUILDDIR:-$src}
fail=0
longopts() {
	# --name tokens, once each, of the text on stdin (man's "\-" read as -).
	sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}
for pm in fcgi-client/promptseal-client:8 fcgi-worker/promptseal-worker:8 \
    fcgi-as/promptseal-as:8 keysync/promptseal-keysync:8 \
    keysync/promptseal-sim:1; do
	prog=${pm%:*}
	sec=${pm#*:}
	name=${prog#*/}
	page=$src/man/$name.$sec
	if [ ! -f "$page" ]; then
		echo "FAIL: $name: no man page $page"
		fail=1
		continue
	fi
	w=$(groff -man -ww -z "$page" 2>&1)
	if [ -n "$w" ]; then
		echo "FAIL: $name.$sec: groff warns: $w"
		fail=1
	fi
	if command -v man >/dev/null 2>&1; then
		w=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		if [ -n "$w" ]; then
			echo "FAIL: $name.$sec: man warns: $w"
			fail=1
		fi
	fi
	help=$("$bld/$prog" --help 2>&1) || { echo "FAIL: $name --help"; fail=1; }
	inhelp=$(printf '%s\n' "$help" | longopts)
	inman=$(longopts < "$page")
	for o in $inhelp; do
		if ! printf '%s\n' "$inman" | grep -qx -- "$o"; then
			echo "FAIL: $name.$sec does not document $o"
			fail=1
		fi
	done
	# The options the page lists (the line after each .TP) are the
	# program's.
	listed=$(awk 'p { print; p = 0 } /^\.TP/ { p = 1 }' "$page" |
	    sed 's/\\-/-/g' | grep -o -- '^\.[BIR]*  *--[a-z][a-z0-9-]*' |
	    grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
	for o in $listed; do
		if ! printf '%s\n' "$inhelp" | grep -qx -- "$o"; then
			echo "FAIL: $name.$sec lists $o, which --help does not"
			fail=1
		fi
	done
	v=$("$bld/$prog" --version)
	case $v in
	"$name "[0-9]*) ;;
	*) echo "FAIL: $name --version says '$v'"; fail=1 ;;
	esac
done
[ $fail -eq 0 ] && echo "PASS: man pages render and name every option"
exit $fail
