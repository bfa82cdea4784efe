/* SPDX-License-Identifier: ISC */
/*
 * jscan_impl: which string path of lib/seal/jscan.c runs, for tests only
 * (tests/test_jscan.c, tests/fuzz/fuzz_jscan.c), so that every path the
 * machine has runs the same tests.  Not part of libpromptseal's API;
 * nothing else includes it.
 */
#ifndef PROMPTSEAL_JSCAN_IMPL_H
#define PROMPTSEAL_JSCAN_IMPL_H

/* Ordered: each path uses the ones below it for what is left over. */
enum jscan_impl {
	JSCAN_IMPL_SSE2 = 0,    /* 16 bytes at a time (8 without SSE2) */
	JSCAN_IMPL_AVX2 = 1,    /* 32, and 64 inside a long string */
	JSCAN_IMPL_AVX512 = 2,  /* long strings with AVX-512 F and BW */
};

/* Use path which from now on, in the whole process (not while other
 * threads scan).  -1 when the machine or the build has no such path; 0
 * otherwise. */
int jscan_impl_select(enum jscan_impl which);

#endif
