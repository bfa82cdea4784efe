#!/bin/sh
# SPDX-License-Identifier: ISC
# Replay every fuzz target's seed corpus (tests/fuzz/corpus/<name>/)
# through the target built without libFuzzer: each property the target
# asserts must hold for every seed.
set -eu
status=0
for t in "$PS_BUILDDIR"/tests/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	n=${t##*/fuzz_}
	if ! "$t" "$PS_SRCDIR/tests/fuzz/corpus/$n"; then
		echo "FAIL: corpus of $n"
		status=1
	fi
done
exit $status
