/* SPDX-License-Identifier: ISC */
/*
 * The interface of every fuzz target: libFuzzer's entry point, and the
 * property check that stops a run.  Each target asserts properties (round
 * trips, agreement with an independent validator, output unchanged on
 * failure), not only the absence of a crash.
 *
 * Built with --enable-fuzzing (clang, -fsanitize=fuzzer) a target is a
 * libFuzzer program; built otherwise it is linked with standalone.c and
 * replays files, which is how `make check` runs the seed corpus.
 */
#ifndef PROMPTSEAL_FUZZ_H
#define PROMPTSEAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that does not hold is a finding: say which, and abort so
 * that libFuzzer saves the input. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, \
		    __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* For a target that reads a file: the path of a file of its own (made at
 * the first call, removed at exit) that now holds the n bytes at p. */
static char fuzz_path[] = "/tmp/fuzz.XXXXXX";

static inline void
fuzz_remove_file(void)
{
	unlink(fuzz_path);
}

static inline const char *
fuzz_file(const void *p, size_t n)
{
	static int fd = -1;

	if (fd < 0) {
		if ((fd = mkstemp(fuzz_path)) < 0)
			abort();
		atexit(fuzz_remove_file);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, p, n, 0) != (ssize_t)n)
		abort();
	return fuzz_path;
}

#endif
