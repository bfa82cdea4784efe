/* SPDX-License-Identifier: ISC */
/*
 * jscan_impl: whether lib/seal/jscan.c scans strings 32 bytes at a time
 * (AVX2) or 16 (SSE2), for tests only (tests/test_jscan.c,
 * tests/fuzz/fuzz_jscan.c), so that both paths run on a machine that has
 * AVX2.  Not part of libpromptseal's API; nothing else includes it.
 */
#ifndef PROMPTSEAL_JSCAN_IMPL_H
#define PROMPTSEAL_JSCAN_IMPL_H

/* Use the AVX2 path (on) or not, from now on, in the whole process (not
 * while other threads scan).  -1 when on and the machine or the build
 * has no AVX2 path; 0 otherwise. */
int jscan_impl_avx2(int on);

#endif
