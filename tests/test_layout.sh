#!/bin/sh
# SPDX-License-Identifier: ISC
# The layout of lib/ (README.md) read from the programs' symbols: each
# program links only the folders it needs, so what runs inside the
# attested worker, and what the client proxy carries, is visible.
#   promptseal-worker    no AS, AS client, client key, attestation, wrap,
#                        token or sim code
#   promptseal-client    none of the AS server (API, store, tokens,
#                        handlers), and of the sim platform only what
#                        verifies the AS's evidence (no producer)
#   promptseal-keysync   none of the AS server
#   every program        no wrap_seal_eph (the fixed-key seal of the
#                        known-answer tests is static in wrap.c)
#
# Environment: PS_BUILDDIR (default: the current directory), NM (default nm).

set -u

BUILD=${PS_BUILDDIR:-.}
NM=${NM:-nm}
fail=0

# The binary of a program: libtool may leave a wrapper script in its place.
binary() {
	b=$BUILD/$1
	case $(head -c 2 "$b" 2>/dev/null) in
	'#!')	b=$(dirname "$b")/.libs/$(basename "$b") ;;
	esac
	echo "$b"
}

# The names of the symbols a program defines, one per line.
symbols() {
	$NM "$1" | awk 'NF >= 3 { print $3 }'
}

# check PROGRAM 'EXTENDED REGEX' WHAT: no symbol of PROGRAM matches.
check() {
	b=$(binary "$1")
	if [ ! -x "$b" ]; then
		echo "ERROR: $1 is not built"
		exit 99
	fi
	n=$(symbols "$b" | wc -l)
	if [ "$n" -lt 100 ]; then
		echo "ERROR: $NM lists only $n symbols of $1: stripped?"
		exit 99
	fi
	hits=$(symbols "$b" | grep -E "$2" | sort -u)
	if [ -n "$hits" ]; then
		echo "FAIL: $1 carries $3:"
		echo "$hits" | sed 's/^/    /'
		fail=1
	else
		echo "ok: $1 has no $3"
	fi
}

check fcgi-worker/promptseal-worker \
    'asapi_|asstore_|asclient_|clientkey_|attest|wrap_|tokens_|sim_' \
    'AS, AS client, client key, attestation, wrap, token or sim symbol'
check fcgi-client/promptseal-client 'asapi_|asstore_|tokens_|handle_' \
    'AS server symbol'
check fcgi-client/promptseal-client \
    'attest_sim_producer|attest_sim_report|attest_sim_keygen|sim_produce' \
    'sim producer symbol'
check keysync/promptseal-keysync 'asapi_|asstore_|tokens_|handle_' \
    'AS server symbol'
for p in fcgi-worker/promptseal-worker fcgi-client/promptseal-client \
    fcgi-as/promptseal-as keysync/promptseal-keysync keysync/promptseal-sim; do
	check "$p" 'wrap_seal_eph' 'wrap_seal_eph'
done
exit $fail
