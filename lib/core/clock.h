/* SPDX-License-Identifier: ISC */
/*
 * clock: the two clocks the programs read.
 */
#ifndef PROMPTSEAL_CLOCK_H
#define PROMPTSEAL_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for timers and intervals, which a
 * change of the system's time must not stretch or cut. */
int64_t clock_mono_ms(void);

/* The time of day in Unix seconds: for expiry times that other machines
 * compare (a secret's expires, a challenge's). */
int64_t clock_unix(void);

#endif
