#!/bin/sh
# SPDX-License-Identifier: ISC
# The installed library, as another program meets it: make install into a
# scratch DESTDIR (never the real prefix), then check what was installed
# (SONAME, exported and needed symbols, the header, the manual) and build
# examples/seal_chat.c against that copy alone, with the flags
# pkg-config --cflags --libs promptseal gives, and run it.
#
# Environment (set by make check): PS_BUILDDIR, PS_SRCDIR, PS_CC,
# PS_CFLAGS, PS_LDFLAGS (the build's own, so a sanitizer build links the
# example as it built the library), PS_LIBDIR, PS_INCLUDEDIR, PS_MAN3DIR,
# PKG_CONFIG.

set -u

fail() {
	echo "FAIL: $*"
	exit 1
}

for v in PS_BUILDDIR PS_SRCDIR PS_CC PS_LIBDIR PS_INCLUDEDIR PS_MAN3DIR; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "ERROR: $v is not set"; exit 99; }
done
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
for t in readelf nm "$PKG_CONFIG"; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "SKIP: $t not found"
		exit 77
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ps-installed.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
DEST=$TMP/root

# The make check that runs this test passes its own MAKEFLAGS (a job
# server, TESTS=...), which are not for this make.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$PS_BUILDDIR" install \
    DESTDIR="$DEST" >"$TMP/install.log" 2>&1; then
	cat "$TMP/install.log"
	fail "make install DESTDIR=... failed"
fi

LIB=$DEST$PS_LIBDIR
INC=$DEST$PS_INCLUDEDIR
SO=$LIB/libpromptseal.so.1
[ -f "$SO" ] || fail "no $SO"
[ -f "$INC/promptseal.h" ] || fail "no promptseal.h in $INC"
[ -f "$LIB/pkgconfig/promptseal.pc" ] || fail "no promptseal.pc"

# One public header: it names no header of the source tree.
if grep '#include' "$INC/promptseal.h" | grep -v -e '<stddef.h>' \
    -e '<stdint.h>' | grep .; then
	fail "promptseal.h includes more than <stddef.h> and <stdint.h>"
fi
[ ! -e "$INC/core" ] && [ ! -e "$INC/seal" ] && [ ! -e "$INC/buf.h" ] ||
	fail "internal headers were installed"

# Versioned, and linked against libcrypto alone (besides libc and, in a
# sanitizer build, the sanitizer runtimes).
readelf -d "$SO" | grep -q 'SONAME.*\[libpromptseal\.so\.1\]' ||
	fail "SONAME is not libpromptseal.so.1"
needed=$(readelf -d "$SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "NEEDED:" $needed
echo "$needed" | grep -q '^libcrypto\.so' || fail "libcrypto is not NEEDED"
for n in $needed; do
	case $n in
	libcrypto.so.*|libc.so.*|libasan.so.*|libubsan.so.*|libm.so.*|\
	libpthread.so.*|libdl.so.*|libgcc_s.so.*|libstdc++.so.*) ;;
	*) fail "libpromptseal needs $n" ;;
	esac
done
if nm -D --undefined-only "$SO" |
    grep -E ' (FCGX_|FCGI_|curl_|json_|sqlite3_)'; then
	fail "libpromptseal has undefined symbols of another library"
fi

# Only the public interface is exported.
exported=$(nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBRVWi]$/ { print $3 }')
[ -n "$exported" ] || fail "nothing exported"
if echo "$exported" | grep -v -e '^promptseal_' -e '^_init$' -e '^_fini$'; then
	fail "symbols other than promptseal_* are exported"
fi
for f in $(sed -n 's/^\(int \|void \|const char \*\)\(promptseal_[a-z_]*\)(.*/\2/p' \
    "$INC/promptseal.h"); do
	echo "$exported" | grep -qx "$f" || fail "$f is declared but not exported"
done

# The manual renders without warnings, and each function leads to it.
MAN3=$DEST$PS_MAN3DIR
[ -f "$MAN3/promptseal.3" ] || fail "no promptseal.3 in $MAN3"
if command -v groff >/dev/null 2>&1; then
	w=$(groff -man -ww -z "$MAN3/promptseal.3" 2>&1)
	[ -z "$w" ] || fail "groff warns: $w"
fi
if command -v man >/dev/null 2>&1; then
	w=$(MANWIDTH=80 man --warnings -l "$MAN3/promptseal.3" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "man warns: $w"
fi
for f in $(echo "$exported" | grep '^promptseal_'); do
	grep -q "$f" "$MAN3/promptseal.3" || fail "promptseal.3 does not name $f"
	[ -f "$MAN3/$f.3" ] || fail "no manual page for $f"
	grep -qx '.so man3/promptseal.3' "$MAN3/$f.3" ||
		fail "$f.3 does not lead to promptseal.3"
done

# pkg-config, as a program would use it against this copy.
PKG_CONFIG_SYSROOT_DIR=$DEST
PKG_CONFIG_PATH=$LIB/pkgconfig
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
flags=$("$PKG_CONFIG" --cflags --libs promptseal) ||
	fail "pkg-config --cflags --libs promptseal failed"
echo "pkg-config: $flags"
case " $flags " in
*" -I$INC "*) ;;
*) fail "pkg-config gives no -I$INC" ;;
esac
case " $flags " in
*" -L$LIB "*"-lpromptseal "*) ;;
*) fail "pkg-config gives no -L$LIB -lpromptseal" ;;
esac
version=$("$PKG_CONFIG" --modversion promptseal) || fail "no --modversion"

# The header stands alone, in C99 and in C++.
printf '#include <promptseal.h>\nint promptseal_test_unit;\n' >"$TMP/alone.c"
# shellcheck disable=SC2086
$PS_CC -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only \
    $("$PKG_CONFIG" --cflags promptseal) "$TMP/alone.c" ||
	fail "promptseal.h does not compile on its own"
if command -v c++ >/dev/null 2>&1; then
	printf '#include <promptseal.h>\nint main() { return promptseal_version()[0] == 0; }\n' \
	    >"$TMP/cxx.cc"
	# shellcheck disable=SC2086
	c++ ${PS_CFLAGS:-} -Wall -Wextra -Werror -o "$TMP/cxx" "$TMP/cxx.cc" \
	    $flags ${PS_LDFLAGS:-} || fail "promptseal.h does not link from C++"
	LD_LIBRARY_PATH=$LIB "$TMP/cxx" || fail "the C++ program failed"
fi

# The example, built and run against the installed copy only.
# shellcheck disable=SC2086
$PS_CC ${PS_CFLAGS:-} -Wall -Wextra -Werror -o "$TMP/seal_chat" \
    "$PS_SRCDIR/examples/seal_chat.c" $flags ${PS_LDFLAGS:-} ||
	fail "examples/seal_chat.c does not build against the installed copy"
LD_LIBRARY_PATH=$LIB ldd "$TMP/seal_chat" | grep libpromptseal
LD_LIBRARY_PATH=$LIB ldd "$TMP/seal_chat" | grep -q "=> $LIB/libpromptseal" ||
	fail "seal_chat does not load the installed libpromptseal"
LD_LIBRARY_PATH=$LIB "$TMP/seal_chat" >"$TMP/out" 2>"$TMP/err" || {
	cat "$TMP/out" "$TMP/err"
	fail "seal_chat failed"
}
cat "$TMP/out"

# What each side saw, in order (the sealed text differs in every run).
cat >"$TMP/expected" <<EOF
libpromptseal $version
request:        {"model":"demo","messages":[{"role":"user","content":"What is the capital of France?"}]}
worker opened:  {"model":"demo","messages":[{"role":"user","content":"What is the capital of France?"}]}
client opened:  {"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."}}]}
client event:   data: {"id":"chatcmpl-2","choices":[{"delta":{"content":"Par"}}]}
client event:   data: {"id":"chatcmpl-2","choices":[{"delta":{"content":"is."}}]}
client event:   data: [DONE]
stream:         complete
EOF
grep -v '^on the wire:' "$TMP/out" >"$TMP/plain"
diff -u "$TMP/expected" "$TMP/plain" || fail "seal_chat printed something else"
[ "$(grep -c '^on the wire:' "$TMP/out")" -eq 2 ] ||
	fail "seal_chat did not show the sealed bodies"
if grep '^on the wire:' "$TMP/out" | grep -e capital -e Paris; then
	fail "plaintext on the wire"
fi
[ ! -s "$TMP/err" ] || { cat "$TMP/err"; fail "seal_chat wrote to stderr"; }
echo "PASS: the installed library builds and runs examples/seal_chat.c"
exit 0
