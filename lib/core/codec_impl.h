/* SPDX-License-Identifier: ISC */
/*
 * codec_impl: which base64url path of lib/core/codec.c runs, for tests
 * only (tests/test_codec.c, tests/fuzz/fuzz_codec.c), so each path can be
 * compared with the scalar one on the same machine.  Not part of
 * libpromptseal's API (that exports promptseal_* alone); nothing else
 * includes this header.
 */
#ifndef PROMPTSEAL_CODEC_IMPL_H
#define PROMPTSEAL_CODEC_IMPL_H

#include "core/pserr.h"

/* Ordered: each path uses the ones below it for what is left over. */
enum codec_impl {
	CODEC_IMPL_SCALAR = 0,
	CODEC_IMPL_SSSE3 = 1,
	CODEC_IMPL_AVX2 = 2,
	CODEC_IMPL_AVX512 = 3,  /* AVX-512 F, BW and VBMI */
};

/* The best path this machine runs, the one used unless a test selects
 * another. */
enum codec_impl codec_impl_best(void);

/* Run base64url encode, decode and check on path which from now on, in
 * the whole process (not safe while other threads use the codec).
 * PS_ERR_ARG when this machine or this build cannot run it. */
pserr codec_impl_select(enum codec_impl which) PS_WARN_UNUSED;

#endif
